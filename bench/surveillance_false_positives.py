"""False positives of surveillance: `.venv/bin/python bench/surveillance_false_positives.py`.

Every alert raised on the demo's normal trading is a false positive: nobody in it washes,
spoofs, marks the close or corners an auction. The script

1. builds the demo market exactly as `tanso init --demo` does (in a temporary directory, on a
   SQLite file): two years of imported auction history, then ten business days of orders, call
   auctions and settlement by the demo's participants;
2. adds ``--days`` (default 40) business days of the demo simulator's traffic
   (src/tanso/demo/simulator.py, whose order generator it copies: a random participant, side,
   instrument, a price within ±8 steps of 0.5% around the reference, 10 to 300 t), placed at
   random times of the morning and afternoon sessions, with the 11:30 and 15:00 auctions and the
   close, on the demo's simulated clock (no HTTP: the orders go straight to the exchange);
3. runs the batch scan (`services.surveillance.scan`, the same rules as the online path) over
   every day of it, and prints, per rule, the alerts raised, what the rule looked at (trades,
   auctions, closing auctions, participant-days) and the false-positive rate (alerts / subjects).

``--seed`` changes the simulated traffic; ``--rules FILE`` scans with other thresholds (to see
how far a threshold is from the normal trading). Nothing is asserted: docs/surveillance.md
quotes its figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import tempfile
from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from tanso.demo.exchange_days import DemoClock, at_jst
from tanso.domain import surveillance as sv
from tanso.domain.errors import TansoError
from tanso.services import surveillance
from tanso.services.common import SYSTEM
from tanso.services.ledger import participants
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange, NewOrder
from tanso.services.trading.virtual_clock import live_day
from tanso.store import schema as t
from tanso.store.db import Database


def build_demo(folder: Path) -> tuple[Database, dict[str, str]]:
    """`tanso init --demo` in ``folder``: the database and the demo's API keys."""
    url = f"sqlite:///{folder / 'tanso.db'}"
    os.environ["TANSO_DATABASE_URL"] = url
    from tanso.cli import app

    cwd = Path.cwd()
    os.chdir(folder)
    try:
        result = CliRunner().invoke(app, ["init", "--demo"])
    finally:
        os.chdir(cwd)
    if result.exit_code != 0:
        sys.exit(f"tanso init --demo failed:\n{result.output}")
    keys = json.loads((folder / "demo-keys.json").read_text(encoding="utf-8"))
    return Database(url, DemoClock(dt.datetime.now(dt.UTC))), keys


def simulate(db: Database, keys: dict[str, str], days: int, seed: int) -> dict[str, int]:
    """The simulator's traffic over ``days`` business days after today, on a simulated clock."""
    rng = random.Random(seed)
    cal = japan_calendar()
    # after the demo's first live day (tanso.services.trading.virtual_clock): its morning is loaded
    start = live_day(dt.date.today(), cal) + dt.timedelta(days=1)
    business = [d for d in cal.business_days(start, start + dt.timedelta(days=days * 2))][:days]
    clock = DemoClock(at_jst(business[0], 8, 0))
    db.clock = clock
    x = Exchange(db, cal)
    actors = {
        pid: participants.authenticate(db, key) for pid, key in keys.items() if pid != "OPERATOR"
    }
    instruments = [i for i in x.engine.markets.values() if i.mode == "call"]
    counts = {"orders": 0, "refused": 0, "auctions": 0}

    def action(instrument: str, what: str) -> None:
        try:
            x.session(SYSTEM, instrument, what)
            counts["auctions"] += what == "auction"
        except TansoError:
            pass  # already open or closed

    def orders(day: dt.date, start: tuple[int, int], end: tuple[int, int], n: int) -> None:
        lo, hi = start[0] * 60 + start[1], end[0] * 60 + end[1]
        for minute in sorted(rng.randrange(lo, hi) for _ in range(n)):
            clock.set(at_jst(day, minute // 60, minute % 60))
            pid = rng.choice(sorted(actors))
            m = rng.choice(instruments)
            ref = m.reference
            step = max(1, ref // 200)
            side = rng.choice(("buy", "sell"))
            skew = -2 if side == "buy" else 2
            price = max(m.tick, ref + (rng.randint(-6, 6) + skew) * step)
            quantity = rng.randint(1, 30) * 10
            try:
                x.place(actors[pid], NewOrder(m.id, side, quantity, price))
                counts["orders"] += 1
            except TansoError:
                counts["refused"] += 1  # no cash or no credits of that category: fine

    for m in instruments:
        action(m.id, "close")  # the demo leaves its last day open
    for day in business:
        clock.set(at_jst(day, 9, 0))
        for m in instruments:
            action(m.id, "open")
        orders(day, (9, 0), (11, 30), 60)
        clock.set(at_jst(day, 11, 30))
        for m in instruments:
            action(m.id, "auction")
        orders(day, (12, 30), (15, 0), 60)
        clock.set(at_jst(day, 15, 0))
        for m in instruments:
            action(m.id, "auction")
        clock.set(at_jst(day, 15, 30))
        for m in instruments:
            action(m.id, "close")
    return counts


def subjects(db: Database, rules: sv.Rules) -> dict[str, int]:
    """What each rule looked at: trades, auctions, closing auctions, participant-days."""
    closing = rules.by_id[sv.MARKING_CLOSE]["closing_from_minute"]
    with db.read() as conn:
        trades = conn.execute(select(func.count()).select_from(t.trades)).scalar_one()
        auctions = conn.execute(
            select(t.auctions.c.at).where(t.auctions.c.price.is_not(None))
        ).all()
        o = t.orders.c
        days = {
            (r.participant_id, r.instrument_id, sv.trade_date_of(r.created_at))
            for r in conn.execute(select(o.participant_id, o.instrument_id, o.created_at))
        }
    # imported history's auctions (stamped in JST, "+09:00") had no orders here: count only the
    # exchange's own, stamped by the database clock in UTC ("Z")
    own = [a for a in auctions if a.at.endswith("Z")]
    late = [a for a in own if sv.minute_of_day(a.at) >= closing]
    return {
        sv.WASH_TRADE: trades,
        sv.SPOOFING: len(days),
        sv.MARKING_CLOSE: len(late),
        sv.PRICE_LIMIT_HITS: len(days),
        sv.CONCENTRATION: len(own),
        sv.STP_CANCELS: len({(p, d) for p, _i, d in days}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=40, help="simulated business days")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--rules", help="another rules file (default: the shipped one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db, keys = build_demo(Path(tmp))
        counts = simulate(db, keys, args.days, args.seed)
        with db.read() as conn:
            first, last = conn.execute(
                select(func.min(t.trades.c.trade_date), func.max(t.trades.c.trade_date))
            ).one()
        rules = surveillance.rules(args.rules)
        scan = surveillance.scan(
            db, SYSTEM, dt.date.fromisoformat(first), dt.date.fromisoformat(last), rule_set=rules
        )
        looked = subjects(db, rules)
        db.dispose()
    print(
        f"demo market + {args.days} simulated days (seed {args.seed}): {counts['orders']} "
        f"orders placed ({counts['refused']} refused), {counts['auctions']} auctions; "
        f"{scan.entries} exchange journal entries scanned, trade dates {first} to {last}"
    )
    print(f"{'rule':<18} {'alerts':>7} {'subjects':>9}  {'looked at':<28} false-positive rate")
    what = {
        sv.WASH_TRADE: "trades",
        sv.SPOOFING: "participant-instrument-days",
        sv.MARKING_CLOSE: "closing auctions",
        sv.PRICE_LIMIT_HITS: "participant-instrument-days",
        sv.CONCENTRATION: "auctions that traded",
        sv.STP_CANCELS: "participant-days",
    }
    for rule in sv.RULE_IDS:
        n, of = scan.by_rule[rule], looked[rule]
        rate = f"{100 * n / of:.2f}%" if of else "n/a"
        print(f"{rule:<18} {n:>7} {of:>9}  {what[rule]:<28} {rate}")
    print(f"total alerts: {scan.findings}")


if __name__ == "__main__":
    main()
