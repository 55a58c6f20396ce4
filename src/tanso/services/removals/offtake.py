"""Forward offtake contracts (長期オフテイク契約, issue 21 §2, docs/offtake.md): the pre-purchase
marketplace of removal projects' future vintages.

A developer lists forward volumes of a removal project per vintage from its own holding account
(the account the registry issues the project's credits into: projects name no owner, so the
listing's account is what ties the developer to the project); a buyer requests a quote; the
developer proposes terms (price rule, shortfall rule, prepayment, priority); the buyer signs and
the contract is active. The prepayment is held in the buyer's cash under the contract's id
(``escrow``, released to the developer with each delivery, pro rata per tonne, or returned on a
refund) or paid to the developer at signing (``milestones``). Deliveries, the close of a vintage
and replacements are in offtake_delivery.py; the pure rules in domain/offtake.py.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, or_, select, update

from tanso.domain import offtake as ot
from tanso.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from tanso.domain.money import MAX_AMOUNT
from tanso.domain.registry import AccountKind
from tanso.services.clearing import escrow
from tanso.services.common import (
    Actor,
    Idem,
    execute,
    loader,
    own_account,
    require_active,
)
from tanso.services.ledger import cash
from tanso.services.notices import notify
from tanso.services.removals.offtake_delivery import (
    CURRENCY,
    Delivered,
    VintageClosed,
    check_vintage,
    close_vintage,
    contract_row,
    deliver,
    deliver_on_issuance,
    due,
    event,
    schedule_rows,
)
from tanso.store import repo
from tanso.store import schema as t
from tanso.store.db import Database, Tx
from tanso.store.schema_marketplace import project_profiles
from tanso.store.schema_offtake import (
    offtake_contracts,
    offtake_events,
    offtake_listings,
    offtake_quotes,
    offtake_schedule,
)
from tanso.store.schema_removals import removal_profiles

__all__ = [
    "Delivered",
    "VintageClosed",
    "check_vintage",
    "close_vintage",
    "deliver",
    "deliver_on_issuance",
]

L = offtake_listings.c
Q = offtake_quotes.c
C = offtake_contracts.c
S = offtake_schedule.c
PREPAYMENT_MODES = ("escrow", "milestones")
MAX_TEXT = 2000
MAX_VINTAGES = 40
MAX_TONNES = 10**9
MAX_PRIORITY = 1000


# ---------------------------------------------------------------- values


@dataclass(frozen=True, slots=True)
class Removal:
    """The project's removal profile as buyers see it (None where none is set)."""

    pathway: str | None
    storage: str | None
    permanence_years: int | None
    reversal_risk: str | None
    buffer_rate_bp: int | None


@dataclass(frozen=True, slots=True)
class Rating:
    """A rating agency's grade of the project, as its developer gave it on the marketplace's
    project profile."""

    agency: str
    grade: str


@dataclass(frozen=True, slots=True)
class Listing:
    """Forward volumes of a removal project, per vintage (tonnes listed and still available)."""

    id: str
    project_id: str
    project_name: str
    developer: str
    removal: Removal
    vintages: dict[str, int]
    available: dict[str, int]
    price_rule: dict[str, Any]
    currency: str
    note: str
    status: str
    created_at: str
    seller_account: str | None = None
    """Only the developer sees its account."""
    ratings: list[Rating] = field(default_factory=list)
    """The project's ratings from its marketplace profile (docs/marketplace.md)."""
    summary: str = ""
    """The project's summary from its marketplace profile (English; Japanese where only that
    is given)."""


@dataclass(frozen=True, slots=True)
class NewListing:
    project_id: str
    account_id: str
    vintages: dict[int, int]
    price_rule: ot.PriceRule
    note: str = ""


@dataclass(frozen=True, slots=True)
class Terms:
    """What the developer proposes: the price rule, what happens on shortfall, the prepayment
    per tonne (yen, 0 for none) and how it is paid, and the contract's delivery priority."""

    price_rule: ot.PriceRule
    shortfall_rule: str
    prepaid_per_tonne: int = 0
    prepayment_mode: str = "escrow"
    priority: int = 100


@dataclass(frozen=True, slots=True)
class Quote:
    """A buyer's request for quote on a listing and, once proposed, the developer's terms."""

    id: str
    listing_id: str
    project_id: str
    buyer_id: str
    buyer_account: str
    vintages: dict[str, int]
    message: str
    status: str
    created_at: str
    updated_at: str
    terms: dict[str, Any] | None = None
    contract_id: str | None = None
    terms_version: str | None = None
    """A digest of the proposed terms, shown with them: signing names it, so that the buyer
    signs the terms it read (``terms_changed`` if the developer proposed others since)."""


@dataclass(frozen=True, slots=True)
class ScheduleRow:
    vintage: int
    contracted: int
    carried_in: int
    delivered: int
    outstanding: int
    shortfall: int
    carried_out: int
    replacement: int
    replaced: int
    refunded: int
    paid: int
    prepaid_released: int
    failures: int
    status: str
    closed_at: str | None = None


@dataclass(frozen=True, slots=True)
class ContractEvent:
    kind: str
    vintage: int | None
    quantity: int
    unit_price: int | None
    amount: int
    prepaid: int
    issuance_id: str | None
    detail: str
    at: str
    journal_seq: int


@dataclass(frozen=True, slots=True)
class Contract:
    """A signed forward contract with its schedule of deliveries and payments (parties only)."""

    id: str
    quote_id: str
    listing_id: str
    project_id: str
    buyer_id: str
    buyer_account: str
    seller_id: str
    seller_account: str
    currency: str
    price_rule: dict[str, Any]
    shortfall_rule: str
    prepaid_per_tonne: int
    prepayment: int
    prepayment_mode: str
    priority: int
    signed_seq: int
    signed_at: str
    status: str
    contracted: int
    delivered: int
    paid: int
    schedule: list[ScheduleRow] = field(default_factory=list)
    events: list[ContractEvent] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class DemandRow:
    pathway: str
    vintage: int
    contracted: int
    delivered: int
    outstanding: int
    contracts: int


@dataclass(frozen=True, slots=True)
class ForwardDemand:
    """Forward demand per pathway and vintage, aggregated over every signed contract (no names)."""

    rows: list[DemandRow]
    contracts: int
    contracted: int
    delivered: int
    outstanding: int


# ---------------------------------------------------------------- checks


def _text(value: str, name: str) -> str:
    if len(value) > MAX_TEXT:
        raise InvalidInput("text_too_long", f"{name} may be at most {MAX_TEXT:,} characters.")
    return value


def _vintages(v: dict[Any, int], what: str) -> dict[str, int]:
    """Vintage years (2000 to 2100) to whole tonnes above 0, at most 40 of them."""
    if not v or len(v) > MAX_VINTAGES:
        raise InvalidInput(
            "invalid_vintages", f"{what} names 1 to {MAX_VINTAGES} vintages with their tonnes."
        )
    out: dict[str, int] = {}
    for year, tonnes in v.items():
        try:
            y = int(year)
        except (TypeError, ValueError):
            raise InvalidInput("invalid_vintages", f"{year!r} is not a vintage year.") from None
        if not 2000 <= y <= 2100:
            raise InvalidInput("invalid_vintages", f"Vintage {y} is not a year from 2000 to 2100.")
        if not isinstance(tonnes, int) or not 1 <= tonnes <= MAX_TONNES:
            raise InvalidInput(
                "invalid_quantity",
                f"Vintage {y}: tonnes are a whole number from 1 to {MAX_TONNES:,}.",
            )
        out[str(y)] = tonnes
    return dict(sorted(out.items()))


def _check_rule(conn: Connection, rule: ot.PriceRule) -> dict[str, Any]:
    rule.check()
    for name in ("price", "floor", "cap"):
        value = getattr(rule, name)
        if value is not None and not 0 <= value <= 10**12:
            raise InvalidInput("invalid_price_rule", f"{name} is 0 to 10^12 yen per tonne.")
    if not -(10**12) <= rule.premium <= 10**12:
        raise InvalidInput("invalid_price_rule", "premium is within ±10^12 yen per tonne.")
    if rule.kind == "indexed" and rule.premium < 0 and (rule.floor or 0) < 1:
        raise InvalidInput(
            "invalid_price_rule",
            f"An indexed price with a negative premium ({rule.premium:,} yen) names a floor of "
            "at least 1 yen: the price of a delivery is never below 1 yen per tonne.",
        )
    if rule.kind != "fixed":
        v = t.index_values.c
        published = conn.execute(select(v.index_id).where(v.index_id == rule.index).limit(1))
        if rule.index not in _index_ids(conn) and published.first() is None:
            raise InvalidInput(
                "unknown_index", f"There is no Tanso index {rule.index} to price against."
            )
    return {
        k: getattr(rule, k)
        for k in ("kind", "price", "floor", "cap", "multiplier_bp", "premium", "index")
    }


def _index_ids(conn: Connection) -> set[str]:
    """The ids Tanso's indices have (services/marketdata/indices.py: the composite and one per
    TSE category), read here without importing it: it imports the exchange, which imports the
    registry, which calls this package on each issuance."""
    c = t.categories.c
    codes = conn.execute(select(c.code).where(c.tse.is_(True))).scalars()
    return {"TANSO-JCREDIT"} | {"TANSO-" + str(code).replace("_", "-") for code in codes}


def _check_terms(conn: Connection, terms: Terms) -> dict[str, Any]:
    rule = _check_rule(conn, terms.price_rule)
    if terms.shortfall_rule not in ot.SHORTFALL_RULES:
        raise InvalidInput(
            "invalid_shortfall_rule",
            f"shortfall_rule is one of {', '.join(ot.SHORTFALL_RULES)}.",
        )
    if terms.prepayment_mode not in PREPAYMENT_MODES:
        raise InvalidInput(
            "invalid_prepayment_mode", f"prepayment_mode is one of {', '.join(PREPAYMENT_MODES)}."
        )
    if not 0 <= terms.prepaid_per_tonne <= 10**9:
        raise InvalidInput("invalid_prepayment", "prepaid_per_tonne is 0 to 10^9 yen.")
    _check_prepayment(terms.price_rule, terms.prepaid_per_tonne)
    if not 1 <= terms.priority <= MAX_PRIORITY:
        raise InvalidInput("invalid_priority", f"priority is 1 (first) to {MAX_PRIORITY:,}.")
    return {
        "price_rule": rule,
        "shortfall_rule": terms.shortfall_rule,
        "prepaid_per_tonne": terms.prepaid_per_tonne,
        "prepayment_mode": terms.prepayment_mode,
        "priority": terms.priority,
    }


def _check_prepayment(rule: ot.PriceRule, prepaid: int) -> None:
    """The prepayment per tonne is never above the lowest price a delivery can have (else the
    developer would keep more than the tonnes cost): the fixed price, the floor of a
    floor-and-cap price; an indexed price without a floor has no lowest price, so no
    prepayment."""
    if prepaid == 0:
        return
    if rule.kind == "fixed":
        lowest, what = rule.price, "the fixed price"
    elif rule.floor is not None:
        lowest, what = rule.floor, "the price's floor"
    else:
        raise InvalidInput(
            "prepayment_above_price",
            f"An indexed price without a floor takes no prepayment; {prepaid:,} yen per tonne "
            "asked. Name a floor at least as high as the prepayment.",
        )
    assert lowest is not None
    if prepaid > lowest:
        raise InvalidInput(
            "prepayment_above_price",
            f"The prepayment of {prepaid:,} yen per tonne is above {what} ({lowest:,} yen per "
            "tonne): a delivery would pay the developer more than the tonnes cost.",
        )


def _check_prepayment_total(terms: dict[str, Any], vintages: dict[str, int]) -> None:
    """The whole prepayment fits in one escrow hold (domain/money.py MAX_AMOUNT)."""
    total = sum(vintages.values()) * terms["prepaid_per_tonne"]
    if total > MAX_AMOUNT:
        raise InvalidInput(
            "prepayment_too_large",
            f"The prepayment would be {total:,} yen; at most {MAX_AMOUNT:,} yen is held.",
        )


def _terms_version(terms: str | None) -> str | None:
    """The digest of the terms as stored (canonical JSON): what the buyer read."""
    return hashlib.sha256(terms.encode()).hexdigest()[:16] if terms else None


def _developer_account(conn: Connection, project_id: str, account_id: str) -> None:
    """Only the project's developer lists it: the participant the registry operator named on
    the project's removal profile (in one of its own holding accounts, before any issuance), or
    the account the registry issued (or deposited) credits of the project into. A transfer does
    not make an account the developer's."""
    named = conn.execute(
        select(removal_profiles.c.developer_id).where(removal_profiles.c.project_id == project_id)
    ).scalar_one_or_none()
    owner = repo.get_account(conn, account_id)
    if named is not None and owner is not None and owner.participant_id == named:
        return
    m, i = t.credit_movements.c, t.issuances.c
    q = (
        select(m.issuance_id)
        .join(t.issuances, i.id == m.issuance_id)
        .where(
            m.kind.in_(("issued", "deposited")),
            m.to_account == account_id,
            i.project_id == project_id,
        )
        .limit(1)
    )
    if conn.execute(q).first() is None:
        raise Forbidden(
            "not_the_developer",
            f"Account {account_id} never received an issuance of project {project_id}, and its "
            "owner is not the developer the registry named for it: only the project's "
            "developer lists its forward volumes.",
        )


def _holding(conn: Connection, actor: Actor, account_id: str) -> Any:
    row = own_account(conn, actor, account_id, write=True)
    if row.kind != AccountKind.HOLDING.value:
        raise Forbidden("not_a_holding_account", f"Account {account_id} is a system account.")
    return row


def _removal(conn: Connection, project_id: str) -> Removal:
    p = removal_profiles.c
    row = conn.execute(select(removal_profiles).where(p.project_id == project_id)).first()
    if row is None:
        return Removal(None, None, None, None, None)
    return Removal(
        row.pathway, row.storage, row.permanence_years, row.reversal_risk, row.buffer_rate_bp
    )


# ---------------------------------------------------------------- listings


def _marketplace_profile(conn: Connection, project_id: str) -> tuple[list[Rating], str]:
    """The ratings and summary the project's marketplace profile gives (none: empty)."""
    p = project_profiles.c
    row = conn.execute(select(project_profiles).where(p.project_id == project_id)).first()
    if row is None:
        return [], ""
    ratings = [Rating(r["agency"], r["grade"]) for r in json.loads(row.ratings or "[]")]
    return ratings, row.summary_en or row.summary_ja


def _listing_view(conn: Connection, row: Any, actor: Actor | None) -> Listing:
    project = repo.get_project(conn, row.project_id)
    ratings, summary = _marketplace_profile(conn, row.project_id)
    mine = actor is not None and (actor.participant_id == row.seller_id or actor.is_operator())
    return Listing(
        id=row.id,
        project_id=row.project_id,
        project_name=project.name if project else row.project_id,
        developer=project.developer if project else "",
        removal=_removal(conn, row.project_id),
        vintages=json.loads(row.vintages),
        available=json.loads(row.available),
        price_rule=json.loads(row.price_rule),
        currency=row.currency,
        note=row.note,
        status=row.status,
        created_at=row.created_at,
        seller_account=row.seller_account if mine else None,
        ratings=ratings,
        summary=summary,
    )


def create_listing(db: Database, actor: Actor, n: NewListing, idem: Idem | None = None) -> Listing:
    """List forward volumes of a removal project per vintage, from the developer's own holding
    account (where the registry issues the project's credits)."""
    vintages = _vintages(n.vintages, "A listing")
    _text(n.note, "note")

    def work(tx: Tx) -> Listing:
        conn = tx.conn
        require_active(conn, actor)
        _holding(conn, actor, n.account_id)
        project = repo.get_project(conn, n.project_id)
        if project is None:
            raise NotFound("project_not_found", f"There is no project {n.project_id}.")
        profiled = _removal(conn, project.id).pathway is not None
        if project.mechanism != "removal" and not profiled:
            raise Conflict(
                "not_a_removal_project",
                f"Project {project.id} is not a removal project: forward offtake lists removals.",
            )
        _developer_account(conn, project.id, n.account_id)
        rule = _check_rule(conn, n.price_rule)
        listing_id = f"OTL-{tx.next_seq()}"
        repo.insert_row(
            conn,
            offtake_listings,
            id=listing_id,
            project_id=project.id,
            seller_id=actor.participant_id,
            seller_account=n.account_id,
            vintages=json.dumps(vintages),
            available=json.dumps(vintages),
            price_rule=json.dumps(rule, sort_keys=True),
            currency=CURRENCY,
            note=n.note,
            status="open",
            created_at=tx.at,
            journal_seq=tx.next_seq(),
        )
        tx.record(
            "offtake.listed",
            actor.label,
            {
                "listing_id": listing_id,
                "project_id": project.id,
                "account_id": n.account_id,
                "vintages": vintages,
                "price_rule": rule,
            },
        )
        return _listing_view(conn, _listing_row(conn, listing_id), actor)

    return execute(db, actor, idem, work, 201, loader(Listing), sequenced=True)


def _listing_row(conn: Connection, listing_id: str) -> Any:
    row = conn.execute(select(offtake_listings).where(L.id == listing_id)).first()
    if row is None:
        raise NotFound("listing_not_found", f"There is no offtake listing {listing_id}.")
    return row


def withdraw_listing(
    db: Database, actor: Actor, listing_id: str, idem: Idem | None = None
) -> Listing:
    """Close a listing to new quotes (its developer); signed contracts stand."""

    def work(tx: Tx) -> Listing:
        conn = tx.conn
        row = _listing_row(conn, listing_id)
        if row.seller_id != actor.participant_id and not actor.is_operator():
            raise NotFound("listing_not_found", f"There is no offtake listing {listing_id}.")
        if row.status != "open":
            raise Conflict("listing_closed", f"Listing {listing_id} is {row.status}.")
        conn.execute(update(offtake_listings).where(L.id == listing_id).values(status="withdrawn"))
        tx.record("offtake.withdrawn", actor.label, {"listing_id": listing_id})
        return _listing_view(conn, _listing_row(conn, listing_id), actor)

    return execute(db, actor, idem, work, 200, loader(Listing), sequenced=True)


def list_listings(
    db: Database, actor: Actor | None = None, status: str | None = "open"
) -> list[Listing]:
    """Listings, newest first (public fields; the developer also sees its account)."""
    with db.read() as conn:
        q = select(offtake_listings).order_by(L.created_at.desc(), L.id.desc()).limit(500)
        if status:
            q = q.where(L.status == status)
        return [_listing_view(conn, r, actor) for r in conn.execute(q).all()]


def get_listing(db: Database, listing_id: str, actor: Actor | None = None) -> Listing:
    with db.read() as conn:
        return _listing_view(conn, _listing_row(conn, listing_id), actor)


# ---------------------------------------------------------------- quotes


def _quote_view(conn: Connection, row: Any) -> Quote:
    listing = _listing_row(conn, row.listing_id)
    return Quote(
        id=row.id,
        listing_id=row.listing_id,
        project_id=listing.project_id,
        buyer_id=row.buyer_id,
        buyer_account=row.buyer_account,
        vintages=json.loads(row.vintages),
        message=row.message,
        status=row.status,
        created_at=row.created_at,
        updated_at=row.updated_at,
        terms=json.loads(row.terms) if row.terms else None,
        contract_id=row.contract_id,
        terms_version=_terms_version(row.terms),
    )


def _quote(conn: Connection, actor: Actor, quote_id: str) -> tuple[Any, Any]:
    """The quote and its listing if the actor is its buyer, the listing's developer or the
    operator; anyone else's answers exactly like a missing one."""
    row = conn.execute(select(offtake_quotes).where(Q.id == quote_id)).first()
    listing = _listing_row(conn, row.listing_id) if row is not None else None
    if (
        row is None
        or listing is None
        or not (actor.is_operator() or actor.participant_id in (row.buyer_id, listing.seller_id))
    ):
        raise NotFound("quote_not_found", f"There is no offtake quote {quote_id} of yours.")
    return row, listing


def _within(available: dict[str, int], wanted: dict[str, int], listing_id: str) -> None:
    for year, tonnes in wanted.items():
        left = available.get(year, 0)
        if tonnes > left:
            raise Conflict(
                "more_than_available",
                f"Listing {listing_id} has {left:,} t of vintage {year} available; "
                f"{tonnes:,} t asked.",
            )


def request_quote(
    db: Database,
    actor: Actor,
    listing_id: str,
    account_id: str,
    vintages: dict[Any, int],
    message: str = "",
    idem: Idem | None = None,
) -> Quote:
    """Ask the developer of a listing for terms on tonnes of some of its vintages, to be
    delivered into the buyer's holding account."""
    wanted = _vintages(vintages, "A quote")
    _text(message, "message")

    def work(tx: Tx) -> Quote:
        conn = tx.conn
        require_active(conn, actor)
        _holding(conn, actor, account_id)
        listing = _listing_row(conn, listing_id)
        if listing.status != "open":
            raise Conflict("listing_closed", f"Listing {listing_id} is {listing.status}.")
        if listing.seller_id == actor.participant_id:
            raise Conflict("own_listing", "A developer cannot request a quote on its own listing.")
        _within(json.loads(listing.available), wanted, listing_id)
        quote_id = f"OTQ-{tx.next_seq()}"
        repo.insert_row(
            conn,
            offtake_quotes,
            id=quote_id,
            listing_id=listing_id,
            buyer_id=actor.participant_id,
            buyer_account=account_id,
            vintages=json.dumps(wanted),
            message=message,
            terms=None,
            status="requested",
            contract_id=None,
            created_at=tx.at,
            updated_at=tx.at,
            journal_seq=tx.next_seq(),
        )
        tx.record(
            "offtake.quote_requested",
            actor.label,
            {"quote_id": quote_id, "listing_id": listing_id, "vintages": wanted},
        )
        notify(
            tx,
            listing.seller_id,
            "offtake_quote_requested",
            quote_id,
            listing=listing_id,
            quantity=sum(wanted.values()),
        )
        return _quote_view(conn, conn.execute(select(offtake_quotes).where(Q.id == quote_id)).one())

    return execute(db, actor, idem, work, 201, loader(Quote), sequenced=True)


def propose_terms(
    db: Database, actor: Actor, quote_id: str, terms: Terms, idem: Idem | None = None
) -> Quote:
    """Answer a quote with terms (the listing's developer); proposing again replaces them."""

    def work(tx: Tx) -> Quote:
        conn = tx.conn
        require_active(conn, actor)
        row, listing = _quote(conn, actor, quote_id)
        if listing.seller_id != actor.participant_id:
            raise Forbidden("developer_only", "Only the listing's developer proposes terms.")
        if row.status not in ("requested", "proposed"):
            raise Conflict("quote_closed", f"Quote {quote_id} is {row.status}.")
        checked = _check_terms(conn, terms)
        _check_prepayment_total(checked, json.loads(row.vintages))
        conn.execute(
            update(offtake_quotes)
            .where(Q.id == quote_id)
            .values(terms=json.dumps(checked, sort_keys=True), status="proposed", updated_at=tx.at)
        )
        tx.record("offtake.terms_proposed", actor.label, {"quote_id": quote_id, "terms": checked})
        notify(tx, row.buyer_id, "offtake_terms_proposed", quote_id, listing=listing.id)
        return _quote_view(conn, conn.execute(select(offtake_quotes).where(Q.id == quote_id)).one())

    return execute(db, actor, idem, work, 200, loader(Quote), sequenced=True)


def list_quotes(db: Database, actor: Actor) -> list[Quote]:
    """The caller's quotes, as buyer or as the listings' developer, newest first."""
    with db.read() as conn:
        mine = select(L.id).where(L.seller_id == actor.participant_id)
        q = (
            select(offtake_quotes)
            .where(or_(Q.buyer_id == actor.participant_id, Q.listing_id.in_(mine)))
            .order_by(Q.created_at.desc(), Q.id.desc())
            .limit(500)
        )
        return [_quote_view(conn, r) for r in conn.execute(q).all()]


def get_quote(db: Database, actor: Actor, quote_id: str) -> Quote:
    with db.read() as conn:
        row, _listing = _quote(conn, actor, quote_id)
        return _quote_view(conn, row)


# ---------------------------------------------------------------- signing


def sign(
    db: Database, actor: Actor, quote_id: str, terms_version: str, idem: Idem | None = None
) -> Contract:
    """Sign the proposed terms the buyer read (``terms_version``, as the quote shows it): the
    contract is active, the listing's available tonnes shrink, and the prepayment is held in
    escrow or paid to the developer."""

    def work(tx: Tx) -> Contract:
        conn = tx.conn
        if tx.ledger is not None:  # cash is read and moved on the database below
            tx.ledger.flush()
            tx.ledger.forget()
        require_active(conn, actor)
        row, listing = _quote(conn, actor, quote_id)
        if row.buyer_id != actor.participant_id:
            raise Forbidden("buyer_only", "Only the buyer who asked for the quote signs it.")
        if row.status != "proposed" or not row.terms:
            raise Conflict(
                "no_terms", f"Quote {quote_id} is {row.status}: only proposed terms are signed."
            )
        current = _terms_version(row.terms)
        if terms_version != current:
            raise Conflict(
                "terms_changed",
                f"The terms of quote {quote_id} changed since you read them (version "
                f"{terms_version[:16]!r}, now {current!r}): read them again before signing.",
            )
        if listing.status != "open":
            raise Conflict("listing_closed", f"Listing {listing.id} is {listing.status}.")
        _holding(conn, actor, row.buyer_account)
        terms = json.loads(row.terms)
        wanted: dict[str, int] = json.loads(row.vintages)
        available: dict[str, int] = json.loads(listing.available)
        _within(available, wanted, listing.id)
        for year, tonnes in wanted.items():
            available[year] -= tonnes
        total = sum(wanted.values())
        prepayment = total * terms["prepaid_per_tonne"]
        contract_id = f"OTC-{tx.next_seq()}"
        reserve: list[list[Any]] = []
        flows: list[list[Any]] = []
        buyer_cash = cash.ensure_accounts(tx, actor.participant_id, CURRENCY)
        if prepayment and terms["prepayment_mode"] == "escrow":
            reserve = escrow.reserve_cash(
                tx, actor.participant_id, CURRENCY, prepayment, contract_id, new_hold=True
            )
        elif prepayment:
            acct = repo.get_cash_account(conn, buyer_cash)
            free = 0 if acct is None else acct.balance - acct.reserved
            if free < prepayment:
                raise Conflict(
                    "insufficient_cash",
                    f"The prepayment is {prepayment:,} yen; {free:,} yen is free.",
                )
            seller_cash = cash.ensure_accounts(tx, listing.seller_id, CURRENCY)
            repo.move_cash(
                conn,
                tx.next_seq(),
                CURRENCY,
                buyer_cash,
                seller_cash,
                prepayment,
                f"offtake {contract_id} prepayment",
                contract_id,
            )
            flows.append([CURRENCY, buyer_cash, seller_cash, prepayment])
        repo.insert_row(
            conn,
            offtake_contracts,
            id=contract_id,
            quote_id=quote_id,
            listing_id=listing.id,
            project_id=listing.project_id,
            buyer_id=actor.participant_id,
            buyer_account=row.buyer_account,
            seller_id=listing.seller_id,
            seller_account=listing.seller_account,
            currency=CURRENCY,
            price_rule=json.dumps(terms["price_rule"], sort_keys=True),
            shortfall_rule=terms["shortfall_rule"],
            prepaid_per_tonne=terms["prepaid_per_tonne"],
            prepayment=prepayment,
            prepayment_mode=terms["prepayment_mode"],
            priority=terms["priority"],
            signed_seq=tx.next_seq(),
            signed_at=tx.at,
            status="active",
        )
        for year, tonnes in wanted.items():
            repo.insert_row(
                conn,
                offtake_schedule,
                contract_id=contract_id,
                vintage=int(year),
                contracted=tonnes,
                carried_in=0,
                delivered=0,
                shortfall=0,
                carried_out=0,
                replacement=0,
                replaced=0,
                refunded=0,
                paid=0,
                prepaid_released=0,
                failures=0,
                status="open",
                closed_at=None,
            )
        conn.execute(
            update(offtake_listings)
            .where(L.id == listing.id)
            .values(available=json.dumps(dict(sorted(available.items()))))
        )
        conn.execute(
            update(offtake_quotes)
            .where(Q.id == quote_id)
            .values(status="signed", contract_id=contract_id, updated_at=tx.at)
        )
        tx.record(
            "offtake.signed",
            actor.label,
            {
                "contract_id": contract_id,
                "quote_id": quote_id,
                "listing_id": listing.id,
                "project_id": listing.project_id,
                "vintages": wanted,
                "terms": terms,
                "prepayment": prepayment,
                "cash": flows,
                "cash_reserve": reserve,
            },
        )
        event(
            tx,
            contract_id,
            None,
            "signed",
            total,
            prepayment if terms["prepayment_mode"] == "milestones" else 0,
            prepayment,
            detail=terms["prepayment_mode"],
        )
        for pid in (actor.participant_id, listing.seller_id):
            notify(
                tx,
                pid,
                "offtake_signed",
                contract_id,
                quantity=total,
                prepayment=prepayment,
                mode=terms["prepayment_mode"],
            )
        return _contract_view(conn, contract_row(conn, contract_id))

    return execute(db, actor, idem, work, 201, loader(Contract), sequenced=True)


# ---------------------------------------------------------------- reading contracts


def _schedule_view(r: Any) -> ScheduleRow:
    return ScheduleRow(
        vintage=r.vintage,
        contracted=r.contracted,
        carried_in=r.carried_in,
        delivered=r.delivered,
        outstanding=due(r) + (r.replacement - r.replaced),
        shortfall=r.shortfall,
        carried_out=r.carried_out,
        replacement=r.replacement,
        replaced=r.replaced,
        refunded=r.refunded,
        paid=r.paid,
        prepaid_released=r.prepaid_released,
        failures=r.failures,
        status=r.status,
        closed_at=r.closed_at,
    )


def _contract_view(conn: Connection, c: Any, detail: bool = True) -> Contract:
    rows = schedule_rows(conn, c.id)
    events: list[ContractEvent] = []
    if detail:
        e = offtake_events.c
        events = [
            ContractEvent(
                kind=r.kind,
                vintage=r.vintage,
                quantity=r.quantity,
                unit_price=r.unit_price,
                amount=r.amount,
                prepaid=r.prepaid,
                issuance_id=r.issuance_id,
                detail=r.detail,
                at=r.at,
                journal_seq=r.journal_seq,
            )
            for r in conn.execute(
                select(offtake_events).where(e.contract_id == c.id).order_by(e.id)
            ).all()
        ]
    return Contract(
        id=c.id,
        quote_id=c.quote_id,
        listing_id=c.listing_id,
        project_id=c.project_id,
        buyer_id=c.buyer_id,
        buyer_account=c.buyer_account,
        seller_id=c.seller_id,
        seller_account=c.seller_account,
        currency=c.currency,
        price_rule=json.loads(c.price_rule),
        shortfall_rule=c.shortfall_rule,
        prepaid_per_tonne=c.prepaid_per_tonne,
        prepayment=c.prepayment,
        prepayment_mode=c.prepayment_mode,
        priority=c.priority,
        signed_seq=c.signed_seq,
        signed_at=c.signed_at,
        status=c.status,
        contracted=sum(r.contracted for r in rows),
        delivered=sum(r.delivered + r.replaced for r in rows),
        paid=sum(r.paid for r in rows),
        schedule=[_schedule_view(r) for r in rows] if detail else [],
        events=events,
    )


def list_contracts(db: Database, actor: Actor) -> list[Contract]:
    """The caller's contracts, as buyer or developer (the operator: all), newest first."""
    with db.read() as conn:
        q = select(offtake_contracts).order_by(C.signed_seq.desc()).limit(500)
        if not actor.is_operator():
            q = q.where(
                or_(C.buyer_id == actor.participant_id, C.seller_id == actor.participant_id)
            )
        return [_contract_view(conn, r, detail=False) for r in conn.execute(q).all()]


def get_contract(db: Database, actor: Actor, contract_id: str) -> Contract:
    """One contract with its schedule and events, for its parties and the operator; anyone
    else's answers exactly like a missing one."""
    with db.read() as conn:
        c = contract_row(conn, contract_id)
        if c is None or not (
            actor.is_operator() or actor.participant_id in (c.buyer_id, c.seller_id)
        ):
            raise NotFound(
                "contract_not_found", f"There is no offtake contract {contract_id} of yours."
            )
        return _contract_view(conn, c)


# ---------------------------------------------------------------- public forward demand


def forward_demand(db: Database) -> ForwardDemand:
    """Tonnes contracted, delivered and outstanding per removal pathway and vintage over every
    signed contract, and how many contracts: the revenue outlook, with no names."""
    p = removal_profiles.c
    with db.read() as conn:
        rows = conn.execute(
            select(offtake_schedule, C.project_id, p.pathway)
            .join(offtake_contracts, C.id == S.contract_id)
            .outerjoin(removal_profiles, p.project_id == C.project_id)
        ).all()
    cells: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0, 0])
    ids: dict[tuple[str, int], set[str]] = defaultdict(set)
    for r in rows:
        key = (r.pathway or "unspecified", int(r.vintage))
        cell = cells[key]
        cell[0] += r.contracted
        cell[1] += r.delivered + r.replaced
        cell[2] += due(r) + (r.replacement - r.replaced)
        ids[key].add(r.contract_id)
    out = [DemandRow(k[0], k[1], v[0], v[1], v[2], len(ids[k])) for k, v in sorted(cells.items())]
    return ForwardDemand(
        rows=out,
        contracts=len({r.contract_id for r in rows}),
        contracted=sum(r.contracted for r in out),
        delivered=sum(r.delivered for r in out),
        outstanding=sum(r.outstanding for r in out),
    )
