"""The exchange over HTTP, on SQLite and PostgreSQL: instruments, the book, call-auction and
continuous journeys, rejections with their reason codes, amend and cancel, isolation between
participants, operator-only session control, idempotent orders, hostile bodies, and concurrent
orders that leave a journal which verifies and rebuilds the same books.

Every request goes through ``TestClient(create_app(db))`` inside ``with`` (so the sequencer thread
runs and orders are group-committed), with real API keys; the `db` fixture runs each test once
per backend. The database clock is the tests' counter clock, which starts on Monday 2026-01-05,
09:00 in Tokyo.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tanso.api.app import create_app
from tanso.services.common import SYSTEM
from tanso.services.ledger import audit, participants
from tanso.services.trading.exchange import Exchange
from tanso.store import schema as t
from tanso.store.db import Database
from tests.conftest import add_issuance, add_participant, fund

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

BUYER, SELLER, POOR, IDLE = "BUYCO", "SELLCO", "POORCO", "IDLECO"
TRADERS = (BUYER, SELLER, POOR, IDLE)
ELIGIBILITY = {"schemes": ["JC"], "categories": ["ENERGY_SAVING"]}
SELLER_CREDITS = 10_000
BUYER_CASH = 100_000_000
TRADE_DATE = "2026-01-05"
# T+5 Japanese business days from Monday 5 January 2026: 6, 7, 8, 9, then Monday 12 is
# Coming of Age Day (成人の日), so the fifth business day is Tuesday 13 January.
SETTLEMENT_DATE = "2026-01-13"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def is_error(r: Any, code: str | None = None) -> bool:
    """The error shape every refusal has: {"error": {"code", "message"}}, with a 4xx."""
    body = r.json()
    err = body.get("error") if isinstance(body, dict) else None
    return (
        400 <= r.status_code < 500
        and isinstance(err, dict)
        and isinstance(err.get("code"), str)
        and isinstance(err.get("message"), str)
        and (code is None or err["code"] == code)
    )


def strings_in(value: Any) -> Iterator[str]:
    """Every string in a JSON value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from strings_in(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings_in(v)


@dataclass
class World:
    db: Database
    c: TestClient
    op: dict[str, str]
    keys: dict[str, dict[str, str]]

    def __getitem__(self, pid: str) -> dict[str, str]:
        return self.keys[pid]

    @property
    def exchange(self) -> Exchange:
        x: Exchange = self.c.app.state.exchange  # type: ignore[attr-defined]
        return x

    def head(self) -> int:
        r = self.c.get("/v1/journal/head")
        assert r.status_code == 200, r.text
        return int(r.json()["seq"])

    def define(self, iid: str, **fields: Any) -> dict[str, Any]:
        body = {
            "id": iid,
            "name_en": f"Instrument {iid}",
            "name_ja": f"銘柄 {iid}",
            "eligibility": ELIGIBILITY,
            "reference_price": 2_000,
        } | fields
        r = self.c.post("/v1/instruments", headers=self.op, json=body)
        assert r.status_code == 201, r.text
        out: dict[str, Any] = r.json()
        return out

    def session(self, iid: str, action: str) -> dict[str, Any]:
        path = "auctions" if action == "auction" else action
        r = self.c.post(f"/v1/instruments/{iid}/{path}", headers=self.op)
        assert r.status_code == 200, r.text
        out: dict[str, Any] = r.json()
        return out

    def order(self, pid: str, **fields: Any) -> Any:
        body = {"instrument": "JC-ES", "side": "buy", "quantity": 10, "price": 2_000} | fields
        body = {k: v for k, v in body.items() if v is not None}
        return self.c.post("/v1/orders", headers=self[pid], json=body)

    def placed(self, pid: str, **fields: Any) -> dict[str, Any]:
        r = self.order(pid, **fields)
        assert r.status_code == 201, r.text
        out: dict[str, Any] = r.json()
        return out

    def get_order(self, pid: str, oid: str) -> dict[str, Any]:
        r = self.c.get(f"/v1/orders/{oid}", headers=self[pid])
        assert r.status_code == 200, r.text
        out: dict[str, Any] = r.json()
        return out

    def orders(self, pid: str) -> list[dict[str, Any]]:
        r = self.c.get("/v1/orders", headers=self[pid])
        assert r.status_code == 200, r.text
        out: list[dict[str, Any]] = r.json()
        return out

    def trades(self, pid: str) -> list[dict[str, Any]]:
        r = self.c.get("/v1/trades", headers=self[pid])
        assert r.status_code == 200, r.text
        out: list[dict[str, Any]] = r.json()
        return out

    def reserved(self, pid: str) -> int:
        r = self.c.get("/v1/cash", headers=self[pid])
        assert r.status_code == 200, r.text
        return sum(int(a["reserved"]) for a in r.json() if a["currency"] == "JPY")

    def book(self, iid: str = "JC-ES", pid: str = SELLER) -> dict[str, Any]:
        r = self.c.get(f"/v1/instruments/{iid}/book", headers=self[pid])
        assert r.status_code == 200, r.text
        out: dict[str, Any] = r.json()
        return out

    def state(self) -> tuple[int, dict[str, Any], int]:
        """What must not move when a request is refused: journal head, books, and reservations."""
        reserved = sum(self.reserved(p) for p in TRADERS)
        return self.head(), self.exchange.engine.snapshot(), reserved

    def rebuilt_equals_live(self) -> bool:
        rebuilt: dict[str, Any] = Exchange.rebuild(self.db).snapshot()
        live: dict[str, Any] = self.exchange.engine.snapshot()
        return rebuilt == live


@pytest.fixture
def w(db: Database) -> Iterator[World]:
    """A buyer with cash, a seller with credits, a trader with neither, a suspended trader,
    and the call-mode instrument JC-ES (reference ¥2,000, limits ¥200 to ¥3,800), open."""
    keys = {}
    for pid in TRADERS:
        add_participant(db, pid)
        keys[pid] = bearer(participants.create_api_key(db, SYSTEM, pid, "test").key)
    op = bearer(participants.create_api_key(db, SYSTEM, "OPERATOR", "test").key)
    add_issuance(db, f"{SELLER}-MAIN", SELLER_CREDITS, vintage=2021, category="ENERGY_SAVING")
    fund(db, BUYER, BUYER_CASH)
    fund(db, IDLE, BUYER_CASH)
    participants.set_status(db, SYSTEM, IDLE, "suspended")
    with TestClient(create_app(db), raise_server_exceptions=False) as c:
        world = World(db, c, op, keys)
        world.define("JC-ES")
        world.session("JC-ES", "open")
        yield world


# ---------------------------------------------------------------- instruments and the book


def test_listing_instruments_is_public_and_shows_todays_price_limits(w: World) -> None:
    r = w.c.get("/v1/instruments")
    assert r.status_code == 200
    listed = {i["id"]: i for i in r.json()}
    assert listed["JC-ES"]["state"] == "open"
    assert (listed["JC-ES"]["lower_limit"], listed["JC-ES"]["upper_limit"]) == (200, 3_800)
    one = w.c.get("/v1/instruments/JC-ES")
    assert one.status_code == 200 and one.json()["reference_price"] == 2_000


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "missing_api_key"),
        ({"Authorization": "Bearer tk_nothing_nothing"}, "invalid_api_key"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "missing_api_key"),
    ],
    ids=["no-key", "bad-key", "basic-auth"],
)
def test_the_book_needs_an_api_key(w: World, headers: dict[str, str], code: str) -> None:
    w.placed(BUYER, quantity=10, price=2_000)
    r = w.c.get("/v1/instruments/JC-ES/book", headers=headers)
    assert r.status_code == 401 and is_error(r, code), r.text
    assert "2000" not in r.text


def test_the_book_shows_price_levels_but_never_participants_or_order_ids(w: World) -> None:
    ids = [
        w.placed(BUYER, quantity=10, price=2_000, client_order_id="buyer-secret-1")["id"],
        w.placed(BUYER, quantity=15, price=2_000)["id"],
        w.placed(BUYER, quantity=7, price=1_990)["id"],
        w.placed(SELLER, side="sell", quantity=20, price=2_100, client_order_id="seller-ref")["id"],
    ]
    for viewer in (BUYER, SELLER, POOR):
        r = w.c.get("/v1/instruments/JC-ES/book", headers=w[viewer])
        assert r.status_code == 200
        book = r.json()
        assert book["bids"] == [
            {"price": 2_000, "quantity": 25, "orders": 2},
            {"price": 1_990, "quantity": 7, "orders": 1},
        ]
        assert book["asks"] == [{"price": 2_100, "quantity": 20, "orders": 1}]
        words = set(strings_in(book))
        assert not words & set(ids)
        for secret in (*TRADERS, *ids, "buyer-secret-1", "seller-ref", "MAIN"):
            assert f'"{secret}' not in r.text, secret


def test_the_book_depth_is_limited_and_unknown_instruments_are_not_found(w: World) -> None:
    for price in (2_000, 1_999, 1_998):
        w.placed(BUYER, quantity=1, price=price)
    r = w.c.get("/v1/instruments/JC-ES/book?depth=2", headers=w[SELLER])
    assert [lvl["price"] for lvl in r.json()["bids"]] == [2_000, 1_999]
    missing = w.c.get("/v1/instruments/NOPE/book", headers=w[SELLER])
    assert missing.status_code == 404 and is_error(missing, "instrument_not_found")


# ---------------------------------------------------------------- journeys


def _no_participant_in(text: str, order_ids: list[str]) -> None:
    for secret in (*TRADERS, "OPERATOR", *order_ids, "participant", "buyer", "seller"):
        assert secret not in text, secret


def test_a_call_auction_journey_over_http(w: World) -> None:
    listed = w.define("JC-CALL", reference_price=2_000)
    assert (listed["mode"], listed["state"], listed["settlement_days"]) == ("call", "closed", 5)
    assert "JC-CALL" in {i["id"] for i in w.c.get("/v1/instruments").json()}

    early = w.order(BUYER, instrument="JC-CALL", quantity=1_000, price=2_100)
    assert early.status_code == 409 and is_error(early, "market_closed")
    assert w.session("JC-CALL", "open")["state"] == "open"

    buy = w.placed(BUYER, instrument="JC-CALL", quantity=1_000, price=2_100)
    sell = w.placed(SELLER, instrument="JC-CALL", side="sell", quantity=600, price=2_100)
    assert (buy["status"], sell["status"], sell["trades"]) == ("open", "open", [])  # 節立会
    assert w.reserved(BUYER) == 1_000 * 2_100

    result = w.session("JC-CALL", "auction")
    assert [(a["price"], a["volume"]) for a in result["auctions"]] == [(2_100, 600)]
    assert [(tr["price"], tr["quantity"]) for tr in result["trades"]] == [(2_100, 600)]
    # the auction price becomes the reference price (基準値段), and the limits move with it
    assert (result["reference_price"], result["lower_limit"], result["upper_limit"]) == (
        2_100,
        210,
        3_990,
    )

    bought, sold = w.trades(BUYER), w.trades(SELLER)
    assert len(bought) == 1 and len(sold) == 1 and bought[0]["id"] == sold[0]["id"]
    for mine, side, oid in ((bought[0], "buy", buy["id"]), (sold[0], "sell", sell["id"])):
        assert mine["side"] == side and mine["order_id"] == oid
        assert (mine["price"], mine["quantity"], mine["value"]) == (2_100, 600, 1_260_000)
        assert mine["trade_date"] == TRADE_DATE
        assert mine["settlement_date"] == SETTLEMENT_DATE
        assert mine["settlement_status"] == "pending"
    assert SELLER not in json.dumps(bought) and sell["id"] not in json.dumps(bought)
    assert BUYER not in json.dumps(sold) and buy["id"] not in json.dumps(sold)

    assert w.get_order(BUYER, buy["id"])["remaining"] == 400
    assert w.get_order(SELLER, sell["id"])["status"] == "filled"
    # 600 t now reserved for the trade, 400 t still for the open order, both at ¥2,100
    assert w.reserved(BUYER) == 1_000 * 2_100

    public = w.c.get("/v1/market/trades", params={"instrument": "JC-CALL"})
    assert public.status_code == 200
    assert [(p["price"], p["quantity"], p["auction"]) for p in public.json()] == [
        (2_100, 600, True)
    ]
    auctions = w.c.get("/v1/market/auctions", params={"instrument": "JC-CALL"})
    assert auctions.status_code == 200
    assert [(a["price"], a["volume"], a["trade_date"]) for a in auctions.json()] == [
        (2_100, 600, TRADE_DATE)
    ]
    for r in (public, auctions, w.c.get("/v1/market/trades"), w.c.get("/v1/market/auctions")):
        _no_participant_in(r.text, [buy["id"], sell["id"]])
    assert audit.verify(w.db).ok


def test_an_auction_without_a_crossing_book_trades_nothing(w: World) -> None:
    w.placed(BUYER, quantity=10, price=1_900)
    w.placed(SELLER, side="sell", quantity=10, price=2_100)
    result = w.session("JC-ES", "auction")
    assert [(a["price"], a["volume"]) for a in result["auctions"]] == [(None, 0)]
    assert result["reference_price"] == 2_000 and result["trades"] == []
    assert w.trades(BUYER) == [] and w.c.get("/v1/market/trades").json() == []
    assert [a["price"] for a in w.c.get("/v1/market/auctions").json()] == [None]


def test_a_continuous_journey_over_http(w: World) -> None:
    w.define("JC-ZARABA", mode="continuous", reference_price=4_000)
    # pre-open: orders wait for the opening auction
    early_buy = w.placed(BUYER, instrument="JC-ZARABA", quantity=50, price=4_000)
    early_sell = w.placed(SELLER, instrument="JC-ZARABA", side="sell", quantity=30, price=3_990)
    assert early_buy["trades"] == [] and early_sell["trades"] == []

    opened = w.session("JC-ZARABA", "open")
    assert [(a["kind"], a["price"], a["volume"]) for a in opened["auctions"]] == [
        ("opening", 4_000, 30)
    ]
    assert w.get_order(BUYER, early_buy["id"])["remaining"] == 20

    resting = w.placed(SELLER, instrument="JC-ZARABA", side="sell", quantity=100, price=4_100)
    assert resting["trades"] == []
    taker = w.placed(BUYER, instrument="JC-ZARABA", quantity=60, price=4_200)
    # ザラバ: trades at once, at the resting order's price
    assert [(tr["price"], tr["quantity"]) for tr in taker["trades"]] == [(4_100, 60)]
    assert (taker["status"], taker["remaining"]) == ("filled", 0)
    assert w.get_order(SELLER, resting["id"])["remaining"] == 40
    book = w.book("JC-ZARABA")
    assert book["bids"] == [{"price": 4_000, "quantity": 20, "orders": 1}]
    assert book["asks"] == [{"price": 4_100, "quantity": 40, "orders": 1}]

    public = w.c.get("/v1/market/trades", params={"instrument": "JC-ZARABA"}).json()
    assert [(p["price"], p["quantity"], p["auction"]) for p in public] == [
        (4_100, 60, False),
        (4_000, 30, True),
    ]
    mine = w.trades(BUYER)
    assert [(m["price"], m["quantity"], m["side"]) for m in mine] == [
        (4_100, 60, "buy"),
        (4_000, 30, "buy"),
    ]
    assert all(m["settlement_date"] == SETTLEMENT_DATE for m in mine)

    closed = w.session("JC-ZARABA", "close")
    assert closed["state"] == "closed"
    assert w.get_order(BUYER, early_buy["id"])["status"] == "expired"
    # what stays reserved is exactly what the two trades will settle
    assert w.reserved(BUYER) == 30 * 4_000 + 60 * 4_100
    assert audit.verify(w.db).ok
    assert w.rebuilt_equals_live()


# ---------------------------------------------------------------- rejections


def _instrument_for(w: World, iid: str) -> None:
    if iid == "JC-LOTS":
        w.define(iid, tick=10, lot=10)
        w.session(iid, "open")
    elif iid == "JC-SHUT":
        w.define(iid)
    elif iid == "JC-HALT":
        w.define(iid)
        w.session(iid, "open")
        w.session(iid, "halt")


REJECTIONS: list[tuple[str, str, str, dict[str, Any], int]] = [
    ("off_tick", "JC-LOTS", BUYER, {"quantity": 10, "price": 2_005}, 422),
    ("not_whole_lot", "JC-LOTS", BUYER, {"quantity": 15, "price": 2_000}, 422),
    ("outside_price_limit", "JC-ES", BUYER, {"price": 3_801}, 422),
    ("outside_price_limit", "JC-ES", SELLER, {"side": "sell", "price": 199}, 422),
    ("market_closed", "JC-SHUT", BUYER, {}, 409),
    ("halted", "JC-HALT", BUYER, {}, 409),
    ("market_orders_not_allowed", "JC-ES", BUYER, {"type": "market", "price": None}, 422),
    (
        "market_orders_not_allowed",
        "JC-ES",
        SELLER,
        {"side": "sell", "type": "market", "price": None},
        422,
    ),
    ("insufficient_cash", "JC-ES", POOR, {}, 409),
    ("insufficient_cash", "JC-ES", BUYER, {"quantity": 50_001, "price": 2_000}, 409),
    ("insufficient_credits", "JC-ES", POOR, {"side": "sell"}, 409),
    (
        "insufficient_credits",
        "JC-ES",
        SELLER,
        {"side": "sell", "quantity": SELLER_CREDITS + 1},
        409,
    ),
    ("participant_not_active", "JC-ES", IDLE, {}, 403),
]


@pytest.mark.parametrize(
    ("reason", "instrument", "who", "fields", "status"),
    REJECTIONS,
    ids=[f"{c[0]}-{c[2]}" for c in REJECTIONS],
)
def test_a_rejected_order_carries_its_reason_and_changes_nothing(
    w: World, reason: str, instrument: str, who: str, fields: dict[str, Any], status: int
) -> None:
    _instrument_for(w, instrument)
    before = w.state()
    r = w.order(who, instrument=instrument, **fields)
    assert r.status_code == status, r.text
    assert is_error(r, reason), r.text
    assert w.state() == before
    assert w.orders(who) == []
    assert w.rebuilt_equals_live()
    # the next order of a participant who may trade still goes through
    if who in (BUYER, SELLER):
        side = fields.get("side", "buy")
        assert w.order(who, side=side, quantity=10, price=2_000).status_code == 201


def test_an_amendment_is_rejected_with_its_reason_and_changes_nothing(w: World) -> None:
    order = w.placed(BUYER, quantity=100, price=2_000)
    before = w.state()
    for body, code in (
        ({"price": 3_801}, "outside_price_limit"),
        ({"quantity": 60_000}, "insufficient_cash"),
        ({}, "nothing_to_amend"),
    ):
        r = w.c.patch(f"/v1/orders/{order['id']}", headers=w[BUYER], json=body)
        assert is_error(r, code), r.text
    w.session("JC-ES", "halt")
    r = w.c.patch(f"/v1/orders/{order['id']}", headers=w[BUYER], json={"quantity": 50})
    assert r.status_code == 409 and is_error(r, "halted"), r.text
    w.session("JC-ES", "resume")
    head, books, reserved = before
    assert w.state() == (head + 2, books, reserved)  # only the halt and the resume
    assert (w.get_order(BUYER, order["id"])["remaining"], w.reserved(BUYER)) == (100, 200_000)


def test_cancel_still_works_while_halted(w: World) -> None:
    order = w.placed(BUYER, quantity=100, price=2_000)
    w.session("JC-ES", "halt")
    blocked = w.order(BUYER)
    assert blocked.status_code == 409 and is_error(blocked, "halted")
    r = w.c.delete(f"/v1/orders/{order['id']}", headers=w[BUYER])
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert w.reserved(BUYER) == 0


# ---------------------------------------------------------------- amend and cancel


def test_amend_and_cancel_of_your_own_order(w: World) -> None:
    order = w.placed(BUYER, quantity=100, price=2_000)
    oid = order["id"]
    assert w.reserved(BUYER) == 200_000

    r = w.c.patch(f"/v1/orders/{oid}", headers=w[BUYER], json={"quantity": 50})
    assert r.status_code == 200, r.text
    assert (r.json()["remaining"], r.json()["price"]) == (50, 2_000)
    assert w.reserved(BUYER) == 100_000

    r = w.c.patch(f"/v1/orders/{oid}", headers=w[BUYER], json={"price": 1_990})
    assert r.status_code == 200 and r.json()["price"] == 1_990
    assert w.reserved(BUYER) == 50 * 1_990
    assert w.book()["bids"] == [{"price": 1_990, "quantity": 50, "orders": 1}]

    r = w.c.delete(f"/v1/orders/{oid}", headers=w[BUYER])
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["remaining"]) == ("cancelled", 0)
    assert w.reserved(BUYER) == 0 and w.book()["bids"] == []
    for again in (
        w.c.delete(f"/v1/orders/{oid}", headers=w[BUYER]),
        w.c.patch(f"/v1/orders/{oid}", headers=w[BUYER], json={"quantity": 10}),
    ):
        assert again.status_code == 409 and is_error(again, "order_not_open"), again.text

    sell = w.placed(SELLER, side="sell", quantity=100, price=2_500)
    r = w.c.patch(f"/v1/orders/{sell['id']}", headers=w[SELLER], json={"quantity": 300})
    assert r.status_code == 200 and r.json()["remaining"] == 300
    over = w.c.patch(f"/v1/orders/{sell['id']}", headers=w[SELLER], json={"quantity": 10_001})
    assert over.status_code == 409 and is_error(over, "insufficient_credits")
    r = w.c.delete(f"/v1/orders/{sell['id']}", headers=w[SELLER])
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    # every credit is free again: one sell of the whole holding is accepted
    assert w.order(SELLER, side="sell", quantity=SELLER_CREDITS, price=2_500).status_code == 201
    assert audit.verify(w.db).ok
    assert w.rebuilt_equals_live()


def test_a_smaller_quantity_keeps_time_priority_and_a_new_price_loses_it(w: World) -> None:
    first = w.placed(BUYER, quantity=100, price=2_000)
    second = w.placed(BUYER, quantity=100, price=2_000)
    r = w.c.patch(f"/v1/orders/{first['id']}", headers=w[BUYER], json={"quantity": 60})
    assert r.status_code == 200, r.text
    w.placed(SELLER, side="sell", quantity=60, price=2_000)
    w.session("JC-ES", "auction")
    # one participant at the price: its share goes to its own orders, earliest first
    assert w.get_order(BUYER, first["id"])["status"] == "filled"
    assert w.get_order(BUYER, second["id"])["remaining"] == 100

    third = w.placed(BUYER, quantity=100, price=2_000)
    for price in (2_001, 2_000):
        r = w.c.patch(f"/v1/orders/{second['id']}", headers=w[BUYER], json={"price": price})
        assert r.status_code == 200, r.text
    r = w.c.patch(f"/v1/orders/{third['id']}", headers=w[BUYER], json={"quantity": 90})
    assert r.status_code == 200, r.text
    w.placed(SELLER, side="sell", quantity=90, price=2_000)
    w.session("JC-ES", "auction")
    # the re-priced order went behind the third, which kept its place when reduced
    assert w.get_order(BUYER, third["id"])["status"] == "filled"
    assert w.get_order(BUYER, second["id"])["remaining"] == 100


# ---------------------------------------------------------------- isolation


def test_another_participants_order_is_not_found_and_reveals_nothing(w: World) -> None:
    order = w.placed(BUYER, quantity=100, price=2_000, client_order_id="buyer-private")
    oid, missing = order["id"], "O999999"
    before = w.state()
    calls = [
        ("GET", None),
        ("PATCH", {"quantity": 10}),
        ("PATCH", {"price": 1_500}),
        ("DELETE", None),
    ]
    for method, body in calls:
        theirs = w.c.request(method, f"/v1/orders/{oid}", headers=w[SELLER], json=body)
        nothing = w.c.request(method, f"/v1/orders/{missing}", headers=w[SELLER], json=body)
        assert theirs.status_code == 404 and is_error(theirs, "order_not_found"), theirs.text
        # the answer is the one for an id that never existed, with the id swapped
        assert theirs.text == nothing.text.replace(missing, oid)
        for secret in (BUYER, "buyer-private", "2000", "100"):
            assert secret not in theirs.text
    assert oid not in json.dumps(w.orders(SELLER))
    assert w.state() == before
    mine = w.get_order(BUYER, oid)
    assert (mine["status"], mine["remaining"], mine["price"]) == ("open", 100, 2_000)


OPERATOR_CALLS = [
    ("define", "/v1/instruments"),
    ("open", "/v1/instruments/JC-ES/open"),
    ("close", "/v1/instruments/JC-ES/close"),
    ("halt", "/v1/instruments/JC-ES/halt"),
    ("resume", "/v1/instruments/JC-ES/resume"),
    ("auction", "/v1/instruments/JC-ES/auctions"),
]


@pytest.mark.parametrize(("action", "path"), OPERATOR_CALLS, ids=[c[0] for c in OPERATOR_CALLS])
@pytest.mark.parametrize("who", [BUYER, SELLER])
def test_a_trader_key_cannot_call_operator_endpoints(
    w: World, action: str, path: str, who: str
) -> None:
    w.placed(BUYER, quantity=10, price=2_000)
    w.placed(SELLER, side="sell", quantity=10, price=2_000)
    if action == "resume":
        w.session("JC-ES", "halt")
    before = w.state()
    body = None
    if action == "define":
        body = {
            "id": "JC-ROGUE",
            "name_en": "Rogue",
            "name_ja": "不正",
            "eligibility": ELIGIBILITY,
            "reference_price": 2_000,
        }
    r = w.c.post(path, headers=w[who], json=body)
    assert r.status_code == 403 and is_error(r), r.text
    assert w.state() == before
    assert {i["id"] for i in w.c.get("/v1/instruments").json()} == {"JC-ES"}
    assert w.c.get("/v1/market/auctions").json() == []


def test_the_operator_key_can_control_sessions(w: World) -> None:
    assert w.session("JC-ES", "halt")["state"] == "halted"
    assert w.session("JC-ES", "resume")["state"] == "open"
    assert w.session("JC-ES", "close")["state"] == "closed"
    again = w.c.post("/v1/instruments/JC-ES/close", headers=w.op)
    assert again.status_code == 409 and is_error(again, "invalid_state")


# ---------------------------------------------------------------- idempotency


def test_an_idempotency_key_places_one_order(w: World) -> None:
    body = {"instrument": "JC-ES", "side": "buy", "quantity": 10, "price": 2_000}
    key = {"Idempotency-Key": "order-20260105-0001"}
    first = w.c.post("/v1/orders", headers=w[BUYER] | key, json=body)
    second = w.c.post("/v1/orders", headers=w[BUYER] | key, json=body)
    assert first.status_code == 201 and second.status_code == 201, second.text
    assert first.json()["id"] == second.json()["id"]
    assert [o["id"] for o in w.orders(BUYER)] == [first.json()["id"]]
    assert w.reserved(BUYER) == 20_000

    before = w.state()
    other = w.c.post("/v1/orders", headers=w[BUYER] | key, json=body | {"quantity": 11})
    assert other.status_code == 409 and is_error(other, "idempotency_key_reused"), other.text
    assert w.state() == before
    third = w.c.post("/v1/orders", headers=w[BUYER] | key, json=body)
    assert third.json()["id"] == first.json()["id"]

    # a key belongs to its sender: another participant's same key is another order
    theirs = w.c.post("/v1/orders", headers=w[SELLER] | key, json=body | {"side": "sell"})
    assert theirs.status_code == 201 and theirs.json()["id"] != first.json()["id"]


def test_concurrent_requests_with_one_idempotency_key_place_one_order(w: World) -> None:
    body = {"instrument": "JC-ES", "side": "buy", "quantity": 10, "price": 2_000}
    key = {"Idempotency-Key": "same-key-from-eight-threads"}

    def send(_: int) -> Any:
        return w.c.post("/v1/orders", headers=w[BUYER] | key, json=body)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, range(8)))
    assert {r.status_code for r in answers} == {201}
    assert len({r.json()["id"] for r in answers}) == 1
    assert len(w.orders(BUYER)) == 1 and w.reserved(BUYER) == 20_000


def test_an_idempotency_key_amends_and_cancels_once(w: World) -> None:
    """PATCH and DELETE take an Idempotency-Key too: sent again, they answer as the first time
    (a cancel sent twice does not answer "not open"; an amendment does not lose priority
    twice); with another body, the key is refused."""
    body = {"instrument": "JC-ES", "side": "buy", "quantity": 10, "price": 2_000}
    placed = w.c.post("/v1/orders", headers=w[BUYER], json=body).json()
    path = f"/v1/orders/{placed['id']}"
    key = {"Idempotency-Key": "amend-20260105-0001"}
    first = w.c.patch(path, headers=w[BUYER] | key, json={"quantity": 6})
    again = w.c.patch(path, headers=w[BUYER] | key, json={"quantity": 6})
    assert first.status_code == again.status_code == 200, again.text
    assert first.json() == again.json() and first.json()["remaining"] == 6
    other = w.c.patch(path, headers=w[BUYER] | key, json={"quantity": 5})
    assert other.status_code == 409 and is_error(other, "idempotency_key_reused"), other.text
    key = {"Idempotency-Key": "cancel-20260105-0001"}
    first = w.c.delete(path, headers=w[BUYER] | key)
    again = w.c.delete(path, headers=w[BUYER] | key)
    assert first.status_code == again.status_code == 200, again.text
    assert first.json() == again.json() and first.json()["status"] == "cancelled"
    unkeyed = w.c.delete(path, headers=w[BUYER])
    assert unkeyed.status_code == 409, unkeyed.text  # without the key: already cancelled
    assert w.reserved(BUYER) == 0


# ---------------------------------------------------------------- hostile bodies

BASE = {"instrument": "JC-ES", "side": "buy", "quantity": 10, "price": 2_000}
HOSTILE: list[tuple[str, Any]] = [
    ("quantity-huge", BASE | {"quantity": 10**30}),
    ("quantity-2**63", BASE | {"quantity": 2**63}),
    ("price-huge", BASE | {"price": 10**30}),
    ("quantity-negative", BASE | {"quantity": -10}),
    ("quantity-zero", BASE | {"quantity": 0}),
    ("price-negative", BASE | {"price": -2_000}),
    ("price-zero", BASE | {"price": 0}),
    ("quantity-fraction", BASE | {"quantity": 10.5}),
    ("price-fraction", BASE | {"price": 2_000.5}),
    ("quantity-tiny-float", BASE | {"quantity": 1e-9}),
    ("quantity-exponent", BASE | {"quantity": 1e300}),
    ("quantity-word", BASE | {"quantity": "ten"}),
    ("price-word", BASE | {"price": "two thousand"}),
    ("quantity-list", BASE | {"quantity": [10]}),
    ("quantity-object", BASE | {"quantity": {"value": 10}}),
    ("quantity-null", BASE | {"quantity": None}),
    ("quantity-missing", {k: v for k, v in BASE.items() if k != "quantity"}),
    ("side-missing", {k: v for k, v in BASE.items() if k != "side"}),
    ("side-unknown", BASE | {"side": "hold"}),
    ("side-uppercase", BASE | {"side": "BUY"}),
    ("tif-unknown", BASE | {"tif": "forever"}),
    ("type-unknown", BASE | {"type": "stop"}),
    ("type-null", BASE | {"type": None}),
    ("extra-participant", BASE | {"participant_id": SELLER}),
    ("extra-id", BASE | {"id": "O1"}),
    ("extra-status", BASE | {"status": "filled"}),
    ("instrument-fullwidth", BASE | {"instrument": "ＪＣ-ＥＳ"}),
    ("instrument-zero-width", BASE | {"instrument": "JC-ES\u200b"}),
    ("instrument-emoji", BASE | {"instrument": "JC-💥"}),
    ("instrument-rtl", BASE | {"instrument": "\u202eSE-CJ"}),
    ("account-unicode", BASE | {"account_id": "買い手-MAIN"}),
    ("account-someone-elses", BASE | {"side": "sell", "account_id": f"{SELLER}-MAIN"}),
    ("account-system", BASE | {"account_id": "SYS-RETIREMENT"}),
    ("serials-on-buy", BASE | {"serials": "JC-ER-P0001-1-1-10"}),
    ("instrument-100k", BASE | {"instrument": "A" * 100_000}),
    ("account-100k", BASE | {"account_id": "A" * 100_000}),
    ("client-id-100k", BASE | {"client_order_id": "x" * 100_000}),
    ("serials-100k", BASE | {"side": "sell", "serials": "x" * 100_000}),
    ("key-100k", BASE | {"k" * 100_000: 1}),
    ("empty-object", {}),
    ("array", [BASE]),
    ("string", "buy 10 at 2000"),
    ("null", None),
]
RAW: list[tuple[str, bytes]] = [
    ("not-json", b"quantity=10&price=2000"),
    ("nan", b'{"instrument":"JC-ES","side":"buy","quantity":NaN,"price":2000}'),
    ("infinity", b'{"instrument":"JC-ES","side":"buy","quantity":10,"price":Infinity}'),
    ("truncated", b'{"instrument":"JC-ES","side":"buy","quantity":10,'),
    ("deep", b'{"instrument":' + b"[" * 10_000 + b"]" * 10_000 + b"}"),
    ("big-int-text", b'{"instrument":"JC-ES","side":"buy","quantity":1' + b"0" * 5_000 + b"}"),
    ("invalid-utf8", b'{"instrument":"JC-\xff\xfe","side":"buy","quantity":10,"price":2000}'),
]


def _refused_and_unchanged(w: World, r: Any, before: tuple[int, dict[str, Any], int]) -> None:
    assert is_error(r), (r.status_code, r.text[:300])
    assert w.state() == before
    assert w.orders(BUYER) == [] and w.orders(SELLER) == []


@pytest.mark.parametrize(("name", "body"), HOSTILE, ids=[c[0] for c in HOSTILE])
def test_a_hostile_order_body_is_refused_and_changes_nothing(
    w: World, name: str, body: Any
) -> None:
    before = w.state()
    r = w.c.post("/v1/orders", headers=w[BUYER], json=body)
    _refused_and_unchanged(w, r, before)


@pytest.mark.parametrize(("name", "content"), RAW, ids=[c[0] for c in RAW])
def test_a_malformed_order_body_is_refused_and_changes_nothing(
    w: World, name: str, content: bytes
) -> None:
    before = w.state()
    headers = w[BUYER] | {"Content-Type": "application/json"}
    r = w.c.post("/v1/orders", headers=headers, content=content)
    _refused_and_unchanged(w, r, before)


HOSTILE_AMEND: list[tuple[str, Any]] = [
    ("quantity-zero", {"quantity": 0}),
    ("quantity-negative", {"quantity": -1}),
    ("quantity-huge", {"quantity": 10**30}),
    ("price-fraction", {"price": 1_999.5}),
    ("price-word", {"price": "cheap"}),
    ("extra-side", {"side": "sell"}),
    ("extra-instrument", {"quantity": 5, "instrument": "JC-OTHER"}),
    ("array", [{"quantity": 5}]),
    ("quantity-numeric-string", {"quantity": "50"}),
    ("quantity-integral-float", {"quantity": 50.0}),
    ("quantity-true", {"quantity": True}),
]


@pytest.mark.parametrize(("name", "body"), HOSTILE_AMEND, ids=[c[0] for c in HOSTILE_AMEND])
def test_a_hostile_amendment_is_refused_and_changes_nothing(w: World, name: str, body: Any) -> None:
    order = w.placed(BUYER, quantity=100, price=2_000)
    before = w.state()
    r = w.c.patch(f"/v1/orders/{order['id']}", headers=w[BUYER], json=body)
    assert is_error(r), (r.status_code, r.text[:300])
    assert w.state() == before
    assert w.get_order(BUYER, order["id"])["remaining"] == 100


@pytest.mark.parametrize("oid", ["O1%2F..%2F..", "x" * 10_000, "%F0%9F%92%A5", "O-1", "O1 OR 1=1"])
def test_odd_order_ids_in_the_path_are_not_found(w: World, oid: str) -> None:
    w.placed(BUYER, quantity=100, price=2_000)
    before = w.state()
    for method, body in (("GET", None), ("PATCH", {"quantity": 1}), ("DELETE", None)):
        r = w.c.request(method, f"/v1/orders/{oid}", headers=w[BUYER], json=body)
        assert is_error(r), (method, r.status_code, r.text[:200])
    assert w.state() == before


LAX: list[tuple[str, dict[str, Any]]] = [
    ("quantity-integral-float", {"quantity": 10.0}),
    ("quantity-numeric-string", {"quantity": "10"}),
    ("quantity-true", {"quantity": True}),
    ("price-numeric-string", {"price": "2000"}),
    ("price-integral-float", {"price": 2_000.0}),
]


@pytest.mark.parametrize(("name", "fields"), LAX, ids=[c[0] for c in LAX])
def test_a_quantity_or_price_that_is_not_a_json_integer_is_refused(
    w: World, name: str, fields: dict[str, Any]
) -> None:
    before = w.state()
    r = w.c.post("/v1/orders", headers=w[BUYER], json=BASE | fields)
    _refused_and_unchanged(w, r, before)


def test_a_nul_character_in_an_order_is_refused_and_changes_nothing(w: World) -> None:
    # no database stores NUL in text (PostgreSQL refuses it), so the API refuses it first
    order = w.placed(BUYER, quantity=100, price=2_000)
    before = w.state()
    answers = [
        w.c.post("/v1/orders", headers=w[BUYER], json=BASE | fields)
        for fields in (
            {"instrument": "JC-ES\x00"},
            {"account_id": f"{BUYER}-MAIN\x00"},
            {"client_order_id": "ref\x00"},
        )
    ]
    answers += [
        w.c.request(method, "/v1/orders/O%00", headers=w[BUYER], json=body)
        for method, body in (("GET", None), ("PATCH", {"quantity": 1}), ("DELETE", None))
    ]
    answers.append(
        w.c.patch(f"/v1/orders/{order['id']}", headers=w[BUYER], json={"quantity": 1, "x\x00": 1})
    )
    assert [is_error(r) for r in answers] == [True] * len(answers), [
        (r.status_code, r.text[:100]) for r in answers
    ]
    assert w.state() == before
    assert w.orders(BUYER) == [w.get_order(BUYER, order["id"])]
    assert w.get_order(BUYER, order["id"])["remaining"] == 100
    assert w.rebuilt_equals_live()


def test_an_amendment_to_an_absurd_reservation_is_refused_with_a_4xx(w: World) -> None:
    w.define("JC-DEAR", reference_price=10_000_000)
    w.session("JC-DEAR", "open")
    order = w.placed(BUYER, instrument="JC-DEAR", quantity=1, price=10_000_000)
    direct = w.order(BUYER, instrument="JC-DEAR", quantity=10**12, price=10_000_000)
    assert is_error(direct), direct.text  # a new order this large is refused
    before = w.state()
    r = w.c.patch(f"/v1/orders/{order['id']}", headers=w[BUYER], json={"quantity": 10**12})
    assert is_error(r), (r.status_code, r.text)
    assert w.state() == before


# ---------------------------------------------------------------- concurrency

THREADS = 8
ORDERS_PER_THREAD = 15


def test_concurrent_orders_all_get_answers_and_the_journal_rebuilds_the_books(
    w: World,
) -> None:
    w.define("JC-CONC", mode="continuous", reference_price=4_000)
    w.session("JC-CONC", "open")
    start = threading.Barrier(THREADS)

    def trader(n: int) -> list[tuple[str, int, dict[str, Any]]]:
        pid = BUYER if n % 2 == 0 else SELLER
        side = "buy" if pid == BUYER else "sell"
        answers = []
        start.wait()
        for i in range(ORDERS_PER_THREAD):
            price = 4_000 + (i * 7 + n * 3) % 9 - 4
            tif = "ioc" if i % 5 == 4 else "day"
            r = w.c.post(
                "/v1/orders",
                headers=w[pid],
                json={
                    "instrument": "JC-CONC",
                    "side": side,
                    "quantity": 1 + (i + n) % 5,
                    "price": price,
                    "tif": tif,
                    "client_order_id": f"T{n}-{i}",
                },
            )
            answers.append(("place", r.status_code, r.json()))
            if i % 3 == 2 and r.status_code == 201:
                d = w.c.delete(f"/v1/orders/{r.json()['id']}", headers=w[pid])
                answers.append(("cancel", d.status_code, d.json()))
        return answers

    with ThreadPoolExecutor(THREADS) as pool:
        results = [a for batch in pool.map(trader, range(THREADS)) for a in batch]

    placed = [body for kind, status, body in results if kind == "place"]
    assert len(placed) == THREADS * ORDERS_PER_THREAD
    assert all(s == 201 for kind, s, _ in results if kind == "place"), results
    # a cancel may find its order already filled, never anything worse
    for kind, status, body in results:
        if kind == "cancel":
            assert status == 200 or (status == 409 and body["error"]["code"] == "order_not_open")
    ids = {b["id"] for b in placed}
    assert len(ids) == len(placed)
    assert {b["client_order_id"] for b in placed} == {
        f"T{n}-{i}" for n in range(THREADS) for i in range(ORDERS_PER_THREAD)
    }
    with w.db.read() as conn:
        stored = conn.execute(
            select(func.count()).select_from(t.orders).where(t.orders.c.instrument_id == "JC-CONC")
        ).scalar_one()
        traded = conn.execute(select(func.count()).select_from(t.trades)).scalar_one()
    assert stored == len(placed)
    assert traded > 0, "the crossing prices should have traded"
    report = audit.verify(w.db)
    assert report.ok, report.problems
    assert w.rebuilt_equals_live()
