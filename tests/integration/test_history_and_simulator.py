"""Imported price history and the demo's simulated traders."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient

from tanso.api.app import create_app
from tanso.client import Client
from tanso.demo import history
from tanso.demo.simulator import Simulator
from tanso.domain.errors import TansoError
from tanso.domain.instruments import Eligibility, InstrumentSpec
from tanso.services.common import SYSTEM
from tanso.services.ledger import audit, participants
from tanso.services.marketdata import events as marketdata
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange, NewOrder
from tanso.store.db import Database
from tests.conftest import add_issuance, add_participant, fund

D = dt.date


def _listed(db: Database, reference: int = 2_000) -> Exchange:
    x = Exchange(db, japan_calendar())
    x.define_instrument(
        SYSTEM,
        InstrumentSpec(
            "ES",
            "Energy saving",
            "省エネ",
            Eligibility(categories=("ENERGY_SAVING",)),
            reference_price=reference,
        ),
    )
    return x


def test_calibrated_history_stays_in_the_published_range_and_trades_on_most_days() -> None:
    rows = history.calibrated_history("RE_POWER", D(2023, 4, 1), D(2025, 3, 31))
    prices = [r[2] for r in rows if r[2] is not None]
    assert min(prices) >= 1_500 and max(prices) <= 6_600
    share = len(prices) * 100 // len(rows)
    assert 70 <= share <= 86  # about 78% of auctions trade
    assert all(japan_calendar().is_business_day(r[0]) for r in rows)
    assert rows == history.calibrated_history("RE_POWER", D(2023, 4, 1), D(2025, 3, 31))


def test_imported_history_gives_bars_and_auctions_and_is_journaled(db: Database) -> None:
    rows: list[history.AuctionRow] = [
        (D(2025, 3, 3), "11:30", 2_000, 100),
        (D(2025, 3, 3), "15:00", None, 0),
        (D(2025, 3, 4), "11:30", 2_100, 50),
        (D(2025, 3, 4), "15:00", 1_950, 50),
    ]
    _listed(db, reference=1_950)
    out = history.import_history(db, SYSTEM, "ES", rows)
    assert out["auctions"] == 4 and out["last_price"] == 1_950
    days = marketdata.bars(db, "ES", "1d")
    assert [
        (b["start"], b["open"], b["high"], b["low"], b["close"], b["volume"]) for b in days
    ] == [
        ("2025-03-03", 2_000, 2_000, 2_000, 2_000, 100),
        ("2025-03-04", 2_100, 2_100, 1_950, 1_950, 100),
    ]
    assert marketdata.bars(db, "ES", "1w")[0]["vwap"] == 2_013  # 402,500 / 200 = 2,012.5, half up
    assert audit.verify(db).ok


def test_history_cannot_be_imported_once_trading_has_begun(db: Database) -> None:
    x = _listed(db)
    seller, buyer = add_participant(db, "HS"), add_participant(db, "HB")
    add_issuance(db, "HS-MAIN", 100)
    fund(db, "HB", 1_000_000)
    x.session(SYSTEM, "ES", "open")
    x.place(seller, NewOrder("ES", "sell", 10, 2_000))
    x.place(buyer, NewOrder("ES", "buy", 10, 2_000))
    x.session(SYSTEM, "ES", "auction")
    with pytest.raises(TansoError) as err:
        history.import_history(db, SYSTEM, "ES", [(D(2025, 3, 3), "11:30", 2_000, 1)])
    assert err.value.code == "already_trading"
    with pytest.raises(TansoError) as err:
        history.import_history(db, seller, "ES", [(D(2025, 3, 3), "11:30", 2_000, 1)])
    assert err.value.code == "role_required"


def test_simulated_traders_place_orders_only_on_open_markets(db: Database) -> None:
    """The simulator trades; the scheduler, not the simulator, opens markets and runs auctions
    (issue 18 defect 4: the simulator held auctions at any hour)."""
    keys = {"OPERATOR": participants.create_api_key(db, SYSTEM, "OPERATOR").key}
    for pid in ("SIMA", "SIMB"):
        add_participant(db, pid)
        keys[pid] = participants.create_api_key(db, SYSTEM, pid).key
    add_issuance(db, "SIMA-MAIN", 10_000)
    fund(db, "SIMB", 100_000_000)
    with TestClient(create_app(db)) as http:
        sim = Simulator("http://testserver", keys, seed=7, transport=http._transport)  # type: ignore[attr-defined]
        clients = sim.clients()
        assert "OPERATOR" not in clients
        reader = clients["SIMA"]
        operator = Client("http://testserver", keys["OPERATOR"], transport=http._transport)  # type: ignore[attr-defined]
        operator.request(
            "POST",
            "/v1/instruments",
            json={
                "id": "ES",
                "name_en": "Energy saving",
                "name_ja": "省エネ",
                "eligibility": {"categories": ["ENERGY_SAVING"]},
                "reference_price": 2_000,
            },
        )
        assert sim._open_markets(reader) == []  # closed: nothing to trade on
        operator.session("ES", "open")
        open_now = sim._open_markets(reader)
        assert [i.id for i in open_now] == ["ES"]
        for _ in range(40):
            sim.step(clients, open_now)
        auctions = db_count(db, "auctions")
    assert sim.counts["orders"] > 10 and auctions == 0
    assert audit.verify(db).ok


def db_count(db: Database, table: str) -> int:
    from sqlalchemy import func, select

    from tanso.store import schema as t

    with db.read() as conn:
        return int(
            conn.execute(select(func.count()).select_from(t.metadata.tables[table])).scalar_one()
        )
