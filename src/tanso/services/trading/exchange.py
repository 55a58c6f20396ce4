"""The exchange: one writer per process that puts commands in order, runs them through the pure
matching engine, and commits each batch of commands with their journal entries in one transaction.

The engine's books live in memory; the database is the truth. Every accepted command is
journaled with the events it caused, so replaying the exchange's journal entries through a fresh
engine rebuilds the books exactly (that is how a restarted server recovers). Orders reserve
through the registry and the cash ledger before the engine accepts them: a buy sets aside
price x quantity of cash, a sell sets aside the credits it will deliver. A trade turns both
reservations into a settlement obligation due on T+n business days.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import json
import logging
import queue
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, bindparam, delete, event, insert, select, update

from tanso.domain import exchange as ex
from tanso.domain.bars import INTERVALS, Bar, bars_from_trades, combine, period_end, period_start
from tanso.domain.calendar import TradingCalendar
from tanso.domain.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    TansoError,
    Unavailable,
)
from tanso.domain.fees import FREE, FeeSchedule
from tanso.domain.gx import fiscal_year_of
from tanso.domain.instruments import Eligibility, InstrumentSpec
from tanso.domain.journal import read_payload
from tanso.domain.participants import ParticipantStatus, Role
from tanso.domain.registry import AccountKind
from tanso.domain.sessions import SessionPlan
from tanso.services import market_makers
from tanso.services.clearing import escrow
from tanso.services.clearing.memory import MemoryLedger
from tanso.services.common import (
    SYSTEM,
    Actor,
    Idem,
    loader,
    omitted,
    plain,
    require,
    require_operator,
)
from tanso.services.compliance.gx import rules as gx_rules
from tanso.services.ledger import allowances, registry
from tanso.services.trading import bust_requests
from tanso.store import repo
from tanso.store import schema as t
from tanso.store.db import Database, Tx, dumps, insert_sql, loads, run_many

log = logging.getLogger("tanso.exchange")
JST = ZoneInfo("Asia/Tokyo")
BATCH_LIMIT = 256
PARTICIPANT_CHANGES = ("participant.status_changed", "participant.attributes_changed")
"""Journal entries after which the sequencer reads a participant's status and membership anew."""


# Engine reasons that a client could have avoided: 422; others (state of the market): 409.
INVALID_REASONS = {
    ex.OFF_TICK,
    ex.NOT_WHOLE_LOT,
    ex.OUTSIDE_PRICE_LIMIT,
    ex.MARKET_ORDERS_NOT_ALLOWED,
    ex.INVALID_QUANTITY,
    ex.INVALID_PRICE,
    ex.INVALID_ORDER,
    "amount_too_large",
    "invalid_amount",
}
MESSAGES = {
    ex.OFF_TICK: "The price is not a multiple of the instrument's tick.",
    ex.NOT_WHOLE_LOT: "The quantity is not a whole number of lots.",
    ex.OUTSIDE_PRICE_LIMIT: "The price is outside today's price limits (値幅制限).",
    ex.MARKET_CLOSED: "The market is not accepting orders now.",
    ex.HALTED_REASON: "Trading in this instrument is halted.",
    ex.MARKET_ORDERS_NOT_ALLOWED: "This instrument accepts limit orders only.",
    ex.UNKNOWN_INSTRUMENT: "There is no such instrument.",
    ex.UNKNOWN_ORDER: "There is no such open order.",
    ex.DUPLICATE_ORDER_ID: "An order with this id already exists.",
    ex.INVALID_QUANTITY: "The quantity must be a whole number greater than zero.",
    ex.INVALID_PRICE: "The price is missing or not allowed for this order type.",
    ex.INVALID_ORDER: "The order is malformed (side, type or time in force).",
    ex.INVALID_STATE: "The instrument is not in a state that allows this.",
    ex.INSUFFICIENT_CASH: "Not enough free cash to reserve price x quantity.",
    ex.INSUFFICIENT_CREDITS: "Not enough eligible credits held to back this sell order.",
    "amount_too_large": "Price x quantity is larger than any amount Tanso accepts.",
    ex.PARTICIPANT_NOT_ACTIVE: "Only active participants may trade.",
}


class OrderRejected(TansoError):
    """The engine or a pre-trade check refused an order; nothing was changed."""

    def __init__(self, reason: str, order_id: str | None = None, detail: str = "") -> None:
        message = MESSAGES.get(reason, f"The order was rejected: {reason}.")
        super().__init__(reason, f"{message} {detail}" if detail else message)
        self.kind = "invalid" if reason in INVALID_REASONS else "conflict"
        self.order_id = order_id


# ---------------------------------------------------------------- commands as the service sees them


@dataclass(frozen=True, slots=True)
class NewOrder:
    """An order as a participant sends it."""

    instrument: str
    side: str
    quantity: int
    price: int | None = None
    type: str = "limit"
    tif: str = "day"
    account_id: str | None = None
    serials: str | None = None
    client_order_id: str | None = None


@dataclass
class _Job:
    actor: Actor
    kind: str
    args: dict[str, Any]
    future: Future[Any] = field(default_factory=Future)


BarKey = tuple[str, str, str]
_BAR = select(t.bars)


_UPDATE_BAR = (
    update(t.bars)
    .where(
        t.bars.c.instrument_id == bindparam("k_i"),
        t.bars.c.interval == bindparam("k_n"),
        t.bars.c.period_start == bindparam("k_p"),
    )
    .values(
        {
            name: bindparam(f"v_{name}")
            for name in ("high", "low", "close", "volume", "value", "trades", "last_seq")
        }
    )
)

_WRITES = "tanso_writes"


_IDEM_INSERT = insert_sql(
    "idempotency_keys",
    ("participant_id", "key", "fingerprint", "status_code", "response", "created_at"),
)


@functools.lru_cache(maxsize=64)
def _order_update(names: tuple[str, ...]) -> str:
    """The UPDATE of an order's changed columns, for `run_many` (``v_`` values, ``k_id``)."""
    return f"UPDATE orders SET {', '.join(f'{n} = :v_{n}' for n in names)} WHERE id = :k_id"


def _count_write(conn: Connection, _cursor: Any, statement: str, *_args: Any) -> None:
    if statement[:6] in ("INSERT", "UPDATE", "DELETE"):
        conn.info[_WRITES] = conn.info.get(_WRITES, 0) + 1


class _Undo(Exception):
    """A command failed after it wrote: its batch is rolled back and run again, isolated."""


@dataclass
class _Context:
    """What the pre-trade hook needs while the engine handles one command."""

    tx: Tx
    actor: Actor
    account_id: str | None = None
    serials: str | None = None
    eligibility: Eligibility | None = None
    currency: str = "JPY"
    moves: list[list[Any]] = field(default_factory=list)
    cash_reserve: list[list[Any]] = field(default_factory=list)
    pretrade: str | None = None
    pretrade_message: str = ""
    pretrade_order: str | None = None
    in_auction: bool = False
    lot: int = 1
    events_json: list[dict[str, Any]] = field(default_factory=list)
    """The command's events as its journal entry records them (and its answer shows them)."""


def _replay(db: Database, engine: ex.Engine, after: int) -> int:
    """Feed ``engine`` the exchange entries after journal entry ``after``, each pre-trade check
    answered as the entry recorded it; returns the last entry read."""
    recorded: dict[str, str | None] = {}
    engine.pre_trade = lambda req: recorded.get(req.order_id)
    last = after
    with db.read() as conn:
        for row in repo.journal_entries(conn, after):
            last = row.seq
            if not row.kind.startswith("exchange."):
                continue
            payload = read_payload(row.payload)
            if "command" not in payload:  # a bust: it changes no book
                continue
            recorded.clear()
            if payload.get("pretrade_order"):
                recorded[payload["pretrade_order"]] = payload.get("pretrade")
            engine.handle(command_from_json(payload["command"]))
    return last


ALLOWANCE_SCHEME = "GXA"
"""GX-ETS allowances (排出枠): buying them is for those the year's rules let hold them."""


def trade_date(at: str) -> dt.date:
    """The trading day of a timestamp: its date in Japan."""
    ts = dt.datetime.fromisoformat(at.replace("Z", "+00:00"))
    return ts.astimezone(JST).date()


class Exchange:
    """The one writer of every market in this process."""

    def __init__(
        self, db: Database, calendar: TradingCalendar, *, enforce_sessions: bool = False
    ) -> None:
        self.db = db
        self.calendar = calendar
        self.enforce_sessions = enforce_sessions
        self._lock = threading.RLock()
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._ctx: _Context | None = None
        self._engine_changed = False
        self._job_feed: list[dict[str, Any]] = []
        self.max_queue = 0
        """Backpressure: with more commands than this waiting, `submit` refuses (0: no limit)."""
        self.listeners: list[Callable[[list[dict[str, Any]]], None]] = []
        """Called after each commit with the committed exchange journal entries, in order."""
        self.engine = ex.Engine(pre_trade=self._pre_trade)
        if not event.contains(db.engine, "before_cursor_execute", _count_write):
            event.listen(db.engine, "before_cursor_execute", _count_write)
        # What the sequencer decides with, kept in memory (it is the only writer of orders and
        # instruments): order rows it has read or written, instrument rows, holding accounts
        # (which never change), and each batch's fee schedules (fees change in transactions of
        # their own, which the batch's write lock keeps out).
        self._orders: dict[str, SimpleNamespace] = {}
        self._instruments: dict[str, Any] = {}
        self._accounts: dict[str, Any] = {}
        self._fees: dict[tuple[str, str], FeeSchedule] = {}
        # participants' status and GX League membership, as the journal last said
        self._participants: dict[str, tuple[str, bool]] = {}
        # whether a participant's orders on an instrument are quotes on a day
        self._quoting: dict[tuple[str, str, dt.date], bool] = {}
        self._bars: dict[BarKey, tuple[Bar, bool]] = {}
        """(instrument, interval, period start) -> the bar and whether it is stored yet."""
        self._dirty_bars: dict[BarKey, int] = {}
        """Bars the batch changed, with the journal entry of their last trade."""
        self._command_bars: dict[BarKey, tuple[tuple[Bar, bool] | None, int | None]] = {}
        """Bars the running command changed, as they were before it (to undo a refusal)."""
        self._seen_seq: int | None = None
        """The journal entry up to which the remembered rows are known to be current."""
        # order rows to write: the command's own until it succeeds, then the batch's until commit
        self._command_orders: dict[str, tuple[bool, dict[str, Any]]] = {}
        self._batch_orders: dict[str, tuple[bool, dict[str, Any]]] = {}
        self._batch_idem: dict[tuple[str, str], dict[str, Any]] = {}
        """The batch's idempotency rows, written with it (`_write_idem`), by participant and key."""
        self._ledger = MemoryLedger()
        """Cash, holds and credit blocks, decided in memory and written with the batch."""
        self.followed = 0
        """The last journal entry the books were built from (`follow`)."""
        self.recover()

    # ------------------------------------------------------------------ recovery

    def recover(self) -> None:
        """Rebuild the books by replaying every exchange journal entry through a fresh engine."""
        with self._lock:
            self._forget()
            self.engine, self.followed = self._rebuilt(self.db)
            self.engine.pre_trade = self._pre_trade
            self._check_against_database()

    def _forget(self) -> None:
        """Drop every remembered row (after a failure: the database is the truth again)."""
        self._orders.clear()
        self._instruments.clear()
        self._fees.clear()
        self._participants.clear()
        self._quoting.clear()
        self._bars.clear()
        self._dirty_bars.clear()
        self._command_bars.clear()
        self._seen_seq = None
        self._command_orders.clear()
        self._batch_orders.clear()
        self._ledger.forget()

    @staticmethod
    def rebuild(db: Database) -> ex.Engine:
        """A fresh engine fed the exchange's journaled commands, with their recorded outcomes."""
        return Exchange._rebuilt(db)[0]

    @staticmethod
    def _rebuilt(db: Database) -> tuple[ex.Engine, int]:
        """`rebuild`, and the last journal entry it read."""
        engine = ex.Engine(pre_trade=lambda req: None)
        return engine, _replay(db, engine, 0)

    def follow(self) -> int:
        """A standby engine (not running): apply the exchange entries committed since the
        books were built or last followed, with their recorded outcomes, so that taking over
        needs only the newest few. Returns the last journal entry read."""
        assert not self.running, "the running sequencer writes the journal: it never follows it"
        with self._lock:
            live = self.engine.pre_trade
            try:
                self.followed = _replay(self.db, self.engine, self.followed)
            finally:
                self.engine.pre_trade = live
            return self.followed

    def take_over(self) -> None:
        """A standby becomes the writer: the last entries followed, the books checked against
        the stored open orders (rebuilt from the whole journal if they differ), and the
        sequencer started."""
        self.follow()
        with self._lock:
            self._forget()
            try:
                self._check_against_database()
            except RuntimeError:
                log.warning("the followed books differ from the stored orders: rebuilding")
                self.recover()
        self.start()

    def _check_against_database(self) -> None:
        with self.db.read() as conn:
            o = t.orders.c
            rows = conn.execute(
                select(o.id, o.remaining).where(o.status == "open").order_by(o.id)
            ).all()
        live = {oid: m.book.orders[oid].quantity for oid, m in self.engine.order_market.items()}
        stored = {r.id: r.remaining for r in rows}
        if live != stored:
            raise RuntimeError(
                "the books rebuilt from the journal differ from the stored open orders: "
                f"{sorted(set(live.items()) ^ set(stored.items()))[:5]}"
            )

    # ------------------------------------------------------------------ the sequencer

    def start(self) -> None:
        """Run the sequencer thread (the server does; tests and the CLI may call directly).
        First, a suspended participant's orders still open are cancelled: a suspension cancels
        them just after it is recorded, so a crash between the two leaves them to this."""
        if self._thread is None:
            for pid in self._suspended_with_open_orders():
                self.cancel_all(SYSTEM, pid)
            self._thread = threading.Thread(target=self._loop, name="tanso-sequencer", daemon=True)
            self._thread.start()
            self.db.sequencer = self.run_unit

    def stop(self) -> None:
        if self.db.sequencer == self.run_unit:
            self.db.sequencer = None
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=30)
            self._thread = None

    def _suspended_with_open_orders(self) -> list[str]:
        o, p = t.orders.c, t.participants.c
        with self.db.read() as conn:
            rows = conn.execute(
                select(o.participant_id)
                .join(t.participants, p.id == o.participant_id)
                .where(o.status == "open", p.status == "suspended")
                .distinct()
                .order_by(o.participant_id)
            ).all()
        return [str(r.participant_id) for r in rows]

    @property
    def queue_depth(self) -> int:
        """Commands waiting for the sequencer."""
        return self._queue.qsize()

    @property
    def running(self) -> bool:
        """The sequencer thread is alive (false before start and after stop)."""
        return self._thread is not None and self._thread.is_alive()

    def submit(self, actor: Actor, kind: str, **args: Any) -> Any:
        """Put a command in order and wait for its outcome (committed before it returns);
        refuses with `Unavailable` (503, Retry-After) when ``max_queue`` commands already wait."""
        job = self._enqueue(actor, kind, args)
        return job.future.result()

    def run_unit(self, actor: Actor, unit: Callable[[Tx], Any], in_memory: bool = False) -> Any:
        """Run another use case's unit of work in the next batch (`common.execute`, sequenced):
        registry transfers and retirements share the orders' group commit and one writer.
        ``in_memory``: the unit moves credits only through the ledger memory (`blocks.take`,
        `blocks.move`), which therefore stays."""
        if threading.current_thread() is self._thread:
            raise RuntimeError("a unit of work submitted from the sequencer itself")
        return self.submit(actor, "unit", unit=unit, in_memory=in_memory)

    async def submit_async(self, actor: Actor, kind: str, **args: Any) -> Any:
        """As `submit`, for a coroutine: it awaits the outcome without holding a thread."""
        job = self._enqueue(actor, kind, args)
        return await asyncio.wrap_future(job.future)

    def _enqueue(self, actor: Actor, kind: str, args: dict[str, Any]) -> _Job:
        if self.max_queue and self._queue.qsize() >= self.max_queue:
            raise Unavailable(
                "overloaded",
                "The exchange has too many orders waiting; nothing was done. Retry shortly.",
            )
        job = _Job(actor, kind, args)
        if self._thread is None:
            self._run_batch([job])  # no sequencer thread (tests, the command line): run it now
        else:
            self._queue.put(job)
        return job

    def _loop(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            jobs = [job]
            while len(jobs) < BATCH_LIMIT:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._run_batch(jobs)
                    return
                jobs.append(nxt)
            self._run_batch(jobs)

    def _run_batch(self, jobs: list[_Job], *, isolated: bool = False) -> None:
        """Group commit: every job of the batch in one transaction.

        A command is checked completely before it writes anything, so a refusal needs no
        savepoint: its writes (none) and its remembered rows are simply dropped. Should a command
        fail after it wrote (a bug, or a database error), the whole batch is rolled back and each
        of its commands runs again alone, in a savepoint of its own (``isolated``)."""
        results: list[tuple[_Job, object]] = []
        feed: list[dict[str, Any]] = []
        diverged = False
        with self._lock:
            self._batch_idem = {}  # what a batch that failed remembered was never written
            try:
                with self.db.write() as tx:
                    tx.allow_empty = True
                    self._catch_up(tx)
                    tx.ledger = self._ledger
                    self._ledger.tx = tx
                    for job in jobs:
                        self._engine_changed = False
                        self._job_feed = []
                        mark = (self._writes(tx), len(tx.entries), self._ledger.changes)
                        try:
                            if isolated:
                                with tx.savepoint():
                                    results.append((job, self._apply(tx, job)))
                            else:
                                results.append((job, self._apply(tx, job)))
                            feed += self._job_feed
                            self._command_done()
                            self._learn(tx.entries[mark[1] :])
                        except Exception as e:
                            wrote = (
                                self._writes(tx),
                                len(tx.entries),
                                self._ledger.changes,
                            ) != mark
                            if wrote and not isolated:
                                raise _Undo from e
                            if not isinstance(e, TansoError):
                                log.exception("command failed", exc_info=e)
                            results.append((job, e))
                            if isolated:  # its savepoint is gone, and what it did in memory
                                self._ledger.forget()
                            self._command_failed(tx.conn)
                            if self._engine_changed or not isinstance(e, TansoError):
                                # the engine may be ahead of the database now
                                log.error("command refused after the engine moved: %s", e)
                                diverged = True
                    self._ledger.flush()
                    self._write_orders(tx.conn)
                    self._write_idem(tx.conn)
                    self._write_bars(tx.conn)
                    self._seen_seq = tx.journal_seq or tx.head_seq
            except _Undo as undo:
                self._ledger.tx = None
                log.warning(
                    "a command failed after writing; its batch runs again, command by command: %r",
                    undo.__cause__,
                )
                self.recover()
                for job in jobs:
                    self._run_batch([job], isolated=True)
                return
            except Exception as e:
                log.exception("batch commit failed", exc_info=e)
                self._ledger.forget()
                diverged = True
                results = [(job, e) for job in jobs]
                feed = []
            self._ledger.tx = None
            if diverged:
                self.recover()
            # committed: tell the market-data feed, in journal order, before anyone else can write
            for listener in self.listeners:
                try:
                    listener(feed)
                except Exception:
                    log.exception("market-data listener failed")
        for job, outcome in results:
            if isinstance(outcome, BaseException):
                job.future.set_exception(outcome)
            else:
                job.future.set_result(outcome)

    @staticmethod
    def _writes(tx: Tx) -> int:
        """INSERT, UPDATE and DELETE statements run so far on the transaction's connection."""
        return int(tx.conn.info.get(_WRITES, 0))

    # ------------------------------------------------------------------ rows in memory

    def _order(self, conn: Connection, order_id: str, *, missing_ok: bool = False) -> Any:
        """An order row, from memory once read or written (the sequencer alone writes orders)."""
        row = self._orders.get(order_id)
        if row is None:
            stored = repo.get_by_id(conn, t.orders, order_id)
            if stored is None:
                assert missing_ok, order_id
                return None
            row = self._orders[order_id] = SimpleNamespace(**stored._mapping)
        return row

    def _insert_order(self, **values: Any) -> None:
        self._orders[values["id"]] = SimpleNamespace(**values)
        self._command_orders[values["id"]] = (True, dict(values))

    def _set_order(self, conn: Connection, order_id: str, **values: Any) -> None:
        row = self._order(conn, order_id)
        for name, value in values.items():
            setattr(row, name, value)
        new, pending = self._command_orders.get(order_id, (False, {}))
        self._command_orders[order_id] = (new, pending | values)

    def _command_done(self) -> None:
        """A command succeeded: its order rows join the batch's (one row per order)."""
        for oid, (new, values) in self._command_orders.items():
            was_new, pending = self._batch_orders.get(oid, (False, {}))
            self._batch_orders[oid] = (new or was_new, pending | values)
        self._command_orders.clear()
        self._command_bars.clear()

    def _command_failed(self, conn: Connection) -> None:
        """A command's savepoint rolled back: drop what it changed in memory, and what the
        batch remembers of rows (written first, so the database can answer for them)."""
        self._command_orders.clear()
        self._write_orders(conn)
        self._orders.clear()
        self._instruments.clear()
        for key, (bar, dirty) in self._command_bars.items():  # the bars as they were before it
            if bar is None:
                self._bars.pop(key, None)
            else:
                self._bars[key] = bar
            if dirty is None:
                self._dirty_bars.pop(key, None)
            else:
                self._dirty_bars[key] = dirty
        self._command_bars.clear()

    def _write_orders(self, conn: Connection) -> None:
        """Write the batch's new orders in one multi-row INSERT, and its changed ones with one
        executemany UPDATE per set of changed columns."""
        if not self._batch_orders:
            return
        inserts = [values for new, values in self._batch_orders.values() if new]
        updates: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for oid, (new, values) in self._batch_orders.items():
            if not new:
                names = tuple(sorted(values))
                updates.setdefault(names, []).append({f"v_{k}": v for k, v in values.items()})
                updates[names][-1]["k_id"] = oid
        for oid in self._batch_orders:
            row = self._orders.get(oid)
            if row is not None and row.status != "open":
                del self._orders[oid]  # filled, cancelled, expired: written, no longer needed
        self._batch_orders = {}
        if inserts:
            run_many(conn, insert_sql("orders", tuple(inserts[0])), inserts)
        for names, rows in updates.items():
            run_many(conn, _order_update(names), rows)

    def _learn(self, entries: Iterable[Any]) -> None:
        """Forget the statuses and fee schedules that entries just recorded changed (a unit of
        work of another use case in this batch may suspend a participant or set fees)."""
        for e in entries:
            if e.kind == "fees.set":
                self._fees.clear()
            elif e.kind in PARTICIPANT_CHANGES:
                self._participants.pop(str(e.payload.get("participant")), None)
            elif e.kind in market_makers.MM_KINDS:
                self._quoting.clear()

    def _catch_up(self, tx: Tx) -> None:
        """Forget what other writers changed since the last batch: participants' statuses and
        fee schedules, as the journal tells (with the head locked, nobody writes meanwhile)."""
        head = tx.head_seq
        if head != self._seen_seq:  # someone else wrote: cash and credits may have moved
            self._ledger.forget()
        if self._seen_seq is None:
            self._participants.clear()
            self._quoting.clear()
            self._fees.clear()

        elif head != self._seen_seq:
            j = t.journal.c
            changes = tx.conn.execute(
                select(j.kind, j.payload).where(
                    j.seq > self._seen_seq,
                    j.kind.in_(("fees.set", *PARTICIPANT_CHANGES, *market_makers.MM_KINDS)),
                )
            ).all()
            for kind, payload in changes:
                if kind == "fees.set":
                    self._fees.clear()
                elif kind in market_makers.MM_KINDS:
                    self._quoting.clear()
                else:
                    self._participants.pop(str(read_payload(payload)["participant"]), None)
        self._seen_seq = head

    def _require_active(self, conn: Connection, actor: Actor) -> None:
        """Only active participants act; a broker and its client must both be active."""
        if actor.is_system:
            return
        for pid in filter(None, (actor.participant_id, actor.agent_id)):
            status, _gx = self._participant(conn, pid)
            if status != ParticipantStatus.ACTIVE:
                raise Forbidden(
                    "participant_not_active",
                    f"Participant {pid} is {status}; only active participants may act.",
                )

    def _participant(self, conn: Connection, pid: str) -> tuple[str, bool]:
        """A participant's status and GX League membership (remembered until the journal says
        either changed)."""
        known = self._participants.get(pid)
        if known is None:
            row = repo.get_participant(conn, pid)
            if row is None:
                return "unknown", False
            known = self._participants[pid] = (row.status, bool(row.gx_league))
        return known

    def _quotes(self, conn: Connection, pid: str, instrument: str, at: str) -> bool:
        """Whether the participant's order is a quote: it is an appointed market maker of a
        programme of the instrument that runs today (remembered until the journal says the
        appointments changed)."""
        day = trade_date(at)
        key = (pid, instrument, day)
        known = self._quoting.get(key)
        if known is None:
            if len(self._quoting) > 10_000:
                self._quoting.clear()
            known = self._quoting[key] = market_makers.quoting(conn, pid, instrument, day)
        return known

    def _may_trade(
        self,
        conn: Connection,
        pid: str,
        instrument: Any,
        eligibility: Eligibility,
        side: str = "sell",
        at: str = "",
    ) -> None:
        """An instrument for GX League members only (JPX's 超過削減枠) refuses anyone else; an
        instrument of GX-ETS allowances refuses a buyer the year's rules do not let hold them."""
        if eligibility.gx_league_only and not self._participant(conn, pid)[1]:
            raise Forbidden(
                "gx_league_only",
                f"Only GX League members may trade {instrument.id}; participant {pid} is not a "
                "GX League member (the exchange operator records membership).",
            )
        if side == "buy" and ALLOWANCE_SCHEME in eligibility.schemes:
            year = (
                eligibility.vintage_to or eligibility.vintage_from or fiscal_year_of(trade_date(at))
            )
            if not allowances.may_hold(conn, pid, year):
                holders = ", ".join(gx_rules(year).allowance_holders)
                raise Forbidden(
                    "allowance_holder_not_permitted",
                    f"{pid} may not buy {instrument.id}: the FY{year} rules of GX-ETS let only "
                    f"these hold allowances: {holders}.",
                )

    def _fold_bars(
        self, conn: Connection, instrument: str, day: dt.date, price: int, quantity: int, seq: int
    ) -> None:
        """Fold one trade into its day, week and month bars, in memory; `_write_bars` writes
        each changed bar once at the end of the batch."""
        for interval in INTERVALS:
            key = (instrument, interval, period_start(day, interval).isoformat())
            known = self._bars.get(key)
            if key not in self._command_bars:
                self._command_bars[key] = (known, self._dirty_bars.get(key))
            if known is None:
                b = t.bars.c
                row = conn.execute(
                    _BAR.where(b.instrument_id == key[0], b.interval == key[1]).where(
                        b.period_start == key[2]
                    )
                ).first()
                known = (Bar.of(row), True) if row is not None else None
            bar = Bar.first(price, quantity) if known is None else known[0].add(price, quantity)
            self._bars[key] = (bar, known is not None and known[1])
            self._dirty_bars[key] = seq

    def _write_bars(self, conn: Connection) -> None:
        """Write the bars the batch changed: new ones in one INSERT, the others in one
        executemany UPDATE."""
        if not self._dirty_bars:
            return
        inserts, updates = [], []
        for key, seq in self._dirty_bars.items():
            bar, stored = self._bars[key]
            values = {
                "high": bar.high,
                "low": bar.low,
                "close": bar.close,
                "volume": bar.volume,
                "value": bar.value,
                "trades": bar.trades,
                "last_seq": seq,
            }
            if stored:
                named = {f"v_{k}": v for k, v in values.items()}
                updates.append({"k_i": key[0], "k_n": key[1], "k_p": key[2], **named})
            else:
                inserts.append(
                    {
                        "instrument_id": key[0],
                        "interval": key[1],
                        "period_start": key[2],
                        "open": bar.open,
                        **values,
                    }
                )
                self._bars[key] = (bar, True)
        self._dirty_bars.clear()
        if inserts:
            conn.execute(insert(t.bars), inserts)
        if updates:
            conn.execute(_UPDATE_BAR, updates)

    def _instrument(self, conn: Connection, instrument: str) -> Any:
        row = self._instruments.get(instrument)
        if row is None:
            row = self._instruments[instrument] = _instrument_row(conn, instrument)
        return row

    def _account(self, conn: Connection, account_id: str) -> Any:
        row = self._accounts.get(account_id)
        if row is None:
            row = repo.get_account(conn, account_id)
            if row is not None:
                self._accounts[account_id] = row
        return row

    def _fees_for(self, conn: Connection, instrument: str, side: str) -> FeeSchedule:
        key = (instrument, side)
        if key not in self._fees:
            self._fees[key] = fees_for(conn, instrument, side)
        return self._fees[key]

    def _order_fees(self, conn: Connection, order: Any) -> FeeSchedule:
        """The fees an order's trades pay: those in force when it was accepted (an order stored
        before they were recorded with it pays the current schedule)."""
        stored = loads(order.fees) if order.fees else None
        if not stored:
            return self._fees_for(conn, order.instrument_id, order.side)
        return FeeSchedule(stored["per_tonne"], stored["bps"], stored["per_trade"])

    # ------------------------------------------------------------------ applying one command

    def _apply(self, tx: Tx, job: _Job) -> object:
        handler: Callable[[Tx, Actor, dict[str, Any]], object] = getattr(
            self, f"_do_{job.kind}", None
        ) or functools.partial(COMMANDS[job.kind], self)
        idem: Idem | None = job.args.get("idem")
        pid = job.actor.participant_id
        if idem is not None:
            stored = self._batch_idem.get((pid, idem.key))
            if stored is None and not idem.fresh:
                row = repo.get_idempotency(tx.conn, pid, idem.key)
                stored = None if row is None else row._asdict()
            if stored is not None:
                if stored["fingerprint"] != idem.fingerprint:
                    raise Conflict(
                        "idempotency_key_reused",
                        "This Idempotency-Key was already used with a different request.",
                    )
                return _REPLAY[job.kind](json.loads(stored["response"]))
        body = handler(tx, job.actor, job.args)
        if idem is not None:
            self._batch_idem[(pid, idem.key)] = {
                "participant_id": pid,
                "key": idem.key,
                "fingerprint": idem.fingerprint,
                "status_code": 200 if job.kind == "cancel" else 201,
                "response": dumps(plain(body)),
                "created_at": tx.at,
            }
        return body

    def _write_idem(self, conn: Connection) -> None:
        """Record the batch's idempotency rows in one executemany INSERT."""
        if self._batch_idem:
            rows = list(self._batch_idem.values())
            self._batch_idem = {}
            run_many(conn, _IDEM_INSERT, rows)

    def _run_engine(
        self, tx: Tx, actor: Actor, command: ex.Command, ctx: _Context | None = None
    ) -> tuple[list[ex.Event], _Context]:
        ctx = ctx or _Context(tx, actor)
        self._ctx = ctx
        try:
            events = self.engine.handle(command)
        finally:
            self._ctx = None
        if any(not isinstance(e, ex.Rejected) for e in events):
            # from here on a failure leaves the engine ahead of the database
            self._engine_changed = True
        return events, ctx

    def _journal(
        self,
        tx: Tx,
        actor: Actor,
        kind: str,
        command: ex.Command,
        events: list[ex.Event],
        ctx: _Context,
        extra: dict[str, Any] | None = None,
    ) -> None:
        payload: dict[str, Any] = {
            "command": command_to_json(command),
            "events": [e.to_json() for e in events],
        }
        ctx.events_json = payload["events"]
        if ctx.pretrade_order is not None:
            payload["pretrade_order"] = ctx.pretrade_order
            payload["pretrade"] = ctx.pretrade
        if ctx.moves:
            payload["moves"] = ctx.moves
        if ctx.cash_reserve:
            payload["cash_reserve"] = ctx.cash_reserve
        full = payload | (extra or {})
        seq = tx.record(f"exchange.{kind}", actor.label, full)
        self._job_feed.append(
            {"seq": seq, "at": tx.at, "kind": f"exchange.{kind}", "payload": full}
        )

    def _pre_trade(self, req: ex.PreTradeRequest) -> str | None:
        """Reserve cash (buy) or credits (sell) for an order or an amendment, or say why not."""
        ctx = self._ctx
        assert ctx is not None, "pre-trade check outside a command"
        ctx.pretrade_order = req.order_id
        try:
            # no savepoint of its own: a refusal rejects the command, whose savepoint undoes it
            self._reserve_for(ctx, req)
        except TansoError as e:
            reason = {
                "insufficient_cash": ex.INSUFFICIENT_CASH,
                "insufficient_credits": ex.INSUFFICIENT_CREDITS,
            }.get(e.code, e.code)
            ctx.pretrade = reason
            ctx.pretrade_message = e.message
            return reason
        ctx.pretrade = None
        return None

    def _reserve_for(self, ctx: _Context, req: ex.PreTradeRequest) -> None:
        """Hold what an order needs through the escrow: a buy order's price x quantity of cash
        (fees come with the trade), a sell order's credits; an amendment resizes the hold."""
        tx = ctx.tx
        if req.side == "buy":
            fees = self._order_fees(tx.conn, self._order(tx.conn, req.order_id))
            need = buy_reservation(fees, req.unit_price, req.quantity, ctx.lot)
            if not req.amends:
                # the hold is named by the new order's id: there is none to read
                ctx.cash_reserve += escrow.reserve_cash(
                    tx, req.participant, ctx.currency, need, req.order_id, new_hold=True
                )
                return
            ctx.cash_reserve += escrow.resize_cash(
                tx, req.participant, ctx.currency, req.order_id, need
            )
            self._set_order(tx.conn, req.order_id, cash_price=req.unit_price)
            return
        if not req.amends:
            assert ctx.account_id is not None
            sel = registry.Selection(
                quantity=req.quantity if not ctx.serials else None, serials=ctx.serials
            )
            pieces, moves = escrow.reserve_credits(
                tx, ctx.account_id, sel, req.order_id, ctx.eligibility, new_hold=True
            )
            if ctx.serials and sum(p.quantity for p in pieces) != req.quantity:
                raise Conflict("insufficient_credits", "The designated serials do not match.")
            ctx.moves += moves
            return
        order = self._order(tx.conn, req.order_id)
        extra = req.quantity - order.remaining
        if extra > 0:
            _p, moves = escrow.reserve_credits(
                tx,
                order.account_id,
                registry.Selection(quantity=extra),
                req.order_id,
                ctx.eligibility,
            )
            ctx.moves += moves
        elif extra < 0:
            _p, moves = escrow.rehold_credits(tx, order.account_id, req.order_id, -extra, None)
            ctx.moves += moves

    # ------------------------------------------------------------------ persisting events

    def _persist(self, tx: Tx, ctx: _Context, events: Iterable[ex.Event]) -> list[Trade]:
        """Write what the engine's events mean: orders, trades, obligations, auctions."""
        conn = tx.conn
        trades: list[Trade] = []
        n = 0
        events = list(events)
        ctx.in_auction = any(isinstance(e, ex.AuctionResult) for e in events)
        for e in events:
            if isinstance(e, ex.Trade):
                n += 1
                trades.append(self._trade(tx, ctx, e, f"T{tx.next_seq()}-{n}"))
            elif isinstance(e, ex.Cancelled):
                self._cancelled(tx, ctx, e)
            elif isinstance(e, ex.Amended):
                row = self._order(conn, e.id)
                done = row.quantity - row.remaining  # filled and cancelled
                values: dict[str, Any] = {
                    "price": e.price,
                    "quantity": done + e.quantity,
                    "remaining": e.quantity,
                }
                if not e.kept_priority:
                    values["priority"] = self.engine.seq
                self._set_order(conn, e.id, **values)
            elif isinstance(e, ex.AuctionResult):
                repo.insert_row(
                    conn,
                    t.auctions,
                    instrument_id=e.instrument,
                    at=tx.at,
                    trade_date=trade_date(tx.at).isoformat(),
                    price=e.price,
                    volume=e.volume,
                    journal_seq=tx.next_seq(),
                    kind=e.kind,
                )
                conn.execute(
                    update(t.instruments)
                    .where(t.instruments.c.id == e.instrument)
                    .values(reference_price=e.reference_price)
                )
                self._instruments.pop(e.instrument, None)
            elif isinstance(e, ex.SessionChanged):
                conn.execute(
                    update(t.instruments)
                    .where(t.instruments.c.id == e.instrument)
                    .values(state=e.state)
                )
                self._instruments.pop(e.instrument, None)
        return trades

    def _trade(self, tx: Tx, ctx: _Context, e: ex.Trade, trade_id: str) -> Trade:
        conn = tx.conn
        buy, sell = self._order(conn, e.buy), self._order(conn, e.sell)
        instrument = self._instrument(conn, e.instrument)
        day = trade_date(tx.at)
        due = self.calendar.add_business_days(day, instrument.settlement_days)
        amount = e.price * e.quantity
        # each side pays the fees of its order's acceptance, never a schedule set since
        buyer_fee = self._order_fees(conn, buy).fee(e.price, e.quantity)
        seller_fee = min(self._order_fees(conn, sell).fee(e.price, e.quantity), amount)
        # the buyer's cash held at its order's price becomes a hold at the trade price, fee
        # included; the seller's credits held for its order become the trade's
        left = buy.remaining - e.quantity
        done = _trade_hold(
            tx,
            escrow.Deal(
                deal_id=trade_id,
                venue="exchange",
                buyer_id=e.buyer,
                seller_id=e.seller,
                buyer_account=buy.account_id,
                seller_account=sell.account_id,
                currency=instrument.currency,
                amount=amount,
                quantity=e.quantity,
                due_date=due,
                credit_hold=trade_id,
                cash_hold=trade_id,
                instrument_id=e.instrument,
                buyer_fee=buyer_fee,
                seller_fee=seller_fee,
            ),
            credits_from=e.sell,
            cash_from=e.buy,
            cash_left=self._buy_hold(tx, buy, left, instrument.lot),
            new_hold=True,  # the trade's hold is named by the new trade's id
        )
        ctx.cash_reserve += done.cash_reserve
        ctx.moves += done.moves
        for row in (buy, sell):
            left = row.remaining - e.quantity
            self._set_order(conn, row.id, remaining=left, status="filled" if left == 0 else "open")
        repo.insert_row(
            conn,
            t.trades,
            id=trade_id,
            instrument_id=e.instrument,
            price=e.price,
            quantity=e.quantity,
            currency=instrument.currency,
            buy_order_id=e.buy,
            sell_order_id=e.sell,
            buyer_id=e.buyer,
            seller_id=e.seller,
            auction=ctx.in_auction,
            trade_date=day.isoformat(),
            settlement_date=due.isoformat(),
            journal_seq=tx.next_seq(),
            at=tx.at,
        )
        self._fold_bars(conn, e.instrument, day, e.price, e.quantity, tx.next_seq())
        return Trade(
            id=trade_id,
            instrument=e.instrument,
            price=e.price,
            quantity=e.quantity,
            trade_date=day.isoformat(),
            settlement_date=due.isoformat(),
        )

    def _buy_hold(self, tx: Tx, order: Any, remaining: int, lot: int) -> int:
        """The cash a buy order holds for its remaining quantity, at its reserve price."""
        if not remaining:
            return 0
        return buy_reservation(self._order_fees(tx.conn, order), order.cash_price, remaining, lot)

    def _cancelled(self, tx: Tx, ctx: _Context, e: ex.Cancelled) -> None:
        conn = tx.conn
        row = self._order(conn, e.id)
        if row.side == "buy":
            lot = self._instrument(conn, row.instrument_id).lot
            need = self._buy_hold(tx, row, row.remaining - e.quantity, lot)
            ctx.cash_reserve += escrow.shrink_cash(tx, e.id, need)
        else:
            _p, moves = escrow.rehold_credits(tx, row.account_id, e.id, e.quantity, None)
            ctx.moves += moves
        left = row.remaining - e.quantity
        status = "open" if left else ("expired" if e.reason == ex.EXPIRED else "cancelled")
        self._set_order(
            conn,
            e.id,
            remaining=left,
            cancelled=row.cancelled + e.quantity,
            status=status,
            reason=e.reason,
        )

    # ------------------------------------------------------------------ the commands

    def _do_unit(self, tx: Tx, actor: Actor, a: dict[str, Any]) -> Any:
        """Another use case's unit of work in the batch: it reads and writes the database, so the
        memory is written before it and forgotten after it, unless the unit moves credits through
        the memory itself (``in_memory``)."""
        if a.get("in_memory"):
            return a["unit"](tx)
        self._ledger.flush()
        self._ledger.forget()
        self._write_orders(tx.conn)  # the unit may read orders (a reversal releases them)
        tx.ledger = None
        tx.cancel_order = lambda order_id: self._do_cancel(tx, actor, {"order_id": order_id})
        try:
            return a["unit"](tx)
        finally:
            tx.cancel_order = None
            self._ledger.forget()
            tx.ledger = self._ledger

    def _do_define(self, tx: Tx, actor: Actor, a: dict[str, Any]) -> Instrument:
        spec: InstrumentSpec = a["spec"]
        conn = tx.conn
        if repo.get_by_id(conn, t.instruments, spec.id) is not None:
            raise Conflict("instrument_exists", f"Instrument {spec.id} already exists.")
        if spec.reference_price is None:
            raise InvalidInput(
                "reference_price_required", "A new instrument needs a reference price."
            )
        command = ex.DefineInstrument(
            id=spec.id,
            mode=spec.mode,
            tick=spec.tick,
            lot=spec.lot,
            reference_price=spec.reference_price,
            price_limit_pct=spec.price_limit_pct,
            market_orders=spec.market_orders,
            currency=spec.currency,
        )
        events, ctx = self._run_engine(tx, actor, command)
        _raise_if_rejected(events)
        repo.insert_row(
            conn,
            t.instruments,
            id=spec.id,
            name_en=spec.name_en,
            name_ja=spec.name_ja,
            kind=spec.kind,
            eligibility=dumps(spec.eligibility.as_dict()),
            currency=spec.currency,
            tick=spec.tick,
            lot=spec.lot,
            price_limit_pct=spec.price_limit_pct,
            market_orders=spec.market_orders,
            mode=spec.mode,
            sessions=dumps(spec.sessions),
            settlement_days=spec.settlement_days,
            reference_price=spec.reference_price,
            state=ex.CLOSED,
            created_at=tx.at,
        )
        self._journal(
            tx,
            actor,
            "instrument",
            command,
            events,
            ctx,
            {"instrument": instrument_view_spec(spec)},
        )
        return instrument_view(_instrument_row(conn, spec.id), self.engine)

    def _do_session(self, tx: Tx, actor: Actor, a: dict[str, Any]) -> SessionChange:
        action, instrument = a["action"], a["instrument"]
        self._instrument(tx.conn, instrument)
        command_type: dict[str, Callable[[str], ex.Command]] = {
            "open": ex.OpenSession,
            "close": ex.CloseSession,
            "halt": ex.Halt,
            "resume": ex.Resume,
            "auction": ex.RunAuction,
            "pre_close": ex.PreClose,
        }
        command = command_type[action](instrument)
        events, ctx = self._run_engine(tx, actor, command)
        _raise_if_rejected(events)
        trades = self._persist(tx, ctx, events)
        self._journal(tx, actor, action, command, events, ctx)
        return SessionChange(
            **_instrument_values(self._instrument(tx.conn, instrument), self.engine),
            trades=trades,
            auctions=[
                AuctionEvent(
                    event="auction",
                    instrument=e.instrument,
                    price=e.price,
                    volume=e.volume,
                    kind=e.kind,
                    reference_price=e.reference_price,
                )
                for e in events
                if isinstance(e, ex.AuctionResult)
            ],
        )

    def _do_place(self, tx: Tx, actor: Actor, a: dict[str, Any]) -> PlacedOrder:
        o: NewOrder = a["order"]
        conn = tx.conn
        self._require_active(conn, actor)
        instrument = self._instrument(conn, o.instrument)
        account_id = o.account_id or f"{actor.participant_id}-MAIN"
        account = self._account(conn, account_id)
        if (
            account is None
            or account.participant_id != actor.participant_id
            or account.kind != AccountKind.HOLDING.value
        ):
            raise NotFound(
                "account_not_found", f"There is no holding account {account_id} of yours."
            )
        if o.serials and o.side != "sell":
            raise InvalidInput("serials_on_buy", "Only a sell order designates serials.")
        eligibility = _eligibility(instrument.eligibility)
        a_trader = actor.has(Role.TRADER) or actor.has(Role.MARKET_MAKER)
        if not a_trader and (o.side != "buy" or ALLOWANCE_SCHEME not in eligibility.schemes):
            raise Forbidden(
                "role_required",
                "Only a trader or market maker may place this order; the GX-ETS scheme "
                "administrator only buys allowances (its price-stability operation).",
            )
        self._may_trade(conn, actor.participant_id, instrument, eligibility, o.side, tx.at)
        self._check_window(tx, instrument)
        order_id = f"O{tx.next_seq()}"
        command = ex.PlaceOrder(
            id=order_id,
            instrument=o.instrument,
            participant=actor.participant_id,
            side=o.side,
            type=o.type,
            price=o.price,
            quantity=o.quantity,
            tif=o.tif,
        )
        ctx = _Context(
            tx,
            actor,
            account_id=account_id,
            serials=o.serials,
            currency=instrument.currency,
            lot=instrument.lot,
            eligibility=eligibility,
        )
        # the row exists (in memory, written with the batch) before the engine runs, so that
        # fills on arrival can update it
        self._insert_order(
            id=order_id,
            instrument_id=o.instrument,
            participant_id=actor.participant_id,
            agent_id=actor.agent_id,
            account_id=account_id,
            side=o.side,
            type=o.type,
            price=o.price,
            cash_price=None,
            fees=_fee_terms_text(self._fees_for(conn, o.instrument, o.side)),
            quantity=o.quantity,
            remaining=o.quantity,
            cancelled=0,
            tif=o.tif,
            status="open",
            priority=0,
            quote=self._quotes(conn, actor.participant_id, o.instrument, tx.at),
            client_order_id=o.client_order_id,
            reason=None,
            created_at=tx.at,
            updated_at=tx.at,
        )
        events, ctx = self._run_engine(tx, actor, command, ctx)
        rejected = next((e for e in events if isinstance(e, ex.Rejected)), None)
        if rejected is not None:
            detail = self._why(rejected.reason, instrument, o.price, o.quantity, ctx)
            raise OrderRejected(rejected.reason, None, detail)
        _lower, upper = self.engine.limits(o.instrument)
        cash_price = upper if o.price is None else o.price
        self._set_order(conn, order_id, priority=self._priority(order_id), cash_price=cash_price)
        trades = self._persist(tx, ctx, events)
        self._journal(
            tx,
            actor,
            "order",
            command,
            events,
            ctx,
            {"account": account_id, "client_order_id": o.client_order_id},
        )
        return _placed(self._order(conn, order_id), trades, ctx.events_json)

    def _why(
        self, reason: str, instrument: Any, price: int | None, quantity: int, ctx: _Context
    ) -> str:
        """The figures a refused order's sender needs: today's limits, the tick, the lot, what
        is free."""
        ident = instrument.id
        if reason == ex.OUTSIDE_PRICE_LIMIT and price is not None:
            lower, upper = self.engine.limits(ident)
            return (
                f"Today's limits for {ident} are ¥{lower:,} to ¥{upper:,}; "
                f"the price was ¥{price:,}."
            )
        if reason == ex.OFF_TICK and price is not None:
            return (
                f"The tick of {ident} is ¥{instrument.tick:,}; ¥{price:,} is not a multiple of it."
            )
        if reason == ex.NOT_WHOLE_LOT:
            return (
                f"The lot of {ident} is {instrument.lot:,} t; "
                f"{quantity:,} t is not a whole number of lots."
            )
        if reason in (ex.INSUFFICIENT_CASH, ex.INSUFFICIENT_CREDITS):
            return ctx.pretrade_message
        return ""

    def _check_window(self, tx: Tx, instrument: Any) -> None:
        """TSE: orders only inside the acceptance windows (when sessions are enforced)."""
        if not self.enforce_sessions:
            return
        plan = SessionPlan.from_dict(loads(instrument.sessions) or {})
        ts = dt.datetime.fromisoformat(tx.at.replace("Z", "+00:00"))
        if plan.accept and not plan.accepting(
            ts.astimezone(ZoneInfo(plan.timezone)), self.calendar
        ):
            raise OrderRejected(ex.MARKET_CLOSED)

    def _priority(self, order_id: str) -> int:
        market = self.engine.order_market.get(order_id)
        if market is None:
            return self.engine.seq
        return market.book.orders[order_id].seq

    def _own_open_order(self, conn: Connection, actor: Actor, order_id: str) -> Any:
        row = self._order(conn, order_id, missing_ok=True)
        if row is None or (row.participant_id != actor.participant_id and not actor.is_operator()):
            raise NotFound("order_not_found", f"There is no order {order_id} of yours.")
        if row.status != "open":
            raise Conflict("order_not_open", f"Order {order_id} is {row.status}.")
        return row

    def _do_cancel(self, tx: Tx, actor: Actor, a: dict[str, Any]) -> Order:
        row = self._own_open_order(tx.conn, actor, a["order_id"])
        command = ex.CancelOrder(row.id)
        events, ctx = self._run_engine(tx, actor, command)
        _raise_if_rejected(events)
        self._persist(tx, ctx, events)
        self._journal(tx, actor, "cancel", command, events, ctx)
        return order_view(self._order(tx.conn, row.id))

    def _do_cancel_all(self, tx: Tx, actor: Actor, a: dict[str, Any]) -> list[Order]:
        o = t.orders.c
        self._write_orders(tx.conn)  # the query below reads the table
        ids = tx.conn.execute(
            select(o.id).where(o.participant_id == a["participant"], o.status == "open")
        ).scalars()
        return [self._do_cancel(tx, actor, {"order_id": oid}) for oid in list(ids)]

    def _do_amend(self, tx: Tx, actor: Actor, a: dict[str, Any]) -> PlacedOrder:
        row = self._own_open_order(tx.conn, actor, a["order_id"])
        if not actor.is_system:
            self._require_active(tx.conn, actor)
        instrument = self._instrument(tx.conn, row.instrument_id)
        self._check_window(tx, instrument)
        command = ex.AmendOrder(row.id, quantity=a.get("quantity"), price=a.get("price"))
        ctx = _Context(
            tx,
            actor,
            account_id=row.account_id,
            currency=instrument.currency,
            lot=instrument.lot,
            eligibility=_eligibility(instrument.eligibility),
        )
        events, ctx = self._run_engine(tx, actor, command, ctx)
        rejected = next((e for e in events if isinstance(e, ex.Rejected)), None)
        if rejected is not None:
            price = a.get("price") if a.get("price") is not None else row.price
            quantity = a.get("quantity") or row.remaining
            detail = self._why(rejected.reason, instrument, price, quantity, ctx)
            raise OrderRejected(rejected.reason, row.id, detail)
        trades = self._persist(tx, ctx, events)
        self._journal(tx, actor, "amend", command, events, ctx)
        return _placed(self._order(tx.conn, row.id), trades, ctx.events_json)

    # ------------------------------------------------------------------ public use cases

    def define_instrument(self, actor: Actor, spec: InstrumentSpec) -> Instrument:
        """List an instrument for trading (exchange operator)."""
        require(actor, Role.EXCHANGE_OPERATOR, "list instruments")
        return cast(Instrument, self.submit(actor, "define", spec=spec))

    def session(self, actor: Actor, instrument: str, action: str) -> SessionChange:
        """Open, close, halt, resume, or run a call auction now (exchange operator)."""
        require(actor, Role.EXCHANGE_OPERATOR, "control trading sessions")
        if action not in ("open", "close", "halt", "resume", "auction", "pre_close"):
            raise InvalidInput("invalid_action", f"Unknown session action {action!r}.")
        return cast(
            SessionChange, self.submit(actor, "session", action=action, instrument=instrument)
        )

    def place(self, actor: Actor, order: NewOrder, idem: Idem | None = None) -> PlacedOrder:
        """Place an order; it reserves cash or credits first, then matches or rests."""
        _may_place(actor)
        return cast(PlacedOrder, self.submit(actor, "place", order=order, idem=idem))

    async def place_async(
        self, actor: Actor, order: NewOrder, idem: Idem | None = None
    ) -> PlacedOrder:
        """`place` for an async route: the request holds no thread while its batch commits."""
        _may_place(actor)
        return cast(PlacedOrder, await self.submit_async(actor, "place", order=order, idem=idem))

    def cancel(self, actor: Actor, order_id: str, idem: Idem | None = None) -> Order:
        """Cancel the rest of an open order; its holds are released."""
        return cast(Order, self.submit(actor, "cancel", order_id=order_id, idem=idem))

    def cancel_all(self, actor: Actor, participant_id: str) -> list[Order]:
        """Cancel every open order of a participant, one journal entry each, holds released
        (the operator, when it suspends the participant)."""
        require_operator(actor, "cancel a participant's orders")
        return cast(list[Order], self.submit(actor, "cancel_all", participant=participant_id))

    def amend(
        self,
        actor: Actor,
        order_id: str,
        quantity: int | None = None,
        price: int | None = None,
        idem: Idem | None = None,
    ) -> PlacedOrder:
        """Amend an open order: a smaller quantity keeps time priority; anything else loses it."""
        if quantity is None and price is None:
            raise InvalidInput("nothing_to_amend", "Give a new quantity or a new price.")
        return cast(
            PlacedOrder,
            self.submit(
                actor, "amend", order_id=order_id, quantity=quantity, price=price, idem=idem
            ),
        )

    def bust(
        self,
        actor: Actor,
        trade_id: str,
        reason_code: str,
        note: str = "",
        idem: Idem | None = None,
    ) -> Bust:
        """Cancel ("bust") a trade that has not settled (取引の取消): its obligation is cancelled,
        the buyer's cash and the seller's credits for it come back free, both orders' filled
        quantity goes down by the trade's (a live order keeps its remaining quantity and its
        priority: nothing goes back into the book), and the bars are recomputed without it and
        marked restated. One journal entry, `exchange.trade_busted`, which the stream publishes."""
        require(actor, Role.EXCHANGE_OPERATOR, "bust a trade")
        if reason_code not in BUST_REASONS:
            raise InvalidInput(
                "invalid_reason_code", f"reason_code is one of: {', '.join(BUST_REASONS)}."
            )
        if len(note) > 500:
            raise InvalidInput(
                "note_too_long", f"A note is at most 500 characters, not {len(note)}."
            )
        return cast(
            Bust,
            self.submit(
                actor, "bust", trade_id=trade_id, reason_code=reason_code, note=note, idem=idem
            ),
        )

    def _do_bust(self, tx: Tx, actor: Actor, a: dict[str, Any]) -> Bust:
        conn = tx.conn
        trade = repo.get_by_id(conn, t.trades, a["trade_id"])
        if trade is None:
            raise NotFound("trade_not_found", f"There is no trade {a['trade_id']}.")
        if trade.busted:
            raise Conflict(
                "trade_already_busted",
                f"Trade {trade.id} was busted at {trade.busted_at}; nothing more was done.",
            )
        ob = repo.get_by_key(conn, t.settlement_obligations, "deal_id", trade.id)
        if ob is not None and ob.status == "settled":
            raise Conflict(
                "trade_settled",
                f"Trade {trade.id} settled at {ob.settled_at}: a settled trade is undone by a "
                "dispute's remedy, not a bust.",
            )
        pieces: list[Any] = []
        moves: list[Any] = []
        reserve: list[Any] = []
        if ob is not None and ob.status in ("pending", "failed"):
            pieces, moves, reserve = escrow.release_deal(tx, ob)
        if ob is not None:
            conn.execute(
                update(t.settlement_obligations)
                .where(t.settlement_obligations.c.deal_id == trade.id)
                .values(status="busted")
            )
        conn.execute(
            update(t.trades)
            .where(t.trades.c.id == trade.id)
            .values(busted=True, busted_at=tx.at, bust_reason=a["reason_code"])
        )
        for oid in (trade.buy_order_id, trade.sell_order_id):
            row = self._order(conn, oid)
            quantity = row.quantity - trade.quantity
            values: dict[str, Any] = {"quantity": quantity, "updated_at": tx.at}
            if row.status == "filled" and quantity == 0:  # nothing of it traded after all
                values |= {"status": "cancelled", "reason": "trade_busted"}
            self._set_order(conn, oid, **values)
        self._restate_bars(conn, trade.instrument_id, dt.date.fromisoformat(trade.trade_date))
        bust = Bust(
            trade_id=trade.id,
            instrument=trade.instrument_id,
            price=trade.price,
            quantity=trade.quantity,
            trade_date=trade.trade_date,
            reason_code=a["reason_code"],
            note=a.get("note") or "",
            released_cash=-sum(r[1] for r in reserve),
            released_credits=sum(p.quantity for p in pieces),
            busted_at=tx.at,
        )
        event = {
            "event": "trade_busted",
            "trade": trade.id,
            "instrument": trade.instrument_id,
            "price": trade.price,
            "quantity": trade.quantity,
            "trade_date": trade.trade_date,
            "reason_code": bust.reason_code,
        }
        payload: dict[str, Any] = {
            "events": [event],
            "note": bust.note,
            "buyer": trade.buyer_id,
            "seller": trade.seller_id,
            "moves": moves,
            "cash_reserve": reserve,
        }
        seq = tx.record("exchange.trade_busted", actor.label, payload)
        bust_requests.trade_busted(tx, actor, trade, bust.reason_code, bust.note)
        self._job_feed.append(
            {"seq": seq, "at": tx.at, "kind": "exchange.trade_busted", "payload": payload}
        )
        return bust

    def _restate_bars(self, conn: Connection, instrument: str, day: dt.date) -> None:
        """The day's, week's and month's bars of an instrument again, from the trades that stand
        (the day) and the day bars (the week and month: imported history has day bars only),
        marked restated; a period left without trades loses its bar."""
        self._write_bars(conn)  # the batch's own folds first: the queries read the table
        for key in [k for k in self._bars if k[0] == instrument]:
            del self._bars[key]
        b, tr = t.bars.c, t.trades.c
        rows = conn.execute(
            select(tr.price, tr.quantity, tr.journal_seq)
            .where(tr.instrument_id == instrument, tr.trade_date == day.isoformat())
            .where(tr.busted.is_(False))
            .order_by(tr.journal_seq, tr.id)
        ).all()
        day_bar = bars_from_trades(((day, r.price, r.quantity) for r in rows), "1d").get(day)
        last = max((r.journal_seq for r in rows), default=0)
        self._put_bar(conn, instrument, "1d", day, day_bar, last)
        for interval in ("1w", "1mo"):
            start = period_start(day, interval)
            end = period_end(start, interval)
            days = conn.execute(
                select(t.bars)
                .where(b.instrument_id == instrument, b.interval == "1d")
                .where(b.period_start >= start.isoformat(), b.period_start <= end.isoformat())
                .order_by(b.period_start)
            ).all()
            combined = combine([Bar.of(r) for r in days])
            seq = max((r.last_seq for r in days), default=0)
            self._put_bar(conn, instrument, interval, start, combined, seq)

    @staticmethod
    def _put_bar(
        conn: Connection, instrument: str, interval: str, start: dt.date, bar: Bar | None, seq: int
    ) -> None:
        b = t.bars.c
        key = (b.instrument_id == instrument) & (b.interval == interval)
        key &= b.period_start == start.isoformat()
        conn.execute(delete(t.bars).where(key))
        if bar is not None:
            repo.insert_row(
                conn,
                t.bars,
                instrument_id=instrument,
                interval=interval,
                period_start=start.isoformat(),
                open=bar.open,
                high=bar.high,
                low=bar.low,
                close=bar.close,
                volume=bar.volume,
                value=bar.value,
                trades=bar.trades,
                last_seq=seq,
                restated=True,
            )

    # ------------------------------------------------------------------ reads

    def book(self, actor: Actor, instrument: str, depth: int = 10) -> Book:
        """Aggregated book depth, for logged-in participants only (never the public)."""
        with self._lock:
            market = self.engine.markets.get(instrument)
            if market is None:
                raise NotFound("instrument_not_found", f"There is no instrument {instrument}.")
            snap = self.engine.book_snapshot(instrument)
            indicative = self.engine.indicative(instrument)
        return Book(
            instrument=instrument,
            phase=snap["phase"],
            reference_price=snap["reference_price"],
            lower_limit=snap["lower_limit"],
            upper_limit=snap["upper_limit"],
            bids=_levels(snap.get("bids", []), depth),
            asks=_levels(snap.get("asks", []), depth),
            indicative_price=indicative.price,
            indicative_volume=indicative.volume,
        )


@dataclass(frozen=True, slots=True)
class BookLevel:
    """One price of the book: its total quantity and how many orders rest there."""

    price: int
    quantity: int
    orders: int


@dataclass(frozen=True, slots=True)
class Book:
    """Aggregated book depth (板) with the phase, reference price (基準値段) and price limits."""

    instrument: str
    phase: str
    reference_price: int
    lower_limit: int
    upper_limit: int
    bids: list[BookLevel]
    asks: list[BookLevel]
    indicative_price: int | None = None
    """試算値: the price a call auction held now would trade at (none if it would not trade,
    and in a continuous session)."""
    indicative_volume: int = 0
    """The quantity it would trade."""


def _levels(levels: list[Any], depth: int) -> list[BookLevel]:
    return [BookLevel(price=lv[0], quantity=lv[1], orders=len(lv[2])) for lv in levels[:depth]]


def fees_for(conn: Connection, instrument: str, side: str) -> FeeSchedule:
    row = repo.fee_schedule(conn, instrument, side)
    if row is None:
        return FREE
    return FeeSchedule(row.per_tonne, row.bps, row.per_trade, row.late_charge)


def _trade_hold(tx: Tx, deal: escrow.Deal, **holds: Any) -> escrow.DealEffects:
    """Hand a trade its holds; a refusal is told without naming either side: the market is
    anonymous, so a counterparty's account or participant never reaches the other party."""
    try:
        return escrow.open_deal(tx, deal, **holds)
    except TansoError as e:
        log.error("trade %s could not take its holds: %s", deal.deal_id, e)
        raise Conflict(
            "trade_not_possible",
            "A match could not take its holds; nothing was done. The operator has been told.",
        ) from e


@functools.lru_cache(maxsize=256)
def _eligibility(text: str) -> Eligibility:
    """An instrument's stored eligibility rule, parsed once."""
    return Eligibility.from_dict(loads(text))


@functools.lru_cache(maxsize=256)
def _fee_terms_text(schedule: FeeSchedule) -> str:
    """`fee_terms` as an order row stores them, encoded once per schedule."""
    return dumps(fee_terms(schedule))


def fee_terms(schedule: FeeSchedule) -> dict[str, int]:
    """What an order stores of its side's fee schedule when it is accepted."""
    return {"per_tonne": schedule.per_tonne, "bps": schedule.bps, "per_trade": schedule.per_trade}


def buy_reservation(fees: FeeSchedule, unit: int, quantity: int, lot: int) -> int:
    """Cash a buy order sets aside: price x quantity and the most its fees can come to."""
    return unit * quantity + fees.fee_cap(unit, quantity, lot)


def _may_place(actor: Actor) -> None:
    """A trader or a market maker places orders; so does the GX-ETS scheme administrator, but
    only buys of allowances (its price-stability operation, services/compliance/gx_market.py;
    checked where the instrument is known)."""
    if not any(actor.has(r) for r in (Role.TRADER, Role.MARKET_MAKER, Role.SCHEME_ADMINISTRATOR)):
        raise Forbidden("role_required", "Only a trader or market maker may place orders.")


def _raise_if_rejected(events: list[ex.Event]) -> None:
    for e in events:
        if isinstance(e, ex.Rejected):
            raise OrderRejected(e.reason, e.id)


def _instrument_row(conn: Connection, instrument: str) -> Any:
    row = repo.get_by_id(conn, t.instruments, instrument)
    if row is None:
        raise NotFound("instrument_not_found", f"There is no instrument {instrument}.")
    return row


def instrument_view_spec(spec: InstrumentSpec) -> dict[str, Any]:
    return {
        "id": spec.id,
        "name_en": spec.name_en,
        "name_ja": spec.name_ja,
        "kind": spec.kind,
        "eligibility": spec.eligibility.as_dict(),
        "currency": spec.currency,
        "tick": spec.tick,
        "lot": spec.lot,
        "price_limit_pct": spec.price_limit_pct,
        "market_orders": spec.market_orders,
        "mode": spec.mode,
        "sessions": spec.sessions,
        "settlement_days": spec.settlement_days,
    }


# ---------------------------------------------------------------- commands as JSON (journal)


def command_to_json(c: ex.Command) -> dict[str, Any]:
    """A command as journaled: its type and fields."""
    fields = cast(Any, c)._asdict()
    return {"command": type(c).__name__, **fields}


def command_from_json(d: dict[str, Any]) -> ex.Command:
    args = {k: v for k, v in d.items() if k != "command"}
    command: ex.Command = ex.COMMAND_TYPES[d["command"]](**args)
    return command


# ---------------------------------------------------------------- reads that need no engine


@dataclass(frozen=True, slots=True)
class Instrument:
    """An instrument with its rules, reference price (基準値段) and, while its market is live,
    today's price limits."""

    id: str
    name_en: str
    name_ja: str
    kind: str
    eligibility: dict[str, Any]
    currency: str
    tick: int
    lot: int
    price_limit_pct: int
    market_orders: bool
    mode: str
    sessions: dict[str, Any] | None
    settlement_days: int
    reference_price: int | None
    state: str
    lower_limit: int | None = omitted()
    upper_limit: int | None = omitted()


def instrument_view(row: Any, engine: ex.Engine | None = None) -> Instrument:
    """An instrument row as answered, with today's limits while its market is live."""
    return Instrument(**_instrument_values(row, engine))


def _instrument_values(row: Any, engine: ex.Engine | None) -> dict[str, Any]:
    lower = upper = None
    if engine is not None and row.id in engine.markets:
        lower, upper = engine.limits(row.id)
    return {
        "id": row.id,
        "name_en": row.name_en,
        "name_ja": row.name_ja,
        "kind": row.kind,
        "eligibility": loads(row.eligibility),
        "currency": row.currency,
        "tick": row.tick,
        "lot": row.lot,
        "price_limit_pct": row.price_limit_pct,
        "market_orders": bool(row.market_orders),
        "mode": row.mode,
        "sessions": loads(row.sessions),
        "settlement_days": row.settlement_days,
        "reference_price": row.reference_price,
        "state": row.state,
        "lower_limit": lower,
        "upper_limit": upper,
    }


@dataclass(frozen=True, slots=True)
class Trade:
    """A trade as its own parties see it when it happens (never the counterparty)."""

    id: str
    instrument: str
    price: int
    quantity: int
    trade_date: str
    settlement_date: str


@dataclass(frozen=True, slots=True)
class AuctionEvent:
    """A call auction's outcome (板寄せ): its price, or None (no trade), and its volume."""

    event: str
    instrument: str
    price: int | None
    volume: int
    kind: str
    reference_price: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionChange(Instrument):
    """The instrument after a session action, with the trades and auctions it caused."""

    trades: list[Trade]
    auctions: list[AuctionEvent]


def list_instruments(db: Database, exchange: Exchange | None = None) -> list[Instrument]:
    with db.read() as conn:
        rows = repo.list_table(conn, t.instruments, t.instruments.c.id)
        return [instrument_view(r, exchange.engine if exchange else None) for r in rows]


def get_instrument(db: Database, instrument: str, exchange: Exchange | None = None) -> Instrument:
    with db.read() as conn:
        return instrument_view(
            _instrument_row(conn, instrument), exchange.engine if exchange else None
        )


@dataclass(frozen=True, slots=True)
class Order:
    """An order as its owner (or the operator) reads it: `quantity` as placed or amended,
    `remaining`, `filled` and `cancelled` (cancelled or expired), which add up to it."""

    id: str
    instrument: str
    participant_id: str
    account_id: str | None
    side: str
    type: str
    price: int | None
    quantity: int
    remaining: int
    filled: int
    tif: str
    status: str
    reason: str | None
    client_order_id: str | None
    created_at: str
    quote: bool = False
    """An appointed market maker's order on its programme's instrument (気配)."""
    cancelled: int = 0
    """Cancelled or expired (or the unfilled rest of an IOC or FOK); never traded."""


def order_view(row: Any) -> Order:
    """An order row as its owner (or the operator) reads it."""
    return Order(**_order_values(row))


def _order_values(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "instrument": row.instrument_id,
        "participant_id": row.participant_id,
        "account_id": row.account_id,
        "side": row.side,
        "type": row.type,
        "price": row.price,
        "quantity": row.quantity,
        "remaining": row.remaining,
        "filled": row.quantity - row.remaining - row.cancelled,
        "cancelled": row.cancelled,
        "tif": row.tif,
        "status": row.status,
        "reason": row.reason,
        "client_order_id": row.client_order_id,
        "created_at": row.created_at,
        "quote": bool(row.quote),
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class PlacedOrder(Order):
    """An order just placed or amended, with its trades and its events in the book (as the
    journal records them: `accepted`, `trade`, `amended`, `cancelled` ...)."""

    trades: list[Trade]
    events: list[dict[str, Any]]


def _placed(row: Any, trades: list[Trade], events: list[dict[str, Any]]) -> PlacedOrder:
    return PlacedOrder(**_order_values(row), trades=trades, events=events)


@dataclass(frozen=True, slots=True)
class OwnTrade:
    """One of the caller's trades and its side; never the counterparty (trading is anonymous)."""

    id: str
    instrument: str
    side: str
    price: int
    quantity: int
    value: int
    currency: str
    order_id: str
    trade_date: str
    settlement_date: str
    settlement_status: str
    at: str
    busted: bool = False
    """Cancelled by the operator before it settled: it stands no more (issue 17)."""


BUST_REASONS = ("erroneous_order", "system_fault", "dispute_ruling", "other")
"""Why the operator busts a trade (docs/error-trades.md)."""


@dataclass(frozen=True, slots=True)
class Bust:
    """A trade the operator cancelled before it settled, and what that gave back."""

    trade_id: str
    instrument: str
    price: int
    quantity: int
    trade_date: str
    reason_code: str
    note: str
    released_cash: int
    """The buyer's cash held for the trade (price, quantity and fee), free again."""
    released_credits: int
    """The seller's credits held for the trade, free again."""
    busted_at: str


@dataclass(frozen=True, slots=True)
class PublicTrade:
    """A trade as the public sees it (約定価格): instrument, price, quantity, time; never who."""

    id: str
    instrument: str
    price: int
    quantity: int
    at: str
    seq: int
    auction: bool
    busted: bool = False
    """Cancelled by the operator before it settled: in no bar, index or report."""


@dataclass(frozen=True, slots=True)
class AuctionResult:
    """An auction's result: `price` is None when nothing traded; `kind` call, opening or
    closing."""

    instrument: str
    at: str
    trade_date: str
    price: int | None
    volume: int
    kind: str
    seq: int = 0
    """The auction's id: its journal entry (`POST .../auctions/{seq}/void`)."""
    voided: bool = False
    """Voided by the operator: its trades were busted (docs/void-auction.md)."""


def own_orders(
    db: Database, actor: Actor, status: str | None = None, limit: int = 100
) -> list[Order]:
    with db.read() as conn:
        o = t.orders.c
        q = select(t.orders).where(o.participant_id == actor.participant_id)
        if status:
            q = q.where(o.status == status)
        rows = conn.execute(q.order_by(o.created_at.desc(), o.id.desc()).limit(limit)).all()
        return [order_view(r) for r in rows]


def get_order(db: Database, actor: Actor, order_id: str) -> Order:
    with db.read() as conn:
        row = repo.get_by_id(conn, t.orders, order_id)
        if row is None or (row.participant_id != actor.participant_id and not actor.is_operator()):
            raise NotFound("order_not_found", f"There is no order {order_id} of yours.")
        return order_view(row)


def own_trades(db: Database, actor: Actor, limit: int = 100) -> list[OwnTrade]:
    """The caller's trades and its side; never the counterparty (trading is anonymous)."""
    with db.read() as conn:
        tr = t.trades.c
        ob = t.settlement_obligations.c
        q = (
            select(t.trades, ob.status.label("settlement_status"))
            .join(t.settlement_obligations, ob.deal_id == tr.id)
            .where((tr.buyer_id == actor.participant_id) | (tr.seller_id == actor.participant_id))
            .order_by(tr.journal_seq.desc(), tr.id)
            .limit(limit)
        )
        return [own_trade(r, actor.participant_id) for r in conn.execute(q)]


def own_trade(r: Any, participant_id: str | None) -> OwnTrade:
    """A trade row (with its ``settlement_status``) as one of its parties sees it: its side and
    its own order, never the counterparty."""
    side = "buy" if r.buyer_id == participant_id else "sell"
    return OwnTrade(
        id=r.id,
        instrument=r.instrument_id,
        side=side,
        price=r.price,
        quantity=r.quantity,
        value=r.price * r.quantity,
        currency=r.currency,
        order_id=r.buy_order_id if side == "buy" else r.sell_order_id,
        trade_date=r.trade_date,
        settlement_date=r.settlement_date,
        settlement_status=r.settlement_status,
        at=r.at,
        busted=bool(r.busted),
    )


def public_trades(
    db: Database, instrument: str | None = None, limit: int = 100
) -> list[PublicTrade]:
    """Trades as the public sees them: instrument, price, quantity, time; never who."""
    with db.read() as conn:
        tr = t.trades.c
        q = select(
            tr.id,
            tr.instrument_id,
            tr.price,
            tr.quantity,
            tr.at,
            tr.journal_seq,
            tr.auction,
            tr.busted,
        )
        if instrument:
            q = q.where(tr.instrument_id == instrument)
        rows = conn.execute(q.order_by(tr.journal_seq.desc(), tr.id.desc()).limit(limit)).all()
        return [
            PublicTrade(
                id=r.id,
                instrument=r.instrument_id,
                price=r.price,
                quantity=r.quantity,
                at=r.at,
                seq=r.journal_seq,
                auction=bool(r.auction),
                busted=bool(r.busted),
            )
            for r in rows
        ]


def auction_results(
    db: Database, instrument: str | None = None, limit: int = 100, kind: str | None = None
) -> list[AuctionResult]:
    """Each auction's result, newest first: `kind` call (節立会), opening or closing."""
    with db.read() as conn:
        a = t.auctions.c
        q = select(t.auctions)
        if instrument:
            q = q.where(a.instrument_id == instrument)
        if kind:
            q = q.where(a.kind == kind)
        rows = conn.execute(q.order_by(a.id.desc()).limit(limit)).all()
        since = min((r.journal_seq for r in rows), default=0)
        voided = voided_auctions(conn, instrument, since) if rows else set()
        return [
            AuctionResult(
                instrument=r.instrument_id,
                at=r.at,
                trade_date=r.trade_date,
                price=r.price,
                volume=r.volume,
                kind=r.kind,
                seq=r.journal_seq,
                voided=r.journal_seq in voided,
            )
            for r in rows
        ]


_REPLAY: dict[str, Callable[[Any], object]] = {
    "define": loader(Instrument),
    "session": loader(SessionChange),
    "place": loader(PlacedOrder),
    "cancel": loader(Order),
    "amend": loader(PlacedOrder),
    "bust": loader(Bust),
}
"""How a command's stored idempotent answer is rebuilt into the dataclass it answered."""

COMMANDS: dict[str, Callable[[Exchange, Tx, Actor, dict[str, Any]], object]] = {}
"""Sequencer commands that modules of their own define (`void_auction`): each module registers
its handler here, and its answer's loader in `_REPLAY`, so that this module never imports it."""

AUCTION_VOIDED = "exchange.auction_voided"


def voided_auctions(conn: Connection, instrument: str | None, since: int) -> set[int]:
    """The journal entries of the auctions voided (of one instrument, if given) among those
    from entry ``since`` on (a void comes after its auction: only that range is read)."""
    j = t.journal.c
    out = set()
    for (payload,) in conn.execute(
        select(j.payload).where(j.seq > since, j.kind == AUCTION_VOIDED)
    ):
        p = read_payload(payload)
        if instrument is None or p.get("instrument") == instrument:
            out.add(int(p["auction"]))
    return out
