"""A newcomer's first five minutes in headless Chromium (issue 18, "Must hold"): the public page,
the API documentation (Swagger UI and ReDoc from the installation), the portal's login, an order
placed, seen and cancelled (after a confirmation page), and credits retired after a check, in
English and in Japanese, at desktop (1280 x 800) and tablet (768 x 1024) width.

Every variant asserts that no script reports an error and no answer is a 4xx or 5xx, that no
request leaves the machine (every request's host is the loopback; anything else is aborted and
named), that every step's page is in the chosen language (on Japanese screens no heading, label,
button, column header or notice left in English), and at tablet width that no page is wider
than the screen. One server serves the module and one browser drives it, with a fresh context
(no cookies) per variant; the API documentation opens in tabs of its own, which draw while the
journey goes on."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tanso.domain.instruments import Eligibility, InstrumentSpec
from tanso.services.access import users
from tanso.services.access.users import NewUser
from tanso.services.common import SYSTEM
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange, NewOrder
from tanso.store.db import Database
from tests.conftest import add_issuance, add_participant, fund

pytestmark = pytest.mark.browser

PASSWORD = "a newcomer's passphrase 2026"
TRADER = "trader@alpha.example.jp"
ACCOUNT_MANAGER = "account_manager@alpha.example.jp"
DESKTOP = {"width": 1280, "height": 800}
TABLET = {"width": 768, "height": 1024}
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
VARIANTS = [
    pytest.param(
        lang,
        width,
        id=f"{lang}-{width}",
        # the fast tier walks the Japanese tablet journey (the other portal tests are English
        # desktop ones); `make test-all`, all four
        marks=[] if (lang, width) == ("ja", "tablet") else [pytest.mark.full],
    )
    for lang in ("en", "ja")
    for width in ("desktop", "tablet")
]

# what each step's page says, in each language (the catalogs' words, written out: a text
# missing from a catalog would otherwise pass as itself)
SAYS: dict[str, dict[str, str]] = {
    "en": {
        "locale": "en-US",
        "public_h1": "Tanso carbon credit prices",
        "last_price": "Last price",
        "portal": "Participant portal",
        "login": "Log in",
        "email": "Email",
        "password": "Password",
        "accounts": "Holding accounts",
        "orders": "Orders",
        "quantity": "Quantity (t)",
        "price": "Price (¥/t)",
        "place": "Place order",
        "placed": "placed",
        "open_orders": "Open orders",
        "cancel": "Cancel",
        "cancel_h1": "Cancel this order?",
        "cancel_yes": "Yes, cancel the order",
        "cancelled": "cancelled",
        "retire": "Retire",
        "retire_h1": "Retire credits",
        "not_allowed": "As a trader you cannot retire credits",
        "logout": "Log out",
        "purpose": "Purpose",
        "beneficiary": "Beneficiary (optional)",
        "check": "Check",
        "check_allowed": "Allowed: 10 t would be retired",
        "retire_yes": "Retire these credits — cannot be undone",
        "retired": "Retired 10 t",
        "verified": "Verified",
    },
    "ja": {
        "locale": "ja-JP",
        "public_h1": "Tanso カーボン・クレジット価格",
        "last_price": "現在値",
        "portal": "参加者ポータル",
        "login": "ログイン",
        "email": "メールアドレス",
        "password": "パスワード",
        "accounts": "保有口座",
        "orders": "注文",
        "quantity": "数量 (t)",
        "price": "価格 (円/t)",
        "place": "発注",
        "placed": "を受け付けました",
        "open_orders": "未約定の注文",
        "cancel": "取消",
        "cancel_h1": "この注文を取り消しますか？",
        "cancel_yes": "はい、注文を取り消す",
        "cancelled": "を取り消しました",
        "retire": "無効化",
        "retire_h1": "クレジットの無効化",
        "not_allowed": "のユーザーはクレジットを無効化できません",
        "logout": "ログアウト",
        "purpose": "目的",
        "beneficiary": "受益者 (任意)",
        "check": "確認する",
        "check_allowed": "可能です：10 t を",
        "retire_yes": "これらのクレジットを無効化する（取り消せません）",
        "retired": "10 t を無効化しました",
        "verified": "検証済み",
    },
}

# Japanese screens: a label, heading, button or column header with no Japanese in it is a text
# the catalog missed, unless it is a code, a number, a name or a unit that reads the same (the
# names of holding accounts are the participant's own: not checked)
JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff00-\uffef]")
SAME_IN_BOTH = re.compile(
    r"^[\s\d.,:;()/¥%+\-–—×t]*$"  # numbers, prices, units
    r"|^[A-Z0-9][A-Z0-9_\-]*(\s[A-Z0-9_\-]+)*$"  # codes: ES, ALPHA-MAIN, JC
    r"|^[A-Z][A-Z0-9\-]*( \([\w\- ]+\))+$"  # a scheme's name and code: J-VER (JV)
    r"|^(Tanso|English|API|HTML|PDF|CSV|JSON|OpenAPI|Scope \d|t-CO2e?|TradingView.*)$"
)
ENGLISH_WORD = re.compile(r"\b[a-z]{3,}\b")  # codes are upper case: a lower-case word is English


def english(text: str) -> bool:
    """A text on a Japanese screen that is English: no Japanese at all, or an English word
    (an untranslated status, say) in a Japanese sentence."""
    if not JAPANESE.search(text):
        return not SAME_IN_BOTH.match(text)
    return bool(ENGLISH_WORD.search(text))


LABELS_ON_SCREEN = """() => [...document.querySelectorAll(
    'h1, h2, h3, label, legend, button, thead th, caption, nav a, option, .notice')]
  .filter(e => e.offsetParent !== null || e.tagName === 'OPTION')
  .filter(e => !e.closest('select[name="account"]'))  // account names are the user's data
  .map(e => (e.getAttribute('aria-label') || e.textContent).replace(/\\s+/g, ' ').trim())
  .filter(s => s)"""
# ReDoc parses the whole OpenAPI document before it draws anything: seconds on a busy machine
DRAW_MS = 60_000  # a failure guard, not a delay
OVERFLOW = "document.documentElement.scrollWidth - window.innerWidth"


# ---------------------------------------------------------------- a small market


def seed(db: Database) -> None:
    """ALPHA (a trader with a trader user and an account manager) holds energy-saving credits
    eligible for an offset; BETA and GAMMA have traded ES, and BETA offers more."""
    add_participant(db, "ALPHA", ["trader"])
    beta = add_participant(db, "BETA", ["trader"])
    gamma = add_participant(db, "GAMMA", ["trader"])
    for pid in ("ALPHA", "BETA", "GAMMA"):
        fund(db, pid, 10**9)
    add_issuance(db, "ALPHA-MAIN", 10_000)
    add_issuance(db, "BETA-MAIN", 5_000)
    for email, role in ((TRADER, "trader"), (ACCOUNT_MANAGER, "account_manager")):
        users.create(db, SYSTEM, NewUser("ALPHA", email, f"Alpha {role}", role, PASSWORD))
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
    x.session(SYSTEM, "ES", "open")
    x.place(beta, NewOrder("ES", "sell", 30, 2_050))
    x.place(gamma, NewOrder("ES", "buy", 30, 2_050))
    x.place(beta, NewOrder("ES", "sell", 40, 2_100))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tanso.services.ledger import participants, taxonomy
    from tanso.settings import utc_now
    from tanso.store import migrate
    from tests.e2e.test_public_page import Server

    tmp = tmp_path_factory.mktemp("journeys")
    url = f"sqlite:///{tmp / 'journeys.db'}"
    db = Database(url, utc_now)
    migrate.upgrade(db.engine)
    participants.bootstrap(db)
    taxonomy.seed_reference_data(db, SYSTEM)
    seed(db)
    db.dispose()
    running = Server(url, tmp)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import expect, sync_playwright

    from tests.e2e.test_public_page import CHROMIUM_ARGS, WAIT_MS, chromium

    executable = chromium()
    expect.set_options(timeout=WAIT_MS)  # a failure guard: every wait ends as the DOM changes
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()
            expect.set_options(timeout=5_000)  # Playwright's default, for the next module


# ---------------------------------------------------------------- what every page is held to


@dataclass
class Watch:
    """What one variant's pages did that they must not: script errors and failed answers,
    requests that would leave the machine, pages wider than a tablet, screen texts left in
    English."""

    lang: str
    tablet: bool
    errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    too_wide: list[str] = field(default_factory=list)
    untranslated: list[str] = field(default_factory=list)

    def request(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.hostname not in LOCAL_HOSTS:
            self.outside.append(url)

    def route(self, route: Any) -> None:
        url = route.request.url
        if urlsplit(url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def response(self, answer: Any) -> None:
        if answer.status >= 400:  # a page, a script, a fetch: nothing a newcomer meets fails
            self.errors.append(f"{answer.status}: {answer.request.method} {answer.url}")

    def console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text} {message.location.get('url', '')}")

    def step(self, page: Any, name: str, *, translated: bool = True) -> None:
        """The page of a step, in the chosen language, as wide as the screen at most."""
        from playwright.sync_api import expect

        if translated:
            expect(page.locator("html")).to_have_attribute("lang", self.lang)
        if self.tablet:
            # the layout only counts once the stylesheets apply: after a form's answer the
            # page may still be loading them when the step's text is already there
            page.wait_for_load_state("load")
            over = page.evaluate(OVERFLOW)
            if over > 0:
                self.too_wide.append(f"{name}: {over}px wider than the screen")
        if translated and self.lang == "ja":
            self.untranslated += [
                f"{name}: {text!r}" for text in page.evaluate(LABELS_ON_SCREEN) if english(text)
            ]


def watch_context(context: Any, watch: Watch) -> None:
    """Hold every page of the context, tabs opened later included, to the watch."""
    context.route("**/*", watch.route)
    context.on("console", watch.console)
    context.on("weberror", lambda e: watch.errors.append(f"pageerror: {e.error}"))
    context.on("request", lambda r: watch.request(r.url))
    context.on("response", watch.response)
    context.on("page", lambda p: p.on("websocket", lambda ws: watch.request(ws.url)))


def new_tab(page: Any, link: Any) -> Any:
    """Open a link in a new tab, as a reader who keeps the page they came from."""
    with page.context.expect_page() as opened:
        link.click(modifiers=["ControlOrMeta"])
    return opened.value


# ---------------------------------------------------------------- the journey


def log_in(page: Any, says: dict[str, str], email: str) -> None:
    from playwright.sync_api import expect

    page.get_by_label(says["email"]).fill(email)
    page.get_by_label(says["password"]).fill(PASSWORD)
    page.locator("#main").get_by_role("button", name=says["login"]).click()
    expect(page.locator("#main h1")).to_have_text(says["accounts"])


@pytest.mark.parametrize(("lang", "width"), VARIANTS)
def test_a_newcomer_reads_prices_and_docs_then_orders_cancels_and_retires(
    server: Any, browser: Any, lang: str, width: str, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    from tests.e2e.test_public_page import WAIT_MS

    says = SAYS[lang]
    tablet = width == "tablet"
    watch = Watch(lang, tablet)
    context = browser.new_context(
        viewport=TABLET if tablet else DESKTOP, locale=says["locale"], has_touch=tablet
    )
    watch_context(context, watch)
    page = context.new_page()
    context.set_default_timeout(WAIT_MS)
    menu = page.locator("header nav")  # a locator finds its element anew on every page
    variant = ["en-desktop", "en-tablet", "ja-desktop", "ja-tablet"].index(f"{lang}-{width}")
    try:
        # the public page, in the browser's language
        page.goto(server.url + "/")
        expect(page.get_by_role("heading", level=1)).to_have_text(says["public_h1"])
        expect(page.get_by_role("columnheader", name=says["last_price"])).to_be_visible()
        expect(page.locator('#instruments tr[data-instrument="ES"]')).to_contain_text("2,050")
        watch.step(page, "public page")

        # the API documentation in tabs of its own (Swagger UI, then ReDoc from its link): the
        # installation's copies draw them while the journey goes on in the first tab
        docs = new_tab(page, menu.get_by_role("link", name="API"))
        expect(docs).to_have_url(re.compile(r"/docs$"))
        reference = new_tab(docs, docs.get_by_role("link", name="ReDoc (reference)"))
        expect(reference).to_have_url(re.compile(r"/redoc$"))

        # the portal's login, from the public page
        menu.get_by_role("link", name=says["portal"]).click()
        expect(page).to_have_url(re.compile(r"/portal/login$"))
        expect(page.locator("#main h1")).to_have_text(says["login"])
        watch.step(page, "login")
        log_in(page, says, TRADER)
        expect(page.locator('#accounts tr[data-account="ALPHA-MAIN"]')).to_be_visible()
        watch.step(page, "accounts")

        # an order below the offers rests in the book, shows among the open orders, is cancelled
        menu.get_by_role("link", name=says["orders"], exact=True).click()
        expect(page.locator("#main h1")).to_have_text(says["orders"])
        watch.step(page, "orders")
        price = 1_910 + 10 * variant
        page.get_by_label(says["quantity"]).fill("25")
        page.get_by_label(says["price"]).fill(str(price))
        page.get_by_role("button", name=says["place"]).click()
        expect(page.locator("#notice")).to_contain_text(says["placed"])
        mine = page.locator("#open-orders tbody tr", has_text=f"{price:,}")
        expect(mine).to_have_count(1)
        expect(mine).to_contain_text("ES")
        watch.step(page, "order placed")
        mine.get_by_role("link", name=re.compile(f"^{says['cancel']} O")).click()
        expect(page.locator("#main h1")).to_have_text(says["cancel_h1"])
        watch.step(page, "cancel: confirm")
        page.get_by_role("button", name=says["cancel_yes"]).click()
        expect(page.locator("#notice")).to_contain_text(says["cancelled"])
        expect(page.locator("#open-orders tbody tr", has_text=f"{price:,}")).to_have_count(0)
        watch.step(page, "order cancelled")

        # a trader's Retire page says who can; the account manager checks, then retires
        menu.get_by_role("link", name=says["retire"], exact=True).click()
        expect(page.locator("#main h1")).to_contain_text(says["retire_h1"])
        expect(page.locator("#retire-not-allowed")).to_contain_text(says["not_allowed"])
        watch.step(page, "retire (trader)")
        menu.get_by_role("button", name=says["logout"]).click()
        expect(page.locator("#main h1")).to_have_text(says["login"])
        log_in(page, says, ACCOUNT_MANAGER)
        menu.get_by_role("link", name=says["retire"], exact=True).click()
        expect(page.locator("#main h1")).to_contain_text(says["retire_h1"])
        watch.step(page, "retire")
        form = page.locator("#retire-form")
        form.get_by_label(says["quantity"]).fill("10")
        form.get_by_label(says["purpose"]).select_option("offset_scope1")
        form.get_by_label(says["beneficiary"]).fill(f"Newcomer {lang} {width}")
        form.get_by_role("button", name=says["check"], exact=True).click()
        outcome = page.locator("#check-outcome")
        expect(outcome).to_have_attribute("data-allowed", "true")
        expect(outcome).to_contain_text(says["check_allowed"])
        expect(page.locator("#check-ranges tbody tr")).to_have_count(1)  # the credits it takes
        watch.step(page, "retire: check")
        page.get_by_role("button", name=says["retire_yes"]).click()
        expect(page.locator("#notice")).to_contain_text(says["retired"])
        watch.step(page, "retired")
        page.locator("#lookup-link").click()
        expect(page).to_have_url(re.compile(r"/verify/RT-\d+$"))
        expect(page.locator("body")).to_contain_text(f"Newcomer {lang} {width}")
        expect(page.locator("#verdict-text")).to_have_text(says["verified"])
        watch.step(page, "verify")

        # meanwhile both documentation tabs have drawn the operations
        expect(docs.locator(".swagger-ui .info .title")).to_contain_text("Tanso")
        expect(docs.get_by_text("List Instruments").first).to_be_visible()
        watch.step(docs, "/docs", translated=False)
        listed = reference.get_by_role("heading", name="List Instruments").first
        expect(listed).to_be_visible(timeout=DRAW_MS)
        watch.step(reference, "/redoc", translated=False)
    finally:
        context.close()
    found = {
        "script errors and failed answers": watch.errors,
        "requests for other hosts (aborted)": watch.outside,
        "pages wider than the tablet": watch.too_wide,
        "English on Japanese screens": watch.untranslated,
    }
    assert not any(found.values()), "\n".join(f"{k}: {x}" for k, xs in found.items() for x in xs)
