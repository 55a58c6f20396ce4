"""Portal and public pages of GX-ETS (docs/gx-ets.md), in English and Japanese.

- ``/portal/gx``: a covered entity's compliance position for a fiscal year (年度, April to
  March, named by the year it starts in) and its forms: report emissions, surrender allowances,
  surrender credits, pay the reference ceiling price;
- ``/portal/gx/verifications``: a verification body's (登録確認機関) list of reported emissions,
  each verified or returned with findings (operators may read it);
- ``/portal/operator/gx``: the scheme administrator's screen (operator users): cover an entity,
  allocate allowances, the year's register;
- ``/gx/register/{fiscal_year}`` (``/en/...``, ``/ja/...``, no login): the public register, as ETS
  registries publish it, with its CSV from ``/v1/gx/register/{fiscal_year}?format=csv``.

A screen shows only the signed-in user's own participant's position; the services refuse
anything else (an entity acts only for itself, only a verification body verifies, only the
scheme administrator covers and allocates). A refusal is shown next to its form with its code.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from tanso.domain.errors import TansoError
from tanso.domain.gx import SchemeYear, fiscal_year_of
from tanso.domain.participants import Role
from tanso.http_status import status_of
from tanso.services.access.users import Capability, PortalUser
from tanso.services.compliance import gx, gx_compliance, gx_cycle, usage
from tanso.services.ledger.blocks import Selection
from tanso.web import kit, render
from tanso.web.i18n import texts
from tanso.web.kit import CreditMover, CurrentUser, Form, Lang, OperatorUser

router = APIRouter(route_class=kit.ScreenRoute, include_in_schema=False)

FIRST_YEAR, LAST_YEAR = 2000, 2100
"""The fiscal years a page may be asked for (the API's bounds); the rules start later."""
YEAR_QUERY = Annotated[str | None, Query(max_length=8)]


# ---------------------------------------------------------------- fiscal years


def today(request: Request) -> dt.date:
    """The business clock's date in Japan."""
    return usage.local_date(kit.db(request).clock())


def rules_of(fiscal_year: int) -> SchemeYear | None:
    """The scheme's rules for a fiscal year, None where it has none (before phase 2)."""
    try:
        return gx.rules(fiscal_year)
    except TansoError:
        return None


def year_at_hand(day: dt.date) -> int:
    """The fiscal year whose obligations are at hand on ``day``: the earliest whose surrender
    deadline has not passed (FY2026's is 31 January 2028), else the current fiscal year; before
    the scheme starts, its first fiscal year."""
    current = fiscal_year_of(day)
    for year in (current - 2, current - 1):
        rules = rules_of(year)
        if rules is not None and day <= rules.surrender_deadline:
            return year
    if rules_of(current) is None:
        return next((y for y in range(current + 1, current + 4) if rules_of(y)), current)
    return current


def asked_year(value: str | None, default: int) -> int | None:
    """The fiscal year a query asks for (``default`` when blank); None when it is not one."""
    try:
        year = kit.parse_int(value)
    except ValueError:
        return None
    if year is None:
        return default
    return year if FIRST_YEAR <= year <= LAST_YEAR else None


def decimal_text(value: Fraction) -> str:
    """A benchmark's intensity as the decimal the data gives (kept as an exact fraction)."""
    return format(Decimal(value.numerator) / Decimal(value.denominator), "f")


def gx_texts(request: Request) -> Mapping[str, str]:
    return texts(kit.lang_of(request), "gx")


def refusal_shown(e: TansoError, g: Mapping[str, str]) -> dict[str, str]:
    """A service's refusal as a form shows it: a headline in the page's language when the
    catalog words the code (``gx_error_<code>``), the service's own message, and the code."""
    headline = g.get(f"gx_error_{e.code}", "")
    return {"headline": headline, "message": e.message, "code": e.code, "lang": "en"}


def invalid_shown(t: Mapping[str, str]) -> dict[str, str]:
    """The screen's own refusal of a form (a field blank or not a whole number)."""
    return {"headline": "", "message": t["error"], "code": "invalid_input", "lang": ""}


# ---------------------------------------------------------------- the entity's screen


def _entity_page(
    request: Request,
    user: PortalUser,
    fiscal_year: int,
    *,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    refused: Mapping[str, Mapping[str, str]] | None = None,
    notice: str = "",
    status: int = 200,
) -> HTMLResponse:
    db, pid = kit.db(request), user.participant_id
    rules = rules_of(fiscal_year)
    covered = None
    if rules is not None:
        covered = next(
            (c for c in gx_cycle.list_covered(db, fiscal_year) if c.participant_id == pid), None
        )
    position = emissions = prices = None
    if covered is not None:
        try:  # a year beyond the price rule has no ceiling price, hence no position
            prices = gx.prices(fiscal_year)
            position = gx_compliance.compliance(db, kit.reader(user), pid, fiscal_year)
        except TansoError as e:
            refused = {**(refused or {}), "position": refusal_shown(e, gx_texts(request))}
            position = None
        try:
            emissions = gx_cycle.emissions(db, kit.reader(user), pid, fiscal_year)
        except TansoError:
            emissions = None
    gx_accounts = {covered.holding_account, covered.compliance_account} if covered else set()
    credit_accounts = [a for a in kit.own_accounts(db, user) if a.id not in gx_accounts]
    return kit.page(
        request,
        "gx_entity.html",
        user,
        status,
        group="gx",
        g=gx_texts(request),
        fiscal_year=fiscal_year,
        at_hand=year_at_hand(today(request)),
        rules=rules,
        covered=covered,
        position=position,
        emissions=emissions,
        prices=prices,
        credit_accounts=credit_accounts,
        values=values or {},
        errors=errors or {},
        refused=refused or {},
        notice=notice,
        may_act=user.can(Capability.MOVE_CREDITS),
        verifies=user.actor.has(Role.VERIFICATION_BODY),
    )


@router.get("/portal/gx", response_class=HTMLResponse)
def entity_screen(request: Request, user: CurrentUser, year: YEAR_QUERY = None) -> Response:
    """The user's participant's GX-ETS position for a fiscal year, with its forms."""
    fiscal_year = asked_year(year, year_at_hand(today(request)))
    if fiscal_year is None:
        return kit.not_found(request, user)
    return _entity_page(request, user, fiscal_year)


def _form_year(request: Request, user: PortalUser, form: Mapping[str, str]) -> int:
    """The fiscal year a form names (its hidden ``year``); a missing or bad one is a 404."""
    fiscal_year = asked_year(form.get("year"), 0)
    if not fiscal_year:
        raise kit.Refused(kit.not_found(request, user))
    return fiscal_year


def _refused(
    page: Callable[..., HTMLResponse],
    request: Request,
    user: PortalUser,
    fiscal_year: int,
    which: str,
    form: Mapping[str, str],
    e: TansoError | None,
    field_errors: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """``page`` again with the form's values and its refusal shown over the form ``which``:
    the service's (``e``) or, with ``field_errors``, the form's own."""
    t = kit.labels(request)
    shown = refusal_shown(e, gx_texts(request)) if e is not None else invalid_shown(t)
    return page(
        request,
        user,
        fiscal_year,
        values=form,
        errors=field_errors,
        refused={which: shown},
        status=status_of(e) if e is not None else 422,
    )


def _quantity(form: Mapping[str, str], name: str, t: Mapping[str, str]) -> dict[str, str]:
    """The errors of a form's whole-tonne field ``name`` (blank, malformed or below 1)."""
    errors: dict[str, str] = {}
    value = kit.required_int(form, name, t, errors)
    if not errors and value < 1:
        errors[name] = t["whole_number"]
    return errors


@router.post("/portal/gx/emissions")
def report(request: Request, user: CreditMover, form: Form) -> Response:
    """Report the fiscal year's direct CO2 emissions (reported until a verification body
    confirms them)."""
    fiscal_year = _form_year(request, user, form)
    t = kit.labels(request)
    errors: dict[str, str] = {}
    tonnes = kit.required_int(form, "direct_co2", t, errors)
    if not errors and tonnes < 0:
        errors["direct_co2"] = t["whole_number"]
    if errors:
        return _refused(_entity_page, request, user, fiscal_year, "report", form, None, errors)
    try:
        out = gx_cycle.report_emissions(
            kit.db(request),
            user.actor,
            user.participant_id,
            fiscal_year,
            tonnes,
            form.get("note", "").strip(),
        )
    except TansoError as e:
        return _refused(_entity_page, request, user, fiscal_year, "report", form, e)
    notice = gx_texts(request)["gx_reported"].format(tonnes=f"{out.direct_co2:,}", year=fiscal_year)
    return _entity_page(request, user, fiscal_year, notice=notice)


@router.post("/portal/gx/surrenders")
def surrender(request: Request, user: CreditMover, form: Form) -> Response:
    """Surrender allowances (from the allowance holding account) or credits (from a holding
    account, within the 10% cap) toward the fiscal year, oldest first."""
    fiscal_year = _form_year(request, user, form)
    kind = form.get("kind", "")
    if kind not in gx_compliance.KINDS:
        return kit.not_found(request, user)
    t, g = kit.labels(request), gx_texts(request)
    field = f"{kind}_quantity"
    errors = _quantity(form, field, t)
    if errors:
        return _refused(_entity_page, request, user, fiscal_year, kind, form, None, errors)
    quantity = int(kit.parse_int(form[field]) or 0)
    db, pid = kit.db(request), user.participant_id
    if kind == "allowances":
        covered = next(
            (c for c in gx_cycle.list_covered(db, fiscal_year) if c.participant_id == pid), None
        )
        account = covered.holding_account if covered is not None else f"{pid}-GX"
    else:
        account = form.get("credits_account", "")
    try:
        out = gx_compliance.surrender(
            db, user.actor, pid, fiscal_year, kind, account, Selection(quantity=quantity)
        )
    except TansoError as e:
        return _refused(_entity_page, request, user, fiscal_year, kind, form, e)
    notice = g[f"gx_notice_surrendered_{kind}"].format(
        quantity=f"{out.quantity:,}", year=fiscal_year, id=out.ref
    )
    return _entity_page(request, user, fiscal_year, notice=notice)


@router.post("/portal/gx/ceiling-payments")
def pay_ceiling(request: Request, user: CreditMover, form: Form) -> Response:
    """Pay the fiscal year's reference ceiling price for a number of tonnes from the
    participant's yen cash account."""
    fiscal_year = _form_year(request, user, form)
    t, g = kit.labels(request), gx_texts(request)
    errors = _quantity(form, "ceiling_quantity", t)
    if errors:
        return _refused(_entity_page, request, user, fiscal_year, "ceiling", form, None, errors)
    quantity = int(kit.parse_int(form["ceiling_quantity"]) or 0)
    try:
        out = gx_compliance.pay_ceiling(
            kit.db(request), user.actor, user.participant_id, fiscal_year, quantity
        )
    except TansoError as e:
        return _refused(_entity_page, request, user, fiscal_year, "ceiling", form, e)
    notice = g["gx_paid"].format(
        quantity=f"{out.quantity:,}",
        price=f"{out.price:,}",
        amount=f"{out.amount:,}",
        year=fiscal_year,
    )
    return _entity_page(request, user, fiscal_year, notice=notice)


# ---------------------------------------------------------------- the verification body's screen


def reads_verifications(request: Request, user: CurrentUser) -> PortalUser:
    """The logged-in user, if it acts for a verification body or the operator (else 403)."""
    if not (user.actor.has(Role.VERIFICATION_BODY) or user.is_operator):
        raise kit.Refused(kit.forbidden(request, user, "no_permission"))
    return user


def verifies(request: Request, user: CurrentUser) -> PortalUser:
    """The logged-in user, if it acts for a verification body (else 403)."""
    if not user.actor.has(Role.VERIFICATION_BODY):
        raise kit.Refused(kit.forbidden(request, user, "no_permission"))
    return user


VerificationReader = Annotated[PortalUser, Depends(reads_verifications)]
Verifier = Annotated[PortalUser, Depends(verifies)]


def _verifications_page(
    request: Request,
    user: PortalUser,
    *,
    values: Mapping[str, str] | None = None,
    refused: Mapping[str, str] | None = None,
    notice: str = "",
    status: int = 200,
) -> HTMLResponse:
    return kit.page(
        request,
        "gx_verifications.html",
        user,
        status,
        group="gx",
        g=gx_texts(request),
        awaiting=gx_cycle.awaiting_verification(kit.db(request), user.actor),
        may_verify=user.actor.has(Role.VERIFICATION_BODY),
        values=values or {},
        refused=refused or {},
        notice=notice,
    )


@router.get("/portal/gx/verifications", response_class=HTMLResponse)
def verifications(request: Request, user: VerificationReader) -> Response:
    """Reported emissions awaiting verification."""
    return _verifications_page(request, user)


@router.post("/portal/gx/verifications")
def verify(request: Request, user: Verifier, form: Form) -> Response:
    """Verify one entity's reported emissions of a fiscal year, or return them with findings."""
    g = gx_texts(request)
    pid = form.get("participant_id", "").strip()
    fiscal_year = asked_year(form.get("year"), 0)
    decision = form.get("decision", "")
    if not pid or not fiscal_year:
        return kit.not_found(request, user)
    try:
        out = gx_cycle.verify_emissions(
            kit.db(request), user.actor, pid, fiscal_year, decision, form.get("findings", "")
        )
    except TansoError as e:
        shown = refusal_shown(e, g) | {"participant_id": pid, "year": str(fiscal_year)}
        return _verifications_page(request, user, values=form, refused=shown, status=status_of(e))
    notice = g[f"gx_decided_{out.verification}"].format(
        participant=pid, year=fiscal_year, tonnes=f"{out.direct_co2:,}"
    )
    return _verifications_page(request, user, notice=notice)


# ---------------------------------------------------------------- the scheme administrator's screen


def _admin_page(
    request: Request,
    user: PortalUser,
    fiscal_year: int,
    *,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    refused: Mapping[str, Mapping[str, str]] | None = None,
    notice: str = "",
    status: int = 200,
) -> HTMLResponse:
    db = kit.db(request)
    rules = rules_of(fiscal_year)
    register: list[gx_compliance.RegisterRow] = []
    if rules is not None:
        try:  # a year beyond the price rule has no ceiling price, hence no positions
            register = gx_compliance.register(db, fiscal_year)
        except TansoError as e:
            refused = {**(refused or {}), "register": refusal_shown(e, gx_texts(request))}
    return kit.page(
        request,
        "gx_administration.html",
        user,
        status,
        group="operator",
        g=gx_texts(request),
        fiscal_year=fiscal_year,
        rules=rules,
        benchmarks=list(rules.benchmarks.values()) if rules is not None else [],
        decimal_text=decimal_text,
        methods=("benchmark", "grandfathering", "quantity"),
        covered=gx_cycle.list_covered(db, fiscal_year) if rules is not None else [],
        register=register,
        values=values or {},
        errors=errors or {},
        refused=refused or {},
        notice=notice,
    )


@router.get("/portal/operator/gx", response_class=HTMLResponse)
def administration(request: Request, user: OperatorUser, year: YEAR_QUERY = None) -> Response:
    """Cover entities, allocate allowances and read the register of a fiscal year."""
    fiscal_year = asked_year(year, year_at_hand(today(request)))
    if fiscal_year is None:
        return kit.not_found(request, user)
    return _admin_page(request, user, fiscal_year)


def _names(text: str) -> list[str]:
    """Entries typed one per line or separated by commas."""
    return [p.strip() for p in text.replace("\n", ",").split(",") if p.strip()]


@router.post("/portal/operator/gx/cover")
def cover(request: Request, user: OperatorUser, form: Form) -> Response:
    """Cover a participant for a fiscal year with its sectors, facilities and group members."""
    fiscal_year = _form_year(request, user, form)
    pid = form.get("participant_id", "").strip()
    if not pid:
        errors = {"participant_id": kit.labels(request)["required"]}
        return _refused(_admin_page, request, user, fiscal_year, "cover", form, None, errors)
    try:
        out = gx_cycle.cover(
            kit.db(request),
            user.actor,
            pid,
            fiscal_year,
            _names(form.get("sectors", "")),
            _names(form.get("facilities", "")),
            _names(form.get("group_members", "")),
        )
    except TansoError as e:
        return _refused(_admin_page, request, user, fiscal_year, "cover", form, e)
    notice = gx_texts(request)["gx_covered_notice"].format(
        participant=out.participant_id, year=fiscal_year, account=out.holding_account
    )
    return _admin_page(request, user, fiscal_year, notice=notice)


ALLOCATION_INPUTS = {
    "benchmark": ("sector", "production", "early_reduction"),
    "grandfathering": ("base_emissions", "early_reduction"),
    "quantity": ("quantity", "reason"),
}
"""The fields of the allocation form each method reads (the calculator checks them)."""
TEXT_INPUTS = ("sector", "reason")


@router.post("/portal/operator/gx/allocations")
def allocate(request: Request, user: OperatorUser, form: Form) -> Response:
    """Allocate allowances by a calculator of the year's rule set, or a decided quantity with
    its reason."""
    fiscal_year = _form_year(request, user, form)
    t = kit.labels(request)
    pid = form.get("participant_id", "").strip()
    method = form.get("method", "")
    errors: dict[str, str] = {}
    if not pid:
        errors["alloc_participant_id"] = t["required"]
    if method not in ALLOCATION_INPUTS:
        errors["method"] = t["required"]
    inputs: dict[str, Any] = {}
    for name in ALLOCATION_INPUTS.get(method, ()):
        if name in TEXT_INPUTS:
            if form.get(name, "").strip():
                inputs[name] = form[name].strip()
            continue
        number = kit.optional_int(form, name, t, errors)
        if number is not None:
            inputs[name] = number
    if errors:
        return _refused(_admin_page, request, user, fiscal_year, "allocation", form, None, errors)
    try:
        out = gx_cycle.allocate(kit.db(request), user.actor, pid, fiscal_year, method, inputs)
    except TansoError as e:
        return _refused(_admin_page, request, user, fiscal_year, "allocation", form, e)
    notice = gx_texts(request)["gx_allocated_notice"].format(
        quantity=f"{out.quantity:,}",
        participant=out.participant_id,
        year=fiscal_year,
        working=out.working,
    )
    return _admin_page(request, user, fiscal_year, notice=notice)


# ---------------------------------------------------------------- the public register


def _register(request: Request, lang: Lang, year: str | None) -> HTMLResponse:
    """The register of a fiscal year (the one at hand when ``year`` is None) in ``lang``; a
    year that is not one, or has no scheme, answers 404 in the page's language."""
    at_hand = year_at_hand(today(request))
    fiscal_year = asked_year(year, at_hand) if year is not None else at_hand
    rules = rules_of(fiscal_year) if fiscal_year is not None else None
    t, g = texts(lang, "public"), texts(lang, "gx")
    path = f"/gx/register/{fiscal_year}" if year is not None else "/gx/register"
    register: list[gx_compliance.RegisterRow] | None = None
    if fiscal_year is not None and rules is not None:
        try:  # a year beyond the price rule has no ceiling price, hence no positions
            register = gx_compliance.register(kit.db(request), fiscal_year)
        except TansoError:
            register = None
    if fiscal_year is None or rules is None or register is None:
        html = render(
            "public_error.html",
            lang=lang,
            t=t,
            code="gx_not_in_force",
            text=g["gx_register_none"],
            back=f"/{lang}",
            lang_query="/gx/register",
        )
        status = 404
    else:
        html = render(
            "gx_register.html",
            lang=lang,
            t=t,
            g=g,
            fiscal_year=fiscal_year,
            rules=rules,
            register=register,
            years=[y for y in range(fiscal_year - 1, fiscal_year + 2) if rules_of(y)],
            prefix="/ja" if lang == "ja" else "",
            csv=f"/v1/gx/register/{fiscal_year}?format=csv",
            lang_query=path,
        )
        status = 200
    response = HTMLResponse(html, status_code=status)
    response.headers["Content-Language"] = lang
    return response


@router.get("/gx/register", response_class=HTMLResponse)
def register_page(request: Request) -> HTMLResponse:
    """The public GX-ETS register of the fiscal year at hand (English)."""
    return _register(request, "en", None)


@router.get("/en/gx/register", response_class=HTMLResponse)
def register_page_en(request: Request) -> HTMLResponse:
    return _register(request, "en", None)


@router.get("/ja/gx/register", response_class=HTMLResponse)
def register_page_ja(request: Request) -> HTMLResponse:
    """The public GX-ETS register of the fiscal year at hand (Japanese)."""
    return _register(request, "ja", None)


@router.get("/gx/register/{fiscal_year}", response_class=HTMLResponse)
def register_year(request: Request, fiscal_year: str) -> HTMLResponse:
    """The public GX-ETS register of a fiscal year (English)."""
    return _register(request, "en", fiscal_year)


@router.get("/en/gx/register/{fiscal_year}", response_class=HTMLResponse)
def register_year_en(request: Request, fiscal_year: str) -> HTMLResponse:
    return _register(request, "en", fiscal_year)


@router.get("/ja/gx/register/{fiscal_year}", response_class=HTMLResponse)
def register_year_ja(request: Request, fiscal_year: str) -> HTMLResponse:
    """The public GX-ETS register of a fiscal year (Japanese)."""
    return _register(request, "ja", fiscal_year)
