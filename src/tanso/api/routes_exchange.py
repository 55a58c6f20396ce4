"""The exchange's routes: instruments, sessions, orders, own trades, and public market results."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import TypeAdapter

from tanso.api import schemas as s
from tanso.api.deps import DB, AnswerRoute, CanOperate, CanRead, CanTrade, IdemKey, TradeOrOperate
from tanso.api.schemas import many
from tanso.api.schemas_exchange import (
    AuctionResult,
    Book,
    Bust,
    Instrument,
    Order,
    OwnTrade,
    PlacedOrder,
    PublicTrade,
    SessionChange,
)
from tanso.domain.instruments import Eligibility, InstrumentSpec
from tanso.services.trading import exchange as xs
from tanso.services.trading.exchange import Exchange

router = APIRouter(prefix="/v1", route_class=AnswerRoute)
_PLACED = TypeAdapter(xs.PlacedOrder)
Limit = Annotated[int, Query(ge=1, le=1000)]


def _exchange(request: Request) -> Exchange:
    x: Exchange = request.app.state.exchange
    return x


@router.get("/instruments", response_model=many(Instrument), tags=["public"])
def list_instruments(request: Request, db: DB) -> list[xs.Instrument]:
    """Instruments with their rules, reference price (基準値段) and today's price limits."""
    return xs.list_instruments(db, _exchange(request))


@router.get("/instruments/{instrument_id}", response_model=Instrument, tags=["public"])
def get_instrument(instrument_id: str, request: Request, db: DB) -> xs.Instrument:
    return xs.get_instrument(db, instrument_id, _exchange(request))


@router.post("/instruments", response_model=Instrument, status_code=201, tags=["exchange"])
def define_instrument(body: s.InstrumentIn, request: Request, actor: CanOperate) -> xs.Instrument:
    """List an instrument (exchange operator)."""
    e = body.eligibility
    spec = InstrumentSpec(
        id=body.id,
        name_en=body.name_en,
        name_ja=body.name_ja,
        kind=body.kind,
        eligibility=Eligibility.from_dict(e.model_dump()),
        currency=body.currency,
        tick=body.tick,
        lot=body.lot,
        price_limit_pct=body.price_limit_pct,
        market_orders=body.market_orders,
        mode=body.mode,
        settlement_days=body.settlement_days,
        reference_price=body.reference_price,
    )
    return _exchange(request).define_instrument(actor, spec)


def _session(action: str) -> Any:
    def control(instrument_id: str, request: Request, actor: CanOperate) -> xs.SessionChange:
        return _exchange(request).session(actor, instrument_id, action)

    control.__doc__ = f"{action.capitalize()} the instrument's session (exchange operator)."
    return control


for _action in ("open", "close", "halt", "resume"):
    router.add_api_route(
        f"/instruments/{{instrument_id}}/{_action}",
        _session(_action),
        methods=["POST"],
        response_model=SessionChange,
        tags=["exchange"],
        name=f"session_{_action}",
    )


@router.post(
    "/instruments/{instrument_id}/auctions", response_model=SessionChange, tags=["exchange"]
)
def run_auction(instrument_id: str, request: Request, actor: CanOperate) -> xs.SessionChange:
    """Run a call auction (板寄せ) now (exchange operator)."""
    return _exchange(request).session(actor, instrument_id, "auction")


@router.get("/instruments/{instrument_id}/book", response_model=Book, tags=["exchange"])
def book(
    instrument_id: str,
    request: Request,
    actor: CanRead,
    depth: Annotated[int, Query(ge=1, le=100)] = 10,
) -> xs.Book:
    """Book depth, aggregated per price: for logged-in participants only, never the public."""
    return _exchange(request).book(actor, instrument_id, depth)


@router.post("/orders", response_model=PlacedOrder, status_code=201, tags=["exchange"])
async def place_order(
    body: s.OrderIn, request: Request, actor: CanTrade, idem: IdemKey
) -> Response:
    """Place an order. A buy reserves price x quantity of cash; a sell reserves its credits
    (the `serials` it designates, or the oldest eligible ones of `account_id`)."""
    # the hot route: it awaits its batch's commit without holding a worker thread, and its
    # answer is encoded here in one step (pydantic-core reads the dataclass) as PlacedOrder
    # documents it, not validated again
    order = xs.NewOrder(
        instrument=body.instrument,
        side=body.side,
        quantity=body.quantity,
        price=body.price,
        type=body.type,
        tif=body.tif,
        account_id=body.account_id,
        serials=body.serials,
        client_order_id=body.client_order_id,
    )
    placed = await _exchange(request).place_async(actor, order, idem)
    return Response(_PLACED.dump_json(placed), 201, media_type="application/json")


@router.get("/orders", response_model=many(Order), tags=["exchange"])
def own_orders(
    db: DB,
    actor: CanRead,
    status: Annotated[str | None, Query(max_length=16)] = None,
    limit: Limit = 100,
) -> list[xs.Order]:
    """Your orders, newest first."""
    return xs.own_orders(db, actor, status, limit)


@router.get("/orders/{order_id}", response_model=Order, tags=["exchange"])
def get_order(order_id: str, db: DB, actor: CanRead) -> xs.Order:
    return xs.get_order(db, actor, order_id)


@router.patch("/orders/{order_id}", response_model=PlacedOrder, tags=["exchange"])
def amend_order(
    order_id: str, body: s.AmendIn, request: Request, actor: TradeOrOperate, idem: IdemKey
) -> xs.PlacedOrder:
    """Amend: a smaller quantity keeps time priority; a new price or a larger quantity loses it.
    With an Idempotency-Key, the same amendment sent again answers as the first time."""
    return _exchange(request).amend(actor, order_id, body.quantity, body.price, idem)


@router.delete("/orders/{order_id}", response_model=Order, tags=["exchange"])
def cancel_order(order_id: str, request: Request, actor: TradeOrOperate, idem: IdemKey) -> xs.Order:
    """Cancel the rest of an open order; its holds are released. With an Idempotency-Key, the
    same cancellation sent again answers as the first time."""
    return _exchange(request).cancel(actor, order_id, idem)


@router.get("/trades", response_model=many(OwnTrade), tags=["exchange"])
def own_trades(db: DB, actor: CanRead, limit: Limit = 100) -> list[xs.OwnTrade]:
    """Your trades with their settlement dates and status; never the counterparty."""
    return xs.own_trades(db, actor, limit)


@router.post("/trades/{trade_id}/bust", response_model=Bust, tags=["exchange"])
def bust_trade(
    trade_id: Annotated[str, Path(min_length=1, max_length=64)],
    body: s.BustIn,
    request: Request,
    actor: CanOperate,
    idem: IdemKey,
) -> xs.Bust:
    """Bust (cancel) a trade that has not settled (取引の取消), operator only: the buyer's cash
    and the seller's credits for it come back free, the quantity does not go back into the book,
    and the bars are recomputed without it. A settled trade answers 409 `trade_settled`; a
    trade busted already, 409 `trade_already_busted` (nothing more is done)."""
    return _exchange(request).bust(actor, trade_id, body.reason_code, body.note, idem)


@router.get("/market/trades", response_model=many(PublicTrade), tags=["public"])
def market_trades(
    db: DB, instrument: Annotated[str | None, Query(max_length=40)] = None, limit: Limit = 100
) -> list[xs.PublicTrade]:
    """Every trade as it happened: instrument, price, quantity, time (約定価格); never who."""
    return xs.public_trades(db, instrument, limit)


@router.get("/market/auctions", response_model=many(AuctionResult), tags=["public"])
def market_auctions(
    db: DB,
    instrument: Annotated[str | None, Query(max_length=40)] = None,
    limit: Limit = 100,
    kind: Literal["call", "opening", "closing"] | None = None,
) -> list[xs.AuctionResult]:
    """Each auction's result: price and volume, or no trade; `kind` call (節立会), or the
    opening and closing auctions of continuous trading."""
    return xs.auction_results(db, instrument, limit, kind)
