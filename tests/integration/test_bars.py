"""Bars kept up to date trade by trade equal bars recomputed from every trade."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tanso.domain.bars import INTERVALS, Bar, bars_from_trades, period_start
from tanso.domain.instruments import Eligibility, InstrumentSpec
from tanso.services.common import SYSTEM
from tanso.services.ledger import participants, taxonomy
from tanso.services.marketdata import events as marketdata
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange, NewOrder
from tanso.store import schema as t
from tanso.store.db import Database
from tests.conftest import add_issuance, add_participant, energy_saving, fresh_database, fund

steps = st.lists(
    st.tuples(st.integers(0, 9), st.integers(1_990, 2_010), st.integers(1, 50)),
    min_size=1,
    max_size=25,
)


def test_vwap_rounds_half_up_to_the_yen() -> None:
    assert Bar(100, 101, 100, 101, 2, 201, 2).vwap == 101  # 100.5 -> 101
    assert Bar(100, 100, 100, 100, 3, 301, 1).vwap == 100  # 100.33 -> 100


def test_periods_are_days_iso_weeks_and_calendar_months() -> None:
    day = dt.date(2026, 1, 8)  # a Thursday
    assert period_start(day, "1d") == day
    assert period_start(day, "1w") == dt.date(2026, 1, 5)
    assert period_start(day, "1mo") == dt.date(2026, 1, 1)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=steps)
def test_incremental_bars_equal_bars_recomputed_from_all_trades(
    steps: list[tuple[int, int, int]],
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    db = fresh_database("sqlite", request, tmp_path_factory.mktemp("bars"))
    try:
        _run(db, steps)
    finally:
        db.dispose()


def _run(db: Database, steps: list[tuple[int, int, int]]) -> None:
    now = {"t": dt.datetime(2026, 1, 5, 0, 0, tzinfo=dt.UTC)}

    def clock() -> str:
        now["t"] += dt.timedelta(milliseconds=1)
        return now["t"].isoformat().replace("+00:00", "Z")

    db.clock = clock
    participants.bootstrap(db)
    taxonomy.seed_reference_data(db, SYSTEM)
    x = Exchange(db, japan_calendar())
    seller, buyer = add_participant(db, "SX"), add_participant(db, "BX")
    add_issuance(db, "SX-MAIN", 100_000)
    fund(db, "BX", 10**12)
    x.define_instrument(
        SYSTEM,
        InstrumentSpec(
            "X",
            "X",
            "X",
            Eligibility(categories=("ENERGY_SAVING",)),
            mode="continuous",
            reference_price=2_000,
        ),
    )
    x.session(SYSTEM, "X", "open")
    for days_later, price, quantity in steps:
        now["t"] += dt.timedelta(days=days_later)
        x.place(seller, NewOrder("X", "sell", quantity, price))
        x.place(buyer, NewOrder("X", "buy", quantity, price + 3, tif="ioc"))
    tr = t.trades.c
    with db.read() as conn:
        trades = [
            (dt.date.fromisoformat(r.trade_date), r.price, r.quantity)
            for r in conn.execute(
                select(tr.trade_date, tr.price, tr.quantity).order_by(tr.journal_seq, tr.id)
            )
        ]
    assert trades, "every step should trade"
    for interval in INTERVALS:
        expected = bars_from_trades(trades, interval)
        got = {
            dt.date.fromisoformat(b["start"]): Bar(
                b["open"], b["high"], b["low"], b["close"], b["volume"], b["value"], b["trades"]
            )
            for b in marketdata.bars(db, "X", interval, limit=5_000)
        }
        assert got == expected


def test_bars_over_http_as_json_and_csv(db: Database, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from tanso.api.app import create_app

    x = Exchange(db, japan_calendar())
    seller, buyer = add_participant(db, "S2"), add_participant(db, "B2")
    add_issuance(db, "S2-MAIN", 1_000)
    fund(db, "B2", 10_000_000)
    x.define_instrument(
        SYSTEM,
        InstrumentSpec(
            "Y",
            "Y",
            "Y",
            Eligibility(categories=("ENERGY_SAVING",)),
            mode="continuous",
            reference_price=2_000,
        ),
    )
    x.session(SYSTEM, "Y", "open")
    x.place(seller, NewOrder("Y", "sell", 10, 2_000))
    x.place(seller, NewOrder("Y", "sell", 10, 2_010))
    x.place(buyer, NewOrder("Y", "buy", 20, 2_010))
    client = TestClient(create_app(db))
    r = client.get("/v1/market/bars", params={"instrument": "Y", "interval": "1d"})
    assert r.status_code == 200
    [bar] = r.json()
    assert (bar["open"], bar["high"], bar["low"], bar["close"]) == (2_000, 2_010, 2_000, 2_010)
    assert (bar["volume"], bar["value"], bar["vwap"], bar["trades"]) == (20, 40_100, 2_005, 2)
    csv = client.get("/v1/market/bars", params={"instrument": "Y", "format": "csv"})
    assert csv.text.splitlines()[0].startswith("instrument,interval,start,open")
    bad = client.get("/v1/market/bars", params={"instrument": "Y", "interval": "5m"})
    assert bad.status_code == 422


def test_bars_of_an_instrument_that_does_not_exist_answer_404_like_every_route(
    db: Database,
) -> None:
    """Issue 18, defect 9: `/v1/market/bars?instrument=NOPE` answered 200 with no bars; an
    instrument without trades still answers 200 with none."""
    from fastapi.testclient import TestClient

    from tanso.api.app import create_app

    with TestClient(create_app(db)) as http:
        missing = http.get("/v1/market/bars?instrument=NOPE")
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "instrument_not_found"
        Exchange(db, japan_calendar()).define_instrument(SYSTEM, energy_saving("continuous"))
        assert http.get("/v1/market/bars?instrument=JC-ES").json() == []
