"""Sealed-bid auction screens (portal and public, EN/JA) over HTTP on both backends, and one
journey in Chromium: a seller offers, two buyers bid, the operator clears, the public page shows
the demand curve and a buyer sees its award."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from tanso.api.app import create_app
from tanso.services.access import users
from tanso.services.access.users import NewUser
from tanso.services.common import SYSTEM
from tanso.services.ledger import audit
from tanso.services.venues import sealed_auctions as sa
from tanso.store.db import Database
from tanso.web.portal.auctions import router
from tests.conftest import add_issuance, add_participant, fund
from tests.e2e.test_portal import PASSWORD, csrf, login
from tests.integration.test_sealed_auctions import AFTER, DURING, StepClock

OPENS_JST, CLOSES_JST = "2026-01-06T10:00", "2026-01-06T12:00"  # 01:00Z and 03:00Z


def people(db: Database) -> None:
    add_participant(db, "SELLER")
    add_issuance(db, "SELLER-MAIN", 500)
    for pid in ("B1", "B2"):
        add_participant(db, pid)
        fund(db, pid, 10_000_000)
    for pid in ("SELLER", "B1", "B2", "OPERATOR"):
        role = "administrator" if pid == "OPERATOR" else "trader"  # the operator's roles
        users.create(
            db, SYSTEM, NewUser(pid, f"trader@{pid.lower()}.example.jp", pid, role, PASSWORD)
        )


@pytest.fixture
def site(db: Database) -> Iterator[dict[str, Any]]:
    clock = StepClock("2026-01-06T00:00:00Z")
    db.clock = clock
    people(db)
    app = create_app(db)
    with TestClient(app, follow_redirects=False) as anon:
        browsers = {}
        for pid in ("SELLER", "B1", "B2", "OPERATOR"):
            http = TestClient(app, follow_redirects=False)
            assert login(http, f"trader@{pid.lower()}.example.jp").status_code == 303
            browsers[pid] = http
        yield {"db": db, "clock": clock, "PUBLIC": anon, **browsers}


def offer(site: dict[str, Any], **fields: str) -> str:
    http = site["SELLER"]
    form = {
        "csrf": csrf(http, "/portal/auctions"),
        "title": "Forest portfolio",
        "account": "SELLER-MAIN",
        "quantity": "100",
        "lot": "10",
        "reserve": "1000",
        "opens_at": OPENS_JST,
        "closes_at": CLOSES_JST,
        "pricing": "uniform_lowest_accepted",
        "marginal": "time",
        "undersubscribed": "partial",
        "settlement_days": "0",
    } | fields
    r = http.post("/portal/auctions", data=form)
    assert r.status_code == 200, r.text
    m = re.search(r"Auction (SA-[0-9A-F]+) is offered", r.text)
    assert m, r.text
    return m.group(1)


def bid(site: dict[str, Any], who: str, auction: str, price: int, quantity: int) -> Any:
    http = site[who]
    form = {
        "csrf": csrf(http, f"/portal/auctions/{auction}"),
        "price": str(price),
        "quantity": str(quantity),
        "account": f"{who}-MAIN",
    }
    return http.post(f"/portal/auctions/{auction}/bids", data=form)


def test_a_seller_offers_buyers_bid_amend_withdraw_and_the_operator_clears(
    site: dict[str, Any],
) -> None:
    db, clock = site["db"], site["clock"]
    aid = offer(site)
    assert sa.get_auction(db, aid).opens_at == "2026-01-06T01:00:00.000000Z"
    # what is for sale, on the auction's page and the public page (issue 18, defect 10)
    [lot] = sa.on_offer(db, aid)
    page = site["B1"].get(f"/portal/auctions/{aid}").text
    assert "What is for sale" in page and lot.serials in page and lot.project_id in page
    public = site["PUBLIC"].get("/ja/auctions").text
    assert "出品されるクレジット" in public and lot.serials in public

    clock.set(DURING)
    r = bid(site, "B1", aid, 1_500, 60)
    assert r.status_code == 200 and "sent and sealed" in r.text
    assert bid(site, "B2", aid, 1_200, 15).status_code == 422  # not whole lots
    assert bid(site, "B2", aid, 10**9, 10).status_code == 409  # not enough cash
    assert bid(site, "B2", aid, 1_200, 70).status_code == 200
    b1 = sa.own_bids(db, users.actor_for(users.UserRole.TRADER, "B1", frozenset()))[0].id
    http = site["B1"]
    r = http.post(
        f"/portal/auctions/bids/{b1}/amend",
        data={"csrf": csrf(http, "/portal/auctions"), "price": "1600", "quantity": "60"},
    )
    assert r.status_code == 200 and "is changed" in r.text and "1,600" in r.text
    # another's bid answers like a missing one
    r = site["B2"].post(
        f"/portal/auctions/bids/{b1}/withdraw", data={"csrf": csrf(site["B2"], "/portal/auctions")}
    )
    assert r.status_code == 404
    clock.set(AFTER)
    r = http.post(
        f"/portal/auctions/bids/{b1}/withdraw", data={"csrf": csrf(http, "/portal/auctions")}
    )
    assert r.status_code == 409
    op = site["OPERATOR"]
    r = op.post(f"/portal/auctions/{aid}/clear", data={"csrf": csrf(op, "/portal/auctions")})
    assert r.status_code == 200 and f"Auction {aid} is cleared" in r.text
    public = site["PUBLIC"].get("/auctions")
    assert 'class="demand-svg"' in public.text and "¥1,200" in public.text
    ja = site["PUBLIC"].get("/ja/auctions")
    assert "需要曲線" in ja.text and 'lang="ja"' in ja.text
    mine = site["B2"].get("/portal/auctions")
    assert f"{aid}-W2" in mine.text and "Settled" in mine.text
    assert audit.verify(db).ok


def test_refusals_without_a_session_or_a_csrf_token(site: dict[str, Any]) -> None:
    anon = site["PUBLIC"]
    assert anon.get("/portal/auctions").status_code == 303
    assert anon.post("/portal/auctions", data={}).status_code == 303
    r = site["SELLER"].post("/portal/auctions", data={"csrf": "wrong", "quantity": "10"})
    assert r.status_code == 403
    form = {"csrf": csrf(site["SELLER"], "/portal/auctions"), "account": "B1-MAIN"}
    r = site["SELLER"].post("/portal/auctions", data=form)
    assert r.status_code == 422 and sa.list_auctions(site["db"]) == []


def test_every_label_is_in_english_and_japanese() -> None:
    from tanso.web.i18n import texts

    en, ja = texts("en", "auctions"), texts("ja", "auctions")
    assert en and set(en) == set(ja)
    assert all(ja[k] and ja[k] != en[k] for k in en)


def _get_paths(auction_id: str) -> list[str]:
    paths = []
    for route in router.routes:
        assert isinstance(route, APIRoute)
        if "GET" in route.methods:
            paths.append(route.path.replace("{auction_id}", auction_id))
    return paths


def test_no_page_shows_a_bid_to_anyone_but_its_bidder_before_clearing(
    site: dict[str, Any],
) -> None:
    aid = offer(site)
    site["clock"].set(DURING)
    assert bid(site, "B1", aid, 7_919, 30).status_code == 200
    b1 = site["B1"].get(f"/portal/auctions/{aid}")
    m = re.search(r'data-bid="(SB-[0-9A-F]+)"', b1.text)
    assert m and "7,919" in b1.text and "237,570" in b1.text
    secrets = (m.group(1), "7,919", "7919", "237,570", "237570")
    paths = _get_paths(aid)
    assert len(paths) >= 5
    for moment in (DURING, AFTER):
        site["clock"].set(moment)
        for who in ("SELLER", "OPERATOR", "B2", "PUBLIC"):
            for path in paths:
                for query in ("", "?lang=ja"):
                    r = site[who].get(path + query)
                    assert r.status_code in (200, 303), (who, path)
                    assert not any(s in r.text for s in secrets), (who, path)


# ---------------------------------------------------------------- in Chromium


@pytest.fixture
def live(sqlite_db: Database) -> Iterator[dict[str, Any]]:
    """The app on a real socket in this process, so that the test moves the database clock."""
    import uvicorn

    clock = StepClock("2026-01-06T00:00:00Z")
    sqlite_db.clock = clock
    people(sqlite_db)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)  # connections wait in the backlog until uvicorn accepts: no readiness poll
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(sqlite_db), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield {"url": f"http://127.0.0.1:{port}", "clock": clock, "db": sqlite_db}
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@pytest.mark.browser
def test_in_chromium_offer_bid_clear_and_the_public_demand_curve(
    live: dict[str, Any], tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    from tests.e2e.test_public_page import CHROMIUM_ARGS, WAIT_MS, chromium

    executable = chromium()
    errors: list[str] = []
    url, clock = live["url"], live["clock"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:

            def session(pid: str) -> Any:
                ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
                page = ctx.new_page()
                page.set_default_timeout(WAIT_MS)
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.goto(url + "/portal/login")
                page.get_by_label("Email").fill(f"trader@{pid.lower()}.example.jp")
                page.get_by_label("Password").fill(PASSWORD)
                page.keyboard.press("Enter")
                expect(page).to_have_url(re.compile(r"/portal$"))
                page.get_by_role("link", name="Auctions", exact=True).click()
                return page

            seller = session("SELLER")
            seller.get_by_label("Title").fill("Forest portfolio 2026")
            seller.get_by_label("Quantity (oldest vintage first)").fill("100")
            seller.get_by_label("Lot (t)").fill("10")
            seller.get_by_label("Reserve price").fill("1000")
            seller.get_by_label("Opens (JST)").fill(OPENS_JST)
            seller.get_by_label("Closes (JST)").fill(CLOSES_JST)
            seller.get_by_role("button", name="Offer").click()
            expect(seller.locator("#notice")).to_contain_text("is offered")
            aid = re.findall(r"SA-[0-9A-F]+", seller.locator("#notice").inner_text())[0]

            clock.set(DURING)
            for pid, price, quantity in (("B1", "1500", "60"), ("B2", "1200", "70")):
                buyer = session(pid)
                buyer.get_by_role("link", name="Forest portfolio 2026").click()
                buyer.get_by_label("Price (¥/t)").fill(price)
                buyer.get_by_label("Quantity (t)").fill(quantity)
                buyer.get_by_role("button", name="Send bid").click()
                expect(buyer.locator("#notice")).to_contain_text("sealed")
                if pid == "B2":
                    b2 = buyer

            clock.set(AFTER)
            operator = session("OPERATOR")
            operator.goto(f"{url}/portal/auctions/{aid}")
            operator.get_by_role("button", name="Clear").click()
            expect(operator.locator("#notice")).to_contain_text("is cleared")

            public = browser.new_page(locale="en-US")
            public.set_default_timeout(WAIT_MS)
            public.on("pageerror", lambda e: errors.append(str(e)))
            public.goto(url + "/en")
            public.get_by_role("link", name="Auctions", exact=True).click()
            expect(public).to_have_url(re.compile(r"/auctions$"))
            result = public.locator(f'[data-result="{aid}"]')
            expect(result.locator(".clearing-price")).to_have_text("¥1,200")
            expect(result.locator(".sold")).to_have_text("100")
            expect(result.locator(".bidders")).to_have_text("2")
            expect(public.locator(f"#demand-{aid} polyline.demand-line")).to_have_count(1)
            expect(public.locator(f"#demand-{aid} title")).to_contain_text("Demand curve")
            public.screenshot(path=str(tmp_path / "sealed-public.png"), full_page=True)

            b2.goto(url + "/portal/auctions")
            award = b2.locator("#my-awards tbody tr").first
            expect(award).to_contain_text(f"{aid}-W2")
            expect(award).to_contain_text("40")
            expect(award).to_contain_text("1,200")
        finally:
            browser.close()
    assert errors == []
    assert audit.verify(live["db"]).ok
