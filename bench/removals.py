"""Benchmark of removal issuances and reversals: `.venv/bin/python bench/removals.py`
(`--quick` for a small run).

What an issuance costs once it is a removal with a buffer share and forward contracts to serve,
side by side with an ordinary issuance in the same run, on SQLite (a temporary file) and
PostgreSQL (schema ``tanso_bench_removals``). Through the services, as the API calls them:

1. ``plain``: ``registry.issue`` of 100 t of a reduction project (the baseline);
2. ``buffer``: the same of a removal project with reversal risk and a 10% buffer rate (one more
   block move and journal entry per issuance);
3. ``offtake``: the same with five signed forward contracts for the vintage (escrowed
   prepayment), the first in priority receiving the 90 t left by delivery versus payment;
4. ``reversal``: ``reversals.report`` of 50 t on a project whose credits are spread over 50
   holders, 10 of them with an open marketplace listing of them (released first).

Each figure is the median wall time of N calls (``time.perf_counter``), with the ratio to
``plain``; nothing is asserted. The figures go into docs/performance.md ("Removals").
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from report import fresh_postgres, write_section  # bench/ is on sys.path
from tanso.domain import marketplace as mp
from tanso.domain import offtake as ot
from tanso.domain.participants import Role
from tanso.domain.removals import Profile
from tanso.services.common import SYSTEM, Actor
from tanso.services.ledger import cash, participants, registry, taxonomy
from tanso.services.ledger.blocks import Selection
from tanso.services.ledger.registry import NewIssuance
from tanso.services.removals import offtake, profiles, reversals
from tanso.services.venues import marketplace
from tanso.settings import utc_now
from tanso.store import migrate
from tanso.store.db import Database

PG_URL = os.environ.get("TANSO_BENCH_PG_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
PG_SCHEMA = "tanso_bench_removals"
DOC = Path(__file__).resolve().parent.parent / "docs" / "performance.md"
HEADING = "## Removals (issue 21: bench/removals.py)"
RISKY = Profile("biochar", "product", 100, "medium", 100, 1_000, "bench")


def open_sqlite(workdir: Path) -> Database:
    db = Database(f"sqlite:///{workdir / 'removals.db'}", utc_now)
    migrate.upgrade(db.engine)
    return db


def open_postgres() -> Database:
    return fresh_postgres(PG_URL, PG_SCHEMA)


def participant(db: Database, pid: str) -> Actor:
    participants.create_participant(
        db,
        SYSTEM,
        participants.NewParticipant(
            f"{pid} 株式会社", f"{pid} Corp.", "government", ["trader"], None, False, pid
        ),
    )
    participants.set_status(db, SYSTEM, pid, "active")
    return Actor(pid, frozenset({Role.TRADER}))


def project(db: Database, pid: str, removal: bool, developer: str | None = None) -> None:
    taxonomy.register_project(
        db,
        SYSTEM,
        taxonomy.NewProject(
            pid,
            "JC",
            pid,
            "AGRI_BIOCHAR" if removal else "ENERGY_SAVING",
            "JP",
            mechanism="removal" if removal else "reduction",
        ),
    )
    if removal:
        profiles.set_profile(db, SYSTEM, pid, RISKY, developer_id=developer)


def timed(n: int, call: Callable[[int], object]) -> float:
    """Median milliseconds of ``call(i)`` for i in 0..n-1."""
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        call(i)
        out.append((time.perf_counter() - t0) * 1000)
    return statistics.median(out)


def run(db: Database, n: int) -> dict[str, float]:
    participants.bootstrap(db)
    taxonomy.seed_reference_data(db, SYSTEM)
    dev = participant(db, "BDEV")
    buyers = [participant(db, f"BBUY{i}") for i in range(5)]
    for b in buyers:
        cash.deposit(db, SYSTEM, b.participant_id, "JPY", 10**12, f"bank-{b.participant_id}")
    project(db, "PLAIN", removal=False)
    project(db, "RISKY", removal=True)
    project(db, "OFFT", removal=True, developer="BDEV")
    rule = ot.PriceRule("fixed", price=20_000)
    for k, b in enumerate(buyers):
        listing = offtake.create_listing(
            db, dev, offtake.NewListing("OFFT", "BDEV-MAIN", {2026: 10**6}, rule, "bench")
        )
        quote = offtake.request_quote(
            db, b, listing.id, f"{b.participant_id}-MAIN", {2026: 10**6}, "bench"
        )
        terms = offtake.Terms(rule, "carry_forward", 1_000, "escrow", 10 + k)
        proposed = offtake.propose_terms(db, dev, quote.id, terms)
        assert proposed.terms_version is not None
        offtake.sign(db, b, quote.id, proposed.terms_version)

    def issue(project_id: str) -> Callable[[int], object]:
        return lambda i: registry.issue(
            db,
            SYSTEM,
            NewIssuance(
                project_id,
                "RM" if project_id != "PLAIN" else "ER",
                str(i + 1),
                2026,
                100,
                "BDEV-MAIN",
            ),
        )

    ms = {
        "plain": timed(n, issue("PLAIN")),
        "buffer": timed(n, issue("RISKY")),
        "offtake": timed(n, issue("OFFT")),
    }
    # a reversal on credits spread over 50 holders, 10 of them listing theirs
    holders = [participant(db, f"BH{i}") for i in range(50)]
    reps = max(3, n // 20)
    for r in range(reps):
        pid = f"REV{r}"
        project(db, pid, removal=True)
        receipt = registry.issue(db, SYSTEM, NewIssuance(pid, "RM", "1", 2026, 5_000, "BDEV-MAIN"))
        for i, h in enumerate(holders):
            serials = f"{receipt.issuance_id}-{i * 80 + 1}-{i * 80 + 80}"
            registry.transfer(
                db, dev, "BDEV-MAIN", f"{h.participant_id}-MAIN", Selection(serials=serials)
            )
            if i < 10:
                marketplace.create_listing(
                    db,
                    h,
                    marketplace.NewListing(
                        f"{h.participant_id}-MAIN",
                        mp.ListingTerms(price=9_000, quantity=40),
                        receipt.issuance_id,
                    ),
                )
    ms["reversal"] = timed(
        reps,
        lambda r: reversals.report(
            db, SYSTEM, reversals.NewReversal(f"REV{r}", 4_900, "fire", "2026-08-14")
        ),
    )
    return ms


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="20 issuances per kind instead of 200")
    ap.add_argument("--no-doc", action="store_true", help="do not write docs/performance.md")
    args = ap.parse_args()
    n = 20 if args.quick else 200
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["SQLite"] = run(open_sqlite(Path(tmp)), n)
    results["PostgreSQL"] = run(open_postgres(), n)
    lines = [
        f"Median of {n} issuances of 100 t per kind (reversals: {max(3, n // 20)}), one client, "
        f"through the services; {platform.python_version()} on {os.cpu_count()} cores "
        f"({platform.machine()}), {time.strftime('%Y-%m-%d')}.",
        "",
        "| call | SQLite ms | × plain | PostgreSQL ms | × plain |",
        "|---|---:|---:|---:|---:|",
    ]
    labels = {
        "plain": "issuance, reduction project (baseline)",
        "buffer": "issuance, removal with a 10% buffer share",
        "offtake": "issuance, removal with buffer and 5 forward contracts (1 delivery by DvP)",
        "reversal": "reversal of 4,900 t over 50 holders, 10 listings released first",
    }
    for key, label in labels.items():
        s, p = results["SQLite"][key], results["PostgreSQL"][key]
        lines.append(
            f"| {label} | {s:.2f} | {s / results['SQLite']['plain']:.2f} | {p:.2f} | "
            f"{p / results['PostgreSQL']['plain']:.2f} |"
        )
    lines += [
        "",
        "Reading: issuances and reversals are the registry operator's acts, a few a day, not the "
        "order path. The buffer share adds one block move and one journal entry; forward "
        "contracts add their lookup and one delivery entry with its credit and cash moves, all "
        "in the issuance's transaction. A reversal runs as one unit of the exchange's sequencer, "
        "so orders wait for it once, for the time in the last row (it reads the project's "
        "blocks, releases the listings and cancels the serials in one transaction).",
    ]
    print("\n".join(lines))
    if not args.no_doc:
        write_section(DOC, HEADING, lines)


if __name__ == "__main__":
    sys.exit(main())
