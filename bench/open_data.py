"""Benchmark of the open data files: `.venv/bin/python bench/open_data.py` (`--trades N`,
default 100,000; `--quick` for 10,000).

How long it takes to build one month's trades file (docs/open-data.md) from N trades of that
month, as CSV and as Parquet, on SQLite (a temporary file). The trades are written straight
into the trades table (one transaction, no journal entry), not through the exchange:
what is measured is the file, not the matching. Then the month is built ``--repeat`` times in
each form; the figures are the median wall time (``time.perf_counter``), rows per second and
bytes per row, and whether the builds gave identical bytes. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tanso.services.common import SYSTEM
from tanso.services.ledger import participants, taxonomy
from tanso.services.marketdata import open_data
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange
from tanso.services.trading.instruments import ensure_standard_instruments
from tanso.store import migrate
from tanso.store import schema as t
from tanso.store.db import Database

MONTH = "2026-11"
INSTRUMENT = "JPX-ENERGY-SAVING"


def clock() -> str:
    return "2026-12-06T00:00:00.000000Z"  # December: November is over


def fill(db: Database, n: int) -> float:
    """``n`` trades spread over November's days; the seconds it took."""
    started = time.perf_counter()
    rows = []
    for i in range(n):
        day = 1 + i * 30 // n
        rows.append(
            {
                "id": f"T{i + 1}-1",
                "instrument_id": INSTRUMENT,
                "price": 2_000 + i % 97,
                "quantity": 1 + i % 50,
                "currency": "JPY",
                "buy_order_id": f"B{i}",
                "sell_order_id": f"S{i}",
                "buyer_id": "BENCHBUY",
                "seller_id": "BENCHSELL",
                "auction": i % 10 == 0,
                "trade_date": f"{MONTH}-{day:02d}",
                "settlement_date": f"{MONTH}-{day:02d}",
                "journal_seq": 1_000 + i,
                "at": f"{MONTH}-{day:02d}T02:{i % 60:02d}:00.000000Z",
                "busted": False,
            }
        )
    # straight to the table, with no journal entry: a fixture of the benchmark, not a trade
    with db.engine.begin() as conn:
        for start in range(0, n, 5_000):
            conn.execute(t.trades.insert(), rows[start : start + 5_000])
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trades", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="10,000 trades")
    args = parser.parse_args()
    n = 10_000 if args.quick else max(1, args.trades)
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'open_data.db'}", clock)
        migrate.upgrade(db.engine)
        participants.bootstrap(db)
        taxonomy.seed_reference_data(db, SYSTEM)
        ensure_standard_instruments(db, Exchange(db, japan_calendar()))
        print(f"open data: {n:,} trades in {MONTH} (SQLite, Python {platform.python_version()})")
        print(f"  written in {fill(db, n):.2f} s")
        name = f"tanso-trades-{MONTH}"
        for form in open_data.FORMS:
            times, bodies = [], []
            for _ in range(max(1, args.repeat)):
                started = time.perf_counter()
                built = open_data.build_file(db, "trades", f"{name}.{form}")
                times.append(time.perf_counter() - started)
                bodies.append(built.body)
            median = statistics.median(times)
            size = len(bodies[0])
            same = all(b == bodies[0] for b in bodies)
            print(
                f"  {form:8s} {median:6.2f} s median of {len(times)}  "
                f"{n / median:10,.0f} rows/s  {size:12,} bytes  {size / n:6.1f} B/row  "
                f"identical: {same}"
            )
        db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
