"""Portal and public pages of the marketplace capability (EN/JA).

Browsing listings and their projects needs no login; buying, listing, requests for quote and
offers need a portal user whose role may trade. The kit's dependency checks every POST (session,
origin, CSRF token, capability). Someone else's listing, RFQ or offer answers like a missing one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from tanso.domain import local_credits
from tanso.domain import marketplace as mp
from tanso.domain.errors import TansoError
from tanso.http_status import status_of
from tanso.services.access.users import PortalUser
from tanso.services.common import Database
from tanso.services.ledger import registry, taxonomy
from tanso.services.venues import marketplace as market
from tanso.web import kit
from tanso.web.kit import CurrentUser, Form, OptionalUser, Trader

router = APIRouter(
    prefix="/portal/marketplace", route_class=kit.ScreenRoute, include_in_schema=False
)

FILTER_FIELDS = (
    "scheme",
    "category",
    "mechanism",
    "nature",
    "vintage_from",
    "vintage_to",
    "country",
    "property",
    "prefecture",
    "price_min",
    "price_max",
    "sort",
    "hide_mine",
)


def _page(
    request: Request, template: str, user: PortalUser | None, status: int = 200, **ctx: Any
) -> HTMLResponse:
    return kit.page(request, template, user, status, group="marketplace", **ctx)


def _t(request: Request) -> Mapping[str, str]:
    return kit.labels(request, "marketplace")


def _refusal(
    request: Request,
    user: PortalUser,
    e: TansoError,
    page: Callable[[Request, PortalUser, kit.FormState], Response],
) -> Response:
    """A service's refusal on ``page``; someone else's listing, RFQ or offer answers like a
    missing one."""
    if e.kind == "not_found":
        return kit.not_found(request, user)
    return page(request, user, kit.FormState.refused(e))


def _calendar(request: Request) -> Any:
    exchange = getattr(request.app.state, "exchange", None)
    return exchange.calendar if exchange is not None else None


# ---------------------------------------------------------------- browse


def _names(db: Database) -> dict[str, dict[str, str]]:
    """Display names of categories, properties and evaluation axes by code, per language."""
    out: dict[str, dict[str, str]] = {"en": {}, "ja": {}}
    rows = [*taxonomy.list_categories(db)]
    rows += taxonomy.list_terms(db, "property") + taxonomy.list_terms(db, "evaluation_axis")
    for r in rows:
        out["en"][r["code"]] = r["name_en"]
        out["ja"][r["code"]] = r["name_ja"]
    return out


def _number(value: str | None) -> int | None:
    try:
        return kit.parse_int(value)
    except ValueError:
        return None


@router.get("", response_class=HTMLResponse)
def browse(request: Request, user: OptionalUser) -> Response:
    """Open listings with the filter form (public)."""
    q = {k: request.query_params.get(k, "") for k in FILTER_FIELDS}
    f = mp.ListingFilter(
        scheme=q["scheme"] or None,
        category=q["category"] or None,
        mechanism=q["mechanism"] or None,
        nature=q["nature"] or None,
        vintage_from=_number(q["vintage_from"]),
        vintage_to=_number(q["vintage_to"]),
        country=q["country"].upper() or None,
        property=q["property"] or None,
        price_min=_number(q["price_min"]),
        price_max=_number(q["price_max"]),
        prefecture=q["prefecture"] if q["prefecture"] in local_credits.PREFECTURES else None,
    )
    sort = q["sort"] if q["sort"] in mp.SORTS else "price"
    viewer = kit.reader(user) if user else None
    mine = False if (user and q["hide_mine"]) else None
    listings = market.search_listings(kit.db(request), viewer, market.Search(f, sort, mine))
    db = kit.db(request)
    return _page(
        request,
        "marketplace_browse.html",
        user,
        listings=listings,
        values=q | {"sort": sort},
        sorts=mp.SORTS,
        names=_names(db),
        schemes=taxonomy.list_schemes(db),
        categories=taxonomy.list_categories(db),
        properties=taxonomy.list_terms(db, "property"),
        prefectures=local_credits.PREFECTURES,
    )


# ---------------------------------------------------------------- one listing, buying, RFQ


def _listing_page(
    request: Request,
    user: PortalUser | None,
    listing_id: str,
    state: kit.FormState | None = None,
) -> Response:
    viewer = kit.reader(user) if user else None
    try:
        listing = market.get_listing(kit.db(request), viewer, listing_id)
    except TansoError:
        return kit.not_found(request, user)
    accounts = kit.own_accounts(kit.db(request), user) if user else []
    return _page(
        request,
        "marketplace_listing.html",
        user,
        state=state,
        listing=listing,
        project=listing.project,
        names=_names(kit.db(request)),
        accounts=accounts,
        csrf=user.csrf_token if user else "",
    )


@router.get("/listings/{listing_id}", response_class=HTMLResponse)
def listing(request: Request, user: OptionalUser, listing_id: str) -> Response:
    return _listing_page(request, user, listing_id)


def _quantity(form: dict[str, str], name: str, t: Mapping[str, str]) -> tuple[int | None, str]:
    try:
        value = kit.parse_int(form.get(name))
    except ValueError:
        return None, t["whole_number"]
    if value is None:
        return None, t["required"]
    return value, ""


@router.post("/listings/{listing_id}/buy")
def buy(request: Request, user: Trader, form: Form, listing_id: str) -> Response:
    t = _t(request)
    quantity, err = _quantity(form, "quantity", t)
    if quantity is None:
        invalid = kit.FormState(form, {"quantity": err}, status=422)
        return _listing_page(request, user, listing_id, invalid)
    try:
        deal = market.buy(
            kit.db(request),
            user.actor,
            listing_id,
            quantity,
            form.get("account", ""),
            calendar=_calendar(request),
        )
    except TansoError as e:
        refused = kit.FormState.refused(e, form, ("quantity", "account"))
        return _listing_page(request, user, listing_id, refused)
    notice = t["mp_bought"].format(
        id=deal.id,
        quantity=deal.quantity,
        amount=f"¥{deal.amount:,}",
        status=t["mp_st_" + deal.status],
        due=deal.due_date,
    )
    return _deals_page(request, user, notice=notice)


@router.post("/listings/{listing_id}/rfq")
def ask_quote(request: Request, user: Trader, form: Form, listing_id: str) -> Response:
    t = _t(request)
    quantity, err = _quantity(form, "rfq_quantity", t)
    if quantity is None:
        invalid = kit.FormState(form, {"rfq_quantity": err}, status=422)
        return _listing_page(request, user, listing_id, invalid)
    try:
        rfq = market.create_rfq(
            kit.db(request), user.actor, quantity, listing_id=listing_id, note=form.get("note", "")
        )
    except TansoError as e:
        refused = kit.FormState(form, {"rfq_quantity": e.message}, status=status_of(e))
        return _listing_page(request, user, listing_id, refused)
    return _rfqs_page(request, user, kit.FormState(notice=t["mp_rfq_sent"].format(id=rfq.id)))


# ---------------------------------------------------------------- my listings


def _credit_choices(db: Database, user: PortalUser) -> list[dict[str, Any]]:
    """Held credits per account and issuance, to list."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for a in kit.own_accounts(db, user):
        h = registry.holdings(db, kit.reader(user), a.id, limit=10_000)
        for b in h.blocks:
            if b.status != "held":
                continue
            key = (a.id, b.issuance_id)
            c = out.setdefault(
                key,
                {
                    "value": f"{a.id}|{b.issuance_id}",
                    "account": a.id,
                    "issuance": b.issuance_id,
                    "project": b.project_name,
                    "project_id": b.project_id,
                    "vintage": b.vintage,
                    "quantity": 0,
                },
            )
            c["quantity"] += b.quantity
    return list(out.values())


def _mine_page(
    request: Request, user: PortalUser, state: kit.FormState | None = None
) -> HTMLResponse:
    db = kit.db(request)
    return _page(
        request,
        "marketplace_mine.html",
        user,
        state=state,
        listings=market.my_listings(db, kit.reader(user)),
        credits=_credit_choices(db, user),
        values=(state.values if state else {}) or {"settlement_days": "2", "lot": "1"},
        csrf=user.csrf_token,
    )


@router.get("/mine", response_class=HTMLResponse)
def mine(request: Request, user: CurrentUser) -> Response:
    return _mine_page(request, user)


@router.post("/mine")
def create_listing(request: Request, user: Trader, form: Form) -> Response:
    t = _t(request)
    errors: dict[str, str] = {}
    price = kit.required_int(form, "price", t, errors)
    quantity = kit.required_int(form, "quantity", t, errors)
    given = {
        name: value
        for name in ("min_quantity", "lot", "settlement_days")
        if (value := kit.optional_int(form, name, t, errors)) is not None
    }
    account, _sep, issuance = form.get("credits", "").partition("|")
    if not issuance:
        errors["credits"] = t["required"]
    if errors:
        return _mine_page(request, user, kit.FormState.invalid(form, errors, t))
    try:
        terms = mp.ListingTerms(
            price,
            quantity,
            given.get("min_quantity", 0),
            given.get("lot", 1),
            given.get("settlement_days", mp.DEFAULT_SETTLEMENT_DAYS),
        )
        out = market.create_listing(
            kit.db(request),
            user.actor,
            market.NewListing(
                account,
                terms,
                issuance_id=issuance,
                expires_at=form.get("expires_at", "").strip() or None,
                note=form.get("note", ""),
            ),
        )
    except TansoError as e:
        fields = ("price", "quantity", "min_quantity", "lot", "settlement_days", "expires_at")
        where = kit.field_for(e.code, fields)
        if e.code.startswith("invalid_") and e.code[8:] in fields:
            where = e.code[8:]
        if "expir" in e.code or "time" in e.code:
            where = "expires_at"
        if "credits" in e.code or "account" in e.code:
            where = "credits"
        return _mine_page(
            request, user, kit.FormState(form, {where: e.message}, status=status_of(e))
        )
    return _mine_page(request, user, kit.FormState(notice=t["mp_listed"].format(id=out.id)))


@router.post("/mine/{listing_id}/withdraw")
def withdraw(request: Request, user: Trader, listing_id: str) -> Response:
    try:
        market.withdraw_listing(kit.db(request), user.actor, listing_id)
    except TansoError as e:
        return _refusal(request, user, e, _mine_page)
    notice = _t(request)["mp_withdrawn"].format(id=listing_id)
    return _mine_page(request, user, kit.FormState(notice=notice))


# ---------------------------------------------------------------- requests for quote


def _rfqs_page(
    request: Request, user: PortalUser, state: kit.FormState | None = None
) -> HTMLResponse:
    db = kit.db(request)
    reader = kit.reader(user)
    incoming = market.rfqs(db, reader, "in")
    return _page(
        request,
        "marketplace_rfqs.html",
        user,
        state=state,
        outgoing=market.rfqs(db, reader, "out"),
        incoming=incoming,
        credits=_credit_choices(db, user) if incoming else [],
        accounts=kit.own_accounts(db, user),
        csrf=user.csrf_token,
    )


@router.get("/rfqs", response_class=HTMLResponse)
def rfqs(request: Request, user: CurrentUser) -> Response:
    return _rfqs_page(request, user)


@router.post("/rfqs/{rfq_id}/offer")
def make_offer(request: Request, user: Trader, form: Form, rfq_id: str) -> Response:
    t = _t(request)
    account, _sep, issuance = form.get("credits", "").partition("|")
    try:
        price = kit.parse_int(form.get("price"))
        quantity = kit.parse_int(form.get("quantity"))
        days = kit.parse_int(form.get("settlement_days")) or 0
    except ValueError:
        return _rfqs_page(
            request, user, kit.FormState(errors={rfq_id: t["whole_number"]}, status=422)
        )
    if price is None or quantity is None or not issuance:
        return _rfqs_page(request, user, kit.FormState(errors={rfq_id: t["error"]}, status=422))
    try:
        out = market.make_offer(
            kit.db(request),
            user.actor,
            market.NewOffer(
                rfq_id, account, issuance, price, quantity, form.get("expires_at", ""), days
            ),
        )
    except TansoError as e:
        if e.kind == "not_found":
            return kit.not_found(request, user)
        return _rfqs_page(
            request, user, kit.FormState(errors={rfq_id: e.message}, status=status_of(e))
        )
    return _rfqs_page(request, user, kit.FormState(notice=t["mp_offered"].format(id=out.id)))


@router.post("/offers/{offer_id}/{action}")
def offer_action(
    request: Request, user: Trader, form: Form, offer_id: str, action: str
) -> Response:
    t = _t(request)
    db = kit.db(request)
    try:
        if action == "accept":
            deal = market.accept_offer(
                db, user.actor, offer_id, form.get("account", ""), calendar=_calendar(request)
            )
            return _deals_page(request, user, notice=t["mp_accepted"].format(id=deal.id))
        if action == "decline":
            market.decline_offer(db, user.actor, offer_id)
            notice = t["mp_declined"].format(id=offer_id)
            return _rfqs_page(request, user, kit.FormState(notice=notice))
        if action == "withdraw":
            market.withdraw_offer(db, user.actor, offer_id)
            notice = t["mp_offer_withdrawn"].format(id=offer_id)
            return _rfqs_page(request, user, kit.FormState(notice=notice))
    except TansoError as e:
        return _refusal(request, user, e, _rfqs_page)
    return kit.not_found(request, user)


@router.post("/rfqs/{rfq_id}/cancel")
def cancel_rfq(request: Request, user: Trader, rfq_id: str) -> Response:
    try:
        market.cancel_rfq(kit.db(request), user.actor, rfq_id)
    except TansoError as e:
        return _refusal(request, user, e, _rfqs_page)
    notice = _t(request)["mp_rfq_cancelled"].format(id=rfq_id)
    return _rfqs_page(request, user, kit.FormState(notice=notice))


# ---------------------------------------------------------------- deals


def _deals_page(request: Request, user: PortalUser, notice: str = "") -> HTMLResponse:
    return _page(
        request,
        "marketplace_deals.html",
        user,
        deals=market.deals(kit.db(request), kit.reader(user)),
        notice=notice,
    )


@router.get("/deals", response_class=HTMLResponse)
def deals(request: Request, user: CurrentUser) -> Response:
    return _deals_page(request, user)
