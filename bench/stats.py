"""Benchmark of the public statistics: `.venv/bin/python bench/stats.py` (`--quick` for a small
run).

On SQLite (a temporary file) and PostgreSQL (schema ``tanso_bench_stats``), a registry with N
journal entries of issuances, transfers and retirements over a month (through the services, as
the API calls them), then, side by side in one run:

1. ``rebuild``: fold the whole journal into the tables from nothing (entries per second);
2. ``read``: one answer of ``stats.registry(by=scheme)`` once folded — what a visitor waits for;
3. ``incremental``: 50 more operations, then the same answer (the fold of those entries
   included);
4. ``recompute``: the same figures folded from the whole journal on every read, the way without
   the tables, with its ratio to ``read``.

Each figure is the median of a few runs (``time.perf_counter``); nothing is asserted. The figures
go into docs/performance.md ("Statistics").
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
from pathlib import Path

from report import fresh_postgres, write_section  # bench/ is on sys.path
from tanso.domain.participants import Role, corporate_number_check_digit
from tanso.services.common import SYSTEM, Actor
from tanso.services.ledger import participants, registry, taxonomy
from tanso.services.marketdata import stats
from tanso.store import migrate
from tanso.store.db import Database

PG_URL = os.environ.get("TANSO_BENCH_PG_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
PG_SCHEMA = "tanso_bench_stats"
DOC = Path(__file__).resolve().parent.parent / "docs" / "performance.md"
HEADING = "## Statistics (issue 22: bench/stats.py)"
PIDS = ("BA", "BB", "BC", "BD")
PROJECTS = (
    ("BP1", "JC", "ENERGY_SAVING", "JP", "千葉県"),
    ("BP2", "JC", "FOREST", "JP", "長野県"),
    ("BP3", "JM", "JCM", "VN", "Hanoi"),
)


class DayClock:
    """Each transaction a millisecond later, a day passing every 200 transactions."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self) -> str:
        self.n += 1
        day = dt.date(2026, 11, 1) + dt.timedelta(days=self.n // 200 % 28)
        ms = self.n % 3_600_000
        return f"{day}T01:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}000Z"


def open_sqlite(workdir: Path) -> Database:
    db = Database(f"sqlite:///{workdir / 'stats.db'}", DayClock(), sqlite_synchronous="NORMAL")
    migrate.upgrade(db.engine)
    return db


def open_postgres() -> Database:
    db = fresh_postgres(PG_URL, PG_SCHEMA)
    db.clock = DayClock()
    return db


def populate(db: Database, operations: int) -> dict[str, Actor]:
    participants.bootstrap(db)
    taxonomy.seed_reference_data(db, SYSTEM)
    actors = {}
    for i, pid in enumerate(PIDS):
        base = str(990_000_000_000 + i).zfill(12)
        number = f"{corporate_number_check_digit(base)}{base}"
        participants.create_participant(
            db,
            SYSTEM,
            participants.NewParticipant(
                f"{pid} 株式会社", f"{pid} Corp.", "corporation", ["trader"], number, False, pid
            ),
        )
        participants.set_status(db, SYSTEM, pid, "active")
        actors[pid] = Actor(pid, frozenset({Role.TRADER}))
    for pid, scheme, category, country, region in PROJECTS:
        taxonomy.register_project(
            db,
            SYSTEM,
            taxonomy.NewProject(pid, scheme, f"Project {pid}", category, country, region=region),
        )
    for i, pid in enumerate(PIDS):  # something to move from the start
        registry.issue(
            db,
            SYSTEM,
            registry.NewIssuance(
                PROJECTS[i % 3][0], "ER", str(9000 + i), 2019, 100_000, f"{pid}-MAIN"
            ),
        )
    act(db, actors, operations)
    return actors


_rounds = itertools.count(1)


def act(db: Database, actors: dict[str, Actor], operations: int) -> None:
    """``operations`` registry acts in turn: an issuance, transfers and a retirement."""
    for i in range(operations):
        src, dst = PIDS[i % 4], PIDS[(i + 1) % 4]
        if i % 4 == 0:
            project = PROJECTS[i // 4 % 3][0]
            registry.issue(
                db,
                SYSTEM,
                registry.NewIssuance(
                    project, "ER", str(next(_rounds)), 2020 + i % 5, 1_000, f"{src}-MAIN"
                ),
            )
        elif i % 4 == 3:
            registry.retire(
                db,
                actors[src],
                registry.RetirementRequest(f"{src}-MAIN", registry.Selection(5), ["offset_scope1"]),
            )
        else:
            registry.transfer(db, actors[src], f"{src}-MAIN", f"{dst}-MAIN", registry.Selection(10))


def timed(runs: int, call: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run(db: Database, operations: int) -> dict[str, float]:
    actors = populate(db, operations)
    entries = db.journal_seq()
    rebuild = timed(3, lambda: stats.rebuild(db))
    read = timed(9, lambda: stats.registry(db, "scheme"))

    def incremental() -> None:
        act(db, actors, 50)
        t0 = time.perf_counter()
        stats.registry(db, "scheme")
        times.append(time.perf_counter() - t0)

    times: list[float] = []
    for _ in range(3):
        incremental()
    recompute = timed(3, lambda: stats.recompute(db))
    return {
        "entries": float(entries),
        "rebuild": rebuild,
        "rate": entries / rebuild,
        "read": read,
        "incremental": statistics.median(times),
        "recompute": recompute,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a small run (400 operations)")
    ap.add_argument("--operations", type=int, default=800)
    ap.add_argument("--no-doc", action="store_true", help="print only; leave performance.md")
    args = ap.parse_args()
    n = 400 if args.quick else args.operations
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        db = open_sqlite(Path(tmp))
        results["SQLite"] = run(db, n)
        db.dispose()
    db = open_postgres()
    results["PostgreSQL"] = run(db, n)
    db.dispose()
    lines = [
        f"{n:,} registry operations; {platform.python_version()} on {platform.machine()},"
        f" {os.cpu_count()} cores. Median wall times; ratio: recompute on every read ÷ a read"
        " of the folded tables.",
        "",
        "| Backend | Journal entries | Rebuild | Fold rate | Read (folded) | Read after 50 more"
        " operations | Recompute per read | Ratio |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {int(r['entries']):,} | {r['rebuild'] * 1000:,.0f} ms"
            f" | {r['rate']:,.0f} entries/s | {r['read'] * 1000:.1f} ms"
            f" | {r['incremental'] * 1000:.1f} ms | {r['recompute'] * 1000:,.0f} ms"
            f" | {r['recompute'] / r['read']:,.0f}× |"
        )
    print("\n".join(lines))
    if not args.no_doc and not args.quick:
        write_section(DOC, HEADING, lines)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
