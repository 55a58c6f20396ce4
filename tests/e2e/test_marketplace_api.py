"""The marketplace over HTTP through tanso.client: public browsing, listing, buying, RFQs,
idempotent POSTs, strict bodies and 404s for what is not the caller's."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tanso.api.app import create_app
from tanso.client import ApiError, Client
from tanso.services.common import SYSTEM
from tanso.services.ledger import audit, participants
from tanso.store.db import Database
from tests.conftest import add_issuance, add_participant, fund


@pytest.fixture
def clients(db: Database) -> Iterator[dict[str, Any]]:
    keys = {}
    for pid in ("SELLER", "BUYER", "OTHER"):
        add_participant(db, pid)
        keys[pid] = participants.create_api_key(db, SYSTEM, pid).key
    issuance = add_issuance(db, "SELLER-MAIN", 1_000, vintage=2020, project="SOLAR1")
    fund(db, "BUYER", 10_000_000)
    app = create_app(db)
    with TestClient(app) as http:
        transport = http._transport  # type: ignore[attr-defined]
        cs: dict[str, Any] = {
            pid: Client("http://testserver", key, transport=transport) for pid, key in keys.items()
        }
        cs["PUBLIC"] = Client("http://testserver", transport=transport)
        cs["http"] = http
        yield cs | {"db": db, "issuance": issuance}


def test_list_browse_without_a_key_buy_and_see_the_deal(clients: dict[str, Any]) -> None:
    seller, buyer, public = clients["SELLER"], clients["BUYER"], clients["PUBLIC"]
    lst = seller.list_credits(
        "SELLER-MAIN", 2_500, 200, issuance_id=clients["issuance"], min_quantity=10, lot=10
    )
    assert lst.status == "open" and lst.mine is True
    found = public.marketplace_listings(country="JP", vintage_from=2019, sort="-price")
    assert [x.id for x in found] == [lst.id]
    assert found[0].seller_id is None and found[0].mine is False
    assert public.marketplace_listings(mechanism="removal") == []
    detail = public.marketplace_listing(lst.id)
    assert detail.project.id == "SOLAR1"
    deal = buyer.buy_listing(lst.id, 50, "BUYER-MAIN")
    assert deal.amount == 125_000 and deal.status == "pending"
    assert buyer.marketplace_deals()[0].id == deal.id
    assert seller.marketplace_deals()[0].side == "sell"
    assert clients["OTHER"].marketplace_deals() == []
    assert buyer.obligations(status="pending")[0].deal_id == deal.id
    with pytest.raises(ApiError) as e:
        buyer.buy_listing(lst.id, 5, "BUYER-MAIN")
    assert (e.value.status, e.value.code) == (422, "quantity_below_minimum")
    with pytest.raises(ApiError) as e:
        seller.buy_listing(lst.id, 10, "SELLER-MAIN")
    assert (e.value.status, e.value.code) == (403, "own_listing")
    seller.withdraw_listing(lst.id)
    with pytest.raises(ApiError) as e:
        public.marketplace_listing(lst.id)
    assert e.value.status == 404
    assert audit.verify(clients["db"]).ok


def test_a_purchase_with_the_same_idempotency_key_happens_once(clients: dict[str, Any]) -> None:
    seller, buyer = clients["SELLER"], clients["BUYER"]
    lst = seller.list_credits("SELLER-MAIN", 1_000, 100, issuance_id=clients["issuance"])
    path = f"/v1/marketplace/listings/{lst.id}/purchases"
    body = {"quantity": 10, "account_id": "BUYER-MAIN"}
    a = buyer.request("POST", path, json=body, idempotency_key="k1")
    b = buyer.request("POST", path, json=body, idempotency_key="k1")
    assert a == b
    assert seller.marketplace_my_listings()[0].available == 90
    with pytest.raises(ApiError) as e:
        buyer.request("POST", path, json=body | {"quantity": 20}, idempotency_key="k1")
    assert e.value.code == "idempotency_key_reused"


@pytest.mark.parametrize(
    "body",
    [
        {"quantity": "10", "account_id": "BUYER-MAIN"},
        {"quantity": 10, "account_id": "BUYER-MAIN", "price": 1},
        {"quantity": 0, "account_id": "BUYER-MAIN"},
        {"quantity": 10.5, "account_id": "BUYER-MAIN"},
    ],
)
def test_malformed_bodies_are_refused_with_4xx(clients: dict[str, Any], body: Any) -> None:
    lst = clients["SELLER"].list_credits("SELLER-MAIN", 1_000, 100, issuance_id=clients["issuance"])
    r = clients["http"].post(
        f"/v1/marketplace/listings/{lst.id}/purchases",
        json=body,
        headers={"Authorization": clients["BUYER"]._http.headers["Authorization"]},
    )
    assert r.status_code == 422 and "error" in r.json()


def test_rfq_offer_accept_over_http_and_privacy(clients: dict[str, Any]) -> None:
    seller, buyer, other = clients["SELLER"], clients["BUYER"], clients["OTHER"]
    rfq = buyer.request_quote(300, project_id="SOLAR1", note="for FY2026 report")
    assert [r.id for r in seller.rfqs("in")] == [rfq.id]
    assert other.rfqs("in") == []  # holds no SOLAR1 credits
    with pytest.raises(ApiError) as e:
        other.rfq(rfq.id)
    assert e.value.status == 404
    of = seller.offer(
        rfq.id, "SELLER-MAIN", clients["issuance"], 2_200, 300, "2030-01-01T00:00:00Z", 0
    )
    with pytest.raises(ApiError) as e:
        other.accept_offer(of.id, "OTHER-MAIN")
    assert e.value.status == 404
    deal = buyer.accept_offer(of.id, "BUYER-MAIN")
    assert deal.status == "settled" and deal.amount == 660_000
    assert buyer.rfq(rfq.id).status == "filled"
    assert audit.verify(clients["db"]).ok


def test_private_routes_need_a_key(clients: dict[str, Any]) -> None:
    r = clients["http"].get("/v1/marketplace/deals")
    assert r.status_code == 401
    r = clients["http"].get(
        "/v1/marketplace/listings", headers={"Authorization": "Bearer tk_wrong"}
    )
    assert r.status_code == 401
    assert isinstance(clients["PUBLIC"]._http, httpx.Client)


def test_amend_and_profile_over_http(clients: dict[str, Any]) -> None:
    seller, buyer, public = clients["SELLER"], clients["BUYER"], clients["PUBLIC"]
    lst = seller.list_credits("SELLER-MAIN", 3_000, 100, issuance_id=clients["issuance"])
    out = seller.amend_listing(lst.id, price=2_800, available=150)
    assert (out.price, out.available) == (2_800, 150)
    with pytest.raises(ApiError) as e:
        buyer.amend_listing(lst.id, price=1)
    assert e.value.status == 404
    with pytest.raises(ApiError) as e:
        seller.amend_listing(lst.id)
    assert e.value.code == "nothing_to_amend"
    profile = seller.marketplace_set_profile(
        "SOLAR1",
        summary_en="Rooftop solar",
        ratings=[{"agency": "Example", "grade": "A"}],
        documents=[{"title": "PDD", "url": "https://example.org/pdd.pdf"}],
    )
    assert [dataclasses.asdict(r) for r in profile.ratings] == [{"agency": "Example", "grade": "A"}]
    assert public.marketplace_project("SOLAR1").summary_en == "Rooftop solar"
    with pytest.raises(ApiError) as e:
        buyer.marketplace_set_profile("SOLAR1", summary_en="mine now")
    assert (e.value.status, e.value.code) == (403, "not_a_holder")
    assert audit.verify(clients["db"]).ok


def test_only_the_operator_sweeps_expired_listings(clients: dict[str, Any], db: Database) -> None:
    seller = clients["SELLER"]
    with pytest.raises(ApiError) as e:
        seller.marketplace_sweep()
    assert e.value.status == 403
    op = Client(
        "http://testserver",
        participants.create_api_key(db, SYSTEM, "OPERATOR").key,
        transport=clients["http"]._transport,
    )
    lst = seller.list_credits(
        "SELLER-MAIN", 1_000, 100, issuance_id=clients["issuance"], expires_at="2026-01-06T00:00Z"
    )
    assert dataclasses.asdict(op.marketplace_sweep()) == {"listings": [], "offers": []}
    db.clock = lambda: "2026-01-07T00:00:00.000000Z"
    assert dataclasses.asdict(op.marketplace_sweep()) == {"listings": [lst.id], "offers": []}
    assert seller.marketplace_my_listings()[0].status == "expired"
    assert audit.verify(db).ok
