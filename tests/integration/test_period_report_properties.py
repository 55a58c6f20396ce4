"""Property: after any sequence of trading days (random orders on random business days from
Monday 2026-01-26 to Friday 2026-02-06, always crossing the week boundary W05/W06 and the month
boundary January/February; index values published on some days), every weekly and monthly
report equals the aggregation of the daily reports of its days, computed here on its own, and
its bars equal the week's and month's bars the exchange stored trade by trade.
"""

from __future__ import annotations

import datetime as dt
import itertools
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tanso.domain.errors import TansoError
from tanso.services.common import SYSTEM
from tanso.services.marketdata import daily_report, indices, period_report
from tanso.services.trading.exchange import NewOrder
from tanso.store import schema as t
from tanso.store.db import Database
from tests.conftest import bootstrapped_database
from tests.integration.test_indices import ES, FOREST, Market, open_market

DAYS = [dt.date(2026, 1, 26) + dt.timedelta(days=d) for d in (0, 1, 2, 3, 4, 7, 8, 9, 10, 11)]
ALWAYS = (4, 5)  # Friday 30 January (W05, January) and Monday 2 February (W06, February)
BASE = {ES: (2_000, 5), FOREST: (10_000, 20)}  # the price and its step per offset
order = st.tuples(
    st.integers(0, len(DAYS) - 1),  # the day
    st.sampled_from((ES, FOREST)),
    st.integers(0, 1),  # before the 11:30 or the 15:00 auction
    st.integers(-10, 10),  # the bid's offset
    st.integers(-10, 10),  # the offer's offset
    st.integers(1, 30),  # tonnes
)
orders = st.lists(order, min_size=1, max_size=24)
publish = st.lists(st.booleans(), min_size=len(DAYS), max_size=len(DAYS))
_dirs = itertools.count()


def trade(m: Market, plan: list[tuple[Any, ...]], published: list[bool]) -> list[dt.date]:
    """Run the days of the plan (and the two that always trade); the days run."""
    x, c = m.x, m.clock
    run = sorted({p[0] for p in plan} | set(ALWAYS))
    for k in run:
        day = DAYS[k]
        c.at(day, 9, 0)
        for i in (ES, FOREST):
            x.session(SYSTEM, i, "open")
        for slot, hh, mm in ((0, 11, 30), (1, 15, 0)):
            for _, instrument, _, bid, offer, qty in (p for p in plan if (p[0], p[2]) == (k, slot)):
                price, step = BASE[instrument]
                try:
                    x.place(m.buyer, NewOrder(instrument, "buy", qty, price + bid * step))
                    x.place(m.seller, NewOrder(instrument, "sell", qty, price + offer * step))
                except TansoError:
                    pass  # refused (e.g. out of the day's limits): the market goes on
            c.at(day, hh, mm)
            for i in (ES, FOREST):
                x.session(SYSTEM, i, "auction")
        if published[k]:
            indices.compute(m.db, x, day)
        c.at(day, 15, 30)
        for i in (ES, FOREST):
            x.session(SYSTEM, i, "close")
    return [DAYS[k] for k in run]


def half_up(value: int, volume: int) -> int:
    q = Fraction(value, volume)
    return int(q + Fraction(1, 2)) if q >= 0 else -int(-q + Fraction(1, 2))


def expected(dailies: list[daily_report.DailyReport]) -> dict[str, Any]:
    """The period's figures, folded here from the daily reports of its days."""
    out: dict[str, Any] = {"instruments": {}, "indices": {}}
    ids = [r.id for r in dailies[-1].instruments]
    for iid in ids:
        days = [r for d in dailies for r in d.instruments if r.id == iid]
        bars = [r.bar for r in days if r.bar is not None]
        prints = [a for r in days for a in r.auctions]
        bar = None
        if bars:
            volume, value = sum(b.volume for b in bars), sum(b.value for b in bars)
            bar = (
                bars[0].open,
                max(b.high for b in bars),
                min(b.low for b in bars),
                bars[-1].close,
                volume,
                value,
                half_up(value, volume),
                sum(b.trades for b in bars),
            )
        out["instruments"][iid] = (
            bar,
            len(bars),
            len(prints),
            len([a for a in prints if a.price is not None and a.volume > 0]),
            sum(a.volume for a in prints),
            days[-1].reference_price,
        )
    for d in dailies:
        for i in d.indices:
            out["indices"].setdefault(i.id, []).append(i.value)
    out["indices"] = {
        k: (
            len(v),
            next((x for x in v if x is not None), None),
            next((x for x in reversed(v) if x is not None), None),
            max((x for x in v if x is not None), default=None),
            min((x for x in v if x is not None), default=None),
        )
        for k, v in out["indices"].items()
    }
    out["totals"] = (
        sum(d.totals.volume for d in dailies),
        sum(d.totals.value for d in dailies),
        sum(1 for d in dailies if any(r.bar for r in d.instruments)),
    )
    return out


def reported(rep: period_report.PeriodReport) -> dict[str, Any]:
    """The same figures, as the period report gives them."""
    instruments = {
        r.id: (
            None
            if r.bar is None
            else (
                r.bar.open,
                r.bar.high,
                r.bar.low,
                r.bar.close,
                r.bar.volume,
                r.bar.value,
                r.bar.vwap,
                r.bar.trades,
            ),
            r.days_traded,
            r.auctions,
            r.auctions_traded,
            r.auction_volume,
            r.reference_price,
        )
        for r in rep.instruments
    }
    index = {i.id: (i.days, i.first, i.last, i.high, i.low) for i in rep.indices}
    for i in rep.indices:
        assert i.change == (None if i.first is None or i.last is None else i.last - i.first)
    totals = (rep.totals.volume, rep.totals.value, rep.totals.days_traded)
    return {"instruments": instruments, "indices": index, "totals": totals}


def stored_bars(db: Database, interval: str, start: dt.date) -> dict[str, tuple[int, ...]]:
    b = t.bars.c
    with db.read() as conn:
        rows = conn.execute(
            select(t.bars).where(b.interval == interval, b.period_start == start.isoformat())
        ).all()
    return {
        r.instrument_id: (r.open, r.high, r.low, r.close, r.volume, r.value, r.trades) for r in rows
    }


def check(db: Database, m: Market, days: list[dt.date]) -> None:
    for kind, interval in (("weekly", "1w"), ("monthly", "1mo")):
        periods = {
            period_report.period_of(kind, d).name: period_report.period_of(kind, d) for d in days
        }
        assert [p.name for p in period_report.periods(db, kind)] == sorted(periods, reverse=True)
        assert len(periods) == 2  # the boundary is always crossed
        for period in periods.values():
            mine = [d for d in days if period.holds(d)]
            dailies = [daily_report.build(db, m.x, d) for d in mine]
            rep = period_report.build(db, m.x, period)
            assert rep.days == [d.isoformat() for d in mine]
            assert reported(rep) == expected(dailies)
            # and the exchange's own week and month bars, folded trade by trade, agree
            bars = {
                r.id: (b.open, b.high, b.low, b.close, b.volume, b.value, b.trades)
                for r in rep.instruments
                if (b := r.bar) is not None
            }
            assert bars == stored_bars(db, interval, period.start)


def run(backend: str, request: pytest.FixtureRequest, tmp: Path, plan: list, pub: list) -> None:
    db = bootstrapped_database(backend, request, tmp)
    try:
        m = open_market(db)
        days = trade(m, plan, pub)
        check(db, m, days)
    finally:
        db.dispose()


COMMON: dict[str, Any] = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
}


@settings(max_examples=15, **COMMON)
@given(plan=orders, pub=publish)
def test_period_reports_are_the_sum_of_their_daily_reports_on_sqlite(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    plan: list,
    pub: list,
) -> None:
    run("sqlite", request, tmp_path_factory.mktemp(f"pr{next(_dirs)}"), plan, pub)


@pytest.mark.full  # the PostgreSQL form; its SQLite form runs in both tiers
@settings(max_examples=8, **COMMON)
@given(plan=orders, pub=publish)
def test_period_reports_are_the_sum_of_their_daily_reports_on_postgres(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    plan: list,
    pub: list,
) -> None:
    run("postgres", request, tmp_path_factory.mktemp(f"pr{next(_dirs)}"), plan, pub)


def test_a_fixed_plan_trades_on_both_sides_of_both_boundaries(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A guard that the random runs can trade: both periods of each kind have a bar."""
    plan = [(4, ES, 0, 2, 0, 10), (5, ES, 1, 0, -1, 5), (5, FOREST, 0, 3, 3, 7)]
    db = bootstrapped_database("sqlite", request, tmp_path_factory.mktemp("fixed"))
    try:
        m = open_market(db)
        days = trade(m, plan, [True] * len(DAYS))
        check(db, m, days)
        for kind in ("weekly", "monthly"):
            for p in period_report.periods(db, kind):
                rep = period_report.build(db, m.x, p)
                assert {r.id for r in rep.instruments if r.bar} >= {ES}, p.name
    finally:
        db.dispose()
