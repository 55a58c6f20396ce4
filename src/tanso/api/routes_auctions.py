"""REST routes of sealed-bid auctions (thin: parse, call one service function, shape).

Bids are sealed: no route here shows a bid to anyone but its own bidder, and results exist only
once the auction has been cleared.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from tanso.api import schemas_auctions as s
from tanso.api.deps import DB, AnswerRoute, CanRead, CanTrade, IdemKey, TradeOrOperate
from tanso.api.schemas import many
from tanso.api.schemas_auctions import (
    Award,
    Clearing,
    SealedAuction,
    SealedAuctionOffered,
    SealedBid,
    SealedResults,
)
from tanso.services.venues import sealed_auctions as sa

router = APIRouter(
    prefix="/v1/sealed-auctions", tags=["sealed-bid auctions"], route_class=AnswerRoute
)

State = Literal["scheduled", "open", "closed", "cleared", "cancelled"]


@router.get("", response_model=many(SealedAuction), tags=["public"])
def calendar(
    db: DB,
    state: Annotated[State | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[sa.Auction]:
    """The auction calendar: terms, state and (once cleared) results; never a bid (public)."""
    return sa.list_auctions(db, state, limit)


@router.post("", response_model=SealedAuctionOffered, status_code=201)
def create(
    body: s.SealedAuctionIn, db: DB, actor: TradeOrOperate, idem: IdemKey
) -> sa.OfferedAuction:
    """Offer credits from your holding account; they are reserved until clearing."""
    spec = sa.NewSealedAuction(
        account_id=body.account_id,
        opens_at=sa.timestamp(body.opens_at),
        closes_at=sa.timestamp(body.closes_at),
        reserve=body.reserve,
        quantity=body.quantity,
        parts=tuple(body.parts or ()),
        title=body.title,
        lot=body.lot,
        pricing=body.pricing,
        marginal=body.marginal,
        undersubscribed=body.undersubscribed,
        settlement_days=body.settlement_days,
        currency=body.currency,
        seed=body.seed,
    )
    return sa.create(db, actor, spec, idem)


@router.get("/mine", response_model=many(SealedAuction))
def mine(db: DB, actor: CanRead) -> list[sa.Auction]:
    """The auctions you offered (the operator: every auction), with the seller named."""
    return sa.own_auctions(db, actor)


@router.get("/bids", response_model=many(SealedBid))
def my_bids(
    db: DB, actor: CanRead, auction_id: Annotated[str | None, Query(max_length=64)] = None
) -> list[sa.Bid]:
    """Your own bids (nobody else's, whoever asks)."""
    return sa.own_bids(db, actor, auction_id)


@router.get("/bids/{bid_id}", response_model=SealedBid)
def my_bid(bid_id: str, db: DB, actor: CanRead) -> sa.Bid:
    return sa.get_bid(db, actor, bid_id)


@router.patch("/bids/{bid_id}", response_model=SealedBid)
def amend_bid(
    bid_id: str, body: s.SealedBidAmendIn, db: DB, actor: CanTrade, idem: IdemKey
) -> sa.Bid:
    """Change your bid while the auction is open (it takes a new time)."""
    return sa.amend_bid(db, actor, bid_id, body.price, body.quantity, idem)


@router.delete("/bids/{bid_id}", response_model=SealedBid)
def withdraw_bid(bid_id: str, db: DB, actor: CanTrade, idem: IdemKey) -> sa.Bid:
    """Withdraw your bid while the auction is open; its cash is released."""
    return sa.withdraw_bid(db, actor, bid_id, idem)


@router.get("/awards", response_model=many(Award))
def my_awards(db: DB, actor: CanRead) -> list[sa.Award]:
    """What your bids won, with their settlement status."""
    return sa.own_awards(db, actor)


@router.get("/{auction_id}", response_model=SealedAuction, tags=["public"])
def auction(auction_id: str, db: DB) -> sa.Auction:
    """One auction's terms, state and (once cleared) result; never a bid, never the seller."""
    return sa.get_auction(db, auction_id)


@router.get("/{auction_id}/results", response_model=SealedResults, tags=["public"])
def results(auction_id: str, db: DB) -> sa.Results:
    """Clearing price, sold and unsold, bidders and the anonymous demand curve (after clearing)."""
    return sa.results(db, auction_id)


@router.post("/{auction_id}/bids", response_model=SealedBid, status_code=201)
def bid(auction_id: str, body: s.SealedBidIn, db: DB, actor: CanTrade, idem: IdemKey) -> sa.Bid:
    """Send a sealed bid while the auction is open; it reserves price x quantity of cash."""
    return sa.place_bid(db, actor, auction_id, body.account_id, body.price, body.quantity, idem)


@router.get("/{auction_id}/awards", response_model=many(Award))
def awards(auction_id: str, db: DB, actor: CanRead) -> list[sa.Award]:
    """A cleared auction's awards: all (operator), without names (seller), or your own."""
    return sa.auction_awards(db, actor, auction_id)


@router.post("/{auction_id}/clear", response_model=Clearing)
def clear(auction_id: str, db: DB, actor: TradeOrOperate, idem: IdemKey) -> sa.Clearing:
    """Clear a closed auction (seller or operator); T+0 awards settle at once."""
    return sa.clear_auction(db, actor, auction_id, idem)


@router.post("/{auction_id}/cancel", response_model=SealedAuction)
def cancel(auction_id: str, db: DB, actor: TradeOrOperate, idem: IdemKey) -> sa.Auction:
    """Call off an auction before clearing (seller or operator); everything is released."""
    return sa.cancel(db, actor, auction_id, idem)
