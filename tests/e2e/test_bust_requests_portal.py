"""The request to bust a trade and the inbox over the portal (issue 17, 取引取消の申出 and
お知らせ): a trader asks from the trades screen, the operator grants it on the settlement
screen, both parties find the notice in their inbox (English and Japanese) with the unread count
in the navigation, and mark it read; a viewer gets no form; a refusal is explained."""

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
from tests.e2e.test_portal import PASSWORD, login, prepare

CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')
NOTICE_RE = re.compile(r'data-notice="([^"]+)"')


@pytest.fixture
def portal(db: Database) -> Iterator[TestClient]:
    prepare(db)
    users.create(
        db,
        SYSTEM,
        users.NewUser(
            "OPERATOR", "admin@operator.example.jp", "Operator", "administrator", PASSWORD
        ),
    )
    with TestClient(create_app(db), follow_redirects=False) as http:
        yield http


def _trade(http: TestClient) -> str:
    x: Exchange = http.app.state.exchange  # type: ignore[attr-defined]
    alpha = Actor("ALPHA", frozenset({Role.TRADER}))
    beta = Actor("BETA", frozenset({Role.TRADER}))
    x.place(alpha, NewOrder("ES", "sell", 5, 2_000, account_id="ALPHA-MAIN"))
    return x.place(beta, NewOrder("ES", "buy", 5, 2_000, account_id="BETA-MAIN")).trades[0].id


def _as(http: TestClient, email: str, page: str = "/portal/trades") -> str:
    http.cookies.clear()
    assert login(http, email).status_code == 303
    m = CSRF_RE.search(http.get(page).text)
    assert m
    return m.group(1)


def test_a_request_from_the_trades_screen_granted_by_the_operator_reaches_both_inboxes(
    portal: TestClient, db: Database
) -> None:
    trade = _trade(portal)
    csrf = _as(portal, "trader@beta.example.jp")
    page = portal.get("/portal/trades")
    assert 'id="bust-request-form"' in page.text and f'value="{trade}"' in page.text
    r = portal.post(
        "/portal/trades/bust-requests",
        data={"csrf": csrf, "trade": trade, "reason_code": "erroneous_order", "note": "typo"},
    )
    assert r.status_code == 200 and f"Your request to bust trade {trade}" in r.text
    assert f'data-bust-request="{trade}"' in r.text  # listed as waiting
    again = portal.post(
        "/portal/trades/bust-requests",
        data={"csrf": csrf, "trade": trade, "reason_code": "other"},
    )
    assert again.status_code == 409 and "already waiting" in again.text
    # the operator grants it on the settlement screen
    csrf = _as(portal, "admin@operator.example.jp", "/portal/operator/settlement")
    screen = portal.get("/portal/operator/settlement")
    assert f'action="/portal/operator/bust-requests/{trade}/grant"' in screen.text
    r = portal.post(f"/portal/operator/bust-requests/{trade}/grant", data={"csrf": csrf})
    assert r.status_code == 200 and f"The request to bust trade {trade} was granted" in r.text
    assert f'action="/portal/operator/bust-requests/{trade}/grant"' not in r.text
    # both parties: the count in the navigation, the notice in English and in Japanese
    csrf = _as(portal, "viewer@alpha.example.jp", "/portal/inbox")
    inbox = portal.get("/portal/inbox")
    assert 'id="nav-inbox"' in inbox.text and "(1)" in inbox.text
    assert f"Trade {trade}" in inbox.text and "an order entered by mistake" in inbox.text
    ja = portal.get("/portal/inbox?lang=ja")
    assert "お知らせ" in ja.text and "取り消されました" in ja.text and "誤発注" in ja.text
    notice = NOTICE_RE.search(inbox.text)
    assert notice
    r = portal.post(f"/portal/inbox/{notice.group(1)}/read", data={"csrf": csrf})
    assert r.status_code == 200 and "(1)" not in r.text.split('id="nav-inbox"')[1][:200]
    assert portal.get("/portal/inbox?unread=1&lang=en").text.count("data-notice=") == 0
    # a viewer reads but gets no form to ask for a bust
    assert 'id="bust-request-form"' not in portal.get("/portal/trades").text
    _as(portal, "trader@beta.example.jp", "/portal/inbox")
    assert portal.get("/portal/inbox").text.count("data-notice=") == 2
    assert audit.verify(db).ok


def test_a_refusal_on_the_settlement_screen_needs_a_note_and_is_told(
    portal: TestClient,
) -> None:
    trade = _trade(portal)
    csrf = _as(portal, "trader@alpha.example.jp")
    data = {"csrf": csrf, "trade": trade, "reason_code": "system_fault"}
    assert portal.post("/portal/trades/bust-requests", data=data).status_code == 200
    csrf = _as(portal, "admin@operator.example.jp", "/portal/operator/settlement")
    path = f"/portal/operator/bust-requests/{trade}/refuse"
    assert portal.post(path, data={"csrf": csrf, "note": " "}).status_code == 422
    r = portal.post(path, data={"csrf": csrf, "note": "The fill was right."})
    assert r.status_code == 200 and f"The request to bust trade {trade} was refused" in r.text
    _as(portal, "trader@alpha.example.jp", "/portal/inbox")
    ja = portal.get("/portal/inbox?lang=ja").text
    assert "認められませんでした" in ja and "The fill was right." in ja
    assert "審査中" not in portal.get("/portal/trades?lang=ja").text
