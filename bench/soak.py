"""Crash soak: `.venv/bin/python bench/soak.py --backend both --kills 50 --seconds N`.

`--backend` is sqlite, postgres or both. Simulated participants (one thread each,
`tanso.client` over loopback) place and cancel orders in a continuous and a call-auction market,
transfer credits to each other and retire them; the operator runs call auctions and settlement.
A real `tanso serve` (a child process, on a fresh SQLite file or PostgreSQL schema) is killed
with SIGKILL after a random number of requests (seeded), restarted, and the books are checked
before any client may send again: every acknowledged request is there, nothing happened twice
(lost answers are resent with their Idempotency-Key and must apply at most once; acknowledged
requests replayed with their key answer the same and write nothing), cash and credits are
conserved, the journal chain verifies. The checks are in `tanso.harness.soak`; see
docs/reliability.md.

Prints per backend: requests acknowledged, crashes survived, invariant violations. Exit code 1 on
any violation, or if fewer crashes than asked fitted in the time bound.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from pathlib import Path

from tanso.harness import soak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    ap.add_argument("--kills", type=int, default=50, help="SIGKILLs per backend (default 50)")
    ap.add_argument(
        "--seconds", type=float, default=3600, help="time bound per backend (default 3600)"
    )
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--traders", type=int, default=6, help="simulated participants")
    ap.add_argument(
        "--topology",
        choices=("single", "cluster"),
        default="single",
        help="cluster: a gateway, two engines and NATS; the leading engine or the gateway is "
        "killed (PostgreSQL only)",
    )
    args = ap.parse_args()
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    if args.topology == "cluster":
        backends = ["postgres"]
    print(
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs; seed {args.seed}, "
        f"{args.traders} traders and the operator; {args.kills} kills within "
        f"{args.seconds:.0f} s per backend",
        flush=True,
    )
    failed = False
    results = []
    with tempfile.TemporaryDirectory(prefix="tanso-soak-") as tmp:
        for backend in backends:
            r = soak.run(
                backend,
                kills=args.kills,
                seconds=args.seconds,
                seed=args.seed,
                traders=args.traders,
                workdir=Path(tmp),
                log=lambda s: print(s, flush=True),
                topology=args.topology,
            )
            results.append(r)
            print(r.line(), flush=True)
            during = {k.split(": ")[1]: n for k, n in r.counts.items() if k.startswith("killed")}
            refused = {k.split(": ")[1]: n for k, n in r.counts.items() if k.startswith("refused:")}
            print(f"  requests in flight at the kills: {dict(sorted(during.items()))}")
            print(f"  refusals by code: {dict(sorted(refused.items()))}", flush=True)
            crashed = {k.split(": ")[1]: n for k, n in r.counts.items() if k.startswith("crashed")}
            print(f"  what was killed: {dict(sorted(crashed.items()))}", flush=True)
            for v in r.violations[:50]:
                print(f"  VIOLATION {v}", flush=True)
            if r.kills < args.kills:
                print(f"  only {r.kills} of {args.kills} crashes fitted in {args.seconds:.0f} s")
            failed |= bool(r.violations) or r.kills < args.kills
    print()
    print("| backend | crashes survived | requests acknowledged | answers lost, resent | "
          "replays checked | refused (4xx) | invariant violations | seconds |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        c = r.counts
        print(
            f"| {r.backend} | {r.kills} | {c['acknowledged']:,} | {c['answers lost']:,} | "
            f"{c['acknowledged requests replayed']:,} | {c['refused']:,} | "
            f"{len(r.violations)} | {r.seconds:.0f} |"
        )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
