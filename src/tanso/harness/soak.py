"""The crash soak: simulated participants trade, transfer, retire and settle against a real
`tanso serve` that is killed with SIGKILL at random moments; after each restart the books are
checked against what the clients were told.

What it checks after every restart (and once more at the end):

- every acknowledged request is there: orders (same participant and client order id),
  cancellations, transfers, retirements, settlement runs, auctions;
- nothing happened twice: a request whose answer was lost is resent with its Idempotency-Key until
  it gets one, and the database then holds exactly one of each (orders, transfers, retirements
  and settlement runs counted against the acknowledgements); re-sending an acknowledged request
  with its key returns the same answer and writes nothing; no fill without its trade; no
  obligation paid twice;
- cash and credits are conserved: each currency's balances sum to zero and the participants hold
  what was deposited; reservations match the reserved balances; each issuance's blocks partition
  its serials; retired credits equal the acknowledged retirements;
- the journal chain verifies and every balance folds from it (`services.audit.verify`).

It is a client of the server like any other (HTTP with `tanso.client`) plus reads of the database
for the checks; it never changes the server or writes to the database behind its back, except to
prepare the market before the first start. Randomness (who does what, when the server dies) comes
from one seed, so a run's choices repeat; the moments of the kills are counted in requests sent,
not in seconds. Shared with the load benchmark (bench/load.py): `scratch_database`,
`prepare_market`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, func, select, text

from tanso.client import ApiError, Client
from tanso.domain.instruments import Eligibility, InstrumentSpec
from tanso.domain.participants import corporate_number_check_digit
from tanso.harness.devserver import ServerProcess, free_port
from tanso.harness.nats_server import NatsServer
from tanso.services.common import SYSTEM
from tanso.services.ledger import audit, cash, participants, registry, taxonomy
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange
from tanso.settings import utc_now
from tanso.store import migrate
from tanso.store import schema as t
from tanso.store.db import Database
from tanso.stream_client import stream

PG_BASE = os.environ.get(
    "TANSO_SOAK_PG_URL",
    os.environ.get("TANSO_TEST_PG_URL", "postgresql+psycopg://root@127.0.0.1:5432/test"),
)
CONTINUOUS = "SOAK-C"
CALL = "SOAK-A"
REFERENCE = 2_000
CURRENCY = "JPY"
PURPOSE = "offset_scope1"
CASH_EACH = 10**12
CREDITS_EACH = 1_000_000
# the soak is about crashes, not about the rate limits: they are turned off for its server
SERVER_ENV = {"TANSO_RATE_LIMIT_KEY_PER_SECOND": "0", "TANSO_RATE_LIMIT_IP_PER_SECOND": "0"}
KEYED = ("order", "transfer", "retirement", "settlement")


# ---------------------------------------------------------------- the database and the market


@contextmanager
def scratch_database(backend: str, workdir: Path, name: str) -> Iterator[str]:
    """The URL of an empty database: a SQLite file in ``workdir``, or a PostgreSQL schema of its
    own (named after ``name`` and this process), dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{workdir / f'{name}.db'}"
        return
    if backend != "postgres":
        raise ValueError(f"unknown backend {backend!r}")
    schema = f"tanso_{name}_{os.getpid()}".replace("-", "_")
    admin = create_engine(PG_BASE)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{PG_BASE}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


@dataclass(frozen=True)
class Market:
    """What the clients know of the prepared market, and the totals the checks start from."""

    operator_key: str
    keys: dict[str, str]
    """API key of each trader (participant id -> key)."""
    deposited: int
    """Cash paid in from the bank, in minor units of JPY."""
    issued: int
    """Credits issued, in tonnes."""

    def account(self, pid: str) -> str:
        return f"{pid}-MAIN"


def _spec(instrument: str, mode: str) -> InstrumentSpec:
    return InstrumentSpec(
        instrument,
        f"Soak {mode}",
        "耐久試験",
        Eligibility(categories=("ENERGY_SAVING",)),
        mode=mode,
        reference_price=REFERENCE,
    )


def prepare_market(
    url: str, traders: int, *, instruments: tuple[tuple[str, str], ...] | None = None
) -> Market:
    """Migrate, bootstrap and fill a fresh database through the service layer: ``traders``
    participants, each with cash and credits (so each can buy and sell), and open instruments
    (by default one continuous and one call-auction market)."""
    instruments = instruments or ((CONTINUOUS, "continuous"), (CALL, "call"))
    db = Database(url, utc_now)
    try:
        migrate.upgrade(db.engine)
        boot = participants.bootstrap(db)
        taxonomy.seed_reference_data(db, SYSTEM)
        taxonomy.register_project(
            db, SYSTEM, taxonomy.NewProject("SOAK1", "JC", "Soak project", "ENERGY_SAVING", "JP")
        )
        keys = {}
        for i in range(traders):
            pid = f"TRADER{i:02d}"
            base = f"{700000000000 + i:012d}"
            number = f"{corporate_number_check_digit(base)}{base}"
            new = participants.NewParticipant(
                f"{pid} 株式会社", f"{pid} Corp.", "corporation", ["trader"], number, False, pid
            )
            keys[pid] = participants.onboard(db, SYSTEM, new, "soak")
            cash.deposit(db, SYSTEM, pid, CURRENCY, CASH_EACH, f"soak-{pid}")
            registry.issue(
                db,
                SYSTEM,
                registry.NewIssuance("SOAK1", "ER", str(i + 1), 2022, CREDITS_EACH, f"{pid}-MAIN"),
            )
        x = Exchange(db, japan_calendar())
        for inst, mode in instruments:
            x.define_instrument(SYSTEM, _spec(inst, mode))
            x.session(SYSTEM, inst, "open")
        return Market(str(boot.operator_key), keys, CASH_EACH * traders, CREDITS_EACH * traders)
    finally:
        db.dispose()


# ---------------------------------------------------------------- what the clients were told


@dataclass
class Ack:
    """One acknowledged request: what was sent (to send it again) and what came back."""

    kind: str
    participant: str
    key: str | None
    method: str
    path: str
    body: dict[str, Any] | None
    answer: dict[str, Any]
    lost: bool
    """The first answer was lost (the server died); this one came from a resend."""


@dataclass
class Ledger:
    """The clients' record, shared by every client thread."""

    acks: list[Ack] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    unknown_auctions: int = 0
    """Auction requests whose answer was lost (auctions take no key, so they are not resent)."""
    server_errors: list[str] = field(default_factory=list)
    pending: dict[str, tuple[str, dict[str, Any] | None]] = field(default_factory=dict)
    """Requests whose answer was lost and that are waiting to be resent: key -> (kind, body)."""
    inflight: dict[int, str] = field(default_factory=dict)
    """What each client thread is waiting for an answer to (thread id -> kind)."""
    restart_head: int = 0
    """The journal's last seq when the server last came back: a resent request whose answer
    names an earlier seq had applied before the crash (its answer is a replay)."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, ack: Ack) -> None:
        with self.lock:
            self.acks.append(ack)
            self.counts["acknowledged"] += 1
            seq = _seq_of(ack)
            if ack.lost and seq is not None:
                before = seq <= self.restart_head
                self.counts["lost, had applied" if before else "lost, applied on resend"] += 1

    def count(self, what: str, n: int = 1) -> None:
        with self.lock:
            self.counts[what] += n

    def of(self, kind: str) -> list[Ack]:
        with self.lock:
            return [a for a in self.acks if a.kind == kind]

    def unresolved(self, kind: str) -> list[dict[str, Any]]:
        """The bodies of the requests of a kind whose answer was lost and not yet resent."""
        with self.lock:
            return [body or {} for k, body in self.pending.values() if k == kind]


def _seq_of(ack: Ack) -> int | None:
    """The journal seq an order, transfer or retirement id is made of (O123, TR-123, RT-0123)."""
    if ack.kind not in ("order", "transfer", "retirement"):
        return None
    digits = str(ack.answer.get("id", "")).lstrip("ORT-")
    return int(digits) if digits.isdigit() else None


class Gate:
    """Lets client requests through while the server is up; the controller closes it, kills the
    server, waits for the requests in flight to fail, restarts, checks, and opens it again."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._open = True
        self._busy = 0
        self.sent = 0
        self.generation = 0

    def enter(self) -> int:
        with self._cond:
            while not self._open:
                self._cond.wait()
            self._busy += 1
            self.sent += 1
            self._cond.notify_all()
            return self.generation

    def leave(self) -> None:
        with self._cond:
            self._busy -= 1
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._open = False
            self.generation += 1

    def drain(self) -> None:
        with self._cond:
            while self._busy:
                self._cond.wait()

    def reopen(self) -> None:
        with self._cond:
            self._open = True
            self._cond.notify_all()

    def wait_sent(self, target: int, timeout: float) -> bool:
        """Wait until ``target`` requests have been sent (the moment of the next kill)."""
        with self._cond:
            return self._cond.wait_for(lambda: self.sent >= target, timeout)


# ---------------------------------------------------------------- the simulated participants


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    lost: bool


class Caller:
    """One participant's connection, sending each request until it gets an answer."""

    def __init__(self, base_url: str, key: str, gate: Gate, ledger: Ledger) -> None:
        self.client = Client(base_url, key, timeout=120)
        self.gate = gate
        self.ledger = ledger

    def close(self) -> None:
        self.client.close()

    def send(
        self,
        kind: str,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        key: str | None,
        *,
        resend: bool = True,
    ) -> Answer | None:
        """The server's answer; a lost one (connection reset, the server gone) is resent with the
        same key once the server is back, unless ``resend`` is false (None then)."""
        me = threading.get_ident()
        with self.ledger.lock:
            self.ledger.inflight[me] = kind
        try:
            return self._send(kind, method, path, body, key, resend)
        finally:
            with self.ledger.lock:
                self.ledger.inflight.pop(me, None)
                if key is not None:
                    self.ledger.pending.pop(key, None)

    def _send(
        self,
        kind: str,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        key: str | None,
        resend: bool,
    ) -> Answer | None:
        lost = False
        backoff = 0.05
        while True:
            self.gate.enter()
            try:
                data = self.client.request(method, path, json=body, idempotency_key=key)
                status = 200
            except ApiError as e:
                status, data = e.status, {"error": {"code": e.code, "message": e.message}}
            except httpx.TransportError:
                status, data = 0, {}  # no answer: the connection went with the server
            finally:
                self.gate.leave()
            if status == 0 or (
                status == 504 and data.get("error", {}).get("code") == "engine_timeout"
            ):
                # no answer, or a gateway lost the engine's: it may or may not have applied
                if not lost:
                    self.ledger.count("answers lost")
                    if key is not None:
                        with self.ledger.lock:
                            self.ledger.pending[key] = (kind, body)
                lost = True
                if not resend:
                    return None
                continue
            if status in (429, 503):
                # backpressure: the request was not taken; the same request again, a bit later
                self.ledger.count(f"answered {status}")
                time.sleep(backoff)
                backoff = min(1.0, backoff * 2)
                continue
            if status >= 500:
                self.ledger.server_errors.append(f"{method} {path}: {status} {data}")
            if lost:
                self.ledger.count("resent after a lost answer")
            return Answer(status, data if isinstance(data, dict) else {"list": data}, lost)


def _trader(
    pid: str,
    market: Market,
    base_url: str,
    gate: Gate,
    ledger: Ledger,
    stop: threading.Event,
    seed: int,
) -> None:
    """Place and cancel orders in both markets, transfer to other traders, retire."""
    rng = random.Random(seed)
    caller = Caller(base_url, market.keys[pid], gate, ledger)
    others = [p for p in market.keys if p != pid]
    open_orders: list[str] = []
    n = 0
    try:
        while not stop.is_set():
            n += 1
            key = f"soak-{pid}-{n}"
            roll = rng.random()
            if roll < 0.65:
                inst = CONTINUOUS if roll < 0.45 else CALL
                side = rng.choice(("buy", "sell"))
                shift = (-6, 2) if side == "buy" else (-2, 6)
                if inst == CALL:
                    shift = (-5, 5)
                body: dict[str, Any] = {
                    "instrument": inst,
                    "side": side,
                    "quantity": rng.randint(1, 20),
                    "price": REFERENCE + rng.randint(*shift),
                    "client_order_id": key,
                }
                kind, path = "order", "/v1/orders"
            elif roll < 0.75 and open_orders:
                oid = open_orders.pop(rng.randrange(len(open_orders)))
                ans = caller.send("cancel", "DELETE", f"/v1/orders/{oid}", None, None)
                assert ans is not None
                if ans.status < 300:
                    ledger.add(Ack("cancel", pid, None, "DELETE", "", None, ans.body, ans.lost))
                else:
                    ledger.count("refused")
                    ledger.count(f"refused: {ans.body.get('error', {}).get('code')}")
                continue
            elif roll < 0.8 and open_orders:
                oid = rng.choice(open_orders)
                change = {"price": REFERENCE + rng.randint(-5, 5)}
                if rng.random() < 0.5:
                    change = {"quantity": rng.randint(1, 20)}
                # no key on this route; sending the same amendment again is harmless
                ans = caller.send("amend", "PATCH", f"/v1/orders/{oid}", change, None)
                assert ans is not None
                if ans.status < 300:
                    ledger.add(Ack("amend", pid, None, "PATCH", "", change, ans.body, ans.lost))
                    if ans.body.get("status") != "open":
                        open_orders.remove(oid)
                else:
                    ledger.count("refused")
                    ledger.count(f"refused: {ans.body.get('error', {}).get('code')}")
                continue
            elif roll < 0.92:
                body = {
                    "from_account": market.account(pid),
                    "to_account": market.account(rng.choice(others)),
                    "quantity": rng.randint(1, 10),
                }
                kind, path = "transfer", "/v1/transfers"
            else:
                body = {
                    "account_id": market.account(pid),
                    "purpose": PURPOSE,
                    "quantity": rng.randint(1, 5),
                    "beneficiary": pid,
                }
                kind, path = "retirement", "/v1/retirements"
            ans = caller.send(kind, "POST", path, body, key)
            assert ans is not None
            if ans.status >= 300:
                ledger.count("refused")
                ledger.count(f"refused: {ans.body.get('error', {}).get('code')}")
                continue
            ledger.add(Ack(kind, pid, key, "POST", path, body, ans.body, ans.lost))
            if kind == "order" and ans.body.get("status") == "open":
                open_orders.append(str(ans.body["id"]))
    finally:
        caller.close()


def settle_through() -> str:
    """A date after every obligation the soak can make (T+5 business days of today)."""
    return (dt.date.today() + dt.timedelta(days=30)).isoformat()


def _operator(
    market: Market,
    base_url: str,
    gate: Gate,
    ledger: Ledger,
    stop: threading.Event,
    seed: int,
) -> None:
    """Run call auctions and settlement runs, one after the other, at random."""
    rng = random.Random(seed)
    caller = Caller(base_url, market.operator_key, gate, ledger)
    n = 0
    try:
        while not stop.is_set():
            n += 1
            if rng.random() < 0.6:
                path = f"/v1/instruments/{CALL}/auctions"
                # no Idempotency-Key on this route: a lost answer is not resent (it would run
                # another auction), only counted
                ans = caller.send("auction", "POST", path, None, None, resend=False)
                if ans is None:
                    with ledger.lock:
                        ledger.unknown_auctions += 1
                elif ans.status < 300:
                    ledger.add(
                        Ack("auction", "OPERATOR", None, "POST", path, None, ans.body, False)
                    )
                continue
            key = f"soak-operator-{n}"
            body = {"date": settle_through(), "early": True}
            ans = caller.send("settlement", "POST", "/v1/settlement/runs", body, key)
            assert ans is not None
            if ans.status < 300:
                ledger.add(
                    Ack(
                        "settlement", "OPERATOR", key, "POST", "/v1/settlement/runs", body,
                        ans.body, ans.lost,
                    )
                )  # fmt: skip
            else:
                ledger.count("refused")
    finally:
        caller.close()


# ---------------------------------------------------------------- a subscriber to the stream


class StreamWatcher:
    """One subscriber to every market's trades (`tanso.stream_client`, which reconnects and
    resumes with the last seq it saw), running across the crashes: it must see each committed
    trade once, and never one that a crash took back."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.ids: list[str] = []
        self.last_seq = 0
        self._cond = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._task: asyncio.Task[None] | None = None
        self._thread = threading.Thread(target=self._main, name="soak-stream", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _main(self) -> None:
        self._task = self._loop.create_task(self._watch())
        with contextlib.suppress(asyncio.CancelledError):
            self._loop.run_until_complete(self._task)
        self._loop.close()

    async def _watch(self) -> None:
        trades = ["trades"]
        async for msg in stream(self.base_url, ["*"], trades, since=0, max_backoff=0.5):
            with self._cond:
                self.ids += [e["id"] for e in msg["events"] if e.get("channel") == "trades"]
                self.last_seq = int(msg["seq"])
                self._cond.notify_all()

    def received(self) -> list[str]:
        with self._cond:
            return list(self.ids)

    def wait_for(self, seq: int, timeout: float) -> bool:
        """Wait until a message with ``seq`` or later has arrived."""
        with self._cond:
            return self._cond.wait_for(lambda: self.last_seq >= seq, timeout)

    def stop(self) -> None:
        if self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(timeout=30)


def check_stream(db: Database, watcher: StreamWatcher, *, complete: bool) -> list[str]:
    """No trade on the stream twice, none that is not in the database, and (``complete``: once
    the watcher has caught up) every trade of the database on the stream."""
    with db.read() as conn:
        rows = conn.execute(select(t.trades.c.id, t.trades.c.journal_seq)).all()
    stored = {r.id for r in rows}
    if complete and rows and not watcher.wait_for(max(r.journal_seq for r in rows), 120):
        return [f"the stream subscriber did not catch up (at seq {watcher.last_seq})"]
    seen = watcher.received()
    problems = [f"trade {i} streamed {n} times" for i, n in Counter(seen).items() if n > 1]
    problems += [f"trade {i} streamed but not in the database" for i in set(seen) - stored]
    if complete:
        problems += [f"trade {i} never streamed" for i in sorted(stored - set(seen))]
    return problems[:20]


# ---------------------------------------------------------------- the checks


def check_books(db: Database, market: Market, ledger: Ledger) -> list[str]:
    """Every invariant against the database; returns the violations (none: all hold).

    Call it only while no request is in flight. A request whose answer was lost and that has not
    been resent yet may or may not have applied: it is allowed for, at most once."""
    problems: list[str] = []
    report = audit.verify(db)
    problems += [f"audit: {p}" for p in report.problems]
    acks = {kind: ledger.of(kind) for kind in (*KEYED, "cancel", "auction")}
    unresolved = {kind: ledger.unresolved(kind) for kind in KEYED}
    tr = t.trades.c
    with db.read() as conn:
        orders = {r.id: r for r in conn.execute(select(t.orders)).all()}
        for a in acks["order"]:
            row = orders.get(a.answer["id"])
            if row is None:
                problems.append(f"acknowledged order {a.answer['id']} ({a.key}) is missing")
            elif (row.participant_id, row.client_order_id) != (a.participant, a.key):
                problems.append(f"order {row.id} is not the one acknowledged to {a.key}")
        problems += _at_most_once("orders", len(orders), acks["order"], unresolved["order"])
        twice = Counter((r.participant_id, r.client_order_id) for r in orders.values())
        problems += [f"client order id {k} stored {n} times" for k, n in twice.items() if n > 1]
        for a in acks["cancel"]:
            row = orders.get(a.answer["id"])
            if row is None or row.status != "cancelled":
                problems.append(f"acknowledged cancellation of {a.answer['id']} not in effect")

        traded: Counter[str] = Counter()
        trades = conn.execute(select(tr.id, tr.quantity, tr.buy_order_id, tr.sell_order_id)).all()
        for row in trades:
            traded[row.buy_order_id] += row.quantity
            traded[row.sell_order_id] += row.quantity
        for oid, r in orders.items():
            # quantity = filled + cancelled + remaining, whatever the order's status
            if traded[oid] != r.quantity - r.remaining - r.cancelled:
                problems.append(
                    f"order {oid} ({r.status}): quantity {r.quantity}, remaining {r.remaining}, "
                    f"traded {traded[oid]}"
                )

        m = t.credit_movements.c
        transfers = {r.ref for r in conn.execute(select(m.ref).where(m.kind == "transfer")).all()}
        acked_transfers = {a.answer["id"] for a in acks["transfer"]}
        problems += [f"acknowledged transfer {x} is missing" for x in acked_transfers - transfers]
        problems += _at_most_once(
            "transfers", len(transfers), acks["transfer"], unresolved["transfer"]
        )

        retired = dict(conn.execute(select(t.retirements.c.id, t.retirements.c.quantity)).all())
        for a in acks["retirement"]:
            if retired.get(a.answer["id"]) != a.answer["quantity"]:
                problems.append(f"acknowledged retirement {a.answer['id']} is missing or differs")
        problems += _at_most_once(
            "retirements", len(retired), acks["retirement"], unresolved["retirement"]
        )

        runs = {r.at for r in conn.execute(select(t.settlement_runs.c.at)).all()}
        problems += [
            f"acknowledged settlement run at {a.answer['at']} is missing"
            for a in acks["settlement"]
            if a.answer["at"] not in runs
        ]
        problems += _at_most_once(
            "settlement runs", len(runs), acks["settlement"], unresolved["settlement"]
        )
        auctions = conn.execute(
            select(func.count()).select_from(t.auctions).where(t.auctions.c.instrument_id == CALL)
        ).scalar_one()
        if not len(acks["auction"]) <= auctions <= len(acks["auction"]) + ledger.unknown_auctions:
            problems.append(
                f"auctions: {auctions} stored, {len(acks['auction'])} acknowledged, "
                f"{ledger.unknown_auctions} with a lost answer"
            )

        k = t.idempotency_keys.c
        keys = set(conn.execute(select(k.participant_id, k.key)).all())
        for a in (x for kind in KEYED for x in acks[kind]):
            if (a.participant, a.key) not in keys:
                problems.append(f"Idempotency-Key {a.key} of an acknowledged request is missing")

        problems += _obligations(conn, {r.id for r in trades})
        problems += _reservations(conn, orders)
        problems += _cash(conn, market)
        acked_retired = sum(a.answer["quantity"] for a in acks["retirement"])
        maybe = sum(int(body.get("quantity", 0)) for body in unresolved["retirement"])
        problems += _credits(conn, market, acked_retired, maybe)
    return problems


def _at_most_once(
    what: str, stored: int, acked: list[Ack], unresolved: list[dict[str, Any]]
) -> list[str]:
    """Stored: every acknowledged one, plus at most each of those whose answer was lost."""
    if len(acked) <= stored <= len(acked) + len(unresolved):
        return []
    return [
        f"{what}: {stored} stored, {len(acked)} acknowledged, {len(unresolved)} awaiting a resend "
        "(applied twice, or lost)"
    ]


def _obligations(conn: Any, trade_ids: set[str]) -> list[str]:
    problems = []
    e, m = t.cash_entries.c, t.credit_movements.c
    obligations = {r.deal_id: r for r in conn.execute(select(t.settlement_obligations)).all()}
    if set(obligations) != trade_ids:
        problems.append(f"{len(trade_ids)} trades but {len(obligations)} obligations")
    paid = dict(
        conn.execute(
            select(e.memo, func.count()).where(e.memo.like("trade %")).group_by(e.memo)
        ).all()
    )
    delivered = dict(
        conn.execute(
            select(m.ref, func.sum(m.serial_end - m.serial_start + 1))
            .where(m.kind == "settlement")
            .group_by(m.ref)
        ).all()
    )
    for tid, row in obligations.items():
        times = paid.get(f"trade {tid}", 0)
        want = 1 if row.status == "settled" else 0
        if times != want:
            problems.append(f"obligation {tid} ({row.status}) paid {times} times")
        quantity = int(delivered.get(tid, 0))
        if quantity != (row.quantity if row.status == "settled" else 0):
            problems.append(
                f"obligation {tid} ({row.status}) delivered {quantity} of {row.quantity}"
            )
    return problems


def _reservations(conn: Any, orders: dict[str, Any]) -> list[str]:
    """Nothing reserved that no open order or pending obligation holds, and each holds exactly
    its own: a sell order its remaining credits, a buy order its limit price times what remains
    (the soak sets no fees), an obligation its quantity and its amount."""
    problems = []
    b, r = t.blocks.c, t.cash_reservations.c
    credits = {
        res: int(n)
        for res, n in conn.execute(
            select(b.reservation, func.sum(b.serial_end - b.serial_start + 1))
            .where(b.reservation.is_not(None), b.status == "reserved")
            .group_by(b.reservation)
        ).all()
    }
    money = {res: int(n) for res, n in conn.execute(select(r.id, r.amount)).all() if n}
    want_credits: dict[str, int] = {}
    want_money: dict[str, int] = {}
    for oid, o in orders.items():
        if o.status != "open":
            continue
        if o.side == "sell":
            want_credits[oid] = o.remaining
        else:
            want_money[oid] = o.cash_price * o.remaining
    for ob in conn.execute(
        select(t.settlement_obligations).where(t.settlement_obligations.c.status == "pending")
    ).all():
        want_credits[ob.credit_reservation] = ob.quantity
        want_money[ob.cash_reservation] = ob.amount + ob.buyer_fee
    for what, got, want in (("credits", credits, want_credits), ("cash", money, want_money)):
        for res in sorted(set(got) | set(want)):
            if got.get(res, 0) != want.get(res, 0):
                problems.append(
                    f"{what} reserved under {res}: {got.get(res, 0)}, expected {want.get(res, 0)}"
                )
    return problems[:20]


def _cash(conn: Any, market: Market) -> list[str]:
    problems = []
    c, r = t.cash_accounts.c, t.cash_reservations.c
    accounts = conn.execute(select(c.id, c.kind, c.currency, c.balance, c.reserved)).all()
    total = sum(a.balance for a in accounts if a.currency == CURRENCY)
    if total != 0:
        problems.append(f"cash balances sum to {total}, not 0")
    held = sum(a.balance for a in accounts if a.currency == CURRENCY and a.kind != "external")
    if held != market.deposited:
        problems.append(f"participants hold {held} yen, {market.deposited} were deposited")
    reservations = dict(
        conn.execute(
            select(r.cash_account_id, func.sum(r.amount)).group_by(r.cash_account_id)
        ).all()
    )
    for a in accounts:
        if a.kind != "external" and a.reserved != int(reservations.get(a.id, 0) or 0):
            problems.append(
                f"cash {a.id}: reserved {a.reserved}, reservations {reservations.get(a.id, 0)}"
            )
    return problems


def _credits(conn: Any, market: Market, acked_retired: int, maybe: int) -> list[str]:
    problems = []
    b = t.blocks.c
    issued = dict(conn.execute(select(t.issuances.c.id, t.issuances.c.quantity)).all())
    if sum(issued.values()) != market.issued:
        problems.append(f"{sum(issued.values())} credits issued, {market.issued} expected")
    rows = conn.execute(
        select(b.issuance_id, b.serial_start, b.serial_end, b.status).order_by(
            b.issuance_id, b.serial_start
        )
    ).all()
    nxt: dict[str, int] = {}
    retired = 0
    for row in rows:
        expected = nxt.get(row.issuance_id, 1)
        if row.serial_start != expected:
            problems.append(
                f"issuance {row.issuance_id}: serials {expected}..{row.serial_start - 1} "
                "missing or held twice"
            )
        nxt[row.issuance_id] = row.serial_end + 1
        if row.status == "retired":
            retired += row.serial_end - row.serial_start + 1
    for iid, quantity in issued.items():
        if nxt.get(iid, 1) != quantity + 1:
            problems.append(f"issuance {iid}: blocks end at {nxt.get(iid, 1) - 1}, not {quantity}")
    if not acked_retired <= retired <= acked_retired + maybe:
        problems.append(
            f"{retired} credits retired, {acked_retired} acknowledged, {maybe} awaiting a resend"
        )
    return problems


def check_replays(base_url: str, market: Market, ledger: Ledger, rng: random.Random) -> list[str]:
    """Send a sample of acknowledged requests again with their keys: the same answer comes back
    and the journal does not move."""
    problems = []
    sample = [a for kind in KEYED for a in ledger.of(kind)]
    sample = rng.sample(sample, min(6, len(sample)))
    with Client(base_url, timeout=60) as public:
        before = public.request("GET", "/v1/journal/head")
        for a in sample:
            key = market.operator_key if a.participant == "OPERATOR" else market.keys[a.participant]
            with Client(base_url, key, timeout=60) as c:
                try:
                    again = c.request(a.method, a.path, json=a.body, idempotency_key=a.key)
                except ApiError as e:
                    problems.append(f"replay of {a.key}: {e}")
                    continue
            if again != a.answer:
                problems.append(f"replay of {a.key} answered differently: {again} != {a.answer}")
        after = public.request("GET", "/v1/journal/head")
    ledger.count("acknowledged requests replayed", len(sample))
    if after != before:
        problems.append(
            f"replaying acknowledged requests wrote to the journal: {before} -> {after}"
        )
    return problems


# ---------------------------------------------------------------- the run


class Single:
    """The single process (`tanso serve`): what a crash kills and a restart brings back."""

    def __init__(self, url: str, workdir: Path, port: int) -> None:
        self.url, self.workdir, self.port = url, workdir, port
        self.server = ServerProcess(url, workdir, port=port, env=SERVER_ENV)

    def crash(self, rng: random.Random) -> str:
        self.server.kill()
        return "server"

    def recover(self) -> None:
        self.server = ServerProcess(self.url, self.workdir, port=self.port, env=SERVER_ENV)

    def stop(self) -> None:
        self.server.stop()


class Cluster:
    """Gateways and engines (docs/deployment.md): one gateway at the clients' port, a leading
    engine and a standby, a NATS server of the soak's own. A crash kills the leading engine (the
    standby takes over; the killed one comes back as the next standby), the gateway (it comes
    back on its port) or NATS (it comes back on its port with its store; the others
    reconnect)."""

    VICTIMS = ("engine", "gateway", "nats")

    def __init__(self, url: str, workdir: Path, port: int) -> None:
        self.url, self.workdir, self.port = url, workdir, port
        self.nats = NatsServer(workdir)
        self.env = SERVER_ENV | {"TANSO_NATS_URL": self.nats.url}
        self.engines = [self._engine(), self._engine()]
        self._wait(lambda: self._leader() is not None, "an engine to lead")
        self.gateway = self._gateway()
        self.dead = ""

    def _engine(self) -> ServerProcess:
        return ServerProcess(self.url, self.workdir, env=self.env, role="engine")

    def _gateway(self) -> ServerProcess:
        return ServerProcess(self.url, self.workdir, port=self.port, env=self.env, role="gateway")

    @staticmethod
    def _ready(p: ServerProcess) -> bool:
        try:
            return httpx.get(f"{p.url}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def _leader(self) -> ServerProcess | None:
        return next((e for e in self.engines if self._ready(e)), None)

    @staticmethod
    def _wait(done: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + 60
        while not done():
            if time.monotonic() > deadline:
                raise RuntimeError(f"waited a minute for {what}")
            time.sleep(0.05)

    def crash(self, rng: random.Random) -> str:
        self.dead = rng.choice(self.VICTIMS)
        if self.dead == "engine":
            self._wait(lambda: self._leader() is not None, "an engine to lead")
            leader = self._leader()
            assert leader is not None
            leader.kill()
            self.engines.remove(leader)
        elif self.dead == "gateway":
            self.gateway.kill()
        else:
            self.nats.kill()
        return self.dead

    def recover(self) -> None:
        if self.dead == "engine":
            self.engines.append(self._engine())  # the next standby
        elif self.dead == "gateway":
            self.gateway = self._gateway()
        else:  # the same port and store: the engines and the gateway reconnect
            self.nats.restart()
        self._wait(lambda: self._leader() is not None, "an engine to lead")
        self._wait(lambda: self._ready(self.gateway), "the gateway")
        self._wait(self._through, "the gateway to reach the engine")

    def _through(self) -> bool:
        """A read the gateway forwards to the engine answers (NATS carries both ways)."""
        try:
            r = httpx.get(f"{self.gateway.url}/v1/instruments", timeout=5)
        except httpx.HTTPError:
            return False
        return r.status_code == 200

    def stop(self) -> None:
        for p in [self.gateway, *self.engines]:
            p.stop()
        self.nats.stop()


@dataclass
class SoakResult:
    backend: str
    kills: int
    seconds: float
    counts: Counter[str]
    by_kind: Counter[str]
    violations: list[str]

    def line(self) -> str:
        c = self.counts
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.by_kind.items()))
        return (
            f"{self.backend}: {c['acknowledged']} requests acknowledged ({kinds}); "
            f"{self.kills} crashes survived in {self.seconds:.0f} s; "
            f"{c['answers lost']} answers lost and resent "
            f"({c['lost, had applied']} had applied before the crash, "
            f"{c['lost, applied on resend']} applied on the resend), "
            f"{c['acknowledged requests replayed']} acknowledged requests replayed; "
            f"{c['refused']} refused (4xx); {c['trades streamed']} trades streamed to a subscriber "
            f"across the crashes; {len(self.violations)} invariant violations"
        )


def run(
    backend: str,
    *,
    kills: int,
    seconds: float,
    seed: int = 1,
    traders: int = 6,
    window: int = 120,
    workdir: Path,
    log: Callable[[str], None] = print,
    topology: str = "single",
) -> SoakResult:
    """One soak on one backend: up to ``kills`` SIGKILLs within ``seconds`` (the time bound stops
    the kills early: the result says how many there were), each after 1 to ``window`` further
    requests (drawn from ``seed``). ``topology``: "single" (`tanso serve`) or "cluster" (a
    gateway, two engines and NATS; PostgreSQL only)."""
    rng = random.Random(seed)
    started = time.monotonic()
    violations: list[str] = []
    ledger = Ledger()
    gate = Gate()
    stop = threading.Event()
    done = 0
    with scratch_database(backend, workdir, "soak") as url:
        market = prepare_market(url, traders)
        db = Database(url, utc_now)
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        procs: Single | Cluster = (Single if topology == "single" else Cluster)(url, workdir, port)
        threads = [
            threading.Thread(
                target=_trader,
                args=(pid, market, base_url, gate, ledger, stop, seed * 1000 + i),
                name=f"soak-{pid}",
                daemon=True,
            )
            for i, pid in enumerate(market.keys)
        ]
        threads.append(
            threading.Thread(
                target=_operator,
                args=(market, base_url, gate, ledger, stop, seed * 1000 + 999),
                name="soak-operator",
                daemon=True,
            )
        )
        watcher = StreamWatcher(base_url)
        watcher.start()
        for th in threads:
            th.start()
        try:
            while done < kills and time.monotonic() - started < seconds:
                # the moment of the kill: after a random number of further requests
                gate.wait_sent(gate.sent + rng.randint(1, window), timeout=60)
                gate.close()
                victim = procs.crash(rng)
                ledger.count(f"crashed: {victim}")
                with ledger.lock:
                    for kind in ledger.inflight.values():
                        ledger.counts[f"killed during: {kind}"] += 1
                gate.drain()
                done += 1
                try:
                    procs.recover()
                except RuntimeError as e:
                    violations.append(f"restart {done}: the server did not start: {e}")
                    break
                with db.read() as conn:
                    head = conn.execute(select(func.max(t.journal.c.seq))).scalar_one()
                with ledger.lock:
                    ledger.restart_head = int(head or 0)
                # before any client may resend: nothing acknowledged lost, nothing twice
                found = check_books(db, market, ledger)
                found += check_stream(db, watcher, complete=False)
                violations += [f"after crash {done}: {p}" for p in found]
                violations += [f"after crash {done}: {p}" for p in check_replays(
                    base_url, market, ledger, rng
                )]  # fmt: skip
                gate.reopen()
                if done % 10 == 0:
                    log(f"  {backend}: {done} crashes, {ledger.counts['acknowledged']} acks")
            # let every client finish its current request (a lost answer gets resent), then stop
            stop.set()
            gate.reopen()
            for th in threads:
                th.join(timeout=300)
            stuck = [th.name for th in threads if th.is_alive()]
            if stuck:
                violations.append(f"clients still waiting for an answer: {stuck}")
            violations += [f"at the end: {p}" for p in check_books(db, market, ledger)]
            found = check_stream(db, watcher, complete=True)
            violations += [f"at the end: {p}" for p in found]
            ledger.count("trades streamed", len(watcher.received()))
            violations += [f"server error: {s}" for s in ledger.server_errors]
        finally:
            stop.set()
            gate.reopen()
            watcher.stop()
            procs.stop()
            db.dispose()
    by_kind = Counter(a.kind for a in ledger.acks)
    return SoakResult(backend, done, time.monotonic() - started, ledger.counts, by_kind, violations)
