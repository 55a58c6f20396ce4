"""Sealed-bid auctions (Climate Impact X style): create, bid, amend, withdraw, clear, cancel.

A seller (or the operator, from its own holding account) offers a lot or a portfolio of blocks;
the credits are reserved under the auction's id when it is created. Bids reserve the bidder's
cash for price x quantity. Bids are sealed: before the auction is cleared no function here shows
a bid to anyone but its bidder, and the journal records only a commitment (a SHA-256 of the bid
and a secret nonce) that the clearing entry later opens. Clearing (domain/sealed_bid.py) turns
each award into a settlement obligation (venue "auction") with the seller's credits re-reserved
under the award and the bid's cash cut down to the award's amount; T+0 awards settle at once.

The state of an auction is read from the database clock: scheduled before it opens, open inside
its window, closed after it (until cleared), and cleared or cancelled once that has happened.
This module never shows another participant's bid, and never moves anything outside `execute`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Connection, select, update

from tanso.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from tanso.domain.money import check_currency
from tanso.domain.participants import Role
from tanso.domain.sealed_bid import SealedBid, SealedResult, SealedRules, check_bid, clear
from tanso.services.clearing import escrow, settlement
from tanso.services.common import (
    Actor,
    Idem,
    execute,
    from_row,
    loader,
    new_id,
    omitted,
    own_account,
    plain,
    require_active,
)
from tanso.services.ledger import allowances, registry
from tanso.services.ledger.blocks import CreditRange
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import trade_date
from tanso.store import repo
from tanso.store import schema as t
from tanso.store.db import Database, Tx
from tanso.store.schema_sealed import sealed_auctions, sealed_awards, sealed_bids

STATES = ("scheduled", "open", "closed", "cleared", "cancelled")
MAX_SETTLEMENT_DAYS = 10
MAX_PARTS = 50


@dataclass(frozen=True, slots=True)
class NewSealedAuction:
    """What a seller offers and the auction's settings. ``parts`` are serial blocks (a
    portfolio); without them ``quantity`` credits are taken oldest vintage first."""

    account_id: str
    opens_at: str
    closes_at: str
    reserve: int
    quantity: int | None = None
    parts: Sequence[str] = field(default_factory=tuple)
    title: str = ""
    lot: int = 1
    pricing: str = "uniform_lowest_accepted"
    marginal: str = "time"
    undersubscribed: str = "partial"
    settlement_days: int = 0
    currency: str = "JPY"
    seed: str | None = None


def timestamp(value: str | dt.datetime) -> str:
    """A time as the database clock writes it (UTC, microseconds, ``Z``), so that times compare
    as strings; a time without a zone is refused."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput(
                "invalid_time", f"{value!r} is not a time such as 2026-04-01T10:00:00+09:00."
            ) from None
    if value.tzinfo is None:
        raise InvalidInput("time_zone_required", "Give times with their zone (Z or +09:00).")
    try:
        utc = value.astimezone(dt.UTC)
    except OverflowError:  # 0001-01-01T01:00+01:01 is before the first UTC time there is
        raise InvalidInput(
            "invalid_time", f"{value.isoformat()} is outside the times this exchange keeps."
        ) from None
    return utc.isoformat(timespec="microseconds").replace("+00:00", "Z")


def state_at(row: Any, now: str) -> str:
    """The auction's state at ``now``."""
    if row.status != "active":
        return str(row.status)
    if now < row.opens_at:
        return "scheduled"
    if now < row.closes_at:
        return "open"
    return "closed"


def rules_of(row: Any) -> SealedRules:
    return SealedRules(
        supply=int(row.supply),
        reserve=int(row.reserve),
        pricing=row.pricing,
        marginal=row.marginal,
        undersubscribed=row.undersubscribed,
        lot=int(row.lot),
        seed=row.seed,
    )


def commitment(bid_id: str, price: int, quantity: int, nonce: str) -> str:
    """What the journal records of a bid before the close; the clearing entry opens it."""
    return hashlib.sha256(f"{bid_id}|{price}|{quantity}|{nonce}".encode()).hexdigest()


def _auction(conn: Connection, auction_id: str) -> Any:
    row = repo.get_by_id(conn, sealed_auctions, auction_id)
    if row is None:
        raise NotFound("auction_not_found", f"There is no sealed-bid auction {auction_id}.")
    return row


def _runs(actor: Actor, row: Any) -> bool:
    return actor.is_operator() or actor.participant_id == row.seller_id


def _may_run(actor: Actor, row: Any) -> None:
    """The seller and the operator run an auction (clear, cancel)."""
    if not _runs(actor, row):
        raise Forbidden("seller_or_operator_only", "Only the seller or the operator may do this.")


# ---------------------------------------------------------------- views (never a bid)


@dataclass(frozen=True, slots=True)
class DemandStep:
    """One price of the anonymous demand curve: the quantity bid at it and down to it."""

    price: int
    quantity: int
    cumulative: int


@dataclass(frozen=True, slots=True)
class Result:
    """A cleared auction's published result (no bid, no bidder)."""

    cleared_at: str
    clearing_price: int | None
    sold: int
    unsold: int
    bidders: int
    valid_demand: int
    undersubscribed: bool
    demand_curve: list[DemandStep]


@dataclass(frozen=True, slots=True)
class Auction:
    """An auction's terms, state and (once cleared) result; ``seller`` and ``account_id`` only
    to the seller itself and the operator."""

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
    seller: str | None = omitted()
    account_id: str | None = omitted()


@dataclass(frozen=True, slots=True, kw_only=True)
class OfferedAuction(Auction):
    """A new auction, as its seller sees it, with the serial ranges reserved for it."""

    ranges: list[CreditRange]


@dataclass(frozen=True, slots=True, kw_only=True)
class Clearing(Auction):
    """A cleared auction with how many awards it made, how many settled at once, and when the
    others fall due."""

    awards: int
    settled: int
    due_date: str


@dataclass(frozen=True, slots=True)
class Results:
    """``Result`` under the auction's id and currency (the public results page)."""

    auction_id: str
    currency: str
    cleared_at: str
    clearing_price: int | None
    sold: int
    unsold: int
    bidders: int
    valid_demand: int
    undersubscribed: bool
    demand_curve: list[DemandStep]


@dataclass(frozen=True, slots=True)
class OnOffer:
    """Credits an auction sells: one serial range with its project, category and vintage."""

    serials: str
    quantity: int
    vintage: int
    project_id: str
    project_name: str
    project_name_ja: str
    category: str
    scheme: str


def on_offer(db: Database, auction_id: str) -> list[OnOffer]:
    """What an auction sells, while its credits are held for it (public: the terms a bidder
    needs; after clearing they belong to the buyers and the seller again)."""
    b, i, p = t.blocks.c, t.issuances.c, t.projects.c
    q = (
        select(
            b.issuance_id,
            b.serial_start,
            b.serial_end,
            i.vintage,
            p.id.label("project_id"),
            p.name,
            p.name_ja,
            p.category,
            p.scheme,
        )
        .select_from(
            t.blocks.join(t.issuances, b.issuance_id == i.id).join(t.projects, i.project_id == p.id)
        )
        .where(b.reservation == auction_id)
        .order_by(i.vintage, b.issuance_id, b.serial_start)
    )
    with db.read() as conn:
        return [
            OnOffer(
                serials=f"{r.issuance_id}-{r.serial_start}-{r.serial_end}",
                quantity=r.serial_end - r.serial_start + 1,
                vintage=r.vintage,
                project_id=r.project_id,
                project_name=r.name,
                project_name_ja=r.name_ja,
                category=r.category,
                scheme=r.scheme,
            )
            for r in conn.execute(q)
        ]


def auction_view(row: Any, now: str, show_seller: bool = False) -> Auction:
    """An auction as anyone sees it: terms, state, and after clearing its result. Never a bid
    and, before clearing, not even how many bids there are. The seller is named only to itself
    and the operator (the market is anonymous, as the exchange is)."""
    result = None
    if row.status == "cleared":
        result = from_row(
            Result,
            row,
            undersubscribed=row.valid_demand < row.supply,
            demand_curve=[DemandStep(**s) for s in json.loads(row.demand or "[]")],
        )
    return from_row(
        Auction,
        row,
        state=state_at(row, now),
        result=result,
        seller=row.seller_id if show_seller else None,
        account_id=row.account_id if show_seller else None,
    )


@dataclass(frozen=True, slots=True)
class Bid:
    """A bid as its bidder sees it (nobody else ever gets one)."""

    id: str
    auction_id: str
    account_id: str
    price: int
    quantity: int
    amount: int
    status: str
    created_at: str
    updated_at: str
    below_reserve: bool = False
    """The price is below the auction's reserve: the bid cannot win (clearing rule 1) unless
    it is amended to at least the reserve. It is accepted, as the rules count it in the
    published demand curve; the reserve is public (the auction's terms)."""
    warning: str | None = omitted()
    """Why the bid cannot win as it stands, with its price and the reserve."""


def bid_view(row: Any, reserve: int) -> Bid:
    """A bid as its bidder sees it, warned when its price is below the auction's reserve."""
    below = int(row.price) < reserve
    warning = (
        f"Your price of {row.price:,} per tonne is below the reserve price of {reserve:,}: "
        "this bid cannot win unless you raise it to at least the reserve."
        if below
        else None
    )
    return from_row(Bid, row, amount=row.price * row.quantity, below_reserve=below, warning=warning)


def list_auctions(db: Database, state: str | None = None, limit: int = 200) -> list[Auction]:
    """The auction calendar: every auction's terms and state, results once cleared (public)."""
    if state is not None and state not in STATES:
        raise InvalidInput("invalid_state", f"state is one of {', '.join(STATES)}.")
    a = sealed_auctions.c
    now = db.clock()
    q = select(sealed_auctions)
    # the state as SQL, so that the limit applies to the auctions asked for (see state_at)
    active = a.status == "active"
    where = {
        "scheduled": active & (a.opens_at > now),
        "open": active & (a.opens_at <= now) & (a.closes_at > now),
        "closed": active & (a.closes_at <= now),
        "cleared": a.status == "cleared",
        "cancelled": a.status == "cancelled",
    }
    if state is not None:
        q = q.where(where[state])
    with db.read() as conn:
        rows = conn.execute(q.order_by(a.opens_at.desc(), a.id).limit(max(1, limit))).all()
    return [auction_view(r, now) for r in rows]


def get_auction(db: Database, auction_id: str, actor: Actor | None = None) -> Auction:
    """One auction's terms, state and (once cleared) result (public); its seller and the
    operator also see who sells."""
    now = db.clock()
    with db.read() as conn:
        row = _auction(conn, auction_id)
        return auction_view(row, now, actor is not None and _runs(actor, row))


def own_auctions(db: Database, actor: Actor, limit: int = 200) -> list[Auction]:
    """The auctions the actor offered (the operator: every auction), seller named."""
    a = sealed_auctions.c
    q = select(sealed_auctions)
    if not actor.is_operator():
        q = q.where(a.seller_id == actor.participant_id)
    now = db.clock()
    with db.read() as conn:
        rows = conn.execute(q.order_by(a.opens_at.desc(), a.id).limit(max(1, limit))).all()
    return [auction_view(r, now, True) for r in rows]


def results(db: Database, auction_id: str) -> Results:
    """The published result of a cleared auction (public); before clearing there is none."""
    view = get_auction(db, auction_id)
    if view.result is None:
        raise NotFound(
            "results_not_published",
            f"Auction {auction_id} is {view.state}; results are published after clearing.",
        )
    return from_row(Results, view.result, auction_id=auction_id, currency=view.currency)


def own_bids(
    db: Database, actor: Actor, auction_id: str | None = None, limit: int = 500
) -> list[Bid]:
    """The actor's own bids (nobody else's, whoever asks)."""
    b = sealed_bids.c
    q = (
        select(sealed_bids, sealed_auctions.c.reserve)
        .join(sealed_auctions, sealed_auctions.c.id == b.auction_id)
        .where(b.bidder_id == actor.participant_id)
    )
    if auction_id is not None:
        q = q.where(b.auction_id == auction_id)
    with db.read() as conn:
        rows = conn.execute(q.order_by(b.created_at.desc(), b.id).limit(limit)).all()
        return [bid_view(r, int(r.reserve)) for r in rows]


def get_bid(db: Database, actor: Actor, bid_id: str) -> Bid:
    """One of the actor's own bids; anyone else's answers like a missing one."""
    with db.read() as conn:
        return _own_bid_view(conn, actor, bid_id)


def _own_bid_view(conn: Connection, actor: Actor, bid_id: str) -> Bid:
    row = _own_bid(conn, actor, bid_id)
    return bid_view(row, int(_auction(conn, row.auction_id).reserve))


def _own_bid(conn: Connection, actor: Actor, bid_id: str) -> Any:
    row = repo.get_by_id(conn, sealed_bids, bid_id)
    if row is None or row.bidder_id != actor.participant_id:
        raise NotFound("bid_not_found", f"There is no bid {bid_id} of yours.")
    return row


@dataclass(frozen=True, slots=True)
class Award:
    """What a bid won, with its settlement status; ``bid_id`` and ``bidder`` only to whom may
    know (the bidder itself and the operator; the seller sees no names)."""

    id: str
    auction_id: str
    quantity: int
    price: int
    amount: int
    due_date: str
    settlement: str | None
    bid_id: str | None = omitted()
    bidder: str | None = omitted()


def award_view(conn: Connection, row: Any, show_bidder: bool) -> Award:
    ob = repo.get_by_key(conn, t.settlement_obligations, "deal_id", row.id)
    return Award(
        id=row.id,
        auction_id=row.auction_id,
        quantity=row.quantity,
        price=row.price,
        amount=row.amount,
        due_date=row.due_date,
        settlement=ob.status if ob is not None else None,
        bid_id=row.bid_id if show_bidder else None,
        bidder=row.bidder_id if show_bidder else None,
    )


def own_awards(db: Database, actor: Actor, limit: int = 500) -> list[Award]:
    """What the actor's bids won, with their settlement status."""
    w = sealed_awards.c
    with db.read() as conn:
        rows = conn.execute(
            select(sealed_awards)
            .where(w.bidder_id == actor.participant_id)
            .order_by(w.id.desc())
            .limit(limit)
        ).all()
        return [award_view(conn, r, True) for r in rows]


def auction_awards(db: Database, actor: Actor, auction_id: str) -> list[Award]:
    """A cleared auction's awards: the operator sees who won; the seller sees quantities and
    prices without names; a bidder sees its own. Before clearing there are none."""
    w = sealed_awards.c
    with db.read() as conn:
        row = _auction(conn, auction_id)
        rows = conn.execute(
            select(sealed_awards).where(w.auction_id == auction_id).order_by(w.id)
        ).all()
        if actor.is_operator():
            return [award_view(conn, r, True) for r in rows]
        if actor.participant_id == row.seller_id:
            return [award_view(conn, r, False) for r in rows]
        return [award_view(conn, r, True) for r in rows if r.bidder_id == actor.participant_id]


# ---------------------------------------------------------------- creating and cancelling


def create(
    db: Database, actor: Actor, spec: NewSealedAuction, idem: Idem | None = None
) -> OfferedAuction:
    """Offer credits from the actor's holding account in a sealed-bid auction; the credits are
    reserved for the auction until it is cleared or cancelled."""
    if not (actor.has(Role.TRADER) or actor.is_operator()):
        raise Forbidden("role_required", "Only a trader or the operator may offer an auction.")
    check_currency(spec.currency)
    opens_at, closes_at = timestamp(spec.opens_at), timestamp(spec.closes_at)
    if closes_at <= opens_at:
        raise InvalidInput("invalid_window", "closes_at must be after opens_at.")
    if not 0 <= spec.settlement_days <= MAX_SETTLEMENT_DAYS:
        raise InvalidInput(
            "invalid_settlement_days", f"settlement_days is 0 to {MAX_SETTLEMENT_DAYS}."
        )
    if len(spec.title) > 200:
        raise InvalidInput("text_too_long", "title may be at most 200 characters.")
    if not spec.parts and spec.quantity is None:
        raise InvalidInput("nothing_offered", "Offer a quantity or serial blocks (parts).")
    if spec.parts and spec.quantity is not None:
        raise InvalidInput("ambiguous_offer", "Offer either a quantity or serial blocks.")
    if len(spec.parts) > MAX_PARTS:
        raise InvalidInput("too_many_parts", f"A portfolio has at most {MAX_PARTS} blocks.")
    seed = spec.seed if spec.seed is not None else secrets.token_hex(16)
    if not 1 <= len(seed) <= 64 or not seed.isprintable():
        raise InvalidInput("invalid_seed", "seed is 1 to 64 printable characters.")
    # the settings are checked before anything is reserved (supply is checked again below)
    SealedRules(
        spec.quantity if spec.quantity is not None else spec.lot,
        spec.reserve,
        spec.pricing,
        spec.marginal,
        spec.undersubscribed,
        spec.lot,
        seed,
    )

    def work(tx: Tx) -> OfferedAuction:
        conn = tx.conn
        require_active(conn, actor)
        acct = own_account(conn, actor, spec.account_id, write=True)
        if acct.kind != "holding":
            raise Forbidden("not_a_holding_account", f"{spec.account_id} is a system account.")
        if closes_at <= tx.at:
            raise InvalidInput("window_in_the_past", "closes_at must be in the future.")
        auction_id = new_id("SA")
        selections = (
            [registry.Selection(serials=p) for p in spec.parts]
            if spec.parts
            else [registry.Selection(quantity=spec.quantity)]
        )
        pieces: list[Any] = []
        moves: list[list[Any]] = []
        for sel in selections:
            ps, ms = escrow.reserve_credits(tx, spec.account_id, sel, auction_id)
            pieces += ps
            moves += ms
        supply = sum(p.quantity for p in pieces)
        rules = SealedRules(
            supply,
            spec.reserve,
            spec.pricing,
            spec.marginal,
            spec.undersubscribed,
            spec.lot,
            seed,
        )
        repo.insert_row(
            conn,
            sealed_auctions,
            id=auction_id,
            seller_id=acct.participant_id,
            account_id=spec.account_id,
            title=spec.title.strip() or f"Sealed-bid auction of {supply} t",
            currency=spec.currency,
            supply=supply,
            lot=rules.lot,
            reserve=rules.reserve,
            pricing=rules.pricing,
            marginal=rules.marginal,
            undersubscribed=rules.undersubscribed,
            seed=seed,
            opens_at=opens_at,
            closes_at=closes_at,
            settlement_days=spec.settlement_days,
            status="active",
            created_by=actor.label,
            created_at=tx.at,
        )
        row = _auction(conn, auction_id)
        view = plain(auction_view(row, tx.at, True)) | {"ranges": registry.ranges_view(pieces)}
        tx.record("sealed_auction.created", actor.label, view | {"moves": moves})
        return loader(OfferedAuction)(view)

    return execute(db, actor, idem, work, 201, load=loader(OfferedAuction), sequenced=True)


def cancel(db: Database, actor: Actor, auction_id: str, idem: Idem | None = None) -> Auction:
    """Call off an auction before it is cleared: credits and every bid's cash are released;
    the bids stay sealed."""

    def work(tx: Tx) -> Auction:
        row = _auction(tx.conn, auction_id)
        _may_run(actor, row)
        return _cancel_in(tx, actor, row)

    return execute(db, actor, idem, work, load=loader(Auction), sequenced=True)


def _cancel_in(tx: Tx, actor: Actor, row: Any, reason: str | None = None) -> Auction:
    conn = tx.conn
    auction_id = row.id
    state = state_at(row, tx.at)
    if state in ("cleared", "cancelled"):
        raise Conflict("auction_finished", f"Auction {auction_id} is already {state}.")
    _p, moves = escrow.rehold_credits(tx, row.account_id, auction_id, row.supply, None)
    reserve: list[list[Any]] = []
    for b in _open_bids(conn, auction_id):
        reserve += escrow.release_cash(tx, b.id)
        _set_bid(conn, b.id, status="cancelled", updated_at=tx.at)
    _set_auction(conn, auction_id, status="cancelled")
    view = auction_view(_auction(conn, auction_id), tx.at, True)
    extra = {"reason": reason} if reason else {}
    tx.record(
        "sealed_auction.cancelled",
        actor.label,
        plain(view) | {"moves": moves, "cash_reserve": reserve} | extra,
    )
    return view


@dataclass(frozen=True, slots=True)
class Withdrawn:
    """What a suspended participant had open in sealed-bid auctions and no longer has."""

    bids: list[str]
    auctions: list[str]


def withdraw_all_of(tx: Tx, actor: Actor, pid: str, reason: str) -> Withdrawn:
    """Cancel a participant's open bids (cash released; the entries stay sealed) and the
    auctions it offers that are not cleared yet, inside the caller's transaction."""
    conn = tx.conn
    b = sealed_bids.c
    bids = []
    for bid in conn.execute(
        select(sealed_bids).where(b.bidder_id == pid, b.status == "open").order_by(b.id)
    ).all():
        reserve = escrow.release_cash(tx, bid.id)
        _set_bid(conn, bid.id, status="cancelled", updated_at=tx.at)
        tx.record(
            "sealed_auction.bid_cancelled",
            actor.label,
            {"auction_id": bid.auction_id, "bid_id": bid.id, "cash_reserve": reserve}
            | {"reason": reason},
        )
        bids.append(bid.id)
    a = sealed_auctions.c
    auctions = []
    for row in conn.execute(
        select(sealed_auctions).where(a.seller_id == pid, a.status == "active").order_by(a.id)
    ).all():
        _cancel_in(tx, actor, row, reason)
        auctions.append(row.id)
    return Withdrawn(bids, auctions)


# ---------------------------------------------------------------- bidding


def _open_auction(conn: Connection, auction_id: str, now: str) -> Any:
    row = _auction(conn, auction_id)
    state = state_at(row, now)
    if state != "open":
        raise Conflict(
            "auction_not_open", f"Auction {auction_id} is {state}; bids are taken while open."
        )
    return row


def place_bid(
    db: Database,
    actor: Actor,
    auction_id: str,
    account_id: str,
    price: int,
    quantity: int,
    idem: Idem | None = None,
) -> Bid:
    """Send a sealed bid while the auction is open; it reserves price x quantity of cash.
    ``account_id`` is the holding account that receives the credits won."""

    def work(tx: Tx) -> Bid:
        conn = tx.conn
        require_active(conn, actor)
        if not actor.has(Role.TRADER):
            raise Forbidden("role_required", "Only a participant with the trader role may bid.")
        row = _open_auction(conn, auction_id, tx.at)
        if row.seller_id == actor.participant_id:
            raise Forbidden("own_auction", "A seller cannot bid in its own auction.")
        allowances.check_bidder(conn, actor.participant_id, auction_id)
        check_bid(rules_of(row), price, quantity)
        acct = own_account(conn, actor, account_id, write=True)
        if acct.kind != "holding":
            raise Forbidden("not_a_holding_account", f"{account_id} is a system account.")
        bid_id = new_id("SB")
        nonce = secrets.token_hex(16)
        reserve = escrow.reserve_cash(
            tx, actor.participant_id, row.currency, price * quantity, bid_id
        )
        repo.insert_row(
            conn,
            sealed_bids,
            id=bid_id,
            auction_id=auction_id,
            bidder_id=actor.participant_id,
            account_id=account_id,
            price=price,
            quantity=quantity,
            seq=tx.next_seq(),
            nonce=nonce,
            status="open",
            created_at=tx.at,
            updated_at=tx.at,
        )
        tx.record(
            "sealed_auction.bid_placed",
            actor.label,
            {
                "auction_id": auction_id,
                "bid_id": bid_id,
                "commitment": commitment(bid_id, price, quantity, nonce),
                "cash_reserve": reserve,
            },
        )
        return _own_bid_view(conn, actor, bid_id)

    return execute(db, actor, idem, work, 201, load=loader(Bid), sequenced=True)


def amend_bid(
    db: Database,
    actor: Actor,
    bid_id: str,
    price: int | None = None,
    quantity: int | None = None,
    idem: Idem | None = None,
) -> Bid:
    """Change one's own bid while the auction is open; the cash reserved follows, and the bid
    takes a new time (it goes behind bids already at its price)."""
    if price is None and quantity is None:
        raise InvalidInput("nothing_to_amend", "Give a new price or a new quantity.")

    def work(tx: Tx) -> Bid:
        conn = tx.conn
        require_active(conn, actor)
        bid = _own_bid(conn, actor, bid_id)
        if bid.status != "open":
            raise Conflict("bid_not_open", f"Bid {bid_id} is {bid.status}.")
        row = _open_auction(conn, bid.auction_id, tx.at)
        new_price = bid.price if price is None else price
        new_quantity = bid.quantity if quantity is None else quantity
        check_bid(rules_of(row), new_price, new_quantity)
        reserve = escrow.resize_cash(
            tx, actor.participant_id, row.currency, bid_id, new_price * new_quantity
        )
        nonce = secrets.token_hex(16)
        _set_bid(
            conn,
            bid_id,
            price=new_price,
            quantity=new_quantity,
            seq=tx.next_seq(),
            nonce=nonce,
            updated_at=tx.at,
        )
        tx.record(
            "sealed_auction.bid_amended",
            actor.label,
            {
                "auction_id": bid.auction_id,
                "bid_id": bid_id,
                "commitment": commitment(bid_id, new_price, new_quantity, nonce),
                "cash_reserve": reserve,
            },
        )
        return _own_bid_view(conn, actor, bid_id)

    return execute(db, actor, idem, work, load=loader(Bid), sequenced=True)


def withdraw_bid(db: Database, actor: Actor, bid_id: str, idem: Idem | None = None) -> Bid:
    """Withdraw one's own bid while the auction is open; its cash is released."""

    def work(tx: Tx) -> Bid:
        conn = tx.conn
        require_active(conn, actor)
        bid = _own_bid(conn, actor, bid_id)
        if bid.status != "open":
            raise Conflict("bid_not_open", f"Bid {bid_id} is {bid.status}.")
        _open_auction(conn, bid.auction_id, tx.at)
        reserve = escrow.release_cash(tx, bid_id)
        _set_bid(conn, bid_id, status="withdrawn", updated_at=tx.at)
        tx.record(
            "sealed_auction.bid_withdrawn",
            actor.label,
            {"auction_id": bid.auction_id, "bid_id": bid_id, "cash_reserve": reserve},
        )
        return _own_bid_view(conn, actor, bid_id)

    return execute(db, actor, idem, work, load=loader(Bid), sequenced=True)


# ---------------------------------------------------------------- clearing


def clear_auction(
    db: Database, actor: Actor, auction_id: str, idem: Idem | None = None
) -> Clearing:
    """Clear a closed auction (seller or operator): awards become settlement obligations, losing
    bids and unsold credits are released, the result is published; T+0 awards settle at once."""

    def work(tx: Tx) -> Clearing:
        return clear_in(tx, actor, auction_id)

    return execute(db, actor, idem, work, load=loader(Clearing), sequenced=True)


def clear_in(tx: Tx, actor: Actor, auction_id: str) -> Clearing:
    """``clear_auction`` inside a transaction that the caller holds (the scheduler's)."""
    conn = tx.conn
    row = _auction(conn, auction_id)
    _may_run(actor, row)
    state = state_at(row, tx.at)
    if state != "closed":
        raise Conflict(
            "auction_not_closed",
            f"Auction {auction_id} is {state}; it is cleared after its close.",
        )
    bids = _open_bids(conn, auction_id)
    result = clear(
        rules_of(row),
        [SealedBid(b.id, b.bidder_id, int(b.price), int(b.quantity), int(b.seq)) for b in bids],
    )
    by_id = {b.id: b for b in bids}
    due = japan_calendar().add_business_days(trade_date(tx.at), row.settlement_days)
    moves: list[list[Any]] = []
    reserve: list[list[Any]] = []
    awards: list[dict[str, Any]] = []
    for n, a in enumerate(result.awards, start=1):
        bid = by_id[a.bid]
        award_id = f"{auction_id}-W{n}"
        # the bid's cash stays held under the bid for the award; what it did not cost returns
        done = escrow.open_deal(
            tx,
            escrow.Deal(
                deal_id=award_id,
                venue="auction",
                buyer_id=bid.bidder_id,
                seller_id=row.seller_id,
                buyer_account=bid.account_id,
                seller_account=row.account_id,
                currency=row.currency,
                amount=a.amount,
                quantity=a.quantity,
                due_date=due,
                credit_hold=award_id,
                cash_hold=bid.id,
            ),
            credits_from=auction_id,
            cash_from=bid.id,
            cash_left=a.amount,
        )
        moves += done.moves
        reserve += done.cash_reserve
        repo.insert_row(
            conn,
            sealed_awards,
            id=award_id,
            auction_id=auction_id,
            bid_id=bid.id,
            bidder_id=bid.bidder_id,
            quantity=a.quantity,
            price=a.price,
            amount=a.amount,
            due_date=due.isoformat(),
        )
        _set_bid(conn, bid.id, status="won", updated_at=tx.at)
        awards.append(
            {"id": award_id, "bid_id": bid.id, "bidder": bid.bidder_id, "quantity": a.quantity}
            | {"price": a.price, "amount": a.amount}
        )
    won = {a.bid for a in result.awards}
    for b in bids:
        if b.id not in won:
            reserve += escrow.release_cash(tx, b.id)
            _set_bid(conn, b.id, status="lost", updated_at=tx.at)
    if result.unsold:
        _p, ms = escrow.rehold_credits(tx, row.account_id, auction_id, result.unsold, None)
        moves += ms
    _store_result(conn, auction_id, result, tx.at)
    view = plain(auction_view(_auction(conn, auction_id), tx.at, True))
    opened = [
        {
            "bid_id": b.id,
            "bidder": b.bidder_id,
            "price": b.price,
            "quantity": b.quantity,
            "nonce": b.nonce,
        }
        for b in bids
    ]
    tx.record(
        "sealed_auction.cleared",
        actor.label,
        view
        | {
            "awards": awards,
            "bids": opened,
            "due_date": due.isoformat(),
            "moves": moves,
            "cash_reserve": reserve,
        },
    )
    settled = 0
    if row.settlement_days == 0:
        for award in awards:
            try:
                settlement.settle_now(tx, actor, award["id"])
                settled += 1
            except settlement.SettlementFailure:
                pass  # stays pending: the daily settlement run tries again and reports it
    return loader(Clearing)(
        view | {"awards": len(awards), "settled": settled, "due_date": due.isoformat()}
    )


def _store_result(conn: Connection, auction_id: str, r: SealedResult, at: str) -> None:
    curve = [
        {"price": s.price, "quantity": s.quantity, "cumulative": s.cumulative} for s in r.demand
    ]
    _set_auction(
        conn,
        auction_id,
        status="cleared",
        cleared_at=at,
        clearing_price=r.clearing_price,
        sold=r.sold,
        unsold=r.unsold,
        bidders=r.bidders,
        valid_demand=r.valid_demand,
        demand=json.dumps(curve, separators=(",", ":")),
    )


def due_for_clearing(db: Database) -> list[str]:
    """Auctions past their close and not yet cleared (for the scheduler)."""
    a = sealed_auctions.c
    now = db.clock()
    with db.read() as conn:
        rows = conn.execute(
            select(a.id).where(a.status == "active", a.closes_at <= now).order_by(a.closes_at)
        ).all()
    return [r.id for r in rows]


def clear_due(db: Database, actor: Actor) -> list[Clearing]:
    """Clear every auction past its close (for a scheduler): each in its own transaction, so
    one that cannot be cleared leaves the others cleared."""
    out: list[Clearing] = []
    for auction_id in due_for_clearing(db):
        try:
            out.append(clear_auction(db, actor, auction_id))
        except Conflict:
            continue  # cleared or cancelled in the meantime
    return out


def _open_bids(conn: Connection, auction_id: str) -> list[Any]:
    b = sealed_bids.c
    q = select(sealed_bids).where(b.auction_id == auction_id, b.status == "open")
    return list(conn.execute(q.order_by(b.seq, b.id)).all())


def _set_bid(conn: Connection, bid_id: str, **values: Any) -> None:
    conn.execute(update(sealed_bids).where(sealed_bids.c.id == bid_id).values(**values))


def _set_auction(conn: Connection, auction_id: str, **values: Any) -> None:
    conn.execute(update(sealed_auctions).where(sealed_auctions.c.id == auction_id).values(**values))


# ---------------------------------------------------------------- the journal, read by people

SEALED_KINDS = frozenset(
    {
        "sealed_auction.bid_placed",
        "sealed_auction.bid_amended",
        "sealed_auction.bid_withdrawn",
        "sealed_auction.bid_cancelled",
    }
)
OPENED = frozenset({"won", "lost"})
"""Bids the clearing entry opened: only their entries are read in full."""
SEALED_ACTOR = "(sealed)"
SEALED_KIND = "sealed"


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """A journal entry as an operator reads it (``payload`` as stored, canonical JSON). A bid's
    entry is ``sealed`` until the clearing opens the bid, and for ever if it never does (the
    auction cancelled, the bid withdrawn or cancelled): only ``seq``, ``prev_hash`` and ``hash``
    are shown. A cancelled auction's entry is shown without the bids' cash releases."""

    seq: int
    at: str
    kind: str
    actor: str
    payload: str
    prev_hash: str
    hash: str
    sealed: bool | None = omitted()


def seal_journal_rows(conn: Connection, rows: Sequence[Any]) -> list[JournalEntry]:
    """Journal rows as an operator may read them (docs/sealed-auctions.md, "Sealed means
    sealed"): a bid's entry shows nothing but its place in the chain (no time, kind, auction,
    bidder or amount: counting or timing bids per auction is not possible) unless the clearing
    opened the bid; a cancelled auction's entry drops its ``cash_reserve`` (every bidder's
    release). The stored entry, its hash and the chain are untouched, so audit, replay and
    recovery read them in full."""
    bid_ids = {
        str(json.loads(r.payload).get("bid_id", "")): r for r in rows if r.kind in SEALED_KINDS
    }
    opened: set[str] = set()
    if bid_ids:
        b = sealed_bids.c
        opened = {
            str(x.id)
            for x in conn.execute(
                select(b.id).where(b.id.in_(list(bid_ids)), b.status.in_(list(OPENED)))
            )
        }
    out = []
    for r in rows:
        entry = JournalEntry(
            seq=r.seq,
            at=r.at,
            kind=r.kind,
            actor=r.actor,
            payload=r.payload,
            prev_hash=r.prev_hash,
            hash=r.hash,
        )
        if r.kind in SEALED_KINDS and str(json.loads(r.payload).get("bid_id", "")) not in opened:
            entry = replace(
                entry,
                at="",
                kind=SEALED_KIND,
                actor=SEALED_ACTOR,
                payload=json.dumps({"sealed": True}),
                sealed=True,
            )
        elif r.kind == "sealed_auction.cancelled":
            payload = json.loads(r.payload)
            payload.pop("cash_reserve", None)
            entry = replace(entry, payload=json.dumps(payload, separators=(",", ":")), sealed=True)
        out.append(entry)
    return out
