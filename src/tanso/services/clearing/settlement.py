"""Settlement (資金決済 and クレジット振替): delivery versus payment for every trade.

On its settlement date each obligation settles in one step: the seller's credits reserved for the
trade move to the buyer, and the buyer's cash reserved for it moves to the seller (fees to the
operator), both legs or neither, with one journal entry. Orders reserved what they need, so a
run cannot fail for lack of cash or credits; it fails an obligation only when a participant has
been suspended or the credits frozen since, and then nothing moves until the operator settles it
later (with the late charge of the fee schedule) or cancels the trade.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select, update

from tanso.domain import csv_cells
from tanso.domain.errors import Conflict, InvalidInput, NotFound, TansoError
from tanso.domain.fees import FeeSchedule
from tanso.domain.participants import ParticipantStatus, Role
from tanso.domain.registry import BlockStatus, Piece
from tanso.services.clearing import escrow
from tanso.services.common import Actor, Idem, execute, from_row, loader, omitted, require
from tanso.services.ledger import cash, registry
from tanso.services.ledger.blocks import CreditRange, credit_ranges
from tanso.services.trading.exchange import fees_for, trade_date
from tanso.store import repo
from tanso.store import schema as t
from tanso.store.db import Database, Tx

CHUNK = 500
"""Obligations settled per transaction: each in its own savepoint, each with its own entry."""


class SettlementFailure(TansoError):
    """Why an obligation cannot settle now; both legs stay where they are."""

    kind = "conflict"


@dataclass(frozen=True, slots=True)
class Settled:
    """An obligation settled: both legs moved, with the fees and any late charge."""

    deal_id: str
    venue: str
    buyer: str
    seller: str
    quantity: int
    amount: int
    buyer_fee: int
    seller_fee: int
    late_charge: int
    currency: str
    ranges: list[CreditRange]
    due_date: str


@dataclass(frozen=True, slots=True)
class Failed:
    """An obligation that could not settle in a run, and why."""

    deal_id: str
    venue: str
    buyer: str
    seller: str
    reason: str
    message: str


@dataclass(frozen=True, slots=True)
class Cancelled:
    """A failed obligation cancelled: both reservations released."""

    deal_id: str
    venue: str
    status: str
    released_credits: int
    released_cash: int


Resolution = Settled | Cancelled
"""What resolving a failed obligation answers: settled now, or cancelled."""


@dataclass(frozen=True, slots=True)
class Run:
    """What a settlement run settled and what failed."""

    date: str
    settled: int
    failed: int
    cash_moved: int
    credits_moved: int
    fees: int
    failures: list[Failed]
    at: str


@dataclass(frozen=True, slots=True)
class RunSummary:
    """A past settlement run, as the runs list shows it."""

    date: str
    at: str
    actor: str
    settled: int
    failed: int
    cash_moved: int
    credits_moved: int
    fees: int


@dataclass(frozen=True, slots=True)
class Fees:
    """One side's fees on an instrument (``*``: every instrument)."""

    instrument: str
    side: str
    per_tonne: int
    bps: int
    per_trade: int
    late_charge: int


@dataclass(frozen=True, slots=True)
class ObligationView:
    """An obligation as one side sees it (``side``, ``fee``) or as the operator does (both
    parties and both fees); the buyer (and the operator) see the serials it delivered."""

    deal_id: str
    venue: str
    status: str
    due_date: str
    quantity: int
    amount: int
    currency: str
    reason: str | None
    settled_at: str | None
    late_charge: int
    buyer: str | None = omitted()
    seller: str | None = omitted()
    buyer_fee: int | None = omitted()
    seller_fee: int | None = omitted()
    side: str | None = omitted()
    fee: int | None = omitted()
    serials_received: list[str] | None = omitted()  # noqa: RUF009 (None, not a shared list)


@dataclass(frozen=True, slots=True)
class ReportRow:
    """One obligation of a settlement report."""

    deal_id: str
    venue: str
    status: str
    buyer: str
    seller: str
    quantity: int
    amount: int
    buyer_fee: int
    seller_fee: int
    reason: str | None


@dataclass(frozen=True, slots=True)
class Counts:
    """How many obligations of the date are in each state."""

    pending: int
    settled: int
    failed: int
    cancelled: int


@dataclass(frozen=True, slots=True)
class Report:
    """The settlement report of a date, reconciled: cash moved = trade values + fees, credits
    moved = quantities traded."""

    date: str
    obligations: list[ReportRow]
    counts: Counts
    trade_values: int
    fees: int
    cash_moved: int
    quantity_traded: int
    credits_moved: int
    reconciles: bool


def _check(conn: Connection, ob: Any) -> None:
    for pid, side in ((ob.buyer_id, "buyer"), (ob.seller_id, "seller")):
        p = repo.get_participant(conn, pid)
        if p is None or p.status != ParticipantStatus.ACTIVE.value:
            status = p.status if p else "missing"
            raise SettlementFailure(f"{side}_not_active", f"The {side} is {status}.")
    b = t.blocks.c
    frozen = conn.execute(
        select(func.count()).where(b.reservation == ob.credit_reservation, b.status == "frozen")
    ).scalar_one()
    if frozen:
        raise SettlementFailure(
            "credits_frozen", "Credits reserved for this trade are frozen by the registry operator."
        )


def _settle_one(
    tx: Tx, actor: Actor, ob: Any, late_charge: tuple[str, int] | None = None
) -> Settled:
    """Move both legs of one obligation and record it; raises SettlementFailure before moving."""
    conn = tx.conn
    _check(conn, ob)
    blocks = list(
        repo.blocks_in_account(
            conn, ob.seller_account, BlockStatus.RESERVED, reservation=ob.credit_reservation
        )
    )
    if sum(b.quantity for b in blocks) != ob.quantity:
        raise SettlementFailure(
            "credits_not_reserved", f"Trade {ob.deal_id} does not have its credits reserved."
        )
    pieces = [Piece(b, b.start, b.end) for b in blocks]
    moves = registry.move(tx, pieces, ob.buyer_account, BlockStatus.HELD, "settlement", ob.deal_id)
    buyer_cash = cash.cash_account_id(ob.buyer_id, ob.currency)
    seller_cash = cash.ensure_accounts(tx, ob.seller_id, ob.currency)
    fees_cash = cash.ensure_accounts(tx, "OPERATOR", ob.currency)
    reserved = repo.get_cash_reservation(conn, ob.cash_reservation)
    held = reserved.amount if reserved else 0
    total = ob.amount + ob.buyer_fee
    if held != total:
        raise SettlementFailure(
            "cash_not_reserved", f"Trade {ob.deal_id} does not have its cash reserved."
        )
    seq = tx.next_seq()
    cash_moves: list[list[Any]] = []
    reserve: list[list[Any]] = [[buyer_cash, -total]]

    def pay(src: str, dst: str, amount: int, memo: str, from_reserved: int = 0) -> None:
        """One cash move of this settlement, as the journal entry's ``cash`` lists it."""
        repo.move_cash(conn, seq, ob.currency, src, dst, amount, memo, from_reserved=from_reserved)
        cash_moves.append([ob.currency, src, dst, amount])

    pay(buyer_cash, seller_cash, ob.amount, f"trade {ob.deal_id}", ob.amount)
    if ob.buyer_fee:
        pay(buyer_cash, fees_cash, ob.buyer_fee, f"buyer fee {ob.deal_id}", ob.buyer_fee)
    if ob.seller_fee:
        pay(seller_cash, fees_cash, ob.seller_fee, f"seller fee {ob.deal_id}")
    charge = 0
    if late_charge is not None:
        payer, amount = late_charge
        payer_cash = cash.ensure_accounts(tx, payer, ob.currency)
        row = repo.get_cash_account(conn, payer_cash)
        # the charge is taken from free cash only, never from what is reserved for others
        charge = min(amount, row.balance - row.reserved) if row is not None else 0
        if charge > 0:
            pay(payer_cash, fees_cash, charge, f"late charge {ob.deal_id}")
    repo.set_cash_reservation(conn, ob.cash_reservation, buyer_cash, 0)
    conn.execute(
        update(t.settlement_obligations)
        .where(t.settlement_obligations.c.deal_id == ob.deal_id)
        .values(status="settled", settled_at=tx.at, reason=None, late_charge=charge)
    )
    view = {
        "buyer": ob.buyer_id,
        "seller": ob.seller_id,
        "quantity": ob.quantity,
        "amount": ob.amount,
        "buyer_fee": ob.buyer_fee,
        "seller_fee": ob.seller_fee,
        "late_charge": charge,
        "currency": ob.currency,
        "ranges": registry.ranges_view(pieces),
        "due_date": ob.due_date,
    }
    tx.record(
        "settlement.settled",
        actor.label,
        _entry(ob, view) | {"moves": moves, "cash": cash_moves, "cash_reserve": reserve},
    )
    return Settled(
        deal_id=ob.deal_id,
        venue=ob.venue,
        buyer=ob.buyer_id,
        seller=ob.seller_id,
        quantity=ob.quantity,
        amount=ob.amount,
        buyer_fee=ob.buyer_fee,
        seller_fee=ob.seller_fee,
        late_charge=charge,
        currency=ob.currency,
        ranges=credit_ranges(pieces),
        due_date=ob.due_date,
    )


def _entry(ob: Any, view: dict[str, Any]) -> dict[str, Any]:
    """A journal payload names the deal ``trade_id``, as every entry written so far does."""
    return {"trade_id": ob.deal_id} | view


def settle_now(tx: Tx, actor: Actor, deal_id: str) -> Settled:
    """Settle one pending obligation inside the caller's transaction (T+0 deals): both legs or,
    raising SettlementFailure, nothing."""
    ob = repo.get_by_key(tx.conn, t.settlement_obligations, "deal_id", deal_id)
    if ob is None or ob.status != "pending":
        raise NotFound("obligation_not_found", f"There is no pending obligation for {deal_id}.")
    with tx.savepoint():
        return _settle_one(tx, actor, ob)


def _fail(tx: Tx, actor: Actor, ob: Any, err: TansoError) -> Failed:
    tx.conn.execute(
        update(t.settlement_obligations)
        .where(t.settlement_obligations.c.deal_id == ob.deal_id)
        .values(status="failed", reason=f"{err.code}: {err.message}")
    )
    view = {
        "buyer": ob.buyer_id,
        "seller": ob.seller_id,
        "reason": err.code,
        "message": err.message,
    }
    tx.record("settlement.failed", actor.label, _entry(ob, view))
    return Failed(
        deal_id=ob.deal_id,
        venue=ob.venue,
        buyer=ob.buyer_id,
        seller=ob.seller_id,
        reason=err.code,
        message=err.message,
    )


def _due(conn: Connection, date: dt.date, after: str | None, limit: int) -> Sequence[Any]:
    o = t.settlement_obligations.c
    q = select(t.settlement_obligations).where(
        o.status == "pending", o.due_date <= date.isoformat()
    )
    if after is not None:
        q = q.where(o.deal_id > after)
    return conn.execute(q.order_by(o.deal_id).limit(limit)).all()


def business_date(db: Database) -> dt.date:
    """Today's business date: the database clock's date in Japan (real time in production, the
    demo's virtual clock in the demo, the injected clock in tests)."""
    return trade_date(db.clock())


def run(
    db: Database, actor: Actor, date: dt.date, idem: Idem | None = None, *, early: bool = False
) -> Run:
    """Settle every pending obligation due on or before `date`. Running a date twice settles
    nothing twice: settled obligations are no longer pending. A date after today's business
    date is refused unless the operator asks for an `early` run, which its entry records."""
    require(actor, Role.EXCHANGE_OPERATOR, "run settlement")
    today = business_date(db)
    if date > today and not early:
        # issue 18 defect 5: a future date settled obligations days before they were due
        raise Conflict(
            "settlement_date_in_future",
            f"Settlement date {date.isoformat()} is after today's business date "
            f"{today.isoformat()}: obligations not yet due are not settled (ask for an early run "
            "to override).",
        )
    if idem is not None:
        # a run spans many transactions: a key already answered must not settle anything more
        with db.read() as conn:
            stored = repo.get_idempotency(conn, actor.participant_id, idem.key)
        if stored is not None:
            if stored.fingerprint != idem.fingerprint:
                raise Conflict(
                    "idempotency_key_reused",
                    "This Idempotency-Key was already used with a different request.",
                )
            return load_run(json.loads(stored.response))
    totals = {"settled": 0, "failed": 0, "cash_moved": 0, "credits_moved": 0, "fees": 0}
    failures: list[Failed] = []
    after: str | None = None
    while True:
        with db.write() as tx:
            tx.allow_empty = True
            batch = _due(tx.conn, date, after, CHUNK)
            for ob in batch:
                after = ob.deal_id
                try:
                    with tx.savepoint():
                        _settle_one(tx, actor, ob)
                    totals["settled"] += 1
                    totals["cash_moved"] += ob.amount
                    totals["credits_moved"] += ob.quantity
                    totals["fees"] += ob.buyer_fee + ob.seller_fee
                except SettlementFailure as err:
                    with tx.savepoint():
                        failures.append(_fail(tx, actor, ob, err))
                    totals["failed"] += 1
        if len(batch) < CHUNK:
            break

    def record(tx: Tx) -> Run:
        repo.insert_row(
            tx.conn, t.settlement_runs, date=date.isoformat(), at=tx.at, actor=actor.label, **totals
        )
        entry: dict[str, Any] = {"date": date.isoformat(), **totals}
        if date > today:  # an operator's override: the entry says so, and on which day
            entry |= {"early": True, "business_date": today.isoformat()}
        tx.record("settlement.run", actor.label, entry)
        return Run(date=date.isoformat(), **totals, failures=failures, at=tx.at)

    return execute(db, actor, idem, record, 201, load=load_run)


load_run = loader(Run)


def load_resolution(data: dict[str, Any]) -> Resolution:
    """A stored resolution answered again: a cancellation says its status, a settlement not."""
    if "status" in data:
        return loader(Cancelled)(data)
    return loader(Settled)(data)


def resolve(
    db: Database, actor: Actor, deal_id: str, action: str, idem: Idem | None = None
) -> Resolution:
    """The operator resolves a failed obligation: `settle` it now (the party at fault pays the
    late charge of the fee schedule) or `cancel` the trade (both reservations released)."""
    require(actor, Role.EXCHANGE_OPERATOR, "resolve failed settlements")
    if action not in ("settle", "cancel"):
        raise InvalidInput("invalid_action", "action is 'settle' or 'cancel'.")

    def work(tx: Tx) -> Resolution:
        conn = tx.conn
        ob = repo.get_by_key(conn, t.settlement_obligations, "deal_id", deal_id)
        if ob is None:
            raise NotFound("obligation_not_found", f"There is no obligation for deal {deal_id}.")
        if ob.status != "failed":
            raise Conflict("obligation_not_failed", f"The obligation of {deal_id} is {ob.status}.")
        if action == "settle":
            at_fault = _at_fault(conn, ob)
            side = "buy" if at_fault == ob.buyer_id else "sell"
            # off-exchange deals have no instrument: the schedule for every instrument applies
            schedule: FeeSchedule = fees_for(conn, ob.instrument_id or "*", side)
            try:
                with tx.savepoint():
                    return _settle_one(tx, actor, ob, (at_fault, schedule.late_charge))
            except SettlementFailure as err:
                raise Conflict(err.code, f"Still cannot settle: {err.message}") from None
        return _cancel(tx, actor, ob)

    return execute(db, actor, idem, work, load=load_resolution)


def _at_fault(conn: Connection, ob: Any) -> str:
    buyer = repo.get_participant(conn, ob.buyer_id)
    if buyer is None or buyer.status != ParticipantStatus.ACTIVE.value:
        return str(ob.buyer_id)
    return str(ob.seller_id)


def _cancel(tx: Tx, actor: Actor, ob: Any) -> Cancelled:
    conn = tx.conn
    pieces, moves, reserve = escrow.release_deal(tx, ob)
    conn.execute(
        update(t.settlement_obligations)
        .where(t.settlement_obligations.c.deal_id == ob.deal_id)
        .values(status="cancelled")
    )
    view: dict[str, Any] = {
        "status": "cancelled",
        "released_credits": sum(p.quantity for p in pieces),
        "released_cash": -sum(r[1] for r in reserve),
    }
    tx.record(
        "settlement.cancelled",
        actor.label,
        _entry(ob, view) | {"moves": moves, "cash_reserve": reserve},
    )
    return Cancelled(
        deal_id=ob.deal_id,
        venue=ob.venue,
        status="cancelled",
        released_credits=int(view["released_credits"]),
        released_cash=int(view["released_cash"]),
    )


# ---------------------------------------------------------------- fee schedules


def set_fees(
    db: Database,
    actor: Actor,
    instrument: str,
    side: str,
    schedule: FeeSchedule,
    idem: Idem | None = None,
) -> Fees:
    """Set one side's fees on an instrument ('*' for every instrument) (exchange operator)."""
    require(actor, Role.EXCHANGE_OPERATOR, "set fees")
    if side not in ("buy", "sell"):
        raise InvalidInput("invalid_side", "side is 'buy' or 'sell'.")

    def work(tx: Tx) -> Fees:
        conn = tx.conn
        if instrument != "*" and repo.get_by_id(conn, t.instruments, instrument) is None:
            raise NotFound("instrument_not_found", f"There is no instrument {instrument}.")
        f = t.fee_schedules.c
        values = {
            "per_tonne": schedule.per_tonne,
            "bps": schedule.bps,
            "per_trade": schedule.per_trade,
            "late_charge": schedule.late_charge,
        }
        res = conn.execute(
            update(t.fee_schedules)
            .where(f.instrument_id == instrument, f.side == side)
            .values(**values)
        )
        if res.rowcount == 0:
            repo.insert_row(conn, t.fee_schedules, instrument_id=instrument, side=side, **values)
        view = {"instrument": instrument, "side": side, **values}
        tx.record("fees.set", actor.label, view)
        return Fees(instrument=instrument, side=side, **values)

    return execute(db, actor, idem, work, load=loader(Fees))


def list_fees(db: Database) -> list[Fees]:
    with db.read() as conn:
        rows = repo.list_table(
            conn, t.fee_schedules, t.fee_schedules.c.instrument_id, t.fee_schedules.c.side
        )
        return [
            Fees(
                instrument=r.instrument_id,
                side=r.side,
                per_tonne=r.per_tonne,
                bps=r.bps,
                per_trade=r.per_trade,
                late_charge=r.late_charge,
            )
            for r in rows
        ]


# ---------------------------------------------------------------- reports


def obligation_view(conn: Connection, ob: Any, pid: str | None) -> ObligationView:
    """An obligation as one side (or the operator, pid None) sees it."""
    view: dict[str, Any] = {}
    if pid is None:
        view |= {
            "buyer": ob.buyer_id,
            "seller": ob.seller_id,
            "buyer_fee": ob.buyer_fee,
            "seller_fee": ob.seller_fee,
        }
    else:
        side = "buy" if ob.buyer_id == pid else "sell"
        view |= {"side": side, "fee": ob.buyer_fee if side == "buy" else ob.seller_fee}
    if ob.status == "settled" and (pid is None or ob.buyer_id == pid):
        view["serials_received"] = [
            f"{m.issuance_id}-{m.serial_start}-{m.serial_end}"
            for m in repo.movements_for(conn, "settlement", ob.deal_id)
        ]
    return from_row(ObligationView, ob, **view)


def obligations(
    db: Database,
    actor: Actor,
    status: str | None = None,
    date: str | None = None,
    limit: int = 500,
) -> list[ObligationView]:
    """Obligations due, settled and failed: one's own, or (operator) everyone's."""
    o = t.settlement_obligations.c
    pid = None if actor.is_operator() else actor.participant_id
    q = select(t.settlement_obligations)
    if pid is not None:
        q = q.where((o.buyer_id == pid) | (o.seller_id == pid))
    if status:
        q = q.where(o.status == status)
    if date:
        q = q.where(o.due_date == date)
    with db.read() as conn:
        rows = conn.execute(q.order_by(o.due_date, o.deal_id).limit(limit)).all()
        return [obligation_view(conn, r, pid) for r in rows]


def report(db: Database, actor: Actor, date: dt.date) -> Report:
    """The operator's settlement report for a date, reconciled: cash moved = trade values +
    fees; credits moved = quantities traded."""
    require(actor, Role.EXCHANGE_OPERATOR, "read settlement reports")
    day = date.isoformat()
    o, e, m = t.settlement_obligations.c, t.cash_entries.c, t.credit_movements.c
    with db.read() as conn:
        rows = conn.execute(
            select(t.settlement_obligations).where(o.due_date == day).order_by(o.deal_id)
        ).all()
        settled = [r for r in rows if r.status == "settled"]
        ids = [r.deal_id for r in settled]
        cash_out = 0
        credits_out = 0
        for chunk in _chunks(ids, 500):
            cash_out += int(
                conn.execute(
                    select(func.coalesce(func.sum(e.amount), 0)).where(
                        e.memo.in_(
                            [f"trade {i}" for i in chunk]
                            + [f"buyer fee {i}" for i in chunk]
                            + [f"seller fee {i}" for i in chunk]
                        )
                    )
                ).scalar_one()
            )
            credits_out += int(
                conn.execute(
                    select(func.coalesce(func.sum(m.serial_end - m.serial_start + 1), 0)).where(
                        m.kind == "settlement", m.ref.in_(chunk)
                    )
                ).scalar_one()
            )
    values = sum(r.amount for r in settled)
    fees = sum(r.buyer_fee + r.seller_fee for r in settled)
    quantity = sum(r.quantity for r in settled)
    return Report(
        date=day,
        obligations=[from_row(ReportRow, r, buyer=r.buyer_id, seller=r.seller_id) for r in rows],
        counts=Counts(
            **{
                s: sum(1 for r in rows if r.status == s)
                for s in ("pending", "settled", "failed", "cancelled")
            }
        ),
        trade_values=values,
        fees=fees,
        cash_moved=cash_out,
        quantity_traded=quantity,
        credits_moved=credits_out,
        reconciles=cash_out == values + fees and credits_out == quantity,
    )


def report_csv(rep: Report) -> str:
    buf = io.StringIO()
    w = csv_cells.writer(buf)
    w.writerow(
        [
            "deal_id",
            "venue",
            "status",
            "buyer",
            "seller",
            "quantity",
            "amount",
            "buyer_fee",
            "seller_fee",
            "reason",
        ]
    )
    for r in rep.obligations:
        w.writerow(
            [
                r.deal_id,
                r.venue,
                r.status,
                r.buyer,
                r.seller,
                r.quantity,
                r.amount,
                r.buyer_fee,
                r.seller_fee,
                r.reason or "",
            ]
        )
    w.writerow([])
    w.writerow(
        [
            "trade_values",
            rep.trade_values,
            "fees",
            rep.fees,
            "cash_moved",
            rep.cash_moved,
            "quantity_traded",
            rep.quantity_traded,
            "credits_moved",
            rep.credits_moved,
            "reconciles",
            rep.reconciles,
        ]
    )
    return buf.getvalue()


def _chunks(items: list[str], n: int) -> list[list[str]]:
    return [items[i : i + n] for i in range(0, len(items), n)]


def runs(db: Database, actor: Actor, limit: int = 50) -> list[RunSummary]:
    require(actor, Role.EXCHANGE_OPERATOR, "read settlement runs")
    r = t.settlement_runs.c
    with db.read() as conn:
        rows = conn.execute(select(t.settlement_runs).order_by(r.id.desc()).limit(limit)).all()
        return [
            RunSummary(
                date=x.date,
                at=x.at,
                actor=x.actor,
                settled=x.settled,
                failed=x.failed,
                cash_moved=x.cash_moved,
                credits_moved=x.credits_moved,
                fees=x.fees,
            )
            for x in rows
        ]
