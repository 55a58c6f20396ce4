"""The request path over HTTP: a key seen before costs no database read, revoking a key,
suspending its participant or narrowing a broker's mandate holds from the very next request, and
the access log's buffered rows reach the table by the server's tick or at its shutdown."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select

from tanso.api.app import create_app
from tanso.services.access import access_log
from tanso.services.common import SYSTEM
from tanso.services.ledger import participants
from tanso.store.db import Database
from tanso.store.schema_ops import access_log as table
from tests.conftest import add_issuance, add_participant

pytestmark = pytest.mark.fast_backends("sqlite", "postgres")


def bearer(key: str, on_behalf_of: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {key}"}
    if on_behalf_of:
        headers["X-On-Behalf-Of"] = on_behalf_of
    return headers


@pytest.fixture
def no_tick(monkeypatch: pytest.MonkeyPatch) -> None:
    """No background tick: what a test counts is what its requests did."""
    monkeypatch.setenv("TANSO_BACKGROUND_TICK_SECONDS", "0")


@pytest.mark.single_process("counts the reads of the one process's database connection")
def test_each_change_holds_from_the_next_request_though_keys_are_cached(
    db: Database, no_tick: None
) -> None:
    add_participant(db, "RPB", ["broker", "trader"])
    add_participant(db, "RPC")
    add_participant(db, "RPS")
    add_issuance(db, "RPC-MAIN", 100)
    participants.authorise_broker(db, SYSTEM, "RPC", "RPB", True, scopes=["trade", "transfer"])
    broker = participants.create_api_key(db, SYSTEM, "RPB").key
    spare = participants.create_api_key(db, SYSTEM, "RPS")
    operator = bearer(participants.create_api_key(db, SYSTEM, "OPERATOR").key)
    client = bearer(participants.create_api_key(db, SYSTEM, "RPC").key)
    move = {"from_account": "RPC-MAIN", "to_account": "RPS-MAIN", "quantity": 1}
    reads: Counter[str] = Counter()

    def count(_c: Any, _cur: Any, sql: str, *_: Any) -> None:
        if sql.lstrip().upper().startswith("SELECT"):
            reads["api_keys" if "FROM api_keys" in sql else "route"] += 1

    with TestClient(create_app(db)) as c:
        for _ in range(2):
            assert c.get("/v1/accounts", headers=bearer(spare.key)).status_code == 200
        # the spare key is cached: its request reads only what the route reads
        event.listen(db.engine, "before_cursor_execute", count)
        assert c.get("/v1/accounts", headers=bearer(spare.key)).status_code == 200
        event.remove(db.engine, "before_cursor_execute", count)
        assert reads["route"] > 0 and reads["api_keys"] == 0

        # revocation
        assert c.delete(f"/v1/participants/RPS/api-keys/{spare.id}", headers=operator).is_success
        assert c.get("/v1/accounts", headers=bearer(spare.key)).status_code == 401

        # a narrowed mandate: transfer was granted, the broker used it, then only trade
        moved = c.post("/v1/transfers", json=move, headers=bearer(broker, "RPC"))
        assert moved.status_code == 201, moved.text
        narrowed = c.post(
            "/v1/participants/RPC/brokers",
            json={"broker_id": "RPB", "scopes": ["trade"]},
            headers=client,
        )
        assert narrowed.is_success
        refused = c.post("/v1/transfers", json=move, headers=bearer(broker, "RPC"))
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "scope_missing"

        # a withdrawn mandate
        assert c.get("/v1/accounts", headers=bearer(broker, "RPC")).status_code == 200
        assert c.delete("/v1/participants/RPC/brokers/RPB", headers=client).is_success
        gone = c.get("/v1/accounts", headers=bearer(broker, "RPC"))
        assert gone.status_code == 403
        assert gone.json()["error"]["code"] == "broker_not_authorised"

        # suspension: the client's cached key moves nothing any more
        assert c.post("/v1/transfers", json=move, headers=client).status_code == 201
        r = c.post("/v1/participants/RPC/suspend", json={"reason": "KYC"}, headers=operator)
        assert r.status_code == 200
        stopped = c.post("/v1/transfers", json=move, headers=client)
        assert stopped.status_code == 403
        assert stopped.json()["error"]["code"] == "participant_not_active"


@pytest.mark.single_process("the access log buffer of the one process's database")
def test_the_server_writes_the_waiting_rows_at_shutdown(db: Database, no_tick: None) -> None:
    add_participant(db, "RPSD")
    key = participants.create_api_key(db, SYSTEM, "RPSD")
    with TestClient(create_app(db)) as c:
        assert c.get("/v1/accounts", headers=bearer(key.key)).status_code == 200
        assert access_log.pending(db) == 1
    assert access_log.pending(db) == 0
    with db.read() as conn:
        rows = conn.execute(select(table.c.subject).where(table.c.participant_id == "RPSD"))
        assert list(rows.scalars()) == [key.id]


def test_the_background_tick_writes_the_waiting_rows(db: Database) -> None:
    from tanso.api.ops import Tick

    add_participant(db, "RPTK")
    key = participants.create_api_key(db, SYSTEM, "RPTK")
    participants.authenticate(db, key.key)
    tick = Tick(db, interval=3600)  # driven by hand: no test waits for a clock
    tick.tick()
    assert access_log.pending(db) == 0
    page = access_log.list_access(db, SYSTEM, subject=key.id)
    assert [e.outcome for e in page.entries] == ["ok"]
