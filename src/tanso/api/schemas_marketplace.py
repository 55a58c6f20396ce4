"""Request bodies of the marketplace routes: strict like api/schemas.py (unknown fields refused,
no silent conversions), with limits that keep absurd input out before any service runs."""

from __future__ import annotations

from pydantic import Field

from tanso.api.schemas import MAX_QTY, Body, Out
from tanso.api.schemas_registry import ProjectFacts
from tanso.domain.marketplace import DEFAULT_SETTLEMENT_DAYS, MAX_PRICE, MAX_SETTLEMENT_DAYS

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


class Listing(Out):
    """A listing: the project and its credits, the terms; the seller only to itself."""

    id: str
    seq: int
    project_id: str
    project_name: str
    project_name_ja: str
    issuance_id: str
    vintage: int
    credit_type: str
    scheme: str
    category: str
    mechanism: str
    nature: str
    country: str
    region: str
    methodology: str
    properties: list[str]
    evaluation_axes: list[str]
    co_benefits: list[str]
    ca_declaration: str
    ca_status: str
    currency: str
    price: int
    available: int
    min_quantity: int
    lot: int
    settlement_days: int
    expires_at: str | None
    status: str
    note: str
    created_at: str
    mine: bool
    seller_id: str | None = None
    account_id: str | None = None
    quantity: int | None = None
    released: int | None = None


class Names(Out):
    en: str
    ja: str


class Rating(Out):
    agency: str
    grade: str


class Document(Out):
    title: str
    url: str


class MarketplaceProject(ProjectFacts):
    """A project as buyers see it: the registry's facts, names, summary, ratings, documents."""

    category_name: Names
    scheme_name: Names
    summary_en: str
    summary_ja: str
    ratings: list[Rating]
    documents: list[Document]


class ListingDetail(Listing):
    """One listing with its project."""

    project: MarketplaceProject


class ProjectProfile(Out):
    project_id: str
    summary_en: str
    summary_ja: str
    ratings: list[Rating]
    documents: list[Document]


class DealTerms(Out):
    id: str
    listing_id: str | None
    offer_id: str | None
    project_id: str
    issuance_id: str
    price: int
    quantity: int
    amount: int
    currency: str
    trade_date: str
    due_date: str
    status: str


class Deal(DealTerms):
    """A marketplace deal as buyer or seller sees it, with its settlement status."""

    at: str
    side: str | None = None
    fee: int | None = None
    account_id: str | None = None
    buyer_id: str | None = None
    seller_id: str | None = None
    buyer_fee: int | None = None
    seller_fee: int | None = None


class Purchase(DealTerms):
    """A deal just made (a purchase, or an accepted offer); `serials` once settled."""

    fee: int
    account_id: str
    serials: list[str] | None = None


class Offer(Out):
    """A firm offer in answer to a request for quote."""

    id: str
    rfq_id: str
    issuance_id: str
    price: int
    quantity: int
    amount: int
    currency: str
    settlement_days: int
    expires_at: str
    status: str
    created_at: str


class Rfq(Out):
    """A request for quote with its offers."""

    id: str
    listing_id: str | None
    project_id: str
    quantity: int
    note: str
    status: str
    created_at: str
    side: str
    project_name: str
    offers: list[Offer]


class SweepResult(Out):
    """The listings and offers closed as expired."""

    listings: list[str]
    offers: list[str]
