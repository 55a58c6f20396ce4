"""Portal screens of forward offtake contracts (長期オフテイク契約, docs/offtake.md), EN/JA: the
pre-purchase marketplace of removal projects' future vintages (with each project's removal
profile), requesting a quote, the developer's listings and terms, signing, and a contract's
schedule of deliveries and payments (with the developer's close-vintage and delivery forms).

Every screen needs a login; acting needs a role that may trade (the kit checks session, origin,
CSRF and role on every POST). Someone else's quote or contract answers like a missing one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from tanso.domain import offtake as ot
from tanso.domain.errors import InvalidInput, TansoError
from tanso.http_status import status_of
from tanso.services.access.users import PortalUser
from tanso.services.removals import offtake
from tanso.web import kit
from tanso.web.i18n import texts
from tanso.web.kit import CurrentUser, Form, Trader

router = APIRouter(prefix="/portal/offtake", route_class=kit.ScreenRoute, include_in_schema=False)

GROUP = "offtake"


def _t(request: Request) -> Mapping[str, str]:
    return kit.labels(request, GROUP)


def _page(
    request: Request,
    template: str,
    user: PortalUser,
    state: kit.FormState | None = None,
    **ctx: Any,
) -> HTMLResponse:
    lang = kit.lang_of(request)
    return kit.page(
        request, template, user, group=GROUP, state=state, g=texts(lang, "removals"), **ctx
    )


def parse_vintages(text: str) -> dict[int, int]:
    """``2027:100, 2028:100`` (or one pair a line) as vintage -> tonnes; ValueError if not."""
    out: dict[int, int] = {}
    for part in text.replace("\n", ",").split(","):
        if not part.strip():
            continue
        year, sep, tonnes = part.partition(":")
        if not sep:
            raise ValueError(part)
        y, q = kit.parse_int(year), kit.parse_int(tonnes)
        if y is None or q is None:
            raise ValueError(part)
        out[y] = out.get(y, 0) + q
    if not out:
        raise ValueError(text)
    return out


def _price_rule(form: Mapping[str, str], t: Mapping[str, str], errors: dict[str, str]) -> Any:
    kind = form.get("kind", "fixed")
    if kind not in ot.PRICE_KINDS:
        errors["kind"] = t["required"]
        return None
    values = {
        name: kit.optional_int(form, name, t, errors)
        for name in ("price", "floor", "cap", "multiplier_bp", "premium")
    }
    return ot.PriceRule(
        kind,
        price=values["price"],
        floor=values["floor"],
        cap=values["cap"],
        # 0 is not "the default": the service refuses it with the field's own message
        multiplier_bp=(
            ot.BASIS_POINTS if values["multiplier_bp"] is None else values["multiplier_bp"]
        ),
        premium=values["premium"] or 0,
        index=form.get("index", "").strip() or None,
    )


# ---------------------------------------------------------------- the marketplace


def _market(request: Request, user: PortalUser, state: kit.FormState | None = None) -> Response:
    db = kit.db(request)
    return _page(
        request,
        "offtake_market.html",
        user,
        state,
        listings=offtake.list_listings(db),
        accounts=kit.own_accounts(db, user),
    )


@router.get("", response_class=HTMLResponse)
def market(request: Request, user: CurrentUser) -> Response:
    """Open listings of forward volumes with each project's removal profile."""
    return _market(request, user)


@router.post("/listings/{listing_id}/quote")
def request_quote(request: Request, user: Trader, form: Form, listing_id: str) -> Response:
    t = _t(request)
    try:
        wanted = parse_vintages(form.get("vintages", ""))
    except ValueError:
        bad = kit.FormState(form, {listing_id: t["bad_vintages"]}, status=422)
        return _market(request, user, bad)
    try:
        quote = offtake.request_quote(
            kit.db(request),
            user.actor,
            listing_id,
            form.get("account", ""),
            wanted,
            form.get("message", ""),
        )
    except TansoError as e:
        if e.kind == "not_found" and e.code == "listing_not_found":
            return kit.not_found(request, user)
        refused = kit.FormState(form, {listing_id: e.message}, status=status_of(e))
        return _market(request, user, refused)
    return _mine(request, user, kit.FormState(notice=t["quote_sent"].format(id=quote.id)))


# ---------------------------------------------------------------- mine: listings, quotes, contracts


def _mine(request: Request, user: PortalUser, state: kit.FormState | None = None) -> Response:
    db = kit.db(request)
    actor = kit.reader(user)
    quotes = offtake.list_quotes(db, actor)
    # the developer's own listings are those that show it their account
    listings = [x for x in offtake.list_listings(db, actor, status=None) if x.seller_account]
    own = {x.id for x in listings}
    return _page(
        request,
        "offtake_mine.html",
        user,
        state,
        listings=listings,
        incoming=[q for q in quotes if q.listing_id in own],
        outgoing=[q for q in quotes if q.buyer_id == user.participant_id],
        contracts=offtake.list_contracts(db, actor),
        accounts=kit.own_accounts(db, user),
    )


@router.get("/mine", response_class=HTMLResponse)
def mine(request: Request, user: CurrentUser) -> Response:
    return _mine(request, user)


@router.post("/mine")
def create_listing(request: Request, user: Trader, form: Form) -> Response:
    t = _t(request)
    errors: dict[str, str] = {}
    rule = _price_rule(form, t, errors)
    try:
        vintages = parse_vintages(form.get("vintages", ""))
    except ValueError:
        errors["vintages"] = t["bad_vintages"]
    if errors or rule is None:
        return _mine(request, user, kit.FormState.invalid(form, errors, t))
    try:
        out = offtake.create_listing(
            kit.db(request),
            user.actor,
            offtake.NewListing(
                form.get("project_id", "").strip(),
                form.get("account", ""),
                vintages,
                rule,
                form.get("note", ""),
            ),
        )
    except TansoError as e:
        return _mine(request, user, kit.FormState.refused(e, form))
    return _mine(request, user, kit.FormState(notice=t["listed"].format(id=out.id)))


@router.post("/quotes/{quote_id}/terms")
def propose_terms(request: Request, user: Trader, form: Form, quote_id: str) -> Response:
    t = _t(request)
    errors: dict[str, str] = {}
    rule = _price_rule(form, t, errors)
    prepaid = kit.optional_int(form, "prepaid_per_tonne", t, errors) or 0
    priority = kit.optional_int(form, "priority", t, errors)
    if priority is None:
        priority = 100
    if errors or rule is None:
        return _mine(request, user, kit.FormState(form, {quote_id: t["error"]}, status=422))
    terms = offtake.Terms(
        rule, form.get("shortfall_rule", ""), prepaid, form.get("mode", "escrow"), priority
    )
    try:
        offtake.propose_terms(kit.db(request), user.actor, quote_id, terms)
    except TansoError as e:
        if e.kind == "not_found":
            return kit.not_found(request, user)
        return _mine(request, user, kit.FormState(form, {quote_id: e.message}, status=status_of(e)))
    return _mine(request, user, kit.FormState(notice=t["terms_sent"].format(id=quote_id)))


@router.post("/quotes/{quote_id}/sign")
def sign(request: Request, user: Trader, form: Form, quote_id: str) -> Response:
    t = _t(request)
    try:
        # the terms the buyer saw, as the page's hidden field carries them
        version = form.get("terms_version", "")
        contract = offtake.sign(kit.db(request), user.actor, quote_id, version)
    except TansoError as e:
        if e.kind == "not_found":
            return kit.not_found(request, user)
        return _mine(request, user, kit.FormState({}, {quote_id: e.message}, status=status_of(e)))
    state = kit.FormState(notice=t["signed"].format(id=contract.id))
    return _contract(request, user, contract.id, state)


# ---------------------------------------------------------------- one contract


def _vintage(form: Mapping[str, str], t: Mapping[str, str], errors: dict[str, str]) -> int:
    """The form's vintage year, 2000 to 2100 (a larger number never reaches a query)."""
    vintage = kit.required_int(form, "vintage", t, errors)
    if "vintage" not in errors:
        try:
            offtake.check_vintage(vintage)
        except InvalidInput as e:
            errors["vintage"] = e.message
    return vintage


def _contract(
    request: Request, user: PortalUser, contract_id: str, state: kit.FormState | None = None
) -> Response:
    try:
        contract = offtake.get_contract(kit.db(request), kit.reader(user), contract_id)
    except TansoError:
        return kit.not_found(request, user)
    return _page(
        request,
        "offtake_contract.html",
        user,
        state,
        contract=contract,
        developer=contract.seller_id == user.participant_id,
        buyer=contract.buyer_id == user.participant_id,
    )


@router.get("/contracts/{contract_id}", response_class=HTMLResponse)
def contract(request: Request, user: CurrentUser, contract_id: str) -> Response:
    """A contract's terms, its schedule of deliveries and payments, and its events."""
    return _contract(request, user, contract_id)


@router.post("/contracts/{contract_id}/close")
def close_vintage(request: Request, user: Trader, form: Form, contract_id: str) -> Response:
    t = _t(request)
    errors: dict[str, str] = {}
    vintage = _vintage(form, t, errors)
    if errors:
        return _contract(request, user, contract_id, kit.FormState.invalid(form, errors, t))
    try:
        offtake.close_vintage(kit.db(request), user.actor, contract_id, vintage)
    except TansoError as e:
        if e.kind == "not_found" and e.code == "contract_not_found":
            return kit.not_found(request, user)
        return _contract(request, user, contract_id, kit.FormState.refused(e, form))
    notice = t["closed_notice"].format(id=contract_id, vintage=vintage)
    return _contract(request, user, contract_id, kit.FormState(notice=notice))


@router.post("/contracts/{contract_id}/deliver")
def deliver(request: Request, user: Trader, form: Form, contract_id: str) -> Response:
    t = _t(request)
    errors: dict[str, str] = {}
    vintage = _vintage(form, t, errors)
    quantity = kit.required_int(form, "quantity", t, errors)
    if errors:
        return _contract(request, user, contract_id, kit.FormState.invalid(form, errors, t))
    try:
        out = offtake.deliver(kit.db(request), user.actor, contract_id, vintage, quantity)
    except TansoError as e:
        if e.kind == "not_found" and e.code == "contract_not_found":
            return kit.not_found(request, user)
        return _contract(request, user, contract_id, kit.FormState.refused(e, form))
    notice = t["delivered_notice"].format(id=contract_id, quantity=f"{out.quantity:,}")
    return _contract(request, user, contract_id, kit.FormState(notice=notice))
