"""REST routes of forward offtake contracts (docs/offtake.md; thin: parse, call one service
function, shape). Listings and the forward demand are public; quotes and contracts are for
their parties (and the operator): anyone else's answers 404."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from tanso.api import schemas_offtake as s
from tanso.api.deps import DB, AnswerRoute, CanRead, CanTrade, IdemKey, TradeOrOperate
from tanso.api.schemas import many
from tanso.services.removals import offtake

router = APIRouter(prefix="/v1", tags=["offtake"], route_class=AnswerRoute)

ListingId = Annotated[str, Path(min_length=1, max_length=40, description="A listing's id.")]
QuoteId = Annotated[str, Path(min_length=1, max_length=40, description="A quote's id.")]
ContractId = Annotated[str, Path(min_length=1, max_length=40, description="A contract's id.")]
Vintage = Annotated[int, Path(ge=2000, le=2100, description="A vintage year.")]


@router.post("/offtake/listings", response_model=s.Listing, status_code=201)
def create_listing(body: s.ListingIn, db: DB, actor: CanTrade, idem: IdemKey) -> offtake.Listing:
    """List forward volumes of a removal project per vintage (its developer, from the holding
    account the project's credits are issued into)."""
    n = offtake.NewListing(
        body.project_id,
        body.account_id,
        {int(k): v for k, v in body.vintages.items()},
        body.price_rule.rule(),
        body.note,
    )
    return offtake.create_listing(db, actor, n, idem)


@router.get("/offtake/listings", response_model=many(s.Listing), tags=["public"])
def list_listings(db: DB) -> list[offtake.Listing]:
    """Open listings of forward volumes with each project's removal profile (no account)."""
    return offtake.list_listings(db)


@router.get("/offtake/listings/{offtake_listing_id}", response_model=s.Listing, tags=["public"])
def get_listing(offtake_listing_id: ListingId, db: DB) -> offtake.Listing:
    return offtake.get_listing(db, offtake_listing_id)


@router.post("/offtake/listings/{offtake_listing_id}/withdraw", response_model=s.Listing)
def withdraw_listing(
    offtake_listing_id: ListingId, db: DB, actor: CanTrade, idem: IdemKey
) -> offtake.Listing:
    """Close a listing to new quotes (its developer); signed contracts stand."""
    return offtake.withdraw_listing(db, actor, offtake_listing_id, idem)


@router.post(
    "/offtake/listings/{offtake_listing_id}/quotes", response_model=s.Quote, status_code=201
)
def request_quote(
    offtake_listing_id: ListingId, body: s.QuoteIn, db: DB, actor: CanTrade, idem: IdemKey
) -> offtake.Quote:
    """Ask the developer for terms on tonnes of some of the listing's vintages."""
    return offtake.request_quote(
        db, actor, offtake_listing_id, body.account_id, dict(body.vintages), body.message, idem
    )


@router.get("/offtake/quotes", response_model=many(s.Quote))
def list_quotes(db: DB, actor: CanRead) -> list[offtake.Quote]:
    """Your quotes, as buyer or as the listings' developer."""
    return offtake.list_quotes(db, actor)


@router.get("/offtake/quotes/{quote_id}", response_model=s.Quote)
def get_quote(quote_id: QuoteId, db: DB, actor: CanRead) -> offtake.Quote:
    return offtake.get_quote(db, actor, quote_id)


@router.post("/offtake/quotes/{quote_id}/terms", response_model=s.Quote)
def propose_terms(
    quote_id: QuoteId, body: s.TermsIn, db: DB, actor: CanTrade, idem: IdemKey
) -> offtake.Quote:
    """Propose terms (the developer): price rule, shortfall rule, prepayment and priority."""
    terms = offtake.Terms(
        body.price_rule.rule(),
        body.shortfall_rule,
        body.prepaid_per_tonne,
        body.prepayment_mode,
        body.priority,
    )
    return offtake.propose_terms(db, actor, quote_id, terms, idem)


@router.post("/offtake/quotes/{quote_id}/sign", response_model=s.Contract, status_code=201)
def sign(
    quote_id: QuoteId, body: s.SignIn, db: DB, actor: CanTrade, idem: IdemKey
) -> offtake.Contract:
    """Sign the proposed terms as read (the buyer names the quote's terms_version; 409
    terms_changed if they changed since): the contract is active and the prepayment held in
    escrow or paid to the developer."""
    return offtake.sign(db, actor, quote_id, body.terms_version, idem)


@router.get("/offtake/contracts", response_model=many(s.Contract))
def list_contracts(db: DB, actor: CanRead) -> list[offtake.Contract]:
    """Your contracts, as buyer or developer (without schedule and events)."""
    return offtake.list_contracts(db, actor)


@router.get("/offtake/contracts/{contract_id}", response_model=s.Contract)
def get_contract(contract_id: ContractId, db: DB, actor: CanRead) -> offtake.Contract:
    """A contract with its schedule of deliveries and payments and its events (parties only)."""
    return offtake.get_contract(db, actor, contract_id)


@router.post(
    "/offtake/contracts/{contract_id}/vintages/{vintage}/deliveries",
    response_model=s.Delivered,
    status_code=201,
)
def deliver(
    contract_id: ContractId,
    vintage: Vintage,
    body: s.DeliveryIn,
    db: DB,
    actor: CanTrade,
    idem: IdemKey,
) -> offtake.Delivered:
    """Deliver from the developer's account: tonnes an open vintage still awaits, or
    replacement credits (type RM) once it closed under the replacement rule."""
    return offtake.deliver(db, actor, contract_id, vintage, body.quantity, idem)


@router.post(
    "/offtake/contracts/{contract_id}/vintages/{vintage}/close",
    response_model=s.VintageClosed,
    status_code=201,
)
def close_vintage(
    contract_id: ContractId, vintage: Vintage, db: DB, actor: TradeOrOperate, idem: IdemKey
) -> offtake.VintageClosed:
    """Close a vintage (developer or operator): its shortfall follows the contract's rule."""
    return offtake.close_vintage(db, actor, contract_id, vintage, idem)


@router.get("/removals/forward-demand", response_model=s.ForwardDemand, tags=["public"])
def forward_demand(db: DB) -> offtake.ForwardDemand:
    """Tonnes contracted, delivered and outstanding per removal pathway and vintage over every
    signed forward contract, and how many contracts (no names)."""
    return offtake.forward_demand(db)
