"""The marketplace screens over HTTP (both backends) and one journey in headless Chromium:
a seller lists in the portal, a buyer finds the listing with a filter, buys it and sees the deal.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tanso.api.app import create_app
from tanso.domain import marketplace as mp
from tanso.services.common import SYSTEM, Actor
from tanso.services.ledger import audit, registry
from tanso.services.venues import marketplace as market
from tanso.store.db import Database
from tests.conftest import add_issuance, add_participant
from tests.e2e.test_portal import PASSWORD, login, prepare

CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')


def held_issuance(db: Database, account: str) -> str:
    return registry.holdings(db, SYSTEM, account).blocks[0].issuance_id


def prepare_market(db: Database) -> None:
    """ALPHA and BETA as in the portal tests; GAMMA has a dear listing of removal credits."""
    prepare(db)
    gamma = add_participant(db, "GAMMA")
    issuance = add_issuance(db, "GAMMA-MAIN", 500, vintage=2023, category="FOREST")
    market.create_listing(
        db,
        gamma,
        market.NewListing("GAMMA-MAIN", mp.ListingTerms(5_000, 200), issuance_id=issuance),
    )


@pytest.fixture
def portal(db: Database) -> Iterator[TestClient]:
    prepare_market(db)
    with TestClient(create_app(db), follow_redirects=False) as http:
        yield http


def token(http: TestClient, path: str) -> str:
    m = CSRF_RE.search(http.get(path).text)
    assert m, path
    return m.group(1)


def test_anyone_browses_listings_and_projects_without_logging_in(portal: TestClient) -> None:
    page = portal.get("/portal/marketplace")
    assert page.status_code == 200 and "data-listing=" in page.text
    assert "GAMMA" not in page.text  # the seller is not named
    lid = re.search(r'data-listing="([^"]+)"', page.text)
    assert lid
    detail = portal.get(f"/portal/marketplace/listings/{lid.group(1)}")
    assert detail.status_code == 200 and "About the project" in detail.text
    assert "Log in to buy" in detail.text and 'id="buy-form"' not in detail.text
    ja = portal.get("/portal/marketplace?lang=ja")
    assert "マーケットプレイス" in ja.text and "絞り込み" in ja.text
    none = portal.get("/portal/marketplace", params={"price_max": "100"})
    assert 'id="no-listings"' in none.text
    assert portal.get("/portal/marketplace/listings/ML-999999").status_code == 404
    assert portal.get("/portal/marketplace/mine").status_code == 303


def test_a_seller_lists_and_a_buyer_buys_through_the_forms(
    portal: TestClient, db: Database
) -> None:
    login(portal, "trader@alpha.example.jp")
    issuance = held_issuance(db, "ALPHA-MAIN")
    r = portal.post(
        "/portal/marketplace/mine",
        data={
            "csrf": token(portal, "/portal/marketplace/mine"),
            "credits": f"ALPHA-MAIN|{issuance}",
            "price": "2,400",
            "quantity": "300",
            "min_quantity": "",
            "lot": "10",
            "settlement_days": "0",
            "expires_at": "",
            "note": "",
        },
    )
    assert r.status_code == 200 and 'id="notice"' in r.text, r.text
    lid = re.search(r"Listing (ML-\d+) is open", r.text)
    assert lid
    portal.post("/portal/logout", data={"csrf": token(portal, "/portal/marketplace/mine")})
    login(portal, "trader@beta.example.jp")
    path = f"/portal/marketplace/listings/{lid.group(1)}"
    bad = portal.post(
        path + "/buy", data={"csrf": token(portal, path), "quantity": "15", "account": "BETA-MAIN"}
    )
    assert bad.status_code == 422 and "lots of 10" in bad.text
    ok = portal.post(
        path + "/buy", data={"csrf": token(portal, path), "quantity": "100", "account": "BETA-MAIN"}
    )
    assert ok.status_code == 200 and "settled" in ok.text and "¥240,000" in ok.text
    deals = portal.get("/portal/marketplace/deals")
    assert "data-deal=" in deals.text
    assert audit.verify(db).ok


def test_another_participants_listing_cannot_be_withdrawn_and_viewers_cannot_buy(
    portal: TestClient, db: Database
) -> None:
    alpha = Actor("ALPHA")
    issuance = held_issuance(db, "ALPHA-MAIN")
    lst = market.create_listing(
        db, alpha, market.NewListing("ALPHA-MAIN", mp.ListingTerms(2_000, 100), issuance)
    )
    login(portal, "administrator@beta.example.jp")
    r = portal.post(
        f"/portal/marketplace/mine/{lst.id}/withdraw",
        data={"csrf": token(portal, "/portal/marketplace/mine")},
    )
    assert r.status_code == 404
    assert market.get_listing(db, None, lst.id).status == "open"
    portal.post("/portal/logout", data={"csrf": token(portal, "/portal/marketplace/mine")})
    login(portal, "viewer@beta.example.jp")
    path = f"/portal/marketplace/listings/{lst.id}"
    page = portal.get(path)
    assert 'id="buy-form"' not in page.text
    r = portal.post(
        path + "/buy", data={"csrf": token(portal, "/portal/marketplace/mine"), "quantity": "10"}
    )
    assert r.status_code == 403
    assert market.get_listing(db, None, lst.id).available == 100


def test_an_rfq_from_the_listing_page_is_answered_and_accepted_in_the_portal(
    portal: TestClient, db: Database
) -> None:
    alpha = Actor("ALPHA")
    issuance = held_issuance(db, "ALPHA-MAIN")
    lst = market.create_listing(
        db, alpha, market.NewListing("ALPHA-MAIN", mp.ListingTerms(2_000, 100), issuance)
    )
    login(portal, "trader@beta.example.jp")
    path = f"/portal/marketplace/listings/{lst.id}"
    r = portal.post(
        path + "/rfq", data={"csrf": token(portal, path), "rfq_quantity": "500", "note": "big lot"}
    )
    assert r.status_code == 200 and "sent" in r.text
    rfq = re.search(r'data-rfq="([^"]+)"', r.text)
    assert rfq
    portal.post("/portal/logout", data={"csrf": token(portal, "/portal/marketplace/rfqs")})
    login(portal, "trader@alpha.example.jp")
    inbox = portal.get("/portal/marketplace/rfqs")
    assert rfq.group(1) in inbox.text and "big lot" in inbox.text
    r = portal.post(
        f"/portal/marketplace/rfqs/{rfq.group(1)}/offer",
        data={
            "csrf": token(portal, "/portal/marketplace/rfqs"),
            "credits": f"ALPHA-MAIN|{issuance}",
            "price": "1900",
            "quantity": "500",
            "settlement_days": "2",
            "expires_at": "2099-01-01T00:00:00Z",
        },
    )
    assert r.status_code == 200 and "Offer OF-" in r.text, r.text
    offer = re.search(r"Offer (OF-\d+) sent", r.text)
    assert offer
    portal.post("/portal/logout", data={"csrf": token(portal, "/portal/marketplace/rfqs")})
    login(portal, "trader@beta.example.jp")
    r = portal.post(
        f"/portal/marketplace/offers/{offer.group(1)}/accept",
        data={"csrf": token(portal, "/portal/marketplace/rfqs"), "account": "BETA-MAIN"},
    )
    assert r.status_code == 200 and "Offer accepted" in r.text
    assert "¥950,000" in r.text
    assert audit.verify(db).ok


# ---------------------------------------------------------------- in Chromium


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Any]:
    from tanso.services.ledger import participants, taxonomy
    from tanso.settings import utc_now
    from tanso.store import migrate
    from tests.e2e.test_public_page import Server

    url = f"sqlite:///{tmp_path / 'market.db'}"
    db = Database(url, utc_now)
    migrate.upgrade(db.engine)
    participants.bootstrap(db)
    taxonomy.seed_reference_data(db, SYSTEM)
    prepare_market(db)
    db.dispose()
    running = Server(url, tmp_path)
    try:
        yield running
    finally:
        running.stop()


@pytest.mark.browser
def test_in_chromium_a_seller_lists_and_a_buyer_filters_buys_and_sees_the_deal(
    server: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    from tests.e2e.test_public_page import CHROMIUM_ARGS, WAIT_MS, chromium

    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="en-US")
            page.set_default_timeout(WAIT_MS)
            page.on("pageerror", lambda e: errors.append(str(e)))

            def sign_in(email: str) -> None:
                page.goto(server.url + "/portal/login")
                page.get_by_label("Email").fill(email)
                page.get_by_label("Password").fill(PASSWORD)
                page.get_by_role("button", name="Log in").click()
                expect(page).to_have_url(re.compile(r"/portal$"))

            # the seller lists 400 t at ¥2,300 with T+2 settlement
            sign_in("trader@alpha.example.jp")
            page.get_by_role("link", name="Marketplace").first.click()
            page.get_by_role("link", name="My listings").click()
            page.get_by_label("Price (¥/t)").fill("2300")
            page.get_by_label("Quantity (t)").fill("400")
            page.get_by_label("Lot (t)").fill("50")
            page.get_by_role("button", name="List", exact=True).click()
            expect(page.locator("#notice")).to_contain_text("is open")
            expect(page.locator("#my-listings tbody tr")).to_have_count(1)
            page.get_by_role("button", name="Log out").click()
            # the buyer filters to cheaper listings and finds only the seller's
            sign_in("trader@beta.example.jp")
            page.goto(server.url + "/portal/marketplace")
            expect(page.locator("#listings tbody tr")).to_have_count(2)
            page.get_by_label("Price to (¥/t)").fill("3000")
            page.get_by_role("button", name="Apply").click()
            expect(page.locator("#listings tbody tr")).to_have_count(1)
            expect(page.locator("#listings tbody tr")).to_contain_text("¥2,300")
            page.locator("#listings tbody tr a").click()
            expect(page.locator("#listing-available")).to_have_text("400")
            page.get_by_label("Quantity (t)").fill("150")
            page.get_by_role("button", name="Buy", exact=True).click()
            expect(page.locator("#notice")).to_contain_text("150 t for ¥345,000")
            row = page.locator("#deals tbody tr").first
            expect(row).to_contain_text("¥345,000")
            expect(row).to_contain_text("pending")
            page.screenshot(path=str(tmp_path / "marketplace-deal.png"), full_page=True)
        finally:
            browser.close()
    assert errors == []
