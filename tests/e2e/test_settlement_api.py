"""Settlement over HTTP: runs, obligations with serials, failures, fees and the report."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tanso.api.app import create_app
from tanso.client import ApiError, Client
from tanso.services.common import SYSTEM
from tanso.services.ledger import audit, participants
from tanso.store.db import Database
from tests.conftest import add_issuance, add_participant, fund

DUE = "2026-01-13"


@pytest.fixture
def clients(db: Database) -> Iterator[dict[str, Any]]:
    keys = {"OPERATOR": participants.create_api_key(db, SYSTEM, "OPERATOR").key}
    for pid in ("SELLER", "BUYER", "OTHER"):
        add_participant(db, pid)
        keys[pid] = participants.create_api_key(db, SYSTEM, pid).key
    add_issuance(db, "SELLER-MAIN", 1_000, category="ENERGY_SAVING")
    fund(db, "BUYER", 10_000_000)
    app = create_app(db)
    with TestClient(app) as http:
        cs = {
            pid: Client("http://testserver", key, transport=http._transport)  # type: ignore[attr-defined]
            for pid, key in keys.items()
        }
        op = cs["OPERATOR"]
        op.request(
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
        op.session("ES", "open")
        cs["BUYER"].place_order("ES", "buy", 100, 2_000)
        cs["SELLER"].place_order("ES", "sell", 100, 2_000)
        op.run_auction("ES")
        yield cs | {"db": db}


def test_a_run_over_http_settles_and_each_side_sees_its_obligation(clients: dict[str, Any]) -> None:
    op, buyer, seller = clients["OPERATOR"], clients["BUYER"], clients["SELLER"]
    pending = buyer.obligations(status="pending")
    assert len(pending) == 1 and pending[0].due_date == DUE and pending[0].side == "buy"
    assert pending[0].seller is None and pending[0].buyer is None  # anonymous to the parties
    out = op.settlement_run(DUE, early=True)
    assert out.settled == 1
    mine = buyer.obligations(status="settled")
    assert mine[0].serials_received
    assert seller.obligations()[0].status == "settled"
    assert clients["OTHER"].obligations() == []
    rep = op.settlement_report(DUE)
    assert rep.reconciles is True
    html = op._http.get(f"/v1/settlement/reports/{DUE}", params={"format": "html"})
    assert html.status_code == 200 and "決済報告" in html.text
    csv = op._http.get(f"/v1/settlement/reports/{DUE}", params={"format": "csv"})
    assert csv.headers["content-type"].startswith("text/csv") and "reconciles" in csv.text
    assert audit.verify(clients["db"]).ok


def test_participants_cannot_run_settlement_or_read_the_report(clients: dict[str, Any]) -> None:
    for call in (
        lambda: clients["BUYER"].settlement_run(DUE),
        lambda: clients["BUYER"].settlement_report(DUE),
        lambda: clients["SELLER"].set_fees("ES", "buy", per_tonne=1),
    ):
        with pytest.raises(ApiError) as err:
            call()
        assert err.value.status == 403


def test_a_failed_obligation_is_resolved_by_the_operator(clients: dict[str, Any]) -> None:
    op, db = clients["OPERATOR"], clients["db"]
    participants.set_status(db, SYSTEM, "SELLER", "suspended")
    out = op.settlement_run(DUE, early=True)
    trade_id = out.failures[0].deal_id
    assert trade_id is not None
    assert clients["BUYER"].obligations(status="failed")[0].deal_id == trade_id
    with pytest.raises(ApiError) as err:
        clients["BUYER"].resolve_obligation(trade_id, "cancel")
    assert err.value.status == 403
    done = op.resolve_obligation(trade_id, "cancel")
    assert done.status == "cancelled"
    with pytest.raises(ApiError) as err:
        op.resolve_obligation(trade_id, "settle")
    assert err.value.code == "obligation_not_failed"


def test_bad_dates_and_ids_get_clear_errors(clients: dict[str, Any]) -> None:
    op = clients["OPERATOR"]
    for body in ({"date": "2026-02-30"}, {"date": 20260113}, {}, {"date": DUE, "x": 1}):
        r = op._http.post("/v1/settlement/runs", json=body)
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"
    with pytest.raises(ApiError) as err:
        op.resolve_obligation("T-NOPE", "settle")
    assert err.value.status == 404


def test_fees_are_public_and_set_by_the_operator(clients: dict[str, Any]) -> None:
    op = clients["OPERATOR"]
    op.set_fees("ES", "buy", per_tonne=2, bps=0, per_trade=0, late_charge=0)
    public = Client("http://testserver", transport=op._http._transport)
    assert {
        "instrument": "ES",
        "side": "buy",
        "per_tonne": 2,
        "bps": 0,
        "per_trade": 0,
        "late_charge": 0,
    } in [dataclasses.asdict(f) for f in public.fees()]
    with pytest.raises(ApiError) as err:
        op.set_fees("ES", "buy", bps=20_000)
    assert err.value.status == 422
