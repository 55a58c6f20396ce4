"""The operator voids a call auction from the instruments screen (issue 17), in English and
Japanese; a trader's session and a form without a valid CSRF token change nothing. The API
route answers as the service does."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from tanso.services.common import SYSTEM
from tanso.services.trading import exchange as xs
from tanso.services.trading.exchange import NewOrder
from tanso.store import schema as t
from tanso.store.db import Database
from tests.e2e.test_operator_portal import ALPHA, as_operator, cross, exchange, portal
from tests.e2e.test_portal import CSRF_RE, count, login

__all__ = ["portal"]  # the fixture, shared with the operator screens' tests


def test_the_operator_voids_the_latest_auction_from_the_instruments_screen(
    portal: TestClient, db: Database
) -> None:
    csrf = as_operator(portal)
    cross(portal, 30, 20)
    before = exchange(portal).engine.book_snapshot("ES")
    exchange(portal).session(SYSTEM, "ES", "auction")
    seq = xs.auction_results(db, "ES", 1)[0].seq
    action = f"/portal/operator/instruments/ES/auctions/{seq}/void"
    page = portal.get("/portal/operator/instruments")
    assert f'action="{action}"' in page.text and "Void auction" in page.text
    r = portal.post(action, data={"csrf": csrf, "reason_code": "whim"})
    assert r.status_code == 422 and "reason_code is one of" in r.text
    r = portal.post(action, data={"csrf": csrf, "reason_code": "erroneous_order", "note": "x"})
    assert r.status_code == 200, r.text
    assert f"Auction {seq} of ES voided: 2 trades busted, 3 orders back in the book" in r.text
    assert exchange(portal).engine.book_snapshot("ES") == before
    assert f'action="{action}"' not in r.text and 'data-field="auction-voided"' in r.text
    r = portal.post(action, data={"csrf": csrf, "reason_code": "erroneous_order"})
    assert r.status_code == 409 and "was voided already" in r.text
    ja = portal.get("/portal/operator/instruments?lang=ja").text
    assert '<span class="tag">取消済</span>' in ja
    exchange(portal).place(ALPHA, NewOrder("ES", "buy", 1, 2_000, account_id="ALPHA-MAIN"))
    exchange(portal).session(SYSTEM, "ES", "auction")
    assert "板寄せを取消" in portal.get("/portal/operator/instruments").text


def test_a_trader_or_a_form_without_its_token_voids_nothing(
    portal: TestClient, db: Database
) -> None:
    cross(portal, 10)
    exchange(portal).session(SYSTEM, "ES", "auction")
    seq = xs.auction_results(db, "ES", 1)[0].seq
    action = f"/portal/operator/instruments/ES/auctions/{seq}/void"
    before = count(db, t.trades)
    assert login(portal, "trader@alpha.example.jp").status_code == 303
    csrf = CSRF_RE.search(portal.get("/portal").text)
    assert csrf
    r = portal.post(action, data={"csrf": csrf.group(1), "reason_code": "other"})
    assert r.status_code == 403
    portal.cookies.clear()
    as_operator(portal)
    r = portal.post(action, data={"csrf": "wrong-token", "reason_code": "other"})
    assert r.status_code == 403 and "Nothing was changed" in r.text
    assert count(db, t.trades) == before
    with db.read() as conn:
        kinds = conn.execute(select(t.journal.c.kind)).scalars().all()
        assert "exchange.auction_voided" not in kinds
        assert not any(conn.execute(select(t.trades.c.busted)).scalars())
    assert not xs.auction_results(db, "ES", 1)[0].voided
