"""Property: the public statistics equal their recomputation, whatever happened and whenever
they were folded (issue 22).

Each example runs a random sequence of registry acts (issuances in several schemes, categories,
prefectures and countries; transfers, retirements for various purposes, cancellations, exports),
exchange trades (some busted), participant registrations and days passing (a month boundary is
crossed), and folds the statistics at random points between them. At the end the tables equal:

- the whole journal folded afresh in one go (`stats.recompute`), and
- an independent recomputation from the registry's and the exchange's own tables (issuances,
  retirements, blocks, credit_movements, trades, participants), which never reads the journal.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tanso.domain.errors import TansoError
from tanso.domain.instruments import Eligibility, InstrumentSpec
from tanso.services.common import SYSTEM
from tanso.services.ledger import participants, registry, taxonomy
from tanso.services.marketdata import stats
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange, NewOrder, trade_date
from tanso.store import schema as t
from tanso.store.db import Database
from tests.conftest import add_participant, fresh_database, fund

Sel = registry.Selection
PIDS = ["SA", "SB", "SC"]
PROJECTS = [  # id, scheme, category, country, region
    ("PJ1", "JC", "ENERGY_SAVING", "JP", "千葉県"),
    ("PJ2", "JC", "FOREST", "JP", "北海道"),
    ("PJ3", "JM", "JCM", "VN", "Ho Chi Minh City"),
]
PURPOSES = [["offset_scope1"], ["shk_reporting"], ["offset_scope1", "offset_scope3"]]
KINDS = ["issue", "transfer", "retire", "cancel", "export", "trade", "bust", "join", "day", "fold"]

op = st.tuples(
    st.sampled_from(KINDS),
    st.integers(0, len(PIDS) - 1),
    st.integers(0, len(PIDS) - 1),
    st.integers(1, 60),
    st.integers(0, 5),
)
ops = st.lists(op, min_size=4, max_size=22)
_dirs = itertools.count()


class Clock:
    """The business clock: a day's trading hours; `next_day` moves to the next day at 01:00
    UTC (10:00 in Tokyo), so a run crosses from November into December."""

    def __init__(self) -> None:
        self.day = dt.date(2026, 11, 27)
        self.ticks = 0

    def __call__(self) -> str:
        self.ticks += 1
        i = self.ticks
        minutes, seconds, micros = i // 60_000_000 % 60, i // 1_000_000 % 60, i % 1_000_000
        return f"{self.day.isoformat()}T01:{minutes:02d}:{seconds:02d}.{micros:06d}Z"

    def next_day(self) -> None:
        self.day += dt.timedelta(days=1)


class Run:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db, self.clock = db, clock
        self.actors = {pid: add_participant(db, pid) for pid in PIDS}
        for pid in PIDS:
            fund(db, pid, 50_000_000)
        for pid, scheme, category, country, region in PROJECTS:
            taxonomy.register_project(
                db,
                SYSTEM,
                taxonomy.NewProject(
                    pid, scheme, f"Project {pid}", category, country, region=region
                ),
            )
        self.rounds = itertools.count(1)
        self.joined = itertools.count(1)
        self.x = Exchange(db, japan_calendar())
        spec = InstrumentSpec(
            "ST-ES",
            "Energy saving",
            "省エネ",
            Eligibility(categories=("ENERGY_SAVING",)),
            mode="continuous",
            reference_price=2_000,
        )
        self.x.define_instrument(SYSTEM, spec)
        self.x.session(SYSTEM, "ST-ES", "open")
        self.trades: list[str] = []

    def step(self, kind: str, a: int, b: int, n: int, k: int) -> None:
        db, src, dst = self.db, PIDS[a], PIDS[b]
        actor = self.actors[src]
        try:
            if kind == "issue":
                project = PROJECTS[k % len(PROJECTS)][0]
                registry.issue(
                    db,
                    SYSTEM,
                    registry.NewIssuance(
                        project, "ER", str(next(self.rounds)), 2018 + k, n * 10, f"{src}-MAIN"
                    ),
                )
            elif kind == "transfer":
                registry.transfer(db, actor, f"{src}-MAIN", f"{dst}-MAIN", Sel(n))
            elif kind == "retire":
                registry.retire(
                    db,
                    actor,
                    registry.RetirementRequest(f"{src}-MAIN", Sel(n), PURPOSES[k % len(PURPOSES)]),
                )
            elif kind == "cancel":
                registry.cancel(db, actor, f"{src}-MAIN", Sel(n), "double counted")
            elif kind == "export":
                registry.withdraw(db, actor, f"{src}-MAIN", Sel(n), "Verra", "VCS-1")
            elif kind == "trade" and src != dst:
                self.x.place(actor, NewOrder("ST-ES", "sell", n, 2_000 + k))
                placed = self.x.place(self.actors[dst], NewOrder("ST-ES", "buy", n, 2_000 + k))
                self.trades += [tr.id for tr in placed.trades]
            elif kind == "bust" and self.trades:
                self.x.bust(SYSTEM, self.trades.pop(k % len(self.trades)), "erroneous_order")
            elif kind == "join":
                add_participant(db, f"SJ{next(self.joined)}", active=bool(k % 2))
            elif kind == "day":
                self.clock.next_day()
            elif kind == "fold":
                stats.fold(db, batch=1 + k * 3)
        except TansoError:
            pass  # refused: nothing changed, nothing to count


def independent(db: Database) -> dict[str, dict[Any, int]]:
    """The figures from the registry's and the exchange's tables alone (never the journal)."""
    out: dict[str, dict[Any, int]] = defaultdict(lambda: defaultdict(int))
    i, p, j = t.issuances.c, t.projects.c, t.journal.c
    with db.read() as conn:
        at = {r.seq: trade_date(r.at).isoformat() for r in conn.execute(select(j.seq, j.at))}
        scheme_of = {
            r.id: r.scheme
            for r in conn.execute(select(i.id, p.scheme).join_from(t.issuances, t.projects))
        }
        for r in conn.execute(select(i.id, i.quantity, i.journal_seq, i.origin)):
            if r.origin != "deposited":
                out["issued"][(scheme_of[r.id], at[r.journal_seq][:7])] += r.quantity
        for r in conn.execute(select(t.retirements)):
            out["retired"][at[r.journal_seq][:7]] += r.quantity
        a = t.accounts.c
        owner = {
            r.id: (r.participant_id, r.kind)
            for r in conn.execute(select(a.id, a.participant_id, a.kind))
        }
        for r in conn.execute(select(t.credit_movements)):
            quantity = r.serial_end - r.serial_start + 1
            if r.kind == "cancellation":
                out["cancelled"][scheme_of[r.issuance_id]] += quantity
            elif r.kind == "withdrawal":
                out["exported"][scheme_of[r.issuance_id]] += quantity
            elif (
                r.kind in ("transfer", "settlement")
                and owner[r.to_account][0] != owner[r.from_account][0]
            ):
                out["transferred"][scheme_of[r.issuance_id]] += quantity
        tr = t.trades.c
        for r in conn.execute(
            select(tr.trade_date, tr.quantity, tr.price).where(tr.busted.is_(False))
        ):
            out["volume"][r.trade_date] += r.quantity
            out["value"][r.trade_date] += r.quantity * r.price
        pc = t.participants.c
        for r in conn.execute(select(pc.id, pc.kind, pc.status)):
            if r.id != "OPERATOR":
                out["registered"][r.kind] += 1
                out["active"][r.kind] += r.status == "active"
    return out


def from_stats(db: Database) -> dict[str, dict[Any, int]]:
    """The same figures, as the public answers give them."""
    out: dict[str, dict[Any, int]] = defaultdict(lambda: defaultdict(int))
    months = [r.key for r in stats.registry(db, "month").rows]
    for month in months:
        first = dt.date.fromisoformat(f"{month}-01")
        last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
        for r in stats.registry(db, "scheme", first, last).rows:
            if r.issued:
                out["issued"][(r.key, month)] += r.issued
        for r in stats.registry(db, "month", first, last).rows:
            if r.retired:
                out["retired"][r.key] += r.retired
    for r in stats.registry(db, "scheme").rows:
        for measure in ("cancelled", "exported", "transferred"):
            if getattr(r, measure):
                out[measure][r.key] += getattr(r, measure)
    days = {
        d.isoformat() for d in (dt.date(2026, 11, 27) + dt.timedelta(days=n) for n in range(40))
    }
    for day in sorted(days):
        on = dt.date.fromisoformat(day)
        for r in stats.market(db, "venue", on, on).rows:
            if r.key == "exchange" and (r.volume or r.value):
                out["volume"][day] += r.volume
                out["value"][day] += r.value
    for r in stats.participants(db).rows:
        out["registered"][r.kind] += r.registered
        out["active"][r.kind] += r.active
    return out


def _plain(d: dict[str, dict[Any, int]]) -> dict[str, dict[Any, int]]:
    return {k: {kk: vv for kk, vv in v.items() if vv} for k, v in d.items() if any(v.values())}


def run_sequence(backend: str, request: pytest.FixtureRequest, tmp: Path, steps: list[Any]) -> None:
    db = fresh_database(backend, request, tmp)
    clock = Clock()
    db.clock = clock
    try:
        participants.bootstrap(db)
        taxonomy.seed_reference_data(db, SYSTEM)
        run = Run(db, clock)
        run.step("issue", 0, 0, 30, 0)
        run.step("issue", 1, 1, 20, 1)
        for s in steps:
            run.step(*s)
        stats.fold(db)
        seq, folded = stats.stored(db)
        assert seq == db.journal_seq()
        assert folded.plain() == stats.recompute(db).plain()
        assert _plain(from_stats(db)) == _plain(independent(db))
    finally:
        db.dispose()


COMMON = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
}


@settings(max_examples=15, **COMMON)
@given(steps=ops)
def test_statistics_equal_their_recomputation_on_sqlite(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, steps: list
) -> None:
    run_sequence("sqlite", request, tmp_path_factory.mktemp(f"stats{next(_dirs)}"), steps)


@settings(max_examples=6, **COMMON)
@given(steps=ops)
def test_statistics_equal_their_recomputation_on_postgres(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, steps: list
) -> None:
    run_sequence("postgres", request, tmp_path_factory.mktemp(f"stats{next(_dirs)}"), steps)


def test_a_fixed_busy_sequence_counts_every_kind_of_figure(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A guard that the random runs can reach each figure: here each one is non-zero."""
    steps = [
        ("transfer", 0, 2, 10, 0),
        ("fold", 0, 0, 1, 0),
        ("retire", 0, 0, 5, 1),
        ("cancel", 1, 1, 3, 0),
        ("export", 1, 1, 2, 0),
        ("trade", 0, 1, 7, 2),
        ("trade", 0, 2, 4, 1),
        ("day", 0, 0, 1, 0),  # the bust is taken off the trade's day, not the bust's
        ("bust", 0, 0, 1, 0),
        ("join", 0, 0, 1, 1),
        ("issue", 2, 2, 5, 2),
    ]
    tmp = tmp_path_factory.mktemp("stats-fixed")
    db = fresh_database("sqlite", request, tmp)
    clock = Clock()
    db.clock = clock
    try:
        participants.bootstrap(db)
        taxonomy.seed_reference_data(db, SYSTEM)
        run = Run(db, clock)
        run.step("issue", 0, 0, 30, 0)
        run.step("issue", 1, 1, 20, 1)
        for s in steps:
            run.step(*s)
        figures = _plain(from_stats(db))
        assert set(figures) == {
            "issued",
            "retired",
            "cancelled",
            "exported",
            "transferred",
            "volume",
            "value",
            "registered",
            "active",
        }
        assert figures == _plain(independent(db))
        regions = {r.key for r in stats.registry(db, "region").rows}
        assert {"千葉県", "北海道", "VN"} <= regions
        venues = {r.key: r for r in stats.market(db, "venue").rows}
        assert venues["exchange"].trades == 1  # two trades, one busted
    finally:
        db.dispose()
