"""Retirement (無効化): retiring credits and the participant's retirement notices."""

from __future__ import annotations

from functools import partial

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from tanso.domain.errors import TansoError
from tanso.services.access.users import PortalUser
from tanso.services.ledger import registry, taxonomy
from tanso.web import kit
from tanso.web.kit import CreditMover, CurrentUser, Form

router = APIRouter(route_class=kit.ScreenRoute, include_in_schema=False)


def _retire_page(
    request: Request,
    user: PortalUser,
    state: kit.FormState | None = None,
    done: registry.RetirementReceipt | None = None,
) -> HTMLResponse:
    db = kit.db(request)
    lang = kit.lang_of(request)
    purposes = [
        {"code": p["code"], "name": p["name_ja" if lang == "ja" else "name_en"]}
        for p in taxonomy.list_terms(db, "purpose")
    ]
    return kit.page(
        request,
        "portal_retire.html",
        user,
        state=state,
        accounts=kit.own_accounts(db, user),
        purposes=purposes,
        retirements=registry.list_retirements(db, kit.reader(user), 50),
        done=done,
    )


@router.get("/portal/retire", response_class=HTMLResponse)
def retire_form(request: Request, user: CurrentUser) -> Response:
    return _retire_page(request, user)


@router.post("/portal/retire")
def retire(request: Request, user: CreditMover, form: Form) -> Response:
    t = kit.labels(request)
    db = kit.db(request)
    errors: dict[str, str] = {}
    account = form.get("account", "")
    if account not in {a.id for a in kit.own_accounts(db, user)}:
        errors["account"] = t["required"]
    if not form.get("purpose"):
        errors["purpose"] = t["required"]
    numbers = {
        name: kit.optional_int(form, name, t, errors)
        for name in ("quantity", "year", "scope3_category")
    }
    scope = form.get("scope", "") or None
    if scope not in (None, "1", "2", "3"):
        errors["scope"] = t["required"]
    serials = form.get("serials", "").strip() or None
    if not errors and numbers.get("quantity") is None and serials is None:
        errors["quantity"] = t["retire_help"]
    if errors:
        return _retire_page(request, user, kit.FormState.invalid(form, errors, t))
    wanted = registry.RetirementRequest(
        account_id=account,
        selection=registry.Selection(quantity=numbers.get("quantity"), serials=serials),
        purposes=[form["purpose"]],
        beneficiary=form.get("beneficiary", ""),
        reporting_year=numbers.get("year"),
        emissions_scope=scope,
        scope3_category=numbers.get("scope3_category"),
    )
    try:
        done = registry.retire(db, user.actor, wanted)
    except TansoError as e:
        fields = ("account", "quantity", "serials", "purpose", "beneficiary", "year", "scope")
        return _retire_page(request, user, kit.FormState.refused(e, form, fields))
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
    )


@router.get("/portal/retirements/{retirement_id}", response_class=HTMLResponse)
def retirement_notice(request: Request, user: CurrentUser, retirement_id: str) -> Response:
    own = registry.list_retirements(kit.db(request), kit.reader(user), 100_000)
    notice = next((r for r in own if r.id == retirement_id), None)
    if notice is None:
        return kit.not_found(request, user)
    return kit.page(request, "portal_notice.html", user, r=notice)
