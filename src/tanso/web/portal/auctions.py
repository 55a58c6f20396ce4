"""Portal and public pages of sealed-bid auctions (EN/JA).

Participants (`/portal/auctions`): browse scheduled and open auctions, bid, amend and withdraw
while open, see their own bids and awards; sellers offer an auction from a holding account and
clear or cancel their own; operator users may clear or cancel any. The public (`/auctions`,
`/ja/auctions`, no login): the auction calendar and the results with the demand curve as an
inline SVG. Nothing here ever shows a bid to anyone but its bidder: every page reads through
`services.sealed_auctions`, whose views carry no bids, plus `own_bids` of the signed-in user.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from tanso.domain.errors import TansoError
from tanso.http_status import status_of
from tanso.services.access.users import PortalUser
from tanso.services.venues import sealed_auctions as sa
from tanso.web import kit, render
from tanso.web.i18n import texts
from tanso.web.kit import JST, CurrentUser, Form, Trader, jst

router = APIRouter(route_class=kit.ScreenRoute, include_in_schema=False)

PRICING = ("uniform_lowest_accepted", "uniform_highest_rejected", "pay_as_bid")
MARGINAL = ("time", "pro_rata")
UNDERSUBSCRIBED = ("partial", "cancel")


# ---------------------------------------------------------------- the demand curve as SVG

W, H, PAD = 640, 320, 48


def demand_chart(auction: sa.Auction) -> dict[str, Any] | None:
    """Coordinates of the demand curve (a descending step line), the supply and the reserve,
    for an inline SVG; None when nothing was bid. Coordinates are drawing units, not money."""
    result = auction.result
    curve = result.demand_curve if result else []
    if not curve:
        return None
    max_q = float(max(curve[-1].cumulative, auction.supply)) * 1.1
    prices = [s.price for s in curve] + [auction.reserve]
    if result and result.clearing_price is not None:
        prices.append(result.clearing_price)
    # the price axis spans the prices bid (not from zero), so that close prices stay apart
    spread = max(max(prices) - min(prices), max(prices) // 10, 1)
    top, low = float(max(prices) + spread * 0.15), float(max(min(prices) - spread * 0.4, 0))

    def x(q: float) -> float:
        return round(float(PAD + (W - 2 * PAD) * q / max_q), 1)

    def y(p: float) -> float:
        return round(float(H - PAD - (H - 2 * PAD) * (p - low) / (top - low)), 1)

    points: list[tuple[float, float]] = []
    prev = 0
    for s in curve:
        points += [(x(prev), y(s.price)), (x(s.cumulative), y(s.price))]
        prev = s.cumulative
    points.append((x(prev), y(low)))
    ticks: list[tuple[float, int]] = []
    for p in sorted({s.price for s in curve} | {auction.reserve}, reverse=True):
        if all(abs(y(p) - ty) >= 14 for ty, _p in ticks):  # labels never overlap
            ticks.append((y(p), p))
    return {
        "w": W,
        "h": H,
        "pad": PAD,
        "path": " ".join(f"{px},{py}" for px, py in points),
        "supply_x": x(auction.supply),
        "reserve_y": y(auction.reserve),
        "clearing_y": y(result.clearing_price)
        if result and result.clearing_price is not None
        else None,
        "price_ticks": [{"y": ty, "label": f"{p:,}"} for ty, p in ticks],
        "quantity_ticks": [
            {"x": x(q), "label": f"{q:,}"} for q in sorted({auction.supply, curve[-1].cumulative})
        ],
        "x0": PAD,
        "y0": H - PAD,
    }


# ---------------------------------------------------------------- public pages


def _public(request: Request, lang: Literal["en", "ja"]) -> HTMLResponse:
    auctions = sa.list_auctions(kit.db(request))
    html = render(
        "sealed_public.html",
        lang=lang,
        t=texts(lang, "public", "auctions"),
        lang_query="/auctions",  # the language switch leads to /en/auctions and /ja/auctions
        auctions=auctions,
        charts={a.id: demand_chart(a) for a in auctions},
        offers={a.id: sa.on_offer(kit.db(request), a.id) for a in auctions if a.result is None},
        jst=jst,
    )
    response = HTMLResponse(html)
    response.headers["Content-Language"] = lang
    return response


@router.get("/auctions", response_class=HTMLResponse)
def public_auctions(request: Request) -> HTMLResponse:
    """The public auction calendar and results (English)."""
    return _public(request, "en")


@router.get("/en/auctions", response_class=HTMLResponse)
def public_auctions_en(request: Request) -> HTMLResponse:
    return _public(request, "en")


@router.get("/ja/auctions", response_class=HTMLResponse)
def public_auctions_ja(request: Request) -> HTMLResponse:
    """The public auction calendar and results (Japanese)."""
    return _public(request, "ja")


# ---------------------------------------------------------------- portal pages


def _t(request: Request) -> Mapping[str, str]:
    return kit.labels(request, "auctions")


def _home(request: Request, user: PortalUser, state: kit.FormState | None = None) -> HTMLResponse:
    db = kit.db(request)
    auctions = sa.list_auctions(db)
    # a seller sees all of its own; an operator's user the ones still to run
    mine = [
        a
        for a in sa.own_auctions(db, user.actor)
        if a.seller == user.participant_id or a.state in ("scheduled", "open", "closed")
    ]
    return kit.page(
        request,
        "sealed_portal.html",
        user,
        group="auctions",
        state=state,
        upcoming=[a for a in auctions if a.state in ("scheduled", "open")],
        mine=mine,
        bids=sa.own_bids(db, kit.reader(user)),
        awards=sa.own_awards(db, kit.reader(user)),
        accounts=kit.own_accounts(db, user),
        pricing=PRICING,
        marginal=MARGINAL,
        undersubscribed=UNDERSUBSCRIBED,
    )


def _detail(
    request: Request,
    user: PortalUser,
    auction_id: str,
    state: kit.FormState | None = None,
    just: sa.Bid | None = None,
) -> HTMLResponse:
    """The auction's page; ``just``: the bid just placed or amended (warned if it cannot win)."""
    db = kit.db(request)
    try:
        auction = sa.get_auction(db, auction_id, user.actor)
    except TansoError:
        return kit.not_found(request, user)
    return kit.page(
        request,
        "sealed_detail.html",
        user,
        group="auctions",
        state=state,
        a=auction,
        charts={auction.id: demand_chart(auction)},
        offer=sa.on_offer(db, auction_id) if auction.result is None else [],
        bids=sa.own_bids(db, kit.reader(user), auction_id),
        awards=[w for w in sa.own_awards(db, kit.reader(user)) if w.auction_id == auction_id],
        accounts=kit.own_accounts(db, user),
        may_run=auction.seller is not None,
        just=just,
    )


@router.get("/portal/auctions", response_class=HTMLResponse)
def portal_auctions(request: Request, user: CurrentUser) -> Response:
    return _home(request, user)


@router.get("/portal/auctions/{auction_id}", response_class=HTMLResponse)
def portal_auction(request: Request, user: CurrentUser, auction_id: str) -> Response:
    return _detail(request, user, auction_id)


def _local_time(text: str) -> str:
    """A datetime-local field (Japan time unless it names its zone) as the clock's format."""
    value = dt.datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        value = value.replace(tzinfo=JST)
    return sa.timestamp(value)


@router.post("/portal/auctions")
def create_auction(request: Request, user: Trader, form: Form) -> Response:
    t = _t(request)
    fields = ("account", "quantity", "parts", "lot", "reserve", "opens_at", "closes_at")
    errors: dict[str, str] = {}
    account = form.get("account", "")
    if account not in {a.id for a in kit.own_accounts(kit.db(request), user)}:
        errors["account"] = t["required"]
    numbers = {
        name: kit.optional_int(form, name, t, errors)
        for name in ("quantity", "lot", "reserve", "settlement_days")
    }
    parts = [p.strip() for p in form.get("parts", "").splitlines() if p.strip()]
    if numbers.get("quantity") is None and not parts:
        errors["quantity"] = t["required"]
    if numbers.get("reserve") is None:
        errors.setdefault("reserve", t["required"])
    times: dict[str, str] = {}
    for name in ("opens_at", "closes_at"):
        try:
            times[name] = _local_time(form.get(name, ""))
        except (ValueError, TansoError):
            errors[name] = t["sealed_time_hint"]
    choices = {
        "pricing": PRICING,
        "marginal": MARGINAL,
        "undersubscribed": UNDERSUBSCRIBED,
    }
    for name, allowed in choices.items():
        if form.get(name) not in allowed:
            errors[name] = t["required"]
    if errors:
        return _home(request, user, kit.FormState.invalid(form, errors, t))
    spec = sa.NewSealedAuction(
        account_id=account,
        opens_at=times["opens_at"],
        closes_at=times["closes_at"],
        reserve=numbers["reserve"] or 0,
        quantity=None if parts else numbers["quantity"],
        parts=tuple(parts),
        title=form.get("title", "")[:200],
        lot=numbers["lot"] or 1,
        pricing=form["pricing"],
        marginal=form["marginal"],
        undersubscribed=form["undersubscribed"],
        settlement_days=numbers["settlement_days"] or 0,
    )
    try:
        out = sa.create(kit.db(request), user.actor, spec)
    except TansoError as e:
        where = kit.field_for(e.code, fields)
        errors = {where: e.message, "_form": e.message}
        return _home(request, user, kit.FormState(form, errors, status=status_of(e)))
    return _home(request, user, kit.FormState(notice=t["sealed_created"].format(id=out.id)))


@router.post("/portal/auctions/{auction_id}/bids")
def place_bid(request: Request, user: Trader, form: Form, auction_id: str) -> Response:
    t = _t(request)
    errors: dict[str, str] = {}
    price = kit.required_int(form, "price", t, errors)
    quantity = kit.required_int(form, "quantity", t, errors)
    account = form.get("account", "")
    if account not in {a.id for a in kit.own_accounts(kit.db(request), user)}:
        errors["account"] = t["required"]
    if errors:
        return _detail(request, user, auction_id, kit.FormState.invalid(form, errors, t))
    try:
        out = sa.place_bid(kit.db(request), user.actor, auction_id, account, price, quantity)
    except TansoError as e:
        return _detail(request, user, auction_id, kit.FormState.refused(e, form))
    notice = t["sealed_bid_sent"].format(id=out.id)
    return _detail(request, user, auction_id, kit.FormState(notice=notice), just=out)


def _bid_action(
    request: Request, user: PortalUser, form: dict[str, str], bid_id: str, action: str
) -> Response:
    t = _t(request)
    db = kit.db(request)
    try:
        bid = sa.get_bid(db, kit.reader(user), bid_id)
    except TansoError:
        return kit.not_found(request, user)
    try:
        if action == "amend":
            price = kit.parse_int(form.get("price"))
            quantity = kit.parse_int(form.get("quantity"))
            just: sa.Bid | None = sa.amend_bid(db, user.actor, bid_id, price, quantity)
            notice = t["sealed_bid_amended"]
        else:
            sa.withdraw_bid(db, user.actor, bid_id)
            just = None
            notice = t["sealed_bid_withdrawn"]
    except ValueError:
        malformed = kit.FormState(errors={"_form": t["whole_number"]}, status=422)
        return _detail(request, user, bid.auction_id, malformed)
    except TansoError as e:
        return _detail(request, user, bid.auction_id, kit.FormState.refused(e))
    done = kit.FormState(notice=notice.format(id=bid_id))
    return _detail(request, user, bid.auction_id, done, just=just)


@router.post("/portal/auctions/bids/{bid_id}/amend")
def amend_bid(request: Request, user: Trader, form: Form, bid_id: str) -> Response:
    return _bid_action(request, user, form, bid_id, "amend")


@router.post("/portal/auctions/bids/{bid_id}/withdraw")
def withdraw_bid(request: Request, user: Trader, form: Form, bid_id: str) -> Response:
    return _bid_action(request, user, form, bid_id, "withdraw")


def _run_action(request: Request, user: PortalUser, auction_id: str, action: str) -> Response:
    t = _t(request)
    db = kit.db(request)
    try:
        if action == "clear":
            sa.clear_auction(db, user.actor, auction_id)
            notice = t["sealed_cleared"]
        else:
            sa.cancel(db, user.actor, auction_id)
            notice = t["sealed_cancelled"]
    except TansoError as e:
        return _detail(request, user, auction_id, kit.FormState.refused(e))
    return _detail(request, user, auction_id, kit.FormState(notice=notice.format(id=auction_id)))


@router.post("/portal/auctions/{auction_id}/clear")
def clear_auction(request: Request, user: Trader, auction_id: str) -> Response:
    return _run_action(request, user, auction_id, "clear")


@router.post("/portal/auctions/{auction_id}/cancel")
def cancel_auction(request: Request, user: Trader, auction_id: str) -> Response:
    return _run_action(request, user, auction_id, "cancel")
