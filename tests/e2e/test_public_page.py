"""The public price page: its HTML on both backends, and in headless Chromium (Debian's
/usr/bin/chromium driven by Playwright) against a real `tanso serve`: it loads without script
errors, the chart draws, Japanese is Japanese, and a trade made through the REST API appears
without a reload."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from tanso.api.app import create_app
from tanso.client import Client
from tanso.domain.instruments import Eligibility, InstrumentSpec
from tanso.harness.devserver import ServerProcess as Server
from tanso.services.common import SYSTEM, Actor
from tanso.services.ledger import participants, taxonomy
from tanso.services.marketdata import indices
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange, NewOrder
from tanso.settings import utc_now
from tanso.store import migrate
from tanso.store.db import Database
from tanso.web import pages
from tests.conftest import add_issuance, add_participant, fund

CHROMIUM = "/usr/bin/chromium"
# what this machine's closed network needs (docs/public-page.md)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
JST = ZoneInfo("Asia/Tokyo")
HISTORY_DAYS = 8
WAIT_MS = 20_000  # a failure guard, not a delay: every wait ends as soon as the DOM changes


# ---------------------------------------------------------------- a small market


class DayClock:
    """A database clock whose day the test sets: history on past days, each entry later."""

    def __init__(self) -> None:
        self.day = dt.date.today()
        self._n = itertools.count()

    def __call__(self) -> str:
        i = next(self._n)
        at = dt.datetime.combine(self.day, dt.time(1, 0), dt.UTC) + dt.timedelta(microseconds=i)
        return at.isoformat().replace("+00:00", "Z")


def past_weekdays(n: int) -> list[dt.date]:
    """The last ``n`` weekdays before today in Japan, oldest first."""
    day, out = dt.datetime.now(JST).date(), []
    while len(out) < n:
        day -= dt.timedelta(days=1)
        if day.weekday() < 5:
            out.append(day)
    return out[::-1]


def prepare_market(db: Database, set_day: Callable[[dt.date], None]) -> dict[str, str]:
    """Two instruments with a week and more of history: ES trades continuously (so one REST
    buy and one sell trade at once), RE in call auctions. Returns the traders' API keys."""
    buyer, seller = add_participant(db, "BUYER1"), add_participant(db, "SELLER1")
    keys = {pid: participants.create_api_key(db, SYSTEM, pid).key for pid in ("BUYER1", "SELLER1")}
    fund(db, "BUYER1", 10**11)
    add_issuance(db, "SELLER1-MAIN", 1_000_000, category="ENERGY_SAVING")
    add_issuance(db, "SELLER1-MAIN", 1_000_000, category="RE_POWER")
    x = Exchange(db, japan_calendar())
    x.define_instrument(
        SYSTEM,
        InstrumentSpec(
            "ES",
            "Energy saving",
            "省エネルギー",
            Eligibility(categories=("ENERGY_SAVING",)),
            mode="continuous",
            reference_price=2_000,
        ),
    )
    x.define_instrument(
        SYSTEM,
        InstrumentSpec(
            "RE",
            "Renewable electricity",
            "再生可能エネルギー(電力)",
            Eligibility(categories=("RE_POWER",)),
            reference_price=4_200,
        ),
    )
    for inst in ("ES", "RE"):
        x.session(SYSTEM, inst, "open")

    def order(who: Actor, inst: str, side: str, quantity: int, price: int) -> None:
        x.place(who, NewOrder(instrument=inst, side=side, quantity=quantity, price=price))

    for d, day in enumerate(past_weekdays(HISTORY_DAYS)):
        set_day(day)
        for k, step in enumerate((0, 35, -20, 15)):
            price = 2_000 + 10 * d + step
            quantity = 40 + 10 * k + 15 * (d % 3)
            order(seller, "ES", "sell", quantity, price)
            order(buyer, "ES", "buy", quantity, price)
        order(seller, "RE", "sell", 300, 4_150 + 12 * d)
        order(buyer, "RE", "buy", 200 + 25 * d, 4_260 + 5 * d)
        x.session(SYSTEM, "RE", "auction")
    set_day(dt.datetime.now(JST).date())
    return keys


def new_database(url: str) -> tuple[Database, DayClock]:
    clock = DayClock()
    db = Database(url, clock)
    migrate.upgrade(db.engine)
    participants.bootstrap(db)
    taxonomy.seed_reference_data(db, SYSTEM)
    return db, clock


# ---------------------------------------------------------------- the HTML, both backends


def test_the_page_renders_prices_auctions_and_report_links_in_english_and_japanese(
    db: Database,
) -> None:
    clock = DayClock()
    db.clock = clock

    def set_day(day: dt.date) -> None:
        clock.day = day

    prepare_market(db, set_day)
    calendar = japan_calendar()
    published = max(d for d in past_weekdays(HISTORY_DAYS) if calendar.is_business_day(d))
    indices.compute(db, Exchange(db, calendar), published)
    with TestClient(create_app(db)) as http:
        en = http.get("/")
        assert en.status_code == 200
        assert en.headers["content-type"].startswith("text/html")
        html = en.text
        assert '<html lang="en">' in html
        assert "<h1>Tanso carbon credit prices</h1>" in html
        assert '<th scope="col" class="num">Last price</th>' in html
        assert "Energy saving" in html and "Renewable electricity" in html
        days = past_weekdays(HISTORY_DAYS)
        # ES's last day: 2,070 then 2,105, 2,050 and the close 2,085; the day before closed 2,075
        assert "¥2,085" in html and "+10 <small>(+0.48%)</small>" in html
        assert f"/v1/market/reports/{days[-1]}?format=pdf&amp;lang=en" in html
        assert 'id="chart-container"' in html and "/static/public.js" in html
        assert 'id="indices-table"' in html and f'<td class="nowrap">{published}</td>' in html
        for who in ("BUYER1", "SELLER1"):  # trading is anonymous
            assert who not in html

        ja = http.get("/ja")
        assert ja.status_code == 200
        assert '<html lang="ja">' in ja.text
        assert "現在値" in ja.text and "前日比" in ja.text and "省エネルギー" in ja.text
        assert "tanso_lang=ja" in ja.headers["set-cookie"]
        remembered = http.get("/")  # the cookie from /ja
        assert '<html lang="ja">' in remembered.text
        assert '<html lang="en">' in http.get("/?lang=en").text
        assert '<html lang="en">' in http.get("/").text
        http.cookies.clear()
        chosen = http.get("/", headers={"Accept-Language": "ja,en-US;q=0.8"})
        assert '<html lang="ja">' in chosen.text
        assert "set-cookie" not in chosen.headers  # only an explicit choice is remembered

        assert http.get("/static/public.js").status_code == 200
        assert http.get("/static/public.css").status_code == 200
        selected = http.get("/en?instrument=RE")
        assert 'data-instrument="RE" class="selected"' in selected.text


def test_without_the_chart_library_the_page_loads_and_says_charts_are_unavailable(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pages, "CHART_DIR", tmp_path / "no-node-modules")
    with TestClient(create_app(db)) as http:
        r = http.get("/en")
        assert r.status_code == 200
        assert "Charts are unavailable" in r.text
        assert "lightweight-charts.standalone" not in r.text
        assert "No instruments are listed yet." in r.text
        assert "チャートを表示できません" in http.get("/ja").text


# ---------------------------------------------------------------- in Chromium


def chromium() -> str:
    """Debian's Chromium, installed if it is missing and this process may install it."""
    if not os.path.exists(CHROMIUM) and shutil.which("apt-get") and os.geteuid() == 0:
        apt = ["apt-get", "-o", "DPkg::Lock::Timeout=600", "-qq"]
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run([*apt, "update"], env=env, capture_output=True, check=False)
        subprocess.run([*apt, "install", "-y", "chromium"], env=env, capture_output=True)
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing and could not be installed (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture
def market(tmp_path: Path) -> Iterator[tuple[Server, dict[str, str]]]:
    url = f"sqlite:///{tmp_path / 'public.db'}"
    db, clock = new_database(url)

    def set_day(day: dt.date) -> None:
        clock.day = day

    keys = prepare_market(db, set_day)
    db.dispose()
    server = Server(url, tmp_path)
    try:
        yield server, keys
    finally:
        server.stop()


def expected_console_noise(message: Any) -> bool:
    """Network messages the page expects while parts of the API are still being built: the
    indices answer 404 and /v1/stream may not exist (the page then polls)."""
    url = (message.location or {}).get("url", "")
    text = message.text
    return "/v1/market/indices" in url + text or (
        "/v1/stream" in text and "WebSocket connection" in text
    )


@pytest.fixture
def browser_page(tmp_path: Path) -> Iterator[tuple[Any, list[str]]]:
    """A Chromium page (laptop width) and the script errors it reports."""
    executable = chromium()
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="en-US")
            page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
            page.on(
                "console",
                lambda m: (
                    errors.append(f"console: {m.text} {m.location}")
                    if m.type == "error" and not expected_console_noise(m)
                    else None
                ),
            )
            yield page, errors
        finally:
            browser.close()


def trade_through_the_api(server: Server, keys: dict[str, str], quantity: int, price: int) -> None:
    with Client(server.url, keys["SELLER1"]) as c:
        c.place_order("ES", "sell", quantity=quantity, price=price)
    with Client(server.url, keys["BUYER1"]) as c:
        c.place_order("ES", "buy", quantity=quantity, price=price)


@pytest.mark.browser
def test_in_chromium_the_chart_draws_and_a_trade_appears_without_a_reload(
    market: tuple[Server, dict[str, str]], browser_page: tuple[Any, list[str]], tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    server, keys = market
    page, errors = browser_page
    page.goto(server.url + "/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Tanso carbon credit prices")

    # the chart draws: a canvas with a size inside the chart's container
    canvas = page.locator("#chart-container canvas").first
    expect(canvas).to_be_visible(timeout=WAIT_MS)
    box = canvas.bounding_box()
    assert box is not None and box["width"] > 100 and box["height"] > 100
    # the library's logo is off (its <style> breaks the CSP): the page names TradingView
    expect(page.locator("#chart-credit a")).to_have_attribute(
        "href", "https://www.tradingview.com/"
    )
    assert page.evaluate("window.tansoPage.state.candles.data().length") == HISTORY_DAYS

    # live updates run: the stream, or polling on a server without one
    expect(page.locator("#live-status")).to_have_attribute(
        "data-mode", re.compile("^(stream|polling)$")
    )
    page.screenshot(path=str(tmp_path / "public-en.png"), full_page=True)

    # a trade through the REST API shows up without a reload
    es = page.locator('#instruments tr[data-instrument="ES"]')
    expect(es.locator('[data-field="last"]')).to_have_text("¥2,085")
    page.evaluate("window.tansoPage.marker = 'no reload'")
    trade_through_the_api(server, keys, 77, 2_345)
    expect(es.locator('[data-field="last"]')).to_have_text("¥2,345", timeout=WAIT_MS)
    expect(es.locator('[data-field="volume"]')).to_have_text("77")
    expect(es.locator('[data-field="change"]')).to_contain_text("+260")
    first_trade = page.locator("#trades tbody tr").first
    expect(first_trade).to_contain_text("¥2,345")
    expect(first_trade).to_contain_text("77")
    last_bar = page.evaluate("window.tansoPage.state.candles.data().slice(-1)[0]")
    assert last_bar["close"] == 2_345 and last_bar["open"] == 2_345
    assert page.evaluate("window.tansoPage.state.candles.data().length") == HISTORY_DAYS + 1
    assert page.evaluate("window.tansoPage.marker") == "no reload"
    page.screenshot(path=str(tmp_path / "public-en-after-trade.png"), full_page=True)

    # the operator busts that trade: the stream strikes it through, still without a reload
    if page.locator("#live-status").get_attribute("data-mode") == "stream":
        trade_id = first_trade.get_attribute("data-trade")
        assert trade_id
        db = Database(f"sqlite:///{tmp_path / 'public.db'}", utc_now)
        operator = participants.create_api_key(db, SYSTEM, "OPERATOR").key
        db.dispose()
        with Client(server.url, operator) as c:
            c.bust_trade(trade_id, "erroneous_order", "a fat finger")
        busted = page.locator(f'#trades tr[data-trade="{trade_id}"]')
        expect(busted).to_have_class(re.compile("busted"), timeout=WAIT_MS)
        expect(busted.locator(".tag")).to_have_text("busted")
        expect(busted.locator("s").first).to_have_text("¥2,345")
        assert page.evaluate("window.tansoPage.marker") == "no reload"
        page.screenshot(path=str(tmp_path / "public-en-busted.png"), full_page=True)

    # the keyboard moves the chart to another instrument
    page.locator('a.chart-link[data-instrument="RE"]').focus()
    page.keyboard.press("Enter")
    expect(page.locator("#chart-code")).to_have_text("RE")
    expect(page.locator('#instruments tr[data-instrument="RE"]')).to_have_class(
        re.compile("selected")
    )

    # Japanese, and the choice is remembered
    page.get_by_role("link", name="日本語").click()
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.get_by_role("heading", level=1)).to_have_text("Tanso カーボン・クレジット価格")
    expect(page.get_by_role("columnheader", name="現在値")).to_be_visible()
    expect(page.get_by_role("heading", name="直近の節立会 (板寄せ) 結果")).to_be_visible()
    expect(page.locator("#chart-code")).to_have_text("RE")
    expect(page.locator("#chart-container canvas").first).to_be_visible(timeout=WAIT_MS)
    page.goto(server.url + "/")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    page.set_viewport_size({"width": 820, "height": 1180})  # a tablet
    page.screenshot(path=str(tmp_path / "public-ja-tablet.png"), full_page=True)
    assert errors == []


@pytest.mark.full  # the public page's fast-tier journey is the chart test above
@pytest.mark.browser
def test_in_chromium_polling_shows_a_trade_where_there_is_no_stream(
    market: tuple[Server, dict[str, str]], browser_page: tuple[Any, list[str]]
) -> None:
    from playwright.sync_api import expect

    server, keys = market
    page, errors = browser_page
    page.goto(server.url + "/ja?live=poll")
    expect(page.locator("#live-status")).to_have_attribute("data-mode", "polling")
    expect(page.locator("#live-status")).to_contain_text("秒ごと")
    trade_through_the_api(server, keys, 5, 1_995)
    es = page.locator('#instruments tr[data-instrument="ES"]')
    expect(es.locator('[data-field="last"]')).to_have_text("¥1,995", timeout=WAIT_MS)
    expect(es.locator('[data-field="change"]')).to_contain_text("-90")
    expect(page.locator("#trades tbody tr").first).to_contain_text("省エネルギー")
    assert errors == []
