"""Orders: the books of every instrument, placing, amending and cancelling the participant's
orders, and its trades with their settlement."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from tanso.domain.errors import TansoError
from tanso.services.access.users import PortalUser
from tanso.services.clearing import settlement
from tanso.services.common import plain
from tanso.services.trading import exchange as xs
from tanso.services.trading.exchange import NewOrder
from tanso.web import kit
from tanso.web.kit import CurrentUser, Form, Trader
from tanso.web.portal.inbox import bust_form

router = APIRouter(route_class=kit.ScreenRoute, include_in_schema=False)


def markets(request: Request, user: PortalUser) -> list[dict[str, Any]]:
    """Every listed instrument with its name in the page's language, its book (five levels)
    and its latest call auction."""
    db, x = kit.db(request), kit.exchange(request)
    lang = kit.lang_of(request)
    out = []
    for i in xs.list_instruments(db, x):
        book: xs.Book | dict[str, Any]
        try:
            book = x.book(user.actor, i.id, depth=5)
        except TansoError:
            book = {"phase": "", "bids": [], "asks": [], "indicative_price": None}

        auctions = xs.auction_results(db, i.id, 1)
        name = i.name_ja if lang == "ja" else i.name_en
        out.append(
            plain(i)
            | {
                "name": name,
                "book": book,
                "ladder": ladder(plain(book)),
                "auction": auctions[0] if auctions else None,
            }
        )
    return out


def ladder(book: dict[str, Any]) -> list[tuple[int, int | None, int | None]]:
    """The book as one price ladder (板), highest price first: (price, bid quantity, offer
    quantity). Offers come down to the best, bids go down from the best; in a call auction's
    order acceptance the two sides may overlap, and a price both sides quote is one row."""
    bids = {lv["price"]: lv["quantity"] for lv in book.get("bids", [])}
    asks = {lv["price"]: lv["quantity"] for lv in book.get("asks", [])}
    return [(p, bids.get(p), asks.get(p)) for p in sorted(bids.keys() | asks.keys(), reverse=True)]


def _orders_page(
    request: Request, user: PortalUser, state: kit.FormState | None = None
) -> HTMLResponse:
    db = kit.db(request)
    open_orders = [
        o
        for o in xs.own_orders(db, user.actor, "open", 200)
        if o.participant_id == user.participant_id
    ]
    return kit.page(
        request,
        "portal_orders.html",
        user,
        state=state,
        markets=markets(request, user),
        open_orders=open_orders,
        accounts=kit.own_accounts(db, user),
    )


@router.get("/portal/orders", response_class=HTMLResponse)
def orders(request: Request, user: CurrentUser) -> Response:
    values = {"instrument": request.query_params.get("instrument", "")}
    return _orders_page(request, user, kit.FormState(values))


@router.post("/portal/orders")
def place_order(request: Request, user: Trader, form: Form) -> Response:
    t = kit.labels(request)
    db = kit.db(request)
    errors: dict[str, str] = {}
    instrument = form.get("instrument", "")
    if instrument not in {i.id for i in xs.list_instruments(db)}:
        errors["instrument"] = t["required"]
    side = form.get("side", "")
    if side not in ("buy", "sell"):
        errors["side"] = t["required"]
    account = form.get("account", "")
    if account not in {a.id for a in kit.own_accounts(db, user)}:
        errors["account"] = t["required"]
    quantity = kit.required_int(form, "quantity", t, errors)
    price = kit.required_int(form, "price", t, errors)
    if errors:
        return _orders_page(request, user, kit.FormState.invalid(form, errors, t))
    order = NewOrder(
        instrument=instrument, side=side, quantity=quantity, price=price, account_id=account
    )
    try:
        out = kit.exchange(request).place(user.actor, order)
    except TansoError as e:
        fields = ("instrument", "side", "quantity", "price", "account")
        return _orders_page(request, user, kit.FormState.refused(e, form, fields))
    notice = t["order_placed"].format(id=out.id, status=out.status)
    return _orders_page(request, user, kit.FormState({"instrument": instrument}, notice=notice))


def _own_order(
    request: Request, user: PortalUser, order_id: str, open_only: bool
) -> xs.Order | None:
    """One of the participant's orders (open ones only if asked), else None."""
    try:
        order = xs.get_order(kit.db(request), kit.reader(user), order_id)
    except TansoError:
        return None
    if order.participant_id != user.participant_id:
        return None
    if open_only and order.status != "open":
        return None
    return order


@router.post("/portal/orders/{order_id}/cancel")
def cancel_order(request: Request, user: Trader, order_id: str) -> Response:
    if _own_order(request, user, order_id, open_only=False) is None:
        return kit.not_found(request, user)
    try:
        kit.exchange(request).cancel(user.actor, order_id)
    except TansoError as e:
        return _orders_page(request, user, kit.FormState.refused(e))
    notice = kit.labels(request)["order_cancelled"].format(id=order_id)
    return _orders_page(request, user, kit.FormState(notice=notice))


# ---------------------------------------------------------------- amend an open order


def _amend_page(
    request: Request, user: PortalUser, order: xs.Order, state: kit.FormState | None = None
) -> HTMLResponse:
    return kit.page(request, "portal_amend.html", user, state=state, order=order)


@router.get("/portal/orders/{order_id}/amend", response_class=HTMLResponse)
def amend_form(request: Request, user: Trader, order_id: str) -> Response:
    order = _own_order(request, user, order_id, open_only=True)
    if order is None:
        return kit.not_found(request, user)
    return _amend_page(request, user, order)


@router.post("/portal/orders/{order_id}/amend")
def amend_order(request: Request, user: Trader, form: Form, order_id: str) -> Response:
    t = kit.labels(request)
    order = _own_order(request, user, order_id, open_only=True)
    if order is None:
        return kit.not_found(request, user)
    errors: dict[str, str] = {}
    quantity = kit.optional_int(form, "quantity", t, errors)
    price = kit.optional_int(form, "price", t, errors)
    if not errors and quantity is None and price is None:
        errors["quantity"] = t["amend_help"]
    if errors:
        return _amend_page(request, user, order, kit.FormState.invalid(form, errors, t))
    try:
        out = kit.exchange(request).amend(user.actor, order_id, quantity=quantity, price=price)
    except TansoError as e:
        refused = kit.FormState.refused(e, form, ("quantity", "price"))
        return _amend_page(request, user, order, refused)
    notice = t["order_amended"].format(
        id=order_id,
        quantity=f"{out.remaining:,}",
        price=f"¥{out.price:,}" if out.price is not None else "",
    )
    return _orders_page(request, user, kit.FormState(notice=notice))


# ---------------------------------------------------------------- trades and settlement


@router.get("/portal/trades", response_class=HTMLResponse)
def trades(request: Request, user: CurrentUser) -> Response:
    db, reader = kit.db(request), kit.reader(user)
    rows, older, newer = kit.offset_page(request, lambda n: xs.own_trades(db, reader, n))
    return kit.page(
        request,
        "portal_trades.html",
        user,
        trades=rows,
        older=older,
        newer=newer,
        obligations=settlement.obligations(db, reader, limit=200),
        **bust_form(request, user, rows),
    )
