"""Benchmark of the registry: `.venv/bin/python bench/registry.py` (`--quick` for a small run).

For each backend (SQLite in a temporary file, PostgreSQL in the schema ``tanso_bench``) and each
registry size (10^4, 10^5, 10^6 blocks; ``--quick``: 10^3, 10^4) it:

1. creates a fresh database and, through the service layer, the operator, the reference data,
   a sender S and a receiver R (both active) and one issuance of 10^6 credits into S;
2. bulk-loads the filler with set-based INSERTs: 100 participants with one account each, 10
   projects, and issuances each split into 10-credit blocks (every issuance's blocks partition
   its range; block g goes to filler account g mod 100, except that S holds every block of the
   first filler issuance). The filler rows have no journal entries (``journal_seq`` 0), so the
   journal does not account for them and ``audit verify`` is not run on these databases;
3. measures real service calls on top: ``registry.transfer`` by quantity and by serial range,
   ``registry.retire`` by quantity, and ``registry.holdings`` of a small, a medium and a large
   account; then prints a table, the ratios between sizes and between backends, and (at the
   largest size) the query plans of the statements that read blocks.

Figures are wall time from ``time.perf_counter``; nothing is asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text

from report import fresh_postgres, write_section  # bench/ is on sys.path
from tanso.services.common import SYSTEM, Actor
from tanso.services.ledger import participants, registry, taxonomy
from tanso.settings import utc_now
from tanso.store import migrate
from tanso.store import schema as t
from tanso.store.db import Database

PG_URL = os.environ.get("TANSO_BENCH_PG_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
PG_SCHEMA = "tanso_bench"
FILLER_PARTICIPANTS = 100
CREDITS_PER_BLOCK = 10
MAX_BLOCKS_PER_ISSUANCE = 10_000
CATEGORIES = ["ENERGY_SAVING", "RE_POWER", "FOREST", "RE_HEAT", "AGRI_BIOCHAR"]
DOC = Path(__file__).resolve().parent.parent / "docs" / "performance.md"
HEADING = "## Registry (bench/registry.py)"


@dataclass
class Result:
    backend: str
    blocks: int
    load_s: float = 0.0
    s_blocks: int = 0
    big_blocks: int = 0
    per_s: dict[str, float] = field(default_factory=dict)
    ms: dict[str, float] = field(default_factory=dict)


# ---------------------------------------------------------------- databases


def open_sqlite(workdir: Path, n: int) -> Database:
    path = workdir / f"registry-{n}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    db = Database(f"sqlite:///{path}", utc_now)
    migrate.upgrade(db.engine)
    return db


def open_postgres() -> Database:
    return fresh_postgres(PG_URL, PG_SCHEMA)


# ---------------------------------------------------------------- loading


def setup_actors(db: Database) -> None:
    """Operator, reference data, S and R, and S's issuance: all through the services."""
    participants.bootstrap(db)
    taxonomy.seed_reference_data(db, SYSTEM)
    for pid in ("S", "R"):
        participants.create_participant(
            db,
            SYSTEM,
            participants.NewParticipant(
                f"{pid} 株式会社",
                f"{pid} Corp.",
                "government",
                ["trader"],
                None,
                False,
                f"BENCH{pid}",
            ),
        )
        participants.set_status(db, SYSTEM, f"BENCH{pid}", "active")
    taxonomy.register_project(
        db, SYSTEM, taxonomy.NewProject("BENCHP", "JC", "Bench project", "ENERGY_SAVING", "JP")
    )
    registry.issue(
        db, SYSTEM, registry.NewIssuance("BENCHP", "ER", "1", 2005, 10**6, "BENCHS-MAIN")
    )


def bulk_load(db: Database, n_blocks: int) -> tuple[int, int]:
    """Insert the filler with set-based statements; returns (S's filler blocks, per account)."""
    at = utc_now()
    per_issuance = min(MAX_BLOCKS_PER_ISSUANCE, max(1, n_blocks // 10))
    n_issuances = n_blocks // per_issuance
    with db.engine.begin() as conn:
        conn.execute(
            insert(t.participants),
            [
                {
                    "id": f"F{i}",
                    "name_ja": f"F{i}",
                    "name_en": f"Filler {i}",
                    "kind": "government",
                    "corporate_number": None,
                    "roles": "trader",
                    "gx_league": False,
                    "status": "active",
                    "created_at": at,
                }
                for i in range(FILLER_PARTICIPANTS)
            ],
        )
        conn.execute(
            insert(t.accounts),
            [
                {
                    "id": f"F{i}-MAIN",
                    "participant_id": f"F{i}",
                    "kind": "holding",
                    "name": "Main",
                    "created_at": at,
                }
                for i in range(FILLER_PARTICIPANTS)
            ]
            + [
                {
                    "id": "F0-EMPTY",
                    "participant_id": "F0",
                    "kind": "holding",
                    "name": "Empty",
                    "created_at": at,
                }
            ],
        )
        conn.execute(
            insert(t.projects),
            [
                {
                    "id": f"FP{i}",
                    "scheme": "JC",
                    "name": f"Filler {i}",
                    "name_ja": "",
                    "country": "JP",
                    "region": "",
                    "developer": "",
                    "methodology": "",
                    "category": CATEGORIES[i % 5],
                    "mechanism": "reduction",
                    "nature": "technology",
                    "properties": "[]",
                    "evaluation_axes": "[]",
                    "co_benefits": "[]",
                    "created_at": at,
                }
                for i in range(10)
            ],
        )
        issuances = [
            {
                "id": f"JC-ER-FP{i % 10}-{i // 10 + 1}",
                "project_id": f"FP{i % 10}",
                "credit_type": "ER",
                "round": str(i // 10 + 1),
                "vintage": 2012 + i % 12,
                "certified_on": "2024-01-01",
                "quantity": per_issuance * CREDITS_PER_BLOCK,
                "ca_declaration": "not_required",
                "ca_status": "not_started",
                "origin": "issued",
                "external_registry": None,
                "external_ref": None,
                "journal_seq": 0,
            }
            for i in range(n_issuances)
        ]
        conn.execute(insert(t.issuances), issuances)
        for k, iss in enumerate(issuances):
            owner = "'BENCHS-MAIN'" if k == 0 else None
            if db.is_sqlite:
                account = owner or f"'F' || (g % {FILLER_PARTICIPANTS}) || '-MAIN'"
                series = (
                    f"WITH RECURSIVE s(g) AS (SELECT 0 UNION ALL SELECT g + 1 FROM s "
                    f"WHERE g < {per_issuance - 1}) "
                )
                source = "FROM s"
            else:
                account = owner or f"'F' || (g % {FILLER_PARTICIPANTS})::text || '-MAIN'"
                series = ""
                source = f"FROM generate_series(0, {per_issuance - 1}) AS g"
            conn.execute(
                text(
                    "INSERT INTO blocks (issuance_id, serial_start, serial_end, account_id, "
                    f"status, vintage) {series}SELECT :iss, g * {CREDITS_PER_BLOCK} + 1, "
                    f"g * {CREDITS_PER_BLOCK} + {CREDITS_PER_BLOCK}, {account}, 'held', :vintage "
                    f"{source}"
                ),
                {"iss": iss["id"], "vintage": iss["vintage"]},
            )
    with db.engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    big = (n_issuances - 1) * per_issuance // FILLER_PARTICIPANTS
    return per_issuance, big


# ---------------------------------------------------------------- measuring


def rate(n: int, fn: Callable[[int], Any]) -> float:
    """Calls per second of ``fn(i)`` for i in 0..n-1 (one warm-up call first)."""
    fn(n)
    start = time.perf_counter()
    for i in range(n):
        fn(i)
    return n / (time.perf_counter() - start)


def median_ms(reps: int, fn: Callable[[], Any]) -> float:
    fn()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def measure(db: Database, backend: str, n_blocks: int, ops: int) -> Result:
    res = Result(backend, n_blocks)
    setup_actors(db)
    start = time.perf_counter()
    res.s_blocks, res.big_blocks = bulk_load(db, n_blocks)
    res.load_s = time.perf_counter() - start
    s, r = Actor("BENCHS"), Actor("BENCHR")
    filler_first = "JC-ER-FP0-1"
    last = res.s_blocks - 1

    def by_quantity(_i: int) -> Any:
        return registry.transfer(
            db, s, "BENCHS-MAIN", "BENCHR-MAIN", registry.Selection(quantity=3)
        )

    def by_range(i: int) -> Any:
        g = last - i  # from the end of the issuance: the far end of its serial index
        serials = f"{filler_first}-{g * CREDITS_PER_BLOCK + 1}-{g * CREDITS_PER_BLOCK + 5}"
        return registry.transfer(
            db, s, "BENCHS-MAIN", "BENCHR-MAIN", registry.Selection(serials=serials)
        )

    def by_range_low(i: int) -> Any:
        serials = f"{filler_first}-{i * CREDITS_PER_BLOCK + 1}-{i * CREDITS_PER_BLOCK + 5}"
        return registry.transfer(
            db, s, "BENCHS-MAIN", "BENCHR-MAIN", registry.Selection(serials=serials)
        )

    def retire(_i: int) -> Any:
        req = registry.RetirementRequest(
            "BENCHS-MAIN", registry.Selection(quantity=2), ["offset_scope1"]
        )
        return registry.retire(db, s, req)

    res.per_s["transfer_quantity"] = rate(ops, by_quantity)
    res.per_s["transfer_serial_high"] = rate(min(ops, res.s_blocks // 3), by_range)
    res.per_s["transfer_serial_low"] = rate(min(ops, res.s_blocks // 3), by_range_low)
    res.per_s["retire_quantity"] = rate(ops, retire)
    reps = 5
    res.ms["holdings_R"] = median_ms(reps, lambda: registry.holdings(db, r, "BENCHR-MAIN"))
    res.ms["holdings_S"] = median_ms(reps, lambda: registry.holdings(db, s, "BENCHS-MAIN"))
    res.ms["holdings_F"] = median_ms(reps, lambda: registry.holdings(db, SYSTEM, "F1-MAIN"))
    res.ms["holdings_empty"] = median_ms(reps, lambda: registry.holdings(db, SYSTEM, "F0-EMPTY"))
    return res


EXPLAINED = {
    "holdings totals (group by scheme, category, vintage, status)": (
        "SELECT p.scheme, p.category, b.vintage, b.status, sum(b.serial_end - b.serial_start + 1) "
        "FROM blocks b JOIN issuances i ON b.issuance_id = i.id JOIN projects p "
        "ON i.project_id = p.id WHERE b.account_id = 'F1-MAIN' "
        "GROUP BY p.scheme, p.category, b.vintage, b.status"
    ),
    "holdings page (order by id limit 1000)": (
        "SELECT * FROM blocks WHERE account_id = 'F1-MAIN' ORDER BY id LIMIT 1000"
    ),
    "holdings page of an empty account": (
        "SELECT * FROM blocks WHERE account_id = 'F0-EMPTY' ORDER BY id LIMIT 1000"
    ),
    "quantity plan (held blocks, oldest vintage first)": (
        "SELECT * FROM blocks WHERE account_id = 'BENCHS-MAIN' AND status = 'held' "
        "ORDER BY vintage, issuance_id, serial_start LIMIT 500 OFFSET 0"
    ),
    "serial plan (blocks overlapping a range at the end of an issuance)": (
        "SELECT * FROM blocks WHERE issuance_id = 'JC-ER-FP0-1' AND serial_start <= 99995 "
        "AND serial_end >= 99991 ORDER BY serial_start"
    ),
}


def explain(db: Database) -> list[str]:
    out = []
    prefix = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN ANALYZE "
    with db.engine.connect() as conn:
        for name, sql in EXPLAINED.items():
            rows = conn.execute(text(prefix + sql)).all()
            lines = [str(r[-1]) for r in rows]
            out.append(f"{name}:")
            out += [f"    {line}" for line in lines]
    return out


# ---------------------------------------------------------------- reporting

COLUMNS = [
    ("transfer_quantity", "per_s", "transfers/s (quantity)"),
    ("transfer_serial_low", "per_s", "transfers/s (serials, low end)"),
    ("transfer_serial_high", "per_s", "transfers/s (serials, high end)"),
    ("retire_quantity", "per_s", "retirements/s (quantity)"),
    ("holdings_R", "ms", "holdings ms, R (~2×ops blocks)"),
    ("holdings_S", "ms", "holdings ms, S (filler issuance)"),
    ("holdings_F", "ms", "holdings ms, F1 (N/100 blocks)"),
    ("holdings_empty", "ms", "holdings ms, an empty account"),
]


def value(r: Result, key: str, kind: str) -> float:
    d: dict[str, float] = getattr(r, kind)
    return d[key]


def fmt(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:,.1f}" if x >= 10 else f"{x:,.2f}"


def tables(results: list[Result]) -> list[str]:
    lines = [
        "| backend | blocks | load s | S blocks | F1 blocks | "
        + " | ".join(c[2] for c in COLUMNS)
        + " |",
        "|---|---:|---:|---:|---:|" + "---:|" * len(COLUMNS),
    ]
    for r in results:
        cells = [fmt(value(r, k, kind)) for k, kind, _ in COLUMNS]
        lines.append(
            f"| {r.backend} | {r.blocks:,} | {r.load_s:.1f} | {r.s_blocks:,} | "
            f"{r.big_blocks:,} | " + " | ".join(cells) + " |"
        )
    lines += [
        "",
        "Cost per call, ratio to the next smaller registry (1.00 = flat; 10.0 = linear):",
        "",
        "| backend | sizes | " + " | ".join(c[0] for c in COLUMNS) + " |",
        "|---|---|" + "---:|" * len(COLUMNS),
    ]
    for backend in dict.fromkeys(r.backend for r in results):
        rows = [r for r in results if r.backend == backend]
        for a, b in itertools.pairwise(rows):
            cells = []
            for k, kind, _ in COLUMNS:
                va, vb = value(a, k, kind), value(b, k, kind)
                cells.append(f"{(va / vb) if kind == 'per_s' else (vb / va):.2f}")
            lines.append(f"| {backend} | {a.blocks:,} → {b.blocks:,} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Cost per call, PostgreSQL ÷ SQLite (above 1: PostgreSQL is slower):",
        "",
        "| blocks | " + " | ".join(c[0] for c in COLUMNS) + " |",
        "|---:|" + "---:|" * len(COLUMNS),
    ]
    for n in dict.fromkeys(r.blocks for r in results):
        pair = {r.backend: r for r in results if r.blocks == n}
        if len(pair) < 2:
            continue
        lite, pg = pair["sqlite"], pair["postgres"]
        cells = []
        for k, kind, _ in COLUMNS:
            vl, vp = value(lite, k, kind), value(pg, k, kind)
            cells.append(f"{(vl / vp) if kind == 'per_s' else (vp / vl):.2f}")
        lines.append(f"| {n:,} | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10^3 and 10^4 blocks, fewer calls")
    ap.add_argument("--no-doc", action="store_true", help="do not write docs/performance.md")
    ap.add_argument("--backend", choices=["sqlite", "postgres"], action="append")
    args = ap.parse_args()
    sizes = [10**3, 10**4] if args.quick else [10**4, 10**5, 10**6]
    ops = 30 if args.quick else 200
    backends = args.backend or ["sqlite", "postgres"]
    results: list[Result] = []
    plans: dict[str, list[str]] = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tanso-bench-") as tmp:
        for backend in backends:
            for n in sizes:
                db = open_sqlite(Path(tmp), n) if backend == "sqlite" else open_postgres()
                try:
                    r = measure(db, backend, n, ops)
                    if n == sizes[-1]:
                        plans[backend] = explain(db)
                finally:
                    db.dispose()
                results.append(r)
                print(
                    f"{backend:8} {n:>9,} blocks: load {r.load_s:5.1f} s, "
                    + ", ".join(f"{k} {fmt(v)}/s" for k, v in r.per_s.items())
                    + ", "
                    + ", ".join(f"{k} {fmt(v)} ms" for k, v in r.ms.items()),
                    flush=True,
                )
                if backend == "sqlite":
                    Path(tmp, f"registry-{n}.db").unlink(missing_ok=True)
    if "postgres" in backends:
        admin = create_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
        admin.dispose()
    total = time.perf_counter() - started
    out = tables(results)
    print()
    print("\n".join(out))
    for backend, lines in plans.items():
        print(f"\nQuery plans on {backend} at {sizes[-1]:,} blocks:")
        print("\n".join(lines))
    print(f"\ntotal {total:.0f} s")
    if args.no_doc:
        return
    cmd = ".venv/bin/python bench/registry.py" + (" --quick" if args.quick else "")
    doc = [
        f"`{cmd}`, run on {dt.date.today().isoformat()}: Python {platform.python_version()}, "
        f"{os.cpu_count()} cores, SQLite {sqlite_version()} (WAL, synchronous=FULL, a file on "
        "local disk), PostgreSQL on the same machine (schema `tanso_bench`). Whole run "
        f"{total:.0f} s.",
        "",
        "The registry is filled with set-based INSERTs (100 filler accounts, issuances of up to "
        "10,000 ten-credit blocks); these filler rows have no journal entries, so `audit verify` "
        "is not run on them. On top, real service calls are timed: `registry.transfer` of 3 "
        "credits by quantity (one block split per call), of 5 credits by serial range (a block "
        "at the low or high end of a 10,000-block issuance), `registry.retire` of 2 credits by "
        f"quantity ({ops} calls each), and `registry.holdings` (median of 5).",
        "",
        *out,
        "",
        "Reading the ratios with the query plans the script prints. The one cost that grows "
        "with the registry as a whole is the holdings page on PostgreSQL: for `WHERE account_id "
        "= ? ORDER BY id LIMIT 1000` the planner walks the primary key `pk_blocks` and filters "
        "on `account_id`, so an account with few or no blocks reads the whole table (the empty "
        "account and R grow about linearly from 10^5 to 10^6 blocks); SQLite uses "
        "`ix_blocks_account_status_vintage` and a temporary B-tree and stays flat. An index on "
        "`(account_id, id)` would serve that query. Every other statement that reads blocks "
        "uses an index on `account_id` or on `(issuance_id, serial_start)`. What grows is the "
        "work per account or per issuance: (1) holdings aggregates every block of "
        "the account (`ix_blocks_account_status_vintage`, then a hash aggregate) and pages "
        "by `id` after sorting all of them; (2) a transfer or retirement by quantity reads the "
        "account's held blocks `ORDER BY vintage, issuance_id, serial_start LIMIT 500`, which "
        "no index serves in that order, so each call sorts all held blocks of the sending "
        "account (S holds 100 to 10,000) to take the first one; (3) a serial range reads the "
        "index `(issuance_id, serial_start)` from the first block of the issuance up to the "
        "range and filters on `serial_end`, so a range at the high end of a fragmented "
        "issuance reads every block below it.",
    ]
    write_section(DOC, HEADING, doc)
    print(f"wrote {DOC}")


def sqlite_version() -> str:
    import sqlite3

    return sqlite3.sqlite_version


if __name__ == "__main__":
    sys.exit(main())
