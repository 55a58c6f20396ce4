"""Sealed-bid auctions over HTTP with tanso.client: the whole cycle, strict bodies, idempotency,
and no GET route showing a bid to anyone but its bidder before clearing."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from tanso.api.app import create_app
from tanso.api.routes_auctions import router
from tanso.api.schemas_auctions import SealedAuctionOffered
from tanso.client import ApiError, Client
from tanso.services.common import SYSTEM
from tanso.services.ledger import audit, participants
from tanso.services.operations import journal_search
from tanso.services.venues import sealed_auctions
from tanso.store.db import Database
from tests.conftest import add_issuance, add_participant, fund
from tests.integration.test_sealed_auctions import AFTER, CLOSES, DURING, OPENS, StepClock


@pytest.fixture
def clients(db: Database) -> Iterator[dict[str, Any]]:
    clock = StepClock("2026-01-06T00:00:00Z")
    db.clock = clock
    keys = {"OPERATOR": participants.create_api_key(db, SYSTEM, "OPERATOR").key}
    for pid in ("SELLER", "B1", "B2"):
        add_participant(db, pid)
        keys[pid] = participants.create_api_key(db, SYSTEM, pid).key
    add_issuance(db, "SELLER-MAIN", 100)
    fund(db, "B1", 1_000_000)
    fund(db, "B2", 1_000_000)
    app = create_app(db)
    with TestClient(app) as http:
        cs = {
            pid: Client("http://testserver", key, transport=http._transport)  # type: ignore[attr-defined]
            for pid, key in keys.items()
        }
        cs["PUBLIC"] = Client("http://testserver", transport=http._transport)  # type: ignore[attr-defined]
        yield cs | {"db": db, "clock": clock}


def _offer(c: dict[str, Any], **kw: Any) -> SealedAuctionOffered:
    out: SealedAuctionOffered = c["SELLER"].create_sealed_auction(
        "SELLER-MAIN",
        opens_at=OPENS,
        closes_at=CLOSES,
        reserve=1_000,
        quantity=50,
        lot=10,
        title="Forest lot",
        **kw,
    )
    return out


def test_the_whole_cycle_over_http(clients: dict[str, Any]) -> None:
    c, clock = clients, clients["clock"]
    a = _offer(c, pricing="uniform_lowest_accepted")
    assert c["PUBLIC"].sealed_auction(a.id).state == "scheduled"
    # anonymous like the exchange: only the seller and the operator see who sells
    assert "seller" not in c["PUBLIC"].request("GET", f"/v1/sealed-auctions/{a.id}")
    assert "seller" not in c["B1"].request("GET", "/v1/sealed-auctions")[0]
    assert [x["seller"] for x in c["SELLER"].request("GET", "/v1/sealed-auctions/mine")] == [
        "SELLER"
    ]
    assert c["B1"].request("GET", "/v1/sealed-auctions/mine") == []
    clock.set(DURING)
    assert [x.id for x in c["PUBLIC"].sealed_auctions(state="open")] == [a.id]
    b1 = c["B1"].sealed_bid(a.id, "B1-MAIN", 1_500, 30)
    c["B2"].sealed_bid(a.id, "B2-MAIN", 1_200, 40)
    c["B1"].amend_sealed_bid(b1.id, price=1_600)
    clock.set(AFTER)
    with pytest.raises(ApiError) as err:
        c["B1"].withdraw_sealed_bid(b1.id)
    assert (err.value.status, err.value.code) == (409, "auction_not_open")
    with pytest.raises(ApiError) as err:
        c["B2"].clear_sealed_auction(a.id)
    assert err.value.status == 403
    out = c["OPERATOR"].clear_sealed_auction(a.id)
    assert out.state == "cleared" and out.settled == 2
    res = c["PUBLIC"].sealed_auction_results(a.id)
    assert (res.clearing_price, res.sold, res.unsold, res.bidders) == (1_200, 50, 0, 2)
    assert [dataclasses.asdict(d) for d in res.demand_curve] == [
        {"price": 1_600, "quantity": 30, "cumulative": 30},
        {"price": 1_200, "quantity": 40, "cumulative": 70},
    ]
    assert [(w.quantity, w.price) for w in c["B2"].my_sealed_awards()] == [(20, 1_200)]
    seller_view = c["SELLER"].sealed_auction_awards(a.id)
    assert len(seller_view) == 2 and all(w.bidder is None for w in seller_view)
    assert {w.bidder for w in c["OPERATOR"].sealed_auction_awards(a.id)} == {"B1", "B2"}
    assert audit.verify(c["db"]).ok


def test_bodies_are_strict_and_posts_are_idempotent(clients: dict[str, Any]) -> None:
    c = clients
    seller: Client = c["SELLER"]
    body = {"account_id": "SELLER-MAIN", "opens_at": OPENS, "closes_at": CLOSES, "reserve": 1}
    for bad in (
        body | {"quantity": 10, "colour": "red"},
        body | {"quantity": "10"},
        body | {"quantity": 10, "pricing": "vickrey"},
        body | {"quantity": 10, "opens_at": "tomorrow"},
        body | {"quantity": 10, "opens_at": "2026-01-06T01:00:00"},  # no zone
    ):
        with pytest.raises(ApiError) as err:
            seller.request("POST", "/v1/sealed-auctions", json=bad)
        assert err.value.status in (400, 422), bad
    key = "offer-1"
    first = seller.request(
        "POST", "/v1/sealed-auctions", json=body | {"quantity": 10}, idempotency_key=key
    )
    again = seller.request(
        "POST", "/v1/sealed-auctions", json=body | {"quantity": 10}, idempotency_key=key
    )
    assert first == again and len(seller.sealed_auctions()) == 1
    with pytest.raises(ApiError) as err:
        seller.request(
            "POST", "/v1/sealed-auctions", json=body | {"quantity": 20}, idempotency_key=key
        )
    assert err.value.status == 409
    with pytest.raises(ApiError) as err:
        c["PUBLIC"].sealed_bid(first["id"], "B1-MAIN", 10, 1)
    assert err.value.status == 401


def _get_paths(auction_id: str, bid_id: str) -> list[str]:
    paths = []
    for route in router.routes:
        assert isinstance(route, APIRoute)
        if "GET" in route.methods:
            paths.append(route.path.replace("{auction_id}", auction_id).replace("{bid_id}", bid_id))
    return paths


def test_no_get_route_shows_a_bid_to_anyone_but_its_bidder_before_clearing(
    clients: dict[str, Any],
) -> None:
    c, clock = clients, clients["clock"]
    a = _offer(c)
    clock.set(DURING)
    bid = c["B1"].sealed_bid(a.id, "B1-MAIN", 7_919, 30)
    secrets = (bid.id, "7919", "237570")  # the id, the price, price x quantity
    paths = _get_paths(a.id, bid.id)
    assert len(paths) >= 7
    for moment in (DURING, AFTER):  # open, then closed but not yet cleared
        clock.set(moment)
        for who in ("SELLER", "OPERATOR", "B2", "PUBLIC"):
            http = c[who]._http
            for path in paths:
                r = http.get(path)
                assert r.status_code < 500, (who, path)
                # a 404 may echo the id the caller itself typed, nothing more
                hidden = secrets[1:] if bid.id in path else secrets
                assert not any(s in r.text for s in hidden), (who, path, r.text)
        mine = c["B1"]._http.get(f"/v1/sealed-auctions/bids/{bid.id}")
        assert mine.status_code == 200 and mine.json()["price"] == 7_919


def test_the_journal_keeps_bids_sealed_from_the_operator_until_clearing(
    clients: dict[str, Any],
) -> None:
    c, clock = clients, clients["clock"]
    a = _offer(c, pricing="pay_as_bid")
    clock.set(DURING)
    bid = c["B1"].sealed_bid(a.id, "B1-MAIN", 1_777, 30)

    def bid_entries() -> list[dict[str, Any]]:
        entries = c["OPERATOR"].request("GET", "/v1/journal", params={"limit": 1000})
        return [e for e in entries if e["kind"] in ("sealed", "sealed_auction.bid_placed")]

    (sealed,) = bid_entries()
    assert sealed["sealed"] is True and "B1" not in sealed["actor"] and sealed["at"] == ""
    # the operator's journal screen reads through the same seal; a search never finds a bid
    screen = journal_search.entries(c["db"], SYSTEM).entries
    assert sealed_auctions.SEALED_ACTOR in [e.actor for e in screen]
    for kind, who in (("sealed_auction.bid_placed", ""), ("sealed_auction", "B1"), ("", "B1")):
        found = journal_search.entries(c["db"], SYSTEM, kind=kind, actor_text=who).entries
        assert all(e.kind != "sealed_auction.bid_placed" and not e.sealed for e in found)
    assert "53310" not in sealed["payload"] and bid.id not in sealed["payload"]  # 1,777 x 30
    clock.set(AFTER)
    c["SELLER"].clear_sealed_auction(a.id)
    (opened,) = bid_entries()
    assert "sealed" not in opened and opened["actor"].startswith("B1")
    assert opened["kind"] == "sealed_auction.bid_placed"
    assert "53310" in opened["payload"] and opened["hash"] == sealed["hash"]
    assert audit.verify(c["db"]).ok
