"""Market data: `.venv/bin/python bench/market_data.py` (`--quick`: small).

1. Bar queries over 10^7 trades (`--quick`: 10^5), on SQLite and PostgreSQL. The trades are
   bulk-inserted (executemany on SQLite, COPY on PostgreSQL) over 10 instruments and ten years
   of business days, then folded into the bars table set-based: one INSERT ... SELECT ... GROUP BY
   for the day bars from the trades, and one each for weeks and months from the day bars (open
   and close come from the first and last trade or day by journal seq). The live server keeps the
   same table up to date trade by trade; a bar query never touches the trades. Timed:
   `marketdata.bars` for 1d, 1w and 1mo over the last year and over the whole history (the
   median of 21 calls, after one warm-up).
2. WebSocket fan-out to 1,000 clients on loopback (`--quick`: 100): a real server
   (`python -m tanso.cli serve`, SQLite) and N websocket clients in this process (asyncio), each
   subscribed to the instrument's trades. Trades are made one after another through the REST API
   (a sell, then a crossing buy); the next starts when every client has the previous one (or a
   10 s guard has passed). Latency is receipt time minus the message's `at`, which is the clock
   of the transaction that committed the trade (taken when it began, so it includes the commit).
   Printed: p50, p99 and max over every (client, message), and how many clients received every
   message exactly once, in order.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import random
import resource
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from websockets.asyncio.client import ClientConnection, connect

from tanso.domain.instruments import Eligibility, InstrumentSpec
from tanso.domain.participants import corporate_number_check_digit
from tanso.harness.devserver import ServerProcess as Server
from tanso.services.common import SYSTEM
from tanso.services.ledger import cash, participants, registry, taxonomy
from tanso.services.marketdata import events as marketdata
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange
from tanso.settings import utc_now
from tanso.store import migrate
from tanso.store.db import Database

PG_BASE = os.environ.get("TANSO_BENCH_PG_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
PG_SCHEMA = "tanso_bench_marketdata"
PG_URL = f"{PG_BASE}?options=-csearch_path%3D{PG_SCHEMA}"
INSTRUMENTS = [f"MD{i:02d}" for i in range(10)]
YEARS = 10
CHUNK = 100_000
REPEAT = 21


def _spec(inst: str) -> InstrumentSpec:
    return InstrumentSpec(
        inst,
        f"Bench {inst}",
        "ベンチ",
        Eligibility(categories=("ENERGY_SAVING",)),
        mode="continuous",
        reference_price=2_000,
    )


@contextmanager
def database(backend: str, workdir: Path, name: str) -> Iterator[str]:
    """A URL for an empty database of the backend; the PostgreSQL schema is dropped after."""
    if backend == "sqlite":
        yield f"sqlite:///{workdir / f'{name}.db'}"
        return
    admin = create_engine(PG_BASE)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {PG_SCHEMA}"))
    try:
        yield PG_URL
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
        admin.dispose()


# ---------------------------------------------------------------- 1. bar queries


def business_days(end: dt.date, years: int) -> list[dt.date]:
    start = end.replace(year=end.year - years)
    days = []
    d = start
    while d <= end:
        if d.weekday() < 5:
            days.append(d)
        d += dt.timedelta(days=1)
    return days


def trade_rows(n: int, days: list[dt.date]) -> Iterator[tuple[Any, ...]]:
    """n trades in journal order: spread evenly over the days, instruments round-robin."""
    rng = random.Random(7)
    price = dict.fromkeys(INSTRUMENTS, 2_000)
    per_day = max(1, n // len(days))
    for seq in range(1, n + 1):
        day = days[min(len(days) - 1, (seq - 1) // per_day)]
        inst = INSTRUMENTS[seq % len(INSTRUMENTS)]
        p = max(100, price[inst] + rng.randint(-3, 3))
        price[inst] = p
        iso = day.isoformat()
        yield (
            f"T{seq}",
            inst,
            p,
            rng.randint(1, 50),
            "JPY",
            f"B{seq}",
            f"S{seq}",
            "BUYER",
            "SELLER",
            False,
            iso,
            iso,
            seq,
            f"{iso}T01:00:00.000000Z",
        )


COLUMNS = (
    "id, instrument_id, price, quantity, currency, buy_order_id, sell_order_id, buyer_id, "
    "seller_id, auction, trade_date, settlement_date, journal_seq, at"
)


def load_trades(url: str, backend: str, n: int, days: list[dt.date]) -> None:
    if backend == "sqlite":
        con = sqlite3.connect(url.removeprefix("sqlite:///"))
        con.execute("PRAGMA synchronous=OFF")
        rows = trade_rows(n, days)
        marks = ",".join("?" * 14)
        while True:
            chunk = [r for _, r in zip(range(CHUNK), rows, strict=False)]
            if not chunk:
                break
            con.executemany(f"INSERT INTO trades ({COLUMNS}) VALUES ({marks})", chunk)
        con.commit()
        con.close()
        return
    import psycopg

    with psycopg.connect(PG_BASE.replace("postgresql+psycopg", "postgresql")) as con:
        con.execute(f"SET search_path TO {PG_SCHEMA}")
        with con.cursor() as cur, cur.copy(f"COPY trades ({COLUMNS}) FROM STDIN") as copy:
            for row in trade_rows(n, days):
                copy.write_row(row)
        con.execute("ANALYZE trades")


def fold_bars(db: Database, backend: str) -> None:
    """The bars table from the trades, set-based: days from trades, weeks and months from days."""
    if backend == "sqlite":
        week = "date(period_start, '-' || ((CAST(strftime('%w', period_start) AS INTEGER) + 6) % 7) || ' days')"  # noqa: E501
        month = "strftime('%Y-%m-01', period_start)"
    else:
        week = "to_char(date_trunc('week', period_start::date), 'YYYY-MM-DD')"
        month = "to_char(date_trunc('month', period_start::date), 'YYYY-MM-DD')"
    days = """
        INSERT INTO bars (instrument_id, interval, period_start, open, high, low, close,
                          volume, value, trades, last_seq)
        SELECT g.instrument_id, '1d', g.trade_date, o.price, g.hi, g.lo, c.price,
               g.vol, g.val, g.n, g.last
        FROM (SELECT instrument_id, trade_date, MIN(journal_seq) AS first,
                     MAX(journal_seq) AS last, MAX(price) AS hi, MIN(price) AS lo,
                     SUM(quantity) AS vol, SUM(price * quantity) AS val, COUNT(*) AS n
              FROM trades GROUP BY instrument_id, trade_date) g
        JOIN trades o ON o.instrument_id = g.instrument_id AND o.journal_seq = g.first
        JOIN trades c ON c.instrument_id = g.instrument_id AND c.journal_seq = g.last
    """
    with db.engine.begin() as conn:
        conn.execute(text(days))
        for interval, period in (("1w", week), ("1mo", month)):
            conn.execute(
                text(f"""
                INSERT INTO bars (instrument_id, interval, period_start, open, high, low, close,
                                  volume, value, trades, last_seq)
                SELECT g.instrument_id, '{interval}', g.p, o.open, g.hi, g.lo, c.close,
                       g.vol, g.val, g.n, g.last
                FROM (SELECT instrument_id, {period} AS p, MIN(period_start) AS first,
                             MAX(period_start) AS lastday, MAX(last_seq) AS last,
                             MAX(high) AS hi, MIN(low) AS lo, SUM(volume) AS vol,
                             SUM(value) AS val, SUM(trades) AS n
                      FROM bars WHERE interval = '1d' GROUP BY instrument_id, {period}) g
                JOIN bars o ON o.instrument_id = g.instrument_id AND o.interval = '1d'
                           AND o.period_start = g.first
                JOIN bars c ON c.instrument_id = g.instrument_id AND c.interval = '1d'
                           AND c.period_start = g.lastday
                """)
            )


def median_ms(fn: Any) -> float:
    fn()
    times = []
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1_000 * statistics.median(times)


def bench_bars(backend: str, n: int, workdir: Path) -> list[list[str]]:
    end = dt.date(2026, 11, 27)
    days = business_days(end, YEARS)
    rows = []
    with database(backend, workdir, "bench-bars") as url:
        db = Database(url, utc_now)
        migrate.upgrade(db.engine)
        participants.bootstrap(db)
        taxonomy.seed_reference_data(db, SYSTEM)
        x = Exchange(db, japan_calendar())
        for inst in INSTRUMENTS:
            x.define_instrument(SYSTEM, _spec(inst))
        t0 = time.perf_counter()
        load_trades(url, backend, n, days)
        load_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        fold_bars(db, backend)
        fold_s = time.perf_counter() - t0
        with db.engine.connect() as conn:
            totals = conn.execute(
                text("SELECT interval, SUM(volume), SUM(trades) FROM bars GROUP BY interval")
            ).all()
        assert len({(int(v), int(c)) for _, v, c in totals}) == 1, totals  # same trades in all
        print(f"  {backend}: {n:,} trades loaded in {load_s:.1f} s, bars folded in {fold_s:.1f} s")
        year = end.replace(year=end.year - 1)
        inst = INSTRUMENTS[3]
        for interval in ("1d", "1w", "1mo"):
            for label, start in (("last year", year), ("all history", None)):
                got = marketdata.bars(db, inst, interval, start, end, 5_000)
                ms = median_ms(
                    lambda i=interval, s=start: marketdata.bars(db, inst, i, s, end, 5_000)
                )
                rows.append([backend, f"{n:,}", interval, label, f"{len(got):,}", f"{ms:.2f}"])
        x.stop()
        db.dispose()
    return rows


# ---------------------------------------------------------------- 2. fan-out


def prepare_market(url: str) -> dict[str, str]:
    db = Database(url, utc_now)
    migrate.upgrade(db.engine)
    participants.bootstrap(db)
    taxonomy.seed_reference_data(db, SYSTEM)
    taxonomy.register_project(
        db, SYSTEM, taxonomy.NewProject("MDFAN", "JC", "Fan-out project", "ENERGY_SAVING", "JP")
    )
    keys = {}
    for i, pid in enumerate(("FANBUY", "FANSELL")):
        base = f"{800000000000 + i:012d}"
        number = f"{corporate_number_check_digit(base)}{base}"
        new = participants.NewParticipant(
            f"{pid} 株式会社", f"{pid} Corp.", "corporation", ["trader"], number, False, pid
        )
        key = participants.onboard(db, SYSTEM, new, "bench")
        keys[pid] = key
    cash.deposit(db, SYSTEM, "FANBUY", "JPY", 10**14, "bench-fan")
    registry.issue(
        db, SYSTEM, registry.NewIssuance("MDFAN", "ER", "1", 2022, 10**9, "FANSELL-MAIN")
    )
    x = Exchange(db, japan_calendar())
    x.define_instrument(SYSTEM, _spec("FAN"))
    x.session(SYSTEM, "FAN", "open")
    db.dispose()
    return keys


def parse_at(at: str) -> float:
    return dt.datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()


async def fan_out(n_clients: int, n_trades: int, workdir: Path) -> list[str]:
    url = f"sqlite:///{workdir / 'bench-fanout.db'}"
    keys = prepare_market(url)
    server = Server(url, workdir)
    ws_url = f"ws://127.0.0.1:{server.port}/v1/stream"
    received: list[list[tuple[int, float]]] = [[] for _ in range(n_clients)]
    progress = [0] * n_trades
    every = asyncio.Event()
    clients: list[ClientConnection] = []
    try:

        async def open_one() -> ClientConnection:
            ws = await connect(ws_url, open_timeout=60, ping_interval=None)
            req = {"op": "subscribe", "instruments": ["FAN"], "channels": ["trades"]}
            await ws.send(json.dumps(req))
            json.loads(await ws.recv())
            return ws

        t0 = time.perf_counter()
        for i in range(0, n_clients, 100):
            clients += await asyncio.gather(
                *(open_one() for _ in range(i, min(n_clients, i + 100)))
            )
        connect_s = time.perf_counter() - t0

        async def reader(i: int, ws: ClientConnection) -> None:
            async for raw in ws:
                now = time.time()
                msg = json.loads(raw)
                received[i].append((msg["seq"], now - parse_at(msg["at"])))
                k = len(received[i]) - 1
                if k < n_trades:
                    progress[k] += 1
                    if progress[k] == n_clients:
                        every.set()

        readers = [asyncio.create_task(reader(i, ws)) for i, ws in enumerate(clients)]
        http = httpx.Client(base_url=server.url, timeout=30)

        def trade(i: int) -> None:
            for pid, side in (("FANSELL", "sell"), ("FANBUY", "buy")):
                r = http.post(
                    "/v1/orders",
                    json={"instrument": "FAN", "side": side, "quantity": 10, "price": 2_000},
                    headers={
                        "Authorization": f"Bearer {keys[pid]}",
                        "Idempotency-Key": f"{i}{side}",
                    },
                )
                r.raise_for_status()

        for i in range(n_trades):
            every.clear()
            await asyncio.to_thread(trade, i)
            with contextlib.suppress(TimeoutError):  # a guard, not a measurement
                await asyncio.wait_for(every.wait(), 10)
        http.close()
        for ws in clients:
            await ws.close()
        for task in readers:
            task.cancel()
    finally:
        server.stop()
    seqs = [[s for s, _ in r] for r in received]
    reference = max(seqs, key=len)
    complete = sum(
        1 for s in seqs if s == reference and len(s) == n_trades and len(set(s)) == len(s)
    )
    lat = sorted(1_000 * lt for r in received for _, lt in r)

    def pct(q: float) -> float:
        return lat[min(len(lat) - 1, round(q * (len(lat) - 1)))]

    return [
        f"{n_clients:,}",
        f"{connect_s:.1f}",
        f"{n_trades}",
        f"{len(lat):,}",
        f"{pct(0.5):.1f}",
        f"{pct(0.99):.1f}",
        f"{lat[-1]:.1f}",
        f"{complete:,} / {n_clients:,}",
    ]


# ---------------------------------------------------------------- output


def table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="10^5 trades, 100 clients")
    ap.add_argument("--skip-bars", action="store_true")
    ap.add_argument("--skip-fanout", action="store_true")
    args = ap.parse_args()
    n_trades = 10**5 if args.quick else 10**7
    n_clients, n_msgs = (100, 20) if args.quick else (1_000, 50)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 4 * n_clients + 256
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    print(
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"SQLite {sqlite3.sqlite_version}, {dt.date.today()}"
    )
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if not args.skip_bars:
            print(f"\nBar queries over {n_trades:,} trades")
            rows = []
            for backend in ("sqlite", "postgres"):
                rows += bench_bars(backend, n_trades, workdir)
            print()
            print(
                table(
                    ["backend", "trades", "interval", "range", "bars", "median ms"],
                    rows,
                )
            )
        if not args.skip_fanout:
            print(f"\nWebSocket fan-out: {n_clients:,} clients, {n_msgs} trades (SQLite server)")
            row = asyncio.run(fan_out(n_clients, n_msgs, workdir))
            print()
            print(
                table(
                    [
                        "clients",
                        "connect s",
                        "trades",
                        "deliveries",
                        "p50 ms",
                        "p99 ms",
                        "max ms",
                        "clients with every message",
                    ],
                    [row],
                )
            )
    print(f"\nwhole run {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
