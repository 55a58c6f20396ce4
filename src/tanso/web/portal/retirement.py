"""Retirement (無効化): retiring credits and the participant's retirement notices."""

from __future__ import annotations

from dataclasses import replace
from functools import partial

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from tanso.domain.errors import TansoError
from tanso.services.access.users import PortalUser
from tanso.services.compliance import usage
from tanso.services.ledger import registry, taxonomy
from tanso.web import kit
from tanso.web.kit import CreditMover, CurrentUser, Form

router = APIRouter(route_class=kit.ScreenRoute, include_in_schema=False)


def _purposes(request: Request) -> list[dict[str, str]]:
    """The taxonomy's retirement purposes, named in the page's language."""
    key = "name_ja" if kit.lang_of(request) == "ja" else "name_en"
    return [
        {"code": p["code"], "name": p[key]} for p in taxonomy.list_terms(kit.db(request), "purpose")
    ]


def _purpose_names(request: Request) -> dict[str, str]:
    return {p["code"]: p["name"] for p in _purposes(request)}


FIELDS = (
    "account",
    "quantity",
    "serials",
    "scheme",
    "category",
    "project_id",
    "vintage",
    "purpose",
    "beneficiary",
    "year",
    "scope",
    "scope3_category",
)
"""The Retire form's fields, in order: the confirm step sends them back as they were checked."""


def _retire_page(
    request: Request,
    user: PortalUser,
    state: kit.FormState | None = None,
    done: registry.RetirementReceipt | None = None,
    check: registry.RetirementCheck | None = None,
) -> HTMLResponse:
    db = kit.db(request)
    key = "name_ja" if kit.lang_of(request) == "ja" else "name_en"
    purposes = _purposes(request)
    schemes = [{"code": x["code"], "name": x[key]} for x in taxonomy.list_schemes(db)]
    categories = [{"code": x["code"], "name": x[key]} for x in taxonomy.list_categories(db)]
    return kit.page(
        request,
        "portal_retire.html",
        user,
        state=state,
        accounts=kit.own_accounts(db, user),
        purposes=purposes,
        purpose_names={p["code"]: p["name"] for p in purposes},
        schemes=schemes,
        categories=categories,
        scheme_names={x["code"]: x["name"] for x in schemes},
        category_names={x["code"]: x["name"] for x in categories},
        retirements=registry.list_retirements(db, kit.reader(user), 50),
        done=done,
        check=check,
        fields=FIELDS,
        rules_ja=usage.rule_texts_ja() if kit.lang_of(request) == "ja" else {},
    )


def _request(
    request: Request, user: PortalUser, form: dict[str, str]
) -> registry.RetirementRequest | kit.FormState:
    """The Retire form as a retirement request, or the form with its errors."""
    t = kit.labels(request)
    errors: dict[str, str] = {}
    account = form.get("account", "")
    if account not in {a.id for a in kit.own_accounts(kit.db(request), user)}:
        errors["account"] = t["required"]
    if not form.get("purpose"):
        errors["purpose"] = t["required"]
    numbers = {
        name: kit.optional_int(form, name, t, errors)
        for name in ("quantity", "year", "scope3_category", "vintage")
    }
    scope = form.get("scope", "") or None
    if scope not in (None, "1", "2", "3"):
        errors["scope"] = t["required"]
    serials = form.get("serials", "").strip() or None
    if not errors and numbers.get("quantity") is None and serials is None:
        errors["quantity"] = t["retire_help"]
    if errors:
        return kit.FormState.invalid(form, errors, t)
    expected = form.get("expected")
    return registry.RetirementRequest(
        account_id=account,
        selection=registry.Selection(quantity=numbers.get("quantity"), serials=serials),
        purposes=[form["purpose"]],
        beneficiary=form.get("beneficiary", ""),
        reporting_year=numbers.get("year"),
        emissions_scope=scope,
        scope3_category=numbers.get("scope3_category"),
        credits=registry.CreditFilter(
            scheme=form.get("scheme", "").strip() or None,
            category=form.get("category", "").strip() or None,
            project_id=form.get("project_id", "").strip() or None,
            vintage=numbers.get("vintage"),
        ),
        # the confirm step names the serial ranges its check showed (none: no check was made)
        expected=tuple(x for x in expected.split(",") if x) if expected is not None else None,
    )


@router.get("/portal/retire", response_class=HTMLResponse)
def retire_form(request: Request, user: CurrentUser) -> Response:
    return _retire_page(request, user)


@router.post("/portal/retire/check")
def check_retirement(request: Request, user: CreditMover, form: Form) -> Response:
    """Check first: the credits the retirement would take and what the usage rules say of it;
    nothing changes. An allowed check offers the one button that retires exactly those."""
    wanted = _request(request, user, form)
    if isinstance(wanted, kit.FormState):
        return _retire_page(request, user, wanted)
    wanted = replace(wanted, expected=None)
    try:
        check = registry.check_retirement(kit.db(request), user.actor, wanted)
    except TansoError as e:
        return _retire_page(request, user, kit.FormState.refused(e, form, FIELDS))
    return _retire_page(request, user, kit.FormState(form), check=check)


@router.post("/portal/retire")
def retire(request: Request, user: CreditMover, form: Form) -> Response:
    """Retire: the confirm step of a check (with the serial ranges it showed, refused if the
    holdings changed since: then the new check is shown)."""
    db = kit.db(request)
    wanted = _request(request, user, form)
    if isinstance(wanted, kit.FormState):
        return _retire_page(request, user, wanted)
    try:
        done = registry.retire(db, user.actor, wanted)
    except TansoError as e:
        state = kit.FormState.refused(e, form, FIELDS)
        if e.code != "retirement_changed":
            return _retire_page(request, user, state)
        try:
            check = registry.check_retirement(db, user.actor, replace(wanted, expected=None))
        except TansoError:
            check = None
        return _retire_page(request, user, state, check=check)
    return _retire_page(request, user, done=done)


# ---------------------------------------------------------------- retirement notices


@router.get("/portal/retirements", response_class=HTMLResponse)
def retirement_notices(request: Request, user: CurrentUser) -> Response:
    found, older, newer = kit.cursor_page(
        request,
        partial(registry.retirements_page, kit.db(request), kit.reader(user), user.participant_id),
    )
    return kit.page(
        request,
        "portal_notices.html",
        user,
        notices=found.retirements,
        older=older,
        newer=newer,
        purpose_names=_purpose_names(request),
    )


@router.get("/portal/retirements/{retirement_id}", response_class=HTMLResponse)
def retirement_notice(request: Request, user: CurrentUser, retirement_id: str) -> Response:
    own = registry.list_retirements(kit.db(request), kit.reader(user), 100_000)
    notice = next((r for r in own if r.id == retirement_id), None)
    if notice is None:
        return kit.not_found(request, user)
    return kit.page(
        request, "portal_notice.html", user, r=notice, purpose_names=_purpose_names(request)
    )
