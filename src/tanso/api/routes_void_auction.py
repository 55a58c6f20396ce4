"""The route of the operator's void of a whole call auction (板寄せの取消, issue 17)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request
from pydantic import Field

from tanso.api.deps import AnswerRoute, CanOperate, IdemKey
from tanso.api.schemas import Body, answer
from tanso.services.trading import void_auction as va
from tanso.services.trading.exchange import Exchange

router = APIRouter(prefix="/v1", route_class=AnswerRoute)

AuctionVoid = answer(va.AuctionVoid)


class VoidAuctionIn(Body):
    reason_code: Literal["erroneous_order", "system_fault", "dispute_ruling", "other"]
    note: str = Field(default="", max_length=500)


@router.post(
    "/instruments/{instrument_id}/auctions/{auction_id}/void",
    response_model=AuctionVoid,
    tags=["exchange"],
)
def void_auction(
    instrument_id: Annotated[str, Path(min_length=1, max_length=40)],
    auction_id: Annotated[str, Path(min_length=1, max_length=20)],
    body: VoidAuctionIn,
    request: Request,
    actor: CanOperate,
    idem: IdemKey,
) -> va.AuctionVoid:
    """Void the latest call auction of an instrument (operator): every trade of it is busted,
    the orders that traded in it go back into the book at their old priority where still valid
    (their cash or credits held again), and the reference price is as before it. `auction_id`
    is the auction's `seq` in `GET /v1/market/auctions`. 409 `auction_not_latest` once the
    instrument traded or held an auction after it, `trade_settled` once a trade of it settled,
    `auction_already_voided` the second time (docs/void-auction.md)."""
    exchange: Exchange = request.app.state.exchange
    return va.void(exchange, actor, instrument_id, auction_id, body.reason_code, body.note, idem)
