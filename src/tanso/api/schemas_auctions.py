"""Request bodies of sealed-bid auctions: unknown fields refused, no silent conversions."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field

from tanso.api.schemas import MAX_QTY, Body, Out

Price = Field(ge=1, le=10**12)
Serials = Annotated[str, Field(min_length=1, max_length=80)]


class SealedAuctionIn(Body):
    """An offer: a quantity (oldest vintage first) or serial blocks (a portfolio), and the
    auction's settings."""

    account_id: str = Field(min_length=1, max_length=64)
    title: str = Field(default="", max_length=200)
    quantity: int | None = Field(default=None, ge=1, le=MAX_QTY)
    parts: list[Serials] | None = Field(default=None, min_length=1, max_length=50)
    lot: int = Field(default=1, ge=1, le=MAX_QTY)
    reserve: int = Price
    pricing: Literal["uniform_lowest_accepted", "uniform_highest_rejected", "pay_as_bid"] = (
        "uniform_lowest_accepted"
    )
    marginal: Literal["time", "pro_rata"] = "time"
    undersubscribed: Literal["cancel", "partial"] = "partial"
    opens_at: dt.datetime = Field(strict=False)  # an ISO time with its zone
    closes_at: dt.datetime = Field(strict=False)
    settlement_days: int = Field(default=0, ge=0, le=10)
    currency: str = Field(default="JPY", min_length=3, max_length=3)
    seed: str | None = Field(default=None, min_length=1, max_length=64)


class SealedBidIn(Body):
    account_id: str = Field(min_length=1, max_length=64)
    price: int = Price
    quantity: int = Field(ge=1, le=MAX_QTY)


class SealedBidAmendIn(Body):
    price: int | None = Field(default=None, ge=1, le=10**12)
    quantity: int | None = Field(default=None, ge=1, le=MAX_QTY)


# ---------------------------------------------------------------- answers


class DemandStep(Out):
    price: int
    quantity: int
    cumulative: int


class Result(Out):
    """A cleared auction's result: the clearing price, sold and unsold, the bidders and the
    anonymous demand curve."""

    cleared_at: str
    clearing_price: int | None
    sold: int
    unsold: int
    bidders: int
    valid_demand: int
    undersubscribed: bool
    demand_curve: list[DemandStep]


class SealedAuction(Out):
    """A sealed-bid auction's terms and state; `reserve` is its minimum price. Once cleared,
    its `result`. Never a bid, and the seller only to itself."""

    id: str
    title: str
    state: str
    currency: str
    supply: int
    lot: int
    reserve: int
    pricing: str
    marginal: str
    undersubscribed: str
    seed: str
    opens_at: str
    closes_at: str
    settlement_days: int
    created_at: str
    result: Result | None


class OwnSealedAuction(SealedAuction):
    """An auction as its seller (or the operator) sees it."""

    seller: str
    account_id: str


class OfferedRange(Out):
    issuance_id: str
    serial_start: int
    serial_end: int
    serials: str
    quantity: int
    vintage: int


class SealedAuctionOffered(OwnSealedAuction):
    """A new auction with the serial ranges it reserved."""

    ranges: list[OfferedRange]


class Clearing(OwnSealedAuction):
    """A cleared auction: its awards, how many settled and when the rest is due."""

    awards: int
    settled: int
    due_date: str | None


class SealedResults(Result):
    auction_id: str
    currency: str


class SealedBid(Out):
    """One of your own bids."""

    id: str
    auction_id: str
    account_id: str
    price: int
    quantity: int
    amount: int
    status: str
    created_at: str
    updated_at: str


class Award(Out):
    """What a bid won, with its settlement status (`bid_id`, `bidder` only to whom may know)."""

    id: str
    auction_id: str
    quantity: int
    price: int
    amount: int
    due_date: str
    settlement: str
    bid_id: str | None = None
    bidder: str | None = None
