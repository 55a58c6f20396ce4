"""A server killed with SIGKILL under a load of orders, then restarted, has every acknowledged
order, no trade twice, and books rebuilt exactly from the journal (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, func, select, text

from tanso.client import ApiError, Client
from tanso.domain.instruments import Eligibility, InstrumentSpec
from tanso.harness.devserver import ServerProcess as Server
from tanso.services.common import SYSTEM
from tanso.services.ledger import audit, participants, taxonomy
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange
from tanso.store import migrate
from tanso.store import schema as t
from tanso.store.db import Database
from tests.conftest import PG_URL, add_issuance, add_participant, counter_clock, fund

pytestmark = [pytest.mark.slow, pytest.mark.fast_backends("postgres")]

ORDERS_BEFORE_KILL = 120
THREADS = 4


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'crash.db'}"
        return
    schema = f"tanso_crash_{os.getpid()}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    admin.dispose()


def _prepare(url: str) -> dict[str, str]:
    db = Database(url, counter_clock())
    migrate.upgrade(db.engine)
    participants.bootstrap(db)
    taxonomy.seed_reference_data(db, SYSTEM)
    keys = {}
    for pid in ("BUYER1", "BUYER2", "SELLER1", "SELLER2"):
        add_participant(db, pid)
        keys[pid] = participants.create_api_key(db, SYSTEM, pid).key
        if pid.startswith("BUYER"):
            fund(db, pid, 10**10)
        else:
            add_issuance(db, f"{pid}-MAIN", 1_000_000, category="ENERGY_SAVING")
    x = Exchange(db, japan_calendar())
    spec = InstrumentSpec(
        "CRASH",
        "Crash test",
        "クラッシュ試験",
        Eligibility(categories=("ENERGY_SAVING",)),
        mode="continuous",
        reference_price=2_000,
    )
    x.define_instrument(SYSTEM, spec)
    x.session(SYSTEM, "CRASH", "open")
    db.dispose()
    return keys


def _load(
    server: Server,
    keys: dict[str, str],
    acked: list[dict[str, Any]],
    stop: threading.Event,
    thread_no: int,
) -> None:
    pid = ["BUYER1", "SELLER1", "BUYER2", "SELLER2"][thread_no]
    side = "buy" if pid.startswith("BUYER") else "sell"
    with Client(server.url, keys[pid], timeout=10) as c:
        n = 0
        while not stop.is_set():
            n += 1
            price = 2_000 + (n * 7 + thread_no * 3) % 11 - 5
            try:
                r = c.place_order(
                    "CRASH", side, quantity=10 + n % 5, price=price, client_order_id=f"{pid}-{n}"
                )
            except (httpx.HTTPError, ApiError):
                return  # the server is gone: this order was never acknowledged
            acked.append({"id": r.id, "client_order_id": r.client_order_id, "pid": pid})
            if len(acked) >= ORDERS_BEFORE_KILL:
                stop.set()


@pytest.mark.full  # test_settlement_crash kills a real server in the fast tier
def test_kill_9_under_load_loses_no_acknowledged_order_and_repeats_no_trade(
    database_url: str, tmp_path: Path
) -> None:
    keys = _prepare(database_url)
    acked: list[dict[str, Any]] = []
    for _cycle in range(2):
        server = Server(database_url, tmp_path)
        stop = threading.Event()
        cycle: list[dict[str, Any]] = []
        threads = [
            threading.Thread(target=_load, args=(server, keys, cycle, stop, i))
            for i in range(THREADS)
        ]
        for th in threads:
            th.start()
        stop.wait()
        server.kill()
        for th in threads:
            th.join()
        acked += cycle

    server = Server(database_url, tmp_path)  # recovery replays the journal and checks the books
    try:
        for a in acked:
            with Client(server.url, keys[a["pid"]]) as c:
                order = c.request("GET", f"/v1/orders/{a['id']}")
            assert order["client_order_id"] == a["client_order_id"]
        with Client(server.url, keys["BUYER1"]) as c:
            c.place_order("CRASH", "buy", quantity=1, price=2_000)  # the market still works
    finally:
        server.kill()

    db = Database(database_url, counter_clock())
    try:
        with db.read() as conn:
            o, tr = t.orders.c, t.trades.c
            filled = dict(conn.execute(select(o.id, o.quantity - o.remaining)).all())
            as_buy = dict(
                conn.execute(
                    select(tr.buy_order_id, func.sum(tr.quantity)).group_by(tr.buy_order_id)
                ).all()
            )
            as_sell = dict(
                conn.execute(
                    select(tr.sell_order_id, func.sum(tr.quantity)).group_by(tr.sell_order_id)
                ).all()
            )
        traded = {k: int(as_buy.get(k, 0)) + int(as_sell.get(k, 0)) for k in filled}
        assert traded == {k: int(v) for k, v in filled.items()}, (
            "a fill without its trade, or twice"
        )
        assert len(acked) >= 2 * ORDERS_BEFORE_KILL
        report = audit.verify(db)
        assert report.ok, report.problems
        rebuilt = Exchange.rebuild(db)
        assert sum(len(m.book.orders) for m in rebuilt.markets.values()) > 0
    finally:
        db.dispose()
