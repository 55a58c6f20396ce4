"""Operations over HTTP: liveness and readiness, Prometheus metrics, backpressure on order entry.

Every request goes through ``TestClient(create_app(db))`` with real API keys; inside ``with`` the
exchange's sequencer runs, outside it does not (which readiness must notice).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tanso.api.app import create_app
from tanso.domain.instruments import Eligibility, InstrumentSpec
from tanso.services.common import SYSTEM
from tanso.services.ledger import participants
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange
from tanso.store import migrate
from tanso.store.db import Database
from tests.conftest import add_issuance, add_participant, counter_clock, fund

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def market(db: Database) -> dict[str, str]:
    """A buyer and a seller with keys, and an open call-auction market ES."""
    add_participant(db, "OPSBUY")
    add_participant(db, "OPSSELL")
    add_issuance(db, "OPSSELL-MAIN", 1_000)
    fund(db, "OPSBUY", 10_000_000)
    x = Exchange(db, japan_calendar())
    x.define_instrument(
        SYSTEM,
        InstrumentSpec(
            "ES",
            "Energy saving",
            "省エネ",
            Eligibility(categories=("ENERGY_SAVING",)),
            reference_price=2_000,
        ),
    )
    x.session(SYSTEM, "ES", "open")
    return {
        "buyer": participants.create_api_key(db, SYSTEM, "OPSBUY").key,
        "seller": participants.create_api_key(db, SYSTEM, "OPSSELL").key,
        "operator": participants.create_api_key(db, SYSTEM, "OPERATOR").key,
    }


def order(side: str, quantity: int = 10, price: int = 2_000) -> dict[str, Any]:
    return {"instrument": "ES", "side": side, "quantity": quantity, "price": price}


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample of the exposition text (0 when it is absent)."""
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = re.fullmatch(r"([a-zA-Z_:][\w:]*)(\{(.*)\})? (\S+)", line)
        if m is None or m.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(m.group(4))
    return 0.0


def test_liveness_answers_and_readiness_needs_the_sequencer(db: Database) -> None:
    app = create_app(db)
    idle = TestClient(app)  # no lifespan: the sequencer thread is not running
    assert idle.get("/healthz").status_code == 200
    r = idle.get("/readyz")
    assert r.status_code == 503 and r.headers["retry-after"]
    assert any("sequencer" in reason for reason in r.json()["reasons"])
    assert r.json()["error"]["code"] == "not_ready"
    with TestClient(app) as c:
        r = c.get("/readyz")
        assert r.status_code == 200 and r.json() == {"status": "ready"}


def test_readiness_refuses_a_database_behind_the_code(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'old.db'}", counter_clock())
    migrate.upgrade(db.engine)
    participants.bootstrap(db)
    app = create_app(db)
    with TestClient(app) as c:
        assert c.get("/readyz").status_code == 200
        migrate.downgrade(db.engine, "0012")
        r = c.get("/readyz")
        assert r.status_code == 503
        assert any("schema at 0012" in reason for reason in r.json()["reasons"])
    db.dispose()


@pytest.mark.single_process(
    "a gateway counts requests; the engine counts orders and trades (its own /metrics)"
)
def test_metrics_count_requests_orders_trades_settlement_and_errors(db: Database) -> None:
    keys = market(db)
    with TestClient(create_app(db)) as c:
        assert c.post("/v1/orders", json=order("buy", 10), headers=bearer(keys["buyer"])).is_success
        assert c.post(
            "/v1/orders", json=order("sell", 10), headers=bearer(keys["seller"])
        ).is_success
        # more than the buyer's cash: the pre-trade check refuses it, and the refusal is journaled
        r = c.post("/v1/orders", json=order("buy", 5_000, 3_000), headers=bearer(keys["buyer"]))
        assert r.status_code in (409, 422) and r.json()["error"]["code"] == "insufficient_cash"
        bad = c.post("/v1/orders", json=order("buy", -1), headers=bearer(keys["buyer"]))
        assert bad.status_code == 422
        op = bearer(keys["operator"])
        assert c.post("/v1/instruments/ES/auctions", headers=op).is_success
        run = c.post("/v1/settlement/runs", json={"date": "2026-01-13", "early": True}, headers=op)
        assert run.status_code == 201 and run.json()["settled"] == 1
        logging.getLogger("tanso.ops-test").error("an error record counts as an error")
        c.get("/v1/no/such/route")
        text = c.get("/metrics", headers=op).text

    assert metric(text, "tanso_orders_total", outcome="accepted") == 2
    assert (
        metric(text, "tanso_orders_total", outcome="rejected", reason=r.json()["error"]["code"])
        == 1
    )
    assert metric(text, "tanso_orders_total", outcome="rejected", reason="invalid_request") == 1
    assert metric(text, "tanso_trades_total") == 1
    assert metric(text, "tanso_traded_quantity_total") == 10
    assert metric(text, "tanso_auctions_total") == 1
    route = {"method": "POST", "route": "/v1/orders"}
    assert metric(text, "tanso_http_requests_total", **route, status="201") >= 2
    assert metric(text, "tanso_http_requests_total", **route, status="422") >= 1
    assert metric(text, "tanso_http_request_duration_seconds_count", **route) >= 4
    assert (
        metric(text, "tanso_http_requests_total", method="GET", route="(unmatched)", status="404")
        == 1
    )
    # never a raw path as a label: ids would make the number of series unbounded
    assert "/v1/no/such/route" not in text
    assert metric(text, "tanso_settlement_runs_total") == 1
    assert metric(text, "tanso_settlement_settled_total") == 1
    assert metric(text, "tanso_settlement_failures_total") == 0
    assert metric(text, "tanso_errors_total", logger="tanso.ops-test") == 1
    assert metric(text, "tanso_sequencer_up") == 1
    assert metric(text, "tanso_sequencer_queue_depth") == 0
    assert metric(text, "tanso_stream_subscribers") == 0
    assert metric(text, "tanso_database_up") == 1
    assert metric(text, "tanso_journal_head_seq") > 0


def test_metrics_count_stream_subscribers(db: Database) -> None:
    op = bearer(participants.create_api_key(db, SYSTEM, "OPERATOR").key)
    with TestClient(create_app(db)) as c, c.websocket_connect("/v1/stream") as ws:
        ws.send_json({"op": "subscribe", "channels": ["trades"], "instruments": ["*"]})
        assert ws.receive_json()["type"] == "subscribed"
        assert metric(c.get("/metrics", headers=op).text, "tanso_stream_subscribers") == 1


def test_every_answer_carries_a_request_id_and_keeps_a_sane_one_it_was_given(
    db: Database,
) -> None:
    with TestClient(create_app(db)) as c:
        assert re.fullmatch(r"[0-9a-f]{32}", c.get("/healthz").headers["x-request-id"])
        given = c.get("/healthz", headers={"X-Request-ID": "lb-1234"})
        assert given.headers["x-request-id"] == "lb-1234"
        hostile = c.get("/healthz", headers={"X-Request-ID": ("a b\xe9" * 30).encode("latin-1")})
        assert re.fullmatch(r"[0-9a-f]{32}", hostile.headers["x-request-id"])


@pytest.mark.single_process("the queue is the engine's: a gateway reports no depth")
def test_order_entry_answers_503_with_retry_after_while_the_exchange_queue_is_full(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TANSO_EXCHANGE_QUEUE_LIMIT", "1")
    keys = market(db)
    app = create_app(db)
    with TestClient(app) as c:
        exchange = app.state.exchange
        buyer = bearer(keys["buyer"])
        entered, release = threading.Event(), threading.Event()

        def block_once(_entries: list[dict[str, Any]]) -> None:
            # a listener runs in the sequencer after its commit: holding it here holds the
            # sequencer, so later commands wait in its queue
            if not entered.is_set():
                entered.set()
                assert release.wait(120)

        exchange.listeners.append(block_once)
        with ThreadPoolExecutor(4) as pool:
            first = pool.submit(c.post, "/v1/orders", json=order("buy"), headers=buyer)
            assert entered.wait(120)
            second = pool.submit(c.post, "/v1/orders", json=order("buy"), headers=buyer)
            deadline = time.monotonic() + 120
            while exchange.queue_depth < 1 and time.monotonic() < deadline:
                threading.Event().wait(0.01)
            assert exchange.queue_depth == 1
            r = c.post("/v1/orders", json=order("buy"), headers=buyer)
            assert r.status_code == 503 and r.headers["retry-after"] == "1"
            assert r.json()["error"]["code"] == "overloaded"
            ready = c.get("/readyz")
            assert ready.status_code == 503 and "queue" in " ".join(ready.json()["reasons"])
            # reads still answer
            assert c.get("/v1/orders", headers=buyer).status_code == 200
            release.set()
            assert (first.result().status_code, second.result().status_code) == (201, 201)
        assert c.get("/readyz").status_code == 200
        op = bearer(keys["operator"])
        assert metric(c.get("/metrics", headers=op).text, "tanso_overloaded_total") == 1


@pytest.fixture
def limited(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TANSO_RATE_LIMIT_LOCAL", "true")
    monkeypatch.setenv("TANSO_RATE_LIMIT_KEY_PER_SECOND", "0.001")
    monkeypatch.setenv("TANSO_RATE_LIMIT_KEY_BURST", "3")
    monkeypatch.setenv("TANSO_RATE_LIMIT_IP_PER_SECOND", "0.001")
    monkeypatch.setenv("TANSO_RATE_LIMIT_IP_BURST", "12")
    yield


def test_a_key_over_its_rate_gets_429_with_retry_after_and_other_keys_do_not(
    db: Database, limited: None
) -> None:
    keys = market(db)
    with TestClient(create_app(db)) as c:
        buyer = bearer(keys["buyer"])
        assert [c.get("/v1/orders", headers=buyer).status_code for _ in range(3)] == [200] * 3
        r = c.get("/v1/orders", headers=buyer)
        assert r.status_code == 429
        assert int(r.headers["retry-after"]) >= 1
        assert r.json()["error"]["code"] == "rate_limited"
        assert "message" in r.json()["error"]
        # someone who knows the key id but not the secret has a bucket of its own
        key_id = keys["seller"].split("_")[1]
        forged = bearer(f"tk_{key_id}_{'x' * 43}")
        assert [c.get("/v1/orders", headers=forged).status_code for _ in range(3)] == [401] * 3
        assert c.get("/v1/orders", headers=bearer(keys["seller"])).status_code == 200
        # probes are never limited
        assert all(c.get("/healthz").status_code == 200 for _ in range(20))
        text = c.get("/metrics", headers=bearer(keys["operator"])).text
    assert metric(text, "tanso_rate_limited_total", limit="key") == 1


def test_an_address_over_its_rate_gets_429_whatever_key_it_uses(
    db: Database, limited: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TANSO_RATE_LIMIT_KEY_PER_SECOND", "0")
    with TestClient(create_app(db)) as c:
        answers = [c.get("/v1/journal/head").status_code for _ in range(13)]
        assert answers[:12] == [200] * 12 and answers[12] == 429
        assert c.get("/readyz").status_code == 200


def test_local_callers_are_not_limited_by_default(db: Database) -> None:
    keys = market(db)
    with TestClient(create_app(db)) as c:
        buyer = bearer(keys["buyer"])
        answers = {c.get("/v1/journal/head", headers=buyer).status_code for _ in range(450)}
    assert answers == {200}


def test_rate_limits_apply_from_a_real_address(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TANSO_RATE_LIMIT_IP_PER_SECOND", "0.001")
    monkeypatch.setenv("TANSO_RATE_LIMIT_IP_BURST", "2")
    with TestClient(create_app(db), client=("203.0.113.7", 40000)) as c:
        answers = [c.get("/v1/journal/head").status_code for _ in range(3)]
    assert answers == [200, 200, 429]
    with TestClient(create_app(db), client=("127.0.0.1", 40000)) as c:
        assert {c.get("/v1/journal/head").status_code for _ in range(5)} == {200}


def test_behind_a_trusted_proxy_each_forwarded_client_has_a_bucket_of_its_own(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TANSO_RATE_LIMIT_IP_PER_SECOND", "0.001")
    monkeypatch.setenv("TANSO_RATE_LIMIT_IP_BURST", "2")
    monkeypatch.setenv("TANSO_TRUSTED_PROXIES", "10.0.0.0/8")

    def answers(c: TestClient, forwarded_for: str, n: int) -> list[int]:
        headers = {"X-Forwarded-For": forwarded_for}
        return [c.get("/v1/journal/head", headers=headers).status_code for _ in range(n)]

    with TestClient(create_app(db), client=("10.0.0.5", 40000)) as proxy:
        assert answers(proxy, "203.0.113.9", 3) == [200, 200, 429]
        assert answers(proxy, "203.0.113.10", 2) == [200, 200]
        # the proxy appends the address it saw: what the client wrote to its left is not
        # believed, so a forged address does not give a fresh bucket
        assert answers(proxy, "198.51.100.99, 203.0.113.9", 1) == [429]
    # an address that is not a trusted proxy: its header is ignored, it is the client
    with TestClient(create_app(db), client=("198.51.100.7", 40000)) as direct:
        assert answers(direct, "203.0.113.11", 1) + answers(direct, "203.0.113.12", 2) == [
            200,
            200,
            429,
        ]


def test_a_forwarded_address_that_is_not_an_address_is_limited_and_never_local(
    db: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("TANSO_RATE_LIMIT_IP_PER_SECOND", "0.001")
    monkeypatch.setenv("TANSO_RATE_LIMIT_IP_BURST", "2")
    # a reverse proxy on the same host (trusted by default) passing on what the client wrote
    with (
        caplog.at_level(logging.INFO, logger="tanso.http"),
        TestClient(create_app(db), client=("127.0.0.1", 40000)) as proxy,
    ):
        unknown = {"X-Forwarded-For": "unknown"}
        got = [proxy.get("/v1/journal/head", headers=unknown).status_code for _ in range(3)]
        assert got == [200, 200, 429]
        assert proxy.get("/v1/journal/head", headers={"X-Forwarded-For": "_x"}).status_code == 200
        assert {proxy.get("/v1/journal/head").status_code for _ in range(5)} == {200}  # local
    assert any(getattr(r, "ip", None) == "unknown" for r in caplog.records)
