"""The crash soak in its short form (CI): a few SIGKILLs per backend of a real server under a load
of orders, cancellations, transfers, retirements, auctions and settlement runs, with every
invariant checked after each restart (`tanso.harness.soak`; the full form is `bench/soak.py`).

Also here: the checks find what they look for (a tampered database is caught), and a regression
test for what the soak found (a replayed settlement run used to settle what fell due since).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from tanso.api.app import create_app
from tanso.harness import soak
from tanso.settings import utc_now
from tanso.store import schema as t
from tanso.store.db import Database

pytestmark = [pytest.mark.slow, pytest.mark.fast_backends("postgres")]

KILLS = 5


@pytest.mark.full  # test_crash_recovery's kill -9 under load runs in the fast tier
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_server_killed_again_and_again_loses_nothing_acknowledged_and_does_nothing_twice(
    backend: str, tmp_path: Path
) -> None:
    # the time bound only stops a runaway run; the kills, not the seconds, are what is asserted
    r = soak.run(backend, kills=KILLS, seconds=600, seed=7, traders=3, window=60, workdir=tmp_path)
    assert r.violations == []
    assert r.kills == KILLS
    assert r.counts["acknowledged"] > KILLS
    assert r.counts["answers lost"] > 0  # the kills landed on requests in flight
    assert r.counts["acknowledged requests replayed"] > 0


@pytest.mark.full
def test_gateways_engines_and_nats_killed_again_and_again_lose_nothing(tmp_path: Path) -> None:
    """The same on the gateway and engine topology (PostgreSQL): each kill takes the leading
    engine, the gateway or NATS, chosen from the seed; `make test-all` runs it."""
    kills = 6
    r = soak.run(
        "postgres",
        kills=kills,
        seconds=600,
        seed=5,
        traders=3,
        window=60,
        workdir=tmp_path,
        topology="cluster",
    )
    assert r.violations == []
    assert r.kills == kills
    assert r.counts["acknowledged"] > kills
    assert sum(n for k, n in r.counts.items() if k.startswith("crashed: ")) == kills


# ---------------------------------------------------------------- in one process, no kills


@pytest.fixture
def market(tmp_path: Path) -> Iterator[tuple[Database, soak.Market, TestClient]]:
    with soak.scratch_database("sqlite", tmp_path, "checks") as url:
        m = soak.prepare_market(url, 2)
        db = Database(url, utc_now)
        with TestClient(create_app(db)) as http:
            yield db, m, http
        db.dispose()


def _post(http: TestClient, key: str, path: str, body: dict[str, Any], idem: str) -> dict[str, Any]:
    r = http.post(
        path, json=body, headers={"Authorization": f"Bearer {key}", "Idempotency-Key": idem}
    )
    assert r.status_code == 201, r.text
    out: dict[str, Any] = r.json()
    return out


def _order(
    http: TestClient, m: soak.Market, pid: str, side: str, idem: str, ledger: soak.Ledger
) -> None:
    body = {
        "instrument": soak.CONTINUOUS,
        "side": side,
        "quantity": 10,
        "price": soak.REFERENCE,
        "client_order_id": idem,
    }
    answer = _post(http, m.keys[pid], "/v1/orders", body, idem)
    ledger.add(soak.Ack("order", pid, idem, "POST", "/v1/orders", body, answer, False))


def test_the_checks_catch_a_lost_order_unbalanced_cash_and_a_stray_reservation(
    market: tuple[Database, soak.Market, TestClient],
) -> None:
    db, m, http = market
    ledger = soak.Ledger()
    _order(http, m, "TRADER00", "sell", "s1", ledger)
    _order(http, m, "TRADER01", "buy", "b1", ledger)
    body = {"from_account": "TRADER00-MAIN", "to_account": "TRADER01-MAIN", "quantity": 3}
    answer = _post(http, m.keys["TRADER00"], "/v1/transfers", body, "tr1")
    ledger.add(
        soak.Ack("transfer", "TRADER00", "tr1", "POST", "/v1/transfers", body, answer, False)
    )
    assert soak.check_books(db, m, ledger) == []

    with db.engine.begin() as conn:
        c = t.cash_accounts.c
        conn.execute(
            update(t.cash_accounts).where(c.id == "CASH-TRADER01-JPY").values(balance=c.balance + 1)
        )
        conn.execute(t.idempotency_keys.delete().where(t.idempotency_keys.c.key == "tr1"))
        r = t.cash_reservations.c  # the pending trade's cash, one yen more than it owes
        conn.execute(update(t.cash_reservations).where(r.amount > 0).values(amount=r.amount + 1))
    ledger.add(soak.Ack("order", "TRADER00", "s9", "POST", "/v1/orders", {}, {"id": "O999"}, False))
    found = "\n".join(soak.check_books(db, m, ledger))
    assert "acknowledged order O999 (s9) is missing" in found
    assert "participants hold" in found and "audit: cash" in found
    assert "Idempotency-Key tr1" in found
    assert "cash reserved under" in found


def test_a_transfer_applied_twice_is_caught(
    market: tuple[Database, soak.Market, TestClient],
) -> None:
    db, m, http = market
    ledger = soak.Ledger()
    body = {"from_account": "TRADER00-MAIN", "to_account": "TRADER01-MAIN", "quantity": 3}
    answer = _post(http, m.keys["TRADER00"], "/v1/transfers", body, "tr1")
    ledger.add(
        soak.Ack("transfer", "TRADER00", "tr1", "POST", "/v1/transfers", body, answer, False)
    )
    # the same transfer again under another key: the ledger knows of one
    _post(http, m.keys["TRADER00"], "/v1/transfers", body, "tr2")
    found = soak.check_books(db, m, ledger)
    assert any("transfers: 2 stored, 1 acknowledged" in p for p in found), found


def test_a_settlement_run_replayed_with_its_key_settles_nothing_new(
    market: tuple[Database, soak.Market, TestClient],
) -> None:
    db, m, http = market
    ledger = soak.Ledger()
    _order(http, m, "TRADER00", "sell", "s1", ledger)
    _order(http, m, "TRADER01", "buy", "b1", ledger)
    body = {"date": soak.settle_through(), "early": True}
    first = _post(http, m.operator_key, "/v1/settlement/runs", body, "run-1")
    assert first["settled"] == 1
    _order(http, m, "TRADER00", "sell", "s2", ledger)
    _order(http, m, "TRADER01", "buy", "b2", ledger)  # a second trade, now pending
    head = http.get("/v1/journal/head").json()

    again = _post(http, m.operator_key, "/v1/settlement/runs", body, "run-1")

    assert again == first  # the stored answer comes back...
    ob = t.settlement_obligations.c
    with db.read() as conn:
        statuses = sorted(conn.execute(select(ob.status)).scalars())
    assert statuses == ["pending", "settled"]  # ...and nothing more is settled
    assert http.get("/v1/journal/head").json() == head
