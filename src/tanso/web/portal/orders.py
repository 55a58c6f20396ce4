"""Orders: the books of every instrument, placing, amending and cancelling (after a confirmation
step) the participant's orders, its order history in every state, and its trades with their
settlement; the histories filtered, paged and downloadable as CSV (docs/portal-history.md); a
party's request to bust a trade, from the trades screen (docs/error-trades.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from tanso.domain.errors import TansoError
from tanso.services.access.users import Capability, PortalUser
from tanso.services.clearing.settlement import ObligationView
from tanso.services.common import plain
from tanso.services.trading import bust_requests as br
from tanso.services.trading import exchange as xs
from tanso.services.trading import history
from tanso.services.trading.exchange import NewOrder
from tanso.web import kit
from tanso.web.kit import CurrentUser, Form, Trader
from tanso.web.portal import filters

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
    status = t.get(f"ost_{out.status}", out.status)  # in the page's language, as the history
    notice = t["order_placed"].format(id=out.id, status=status)
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


@router.get("/portal/orders/{order_id}/cancel", response_class=HTMLResponse)
def cancel_confirm(request: Request, user: Trader, order_id: str) -> Response:
    """The confirmation step before a cancellation, which cannot be undone: the order as it
    stands, a button that cancels it and a way back that keeps it."""
    order = _own_order(request, user, order_id, open_only=True)
    if order is None:
        return kit.not_found(request, user)
    return kit.page(request, "portal_cancel_order.html", user, order=order)


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


# ---------------------------------------------------------------- order history


def _instruments(request: Request) -> list[dict[str, str]]:
    """Every listed instrument's id and name in the page's language, for a filter."""
    ja = kit.lang_of(request) == "ja"
    return [
        {"id": i.id, "name": i.name_ja if ja else i.name_en}
        for i in xs.list_instruments(kit.db(request))
    ]


def _order_query(request: Request, instruments: list[dict[str, str]]) -> filters.Query:
    ids = {i["id"] for i in instruments}
    return filters.parse(
        request, kit.labels(request), instruments=ids, statuses=history.ORDER_STATES
    )


@router.get("/portal/orders/history", response_class=HTMLResponse)
def order_history(request: Request, user: CurrentUser) -> Response:
    """Every order of the participant in every state, filtered and paged, newest first."""
    instruments = _instruments(request)
    q = _order_query(request, instruments)
    return _order_history_page(request, user, q, instruments)


def _order_history_page(
    request: Request, user: PortalUser, q: filters.Query, instruments: list[dict[str, str]]
) -> HTMLResponse:
    t = kit.labels(request)
    page: history.Page[xs.Order] = history.Page([], 0, 0)
    if not q.errors:
        page = history.order_history(kit.db(request), kit.reader(user), q.filter, q.offset, q.limit)
    errors = dict(q.errors) | ({"_form": t["filter_refused"]} if q.errors else {})
    return kit.page(
        request,
        "portal_order_history.html",
        user,
        400 if q.errors else 200,
        filter_values=q.values,
        filter_errors=errors,
        orders=page.rows,
        pager=filters.pager(request, page, q.limit),
        instruments=instruments,
        states=history.ORDER_STATES,
        csv_link=filters.link(request, "/portal/orders.csv", offset=None, limit=None),
    )


ORDER_COLUMNS = (
    "order_id",
    "instrument",
    "side",
    "type",
    "price",
    "quantity",
    "filled",
    "cancelled",
    "remaining",
    "status",
    "tif",
    "reason",
    "account",
    "client_order_id",
    "placed_at",
)


@router.get("/portal/orders.csv")
def orders_csv(request: Request, user: CurrentUser) -> Response:
    """The order history as CSV, with the history's filters (all pages, newest first)."""
    instruments = _instruments(request)
    q = _order_query(request, instruments)
    if q.errors:
        return _order_history_page(request, user, q, instruments)
    page = history.order_history(kit.db(request), kit.reader(user), q.filter, 0, history.EXPORT_MAX)
    rows = (
        (
            o.id,
            o.instrument,
            o.side,
            o.type,
            o.price,
            o.quantity,
            o.filled,
            o.cancelled,
            o.remaining,
            o.status,
            o.tif,
            o.reason,
            o.account_id,
            o.client_order_id,
            o.created_at,
        )
        for o in page.rows
    )
    return filters.csv_download(f"orders-{user.participant_id}.csv", ORDER_COLUMNS, rows)


# ---------------------------------------------------------------- trades and settlement


def _trade_queries(
    request: Request, instruments: list[dict[str, str]]
) -> tuple[filters.Query, filters.Query]:
    """The trades' filter and the settlement obligations' (parameters ``ob_...``)."""
    t, ids = kit.labels(request), {i["id"] for i in instruments}
    trades_q = filters.parse(request, t, instruments=ids)
    obligations_q = filters.parse(
        request, t, prefix="ob_", instruments=ids, statuses=history.OBLIGATION_STATES
    )
    return trades_q, obligations_q


@router.get("/portal/trades", response_class=HTMLResponse)
def trades(request: Request, user: CurrentUser) -> Response:
    """The participant's trades and its settlement obligations, each filtered and paged."""
    instruments = _instruments(request)
    return _trades_page(request, user, *_trade_queries(request, instruments), instruments)


def _trades_page(
    request: Request,
    user: PortalUser,
    trades_q: filters.Query,
    obligations_q: filters.Query,
    instruments: list[dict[str, str]],
    state: kit.FormState | None = None,
) -> HTMLResponse:
    db, reader, t = kit.db(request), kit.reader(user), kit.labels(request)
    bad = bool(trades_q.errors or obligations_q.errors)
    found: history.Page[xs.OwnTrade] = history.Page([], 0, 0)
    owed: history.Page[ObligationView] = history.Page([], 0, 0)
    if not bad:
        found = history.trade_history(db, reader, trades_q.filter, trades_q.offset, trades_q.limit)
        owed = history.settlement_history(
            db, reader, obligations_q.filter, obligations_q.offset, obligations_q.limit
        )
    errors = dict(trades_q.errors) | dict(obligations_q.errors)
    if bad:
        errors["_form"] = t["filter_refused"]
    return kit.page(
        request,
        "portal_trades.html",
        user,
        400 if bad else 200,
        state=state,
        filter_values=dict(trades_q.values) | dict(obligations_q.values),
        filter_errors=errors,
        trades=found.rows,
        pager=filters.pager(request, found, trades_q.limit),
        obligations=owed.rows,
        ob_pager=filters.pager(request, owed, obligations_q.limit, prefix="ob_"),
        instruments=instruments,
        ob_states=history.OBLIGATION_STATES,
        csv_link=filters.link(
            request, "/portal/trades.csv", offset=None, limit=None, ob_offset=None, ob_limit=None
        ),
        **bust_form(request, user, found.rows),
    )


TRADE_COLUMNS = (
    "trade_id",
    "instrument",
    "side",
    "price",
    "quantity",
    "value",
    "currency",
    "order_id",
    "trade_date",
    "settlement_date",
    "settlement_status",
    "busted",
    "traded_at",
)


@router.get("/portal/trades.csv")
def trades_csv(request: Request, user: CurrentUser) -> Response:
    """The trade history as CSV, with the trades' filters (all pages, newest first)."""
    instruments = _instruments(request)
    trades_q, obligations_q = _trade_queries(request, instruments)
    if trades_q.errors or obligations_q.errors:
        return _trades_page(request, user, trades_q, obligations_q, instruments)
    page = history.trade_history(
        kit.db(request), kit.reader(user), trades_q.filter, 0, history.EXPORT_MAX
    )
    rows = (
        (
            r.id,
            r.instrument,
            r.side,
            r.price,
            r.quantity,
            r.value,
            r.currency,
            r.order_id,
            r.trade_date,
            r.settlement_date,
            r.settlement_status,
            r.busted,
            r.at,
        )
        for r in page.rows
    )
    return filters.csv_download(f"trades-{user.participant_id}.csv", TRADE_COLUMNS, rows)


# ---------------------------------------------------------------- asking for a bust


def bust_form(request: Request, user: PortalUser, trades: list[xs.OwnTrade]) -> dict[str, Any]:
    """What the trades screen's form to ask for a bust shows: the user's trades still inside
    the window (with its end in Japan time), the reasons, the window's length, and the
    participant's own requests."""
    db = kit.db(request)
    now = db.clock()
    inside = [
        (r, kit.jst(br.deadline_of(r.at)))
        for r in trades
        if br.window_open(r, r.settlement_status, now)
    ]
    return {
        "bustable": inside if user.can(Capability.TRADE) else [],
        "bust_reasons": br.REQUEST_REASONS,
        "bust_minutes": br.WINDOW_MINUTES,
        "bust_requests": br.list_requests(db, kit.reader(user), limit=20),
    }


@router.post("/portal/trades/bust-requests")
def request_bust(request: Request, user: Trader, form: Form) -> Response:
    t = kit.labels(request)
    values = {k: form.get(k, "") for k in ("trade", "reason_code", "note")}
    errors = {k: t["required"] for k in ("trade", "reason_code") if not values[k].strip()}
    if errors:
        return _trades_again(request, user, kit.FormState.invalid(values, errors, t))
    try:
        out = br.request_bust(
            kit.db(request), user.actor, values["trade"], values["reason_code"], values["note"]
        )
    except TansoError as e:
        state = kit.FormState.refused(e, values, ("trade", "reason_code", "note"))
        return _trades_again(request, user, state)
    return _trades_again(
        request, user, kit.FormState(notice=t["br_sent"].format(trade=out.trade_id))
    )


def _trades_again(request: Request, user: PortalUser, state: kit.FormState) -> HTMLResponse:
    """The trades screen (first pages, no filters) with the bust form's outcome."""
    instruments = _instruments(request)
    return _trades_page(request, user, *_trade_queries(request, instruments), instruments, state)
