"""A party's request to bust a trade over HTTP through tanso.client (issue 17, 取引取消の申出):
the buyer asks, the operator sees it and grants it (the trade is busted, both parties get a
notice in English and Japanese); a refusal reaches the requester only; a third participant
sees nothing and gets 404."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tanso.api.app import create_app
from tanso.client import ApiError, Client
from tanso.domain.participants import Role
from tanso.services.common import SYSTEM, Actor
from tanso.services.ledger import audit, participants
from tanso.services.trading.exchange import Exchange, NewOrder
from tanso.store.db import Database
from tests.conftest import add_issuance, add_participant, energy_saving, fund, open_market


@pytest.fixture
def clients(db: Database) -> Iterator[dict[str, Any]]:
    keys = {}
    for pid in ("SELLER", "BUYER", "OTHER"):
        add_participant(db, pid)
        keys[pid] = participants.create_api_key(db, SYSTEM, pid).key
    keys["OPERATOR"] = participants.create_api_key(db, SYSTEM, "OPERATOR").key
    add_issuance(db, "SELLER-MAIN", 1_000, vintage=2020, category="ENERGY_SAVING")
    fund(db, "BUYER", 10_000_000)
    with TestClient(create_app(db)) as http:
        x: Exchange = http.app.state.exchange  # type: ignore[attr-defined]
        open_market(x, energy_saving("continuous"))
        transport = http._transport  # type: ignore[attr-defined]
        cs: dict[str, Any] = {
            pid: Client("http://testserver", key, transport=transport) for pid, key in keys.items()
        }
        yield cs | {"db": db, "x": x}


def _trade(clients: dict[str, Any], quantity: int = 3) -> str:
    x: Exchange = clients["x"]
    x.place(Actor("SELLER", frozenset({Role.TRADER})), NewOrder("JC-ES", "sell", quantity, 2_000))
    placed = x.place(
        Actor("BUYER", frozenset({Role.TRADER})), NewOrder("JC-ES", "buy", quantity, 2_000)
    )
    return placed.trades[0].id


def _refused(call: Any) -> tuple[int, str]:
    with pytest.raises(ApiError) as e:
        call()
    return e.value.status, e.value.code


def test_a_request_granted_over_http_busts_the_trade_and_tells_both(
    clients: dict[str, Any],
) -> None:
    seller, buyer, other, op = (clients[k] for k in ("SELLER", "BUYER", "OTHER", "OPERATOR"))
    trade = _trade(clients)
    asked = buyer.request_bust(trade, "erroneous_order", "typed 3 for 0.3")
    assert (asked.state, asked.trade_id) == ("pending", trade)
    assert _refused(lambda: seller.request_bust(trade, "other")) == (409, "bust_request_pending")
    assert _refused(lambda: other.request_bust(trade, "other")) == (404, "trade_not_found")
    assert _refused(lambda: op.grant_bust_request("T404-1")) == (404, "bust_request_not_found")
    assert _refused(lambda: buyer.grant_bust_request(trade)) == (403, "scope_missing")
    # who sees the request: the requester and the operator
    assert [r.id for r in buyer.list_bust_requests()] == [asked.id]
    assert seller.list_bust_requests() == [] and other.list_bust_requests() == []
    assert [r.id for r in op.list_bust_requests("pending")] == [asked.id]
    granted = op.grant_bust_request(trade, "confirmed")
    assert granted.state == "granted" and op.list_bust_requests("pending") == []
    assert next(t for t in buyer.trades() if t.id == trade).busted
    # the notices: both parties told of the bust, the buyer of its request's answer too
    (told,) = seller.list_notices(unread=True)
    assert told.kind == "trade_busted" and told.subject_id == trade
    assert (
        told.text_en and "busted" in told.text_en and "an order entered by mistake" in told.text_en
    )
    assert told.text_ja and "取り消されました" in told.text_ja and "誤発注" in told.text_ja
    assert sorted(n.kind for n in buyer.list_notices()) == ["bust_request_granted", "trade_busted"]
    assert other.list_notices() == []
    assert _refused(lambda: other.read_notice(told.id)) == (404, "notice_not_found")
    read = seller.read_notice(told.id)
    assert read.read_at and seller.list_notices(unread=True) == []
    assert audit.verify(clients["db"]).ok


def test_a_refusal_over_http_reaches_the_requester_only(clients: dict[str, Any]) -> None:
    seller, buyer, op = (clients[k] for k in ("SELLER", "BUYER", "OPERATOR"))
    trade = _trade(clients)
    seller.request_bust(trade, "system_fault")
    refused = op.refuse_bust_request(trade, "The matching was correct.")
    assert (refused.state, refused.decision_note) == ("refused", "The matching was correct.")
    (n,) = seller.list_notices()
    assert n.kind == "bust_request_refused" and "The matching was correct." in (n.text_ja or "")
    assert buyer.list_notices() == []
    assert not next(t for t in seller.trades() if t.id == trade).busted
    assert _refused(lambda: op.refuse_bust_request(trade, "again")) == (
        409,
        "bust_request_decided",
    )
