"""Benchmark of the project cycle: `.venv/bin/python bench/cycle.py` (`--quick` for a small run).

Side by side in one run:

1. ``formula``: one monitoring report's tonnes from its parameters by the methodology's formula
   (FO-001, a series of 12, 1,000 and 10,000 compartments): Tanso's evaluation (parse and check
   the decimal strings, simpleeval over Decimal, floor) against the same expression compiled by
   Python and evaluated over floats, the fastest way with no guarantee of exactness; the ratio is
   what exactness and safety cost.
2. ``cycle``: on SQLite (a temporary file) and PostgreSQL (schema ``tanso_bench_cycle``), N
   reports of one registered project each submitted, verified, requested and approved through
   the services (four transactions, the last one issuing credits): reports per second.
3. ``check``: `tanso cycle check` over those reports (recompute every one, check every issuance):
   reports per second.

Each figure is the median of a few runs (``time.perf_counter``); nothing is asserted. The figures
go into docs/performance.md ("Project cycle").
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from report import fresh_postgres, write_section  # bench/ is on sys.path
from tanso.domain import methodologies as md
from tanso.domain.participants import Role, corporate_number_check_digit
from tanso.services.common import SYSTEM, Actor
from tanso.services.cycle import accreditation, integrity, issuance_requests, monitoring, plans
from tanso.services.cycle import methodologies as meth
from tanso.services.ledger import participants, taxonomy
from tanso.store import migrate
from tanso.store.db import Database

PG_URL = os.environ.get("TANSO_BENCH_PG_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
PG_SCHEMA = "tanso_bench_cycle"
DOC = Path(__file__).resolve().parent.parent / "docs" / "performance.md"
HEADING = "## Project cycle (issue 23: bench/cycle.py)"


class MonthClock:
    """Each transaction a millisecond later; ``day`` is set by the run."""

    def __init__(self) -> None:
        self.day = dt.date(2023, 1, 1)
        self.n = 0

    def __call__(self) -> str:
        self.n += 1
        ms = self.n % 3_600_000
        return f"{self.day}T01:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}000Z"


def median(runs: int, call: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def forest(points: int) -> dict[str, Any]:
    return {
        "stem_volume_growth_m3": [f"{100 + i % 97}.{i % 10}" for i in range(points)],
        "bef": "1.23",
        "root_shoot_ratio": "0.25",
        "wood_density": "0.314",
        "carbon_fraction": "0.5",
    }


def formula_figures(runs: int) -> list[tuple[int, float, float]]:
    """(points, Tanso's seconds, Python float eval's seconds) per report."""
    data = meth._shipped()["methodologies"]
    m = md.from_data(next(d for d in data if d["id"] == "FO-001"))
    code = compile(m.formula, "<formula>", "eval")
    out = []
    for points in (12, 1_000, 10_000):
        given = forest(points)
        floats = {
            k: [float(x) for x in v] if isinstance(v, list) else float(v) for k, v in given.items()
        }
        reps = max(1, 2_000 // points)

        def exact(given: dict[str, Any] = given, reps: int = reps) -> None:
            for _ in range(reps):
                md.tonnes(m, given)

        def plain(floats: dict[str, Any] = floats, reps: int = reps) -> None:
            for _ in range(reps):
                math.floor(eval(code, {"sum": sum}, dict(floats)))  # the peer

        out.append((points, median(runs, exact) / reps, median(runs, plain) / reps))
    return out


def world(db: Database) -> dict[str, Actor]:
    participants.bootstrap(db)
    taxonomy.seed_reference_data(db, SYSTEM)
    actors = {}
    for i, (pid, role) in enumerate((("BDEV", "trader"), ("BVVB", "verification_body"))):
        base = str(991_000_000_000 + i).zfill(12)
        number = f"{corporate_number_check_digit(base)}{base}"
        participants.create_participant(
            db,
            SYSTEM,
            participants.NewParticipant(
                f"{pid} 株式会社", f"{pid} Corp.", "corporation", [role], number, False, pid
            ),
        )
        participants.set_status(db, SYSTEM, pid, "active")
        actors[pid] = Actor(pid, frozenset({Role(role)}))
    accreditation.grant(db, SYSTEM, "BVVB", "JC", "forestry", "2022-01-01")
    dev, vvb = actors["BDEV"], actors["BVVB"]
    plans.create(
        db,
        dev,
        plans.NewPlan(
            "Bench forest", "FOREST", "JP", "FO-001", "3.0", "A forest.", 10_000, id="PBENCH"
        ),
    )
    plans.submit(db, dev, "PBENCH", "BVVB")
    plans.start_validation(db, vvb, "PBENCH")
    plans.validate(db, vvb, "PBENCH", "positive", "", "Valid.")
    plans.register(db, SYSTEM, "PBENCH")
    return actors


def cycle_run(db: Database, reports: int) -> dict[str, float]:
    clock = MonthClock()
    db.clock = clock
    actors = world(db)
    dev, vvb = actors["BDEV"], actors["BVVB"]
    given = forest(12)
    start = time.perf_counter()
    first = dt.date(2023, 1, 2)
    for i in range(reports):
        period_start = first + dt.timedelta(days=7 * i)
        period_end = period_start + dt.timedelta(days=6)
        clock.day = period_end + dt.timedelta(days=1)
        r = monitoring.submit(
            db,
            dev,
            "PBENCH",
            monitoring.NewReport(period_start.isoformat(), period_end.isoformat(), "BVVB", given),
        )
        monitoring.verify(db, vvb, r.id, r.claimed_tonnes, "", "Verified.")
        q = issuance_requests.request(db, dev, r.id, "BDEV-MAIN")
        issuance_requests.approve(db, SYSTEM, q.id)
    elapsed = time.perf_counter() - start
    check = median(3, lambda: integrity.check(db))
    found = integrity.check(db)
    assert not found.problems, found.problems
    return {"reports": reports, "cycle": reports / elapsed, "check": reports / check}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a small run (40 reports)")
    ap.add_argument("--reports", type=int, default=300)
    ap.add_argument("--no-doc", action="store_true", help="print only; leave performance.md")
    args = ap.parse_args()
    n = 40 if args.quick else args.reports
    formulas = formula_figures(3 if args.quick else 7)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'cycle.db'}", MonthClock())
        migrate.upgrade(db.engine)
        results["SQLite"] = cycle_run(db, n)
        db.dispose()
    db = fresh_postgres(PG_URL, PG_SCHEMA)
    results["PostgreSQL"] = cycle_run(db, n)
    db.dispose()
    lines = [
        f"{platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores; median"
        " wall times.",
        "",
        "One report's tonnes by the FO-001 formula (a series of N compartments): Tanso's exact"
        " evaluation (decimal strings checked, simpleeval over Decimal) against Python's own"
        " `eval` of the same expression over floats:",
        "",
        "| Series points | Tanso | Python float eval | Ratio |",
        "|---:|---:|---:|---:|",
    ]
    for points, tanso, plain in formulas:
        lines.append(
            f"| {points:,} | {tanso * 1e6:,.0f} µs | {plain * 1e6:,.1f} µs"
            f" | {tanso / plain:,.0f}× |"
        )
    lines += [
        "",
        f"{n:,} monitoring reports of one project, each submitted, verified, requested and"
        " approved (four transactions, the last issuing credits), then `tanso cycle check`:",
        "",
        "| Backend | Reports through the cycle | `tanso cycle check` |",
        "|---|---:|---:|",
    ]
    for name, r in results.items():
        lines.append(f"| {name} | {r['cycle']:,.1f} reports/s | {r['check']:,.0f} reports/s |")
    print("\n".join(lines))
    if not args.no_doc and not args.quick:
        write_section(DOC, HEADING, lines)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
