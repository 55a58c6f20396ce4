"""The public price page: its HTML on both backends, and in headless Chromium (Debian's
/usr/bin/chromium driven by Playwright) against a real `tanso serve`: it loads without script
errors, the chart draws, Japanese is Japanese, and a trade made through the REST API appears
without a reload; the public page's tools (time ranges and zoom, the index chart, the CSV of the
daily history, paging of the daily prices, the instrument the page opens on)."""

from __future__ import annotations

import datetime as dt
import itertools
import json
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
from tanso.domain.participants import Role
from tanso.harness.devserver import ServerProcess as Server
from tanso.services.common import SYSTEM, Actor
from tanso.services.ledger import participants, taxonomy
from tanso.services.marketdata import indices
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange, NewOrder
from tanso.settings import utc_now
from tanso.store import migrate
from tanso.store import schema as t
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
    page.goto(server.url + "/?instrument=ES")
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


# ---------------------------------------------------------------- the page's tools (issue 18)

TRADER = frozenset({Role("trader")})
BAR_DATE = re.compile(r'<th scope="row">(\d{4}-\d\d-\d\d)</th>')


def weekdays_before(day: dt.date, n: int) -> list[dt.date]:
    """The ``n`` weekdays before ``day``, oldest first."""
    out: list[dt.date] = []
    while len(out) < n:
        day -= dt.timedelta(days=1)
        if day.weekday() < 5:
            out.append(day)
    return out[::-1]


def add_old_bars(db: Database, instrument: str, days: list[dt.date], volume: int = 100) -> None:
    """Daily bars of days before the market's trades (older history, as a long-running market
    has it)."""
    rows = [
        {
            "instrument_id": instrument,
            "interval": "1d",
            "period_start": day.isoformat(),
            "open": 1_900 + i,
            "high": 1_950 + i,
            "low": 1_850 + i,
            "close": 1_910 + i,
            "volume": volume,
            "value": (1_900 + i) * volume,
            "trades": 1,
            "last_seq": 0,
        }
        for i, day in enumerate(days)
    ]
    with db.engine.begin() as conn:
        conn.execute(t.bars.insert(), rows)


def add_index_history(db: Database, days: list[dt.date]) -> None:
    """Published values of the composite and the energy-saving index on ``days``."""
    rows = [
        {
            "index_id": ident,
            "date": day.isoformat(),
            "value": base + 3 * i,
            "rule": "weighted" if ident == indices.COMPOSITE_ID else "vwap",
            "volume": 100,
            "detail": "{}",
            "journal_seq": 0,
            "at": f"{day.isoformat()}T06:30:00Z",
        }
        for ident, base in ((indices.COMPOSITE_ID, 3_000), ("TANSO-ENERGY-SAVING", 2_000))
        for i, day in enumerate(days)
    ]
    with db.engine.begin() as conn:
        conn.execute(t.index_values.insert(), rows)


def long_market(db: Database) -> list[dt.date]:
    """The small market with 40 older days of ES history (48 days: three pages of 20) and
    60 days of index values; returns ES's trading days, oldest first."""
    clock = DayClock()
    db.clock = clock

    def set_day(day: dt.date) -> None:
        clock.day = day

    prepare_market(db, set_day)
    recent = past_weekdays(HISTORY_DAYS)
    older = weekdays_before(recent[0], 40)
    add_old_bars(db, "ES", older)
    add_index_history(db, weekdays_before(recent[-1] + dt.timedelta(days=1), 60))
    return older + recent


def link(html: str, ident: str) -> str:
    found = re.search(rf'<a href="([^"]+)"[^>]* id="{ident}"', html)
    assert found, ident
    return found.group(1).replace("&amp;", "&")


def test_a_time_range_starts_the_day_after_the_same_date_months_earlier() -> None:
    assert pages.range_start("2026-12-04", "1M") == "2026-11-05"
    assert pages.range_start("2026-12-04", "1Y") == "2025-12-05"
    assert pages.range_start("2026-03-31", "1M") == "2026-03-01"  # February has no 31st
    assert pages.range_start("2024-05-31", "3M") == "2024-03-01"
    assert pages.range_start("2026-12-04", "ALL") is None
    assert pages.range_start(None, "3M") is None


def test_the_daily_prices_page_through_the_whole_history_without_javascript(db: Database) -> None:
    days = long_market(db)
    with TestClient(create_app(db)) as http:
        first = http.get("/en?instrument=ES").text
        shown = BAR_DATE.findall(first)
        assert shown == [d.isoformat() for d in reversed(days[-20:])]  # newest first
        assert "Page 1 of 3" in first
        assert link(first, "page-older") == "?instrument=ES&page=2#h-bars"
        assert 'id="page-newer"' not in first
        second = http.get("/en?instrument=ES&page=2").text
        assert BAR_DATE.findall(second) == [d.isoformat() for d in reversed(days[-40:-20])]
        assert link(second, "page-newer") == "?instrument=ES#h-bars"
        third = http.get(link(second, "page-older").removesuffix("#h-bars")).text
        assert BAR_DATE.findall(third) == [d.isoformat() for d in reversed(days[:8])]
        assert "Page 3 of 3" in third and 'id="page-older"' not in third
        assert "3ページ中2ページ目" in http.get("/ja?instrument=ES&page=2").text


REFUSALS = [
    ("page=0", "invalid_page", "“0” is not a page of the daily prices of Energy saving"),
    ("page=4", "invalid_page", "choose a page from 1 to 3 (20 days a page)"),
    ("page=-1", "invalid_page", "choose a page from 1 to 3"),
    ("page=abc", "invalid_page", "“abc” is not a page"),
    ("page=2.5", "invalid_page", "“2.5” is not a page"),
    ("page=99999999999999999999999", "invalid_page", "choose a page from 1 to 3"),
    ("range=2W", "invalid_range", "“2W” is not a time range: choose one of 1M, 3M, 6M, 1Y, ALL"),
    ("index_range=forever", "invalid_range", "“forever” is not a time range"),
]


def test_a_page_or_range_the_page_cannot_show_answers_400_in_the_page_language_never_500(
    db: Database,
) -> None:
    long_market(db)
    with TestClient(create_app(db)) as http:
        for query, code, says in REFUSALS:
            r = http.get(f"/en?instrument=ES&{query}")
            assert r.status_code == 400, query
            assert r.headers["content-type"].startswith("text/html")
            assert '<html lang="en">' in r.text
            assert f'data-error="{code}"' in r.text and says in r.text, query
            assert 'href="/en?instrument=ES" id="back-to-prices"' in r.text
        ja = http.get("/ja?instrument=ES&page=9")
        assert ja.status_code == 400 and '<html lang="ja">' in ja.text
        assert "1から3までのページを選んでください(1ページ20日分)" in ja.text
        assert "期間として選べません" in http.get("/ja?range=10Y").text
        # a hostile value is escaped and shortened
        hostile = http.get("/en", params={"page": "<script>alert(1)</script>" + "x" * 300})
        assert hostile.status_code == 400
        assert "<script>alert" not in hostile.text and "&lt;script&gt;alert(1)" in hostile.text
        assert "x" * 60 not in hostile.text
        assert http.get("/en?range=1y&instrument=ES").status_code == 200  # any case


def test_the_daily_history_downloads_as_csv_for_the_chosen_range_and_in_full(db: Database) -> None:
    days = long_market(db)
    latest = days[-1].isoformat()
    with TestClient(create_app(db)) as http:
        html = http.get("/en?instrument=ES&range=1M").text
        start = pages.range_start(latest, "1M")
        assert f"Download the daily prices as CSV ({start} to {latest})" in html
        one_month = http.get(link(html, "csv-range"))
        assert one_month.status_code == 200
        assert one_month.headers["content-type"].startswith("text/csv")
        lines = one_month.text.splitlines()
        assert lines[0] == "instrument,interval,start,open,high,low,close,volume,value,vwap,trades"
        expected = [d.isoformat() for d in days if start is not None and d.isoformat() >= start]
        assert [line.split(",")[2] for line in lines[1:]] == expected
        everything = http.get(link(html, "csv-all")).text.splitlines()
        assert len(everything) == 1 + len(days)
        for who in ("BUYER1", "SELLER1"):
            assert who not in one_month.text + "".join(everything)
        assert "全期間の日足をCSVでダウンロード" in http.get("/ja?instrument=ES&range=1M").text
        # "All": one link, the whole history
        whole = http.get("/en?instrument=ES&range=ALL").text
        assert 'id="csv-all"' not in whole and "Download the whole daily history as CSV" in whole


def test_time_range_links_and_the_index_chart_work_from_the_query(db: Database) -> None:
    long_market(db)
    with TestClient(create_app(db)) as http:
        html = http.get("/en?instrument=ES").text
        assert re.search(r'data-range="3M"\s+aria-current="true"', html)  # the default range
        assert 'href="?instrument=ES&amp;range=1Y#chart"' in html
        assert 'href="?instrument=ES&amp;index_range=ALL#index-chart"' in html
        assert (
            '<option value="TANSO-JCREDIT" selected>Tanso J-Credit composite index</option>' in html
        )
        client = json.loads(re.search(r'id="market-data">(.*?)</script>', html, re.S).group(1))  # type: ignore[union-attr]
        assert client["index"] == indices.COMPOSITE_ID and len(client["index_points"]) == 60
        assert client["index_points"][0]["value"] == 3_000 and client["range"] == "3M"
        chosen = http.get("/en?instrument=ES&range=1Y&index=TANSO-ENERGY-SAVING").text
        assert re.search(r'data-range="1Y"\s+aria-current="true"', chosen)
        assert '<option value="TANSO-ENERGY-SAVING" selected>' in chosen
        assert 'href="/ja?instrument=ES&amp;range=1Y&amp;index=TANSO-ENERGY-SAVING"' in chosen
        # the index form keeps the rest of the page's state
        assert '<input type="hidden" name="range" value="1Y">' in chosen
        assert "指数チャート" in http.get("/ja").text


def test_without_a_chosen_instrument_the_page_opens_on_the_most_traded_of_the_last_30_days(
    db: Database,
) -> None:
    clock = DayClock()
    db.clock = clock

    def set_day(day: dt.date) -> None:
        clock.day = day

    prepare_market(db, set_day)
    recent = past_weekdays(HISTORY_DAYS)
    # ES traded the most of all time, but months ago: that does not count ...
    add_old_bars(db, "ES", [recent[0] - dt.timedelta(days=60)], volume=1_000_000)
    # ... RE trades the most today (a call auction of 3,000 t)
    x = Exchange(db, japan_calendar())
    seller, buyer = Actor("SELLER1", TRADER), Actor("BUYER1", TRADER)
    x.place(seller, NewOrder(instrument="RE", side="sell", quantity=3_000, price=4_000))
    x.place(buyer, NewOrder(instrument="RE", side="buy", quantity=3_000, price=4_600))
    x.session(SYSTEM, "RE", "auction")
    with TestClient(create_app(db)) as http:
        html = http.get("/en").text
        assert '<span class="code" id="chart-code">RE</span>' in html
        assert 'data-instrument="RE" class="selected"' in html
        assert "the largest traded volume over the last 30 days" in html
        chosen = http.get("/en?instrument=ES").text  # a choice is kept, and says nothing
        assert '<span class="code" id="chart-code">ES</span>' in chosen
        assert 'id="opened-on"' not in chosen
        assert "直近30日間の売買高が最も多い銘柄" in http.get("/ja").text


@pytest.fixture
def long_server(tmp_path: Path) -> Iterator[tuple[Server, list[dt.date]]]:
    url = f"sqlite:///{tmp_path / 'public.db'}"
    db, _clock = new_database(url)
    days = long_market(db)
    db.dispose()
    server = Server(url, tmp_path)
    try:
        yield server, days
    finally:
        server.stop()


@pytest.mark.full  # the chart's own Chromium test runs in both tiers
@pytest.mark.browser
def test_in_chromium_time_ranges_zoom_the_index_chart_and_paging_work_from_the_keyboard(
    long_server: tuple[Server, list[dt.date]], browser_page: tuple[Any, list[str]], tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    server, days = long_server
    page, errors = browser_page
    page.goto(server.url + "/en?instrument=ES")
    expect(page.locator("#chart-container canvas").first).to_be_visible(timeout=WAIT_MS)
    assert page.evaluate("window.tansoPage.state.candles.data().length") == len(days)
    page.evaluate("window.tansoPage.marker = 'no reload'")
    # what a chart shows: its container's data-visible-from (the first day's position) and
    # data-visible-days, set once the chart has applied a range
    chart = page.locator("#chart-container")
    expect(chart).to_have_attribute("data-visible-from", "0")  # 3M: all 48 days fit

    # 1M from the keyboard: the chart shows the last month, the CSV link follows
    one_month = page.locator('#chart a.range[data-range="1M"]')
    one_month.focus()
    page.keyboard.press("Enter")
    expect(one_month).to_have_attribute("aria-current", "true")
    start = pages.range_start(days[-1].isoformat(), "1M")
    first = next(i for i, d in enumerate(days) if start is not None and d.isoformat() >= start)
    month = len(days) - first
    expect(chart).to_have_attribute("data-visible-from", str(first))
    expect(chart).to_have_attribute("data-visible-days", str(month))
    expect(page.locator("#csv-range")).to_contain_text(f"({start} to {days[-1]})")
    assert f"from={start}" in (page.locator("#csv-range").get_attribute("href") or "")
    assert "range=1M" in page.url

    # the zoom buttons halve and double what is visible, the latest day staying on the right
    page.locator("#chart button.zoom-in").focus()
    page.keyboard.press("Enter")
    half = "|".join(str(month // 2 + k) for k in (-1, 0, 1))  # a half day either side
    expect(chart).to_have_attribute("data-visible-days", re.compile(f"^({half})$"))
    page.locator("#chart button.zoom-out").click()
    expect(chart).to_have_attribute("data-visible-days", str(month))
    page.locator("#chart button.zoom-out").click()
    expect(chart).to_have_attribute("data-visible-days", str(2 * month))
    page.locator('#chart a.range[data-range="ALL"]').click()
    expect(chart).to_have_attribute("data-visible-from", "0")
    expect(page.locator("#csv-all")).to_be_hidden()
    expect(page.locator("#csv-range")).to_have_text("Download the whole daily history as CSV")

    # the index chart: the composite, another index from the list, its own ranges
    expect(page.locator("#index-container canvas").first).to_be_visible(timeout=WAIT_MS)
    assert page.evaluate("window.tansoPage.state.indexLine.data().length") == 60
    expect(page.locator("#index-show")).to_be_hidden()  # the list applies at once
    page.locator("#index-select").select_option("TANSO-ENERGY-SAVING")
    expect(page).to_have_url(re.compile("index=TANSO-ENERGY-SAVING"), timeout=WAIT_MS)
    assert page.evaluate("window.tansoPage.state.indexLine.data()[0].value") == 2_000
    expect(page.locator("#index-json")).to_have_attribute(
        "href", "/v1/market/indices/TANSO-ENERGY-SAVING"
    )
    page.locator('#index-chart a.range[data-range="1M"]').click()
    expect(page.locator("#index-container")).to_have_attribute(
        "data-visible-from", re.compile("^(3[0-9]|4[0-9])$")
    )
    assert "index_range=1M" in page.url
    assert page.evaluate("window.tansoPage.marker") == "no reload"
    page.screenshot(path=str(tmp_path / "public-tools.png"), full_page=True)

    # paging is a link: the older page, with the chart's state kept
    expect(page.locator("#page-of")).to_have_text("Page 1 of 3")
    page.locator("#page-older").click()
    expect(page.locator("#page-of")).to_have_text("Page 2 of 3")
    expect(page.locator("#bars tbody tr")).to_have_count(20)
    expect(page.locator("#index-select option[selected]")).to_have_attribute(
        "value", "TANSO-ENERGY-SAVING"
    )
    expect(page.locator("#chart-container canvas").first).to_be_visible(timeout=WAIT_MS)

    # another instrument in place: page 1 of its own history, its own CSV
    page.locator('a.chart-link[data-instrument="RE"]').click()
    expect(page.locator("#page-of")).to_have_text("Page 1 of 1")
    expect(page.locator("#bars tbody tr")).to_have_count(HISTORY_DAYS)
    expect(page.locator("#csv-range")).to_have_attribute("href", re.compile("instrument=RE"))

    # Japanese
    page.get_by_role("link", name="日本語").click()
    expect(page.locator('#chart a.range[data-range="1M"]')).to_have_text("1か月")
    expect(page.locator("#chart-code")).to_have_text("RE")
    expect(page.locator("#index-container canvas").first).to_be_visible(timeout=WAIT_MS)
    assert errors == []


def test_the_index_history_downloads_as_csv_from_the_page(db: Database) -> None:
    long_market(db)
    with TestClient(create_app(db)) as http:
        html = http.get("/en?instrument=ES&index=TANSO-ENERGY-SAVING").text
        link = 'href="/v1/market/indices/TANSO-ENERGY-SAVING?format=csv&amp;limit=5000"'
        assert link in html and "Download the index&#39;s history as CSV" in html
        assert "指数の推移をCSVでダウンロード" in http.get("/ja?instrument=ES").text
        r = http.get("/v1/market/indices/TANSO-ENERGY-SAVING?format=csv&limit=5000")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        rows = r.text.splitlines()
        assert rows[0] == "index,date,value,rule,volume,currency,unit"
        assert len(rows) == 61 and rows[1].startswith("TANSO-ENERGY-SAVING,")
