"""Issue 18 defect 5: no settlement before the business date, unless the operator overrides it
(journaled). Today is the database clock's date in Japan; the test clock says 2026-01-05."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tanso.api.app import create_app
from tanso.domain.errors import Conflict
from tanso.domain.instruments import Eligibility, InstrumentSpec
from tanso.domain.journal import read_payload
from tanso.services.clearing import settlement
from tanso.services.common import SYSTEM
from tanso.services.ledger import audit, participants
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange, NewOrder
from tanso.store import schema as t
from tanso.store.db import Database
from tests.conftest import add_issuance, add_participant, fund

TODAY = dt.date(2026, 1, 5)  # the counter clock's day in Japan
DUE = dt.date(2026, 1, 13)  # T+5: Jan 12 is 成人の日


@pytest.fixture
def traded(db: Database) -> Database:
    """One trade of 300 t on 2026-01-05, due on 2026-01-13."""
    x = Exchange(db, japan_calendar())
    buyer, seller = add_participant(db, "BUYER"), add_participant(db, "SELLER")
    add_issuance(db, "SELLER-MAIN", 1_000, category="ENERGY_SAVING")
    fund(db, "BUYER", 10_000_000)
    eligible = Eligibility(categories=("ENERGY_SAVING",))
    spec = InstrumentSpec("ES", "Energy saving", "省エネ", eligible, reference_price=2_000)
    x.define_instrument(SYSTEM, spec)
    x.session(SYSTEM, "ES", "open")
    x.place(buyer, NewOrder("ES", "buy", 300, 2_000))
    x.place(seller, NewOrder("ES", "sell", 300, 2_000))
    assert len(x.session(SYSTEM, "ES", "auction").trades) == 1
    return db


def _runs(db: Database) -> list[dict[str, Any]]:
    j = t.journal.c
    with db.read() as conn:
        rows = conn.execute(select(j.payload).where(j.kind == "settlement.run")).all()
    return [read_payload(r.payload) for r in rows]


def test_the_business_date_is_the_database_clock_in_japan(db: Database) -> None:
    assert settlement.business_date(db) == TODAY
    db.clock = lambda: "2026-01-12T15:30:00Z"  # 00:30 on the 13th in Tokyo
    assert settlement.business_date(db) == DUE


def test_a_run_dated_after_today_is_refused_and_settles_nothing(traded: Database) -> None:
    with pytest.raises(Conflict) as err:
        settlement.run(traded, SYSTEM, DUE)
    assert err.value.code == "settlement_date_in_future"
    assert "2026-01-13" in err.value.message and "2026-01-05" in err.value.message
    assert [o.status for o in settlement.obligations(traded, SYSTEM)] == ["pending"]
    assert _runs(traded) == []


def test_an_early_run_settles_and_its_entry_records_the_override(traded: Database) -> None:
    out = settlement.run(traded, SYSTEM, DUE, early=True)
    assert (out.settled, out.failed) == (1, 0)
    (entry,) = _runs(traded)
    assert entry["early"] is True and entry["business_date"] == "2026-01-05"
    assert audit.verify(traded).ok


def test_the_due_date_settles_when_the_clock_reaches_it(traded: Database) -> None:
    db = traded
    assert settlement.run(db, SYSTEM, TODAY).settled == 0  # today is always allowed
    db.clock = lambda: "2026-01-13T07:00:00.000000Z"  # 16:00 JST, as the scheduler runs
    out = settlement.run(db, SYSTEM, DUE)
    assert out.settled == 1
    assert all("early" not in e for e in _runs(db))


@pytest.fixture
def http(traded: Database) -> Iterator[tuple[TestClient, dict[str, str]]]:
    key = participants.create_api_key(traded, SYSTEM, "OPERATOR").key
    with TestClient(create_app(traded)) as client:
        yield client, {"Authorization": f"Bearer {key}"}


def test_the_rest_route_answers_409_for_a_future_date_and_settles_early_on_request(
    http: tuple[TestClient, dict[str, str]], traded: Database
) -> None:
    client, op = http
    r = client.post("/v1/settlement/runs", json={"date": "2026-01-13"}, headers=op)
    assert r.status_code == 409
    error = r.json()["error"]
    assert error["code"] == "settlement_date_in_future" and "2026-01-05" in error["message"]
    r = client.post("/v1/settlement/runs", json={"date": "2026-01-13", "early": True}, headers=op)
    assert r.status_code == 201 and r.json()["settled"] == 1
    assert _runs(traded)[-1]["early"] is True
