"""Benchmark of settlement: `.venv/bin/python bench/settlement.py` (`--quick` for a small run).

For each backend (SQLite in a temporary file, PostgreSQL in the schema ``tanso_bench_settle``,
dropped and re-created) it:

1. creates a fresh database and, through the service layer, the operator, the reference data,
   20 buyers (each funded by a bank deposit), 20 sellers (each with one issuance), one instrument
   and fee schedules (buyers pay 2 yen a tonne and 10 bps, sellers 50 yen a trade);
2. bulk-loads what the exchange would have written for 10^5 trades (``--quick``: 10^4) with
   executemany INSERTs, instead of running auctions (through the exchange a trade costs about
   8 ms to create, so 10^5 would take a quarter of an hour): per trade a ``trades`` row, a
   pending ``settlement_obligations`` row with its fees, one block of the seller's issuance
   reserved under the trade id in the seller's account (the seller's issuance is re-cut into one
   block per trade, so every issuance's blocks still partition its range), and a cash
   reservation of value + buyer fee under the trade id, with the buyers' ``reserved`` raised to
   match. Trades are spread over twenty due dates, round robin, as twenty trading days would
   be; the bulk rows have no journal entries, so ``audit verify`` is not run on these databases;
3. times ``settlement.run`` for the first due date: one twentieth of the trades settle while the
   rest stay pending in the same tables; then the rate of each chunk of 500 (one transaction),
   and within chunks the rate of the first and of the last 100 obligations, to show whether it
   stays flat; and checks that the run settled them all.

Figures are wall time from ``time.perf_counter``; nothing is asserted beyond the count.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import os
import platform
import sqlite3
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, delete, func, insert, select, text, update

from tanso.domain.fees import FeeSchedule
from tanso.domain.instruments import Eligibility, InstrumentSpec
from tanso.services.clearing import settlement
from tanso.services.common import SYSTEM
from tanso.services.ledger import cash, participants, registry, taxonomy
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange
from tanso.store import migrate
from tanso.store import schema as t
from tanso.store.db import Database

PG_URL = os.environ.get("TANSO_BENCH_PG_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
PG_SCHEMA = "tanso_bench_settle"
PARTIES = 20  # buyers, and as many sellers
DAYS = 20  # due dates the trades are spread over
TRADE_DAY = dt.date(2026, 1, 5)
BUY_FEE = FeeSchedule(per_tonne=2, bps=10)
SELL_FEE = FeeSchedule(per_trade=50)


def clock() -> Any:
    ticks = itertools.count()

    def now() -> str:
        i = next(ticks)
        minutes, seconds, micros = i // 60_000_000 % 60, i // 1_000_000 % 60, i % 1_000_000
        return f"2026-01-05T00:{minutes:02d}:{seconds:02d}.{micros:06d}Z"

    return now


@dataclass
class Result:
    backend: str
    trades: int
    due: int = 0
    load_s: float = 0.0
    run_s: float = 0.0
    settled: int = 0
    chunk_rates: list[float] = field(default_factory=list)
    first_100: list[float] = field(default_factory=list)
    last_100: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.settled / self.run_s if self.run_s else 0.0


def _open(backend: str, tmp: Path) -> Database:
    if backend == "sqlite":
        return Database(f"sqlite:///{tmp / 'settle.db'}", clock())
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {PG_SCHEMA}"))
    admin.dispose()
    return Database(PG_URL, clock(), pg_schema=PG_SCHEMA)


def _setup(db: Database, trades: int) -> tuple[list[str], list[tuple[str, str]], list[dt.date]]:
    """Participants, funds, issuances, instrument and fees through the service layer."""
    migrate.upgrade(db.engine)
    participants.bootstrap(db)
    taxonomy.seed_reference_data(db, SYSTEM)
    buyers = [f"BUY{i:03d}" for i in range(PARTIES)]
    sellers = [f"SEL{i:03d}" for i in range(PARTIES)]
    for n, pid in enumerate(buyers + sellers):
        participants.create_participant(
            db,
            SYSTEM,
            participants.NewParticipant(
                f"{pid} 株式会社",
                f"{pid} Corp.",
                "corporation",
                ["trader"],
                _corporate_number(n),
                False,
                pid,
            ),
        )
        participants.set_status(db, SYSTEM, pid, "active")
    for pid in buyers:
        cash.deposit(db, SYSTEM, pid, "JPY", 10**13, f"bank-{pid}")
    taxonomy.register_project(
        db, SYSTEM, taxonomy.NewProject("PB001", "JC", "Bench project", "ENERGY_SAVING", "JP")
    )
    per_seller = -(-trades // PARTIES) * 10
    issuances = []
    for n, pid in enumerate(sellers):
        out = registry.issue(
            db,
            SYSTEM,
            registry.NewIssuance("PB001", "ER", str(n + 1), 2022, per_seller, f"{pid}-MAIN"),
        )
        issuances.append((pid, out.issuance_id))
    x = Exchange(db, japan_calendar())
    x.define_instrument(
        SYSTEM,
        InstrumentSpec(
            "ESB",
            "Energy saving",
            "省エネ",
            Eligibility(categories=("ENERGY_SAVING",)),
            reference_price=2_000,
        ),
    )
    settlement.set_fees(db, SYSTEM, "ESB", "buy", BUY_FEE)
    settlement.set_fees(db, SYSTEM, "ESB", "sell", SELL_FEE)
    cal = japan_calendar()
    dues = [cal.add_business_days(TRADE_DAY, 5 + d) for d in range(DAYS)]
    return buyers, issuances, dues


def _corporate_number(n: int) -> str:
    from tanso.domain.participants import corporate_number_check_digit

    base = str(200000000001 + n).zfill(12)
    return f"{corporate_number_check_digit(base)}{base}"


def _load(
    db: Database,
    trades: int,
    buyers: list[str],
    issuances: list[tuple[str, str]],
    dues: list[dt.date],
) -> None:
    """What the exchange would have written for `trades` trades, in bulk."""
    rows_trades, rows_obs, rows_blocks, rows_res = [], [], [], []
    reserved: dict[str, int] = {}
    next_serial = {iss: 1 for _pid, iss in issuances}
    for i in range(trades):
        tid = f"T{100_000_000 + i}-1"
        buyer = buyers[i % PARTIES]
        seller, iss = issuances[(i // PARTIES + i) % PARTIES]
        quantity = 1 + i % 10
        price = 1_990 + i % 21
        amount = price * quantity
        buyer_fee = BUY_FEE.fee(price, quantity)
        seller_fee = min(SELL_FEE.fee(price, quantity), amount)
        due = dues[i % DAYS].isoformat()
        start = next_serial[iss]
        next_serial[iss] = start + quantity
        buyer_cash = cash.cash_account_id(buyer, "JPY")
        reserved[buyer_cash] = reserved.get(buyer_cash, 0) + amount + buyer_fee
        rows_trades.append(
            {
                "id": tid,
                "instrument_id": "ESB",
                "price": price,
                "quantity": quantity,
                "currency": "JPY",
                "buy_order_id": f"OB{i}",
                "sell_order_id": f"OS{i}",
                "buyer_id": buyer,
                "seller_id": seller,
                "auction": True,
                "trade_date": TRADE_DAY.isoformat(),
                "settlement_date": due,
                "journal_seq": 0,
                "at": "2026-01-05T02:00:00.000000Z",
            }
        )
        rows_obs.append(
            {
                "deal_id": tid,
                "status": "pending",
                "buyer_id": buyer,
                "seller_id": seller,
                "buyer_account": f"{buyer}-MAIN",
                "seller_account": f"{seller}-MAIN",
                "currency": "JPY",
                "amount": amount,
                "quantity": quantity,
                "due_date": due,
                "credit_reservation": tid,
                "cash_reservation": tid,
                "buyer_fee": buyer_fee,
                "seller_fee": seller_fee,
                "late_charge": 0,
            }
        )
        rows_blocks.append(
            {
                "issuance_id": iss,
                "serial_start": start,
                "serial_end": start + quantity - 1,
                "account_id": f"{seller}-MAIN",
                "status": "reserved",
                "vintage": 2022,
                "reservation": tid,
            }
        )
        rows_res.append({"id": tid, "cash_account_id": buyer_cash, "amount": amount + buyer_fee})
    with db.engine.begin() as conn:
        b = t.blocks.c
        issued = {r.id: r.quantity for r in conn.execute(select(t.issuances))}
        for pid, iss in issuances:
            # re-cut each seller's issuance: one reserved block per trade, the rest held
            conn.execute(delete(t.blocks).where(b.issuance_id == iss))
            if next_serial[iss] <= issued[iss]:
                rows_blocks.append(
                    {
                        "issuance_id": iss,
                        "serial_start": next_serial[iss],
                        "serial_end": issued[iss],
                        "account_id": f"{pid}-MAIN",
                        "status": "held",
                        "vintage": 2022,
                        "reservation": None,
                    }
                )
        for table, rows in (
            (t.trades, rows_trades),
            (t.settlement_obligations, rows_obs),
            (t.blocks, rows_blocks),
            (t.cash_reservations, rows_res),
        ):
            for k in range(0, len(rows), 10_000):
                conn.execute(insert(table), rows[k : k + 10_000])
        c = t.cash_accounts.c
        for cid, amount in reserved.items():
            conn.execute(update(t.cash_accounts).where(c.id == cid).values(reserved=amount))
    if not db.is_sqlite:
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))


def _timed_run(db: Database, date: dt.date, result: Result) -> None:
    """settlement.run for one date, with the time of each chunk (one transaction)."""
    marks: list[float] = []
    due = settlement._due

    def timing_due(conn: Any, day: dt.date, after: str | None, limit: int) -> Any:
        marks.append(time.perf_counter())
        return due(conn, day, after, limit)

    settle_one = settlement._settle_one
    ends: list[float] = []

    def timing_settle_one(*args: Any, **kwargs: Any) -> Any:
        out = settle_one(*args, **kwargs)
        ends.append(time.perf_counter())
        return out

    setattr(settlement, "_due", timing_due)  # noqa: B010 (a plain assignment fails mypy)
    setattr(settlement, "_settle_one", timing_settle_one)  # noqa: B010
    try:
        t0 = time.perf_counter()
        out = settlement.run(db, SYSTEM, date, early=True)
        result.run_s = time.perf_counter() - t0
    finally:
        setattr(settlement, "_due", due)  # noqa: B010
        setattr(settlement, "_settle_one", settle_one)  # noqa: B010
    n = settlement.CHUNK
    for k in range(0, len(ends) - n + 1, n):
        chunk = ends[k : k + n]
        result.first_100.append(100 / (chunk[100] - chunk[0]))
        result.last_100.append(100 / (chunk[-1] - chunk[-101]))
    result.settled = out["settled"]
    assert out["failed"] == 0, out
    result.chunk_rates = [settlement.CHUNK / (b - a) for a, b in itertools.pairwise(marks)]
    with db.read() as conn:
        o = t.settlement_obligations.c
        left = conn.execute(
            select(func.count()).where(o.status == "pending", o.due_date == date.isoformat())
        ).scalar_one()
    assert left == 0, f"{left} obligations due {date} are still pending"


def bench(backend: str, trades: int) -> Result:
    result = Result(backend, trades)
    with tempfile.TemporaryDirectory() as tmp:
        db = _open(backend, Path(tmp))
        try:
            buyers, issuances, dues = _setup(db, trades)
            t0 = time.perf_counter()
            _load(db, trades, buyers, issuances, dues)
            result.load_s = time.perf_counter() - t0
            result.due = len(range(0, trades, DAYS))
            _timed_run(db, dues[0], result)
        finally:
            db.dispose()
    return result


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:.3g}"


def table(results: list[Result]) -> str:
    lines = [
        "| backend | trades | due and settled | load s | run s | obligations/s "
        "| chunk rate min–median–max | first 100 of a chunk /s | last 100 of a chunk /s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        rates = r.chunk_rates or [r.rate]
        first = statistics.median(r.first_100) if r.first_100 else 0.0
        last = statistics.median(r.last_100) if r.last_100 else 0.0
        lines.append(
            f"| {r.backend} | {r.trades:,} | {r.settled:,} | {r.load_s:.1f} | {r.run_s:.1f} "
            f"| {_fmt(r.rate)} | {_fmt(min(rates))}–{_fmt(statistics.median(rates))}–"
            f"{_fmt(max(rates))} | {_fmt(first)} | {_fmt(last)} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10^4 trades instead of 10^5")
    ap.add_argument("--trades", type=int, default=None, help="number of trades to load")
    ap.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    args = ap.parse_args()
    trades = args.trades or (10_000 if args.quick else 100_000)
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    started = time.perf_counter()
    results = []
    for backend in backends:
        r = bench(backend, trades)
        results.append(r)
        print(f"{backend}: {r.settled:,} settled in {r.run_s:.1f} s, {r.rate:,.0f}/s", flush=True)
    print()
    print(
        f"Python {platform.python_version()}, {os.cpu_count()} cores, "
        f"SQLite {sqlite3.sqlite_version}; whole run {time.perf_counter() - started:.0f} s"
    )
    print()
    print(table(results))
    if len(results) == 2 and results[0].rate and results[1].rate:
        print()
        print(
            f"PostgreSQL / SQLite, obligations per second: {results[1].rate / results[0].rate:.2f}"
        )


if __name__ == "__main__":
    main()
