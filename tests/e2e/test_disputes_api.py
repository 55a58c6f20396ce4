"""Disputes over HTTP through tanso.client (issue 17, 紛争処理): a marketplace deal disputed,
answered, evidenced, decided with a remedy and closed; what each party, a third participant and
the public see; evidence served only to its uploader and the operator."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

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
    keys["OPERATOR"] = participants.create_api_key(db, SYSTEM, "OPERATOR").key
    issuance = add_issuance(db, "SELLER-MAIN", 1_000, vintage=2020, project="SOLAR1")
    fund(db, "BUYER", 10_000_000)
    fund(db, "SELLER", 1_000_000)
    with TestClient(create_app(db)) as http:
        transport = http._transport  # type: ignore[attr-defined]
        cs: dict[str, Any] = {
            pid: Client("http://testserver", key, transport=transport) for pid, key in keys.items()
        }
        cs["PUBLIC"] = Client("http://testserver", transport=transport)
        cs["http"] = http
        yield cs | {"db": db, "issuance": issuance}


def _cash(c: Client) -> int:
    return next(a.balance for a in c.cash() if a.currency == "JPY")


def test_a_deal_disputed_answered_decided_and_closed_over_http(clients: dict[str, Any]) -> None:
    seller, buyer, other, op = (clients[k] for k in ("SELLER", "BUYER", "OTHER", "OPERATOR"))
    listing = seller.list_credits("SELLER-MAIN", 2_500, 100, issuance_id=clients["issuance"])
    deal = buyer.buy_listing(listing.id, 10, "BUYER-MAIN")
    d = buyer.open_dispute(
        "deal", deal.id, "The credits are not the vintage listed.", claimed_amount=5_000
    )
    assert d.state == "open" and d.counterparty_id is None and d.role == "opener"
    # the counterparty sees it without the opener's name; a third participant sees nothing
    (seen,) = seller.list_disputes()
    assert seen.id == d.id and seen.opener_id is None and seen.role == "counterparty"
    assert other.list_disputes() == []
    with pytest.raises(ApiError) as hidden:
        other.dispute(d.id)
    assert hidden.value.status == 404 and hidden.value.code == "dispute_not_found"
    with pytest.raises(ApiError) as not_yours:
        buyer.respond_to_dispute(d.id, "I answer myself")
    assert not_yours.value.status == 403
    seller.respond_to_dispute(d.id, "The listing said 2020; these are 2020.")
    # evidence: any bytes (base64 in JSON), served back only to the uploader and the operator
    pdf = b"%PDF-1.4\x00\xff\x00binary"
    e = buyer.attach_evidence(d.id, "listing.pdf", "application/pdf", pdf)
    assert e.size == len(pdf) and e.file_name == "listing.pdf"
    assert buyer.evidence(d.id, e.id) == pdf
    assert op.evidence(d.id, e.id) == pdf
    for someone in (seller, other):
        with pytest.raises(ApiError) as refused:
            someone.evidence(d.id, e.id)
        assert refused.value.status == 404
    # only the operator reviews and decides
    with pytest.raises(ApiError) as party:
        buyer.review_dispute(d.id)
    assert party.value.status == 403
    op.review_dispute(d.id)
    before = (_cash(buyer), _cash(seller))
    with pytest.raises(ApiError) as broke:
        op.decide_dispute(
            d.id,
            "upheld",
            "x",
            [{"kind": "compensation", "payer": "counterparty", "amount": 10**10}],
        )
    assert broke.value.status == 409 and broke.value.code == "insufficient_cash"
    decided = op.decide_dispute(
        d.id,
        "partly_upheld",
        "The vintage was as listed, the description was not.",
        [{"kind": "price_adjustment", "payer": "counterparty", "amount": 2_500}],
    )
    assert decided.state == "decided" and decided.remedies[0].amount == 2_500
    assert (_cash(buyer), _cash(seller)) == (before[0] + 2_500, before[1] - 2_500)
    assert op.close_dispute(d.id).state == "closed"
    history = [x.kind for x in buyer.dispute(d.id).events or []]
    assert history == ["opened", "responded", "evidence", "under_review", "decided", "closed"]
    year = int(d.opened_at[:4])
    summary = clients["PUBLIC"].dispute_summary(year)
    deals = next(r for r in summary.kinds if r.kind == "deal")
    assert (summary.total, deals.partly_upheld) == (1, 1)
    assert audit.verify(clients["db"]).ok


def test_strict_bodies_and_limits(clients: dict[str, Any]) -> None:
    http: TestClient = clients["http"]
    headers = {"Authorization": f"Bearer {clients['BUYER']._http.headers['Authorization'][7:]}"}
    r = http.post("/v1/disputes", headers=headers, json={"kind": "trade", "subject_id": "T1"})
    assert r.status_code == 422
    r = http.post(
        "/v1/disputes",
        headers=headers,
        json={"kind": "trade", "subject_id": "NOPE", "summary": "x"},
    )
    assert r.status_code == 404 and r.json()["error"]["code"] == "subject_not_found"
    r = http.post(
        "/v1/disputes/DSP-X/evidence",
        headers=headers,
        json={"file_name": "a.txt", "media_type": "text/plain", "content_base64": "!!"},
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_base64"
    big = base64.b64encode(b"x" * 3_000_001).decode()
    r = http.post(
        "/v1/disputes/DSP-X/evidence",
        headers=headers,
        json={"file_name": "a.txt", "media_type": "text/plain", "content_base64": big},
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "file_too_large"
    assert http.get("/v1/disputes/summary?calendar_year=1999").status_code == 422
