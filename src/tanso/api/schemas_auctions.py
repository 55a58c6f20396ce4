"""Request bodies of sealed-bid auctions: unknown fields refused, no silent conversions."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field

from tanso.api.schemas import MAX_QTY, Body, answer
from tanso.api.schemas_registry import Range  # noqa: F401 (named there: the ranges an auction offers)
from tanso.services.venues import sealed_auctions as sealed

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


DemandStep = answer(sealed.DemandStep)
Result = answer(sealed.Result)
SealedAuction = answer(sealed.Auction, "SealedAuction")
SealedAuctionOffered = answer(sealed.OfferedAuction, "SealedAuctionOffered")
Clearing = answer(sealed.Clearing)
SealedResults = answer(sealed.Results, "SealedResults")
SealedBid = answer(sealed.Bid, "SealedBid")
Award = answer(sealed.Award)
