"""The dispute screens over HTTP (issue 17, 紛争処理): a party opens a dispute in the portal,
the counterparty responds and attaches a file, the operator decides with a remedy and closes it;
a viewer only reads; another participant's dispute answers 404; the screens speak Japanese."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tanso.api.app import create_app
from tanso.domain.participants import Role
from tanso.services.access import users
from tanso.services.common import SYSTEM, Actor
from tanso.services.ledger import audit
from tanso.services.trading.exchange import Exchange, NewOrder
from tanso.store.db import Database
from tests.conftest import add_participant
from tests.e2e.test_portal import PASSWORD, login, prepare

CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')
DISPUTE_RE = re.compile(r'data-dispute="([^"]+)"')


@pytest.fixture
def portal(db: Database) -> Iterator[TestClient]:
    prepare(db)
    add_participant(db, "GAMMA")
    users.create(
        db,
        SYSTEM,
        users.NewUser(
            "OPERATOR", "admin@operator.example.jp", "Operator", "administrator", PASSWORD
        ),
    )
    users.create(
        db, SYSTEM, users.NewUser("GAMMA", "trader@gamma.example.jp", "G", "trader", PASSWORD)
    )
    with TestClient(create_app(db), follow_redirects=False) as http:
        yield http


def _trade(http: TestClient) -> str:
    x: Exchange = http.app.state.exchange  # type: ignore[attr-defined]
    alpha = Actor("ALPHA", frozenset({Role.TRADER}))
    beta = Actor("BETA", frozenset({Role.TRADER}))
    x.place(alpha, NewOrder("ES", "sell", 5, 2_000, account_id="ALPHA-MAIN"))
    return x.place(beta, NewOrder("ES", "buy", 5, 2_000, account_id="BETA-MAIN")).trades[0].id


def _as(http: TestClient, email: str) -> str:
    http.cookies.clear()
    assert login(http, email).status_code == 303
    m = CSRF_RE.search(http.get("/portal/disputes").text)
    assert m
    return m.group(1)


def test_a_dispute_from_the_portal_to_the_operator_s_decision(
    portal: TestClient, db: Database
) -> None:
    trade = _trade(portal)
    csrf = _as(portal, "trader@beta.example.jp")
    r = portal.post(
        "/portal/disputes",
        data={"csrf": csrf, "kind": "trade", "subject_id": trade, "summary": "Wrong price"},
    )
    assert r.status_code == 200, r.text[:500]
    did = DISPUTE_RE.search(portal.get("/portal/disputes").text)
    assert did
    dispute_id = did.group(1)
    # the counterparty responds and attaches a file; the opener's name is never on its pages
    csrf = _as(portal, "trader@alpha.example.jp")
    page = portal.get(f"/portal/disputes/{dispute_id}")
    assert page.status_code == 200 and 'id="respond-form"' in page.text and "BETA" not in page.text
    r = portal.post(
        f"/portal/disputes/{dispute_id}/respond", data={"csrf": csrf, "text": "As entered"}
    )
    assert r.status_code == 200 and 'data-state="responded"' in r.text
    r = portal.post(
        f"/portal/disputes/{dispute_id}/evidence",
        data={"csrf": csrf},
        files={"file": ("order-log.csv", b"time,price\n09:00,2000\n", "text/csv")},
    )
    assert r.status_code == 200 and "order-log.csv" in r.text
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00"  # any bytes, NULs too
    r = portal.post(
        f"/portal/disputes/{dispute_id}/evidence",
        data={"csrf": csrf},
        files={"file": ("screen.png", png, "image/png")},
    )
    assert r.status_code == 200 and "screen.png" in r.text
    link = re.search(
        rf'href="(/portal/disputes/{dispute_id}/evidence/[^"]+)"[^>]*>screen.png', r.text
    )
    assert link and portal.get(link.group(1)).content == png
    # a viewer of ALPHA reads it but may not act; GAMMA does not even see it
    csrf_viewer = _as(portal, "viewer@alpha.example.jp")
    assert portal.get(f"/portal/disputes/{dispute_id}").status_code == 200
    denied = portal.post(
        f"/portal/disputes/{dispute_id}/respond", data={"csrf": csrf_viewer, "text": "x"}
    )
    assert denied.status_code == 403
    _as(portal, "trader@gamma.example.jp")
    assert portal.get(f"/portal/disputes/{dispute_id}").status_code == 404
    assert dispute_id not in portal.get("/portal/disputes").text
    # the operator reviews, decides with a compensation, and closes; in Japanese
    csrf = _as(portal, "admin@operator.example.jp")
    listing = portal.get("/portal/operator/disputes?lang=ja")
    assert listing.status_code == 200 and dispute_id in listing.text and "紛争処理" in listing.text
    base = f"/portal/operator/disputes/{dispute_id}"
    assert portal.post(f"{base}/review", data={"csrf": csrf}).status_code == 200
    r = portal.post(
        f"{base}/decide",
        data={
            "csrf": csrf,
            "outcome": "upheld",
            "decision": "The seller's order was entered twice.",
            "r0_kind": "compensation",
            "r0_payer": "counterparty",
            "r0_amount": "1000",
        },
    )
    assert r.status_code == 200 and 'data-remedy="compensation"' in r.text, r.text[-800:]
    r = portal.post(f"{base}/decide", data={"csrf": csrf, "outcome": "upheld", "decision": "x"})
    assert r.status_code == 409
    assert 'data-state="closed"' in portal.post(f"{base}/close", data={"csrf": csrf}).text
    _as(portal, "trader@beta.example.jp")
    page = portal.get(f"/portal/disputes/{dispute_id}?lang=ja")
    assert "補償金" in page.text and "終結" in page.text
    assert audit.verify(db).ok
