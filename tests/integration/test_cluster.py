"""Gateways and one engine (issue 16, first part): requests that change state travel from a
gateway to the engine over NATS request/reply, through a NATS server of the test's own with a
user per role, on PostgreSQL (the only database the roles run on)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tanso.api.app import create_app
from tanso.cli import app as cli
from tanso.cluster.link import H_DEADLINE, H_HEADERS, H_STATUS, Responder
from tanso.cluster.nats_link import GatewayLink, NatsSettings
from tanso.harness.nats_server import NatsServer
from tanso.services.common import Actor
from tanso.store.db import Database
from tests.conftest import PG_URL, add_issuance, add_participant, energy_saving, fund, open_market
from tests.e2e.test_api import make_key

pytestmark = pytest.mark.fast_backends("postgres")


@pytest.fixture
def nats_url(tmp_path: Path) -> Iterator[str]:
    """A NATS server of this test's own (never the machine's shared one), a user per role."""
    server = NatsServer(tmp_path, {"engine": "engine-secret", "gateway": "gateway-secret"})
    yield server.url
    server.stop()


def _role(url: str, role: str, password: str | None = None) -> NatsSettings:
    return NatsSettings(url, role, password or f"{role}-secret", f"tanso-{role}")


def _gateway_db(db: Database, schema: str) -> Database:
    """The gateway's own connection to the engine's database, which must never write."""
    other = Database(PG_URL, db.clock, pg_schema=schema)

    def refuse() -> Any:
        raise AssertionError("a gateway opened a write transaction")

    other.write = refuse  # type: ignore[method-assign]
    return other


@pytest.fixture
def market(pg_db: Database, pg_schema: str) -> dict[str, Any]:
    add_participant(pg_db, "SELLER")
    add_participant(pg_db, "BUYER")
    add_issuance(pg_db, "SELLER-MAIN", 1_000, vintage=2021, category="ENERGY_SAVING")
    fund(pg_db, "BUYER", 10_000_000)
    from tanso.services.trading.calendar import japan_calendar
    from tanso.services.trading.exchange import Exchange

    open_market(Exchange(pg_db, japan_calendar()), energy_saving("continuous"))
    seller, _ = make_key(pg_db, "SELLER")
    buyer, _ = make_key(pg_db, "BUYER")
    return {
        "db": pg_db,
        "schema": pg_schema,
        "seller": {"Authorization": f"Bearer {seller}"},
        "buyer": {"Authorization": f"Bearer {buyer}"},
    }


@pytest.fixture
def cluster(market: dict[str, Any], nats_url: str) -> Iterator[dict[str, Any]]:
    """One engine and one gateway, each with its own application and database connection."""
    db = market["db"]
    engine_app = create_app(db, engine_nats=_role(nats_url, "engine"))
    gateway = GatewayLink(_role(nats_url, "gateway"))
    gw_db = _gateway_db(db, market["schema"])
    gateway_app = create_app(gw_db, gateway=gateway)
    with (
        TestClient(engine_app, raise_server_exceptions=False) as engine,
        TestClient(gateway_app, raise_server_exceptions=False) as gw,
    ):
        yield market | {"engine": engine, "gw": gw, "nats": nats_url}
    gw_db.dispose()


def test_an_order_sent_to_a_gateway_is_placed_by_the_engine(cluster: dict[str, Any]) -> None:
    gw = cluster["gw"]
    body = {"instrument": "JC-ES", "side": "sell", "quantity": 10, "price": 2_010}
    r = gw.post("/v1/orders", json=body, headers=cluster["seller"])
    assert r.status_code == 201, r.text
    placed = r.json()
    assert placed["status"] == "open" and placed["remaining"] == 10
    assert r.headers["content-security-policy"]  # the engine's whole answer, headers included
    # the gateway reads the order from the database itself
    mine = gw.get("/v1/orders", headers=cluster["seller"]).json()
    assert [o["id"] for o in mine] == [placed["id"]]
    # the book lives in the engine's memory: read through the engine
    book = gw.get("/v1/instruments/JC-ES/book", headers=cluster["buyer"]).json()
    assert [(lvl["price"], lvl["quantity"]) for lvl in book["asks"]] == [(2_010, 10)]
    # a crossing buy trades; a cancel goes through the engine too
    r = gw.post(
        "/v1/orders",
        json={"instrument": "JC-ES", "side": "buy", "quantity": 4, "price": 2_010},
        headers=cluster["buyer"],
    )
    assert r.status_code == 201 and len(r.json()["trades"]) == 1, r.text
    r = gw.delete(f"/v1/orders/{placed['id']}", headers=cluster["seller"])
    assert r.status_code == 200 and r.json()["status"] == "cancelled", r.text


def test_refusals_and_idempotency_are_the_engines(cluster: dict[str, Any]) -> None:
    gw = cluster["gw"]
    body = {"instrument": "JC-ES", "side": "buy", "quantity": 10, "price": 2_000}
    assert gw.post("/v1/orders", json=body).status_code == 401
    r = gw.post("/v1/orders", json=body | {"quantity": 0}, headers=cluster["buyer"])
    assert r.status_code == 422 and r.json()["error"]["code"], r.text
    key = cluster["buyer"] | {"Idempotency-Key": "gw-1"}
    first = gw.post("/v1/orders", json=body, headers=key)
    again = gw.post("/v1/orders", json=body, headers=key)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert len(gw.get("/v1/orders", headers=cluster["buyer"]).json()) == 1


def test_without_an_engine_a_gateway_changes_nothing_and_says_so(
    market: dict[str, Any], nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TANSO_ENGINE_FAILOVER_SECONDS", "0")  # no standby will come
    gw_db = _gateway_db(market["db"], market["schema"])
    app = create_app(gw_db, gateway=GatewayLink(_role(nats_url, "gateway")))
    with TestClient(app, raise_server_exceptions=False) as gw:
        body = {"instrument": "JC-ES", "side": "buy", "quantity": 1, "price": 2_000}
        r = gw.post("/v1/orders", json=body, headers=market["buyer"])
        assert r.status_code == 503, r.text
        assert r.json()["error"]["code"] == "engine_unavailable"
        assert gw.get("/v1/orders", headers=market["buyer"]).json() == []
    gw_db.dispose()


def test_an_engine_needs_the_engine_users_permissions(
    market: dict[str, Any], nats_url: str
) -> None:
    """With the gateway's credentials an engine may neither publish the stream nor take
    requests: it refuses to start, and says why."""
    impostor = create_app(market["db"], engine_nats=_role(nats_url, "gateway"))
    refusal = "may NATS user 'gateway' use the JetStream API"
    with pytest.raises(RuntimeError, match=refusal), TestClient(impostor):
        pass


def test_a_request_past_its_deadline_is_refused_before_it_runs() -> None:
    import asyncio

    ran = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        ran.append(scope)

    body, meta = asyncio.run(
        Responder(app).answer(b"{}", {H_DEADLINE: f"{time.time() - 1:.3f}", H_HEADERS: "[]"})
    )
    assert meta[H_STATUS] == "504" and b"deadline_passed" in body and not ran


def test_the_roles_refuse_sqlite() -> None:
    runner = CliRunner()
    for role in ("engine", "gateway"):
        out = runner.invoke(cli, [role], env={"TANSO_DATABASE_URL": "sqlite:///./x.db"})
        assert out.exit_code == 2
        assert "SQLite serves one process only" in out.output


def _exchange_entries(db: Database) -> list[int]:
    from sqlalchemy import select

    from tanso.store import schema as t

    j = t.journal.c
    with db.read() as conn:
        rows = conn.execute(select(j.seq).where(j.kind.like("exchange.%")).order_by(j.seq))
        return [int(seq) for seq in rows.scalars()]


def _stream_ids(url: str) -> list[int]:
    """The journal sequence of every message the stream holds, in stream order."""
    import asyncio

    from tanso.cluster.market_data import MSG_ID, STREAM

    async def read() -> list[int]:
        nc = await _role(url, "engine").connect()
        js = nc.jetstream()
        info = await js.stream_info(STREAM)
        ids = []
        for n in range(info.state.first_seq, info.state.last_seq + 1):
            msg = await js.get_msg(STREAM, n)
            ids.append(int((msg.headers or {})[MSG_ID]))
        await nc.close()
        return ids

    return asyncio.run(read())


@pytest.mark.full  # hangs now and then on the second engine's start (the first one's lock
# connection outlives it), and the engines it leaves fail the cluster tests after it: run in
# `make test-all` until that is found (issue 22's closing note)
def test_the_stream_holds_every_exchange_entry_once_across_engine_restarts(
    market: dict[str, Any], nats_url: str
) -> None:
    """Entries committed while no engine publishes (the command line, a crash between commit
    and publish) are published by the next engine, in order, and nothing twice."""
    db = market["db"]
    sell = {"instrument": "JC-ES", "side": "sell", "quantity": 5, "price": 2_005}
    with TestClient(create_app(db, engine_nats=_role(nats_url, "engine"))) as engine:
        assert engine.post("/v1/orders", json=sell, headers=market["seller"]).status_code == 201
    # written with no engine publishing
    from tanso.services.trading.calendar import japan_calendar
    from tanso.services.trading.exchange import Exchange, NewOrder

    seller = Actor("SELLER", frozenset(_trader()))
    Exchange(db, japan_calendar()).place(seller, NewOrder("JC-ES", "sell", 3, 2_006))
    for _ in range(2):  # twice: the second engine finds everything published already
        with TestClient(create_app(db, engine_nats=_role(nats_url, "engine"))) as engine:
            r = engine.post("/v1/orders", json=sell, headers=market["seller"])
            assert r.status_code == 201
    ids = _stream_ids(nats_url)
    assert ids == _exchange_entries(db)


def _trader() -> set[Any]:
    from tanso.domain.participants import Role

    return {Role.TRADER}


def test_a_gateways_feed_gets_the_engines_entries_and_book(
    market: dict[str, Any], nats_url: str
) -> None:
    import threading

    db = market["db"]
    gw_db = _gateway_db(db, market["schema"])
    gateway_app = create_app(gw_db, gateway=GatewayLink(_role(nats_url, "gateway")))
    feed = gateway_app.state.feed
    seen: list[dict[str, Any]] = []
    traded = threading.Event()
    publish = feed.publish

    def hook(entries: list[dict[str, Any]]) -> None:
        seen.extend(entries)
        # the book after the trade comes with the last entry of the trade's batch, which may
        # arrive after the trade's own entry: wait for that book
        live = [x for e in seen for x in e.get("live", [])]
        if any(
            x["channel"] == "book" and x["asks"] and x["asks"][0]["quantity"] == 5 for x in live
        ):
            traded.set()
        publish(entries)

    feed.publish = hook
    engine_app = create_app(db, engine_nats=_role(nats_url, "engine"))
    with TestClient(engine_app), TestClient(gateway_app) as gw:
        sell = {"instrument": "JC-ES", "side": "sell", "quantity": 8, "price": 2_004}
        buy = sell | {"side": "buy", "quantity": 3}
        assert gw.post("/v1/orders", json=sell, headers=market["seller"]).status_code == 201
        assert gw.post("/v1/orders", json=buy, headers=market["buyer"]).status_code == 201
        assert traded.wait(20), "the book after the trade never reached the gateway's feed"
        book = gw.portal.call(feed.book_of, "JC-ES", 10)
    assert [e["seq"] for e in seen] == sorted({e["seq"] for e in seen})  # in order, once each
    assert {e["seq"] for e in seen} <= set(_exchange_entries(db))
    assert [(lvl["price"], lvl["quantity"]) for lvl in book["asks"]] == [(2_004, 5)]
    # the engine sent the live-only events with its entries: the gateway need not ask
    live = [x for e in seen for x in e.get("live", [])]
    books = [x for x in live if x["channel"] == "book" and x["instrument"] == "JC-ES"]
    assert [(lvl["price"], lvl["quantity"]) for lvl in books[-1]["asks"]] == [(2_004, 5)]
    bars = [x for x in live if x["channel"] == "bars"]
    assert bars and (bars[-1]["close"], bars[-1]["volume"]) == (2_004, 3)
    gw_db.dispose()


def test_an_order_command_past_its_deadline_is_refused_before_the_sequencer(
    market: dict[str, Any],
) -> None:
    import asyncio
    import json

    from tanso.cluster import commands
    from tanso.services.trading.calendar import japan_calendar
    from tanso.services.trading.exchange import Exchange

    x = Exchange(market["db"], japan_calendar())
    before = _exchange_entries(market["db"])
    order = {"instrument": "JC-ES", "side": "buy", "quantity": 1, "price": 2_000}
    command = {
        "kind": "place",
        "actor": commands.actor_json(Actor("BUYER", frozenset(_trader()))),
        "args": order,
        "idem": None,
        "deadline": time.time() - 1,
    }
    answer = json.loads(asyncio.run(commands.execute(x, json.dumps(command).encode())))
    assert answer["error"]["code"] == "deadline_passed" and answer["error"]["kind"] == "timeout"
    assert _exchange_entries(market["db"]) == before
    command["deadline"] = time.time() + 30
    answer = json.loads(asyncio.run(commands.execute(x, json.dumps(command).encode())))
    assert answer["ok"]["status"] == "open"
    assert len(_exchange_entries(market["db"])) == len(before) + 1


@pytest.mark.full  # the leader's shutdown (TestClient exit) hung past the 300 s timeout once
# in a fresh-clone `make test` (issue 23's closing note), the same engine shutdown as the
# restart test above: run in `make test-all` until that hang is found
def test_a_standby_engine_takes_over_with_the_books_when_the_leader_goes(
    market: dict[str, Any], nats_url: str
) -> None:
    db = market["db"]
    standby_db = Database(PG_URL, db.clock, pg_schema=market["schema"])
    leader_app = create_app(db, engine_nats=_role(nats_url, "engine"))
    standby_app = create_app(standby_db, engine_nats=_role(nats_url, "engine"))
    gw_db = _gateway_db(db, market["schema"])
    gateway_app = create_app(gw_db, gateway=GatewayLink(_role(nats_url, "gateway")))
    leader = TestClient(leader_app, raise_server_exceptions=False)
    leader.__enter__()
    with (
        TestClient(standby_app, raise_server_exceptions=False),
        TestClient(gateway_app, raise_server_exceptions=False) as gw,
    ):
        role = standby_app.state.engine_role
        assert leader_app.state.engine_role.state == "leader" and role.state == "standby"
        assert leader.get("/readyz").status_code == 200  # leads, with NATS
        waiting = TestClient(standby_app).get("/readyz")
        assert waiting.status_code == 503 and "sequencer is not running" in waiting.text
        sell = {"instrument": "JC-ES", "side": "sell", "quantity": 6, "price": 2_003}
        resting = gw.post("/v1/orders", json=sell, headers=market["seller"])
        assert resting.status_code == 201, resting.text
        leader.__exit__(None, None, None)  # the leader goes; its lock goes with it
        assert role.leads.wait(30), "the standby never took over"
        buy = sell | {"side": "buy", "quantity": 2}
        r = gw.post("/v1/orders", json=buy, headers=market["buyer"])
        assert r.status_code == 201, r.text
        assert [t["quantity"] for t in r.json()["trades"]] == [2]  # the leader's order traded
        book = gw.get("/v1/instruments/JC-ES/book", headers=market["buyer"]).json()
        assert [(lvl["price"], lvl["quantity"]) for lvl in book["asks"]] == [(2_003, 4)]
    gw_db.dispose()
    standby_db.dispose()
    assert _stream_ids(nats_url) == _exchange_entries(db)


def test_a_command_delivered_twice_is_applied_once(market: dict[str, Any]) -> None:
    """A leader that dies before it answers leaves the gateway to send the command again, with
    the same command id: the engine that gets it answers as the first delivery did, for a
    placement, an amendment and a cancellation alike."""
    import asyncio
    import hashlib
    import json

    from tanso.cluster import commands
    from tanso.services.trading.calendar import japan_calendar
    from tanso.services.trading.exchange import Exchange

    x = Exchange(market["db"], japan_calendar())
    buyer = commands.actor_json(Actor("BUYER", frozenset(_trader())))

    def deliver(kind: str, args: dict[str, Any], command_id: str, fresh: bool) -> Any:
        command = {
            "kind": kind,
            "actor": buyer,
            "args": args,
            "idem": [command_id, hashlib.sha256(json.dumps([kind, args]).encode()).hexdigest()],
            "fresh": fresh,
            "deadline": time.time() + 30,
        }
        return json.loads(asyncio.run(commands.execute(x, json.dumps(command).encode())))

    order = {"instrument": "JC-ES", "side": "buy", "quantity": 10, "price": 2_000}
    before = _exchange_entries(market["db"])
    first = deliver("place", order, "cmd-1", True)
    again = deliver("place", order, "cmd-1", False)
    assert first == again and first["ok"]["status"] == "open"
    oid = first["ok"]["id"]
    amend = {"order_id": oid, "quantity": 7, "price": None}
    assert deliver("amend", amend, "cmd-2", True) == deliver("amend", amend, "cmd-2", False)
    cancelled = deliver("cancel", {"order_id": oid}, "cmd-3", True)
    assert cancelled == deliver("cancel", {"order_id": oid}, "cmd-3", False)
    assert cancelled["ok"]["status"] == "cancelled"
    assert len(_exchange_entries(market["db"])) == len(before) + 3  # one entry per command
    reused = deliver("place", order | {"quantity": 9}, "cmd-1", False)
    assert reused["error"]["code"] == "idempotency_key_reused"


def test_a_gateway_asks_again_until_an_engine_takes_the_command(
    market: dict[str, Any], nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An order sent while no engine leads (a failover) waits for the next leader and is
    placed once, instead of failing."""
    import threading

    monkeypatch.setenv("TANSO_ENGINE_FAILOVER_SECONDS", "120")
    monkeypatch.setenv("TANSO_ENGINE_TIMEOUT_SECONDS", "120")
    gw_db = _gateway_db(market["db"], market["schema"])
    link = GatewayLink(_role(nats_url, "gateway"))
    asked = threading.Event()
    commander = link.commander

    def counting() -> Any:  # the real commander; the test only learns that it was asked
        asked.set()
        return commander()

    link.commander = counting  # type: ignore[method-assign]
    gateway_app = create_app(gw_db, gateway=link)
    answers: list[Any] = []
    order = {"instrument": "JC-ES", "side": "buy", "quantity": 3, "price": 2_000}
    with TestClient(gateway_app, raise_server_exceptions=False) as gw:
        sender = threading.Thread(
            target=lambda: answers.append(
                gw.post("/v1/orders", json=order, headers=market["buyer"])
            )
        )
        sender.start()
        assert asked.wait(60), "the gateway never asked"
        engine_app = create_app(market["db"], engine_nats=_role(nats_url, "engine"))
        with TestClient(engine_app):
            sender.join(150)
    assert answers and answers[0].status_code == 201, answers and answers[0].text
    with market["db"].read() as conn:
        from sqlalchemy import func, select

        from tanso.store import schema as t

        count = conn.execute(select(func.count()).select_from(t.orders)).scalar_one()
    assert count == 1
    gw_db.dispose()


def test_a_gateway_answers_public_reads_from_memory_until_the_next_commit(
    cluster: dict[str, Any],
) -> None:
    """Public reads are kept between commits; every commit, wherever it was made, ends them:
    one forwarded by this gateway at once, one made through another process when the engine's
    notice arrives, one made outside the engine at the next tick. A caller with a key is
    always answered for itself."""
    import threading

    from tanso.services.trading.calendar import japan_calendar
    from tanso.services.trading.exchange import Exchange, NewOrder

    gw, engine, db = cluster["gw"], cluster["engine"], cluster["db"]
    answers = gw.app.state.public_cache

    def trades() -> list[int]:
        r = gw.get("/v1/market/trades")
        assert r.status_code == 200, r.text
        return [t["price"] for t in r.json()]

    assert trades() == []
    hits = answers.hits
    assert trades() == [] and answers.hits == hits + 1  # from memory
    gw.get("/v1/market/trades", headers=cluster["buyer"])
    assert answers.hits == hits + 1  # a caller with a key is answered for itself

    sell = {"instrument": "JC-ES", "side": "sell", "quantity": 5, "price": 2_001}
    buy = sell | {"side": "buy", "quantity": 1}
    assert gw.post("/v1/orders", json=sell, headers=cluster["seller"]).status_code == 201
    assert gw.post("/v1/orders", json=buy, headers=cluster["buyer"]).status_code == 201
    assert trades() == [2_001]  # this gateway's own change: at once

    # through another process (here the engine's own HTTP port): the engine's notice
    gateway_head = gw.app.state.gateway_head
    heard = threading.Condition()
    advance = gateway_head.advance

    def spy(seq: int) -> None:
        advance(seq)
        with heard:
            heard.notify_all()

    gateway_head.advance = spy  # type: ignore[method-assign]
    assert trades() == [2_001]
    engine.post("/v1/orders", json=buy, headers=cluster["buyer"])
    target = db.journal_seq()
    with heard:
        told = heard.wait_for(lambda: (gateway_head.seq or 0) >= target, 30)
    assert told, "the engine's notice never came"
    assert trades() == [2_001, 2_001]

    # outside the engine (the command line): at the gateway's next tick
    outside = Database(PG_URL, db.clock, pg_schema=cluster["schema"])
    buyer = Actor("BUYER", frozenset(_trader()))
    Exchange(outside, japan_calendar()).place(buyer, NewOrder("JC-ES", "buy", 1, 2_001))
    outside.dispose()
    gw.app.state.tick.tick()
    assert gateway_head.seq == db.journal_seq()
    assert trades() == [2_001, 2_001, 2_001]


def test_an_engine_refuses_a_stream_that_is_another_databases(
    market: dict[str, Any], nats_url: str
) -> None:
    """A stream ahead of this database's journal (another database's, or this one restored from
    an older backup) would make the engine publish nothing: it refuses to start, and says what
    to do."""
    import asyncio

    from tanso.cluster.market_data import MSG_ID, ensure_stream

    async def foreign() -> None:
        nc = await _role(nats_url, "engine").connect()
        await ensure_stream(nc)
        await nc.jetstream().publish("tanso.exchange._", b"{}", headers={MSG_ID: "1000000000"})
        await nc.close()

    asyncio.run(foreign())
    engine = create_app(market["db"], engine_nats=_role(nats_url, "engine"))
    with pytest.raises(RuntimeError, match="nats stream rm TANSO_EXCHANGE"), TestClient(engine):
        pass
