"""Suspension over HTTP: the operator's suspend route cancels the participant's resting orders
(the sequencer's) besides what the status change withdraws, and the participant's next key is
refused until it is reinstated."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tanso.api.app import create_app
from tanso.services.ledger import audit
from tanso.store.db import Database
from tests.e2e.test_ops import bearer, market, order


def test_suspending_over_http_cancels_resting_orders_and_refuses_new_keys(db: Database) -> None:
    keys = market(db)
    with TestClient(create_app(db)) as c:
        buyer, op = bearer(keys["buyer"]), bearer(keys["operator"])
        placed = c.post("/v1/orders", json=order("buy", 10), headers=buyer).json()
        assert placed["status"] == "open"
        r = c.post("/v1/participants/OPSBUY/suspend", json={"reason": "KYC"}, headers=op)
        assert r.status_code == 200 and r.json()["status"] == "suspended"
        mine = c.get(f"/v1/orders/{placed['id']}", headers=op).json()
        assert mine["status"] == "cancelled"
        cash = c.get("/v1/cash", params={"participant_id": "OPSBUY"}, headers=op).json()
        assert cash[0]["reserved"] == 0
        refused = c.post("/v1/participants/OPSBUY/api-keys", json={"label": "x"}, headers=op)
        assert refused.status_code == 409
        assert refused.json()["error"]["code"] == "participant_suspended"
        assert c.post("/v1/participants/OPSBUY/approve", json={}, headers=op).is_success
        assert c.post("/v1/participants/OPSBUY/api-keys", json={}, headers=op).status_code == 201
    assert audit.verify(db).ok
