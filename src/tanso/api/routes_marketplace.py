"""REST routes of the marketplace capability (thin: parse, call one service function, shape).

Browsing listings and projects needs no API key (a key, if given, marks the caller's own
listings); everything else does. Someone else's listing, RFQ, offer or deal answers 404.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query, Request

from tanso.api import schemas_marketplace as s
from tanso.api.deps import (
    DB,
    AnswerRoute,
    CanManage,
    CanOperate,
    CanRead,
    CanTrade,
    IdemKey,
    get_actor,
)
from tanso.api.schemas import many
from tanso.api.schemas_marketplace import (
    Deal,
    Listing,
    MarketplaceProject,
    Offer,
    ProjectProfile,
    Purchase,
    Rfq,
    SweepResult,
)
from tanso.domain import local_credits
from tanso.domain import marketplace as mp
from tanso.domain.calendar import TradingCalendar
from tanso.services.common import Actor
from tanso.services.venues import marketplace as market

router = APIRouter(prefix="/v1/marketplace", tags=["marketplace"], route_class=AnswerRoute)


async def optional_actor(
    db: DB,
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header()] = None,
    x_on_behalf_of: Annotated[str | None, Header()] = None,
) -> Actor | None:
    """The caller if it sent a key (a wrong key is still refused), else None."""
    if not authorization and not x_api_key:
        return None
    return await get_actor(db, authorization, x_api_key, x_on_behalf_of)


Viewer = Annotated[Actor | None, Depends(optional_actor)]


def _calendar(request: Request) -> TradingCalendar | None:
    exchange = getattr(request.app.state, "exchange", None)
    return exchange.calendar if exchange is not None else None


# ---------------------------------------------------------------- projects


@router.get("/projects/{project_id}", response_model=MarketplaceProject, tags=["public"])
def get_project(project_id: str, db: DB) -> market.MarketplaceProject:
    """A project as buyers see it: methodology, place, mechanism, nature, co-benefits, the
    paper's properties and evaluation axes, ratings and documents."""
    return market.project(db, project_id)


@router.put("/projects/{project_id}/profile", response_model=ProjectProfile)
def set_profile(
    project_id: str, body: s.ProfileIn, db: DB, actor: CanManage, idem: IdemKey
) -> market.ProjectProfile:
    """Describe a project (a holder of its credits, or the registry operator)."""
    profile = market.Profile(
        body.summary_en,
        body.summary_ja,
        tuple((r.agency, r.grade) for r in body.ratings),
        tuple((d.title, d.url) for d in body.documents),
    )
    return market.set_profile(db, actor, project_id, profile, idem)


# ---------------------------------------------------------------- listings


@router.get("/listings", response_model=many(Listing), tags=["public"])
def search(
    db: DB,
    viewer: Viewer,
    scheme: Annotated[str | None, Query(max_length=8)] = None,
    category: Annotated[str | None, Query(max_length=40)] = None,
    mechanism: Literal["reduction", "removal"] | None = None,
    nature: Literal["nature", "technology"] | None = None,
    vintage_from: Annotated[int | None, Query(ge=1990, le=2100)] = None,
    vintage_to: Annotated[int | None, Query(ge=1990, le=2100)] = None,
    country: Annotated[str | None, Query(min_length=2, max_length=2)] = None,
    property: Annotated[str | None, Query(max_length=40)] = None,
    price_min: Annotated[int | None, Query(ge=0, le=mp.MAX_PRICE)] = None,
    price_max: Annotated[int | None, Query(ge=0, le=mp.MAX_PRICE)] = None,
    project: Annotated[str | None, Query(max_length=16)] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    prefecture: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=2,
            description="Local-government credits of a prefecture: JIS X 0401 code, e.g. 20.",
        ),
    ] = None,
    mine: bool | None = None,
    sort: Literal[mp.SORTS] = "price",  # type: ignore[valid-type]
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[market.Listing]:
    """Open listings, filtered and sorted. `mine=true`: only yours; `mine=false`: all but
    yours (needs an API key). Sellers are not named (the marketplace shows the project).
    `prefecture` keeps local-government credits of that prefecture (JIS X 0401 code)."""
    f = mp.ListingFilter(
        scheme=scheme,
        category=category,
        mechanism=mechanism,
        nature=nature,
        vintage_from=vintage_from,
        vintage_to=vintage_to,
        country=country,
        property=property,
        price_min=price_min,
        price_max=price_max,
        project=project,
        q=q,
        prefecture=local_credits.prefecture(prefecture) if prefecture else None,
    )
    return market.search_listings(db, viewer, market.Search(f, sort, mine, limit))


@router.get("/listings/mine", response_model=many(Listing))
def my_listings(db: DB, actor: CanRead) -> list[market.Listing]:
    """Every listing of yours, whatever its status, newest first."""
    return market.my_listings(db, actor)


@router.get("/listings/{listing_id}", response_model=Listing, tags=["public"])
def get_listing(listing_id: str, db: DB, viewer: Viewer) -> market.Listing:
    """One open listing with its project (a closed one only to its seller)."""
    return market.get_listing(db, viewer, listing_id)


@router.post("/listings", response_model=Listing, status_code=201)
def create_listing(body: s.ListingIn, db: DB, actor: CanTrade, idem: IdemKey) -> market.Listing:
    """List credits of one issuance (by issuance_id and quantity, or by serials); they stay
    reserved while listed."""
    terms = mp.ListingTerms(
        body.price, body.quantity, body.min_quantity, body.lot, body.settlement_days
    )
    n = market.NewListing(
        body.account_id, terms, body.issuance_id, body.serials, body.expires_at, body.note
    )
    return market.create_listing(db, actor, n, idem)


@router.patch("/listings/{listing_id}", response_model=Listing)
def amend_listing(
    listing_id: str, body: s.ListingAmendIn, db: DB, actor: CanTrade, idem: IdemKey
) -> market.Listing:
    """Change the price or the quantity still available."""
    return market.amend_listing(db, actor, listing_id, body.price, body.available, idem)


@router.post("/listings/{listing_id}/withdraw", response_model=Listing)
def withdraw_listing(listing_id: str, db: DB, actor: CanTrade, idem: IdemKey) -> market.Listing:
    """Take a listing down; its credits return to held."""
    return market.withdraw_listing(db, actor, listing_id, idem)


@router.post("/listings/{listing_id}/purchases", response_model=Purchase, status_code=201)
def buy(
    listing_id: str,
    body: s.PurchaseIn,
    request: Request,
    db: DB,
    actor: CanTrade,
    idem: IdemKey,
) -> market.Purchase:
    """Buy at the listed price; settles by DvP on the listing's cycle (T+0: at once)."""
    return market.buy(
        db, actor, listing_id, body.quantity, body.account_id, idem, _calendar(request)
    )


# ---------------------------------------------------------------- deals


@router.get("/deals", response_model=many(Deal))
def deals(db: DB, actor: CanRead) -> list[market.Deal]:
    """Your marketplace deals as buyer or seller, with their settlement status."""
    return market.deals(db, actor)


@router.get("/deals/{deal_id}", response_model=Deal)
def get_deal(deal_id: str, db: DB, actor: CanRead) -> market.Deal:
    return market.get_deal(db, actor, deal_id)


# ---------------------------------------------------------------- requests for quote


@router.post("/rfqs", response_model=Rfq, status_code=201)
def create_rfq(body: s.RfqIn, db: DB, actor: CanTrade, idem: IdemKey) -> market.Rfq:
    """Ask for a firm price, for a listing or for a project."""
    return market.create_rfq(
        db, actor, body.quantity, body.listing_id, body.project_id, body.note, idem
    )


@router.get("/rfqs", response_model=many(Rfq))
def list_rfqs(db: DB, actor: CanRead, box: Literal["in", "out"] = "out") -> list[market.Rfq]:
    """`out`: the requests you sent, with their offers; `in`: those you may answer."""
    return market.rfqs(db, actor, box)


@router.get("/rfqs/{rfq_id}", response_model=Rfq)
def get_rfq(rfq_id: str, db: DB, actor: CanRead) -> market.Rfq:
    return market.get_rfq(db, actor, rfq_id)


@router.post("/rfqs/{rfq_id}/cancel", response_model=Rfq)
def cancel_rfq(rfq_id: str, db: DB, actor: CanTrade, idem: IdemKey) -> market.Rfq:
    return market.cancel_rfq(db, actor, rfq_id, idem)


@router.post("/rfqs/{rfq_id}/offers", response_model=Offer, status_code=201)
def make_offer(
    rfq_id: str, body: s.OfferIn, db: DB, actor: CanTrade, idem: IdemKey
) -> market.Offer:
    """Answer a request with a firm offer; its credits are reserved until it ends."""
    n = market.NewOffer(
        rfq_id,
        body.account_id,
        body.issuance_id,
        body.price,
        body.quantity,
        body.expires_at,
        body.settlement_days,
    )
    return market.make_offer(db, actor, n, idem)


@router.post("/offers/{offer_id}/accept", response_model=Purchase, status_code=201)
def accept_offer(
    offer_id: str, body: s.AcceptIn, request: Request, db: DB, actor: CanTrade, idem: IdemKey
) -> market.Purchase:
    """Accept an offer before it expires: a deal, settled like a purchase."""
    return market.accept_offer(db, actor, offer_id, body.account_id, idem, _calendar(request))


@router.post("/offers/{offer_id}/decline", response_model=Offer)
def decline_offer(offer_id: str, db: DB, actor: CanTrade, idem: IdemKey) -> market.Offer:
    return market.decline_offer(db, actor, offer_id, idem)


@router.post("/offers/{offer_id}/withdraw", response_model=Offer)
def withdraw_offer(offer_id: str, db: DB, actor: CanTrade, idem: IdemKey) -> market.Offer:
    return market.withdraw_offer(db, actor, offer_id, idem)


@router.post("/sweep", response_model=SweepResult)
def sweep(db: DB, actor: CanOperate) -> market.Swept:
    """Close every listing and offer past its expiry and release its credits (operator; run it
    from cron until the scheduler does). Expired ones cannot trade even before it runs."""
    return market.sweep(db, actor)
