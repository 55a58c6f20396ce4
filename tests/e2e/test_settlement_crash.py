"""A settlement run killed with SIGKILL halfway leaves every obligation either settled (both legs)
or untouched (pending, both reservations intact); a second run settles the rest (SQLite and
PostgreSQL).

The obligations come from one large call auction, prepared in this process. The run itself is
`settlement.run` in a child process that prints a line each time it starts a new chunk (one
transaction), that is, after the chunk before it has committed; on reading the first such line
the test kills it, which lands in the middle of a later chunk.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select, text

from tanso.domain.instruments import Eligibility, InstrumentSpec
from tanso.services.clearing import settlement
from tanso.services.common import SYSTEM
from tanso.services.ledger import audit, participants, taxonomy
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange, NewOrder
from tanso.store import migrate
from tanso.store import schema as t
from tanso.store.db import Database
from tests.conftest import PG_URL, add_issuance, add_participant, counter_clock, fund

pytestmark = [pytest.mark.slow, pytest.mark.fast_backends("postgres")]

DUE = dt.date(2026, 1, 13)  # the counter clock trades on 2026-01-05; T+5
BUYS, SELLS = 1_400, 1_000  # of 5 and of 7 tonnes: about 2,200 trades in one auction

CHILD = textwrap.dedent(
    """
    import datetime as dt
    import itertools
    import sys

    from tanso.services.clearing import settlement
    from tanso.services.common import SYSTEM
    from tanso.store.db import Database

    ticks = itertools.count()


    def clock():
        i = next(ticks)
        return f"2026-01-13T01:00:{i // 1_000_000 % 60:02d}.{i % 1_000_000:06d}Z"


    due = settlement._due


    def reporting_due(conn, date, after, limit):
        # called at the start of each chunk's transaction: the chunk before it has committed
        if after is not None:
            print(f"committed through {after}", flush=True)
        return due(conn, date, after, limit)


    settlement._due = reporting_due
    db = Database(sys.argv[1], clock)
    out = settlement.run(db, SYSTEM, dt.date.fromisoformat(sys.argv[2]), early=True)
    print(f"done {out.settled}", flush=True)
    """
)


def later_clock(day: str) -> Any:
    ticks = itertools.count()

    def now() -> str:
        i = next(ticks)
        return f"{day}T02:00:{i // 1_000_000 % 60:02d}.{i % 1_000_000:06d}Z"

    return now


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'settle.db'}"
        return
    schema = f"tanso_settle_crash_{os.getpid()}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    admin.dispose()


def _prepare(url: str) -> int:
    """Two buyers, two sellers, one call auction with thousands of trades; returns how many."""
    db = Database(url, counter_clock())
    try:
        migrate.upgrade(db.engine)
        participants.bootstrap(db)
        taxonomy.seed_reference_data(db, SYSTEM)
        actors = {pid: add_participant(db, pid) for pid in ("BUYA", "BUYB", "SELA", "SELB")}
        for pid in ("BUYA", "BUYB"):
            fund(db, pid, 10**10)
        for pid in ("SELA", "SELB"):
            add_issuance(db, f"{pid}-MAIN", 10_000, category="ENERGY_SAVING")
        x = Exchange(db, japan_calendar())
        x.start()
        try:
            spec = InstrumentSpec(
                "ESC",
                "Energy saving",
                "省エネ",
                Eligibility(categories=("ENERGY_SAVING",)),
                reference_price=2_000,
            )
            x.define_instrument(SYSTEM, spec)
            x.session(SYSTEM, "ESC", "open")

            def place(i: int) -> None:
                if i < BUYS:
                    buyer = actors[("BUYA", "BUYB")[i % 2]]
                    x.place(buyer, NewOrder("ESC", "buy", 5, 2_000 + i % 7))
                else:
                    seller = actors[("SELA", "SELB")[i % 2]]
                    x.place(seller, NewOrder("ESC", "sell", 7, 2_000 - i % 5))

            with ThreadPoolExecutor(16) as pool:
                list(pool.map(place, range(BUYS + SELLS)))
            trades = len(x.session(SYSTEM, "ESC", "auction").trades)
        finally:
            x.stop()
        return trades
    finally:
        db.dispose()


def _legs(db: Database) -> dict[str, int]:
    """Check each obligation's two legs against its status with SQL; count the statuses."""
    b, m, r, e = (
        t.blocks.c,
        t.credit_movements.c,
        t.cash_reservations.c,
        t.cash_entries.c,
    )
    quantity = func.sum(b.serial_end - b.serial_start + 1)
    with db.read() as conn:
        obligations = conn.execute(select(t.settlement_obligations)).all()
        reserved = {
            (res, acct, status): int(n)
            for res, acct, status, n in conn.execute(
                select(b.reservation, b.account_id, b.status, quantity)
                .where(b.reservation.is_not(None))
                .group_by(b.reservation, b.account_id, b.status)
            )
        }
        cash_reserved = dict(conn.execute(select(r.id, r.amount)).all())
        delivered = {
            ref: (int(n), acct)
            for ref, acct, n in conn.execute(
                select(m.ref, m.to_account, func.sum(m.serial_end - m.serial_start + 1))
                .where(m.kind == "settlement")
                .group_by(m.ref, m.to_account)
            )
        }
        paid = dict(
            conn.execute(
                select(e.memo, func.count()).where(e.memo.like("trade %")).group_by(e.memo)
            ).all()
        )
        # every settlement movement's serials still sit in the account they were moved to
        misplaced = conn.execute(
            select(func.count())
            .select_from(t.credit_movements)
            .where(
                m.kind == "settlement",
                ~select(b.id)
                .where(
                    b.issuance_id == m.issuance_id,
                    b.serial_start <= m.serial_start,
                    b.serial_end >= m.serial_end,
                    b.account_id == m.to_account,
                    b.status == "held",
                )
                .exists(),
            )
        ).scalar_one()
    assert misplaced == 0
    counts: dict[str, int] = {}
    for ob in obligations:
        counts[ob.status] = counts.get(ob.status, 0) + 1
        trade = ob.deal_id
        on_hold = reserved.get((ob.credit_reservation, ob.seller_account, "reserved"), 0)
        if ob.status == "settled":
            assert delivered.get(trade) == (ob.quantity, ob.buyer_account), trade
            assert on_hold == 0 and cash_reserved.get(ob.cash_reservation, 0) == 0, trade
            assert paid.get(f"trade {trade}") == 1, trade
        else:
            assert ob.status == "pending", (trade, ob.status)
            assert trade not in delivered and f"trade {trade}" not in paid, trade
            assert on_hold == ob.quantity, (trade, on_hold)
            assert cash_reserved.get(ob.cash_reservation, 0) == ob.amount + ob.buyer_fee, trade
    assert set(counts) <= {"settled", "pending"}, counts
    return counts


def test_a_run_killed_halfway_settles_each_obligation_wholly_or_not_at_all(
    database_url: str, tmp_path: Path
) -> None:
    trades = _prepare(database_url)
    assert trades > 2_000
    script = tmp_path / "settle_child.py"
    script.write_text(CHILD)
    child = subprocess.Popen(
        [sys.executable, str(script), database_url, DUE.isoformat()],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert child.stdout is not None
    first = child.stdout.readline()
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert first.startswith("committed through"), f"the child said {first!r}"
    assert child.returncode == -signal.SIGKILL

    db = Database(database_url, later_clock("2026-01-14"))
    try:
        counts = _legs(db)
        assert sum(counts.values()) == trades
        assert 0 < counts.get("settled", 0) < trades, counts  # killed halfway, not before or after
        report = audit.verify(db)
        assert report.ok, report.problems

        again = settlement.run(db, SYSTEM, DUE, early=True)
        assert (again.settled, again.failed) == (counts["pending"], 0)
        assert _legs(db) == {"settled": trades}
        report = audit.verify(db)
        assert report.ok, report.problems
    finally:
        db.dispose()
