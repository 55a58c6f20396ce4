"""Request bodies of the marketplace routes: strict like api/schemas.py (unknown fields refused,
no silent conversions), with limits that keep absurd input out before any service runs."""

from __future__ import annotations

from pydantic import Field

from tanso.api.schemas import MAX_QTY, Body, answer
from tanso.api.schemas_registry import Project  # noqa: F401 (named there)
from tanso.domain.marketplace import DEFAULT_SETTLEMENT_DAYS, MAX_PRICE, MAX_SETTLEMENT_DAYS
from tanso.services.venues import marketplace as market

Qty = Field(ge=1, le=MAX_QTY)
Price = Field(ge=1, le=MAX_PRICE)
Time = Field(default=None, min_length=10, max_length=40)


class RatingIn(Body):
    agency: str = Field(min_length=1, max_length=100)
    grade: str = Field(min_length=1, max_length=20)


class DocumentIn(Body):
    title: str = Field(min_length=1, max_length=200)
    url: str = Field(min_length=8, max_length=500)


class ProfileIn(Body):
    summary_en: str = Field(default="", max_length=4000)
    summary_ja: str = Field(default="", max_length=4000)
    ratings: list[RatingIn] = Field(default_factory=list, max_length=20)
    documents: list[DocumentIn] = Field(default_factory=list, max_length=20)


class ListingIn(Body):
    account_id: str = Field(min_length=1, max_length=64)
    issuance_id: str | None = Field(default=None, min_length=1, max_length=40)
    serials: str | None = Field(default=None, min_length=1, max_length=80)
    price: int = Price
    quantity: int = Qty
    min_quantity: int = Field(default=0, ge=0, le=MAX_QTY)
    lot: int = Field(default=1, ge=1, le=MAX_QTY)
    settlement_days: int = Field(default=DEFAULT_SETTLEMENT_DAYS, ge=0, le=MAX_SETTLEMENT_DAYS)
    expires_at: str | None = Time
    note: str = Field(default="", max_length=1000)


class ListingAmendIn(Body):
    price: int | None = Field(default=None, ge=1, le=MAX_PRICE)
    available: int | None = Field(default=None, ge=1, le=MAX_QTY)


class PurchaseIn(Body):
    quantity: int = Qty
    account_id: str = Field(min_length=1, max_length=64)


class RfqIn(Body):
    quantity: int = Qty
    listing_id: str | None = Field(default=None, min_length=1, max_length=64)
    project_id: str | None = Field(default=None, min_length=1, max_length=16)
    note: str = Field(default="", max_length=1000)


class OfferIn(Body):
    account_id: str = Field(min_length=1, max_length=64)
    issuance_id: str = Field(min_length=1, max_length=40)
    price: int = Price
    quantity: int = Qty
    expires_at: str = Field(min_length=10, max_length=40)
    settlement_days: int = Field(default=DEFAULT_SETTLEMENT_DAYS, ge=0, le=MAX_SETTLEMENT_DAYS)


class AcceptIn(Body):
    account_id: str = Field(min_length=1, max_length=64)


# ---------------------------------------------------------------- answers


Rating = answer(market.Rating)
Document = answer(market.Document)
ProjectProfile = answer(market.ProjectProfile)


MarketplaceProject = answer(market.MarketplaceProject)


Listing = answer(market.Listing)
Purchase = answer(market.Purchase)
Deal = answer(market.Deal)
Offer = answer(market.Offer)
Rfq = answer(market.Rfq)
SweepResult = answer(market.Swept, "SweepResult")
