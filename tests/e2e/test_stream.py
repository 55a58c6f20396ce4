"""The live stream (WebSocket /v1/stream) against a real server, on SQLite and PostgreSQL: trades
made through the REST API reach subscribers with no participant ids; subscriptions filter by
instrument and channel; book depth is for participants only; a client that reconnects with its
last seq gets exactly what it missed, in order, from the ring buffer or rebuilt from the journal
(the server's buffer holds 3 messages, so most resumes reach into the journal), also while trades
keep coming and across a server restart; a subscriber too slow to keep up is disconnected and told
where to resume.

No sleeps: every wait is for a message, with a timeout only as a guard against a hang.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tanso.client import Client
from tanso.domain.instruments import Eligibility, InstrumentSpec
from tanso.harness.devserver import ServerProcess as Server
from tanso.services.common import SYSTEM
from tanso.services.ledger import participants, taxonomy
from tanso.services.marketdata import stream
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange
from tanso.store import migrate
from tanso.store.db import Database
from tanso.stream_client import stream as stream_client
from tests.conftest import PG_URL, add_issuance, add_participant, counter_clock, fund

WAIT = 20.0  # seconds: a guard against a hang, never a measurement
BUFFER = 3
SERVER_ENV = {"TANSO_STREAM_BUFFER": str(BUFFER)}
PUBLIC = ["trades", "auctions", "sessions"]
PARTIES = ("STRBUY", "STRSELL")
INSTRUMENTS = ("STR-A", "STR-B", "STR-C", "STR-D", "STR-F", "STR-G", "STR-H")


def _database_url(backend: str, tmp: Path, name: str) -> tuple[str, str | None]:
    if backend == "sqlite":
        return f"sqlite:///{tmp / f'{name}.db'}", None
    schema = f"tanso_{name}_{os.getpid()}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    admin.dispose()
    return f"{PG_URL}?options=-csearch_path%3D{schema}", schema


def _drop_schema(schema: str | None) -> None:
    if schema is None:
        return
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    admin.dispose()


def _prepare(url: str) -> dict[str, str]:
    """A market with two traders and six open continuous instruments; returns API keys."""
    db = Database(url, counter_clock())
    migrate.upgrade(db.engine)
    participants.bootstrap(db)
    taxonomy.seed_reference_data(db, SYSTEM)
    keys: dict[str, str] = {}
    for pid in PARTIES:
        add_participant(db, pid)
        keys[pid] = participants.create_api_key(db, SYSTEM, pid).key
    keys["OPERATOR"] = participants.create_api_key(db, SYSTEM, "OPERATOR").key
    fund(db, "STRBUY", 10**12)
    add_issuance(db, "STRSELL-MAIN", 10_000_000, category="ENERGY_SAVING")
    x = Exchange(db, japan_calendar())
    for inst in INSTRUMENTS:
        spec = InstrumentSpec(
            inst,
            f"Stream {inst}",
            "ストリーム",
            Eligibility(categories=("ENERGY_SAVING",)),
            mode="continuous",
            reference_price=2_000,
        )
        x.define_instrument(SYSTEM, spec)
        x.session(SYSTEM, inst, "open")
    db.dispose()
    return keys


@dataclass
class Market:
    server: Server
    keys: dict[str, str]
    url: str

    def trade(self, instrument: str, price: int = 2_000, quantity: int = 10) -> None:
        """A sell then a crossing buy: one trade."""
        with Client(self.server.url, self.keys["STRSELL"]) as c:
            c.place_order(instrument, "sell", quantity=quantity, price=price)
        with Client(self.server.url, self.keys["STRBUY"]) as c:
            r = c.place_order(instrument, "buy", quantity=quantity, price=price)
        assert r.trades, r

    def trades(self, instrument: str, n: int) -> None:
        for i in range(n):
            self.trade(instrument, price=2_000 + (i % 5) * 10, quantity=10 + i)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def market(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Market]:
    url, schema = _database_url(request.param, tmp_path_factory.mktemp("stream"), "stream")
    keys = _prepare(url)
    server = Server(url, tmp_path_factory.mktemp("cwd"), env=SERVER_ENV)
    try:
        yield Market(server, keys, url)
    finally:
        server.kill()
        _drop_schema(schema)


# ---------------------------------------------------------------- helpers


async def recv(ws: ClientConnection) -> dict[str, Any]:
    msg: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
    return msg


async def subscribe(
    ws: ClientConnection,
    instruments: list[str],
    channels: list[str],
    since: int | None = None,
    op: str = "subscribe",
) -> dict[str, Any]:
    req: dict[str, Any] = {"op": op, "instruments": instruments, "channels": channels}
    if since is not None:
        req["since"] = since
    await ws.send(json.dumps(req))
    return await recv(ws)


async def data_until(ws: ClientConnection, trades: int) -> list[dict[str, Any]]:
    """Data messages until ``trades`` trade events have arrived."""
    out: list[dict[str, Any]] = []
    seen = 0
    while seen < trades:
        msg = await recv(ws)
        assert "seq" in msg, msg
        out.append(msg)
        seen += sum(e["channel"] == "trades" for e in msg["events"])
    return out


async def data_through(ws: ClientConnection, seq: int) -> list[dict[str, Any]]:
    """Data messages until the one with ``seq``."""
    out: list[dict[str, Any]] = []
    while not out or out[-1]["seq"] < seq:
        msg = await recv(ws)
        assert "seq" in msg, msg
        out.append(msg)
    assert out[-1]["seq"] == seq
    return out


def strings_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from strings_in(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings_in(v)


def assert_anonymous(messages: list[dict[str, Any]]) -> None:
    words = {*PARTIES, "STRSELL-MAIN", "TANSO-OPS", "buyer", "seller", "participant"}
    for s in strings_in(messages):
        assert not any(w.lower() in s.lower() for w in words), s


def run(coro: Any) -> Any:
    return asyncio.run(coro)


# ---------------------------------------------------------------- tests


def test_a_trade_made_through_the_api_reaches_the_stream_without_participant_ids(
    market: Market,
) -> None:
    async def scenario() -> None:
        async with connect(market.server.ws) as ws:
            reply = await subscribe(ws, ["STR-A"], [*PUBLIC, "bars"])
            assert reply["type"] == "subscribed" and isinstance(reply["head"], int)
            await asyncio.to_thread(market.trade, "STR-A", 2_030, 17)
            got = await data_until(ws, 1)
        msg = got[-1]
        assert msg["seq"] > reply["head"]
        trades = [e for e in msg["events"] if e["channel"] == "trades"]
        assert [(e["instrument"], e["price"], e["quantity"]) for e in trades] == [
            ("STR-A", 2_030, 17)
        ]
        bars = [e for e in msg["events"] if e["channel"] == "bars"]
        assert bars and bars[0]["close"] == 2_030 and bars[0]["interval"] == "1d"
        assert set(msg) == {"seq", "at", "events"}
        assert_anonymous(got)

    run(scenario())


def test_a_busted_trade_is_published_on_the_trades_channel(market: Market) -> None:
    """The operator's bust reaches subscribers in journal order, after the trade, with the
    trade's id; nobody's name travels with it."""

    async def scenario() -> None:
        async with connect(market.server.ws) as ws:
            await subscribe(ws, ["STR-H"], ["trades"])
            await asyncio.to_thread(market.trade, "STR-H", 2_050, 7)
            traded = await data_until(ws, 1)
            trade_id = traded[-1]["events"][0]["id"]
            with Client(market.server.url, market.keys["OPERATOR"]) as op:
                bust = await asyncio.to_thread(op.bust_trade, trade_id, "system_fault", "test")
            assert bust.trade_id == trade_id and bust.released_credits == 7
            got = await data_until(ws, 1)
        events = got[-1]["events"]
        assert events == [
            {
                "channel": "trades",
                "type": "trade_busted",
                "instrument": "STR-H",
                "id": trade_id,
                "price": 2_050,
                "quantity": 7,
                "trade_date": bust.trade_date,
                "at": got[-1]["at"],
            }
        ]
        assert got[-1]["seq"] > traded[-1]["seq"]
        assert_anonymous(got)

    run(scenario())


def test_subscriptions_filter_by_instrument_and_channel(market: Market) -> None:
    async def scenario() -> None:
        async with connect(market.server.ws) as ws:
            await subscribe(ws, ["STR-B"], ["trades"])
            await asyncio.to_thread(market.trade, "STR-C")
            await asyncio.to_thread(market.trade, "STR-B", 2_010)
            first = await recv(ws)
            assert [(e["channel"], e["instrument"], e["price"]) for e in first["events"]] == [
                ("trades", "STR-B", 2_010)
            ]
            reply = await subscribe(ws, ["STR-B"], ["trades"], op="unsubscribe")
            assert reply == {"type": "unsubscribed", "subscriptions": []}
            reply = await subscribe(ws, ["STR-C"], ["trades"])
            assert reply["subscriptions"] == [["STR-C", "trades"]]
            await asyncio.to_thread(market.trade, "STR-B")
            await asyncio.to_thread(market.trade, "STR-C", 2_020)
            second = await recv(ws)
            assert [(e["instrument"], e["price"]) for e in second["events"]] == [("STR-C", 2_020)]
            assert second["seq"] > first["seq"]

    run(scenario())


def test_the_public_cannot_subscribe_to_book_depth_but_a_participant_can(market: Market) -> None:
    async def scenario() -> None:
        async with connect(market.server.ws) as ws:
            reply = await subscribe(ws, ["STR-D"], ["trades", "book"])
            assert reply["error"]["code"] == "book_requires_api_key"
            await ws.send(json.dumps({"op": "auth", "key": market.keys["STRBUY"]}))
            assert (await recv(ws))["type"] == "authenticated"
            reply = await subscribe(ws, ["STR-D"], ["book"])
            assert reply["type"] == "subscribed"
        async with connect(f"{market.server.ws}?key={market.keys['STRSELL']}") as ws:
            reply = await subscribe(ws, ["STR-D"], ["book"])
            assert reply["type"] == "subscribed"
            with Client(market.server.url, market.keys["STRBUY"]) as c:
                await asyncio.to_thread(c.place_order, "STR-D", "buy", quantity=7, price=1_990)
            msg = await recv(ws)
            book = [e for e in msg["events"] if e["channel"] == "book"]
            assert book[0]["instrument"] == "STR-D"
            assert book[0]["bids"][0] == {"price": 1_990, "quantity": 7, "orders": 1}
            assert_anonymous([msg])
        async with connect(f"{market.server.ws}?key=tk_bad_key") as ws:
            assert "error" in await recv(ws)
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), WAIT)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == stream.INVALID_KEY
        async with connect(market.server.ws) as ws:
            assert (await subscribe(ws, ["NOPE"], ["trades"]))["error"]["code"] == (
                "unknown_instrument"
            )
            assert (await subscribe(ws, ["STR-D"], ["gossip"]))["error"]["code"] == (
                "invalid_channels"
            )
            await ws.send("not json")
            assert (await recv(ws))["error"]["code"] == "invalid_json"

    run(scenario())


@pytest.mark.parametrize("missed", [2, 8], ids=["from-buffer", "from-journal"])
def test_a_client_that_resumes_with_its_last_seq_gets_exactly_what_it_missed(
    market: Market, missed: int
) -> None:
    inst = {2: "STR-F", 8: "STR-G"}[missed]
    total = 2 + missed + 5

    async def scenario() -> None:
        async with connect(market.server.ws) as reference:
            # the reference client never disconnects; it starts from the first entry ever
            await subscribe(reference, [inst], PUBLIC, since=0)
            async with connect(market.server.ws) as first:
                await subscribe(first, [inst], PUBLIC)
                await asyncio.to_thread(market.trades, inst, 2)
                before = await data_until(first, 2)
            k = before[-1]["seq"]  # disconnected after message k
            await asyncio.to_thread(market.trades, inst, missed)
            async with connect(market.server.ws) as again:
                reply = await subscribe(again, [inst], PUBLIC, since=k)
                assert reply["type"] == "subscribed" and reply["since"] == k
                # trades keep coming while it catches up: the switch to live must not slip
                await asyncio.to_thread(market.trades, inst, 5)
                everything = await data_until(reference, total)
                after = await data_through(again, everything[-1]["seq"])
        assert sessions_then_trades(everything)
        expected = [m for m in everything if m["seq"] > k]
        assert after == expected  # in order, none twice, none missing, same content
        assert sum(e["channel"] == "trades" for m in after for e in m["events"]) == missed + 5
        assert [m for m in everything if m["seq"] <= k][-len(before) :] == before
        assert_anonymous(everything)

    run(scenario())


def sessions_then_trades(messages: list[dict[str, Any]]) -> bool:
    """The history of a fresh instrument: it opened (session, opening auction), then it traded,
    in seq order."""
    first = {e["channel"] for e in messages[0]["events"]}
    seqs = [m["seq"] for m in messages]
    return "sessions" in first and "trades" not in first and seqs == sorted(set(seqs))


@pytest.mark.full  # a real server restarted; the stream's other tests run in both tiers
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_the_stream_client_resumes_across_a_server_restart(backend: str, tmp_path: Path) -> None:
    url, schema = _database_url(backend, tmp_path, "restart")
    keys = _prepare(url)
    servers = [Server(url, tmp_path, env=SERVER_ENV)]

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        m = Market(servers[0], keys, url)
        messages = stream_client(m.server.url, ["STR-A"], ["trades"], since=0, backoff=0.05)
        await asyncio.to_thread(m.trades, "STR-A", 1)
        got = [await asyncio.wait_for(anext(messages), WAIT)]
        servers[0].kill()
        servers.append(Server(url, tmp_path, port=servers[0].port, env=SERVER_ENV))
        m = Market(servers[1], keys, url)
        await asyncio.to_thread(m.trades, "STR-A", 4)  # while the client is away
        while len(got) < 5:
            got.append(await asyncio.wait_for(anext(messages), WAIT))
        await messages.aclose()
        async with connect(m.server.ws) as ws:
            await subscribe(ws, ["STR-A"], ["trades"], since=0)
            return got, await data_until(ws, 5)

    try:
        got, replayed = run(scenario())
    finally:
        servers[-1].kill()
        _drop_schema(schema)
    assert got == replayed
    assert [e["quantity"] for m in got for e in m["events"]] == [10, 10, 11, 12, 13]


def test_a_subscriber_too_slow_to_keep_up_is_told_to_resume_with_its_last_seq(
    sqlite_db: Database,
) -> None:
    async def scenario() -> tuple[int, str]:
        feed = stream.Feed(sqlite_db, buffer_size=10, queue_size=2)
        feed.attach(asyncio.get_running_loop())
        stuck: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        closed: asyncio.Future[tuple[int, str]] = asyncio.get_running_loop().create_future()

        async def send(text: str) -> None:
            if text.startswith('{"seq"'):
                await stuck  # the client reads nothing: the socket never drains

        async def close(code: int, reason: str) -> None:
            closed.set_result((code, reason))

        sub = feed.subscriber(send, close)
        await sub.handle_text(
            json.dumps({"op": "subscribe", "instruments": ["*"], "channels": ["trades"]})
        )
        trade = {"event": "trade", "instrument": "X", "price": 1, "quantity": 1}
        entries = [
            {
                "seq": 100 + i,
                "at": "2026-01-05T00:00:00Z",
                "kind": "exchange.order",
                "payload": {"events": [trade]},
            }
            for i in range(5)
        ]
        feed.publish(entries)
        result = await asyncio.wait_for(closed, WAIT)
        assert sub not in feed.subscribers
        return result

    code, reason = run(scenario())
    assert code == stream.LAGGING
    assert "since=0" in reason
