"""Live book depth on the orders screen: the page subscribes to the book channel over the
portal's stream (its session cookie for a key) and redraws the depth table when another
participant's order arrives through the API; without JavaScript the server's table stays."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tanso.api.app import create_app
from tanso.services.common import SYSTEM
from tanso.store.db import Database
from tests.e2e.test_portal import PASSWORD, login, prepare


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Any, str]]:
    from tanso.services.ledger import participants, taxonomy
    from tanso.settings import utc_now
    from tanso.store import migrate
    from tests.e2e.test_public_page import Server

    url = f"sqlite:///{tmp_path / 'book.db'}"
    db = Database(url, utc_now)
    migrate.upgrade(db.engine)
    participants.bootstrap(db)
    taxonomy.seed_reference_data(db, SYSTEM)
    prepare(db)
    beta_key = str(participants.create_api_key(db, SYSTEM, "BETA", "beta program").key)
    db.dispose()
    running = Server(url, tmp_path)
    try:
        yield running, beta_key
    finally:
        running.stop()


@pytest.mark.full  # the orders screens' fast-tier journey is in test_portal.py
@pytest.mark.browser
def test_in_chromium_another_participants_order_appears_in_the_book_without_a_reload(
    server: tuple[Any, str], tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    from tanso.client import Client
    from tests.e2e.test_public_page import CHROMIUM_ARGS, WAIT_MS, chromium

    running, beta_key = server
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="en-US")
            page.set_default_timeout(WAIT_MS)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(running.url + "/portal/login")
            page.get_by_label("Email").fill("trader@alpha.example.jp")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.get_by_role("link", name="Orders").click()
            book = page.locator("#book-ES")
            expect(book).to_contain_text("Empty")
            expect(page.locator("#books")).to_have_attribute("data-live", "on")
            marker = page.evaluate("() => { window.__notReloaded = true; return true; }")
            assert marker
            with Client(running.url, beta_key) as beta:
                beta.place_order("ES", "sell", quantity=7, price=2_100)
            row = book.locator("tbody tr").first
            expect(row).to_contain_text("2,100")
            expect(row).to_contain_text("7")
            with Client(running.url, beta_key) as beta:
                beta.place_order("ES", "buy", quantity=1_234, price=1_900)
            expect(book.locator("tbody tr").last).to_contain_text("1,234")
            assert page.evaluate("() => window.__notReloaded === true")  # the same page
            page.screenshot(path=str(tmp_path / "live-book.png"))
            # without JavaScript the server-rendered table shows the same levels
            still = browser.new_context(java_script_enabled=False, locale="en-US")
            plain = still.new_page()
            plain.set_default_timeout(WAIT_MS)
            plain.goto(running.url + "/portal/login")
            plain.get_by_label("Email").fill("viewer@alpha.example.jp")
            plain.get_by_label("Password").fill(PASSWORD)
            plain.get_by_role("button", name="Log in").click()
            plain.goto(running.url + "/portal/orders")
            expect(plain.locator("#book-ES")).to_contain_text("2,100")
            expect(plain.locator("#book-ES")).to_contain_text("1,234")
            expect(plain.locator("#books")).to_have_attribute("data-live", "off")
            still.close()
        finally:
            browser.close()
    assert errors == []


@pytest.fixture
def portal(db: Database) -> Iterator[TestClient]:
    prepare(db)
    with TestClient(create_app(db), follow_redirects=False) as http:
        yield http


def test_the_portal_stream_needs_a_session_and_the_same_origin(portal: TestClient) -> None:
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        portal.websocket_connect("/portal/stream") as ws,
    ):
        ws.receive_text()
    assert refused.value.code == 4401
    login(portal, "viewer@alpha.example.jp")
    with (
        pytest.raises(WebSocketDisconnect),
        portal.websocket_connect(
            "/portal/stream", headers={"origin": "https://evil.example"}
        ) as ws,
    ):
        ws.receive_text()
    with portal.websocket_connect("/portal/stream") as ws:
        ws.send_text(json.dumps({"op": "subscribe", "instruments": ["ES"], "channels": ["book"]}))
        reply = json.loads(ws.receive_text())
    assert reply["type"] == "subscribed" and reply["subscriptions"] == [["ES", "book"]]
