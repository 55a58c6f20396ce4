"""The project marketplace (マーケットプレイス方式): listings, purchases, requests for quote.

A listing reserves its credits under the listing's id; a purchase moves the bought quantity from
that reservation into one under the deal's id, reserves the buyer's cash under the same id and
opens a settlement obligation (venue ``marketplace``) due on T+n Japanese business days; T+0 deals
settle inside the purchase's own transaction. A firm offer answering an RFQ reserves credits the
same way under the offer's id. Every change is one transaction with one journal entry that
carries its credit ``moves`` and ``cash_reserve`` effects, so `audit.verify` replays it. The
rules themselves (terms, purchase sizes, search, offer states) live in domain/marketplace.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import Connection, func, select, update

from tanso.domain import marketplace as mp
from tanso.domain.calendar import TradingCalendar
from tanso.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from tanso.domain.participants import ParticipantStatus, Role
from tanso.domain.registry import AccountKind, BlockStatus
from tanso.services.clearing import escrow, settlement
from tanso.services.common import (
    SYSTEM,
    Actor,
    Idem,
    execute,
    from_row,
    loader,
    omitted,
    own_account,
    plain,
    require_active,
    require_operator,
)
from tanso.services.ledger import registry
from tanso.services.ledger.taxonomy import Project, project_view
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import fees_for, trade_date
from tanso.store import repo
from tanso.store import schema as t
from tanso.store import schema_local as lt
from tanso.store import schema_marketplace as m
from tanso.store.db import Database, Tx, dumps, loads

L = m.marketplace_listings
R = m.marketplace_rfqs
OF = m.marketplace_offers
D = m.marketplace_deals
P = m.project_profiles

CURRENCY = "JPY"
VENUE = "marketplace"
MAX_NOTE = 1000
MAX_ITEMS = 20


def _now(db: Database) -> str:
    return mp.utc_text(mp.parse_time(db.clock()))


def _holding(conn: Connection, actor: Actor, account_id: str) -> Any:
    row = own_account(conn, actor, account_id, write=True)
    if row.kind != AccountKind.HOLDING.value:
        raise Forbidden("not_a_holding_account", f"Account {account_id} is a system account.")
    return row


def _note(text: str) -> str:
    if len(text) > MAX_NOTE:
        raise InvalidInput("text_too_long", f"A note may be at most {MAX_NOTE} characters.")
    return text


def _reserved(conn: Connection, reservation: str) -> int:
    b = t.blocks.c
    q = select(func.coalesce(func.sum(b.serial_end - b.serial_start + 1), 0)).where(
        b.reservation == reservation, b.status == BlockStatus.RESERVED.value
    )
    return int(conn.execute(q).scalar_one())


def _seller_active(conn: Connection, pid: str) -> None:
    row = repo.get_participant(conn, pid)
    if row is None or row.status != ParticipantStatus.ACTIVE.value:
        # the seller's identity is not disclosed, so neither is its status
        raise Conflict("listing_unavailable", "The seller cannot trade at the moment.")


# ---------------------------------------------------------------- project information


@dataclass(frozen=True, slots=True)
class Profile:
    """What a seller adds about a project: a summary, ratings and documents."""

    summary_en: str = ""
    summary_ja: str = ""
    ratings: tuple[tuple[str, str], ...] = ()
    """(agency, grade) pairs, e.g. ("Sylvera", "A")."""
    documents: tuple[tuple[str, str], ...] = ()
    """(title, https URL) pairs."""

    def check(self) -> None:
        for text in (self.summary_en, self.summary_ja):
            if len(text) > 4000:
                raise InvalidInput("text_too_long", "A summary may be at most 4,000 characters.")
        if len(self.ratings) > MAX_ITEMS or len(self.documents) > MAX_ITEMS:
            raise InvalidInput("too_many_items", f"At most {MAX_ITEMS} ratings and documents.")
        for agency, grade in self.ratings:
            if not agency.strip() or not grade.strip() or len(agency) > 100 or len(grade) > 20:
                raise InvalidInput("invalid_rating", "A rating names its agency and its grade.")
        for title, url in self.documents:
            parts = urlparse(url)
            if not title.strip() or len(title) > 200 or len(url) > 500:
                raise InvalidInput("invalid_document", "A document has a title and a URL.")
            if parts.scheme not in ("https", "http") or not parts.netloc:
                raise InvalidInput("invalid_document_url", "A document URL starts with https://.")


def _holds_project(conn: Connection, pid: str, project_id: str) -> bool:
    b, i, a = t.blocks.c, t.issuances.c, t.accounts.c
    q = (
        select(b.id)
        .select_from(
            t.blocks.join(t.issuances, b.issuance_id == i.id).join(t.accounts, b.account_id == a.id)
        )
        .where(
            i.project_id == project_id,
            a.participant_id == pid,
            b.status.in_([BlockStatus.HELD.value, BlockStatus.RESERVED.value]),
        )
        .limit(1)
    )
    return conn.execute(q).first() is not None


@dataclass(frozen=True, slots=True)
class Rating:
    agency: str
    grade: str


@dataclass(frozen=True, slots=True)
class Document:
    title: str
    url: str


@dataclass(frozen=True, slots=True)
class ProjectProfile:
    """A project's description for buyers, as stored."""

    project_id: str
    summary_en: str
    summary_ja: str
    ratings: list[Rating]
    documents: list[Document]


def set_profile(
    db: Database, actor: Actor, project_id: str, profile: Profile, idem: Idem | None = None
) -> ProjectProfile:
    """Describe a project for buyers: the registry operator, or a participant holding some of
    its credits (our rule: the last one to write it is named beside it)."""
    profile.check()

    def work(tx: Tx) -> ProjectProfile:
        conn = tx.conn
        require_active(conn, actor)
        if repo.get_project(conn, project_id) is None:
            raise NotFound("project_not_found", f"There is no project {project_id}.")
        if not (
            actor.has(Role.REGISTRY_OPERATOR)
            or _holds_project(conn, actor.participant_id, project_id)
        ):
            raise Forbidden(
                "not_a_holder", "Only a holder of the project's credits may describe it."
            )
        values = {
            "summary_en": profile.summary_en,
            "summary_ja": profile.summary_ja,
            "ratings": dumps([{"agency": a, "grade": g} for a, g in profile.ratings]),
            "documents": dumps([{"title": ti, "url": u} for ti, u in profile.documents]),
            "updated_by": actor.participant_id,
            "updated_at": tx.at,
        }
        if repo.get_by_key(conn, P, "project_id", project_id) is None:
            repo.insert_row(conn, P, project_id=project_id, **values)
        else:
            conn.execute(update(P).where(P.c.project_id == project_id).values(**values))
        out = ProjectProfile(
            project_id, **_profile_fields(repo.get_by_key(conn, P, "project_id", project_id))
        )
        tx.record("marketplace.profile_set", actor.label, plain(out))
        return out

    return execute(db, actor, idem, work, load=loader(ProjectProfile))


def _profile_fields(row: Any) -> dict[str, Any]:
    if row is None:
        return {"summary_en": "", "summary_ja": "", "ratings": [], "documents": []}
    return {
        "summary_en": row.summary_en,
        "summary_ja": row.summary_ja,
        "ratings": [Rating(**r) for r in loads(row.ratings) or []],
        "documents": [Document(**d) for d in loads(row.documents) or []],
    }


@dataclass(frozen=True, slots=True)
class Names:
    en: str
    ja: str


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketplaceProject(Project):
    """A project as buyers see it: the registry's facts, its scheme's and category's names,
    the summary, ratings and documents its developer gave."""

    category_name: Names | None
    scheme_name: Names | None
    summary_en: str
    summary_ja: str
    ratings: list[Rating]
    documents: list[Document]


def _names(row: Any) -> Names | None:
    return Names(row.name_en, row.name_ja) if row is not None else None


def _project_info(conn: Connection, project_id: str) -> MarketplaceProject:
    row = repo.get_project(conn, project_id)
    if row is None:
        raise NotFound("project_not_found", f"There is no project {project_id}.")
    return MarketplaceProject(
        **{f: getattr(project_view(row), f) for f in Project.__dataclass_fields__},
        category_name=_names(repo.get_by_code(conn, t.categories, row.category)),
        scheme_name=_names(repo.get_by_code(conn, t.schemes, row.scheme)),
        **_profile_fields(repo.get_by_key(conn, P, "project_id", project_id)),
    )


def project(db: Database, project_id: str) -> MarketplaceProject:
    """A project as the marketplace shows it (public)."""
    with db.read() as conn:
        return _project_info(conn, project_id)


# ---------------------------------------------------------------- listings


@dataclass(frozen=True, slots=True)
class NewListing:
    account_id: str
    terms: mp.ListingTerms
    issuance_id: str | None = None
    serials: str | None = None
    expires_at: str | None = None
    note: str = ""


def _listing_row(conn: Connection, listing_id: str) -> Any:
    return conn.execute(select(L).where(L.c.id == listing_id)).first()


def _listings_query() -> Any:
    p, i, lp = t.projects.c, t.issuances.c, lt.local_projects.c
    return select(
        L,
        *repo.credit_columns(),
        p.region,
        p.methodology,
        p.evaluation_axes,
        p.co_benefits,
        p.name_ja.label("project_name_ja"),
        lp.prefecture,
        lp.municipality,
        lp.scheme.label("local_scheme"),
    ).select_from(
        L.join(t.projects, L.c.project_id == p.id)
        .join(t.issuances, L.c.issuance_id == i.id)
        .outerjoin(lt.local_projects, L.c.project_id == lp.project_id)
    )


@dataclass(frozen=True, slots=True)
class Listing:
    """A listing: the project and its credits, the terms; the seller (``seller_id``,
    ``account_id``, ``quantity``) only to itself and the operator."""

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
    seller_id: str | None = omitted()
    account_id: str | None = omitted()
    quantity: int | None = omitted()
    released: int | None = omitted()
    """After a withdrawal: the credits given back to held."""
    project: MarketplaceProject | None = omitted()  # noqa: RUF009 (None, not a shared one)
    """One listing looked up alone: its project as the marketplace shows it."""
    prefecture: str | None = omitted()
    """A local-government credit (自治体クレジット): its project's prefecture (JIS X 0401)."""
    municipality: str | None = omitted()
    """A local-government credit: its project's municipality ("" for a prefecture-wide one)."""
    local_scheme: str | None = omitted()
    """A local-government credit: the local scheme that issued it (/local/{code})."""


def _listing_view(r: Any, now: str, viewer: str | None) -> Listing:
    return Listing(**_listing_dict(r, now, viewer))


def _listing_dict(r: Any, now: str, viewer: str | None) -> dict[str, Any]:
    """A listing as ``viewer`` sees it: the seller's identity only to the seller (our rule: the
    marketplace shows the project, not who sells it) or the operator (viewer "*")."""
    view = {
        "id": r.id,
        "seq": r.seq,
        "project_id": r.project_id,
        "project_name": r.project_name,
        "project_name_ja": r.project_name_ja,
        "issuance_id": r.issuance_id,
        "vintage": r.vintage,
        "credit_type": r.credit_type,
        "scheme": r.scheme,
        "category": r.category,
        "mechanism": r.mechanism,
        "nature": r.nature,
        "country": r.country,
        "region": r.region,
        "methodology": r.methodology,
        "properties": loads(r.properties) or [],
        "evaluation_axes": loads(r.evaluation_axes) or [],
        "co_benefits": loads(r.co_benefits) or [],
        "ca_declaration": r.ca_declaration,
        "ca_status": r.ca_status,
        "currency": r.currency,
        "price": r.price,
        "available": r.available,
        "min_quantity": r.min_quantity,
        "lot": r.lot,
        "settlement_days": r.settlement_days,
        "expires_at": r.expires_at,
        "status": mp.listing_status(r.status, r.expires_at, now),
        "note": r.note,
        "created_at": r.created_at,
        "mine": viewer == r.seller_id,
    }
    if r.local_scheme is not None:
        view |= {
            "prefecture": r.prefecture,
            "municipality": r.municipality,
            "local_scheme": r.local_scheme,
        }
    if viewer in (r.seller_id, "*"):
        view |= {"seller_id": r.seller_id, "account_id": r.account_id, "quantity": r.quantity}
    return view


def create_listing(db: Database, actor: Actor, n: NewListing, idem: Idem | None = None) -> Listing:
    """List a lot of one issuance's credits at a fixed price; they are reserved while listed."""
    _note(n.note)
    if bool(n.issuance_id) == bool(n.serials):
        raise InvalidInput("issuance_or_serials", "Name either an issuance_id or serials.")

    def work(tx: Tx) -> Listing:
        conn = tx.conn
        require_active(conn, actor)
        _holding(conn, actor, n.account_id)
        expires_at = mp.check_expiry(n.expires_at, tx.at)
        listing_id = f"ML-{tx.next_seq()}"
        if n.serials:
            pieces, moves = escrow.reserve_credits(
                tx, n.account_id, registry.Selection(serials=n.serials), listing_id
            )
            if sum(p.quantity for p in pieces) != n.terms.quantity:
                raise InvalidInput(
                    "quantity_mismatch", "The serials hold a different quantity than quantity."
                )
            issuance_id = pieces[0].block.issuance
        else:
            assert n.issuance_id is not None
            issuance_id = n.issuance_id
            if repo.get_issuance(conn, issuance_id) is None:
                raise NotFound("issuance_not_found", f"There is no issuance {issuance_id}.")
            _p, moves = escrow.reserve_issuance(
                tx, n.account_id, issuance_id, n.terms.quantity, listing_id
            )
        issuance = repo.get_issuance(conn, issuance_id)
        assert issuance is not None
        repo.insert_row(
            conn,
            L,
            id=listing_id,
            seq=tx.next_seq(),
            seller_id=actor.participant_id,
            account_id=n.account_id,
            issuance_id=issuance_id,
            project_id=issuance.project_id,
            vintage=issuance.vintage,
            currency=CURRENCY,
            price=n.terms.price,
            quantity=n.terms.quantity,
            available=n.terms.quantity,
            min_quantity=n.terms.min_quantity,
            lot=n.terms.lot,
            settlement_days=n.terms.settlement_days,
            expires_at=expires_at,
            status="open",
            note=n.note,
            created_at=tx.at,
            updated_at=tx.at,
        )
        view = _one_listing(conn, listing_id, tx.at, actor.participant_id)
        tx.record("marketplace.listed", actor.label, _entry(view) | {"moves": moves})
        return view

    return execute(db, actor, idem, work, 201, loader(Listing), sequenced=True)


def _entry(listing: Listing) -> dict[str, Any]:
    view = plain(listing)
    keys = ("id", "issuance_id", "price", "available", "min_quantity", "lot", "settlement_days")
    return {k: view[k] for k in keys if k in view} | {"expires_at": view.get("expires_at")}


def _one_listing(conn: Connection, listing_id: str, now: str, viewer: str | None) -> Listing:
    r = conn.execute(_listings_query().where(L.c.id == listing_id)).first()
    if r is None:
        raise NotFound("listing_not_found", f"There is no listing {listing_id}.")
    return _listing_view(r, now, viewer)


def _own_listing(conn: Connection, actor: Actor, listing_id: str) -> Any:
    row = _listing_row(conn, listing_id)
    if row is None or row.seller_id != actor.participant_id:
        raise NotFound("listing_not_found", f"There is no listing {listing_id} of yours.")
    return row


def amend_listing(
    db: Database,
    actor: Actor,
    listing_id: str,
    price: int | None = None,
    available: int | None = None,
    idem: Idem | None = None,
) -> Listing:
    """Change an open listing's price or the quantity still available (reserving or releasing
    the difference)."""
    if price is None and available is None:
        raise InvalidInput("nothing_to_amend", "Give a new price or a new available quantity.")

    def work(tx: Tx) -> Listing:
        conn = tx.conn
        require_active(conn, actor)
        row = _own_listing(conn, actor, listing_id)
        status = mp.listing_status(row.status, row.expires_at, tx.at)
        if status != "open":
            raise Conflict("listing_not_open", f"Listing {listing_id} is {status}.")
        new_price = row.price if price is None else price
        new_available = row.available if available is None else available
        mp.ListingTerms(new_price, new_available, min(row.min_quantity, new_available), 1)
        moves: list[list[Any]] = []
        delta = new_available - row.available
        if delta > 0:
            _p, moves = escrow.reserve_issuance(
                tx, row.account_id, row.issuance_id, delta, listing_id
            )
        elif delta < 0:
            _p, moves = escrow.rehold_credits(tx, row.account_id, listing_id, -delta, None)
        conn.execute(
            update(L)
            .where(L.c.id == listing_id)
            .values(
                price=new_price,
                available=new_available,
                quantity=row.quantity + delta,
                updated_at=tx.at,
            )
        )
        view = _one_listing(conn, listing_id, tx.at, actor.participant_id)
        tx.record("marketplace.amended", actor.label, _entry(view) | {"moves": moves})
        return view

    return execute(db, actor, idem, work, load=loader(Listing), sequenced=True)


def withdraw_listing(
    db: Database, actor: Actor, listing_id: str, idem: Idem | None = None
) -> Listing:
    """Take a listing down; its remaining credits return to held."""

    def work(tx: Tx) -> Listing:
        conn = tx.conn
        require_active(conn, actor)
        row = _own_listing(conn, actor, listing_id)
        if row.status != "open":
            raise Conflict("listing_not_open", f"Listing {listing_id} is {row.status}.")
        _p, moves = escrow.release_credits(tx, row.account_id, listing_id)
        _close_listing(conn, listing_id, "withdrawn", tx.at)
        view = _one_listing(conn, listing_id, tx.at, actor.participant_id)
        tx.record(
            "marketplace.withdrawn",
            actor.label,
            {"id": listing_id, "released": row.available, "moves": moves},
        )
        return replace(view, released=row.available)

    return execute(db, actor, idem, work, load=loader(Listing), sequenced=True)


def _close_listing(conn: Connection, listing_id: str, status: str, at: str) -> None:
    res = conn.execute(
        update(L)
        .where(L.c.id == listing_id, L.c.status == "open")
        .values(status=status, available=0, updated_at=at)
    )
    if res.rowcount != 1:
        raise Conflict("listing_not_open", f"Listing {listing_id} is no longer open.")


@dataclass(frozen=True, slots=True)
class Search:
    filter: mp.ListingFilter = field(default_factory=mp.ListingFilter)
    sort: str = "price"
    mine: bool | None = None
    """True: only the viewer's own listings; False: all but the viewer's own."""
    limit: int = 200


def search_listings(db: Database, viewer: Actor | None, s: Search = Search()) -> list[Listing]:
    """Open listings matching a search (public); the viewer's own are marked ``mine``."""
    s = s or Search()
    now = _now(db)
    pid = viewer.participant_id if viewer else None
    f = s.filter
    if s.mine is not None:
        if pid is None:
            raise InvalidInput("login_required", "mine needs a logged-in participant.")
        f = _replace(f, seller=pid) if s.mine else _replace(f, exclude_seller=pid)
    with db.read() as conn:
        rows = conn.execute(_listings_query().where(L.c.status == "open")).all()
        candidates = [
            _listing_dict(r, now, "*") for r in rows if not mp.is_expired(r.expires_at, now)
        ]
    found = mp.search(candidates, f, s.sort)[: max(1, min(s.limit, 1000))]
    for v in found:
        owner = v["seller_id"]
        v["mine"] = pid is not None and owner == pid
        if not (v["mine"] or (viewer is not None and viewer.is_operator())):
            for k in ("seller_id", "account_id", "quantity"):
                del v[k]
    return [Listing(**v) for v in found]


def _replace(f: mp.ListingFilter, **changes: Any) -> mp.ListingFilter:
    return replace(f, **changes)


def get_listing(db: Database, viewer: Actor | None, listing_id: str) -> Listing:
    """One listing with its project's information. A listing that is no longer open is shown
    only to its seller (and the operator); to others it answers like a missing one."""
    now = _now(db)
    with db.read() as conn:
        row = _listing_row(conn, listing_id)
        pid = viewer.participant_id if viewer else None
        op = viewer is not None and viewer.is_operator()
        if row is None:
            raise NotFound("listing_not_found", f"There is no listing {listing_id}.")
        who = "*" if op and row.seller_id != pid else pid
        view = _one_listing(conn, listing_id, now, who)
        if view.status != "open" and row.seller_id != pid and not op:
            raise NotFound("listing_not_found", f"There is no listing {listing_id}.")
        return replace(view, project=_project_info(conn, row.project_id))


def my_listings(db: Database, actor: Actor, limit: int = 500) -> list[Listing]:
    """Every listing of the actor, newest first, whatever its status."""
    now = _now(db)
    with db.read() as conn:
        rows = conn.execute(
            _listings_query()
            .where(L.c.seller_id == actor.participant_id)
            .order_by(L.c.seq.desc())
            .limit(limit)
        ).all()
        return [_listing_view(r, now, actor.participant_id) for r in rows]


# ---------------------------------------------------------------- deals


@dataclass(frozen=True, slots=True)
class Purchase:
    """A deal just made (a purchase from a listing, or an accepted offer), as its buyer sees it;
    ``serials`` once it settled (T+0)."""

    id: str
    listing_id: str | None
    offer_id: str | None
    project_id: str
    issuance_id: str
    price: int
    quantity: int
    amount: int
    fee: int
    currency: str
    account_id: str
    trade_date: str
    due_date: str
    status: str
    serials: list[str] | None = omitted()  # noqa: RUF009 (None, not a shared list)


@dataclass(frozen=True, slots=True)
class Deal:
    """A marketplace deal with its settlement status. A party sees its ``side``, its ``fee`` and
    its ``account_id`` (the buyer also the ``serials`` once settled); the operator sees both
    parties and both fees instead."""

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
    at: str
    status: str
    side: str | None = omitted()
    fee: int | None = omitted()
    account_id: str | None = omitted()
    serials: list[str] | None = omitted()  # noqa: RUF009 (None, not a shared list)
    buyer_id: str | None = omitted()
    seller_id: str | None = omitted()
    buyer_fee: int | None = omitted()
    seller_fee: int | None = omitted()


@dataclass(frozen=True, slots=True)
class _Deal:
    seller_id: str
    seller_account: str
    issuance_id: str
    project_id: str
    price: int
    quantity: int
    settlement_days: int
    from_reservation: str
    listing_id: str | None = None
    offer_id: str | None = None


def _open_deal(
    tx: Tx, actor: Actor, buyer_account: str, d: _Deal, calendar: TradingCalendar
) -> tuple[Purchase, list[list[Any]], list[list[Any]]]:
    """Reserve the buyer's cash and the seller's credits under a new deal id and open the
    settlement obligation; returns the deal view and the journal effects."""
    conn = tx.conn
    deal_id = f"MD-{tx.next_seq()}"
    amount = mp.purchase_amount(d.price, d.quantity)
    buyer_fee = fees_for(conn, "*", "buy").fee(d.price, d.quantity)
    seller_fee = min(fees_for(conn, "*", "sell").fee(d.price, d.quantity), amount)
    day = trade_date(tx.at)
    due = day if d.settlement_days == 0 else calendar.add_business_days(day, d.settlement_days)
    deal = escrow.Deal(
        deal_id=deal_id,
        venue=VENUE,
        buyer_id=actor.participant_id,
        seller_id=d.seller_id,
        buyer_account=buyer_account,
        seller_account=d.seller_account,
        currency=CURRENCY,
        amount=amount,
        quantity=d.quantity,
        due_date=due,
        credit_hold=deal_id,
        cash_hold=deal_id,
        buyer_fee=buyer_fee,
        seller_fee=seller_fee,
    )
    try:
        done = escrow.open_deal(tx, deal, credits_from=d.from_reservation)
    except Conflict as err:
        if err.code != "insufficient_cash":
            raise
        raise Conflict(
            "insufficient_cash",
            f"Not enough free cash: this purchase needs {deal.buyer_pays} {CURRENCY}.",
        ) from err
    repo.insert_row(
        conn,
        D,
        id=deal_id,
        seq=tx.next_seq(),
        listing_id=d.listing_id,
        offer_id=d.offer_id,
        buyer_id=actor.participant_id,
        seller_id=d.seller_id,
        buyer_account=buyer_account,
        seller_account=d.seller_account,
        project_id=d.project_id,
        issuance_id=d.issuance_id,
        currency=CURRENCY,
        price=d.price,
        quantity=d.quantity,
        amount=amount,
        buyer_fee=buyer_fee,
        seller_fee=seller_fee,
        trade_date=day.isoformat(),
        due_date=due.isoformat(),
        at=tx.at,
    )
    view = Purchase(
        id=deal_id,
        listing_id=d.listing_id,
        offer_id=d.offer_id,
        project_id=d.project_id,
        issuance_id=d.issuance_id,
        price=d.price,
        quantity=d.quantity,
        amount=amount,
        fee=buyer_fee,
        currency=CURRENCY,
        account_id=buyer_account,
        trade_date=day.isoformat(),
        due_date=due.isoformat(),
        status="pending",
    )
    return view, done.moves, done.cash_reserve


def _finish_deal(
    tx: Tx, actor: Actor, kind: str, view: Purchase, moves: Any, cash_reserve: Any, t0: bool
) -> Purchase:
    entry = {k: v for k, v in plain(view).items() if k != "status"}
    tx.record(kind, actor.label, entry | {"moves": moves, "cash_reserve": cash_reserve})
    if t0:
        done = settlement.settle_now(tx, actor, view.id)
        view = replace(view, status="settled", serials=[r.serials for r in done.ranges])
    return view


def buy(
    db: Database,
    actor: Actor,
    listing_id: str,
    quantity: int,
    account_id: str,
    idem: Idem | None = None,
    calendar: TradingCalendar | None = None,
) -> Purchase:
    """Buy from a listing at its price: delivery versus payment on the listing's cycle."""
    cal = calendar or japan_calendar()

    def work(tx: Tx) -> Purchase:
        conn = tx.conn
        require_active(conn, actor)
        _holding(conn, actor, account_id)
        row = _listing_row(conn, listing_id)
        if row is None:
            raise NotFound("listing_not_found", f"There is no listing {listing_id}.")
        status = mp.listing_status(row.status, row.expires_at, tx.at)
        if status != "open":
            raise Conflict("listing_not_open", f"Listing {listing_id} is {status}.")
        if row.seller_id == actor.participant_id:
            raise Forbidden("own_listing", "You cannot buy from your own listing.")
        _seller_active(conn, row.seller_id)
        mp.check_purchase(row.available, row.min_quantity, row.lot, quantity)
        view, moves, reserve = _open_deal(
            tx,
            actor,
            account_id,
            _Deal(
                row.seller_id,
                row.account_id,
                row.issuance_id,
                row.project_id,
                row.price,
                quantity,
                row.settlement_days,
                listing_id,
                listing_id=listing_id,
            ),
            cal,
        )
        left = row.available - quantity
        res = conn.execute(
            update(L)
            .where(L.c.id == listing_id, L.c.status == "open", L.c.available == row.available)
            .values(available=left, status="open" if left else "sold_out", updated_at=tx.at)
        )
        if res.rowcount != 1:
            raise Conflict("listing_changed", f"Listing {listing_id} changed; try again.")
        return _finish_deal(
            tx, actor, "marketplace.purchased", view, moves, reserve, row.settlement_days == 0
        )

    return execute(db, actor, idem, work, 201, loader(Purchase), sequenced=True)


def _deal_view(conn: Connection, r: Any, pid: str | None) -> Deal:
    ob = repo.get_by_key(conn, t.settlement_obligations, "deal_id", r.id)
    view = from_row(Deal, r, status=ob.status if ob else "unknown")
    if pid is None:
        return replace(
            view,
            buyer_id=r.buyer_id,
            seller_id=r.seller_id,
            buyer_fee=r.buyer_fee,
            seller_fee=r.seller_fee,
        )
    buy_side = r.buyer_id == pid
    serials = None
    if ob is not None and ob.status == "settled" and buy_side:
        serials = [
            f"{m.issuance_id}-{m.serial_start}-{m.serial_end}"
            for m in repo.movements_for(conn, "settlement", r.id)
        ]
    return replace(
        view,
        side="buy" if buy_side else "sell",
        fee=r.buyer_fee if buy_side else r.seller_fee,
        account_id=r.buyer_account if buy_side else r.seller_account,
        serials=serials,
    )


def deals(db: Database, actor: Actor, limit: int = 500) -> list[Deal]:
    """The actor's marketplace deals, as buyer or seller (the operator: everyone's)."""
    pid = None if actor.is_operator() else actor.participant_id
    q = select(D).order_by(D.c.seq.desc()).limit(limit)
    if pid is not None:
        q = q.where((D.c.buyer_id == pid) | (D.c.seller_id == pid))
    with db.read() as conn:
        return [_deal_view(conn, r, pid) for r in conn.execute(q).all()]


def get_deal(db: Database, actor: Actor, deal_id: str) -> Deal:
    pid = None if actor.is_operator() else actor.participant_id
    with db.read() as conn:
        r = conn.execute(select(D).where(D.c.id == deal_id)).first()
        if r is None or (pid is not None and pid not in (r.buyer_id, r.seller_id)):
            raise NotFound("deal_not_found", f"There is no deal {deal_id}.")
        return _deal_view(conn, r, pid)


# ---------------------------------------------------------------- requests for quote


def create_rfq(
    db: Database,
    actor: Actor,
    quantity: int,
    listing_id: str | None = None,
    project_id: str | None = None,
    note: str = "",
    idem: Idem | None = None,
) -> Rfq:
    """Ask for a firm price: for a listing (its seller answers) or for a project (any holder
    of its credits may answer). The buyer's identity is not shown to sellers (our rule)."""
    mp.check_rfq_quantity(quantity)
    _note(note)
    if bool(listing_id) == bool(project_id):
        raise InvalidInput("listing_or_project", "Name either a listing_id or a project_id.")

    def work(tx: Tx) -> Rfq:
        conn = tx.conn
        require_active(conn, actor)
        seller: str | None = None
        pid = project_id
        if listing_id:
            row = _listing_row(conn, listing_id)
            if row is None or mp.listing_status(row.status, row.expires_at, tx.at) != "open":
                raise NotFound("listing_not_found", f"There is no listing {listing_id}.")
            if row.seller_id == actor.participant_id:
                raise Forbidden("own_listing", "You cannot ask your own listing for a quote.")
            seller, pid = row.seller_id, row.project_id
        elif repo.get_project(conn, str(pid)) is None:
            raise NotFound("project_not_found", f"There is no project {pid}.")
        rfq_id = f"RQ-{tx.next_seq()}"
        repo.insert_row(
            conn,
            R,
            id=rfq_id,
            seq=tx.next_seq(),
            buyer_id=actor.participant_id,
            listing_id=listing_id,
            seller_id=seller,
            project_id=pid,
            quantity=quantity,
            note=note,
            status="open",
            created_at=tx.at,
            updated_at=tx.at,
        )
        tx.record(
            "marketplace.rfq",
            actor.label,
            {"id": rfq_id, "listing_id": listing_id, "project_id": pid, "quantity": quantity},
        )
        return _rfq_view(conn, _rfq_row(conn, rfq_id), actor.participant_id, tx.at)

    return execute(db, actor, idem, work, 201, loader(Rfq), sequenced=True)


def _rfq_row(conn: Connection, rfq_id: str) -> Any:
    return conn.execute(select(R).where(R.c.id == rfq_id)).first()


def _may_answer(conn: Connection, pid: str, rfq: Any) -> bool:
    if rfq.buyer_id == pid:
        return False
    if rfq.seller_id is not None:
        return bool(rfq.seller_id == pid)
    return _holds_project(conn, pid, rfq.project_id)


def _visible_rfq(conn: Connection, actor: Actor, rfq_id: str) -> Any:
    """The RFQ if the actor is its buyer or may answer it; otherwise not found."""
    rfq = _rfq_row(conn, rfq_id)
    if rfq is None or not (
        rfq.buyer_id == actor.participant_id
        or actor.is_operator()
        or _may_answer(conn, actor.participant_id, rfq)
    ):
        raise NotFound("rfq_not_found", f"There is no request for quote {rfq_id}.")
    return rfq


@dataclass(frozen=True, slots=True)
class Offer:
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


@dataclass(frozen=True, slots=True)
class Rfq:
    """A request for quote with its offers (a seller sees only its own offers)."""

    id: str
    listing_id: str | None
    project_id: str
    quantity: int
    note: str
    status: str
    created_at: str
    side: str
    """``buy`` for the RFQ's buyer, ``sell`` for a seller who may answer it."""
    project_name: str
    offers: list[Offer]


def _offer_view(r: Any, now: str) -> Offer:
    return from_row(
        Offer,
        r,
        amount=r.price * r.quantity,
        status=mp.offer_status(r.status, r.expires_at, now),
    )


def _rfq_view(conn: Connection, r: Any, pid: str, now: str) -> Rfq:
    buyer = r.buyer_id == pid
    project_row = repo.get_project(conn, r.project_id)
    q = select(OF).where(OF.c.rfq_id == r.id).order_by(OF.c.seq)
    if not buyer:
        q = q.where(OF.c.seller_id == pid)
    return Rfq(
        id=r.id,
        listing_id=r.listing_id,
        project_id=r.project_id,
        quantity=r.quantity,
        note=r.note,
        status=r.status,
        created_at=r.created_at,
        side="buy" if buyer else "sell",
        project_name=project_row.name if project_row else r.project_id,
        offers=[_offer_view(o, now) for o in conn.execute(q).all()],
    )


def rfqs(db: Database, actor: Actor, box: str = "out", limit: int = 200) -> list[Rfq]:
    """Requests for quote: ``out`` those the actor sent, ``in`` those it may answer."""
    now = _now(db)
    pid = actor.participant_id
    with db.read() as conn:
        if box == "out":
            rows = conn.execute(
                select(R).where(R.c.buyer_id == pid).order_by(R.c.seq.desc()).limit(limit)
            ).all()
        elif box == "in":
            rows = [
                r
                for r in conn.execute(
                    select(R)
                    .where(R.c.buyer_id != pid)
                    .where((R.c.seller_id == pid) | R.c.seller_id.is_(None))
                    .order_by(R.c.seq.desc())
                    .limit(limit * 5)
                ).all()
                if _may_answer(conn, pid, r)
            ][:limit]
        else:
            raise InvalidInput("invalid_box", "box is 'in' or 'out'.")
        return [_rfq_view(conn, r, pid, now) for r in rows]


def get_rfq(db: Database, actor: Actor, rfq_id: str) -> Rfq:
    now = _now(db)
    with db.read() as conn:
        rfq = _visible_rfq(conn, actor, rfq_id)
        return _rfq_view(conn, rfq, actor.participant_id, now)


def cancel_rfq(db: Database, actor: Actor, rfq_id: str, idem: Idem | None = None) -> Rfq:
    """The buyer withdraws its request; open offers on it lapse and release their credits."""

    def work(tx: Tx) -> Rfq:
        conn = tx.conn
        rfq = _rfq_row(conn, rfq_id)
        if rfq is None or rfq.buyer_id != actor.participant_id:
            raise NotFound("rfq_not_found", f"There is no request for quote {rfq_id} of yours.")
        status = mp.rfq_transition(rfq.status, "cancel")
        moves = _lapse_offers(tx, rfq_id, None, "declined")
        conn.execute(update(R).where(R.c.id == rfq_id).values(status=status, updated_at=tx.at))
        tx.record("marketplace.rfq_cancelled", actor.label, {"id": rfq_id, "moves": moves})
        return _rfq_view(conn, _rfq_row(conn, rfq_id), actor.participant_id, tx.at)

    return execute(db, actor, idem, work, load=loader(Rfq), sequenced=True)


def _lapse_offers(tx: Tx, rfq_id: str, keep: str | None, status: str) -> list[list[Any]]:
    """Close every open offer of an RFQ except ``keep``, releasing its credits."""
    conn = tx.conn
    moves: list[list[Any]] = []
    for o in conn.execute(select(OF).where(OF.c.rfq_id == rfq_id, OF.c.status == "open")).all():
        if o.id == keep:
            continue
        moves += escrow.release_credits(tx, o.account_id, o.id)[1]
        conn.execute(update(OF).where(OF.c.id == o.id).values(status=status, updated_at=tx.at))
    return moves


@dataclass(frozen=True, slots=True)
class NewOffer:
    rfq_id: str
    account_id: str
    issuance_id: str
    price: int
    quantity: int
    expires_at: str
    settlement_days: int = mp.DEFAULT_SETTLEMENT_DAYS


def make_offer(db: Database, actor: Actor, n: NewOffer, idem: Idem | None = None) -> Offer:
    """Answer an RFQ with a firm offer; its credits are reserved until it is accepted, declined,
    withdrawn or expires."""
    mp.check_offer(n.price, n.quantity, n.settlement_days)

    def work(tx: Tx) -> Offer:
        conn = tx.conn
        require_active(conn, actor)
        rfq = _visible_rfq(conn, actor, n.rfq_id)
        if not _may_answer(conn, actor.participant_id, rfq):
            raise Forbidden("not_a_seller", "Only the seller asked may answer this request.")
        mp.rfq_transition(rfq.status, "offer")
        _holding(conn, actor, n.account_id)
        expires_at = mp.check_expiry(n.expires_at, tx.at)
        issuance = repo.get_issuance(conn, n.issuance_id)
        if issuance is None or issuance.project_id != rfq.project_id:
            raise InvalidInput(
                "wrong_project", f"Offer credits of project {rfq.project_id} for this request."
            )
        offer_id = f"OF-{tx.next_seq()}"
        _p, moves = escrow.reserve_issuance(tx, n.account_id, n.issuance_id, n.quantity, offer_id)
        repo.insert_row(
            conn,
            OF,
            id=offer_id,
            seq=tx.next_seq(),
            rfq_id=rfq.id,
            seller_id=actor.participant_id,
            account_id=n.account_id,
            issuance_id=n.issuance_id,
            currency=CURRENCY,
            price=n.price,
            quantity=n.quantity,
            settlement_days=n.settlement_days,
            expires_at=expires_at,
            status="open",
            created_at=tx.at,
            updated_at=tx.at,
        )
        view = _offer_view(conn.execute(select(OF).where(OF.c.id == offer_id)).one(), tx.at)
        tx.record("marketplace.offered", actor.label, plain(view) | {"moves": moves})
        return view

    return execute(db, actor, idem, work, 201, loader(Offer), sequenced=True)


def _offer_for(conn: Connection, actor: Actor, offer_id: str, side: str) -> tuple[Any, Any]:
    """An offer and its RFQ, if the actor is the RFQ's buyer (side buy) or the offer's seller."""
    o = conn.execute(select(OF).where(OF.c.id == offer_id)).first()
    rfq = _rfq_row(conn, o.rfq_id) if o is not None else None
    who = (rfq.buyer_id if side == "buy" else o.seller_id) if o is not None and rfq else None
    if who != actor.participant_id:
        raise NotFound("offer_not_found", f"There is no offer {offer_id} for you.")
    return o, rfq


def accept_offer(
    db: Database,
    actor: Actor,
    offer_id: str,
    account_id: str,
    idem: Idem | None = None,
    calendar: TradingCalendar | None = None,
) -> Purchase:
    """The buyer accepts a firm offer before it expires: a deal as a purchase from a listing."""
    cal = calendar or japan_calendar()

    def work(tx: Tx) -> Purchase:
        conn = tx.conn
        require_active(conn, actor)
        _holding(conn, actor, account_id)
        o, rfq = _offer_for(conn, actor, offer_id, "buy")
        mp.rfq_transition(rfq.status, "fill")
        new_status = mp.offer_transition(o.status, o.expires_at, tx.at, "accept")
        _seller_active(conn, o.seller_id)
        issuance = repo.get_issuance(conn, o.issuance_id)
        assert issuance is not None
        view, moves, reserve = _open_deal(
            tx,
            actor,
            account_id,
            _Deal(
                o.seller_id,
                o.account_id,
                o.issuance_id,
                issuance.project_id,
                o.price,
                o.quantity,
                o.settlement_days,
                offer_id,
                listing_id=rfq.listing_id,
                offer_id=offer_id,
            ),
            cal,
        )
        res = conn.execute(
            update(OF)
            .where(OF.c.id == offer_id, OF.c.status == "open")
            .values(status=new_status, updated_at=tx.at)
        )
        if res.rowcount != 1:
            raise Conflict("offer_not_open", f"Offer {offer_id} is no longer open.")
        moves += _lapse_offers(tx, rfq.id, offer_id, "not_chosen")
        conn.execute(update(R).where(R.c.id == rfq.id).values(status="filled", updated_at=tx.at))
        return _finish_deal(
            tx, actor, "marketplace.offer_accepted", view, moves, reserve, o.settlement_days == 0
        )

    return execute(db, actor, idem, work, 201, loader(Purchase), sequenced=True)


def _close_offer(db: Database, actor: Actor, offer_id: str, event: str, idem: Idem | None) -> Offer:
    side = "buy" if event == "decline" else "sell"

    def work(tx: Tx) -> Offer:
        conn = tx.conn
        o, _rfq = _offer_for(conn, actor, offer_id, side)
        status = mp.offer_transition(o.status, o.expires_at, tx.at, event)
        _p, moves = escrow.release_credits(tx, o.account_id, offer_id)
        conn.execute(update(OF).where(OF.c.id == offer_id).values(status=status, updated_at=tx.at))
        view = _offer_view(conn.execute(select(OF).where(OF.c.id == offer_id)).one(), tx.at)
        tx.record(f"marketplace.offer_{status}", actor.label, plain(view) | {"moves": moves})
        return view

    return execute(db, actor, idem, work, load=loader(Offer), sequenced=True)


def decline_offer(db: Database, actor: Actor, offer_id: str, idem: Idem | None = None) -> Offer:
    """The buyer turns an offer down; its credits return to the seller's held balance."""
    return _close_offer(db, actor, offer_id, "decline", idem)


def withdraw_offer(db: Database, actor: Actor, offer_id: str, idem: Idem | None = None) -> Offer:
    """The seller withdraws an open offer before it is accepted."""
    return _close_offer(db, actor, offer_id, "withdraw", idem)


# ---------------------------------------------------------------- suspension


@dataclass(frozen=True, slots=True)
class Withdrawn:
    """What a suspended participant had open in the marketplace and no longer has."""

    listings: list[str]
    offers: list[str]
    rfqs: list[str]


def _withdraw_listing_in(tx: Tx, actor: Actor, row: Any, reason: str) -> None:
    _p, moves = escrow.release_credits(tx, row.account_id, row.id)
    _close_listing(tx.conn, row.id, "withdrawn", tx.at)
    tx.record(
        "marketplace.withdrawn",
        actor.label,
        {"id": row.id, "released": row.available, "moves": moves, "reason": reason},
    )


def _withdraw_offer_in(tx: Tx, actor: Actor, o: Any, reason: str) -> None:
    conn = tx.conn
    _p, moves = escrow.release_credits(tx, o.account_id, o.id)
    conn.execute(update(OF).where(OF.c.id == o.id).values(status="withdrawn", updated_at=tx.at))
    view = _offer_view(conn.execute(select(OF).where(OF.c.id == o.id)).one(), tx.at)
    tx.record(
        "marketplace.offer_withdrawn",
        actor.label,
        plain(view) | {"moves": moves, "reason": reason},
    )


def withdraw_all_of(tx: Tx, actor: Actor, pid: str, reason: str) -> Withdrawn:
    """Close a participant's open listings, firm offers and requests for quote (their offers
    lapse) inside the caller's transaction, credits released, one journal entry each."""
    conn = tx.conn
    listings, offers, rfqs = [], [], []
    for row in conn.execute(
        select(L).where(L.c.seller_id == pid, L.c.status == "open").order_by(L.c.id)
    ).all():
        _withdraw_listing_in(tx, actor, row, reason)
        listings.append(row.id)
    for o in conn.execute(
        select(OF).where(OF.c.seller_id == pid, OF.c.status == "open").order_by(OF.c.id)
    ).all():
        _withdraw_offer_in(tx, actor, o, reason)
        offers.append(o.id)
    for r in conn.execute(
        select(R).where(R.c.buyer_id == pid, R.c.status == "open").order_by(R.c.id)
    ).all():
        moves = _lapse_offers(tx, r.id, None, "declined")
        conn.execute(update(R).where(R.c.id == r.id).values(status="cancelled", updated_at=tx.at))
        tx.record(
            "marketplace.rfq_cancelled",
            actor.label,
            {"id": r.id, "moves": moves, "reason": reason},
        )
        rfqs.append(r.id)
    return Withdrawn(listings, offers, rfqs)


def holds(conn: Connection, hold: str) -> bool:
    """Whether ``hold`` is an open listing or firm offer (whose credits it holds)."""
    if conn.execute(select(L.c.id).where(L.c.id == hold, L.c.status == "open")).first():
        return True
    return (
        conn.execute(select(OF.c.id).where(OF.c.id == hold, OF.c.status == "open")).first()
        is not None
    )


def release_hold(tx: Tx, actor: Actor, hold: str, reason: str) -> str | None:
    """Close the open listing or firm offer whose hold ``hold`` is, inside the caller's
    transaction, its credits released: "listing" or "offer", or None when neither holds them."""
    conn = tx.conn
    row = conn.execute(select(L).where(L.c.id == hold, L.c.status == "open")).first()
    if row is not None:
        _withdraw_listing_in(tx, actor, row, reason)
        return "listing"
    o = conn.execute(select(OF).where(OF.c.id == hold, OF.c.status == "open")).first()
    if o is not None:
        _withdraw_offer_in(tx, actor, o, reason)
        return "offer"
    return None


# ---------------------------------------------------------------- expiry


@dataclass(frozen=True, slots=True)
class Swept:
    """The listings and offers a sweep closed as expired."""

    listings: list[str]
    offers: list[str]


def sweep(db: Database, actor: Actor = SYSTEM) -> Swept:
    """Close every listing and offer past its expiry, releasing their credits. Until it runs an
    expired listing or offer already reads as expired and cannot be bought or accepted."""
    require_operator(actor, "sweep expired listings and offers")

    def work(tx: Tx) -> Swept:
        tx.allow_empty = True
        conn = tx.conn
        moves: list[list[Any]] = []
        listings, offers = [], []
        for row in conn.execute(
            select(L).where(L.c.status == "open", L.c.expires_at.is_not(None))
        ).all():
            if mp.is_expired(row.expires_at, tx.at):
                moves += escrow.release_credits(tx, row.account_id, row.id)[1]
                _close_listing(conn, row.id, "expired", tx.at)
                listings.append(row.id)
        for o in conn.execute(select(OF).where(OF.c.status == "open")).all():
            if mp.is_expired(o.expires_at, tx.at):
                moves += escrow.release_credits(tx, o.account_id, o.id)[1]
                conn.execute(
                    update(OF).where(OF.c.id == o.id).values(status="expired", updated_at=tx.at)
                )
                offers.append(o.id)
        if listings or offers:
            tx.record(
                "marketplace.expired",
                actor.label,
                {"listings": listings, "offers": offers, "moves": moves},
            )
        return Swept(listings, offers)

    return execute(db, actor, None, work, sequenced=True)


def check_reservations(db: Database) -> list[str]:
    """Problems, if any: an open listing or offer whose reserved credits differ from what it
    says is available (used by the tests and worth running after an incident)."""
    problems = []
    with db.read() as conn:
        for row in conn.execute(select(L)).all():
            want = row.available if row.status == "open" else 0
            have = _reserved(conn, row.id)
            if have != want:
                problems.append(f"listing {row.id}: {have} reserved, {want} expected")
        for o in conn.execute(select(OF)).all():
            want = o.quantity if o.status == "open" else 0
            have = _reserved(conn, o.id)
            if have != want:
                problems.append(f"offer {o.id}: {have} reserved, {want} expected")
    return problems
