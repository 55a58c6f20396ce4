"""The sequencer against its database: `.venv/bin/python bench/sequencer.py` (`--quick`: small).

Orders per second through `Exchange.place` called directly (no HTTP), from 1, 8 and 64
submitter threads, each its own participant sending non-crossing limit orders one after another;
each answer waits for the commit of its batch, as over HTTP. Beside it, in the same run and on
the same database, the two limits the issue measures the sequencer against:

- one INSERT and one COMMIT per row from Python, with as many threads (the rate when every answer
  waits for a commit of its own);
- 100-row batched INSERTs, one COMMIT each (the rows a group commit can write per second).

Per order it also counts the SQL statements the sequencer ran and the rows it inserted or updated
(a SQLAlchemy event listener on the engine), so statements per order can be set against the
database's batched row rate. Prints a table per backend and the ratios.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table, event, insert

from orders import INSTRUMENT, REFERENCE, database, prepare  # bench/ is on sys.path
from tanso.domain.participants import Role
from tanso.services.common import Actor
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange, NewOrder
from tanso.settings import utc_now
from tanso.store.db import Database

CONCURRENCY = (1, 8, 64)


@dataclass
class Point:
    backend: str
    threads: int
    orders_per_s: float
    statements: float
    rows: float
    p99_ms: float
    one_commit_rows_per_s: float
    batched_rows_per_s: float


class Counter:
    """SQL statements and rows written on an engine, while `on`."""

    def __init__(self, engine: Any) -> None:
        self.on = False
        self.statements = 0
        self.rows = 0
        event.listen(engine, "after_cursor_execute", self._seen)

    def _seen(self, _conn: Any, cursor: Any, statement: str, *_a: Any) -> None:
        if not self.on:
            return
        self.statements += 1
        head = statement.lstrip()[:6].upper()
        if head in ("INSERT", "UPDATE", "DELETE") and cursor.rowcount and cursor.rowcount > 0:
            self.rows += cursor.rowcount


def run_threads(threads: int, work: Any) -> tuple[float, list[float]]:
    """Start `threads` threads of `work(i, latencies)` together; wall seconds and latencies."""
    barrier = threading.Barrier(threads + 1)
    lat: list[list[float]] = [[] for _ in range(threads)]

    def body(i: int) -> None:
        barrier.wait()
        work(i, lat[i])

    pool = [threading.Thread(target=body, args=(i,)) for i in range(threads)]
    for th in pool:
        th.start()
    barrier.wait()
    start = time.perf_counter()
    for th in pool:
        th.join()
    return time.perf_counter() - start, [x for xs in lat for x in xs]


def sequencer_rate(
    x: Exchange, keys: list[tuple[str, str]], threads: int, per: int, counter: Counter, lap: int
) -> tuple[float, float, float, float]:
    """Orders/s, statements and rows per order, p99 ms: non-crossing orders (buys below the
    reference, sells above), each thread its own participant."""

    def work(i: int, lat: list[float]) -> None:
        pid = keys[i][0]
        buyer = i % 2 == 0
        actor = Actor(pid, frozenset({Role.TRADER}))
        for n in range(per):
            price = REFERENCE - 10 - (n % 50) if buyer else REFERENCE + 10 + (n % 50)
            order = NewOrder(
                INSTRUMENT,
                "buy" if buyer else "sell",
                1,
                price=price,
                client_order_id=f"s{lap}-{i}-{n}",
            )
            t0 = time.perf_counter()
            x.place(actor, order)
            lat.append(time.perf_counter() - t0)

    counter.statements = counter.rows = 0
    counter.on = True
    seconds, lat = run_threads(threads, work)
    counter.on = False
    n = threads * per
    lat.sort()
    return n / seconds, counter.statements / n, counter.rows / n, 1000 * lat[int(0.99 * len(lat))]


def database_rates(url: str, threads: int, rows: int) -> tuple[float, float]:
    """Rows/s with one INSERT + COMMIT per row, and with 100-row INSERTs + COMMIT, from
    `threads` threads, into a scratch table of the same database."""
    db = Database(url, utc_now)
    meta = MetaData()
    scratch = Table(
        "bench_scratch",
        meta,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("thread", Integer),
        Column("payload", String(64)),
    )
    meta.drop_all(db.engine)
    meta.create_all(db.engine)
    per = max(rows // threads, 1)

    def single(i: int, _lat: list[float]) -> None:
        for n in range(per):
            with db.engine.begin() as conn:
                conn.execute(insert(scratch).values(thread=i, payload=f"row {n}"))

    def batched(i: int, _lat: list[float]) -> None:
        for start in range(0, per * 10, 100):
            with db.engine.begin() as conn:
                conn.execute(
                    insert(scratch),
                    [{"thread": i, "payload": f"row {n}"} for n in range(start, start + 100)],
                )

    s1, _ = run_threads(threads, single)
    s2, _ = run_threads(threads, batched)
    meta.drop_all(db.engine)
    db.dispose()
    total_batched = threads * len(range(0, per * 10, 100)) * 100
    return threads * per / s1, total_batched / s2


def run_backend(backend: str, workdir: Path, per_total: int) -> list[Point]:
    out = []
    with database(backend, workdir) as url:
        keys = prepare(url, max(CONCURRENCY))
        db = Database(url, utc_now)
        x = Exchange(db, japan_calendar())
        x.start()
        counter = Counter(db.engine)
        try:
            for lap, threads in enumerate(CONCURRENCY):
                per = max(per_total // threads, 5)
                rate, stmts, rows, p99 = sequencer_rate(x, keys, threads, per, counter, lap)
                one, batched = database_rates(url, threads, min(per_total, 2_000))
                p = Point(backend, threads, rate, stmts, rows, p99, one, batched)
                out.append(p)
                print(
                    f"  {backend:<8} {threads:>2} submitters: {rate:7.0f} orders/s "
                    f"(p99 {p99:6.1f} ms, {stmts:4.1f} statements, {rows:4.1f} rows per order) | "
                    f"1 commit/row {one:7.0f} rows/s | 100-row batches {batched:8.0f} rows/s",
                    flush=True,
                )
        finally:
            x.stop()
            db.dispose()
    return out


def table(points: list[Point]) -> str:
    lines = [
        "| backend | submitters | orders/s | p99 ms | statements/order | rows/order "
        "| 1 commit per row, rows/s | orders/s ÷ that | 100-row batches, rows/s "
        "| rows written/s ÷ that |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for p in points:
        written = p.orders_per_s * p.rows
        lines.append(
            f"| {p.backend} | {p.threads} | {p.orders_per_s:,.0f} | {p.p99_ms:.1f} "
            f"| {p.statements:.1f} | {p.rows:.1f} | {p.one_commit_rows_per_s:,.0f} "
            f"| {p.orders_per_s / p.one_commit_rows_per_s:.2f} | {p.batched_rows_per_s:,.0f} "
            f"| {written / p.batched_rows_per_s:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small run")
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    per_total = 640 if args.quick else 3_200
    print(
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs; {per_total} orders per "
        "point, submitters and database on one machine",
        flush=True,
    )
    points: list[Point] = []
    with tempfile.TemporaryDirectory(prefix="tanso-bench-") as tmp:
        for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
            points += run_backend(backend, Path(tmp), per_total)
    print()
    print(table(points))


if __name__ == "__main__":
    main()
