"""Points programmes at scale: `.venv/bin/python bench/points.py` (`--events 100000` for a
quick run; the default is the full run, 10^7 events over 10^6 members on both databases).

For each backend (SQLite in a temporary file, PostgreSQL in the schema ``tanso_bench_points``,
dropped afterwards) it:

1. creates a fresh database, the operator and reference data, a platform participant and its
   programme PP-BENCH with a four-action methodology (one action with a daily cap), and
   10^6 credits in the programme's holding account, all through the services;
2. ingests ``--events`` events over ``--members`` members through ``ingest.ingest`` in batches
   of 100,000 JSON lines (dated over the last 60 days; members' keyed hashes computed once
   before the clock starts, each batch's body built before its call, so only the ingestion is
   timed);
3. beside it, the database's own bulk-insert rate for the same rows on the same machine: a
   plain table with the same columns, primary key and index, filled by raw ``COPY`` of text
   prepared beforehand (PostgreSQL) or ``executemany`` of tuples (SQLite), one commit per
   100,000 rows; and the ratio of the two;
4. the balance query, ``programmes.get_member`` (balance, the latest 50 events, pledges,
   retirements) of random members: median and p99;
5. a pooled retirement: one ``pools.pledge`` of ``--pledges`` members' points (each pledges
   what it has, up to 10 kg) and ``pools.retire_pool`` (its Merkle tree and the retirement).

Prints a table per backend, the ratios to the database's own rate, and PostgreSQL ÷ SQLite.
Figures are wall time from ``time.perf_counter``; nothing is asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import sqlite3
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from report import write_section  # bench/ is on sys.path
from tanso.domain import points
from tanso.domain.participants import Role
from tanso.services.common import SYSTEM, Actor
from tanso.services.ledger import participants, registry, taxonomy
from tanso.services.points import ingest, pools, programmes
from tanso.settings import utc_now
from tanso.store import db as dbmod
from tanso.store import migrate
from tanso.store.db import Database

PG_URL = os.environ.get("TANSO_BENCH_PG_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
PG_SCHEMA = "tanso_bench_points"
BATCH = 100_000
DAYS = 60
KEY = b"bench programme key"
PROGRAMME = "PP-BENCH"
DOC = Path(__file__).resolve().parent.parent / "docs" / "performance.md"
HEADING = "## Points ingestion"

ACTIONS: list[tuple[str, int, int | None, int, int]] = [
    # code, grams per unit, daily cap, most units per event, weight
    ("transit_ride", 250, 1_000, 4, 40),
    ("cycled_km", 130, None, 20, 30),
    ("walking_steps_k", 40, None, 15, 25),
    ("paperless_bill", 30, None, 1, 5),
]
METHODOLOGY: dict[str, Any] = {
    "effective_from": "2020-01-01",
    "source": "Bench methodology (illustrative figures)",
    "actions": [
        {
            "code": code,
            "name_en": code,
            "name_ja": code,
            "unit": "unit",
            "grams_per_unit": grams,
            "daily_cap_grams": cap,
        }
        for code, grams, cap, _, _ in ACTIONS
    ],
    "double_counting": {
        "overlaps": ["municipal_inventory"],
        "settled": False,
        "treatment": "Points fund real credits.",
    },
}


@dataclass
class Result:
    backend: str
    events: int
    members: int
    ingest_s: float = 0.0
    batch_s: list[float] = field(default_factory=list)
    head_s: list[float] = field(default_factory=list)
    """Per batch: from taking the journal head to the commit (what other writers wait)."""
    raw_s: float = 0.0
    stored_events: int = 0
    stored_members: int = 0
    get_ms: list[float] = field(default_factory=list)
    pledges: int = 0
    pledge_s: float = 0.0
    retire_s: float = 0.0
    tonnes: int = 0

    @property
    def per_s(self) -> float:
        return self.events / self.ingest_s

    @property
    def raw_per_s(self) -> float:
        return self.events / self.raw_s

    def p(self, q: float) -> float:
        xs = sorted(self.get_ms)
        return xs[min(len(xs) - 1, int(q * len(xs)))]


# ---------------------------------------------------------------- events


class Events:
    """Deterministic batches of events: batch ``k`` is the same every time it is made."""

    def __init__(self, members: int, today: dt.date) -> None:
        start = time.perf_counter()
        self.hashes = [points.member_hash(KEY, f"member-{i}") for i in range(members)]
        self.hash_s = time.perf_counter() - start
        self.days = [(today - dt.timedelta(days=d)).isoformat() for d in range(DAYS)]
        self.grams = {code: g for code, g, _, _, _ in ACTIONS}

    def batch(self, k: int, n: int) -> list[tuple[str, str, str, int, str]]:
        rng = random.Random(k)
        who = rng.choices(self.hashes, k=n)
        what = rng.choices(ACTIONS, weights=[a[4] for a in ACTIONS], k=n)
        when = rng.choices(self.days, k=n)
        units = [rng.randint(1, a[3]) for a in what]
        return [(f"e{k}.{i}", who[i], what[i][0], units[i], when[i]) for i in range(n)]

    @staticmethod
    def body(rows: list[tuple[str, str, str, int, str]]) -> bytes:
        return "\n".join(
            f'{{"event_id":"{e}","member":"{m}","action":"{a}","quantity":{q},"occurred_on":"{d}"}}'
            for e, m, a, q, d in rows
        ).encode()

    def raw(self, rows: list[tuple[str, str, str, int, str]]) -> list[tuple[Any, ...]]:
        return [
            (PROGRAMME, e, m, a, q, d, q * self.grams[a], 1, "PB-RAW") for e, m, a, q, d in rows
        ]


def batches(events: int) -> list[int]:
    sizes = [BATCH] * (events // BATCH)
    if events % BATCH:
        sizes.append(events % BATCH)
    return sizes


# ---------------------------------------------------------------- databases


def open_db(backend: str, workdir: Path) -> Database:
    if backend == "sqlite":
        path = workdir / "points.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        db = Database(f"sqlite:///{path}", utc_now)
    else:
        drop_schema()
        admin = create_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {PG_SCHEMA}"))
        admin.dispose()
        db = Database(PG_URL, utc_now, pg_schema=PG_SCHEMA)
    migrate.upgrade(db.engine)
    return db


def drop_schema() -> None:
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
    admin.dispose()


def setup(db: Database) -> Actor:
    """Operator, reference data, the platform, its programme and methodology, and 10^6
    credits to retire: all through the services."""
    participants.bootstrap(db)
    taxonomy.seed_reference_data(db, SYSTEM)
    participants.create_participant(
        db,
        SYSTEM,
        participants.NewParticipant(
            "ベンチ株式会社", "Bench Corp.", "government", ["trader"], None, False, "BENCHPP"
        ),
    )
    participants.set_status(db, SYSTEM, "BENCHPP", "active")
    programmes.register(
        db, SYSTEM, programmes.NewProgramme(PROGRAMME, "BENCHPP", "Bench points", "ベンチ")
    )
    actor = Actor("BENCHPP", frozenset({Role.TRADER, Role.POINTS_PROGRAMME}))
    programmes.publish_methodology(db, actor, PROGRAMME, METHODOLOGY)
    taxonomy.register_project(
        db, SYSTEM, taxonomy.NewProject("BENCHF", "JC", "Bench forest", "FOREST", "JP")
    )
    registry.issue(
        db, SYSTEM, registry.NewIssuance("BENCHF", "ER", "1", 2024, 10**6, "BENCHPP-MAIN")
    )
    return actor


RAW_DDL = [
    "CREATE TABLE bench_raw_events (programme_id VARCHAR(40) NOT NULL, event_id VARCHAR(64) "
    "NOT NULL, member VARCHAR(64) NOT NULL, action VARCHAR(40) NOT NULL, quantity BIGINT NOT "
    "NULL, occurred_on VARCHAR(10) NOT NULL, grams BIGINT NOT NULL, version INTEGER NOT NULL, "
    "batch_id VARCHAR(40) NOT NULL, PRIMARY KEY (programme_id, event_id))",
    "CREATE INDEX ix_bench_raw_events_member ON bench_raw_events "
    "(programme_id, member, occurred_on)",
]
RAW_COLUMNS = ", ".join(ingest.EVENT_COLUMNS)


def raw_rate(db: Database, gen: Events, sizes: list[int]) -> float:
    """Seconds to write the same rows through the database's own bulk path into a plain table
    with the same columns and indexes, one commit per batch (preparing them is not timed)."""
    with db.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS bench_raw_events")
        for ddl in RAW_DDL:
            conn.exec_driver_sql(ddl)
    spent = 0.0
    for k, n in enumerate(sizes):
        rows = gen.raw(gen.batch(k, n))
        if db.is_sqlite:
            start = time.perf_counter()
            with db.engine.begin() as conn:
                raw: Any = conn.connection.dbapi_connection
                marks = ", ".join("?" for _ in ingest.EVENT_COLUMNS)
                raw.cursor().executemany(
                    f"INSERT INTO bench_raw_events ({RAW_COLUMNS}) VALUES ({marks})", rows
                )
            spent += time.perf_counter() - start
        else:
            data = "".join("\t".join(str(v) for v in r) + "\n" for r in rows).encode()
            start = time.perf_counter()
            with db.engine.begin() as conn:
                cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
                with cur.copy(f"COPY bench_raw_events ({RAW_COLUMNS}) FROM STDIN") as copy:
                    copy.write(data)
                cur.close()
            spent += time.perf_counter() - start
    with db.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE bench_raw_events")
    return spent


# ---------------------------------------------------------------- measuring


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


class HeadClock:
    """When the journal head was last taken (`Tx.lock_head`), so that a batch's time under it
    (from then to its commit) is known: what the exchange's sequencer waits for it."""

    def __init__(self) -> None:
        self.taken = 0.0
        self._lock_head = dbmod.Tx.lock_head

    def __enter__(self) -> HeadClock:
        clock, original = self, self._lock_head

        def lock_head(tx: dbmod.Tx) -> None:
            clock.taken = time.perf_counter()
            original(tx)

        dbmod.Tx.lock_head = lock_head  # type: ignore[method-assign]
        return self

    def __exit__(self, *_: object) -> None:
        dbmod.Tx.lock_head = self._lock_head  # type: ignore[method-assign]


def measure(
    backend: str, workdir: Path, gen: Events, args: argparse.Namespace, say: Callable[[str], None]
) -> Result:
    res = Result(backend, args.events, len(gen.hashes))
    db = open_db(backend, workdir)
    try:
        actor = setup(db)
        sizes = batches(args.events)
        for k, n in enumerate(sizes):
            body = gen.body(gen.batch(k, n))
            with HeadClock() as head:
                s, batch = timed(lambda b=body: ingest.ingest(db, actor, PROGRAMME, b))  # type: ignore[misc]
                res.head_s.append(time.perf_counter() - head.taken)
            assert batch.events == n, batch
            res.batch_s.append(s)
            if k % 5 == 4 or k == len(sizes) - 1:
                done = sum(sizes[: k + 1])
                say(
                    f"  {backend}: {done:,} events ingested, last batch {n / s:,.0f} events/s, "
                    f"so far {done / sum(res.batch_s):,.0f} events/s"
                )
        res.ingest_s = sum(res.batch_s)
        prog = programmes.get_programme(db, PROGRAMME)
        res.stored_events, res.stored_members = prog.events, prog.members
        res.raw_s = raw_rate(db, gen, sizes)
        say(f"  {backend}: raw bulk insert {res.raw_per_s:,.0f} rows/s")
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
        with db.read() as conn:
            credited = [
                r[0]
                for r in conn.exec_driver_sql(
                    "SELECT member FROM points_balances WHERE programme_id = 'PP-BENCH'"
                )
            ]
        rng = random.Random(7)
        for member in rng.choices(credited, k=args.queries):
            s, _ = timed(lambda m=member: programmes.get_member(db, actor, PROGRAMME, m))  # type: ignore[misc]
            res.get_ms.append(s * 1000)
        say(f"  {backend}: get_member p50 {res.p(0.5):.2f} ms, p99 {res.p(0.99):.2f} ms")
        with db.read() as conn:
            shares = conn.exec_driver_sql(
                "SELECT member, earned_grams - pledged_grams - spent_grams FROM points_balances "
                f"WHERE programme_id = 'PP-BENCH' ORDER BY member LIMIT {args.pledges}"
            ).all()
        pledges = [pools.Pledge(m, min(int(a), 10_000)) for m, a in shares if a > 0]
        pool = pools.open_pool(db, actor, PROGRAMME, "Bench pool")
        res.pledges = len(pledges)
        res.pledge_s, _ = timed(lambda: pools.pledge(db, actor, PROGRAMME, pool.id, pledges))
        res.retire_s, done = timed(lambda: pools.retire_pool(db, actor, PROGRAMME, pool.id))
        res.tonnes = done.pool.tonnes
        say(
            f"  {backend}: pledge of {res.pledges:,} members {res.pledge_s:.2f} s, "
            f"retire_pool ({res.tonnes:,} t) {res.retire_s:.2f} s"
        )
    finally:
        db.dispose()
        if backend == "postgres":
            drop_schema()
    return res


# ---------------------------------------------------------------- reporting


def fmt(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:,.1f}" if x >= 10 else f"{x:,.2f}"


def tenth(r: Result, last: bool) -> float:
    """Events/s over the first or last tenth of the batches (growth with the table)."""
    k = max(1, len(r.batch_s) // 10)
    part = r.batch_s[-k:] if last else r.batch_s[:k]
    return len(part) * BATCH / sum(part) if len(r.batch_s) > 1 else r.per_s


def tables(results: list[Result]) -> list[str]:
    lines = [
        "| backend | events | members | ingest events/s | first 10 % | last 10 % "
        "| raw bulk rows/s | raw ÷ ingest | get_member p50 ms | p99 ms | pledge s "
        "| retire_pool s | journal head held per batch, median / max ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.backend} | {r.events:,} | {r.stored_members:,} | {fmt(r.per_s)} "
            f"| {fmt(tenth(r, False))} | {fmt(tenth(r, True))} | {fmt(r.raw_per_s)} "
            f"| {r.raw_per_s / r.per_s:.2f} | {r.p(0.5):.2f} | {r.p(0.99):.2f} "
            f"| {r.pledge_s:.2f} ({r.pledges:,} members) | {r.retire_s:.2f} ({r.tonnes:,} t) "
            f"| {1000 * sorted(r.head_s)[len(r.head_s) // 2]:.0f} / {1000 * max(r.head_s):.0f} |"
        )
    pair = {r.backend: r for r in results}
    if len(pair) == 2:
        lite, pg = pair["sqlite"], pair["postgres"]
        lines += [
            "",
            "PostgreSQL ÷ SQLite (above 1: PostgreSQL takes longer):",
            "",
            "| ingest time | raw bulk time | get_member p99 | pledge | retire_pool |",
            "|---:|---:|---:|---:|---:|",
            f"| {pg.ingest_s / lite.ingest_s:.2f} | {pg.raw_s / lite.raw_s:.2f} "
            f"| {pg.p(0.99) / lite.p(0.99):.2f} | {pg.pledge_s / lite.pledge_s:.2f} "
            f"| {pg.retire_s / lite.retire_s:.2f} |",
        ]
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=None, help="events to ingest (10^7)")
    ap.add_argument("--members", type=int, default=None, help="distinct members (events / 10)")
    ap.add_argument("--backend", choices=["sqlite", "pg", "both"], default="both")
    ap.add_argument("--full", action="store_true", help="10^7 events, 10^6 members (default)")
    ap.add_argument("--queries", type=int, default=10_000, help="get_member calls timed")
    ap.add_argument("--pledges", type=int, default=100_000, help="members pledging to the pool")
    ap.add_argument("--write-doc", action="store_true", help="update docs/performance.md")
    args = ap.parse_args()
    if args.full or args.events is None:
        args.events = args.events or 10**7
    args.members = args.members or max(1, args.events // 10)
    backends = {"sqlite": ["sqlite"], "pg": ["postgres"], "both": ["sqlite", "postgres"]}
    today = programmes.today(Database("sqlite://", utc_now))

    def say(line: str) -> None:
        print(line, flush=True)

    started = time.perf_counter()
    load = os.getloadavg()
    gen = Events(args.members, today)
    say(f"{args.members:,} member hashes in {gen.hash_s:.1f} s (not timed)")
    results = []
    with tempfile.TemporaryDirectory(prefix="tanso-bench-points-") as tmp:
        for backend in backends[args.backend]:
            results.append(measure(backend, Path(tmp), gen, args, say))
    total = time.perf_counter() - started
    out = tables(results)
    print()
    print("\n".join(out))
    print(f"\ntotal {total:.0f} s")
    cmd = ".venv/bin/python bench/points.py"
    if args.events != 10**7:
        cmd += f" --events {args.events}"
    if args.members != max(1, args.events // 10):
        cmd += f" --members {args.members}"
    if args.backend != "both":
        cmd += f" --backend {args.backend}"
    doc = [
        f"`{cmd}`, run on {dt.date.today().isoformat()}: Python {platform.python_version()}, "
        f"{os.cpu_count()} cores, SQLite {sqlite3.sqlite_version} (WAL, a file on local disk), "
        f"PostgreSQL on the same machine (schema `{PG_SCHEMA}`). Whole run {total:.0f} s; "
        f"load average at the start {load[0]:.1f}, at the end {os.getloadavg()[0]:.1f} "
        "(other work on the machine slows every column alike).",
        "",
        *out,
    ]
    print()
    print("\n".join(doc))
    if args.write_doc:
        write_section(DOC, HEADING, doc)
        print(f"wrote {DOC}")


if __name__ == "__main__":
    main()
