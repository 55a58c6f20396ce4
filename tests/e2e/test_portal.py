"""The participant portal over HTTP (both backends) and one journey in headless Chromium.

Forms are sent as a browser sends them; each cross-participant test sends the other
participant's ids in the URL and in the form fields, and checks nothing was seen or changed.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tanso.api.app import create_app
from tanso.domain.instruments import Eligibility, InstrumentSpec
from tanso.services.access import users
from tanso.services.access.users import NewUser
from tanso.services.common import SYSTEM
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange, NewOrder
from tanso.store import schema as t
from tanso.store.db import Database
from tests.conftest import add_issuance, add_participant, fund

PASSWORD = "correct horse battery"
CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')


def prepare(db: Database) -> None:
    """ALPHA and BETA trade ES; each has credits, cash and users of every role."""
    for pid in ("ALPHA", "BETA"):
        add_participant(db, pid, ["trader"])
        fund(db, pid, 10**9)
        add_issuance(db, f"{pid}-MAIN", 10_000)
        for role in ("viewer", "trader", "account_manager", "administrator"):
            email = f"{role}@{pid.lower()}.example.jp"
            users.create(db, SYSTEM, NewUser(pid, email, f"{pid} {role}", role, PASSWORD))
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


@pytest.fixture
def portal(db: Database) -> Iterator[TestClient]:
    prepare(db)
    with TestClient(create_app(db), follow_redirects=False) as http:
        yield http


def login(http: TestClient, email: str, password: str = PASSWORD) -> Any:
    page = http.get("/portal/login")
    token = CSRF_RE.search(page.text)
    assert token
    return http.post(
        "/portal/login", data={"csrf": token.group(1), "email": email, "password": password}
    )


def csrf(http: TestClient, path: str = "/portal/orders") -> str:
    m = CSRF_RE.search(http.get(path).text)
    assert m
    return m.group(1)


def count(db: Database, table: Any) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def beta_order(http: TestClient) -> str:
    x: Exchange = http.app.state.exchange  # type: ignore[attr-defined]
    beta = users.actor_for(users.UserRole.TRADER, "BETA", frozenset({users.Role.TRADER}))
    return x.place(beta, NewOrder("ES", "buy", 10, 1_500, account_id="BETA-MAIN")).id


def test_login_sets_a_session_cookie_and_the_home_page_shows_accounts_and_cash(
    portal: TestClient,
) -> None:
    assert portal.get("/portal").headers["location"] == "/portal/login"
    r = login(portal, "trader@alpha.example.jp")
    assert r.status_code == 303 and r.headers["location"] == "/portal"
    cookie = r.headers["set-cookie"]
    assert "tanso_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain http in tests; https sets Secure (docs/portal.md)
    home = portal.get("/portal")
    assert home.status_code == 200
    assert 'data-account="ALPHA-MAIN"' in home.text and "10,000" in home.text
    assert "1,000,000,000" in home.text
    assert "BETA" not in home.text
    holdings = portal.get("/portal/holdings/ALPHA-MAIN")
    assert holdings.status_code == 200 and "ENERGY_SAVING" in holdings.text
    assert re.search(r"-1-10000<", holdings.text)  # the serial range
    # names in the page's language beside the codes (issue 18, defect 7)
    assert "Energy saving" in holdings.text and ">Held<" in holdings.text
    held_ja = portal.get("/portal/holdings/ALPHA-MAIN?lang=ja").text
    assert "省エネルギー" in held_ja and ">保有<" in held_ja
    portal.get("/portal?lang=en")

    ja = portal.get("/portal?lang=ja")
    assert '<html lang="ja">' in ja.text and "保有口座" in ja.text
    assert '<html lang="ja">' in portal.get("/portal").text  # remembered in tanso_lang
    assert '<html lang="ja">' in portal.get("/ja").text  # the public page shares the cookie


def test_a_wrong_password_is_shown_next_to_the_form_and_the_fifth_locks(
    portal: TestClient,
) -> None:
    for _ in range(users.MAX_FAILED_LOGINS - 1):
        r = login(portal, "trader@alpha.example.jp", "wrong password!")
        assert r.status_code == 401 and "The email or password is wrong." in r.text
    r = login(portal, "trader@alpha.example.jp", "wrong password!")
    assert r.status_code == 401 and "Try again after" in r.text
    assert login(portal, "trader@alpha.example.jp").status_code == 401


def test_a_login_form_without_its_token_is_refused(portal: TestClient) -> None:
    r = portal.post(
        "/portal/login", data={"email": "trader@alpha.example.jp", "password": PASSWORD}
    )
    assert r.status_code == 403 and "tanso_session" not in r.headers.get("set-cookie", "")


@pytest.mark.parametrize("token", [None, "", "wrong-token"])
def test_a_form_without_a_valid_csrf_token_changes_nothing(
    portal: TestClient, db: Database, token: str | None
) -> None:
    login(portal, "administrator@alpha.example.jp")
    good = csrf(portal)
    own = portal.post(
        "/portal/orders",
        data={
            "csrf": good,
            "instrument": "ES",
            "side": "buy",
            "quantity": "5",
            "price": "1900",
            "account": "ALPHA-MAIN",
        },
    )
    assert own.status_code == 200
    order_id = re.search(r'data-order="([^"]+)"', own.text)
    assert order_id
    orders, retirements, journal = (
        count(db, t.orders),
        count(db, t.retirements),
        count(db, t.journal),
    )
    extra = {} if token is None else {"csrf": token}
    forms = [
        (
            "/portal/orders",
            {
                "instrument": "ES",
                "side": "buy",
                "quantity": "5",
                "price": "1900",
                "account": "ALPHA-MAIN",
            },
        ),
        (f"/portal/orders/{order_id.group(1)}/cancel", {}),
        ("/portal/retire", {"account": "ALPHA-MAIN", "quantity": "5", "purpose": "offset_scope1"}),
        ("/portal/security/totp", {"secret": "JBSWY3DPEHPK3PXP", "code": "123456"}),
        ("/portal/security/totp/new", {}),
        ("/portal/logout", {}),
    ]
    for path, data in forms:
        r = portal.post(path, data=data | extra)
        assert r.status_code == 403, path
        assert "Nothing was changed" in r.text
    assert (count(db, t.orders), count(db, t.retirements), count(db, t.journal)) == (
        orders,
        retirements,
        journal,
    )
    assert portal.get("/portal").status_code == 200  # logout without the token did nothing
    assert f'data-order="{order_id.group(1)}"' in portal.get("/portal/orders").text


def test_a_form_sent_from_another_site_is_refused_even_with_the_right_token(
    portal: TestClient, db: Database
) -> None:
    login(portal, "administrator@alpha.example.jp")
    form = {
        "csrf": csrf(portal),
        "instrument": "ES",
        "side": "buy",
        "quantity": "5",
        "price": "1900",
        "account": "ALPHA-MAIN",
    }
    orders, journal = count(db, t.orders), count(db, t.journal)
    r = portal.post("/portal/orders", data=form, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403 and "Nothing was changed" in r.text
    assert (count(db, t.orders), count(db, t.journal)) == (orders, journal)
    # the same form from this site (a browser names it in Origin) is taken
    r = portal.post("/portal/orders", data=form, headers={"Origin": "http://testserver"})
    assert r.status_code == 200 and count(db, t.orders) == orders + 1


def test_a_user_never_sees_or_acts_on_another_participants_accounts_or_orders(
    portal: TestClient, db: Database
) -> None:
    theirs = beta_order(portal)
    login(portal, "administrator@alpha.example.jp")
    token = csrf(portal)
    # home, holdings, orders: nothing of BETA's
    assert "BETA" not in portal.get("/portal").text
    assert portal.get("/portal/holdings/BETA-MAIN").status_code == 404
    assert portal.get("/portal/holdings/NOPE-MAIN").status_code == 404
    assert theirs not in portal.get("/portal/orders").text
    assert "BETA" not in portal.get("/portal/retire").text
    orders, retirements = count(db, t.orders), count(db, t.retirements)
    # placing an order from BETA's account
    r = portal.post(
        "/portal/orders",
        data={
            "csrf": token,
            "instrument": "ES",
            "side": "sell",
            "quantity": "5",
            "price": "2100",
            "account": "BETA-MAIN",
        },
    )
    assert r.status_code == 422 and 'id="account-error"' in r.text
    # cancelling BETA's order
    r = portal.post(f"/portal/orders/{theirs}/cancel", data={"csrf": token})
    assert r.status_code == 404
    # retiring from BETA's account, by quantity and by serials
    for data in ({"quantity": "5"}, {"serials": "x"}):
        r = portal.post(
            "/portal/retire",
            data={"csrf": token, "account": "BETA-MAIN", "purpose": "offset_scope1"} | data,
        )
        assert r.status_code == 422 and 'id="account-error"' in r.text
    assert (count(db, t.orders), count(db, t.retirements)) == (orders, retirements)
    with db.read() as conn:
        status = conn.execute(select(t.orders.c.status).where(t.orders.c.id == theirs)).scalar()
    assert status == "open"


@pytest.mark.parametrize(
    ("role", "can_trade", "can_retire"),
    [("viewer", False, False), ("trader", True, False), ("account_manager", False, True)],
)
def test_each_role_may_do_only_what_it_is_for(
    portal: TestClient, db: Database, role: str, can_trade: bool, can_retire: bool
) -> None:
    login(portal, f"{role}@alpha.example.jp")
    token = csrf(portal)
    order = portal.post(
        "/portal/orders",
        data={
            "csrf": token,
            "instrument": "ES",
            "side": "buy",
            "quantity": "5",
            "price": "1900",
            "account": "ALPHA-MAIN",
        },
    )
    assert (order.status_code == 200) is can_trade
    retire = portal.post(
        "/portal/retire",
        data={"csrf": token, "account": "ALPHA-MAIN", "quantity": "5", "purpose": "offset_scope1"},
    )
    assert (retire.status_code == 200) is can_retire
    if not can_retire:
        assert retire.status_code == 403 and count(db, t.retirements) == 0


def test_form_errors_are_shown_next_to_their_field(portal: TestClient) -> None:
    login(portal, "administrator@alpha.example.jp")
    token = csrf(portal)
    r = portal.post(
        "/portal/orders",
        data={
            "csrf": token,
            "instrument": "ES",
            "side": "buy",
            "quantity": "many",
            "price": "",
            "account": "ALPHA-MAIN",
        },
    )
    assert r.status_code == 422
    assert 'id="quantity-error"' in r.text and 'id="price-error"' in r.text
    assert 'aria-invalid="true" aria-describedby="quantity-error"' in r.text
    r = portal.post(
        "/portal/retire",
        data={
            "csrf": token,
            "account": "ALPHA-MAIN",
            "quantity": "999999",
            "purpose": "offset_scope1",
        },
    )
    # not enough credits is a conflict with the state, as the API answers it (tanso.http_status)
    assert r.status_code == 409 and 'id="quantity-error"' in r.text


def test_logout_ends_the_session(portal: TestClient) -> None:
    login(portal, "trader@alpha.example.jp")
    session = portal.cookies.get("tanso_session")
    r = portal.post("/portal/logout", data={"csrf": csrf(portal)})
    assert r.status_code == 303 and r.headers["location"] == "/portal/login"
    assert portal.get("/portal").status_code == 303
    portal.cookies.set("tanso_session", session or "")  # a kept copy of the cookie is worthless
    assert portal.get("/portal").headers["location"] == "/portal/login"


def test_totp_enrolment_and_the_second_login_step(portal: TestClient) -> None:
    import pyotp

    login(portal, "trader@alpha.example.jp")
    token = csrf(portal, "/portal/security")
    page = portal.post("/portal/security/totp/new", data={"csrf": token})
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page.text)
    assert secret and "otpauth://totp/Tanso" in page.text
    code = pyotp.TOTP(secret.group(1)).now()
    r = portal.post("/portal/security/totp", data={"csrf": token, "code": code})
    assert r.status_code == 200 and "now on" in r.text
    portal.post("/portal/logout", data={"csrf": csrf(portal)})
    r = login(portal, "trader@alpha.example.jp")
    assert r.headers["location"] == "/portal/login/totp"
    assert portal.get("/portal").status_code == 303  # the password alone is not a login
    step = portal.get("/portal/login/totp")
    token = CSRF_RE.search(step.text)
    assert token
    r = portal.post(
        "/portal/login/totp",
        # the enrolment used this step's code (each is accepted once): the next step's
        data={"csrf": token.group(1), "code": pyotp.TOTP(secret.group(1)).at(time.time() + 30)},
    )
    assert r.status_code == 303 and r.headers["location"] == "/portal"
    assert portal.get("/portal").status_code == 200


# ---------------------------------------------------------------- in Chromium


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Any]:
    from tanso.services.ledger import participants, taxonomy
    from tanso.settings import utc_now
    from tanso.store import migrate
    from tests.e2e.test_public_page import Server

    url = f"sqlite:///{tmp_path / 'portal.db'}"
    db = Database(url, utc_now)
    migrate.upgrade(db.engine)
    participants.bootstrap(db)
    taxonomy.seed_reference_data(db, SYSTEM)
    prepare(db)
    db.dispose()
    running = Server(url, tmp_path)
    try:
        yield running
    finally:
        running.stop()


@pytest.mark.browser
def test_in_chromium_a_user_logs_in_orders_and_retires_then_opens_the_public_record(
    server: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    from tests.e2e.test_public_page import CHROMIUM_ARGS, WAIT_MS, chromium

    executable = chromium()
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="en-US")
            page.set_default_timeout(WAIT_MS)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on(
                "console",
                lambda m: (
                    errors.append(f"{m.text} {m.location.get('url')}")
                    if m.type == "error"
                    else None
                ),
            )
            # log in with the keyboard only
            page.goto(server.url + "/portal")
            expect(page).to_have_url(re.compile(r"/portal/login$"))
            page.get_by_label("Email").fill("administrator@alpha.example.jp")
            page.keyboard.press("Tab")
            page.keyboard.type(PASSWORD)
            page.keyboard.press("Enter")
            expect(
                page.locator('#accounts tr[data-account="ALPHA-MAIN"] [data-field="total"]')
            ).to_have_text("10,000")
            # holdings down to serial ranges
            page.get_by_role("link", name="ALPHA-MAIN").click()
            expect(page.locator("#blocks tbody tr")).to_have_count(1)
            expect(page.locator("#blocks tbody th")).to_contain_text("-1-10000")
            # place an order beside the book; it shows in the open orders and the book
            page.get_by_role("link", name="Orders").click()
            page.get_by_label("Quantity (t)").fill("25")
            page.get_by_label("Price (¥/t)").fill("1950")
            page.get_by_role("button", name="Place order").click()
            expect(page.locator("#notice")).to_contain_text("placed")
            row = page.locator("#open-orders tbody tr").first
            expect(row).to_contain_text("ES")
            expect(row).to_contain_text("1,950")
            expect(page.locator("#book-ES")).to_contain_text("1,950")
            # retire credits and open the public retirement record
            page.get_by_role("link", name="Retire").click()
            page.get_by_label("Quantity (t)").fill("100")
            page.get_by_label("Purpose").select_option("offset_scope1")
            page.get_by_label("Beneficiary (optional)").fill("Alpha Foods")
            page.get_by_role("button", name="Check", exact=True).click()  # check first
            expect(page.locator("#check-outcome")).to_contain_text("Allowed: 100 t")
            page.get_by_role("button", name="Retire these credits — cannot be undone").click()
            expect(page.locator("#notice")).to_contain_text("Retired 100 t")
            page.screenshot(path=str(tmp_path / "portal-retire.png"), full_page=True)
            page.locator("#lookup-link").click()
            expect(page).to_have_url(re.compile(r"/verify/RT-\d+$"))
            expect(page.locator("body")).to_contain_text("Alpha Foods")
            expect(page.locator("body")).to_contain_text("Verified")
        finally:
            browser.close()
    # the JSON record is not HTML, so Chromium asks for /favicon.ico, which nothing serves
    assert [e for e in errors if "/favicon.ico" not in e] == []


def test_the_book_is_one_price_ladder_highest_price_first(db: Database) -> None:
    """Issue 18, defect 6: offers come down to the best, bids go down from the best, and in a call
    auction's order acceptance a price both sides quote is one row."""
    from tanso.web.portal.orders import ladder

    book = {
        "asks": [{"price": 21_189, "quantity": 5}, {"price": 21_500, "quantity": 7}],
        "bids": [{"price": 21_397, "quantity": 3}, {"price": 21_189, "quantity": 2}],
    }
    assert ladder(book) == [(21_500, None, 7), (21_397, 3, None), (21_189, 2, 5)]
    assert ladder({"asks": [], "bids": []}) == []


def test_cash_movements_say_when_they_moved(portal: TestClient) -> None:
    """Issue 18, defect 7: cash movements had no dates."""
    assert login(portal, "trader@alpha.example.jp").status_code == 303
    page = portal.get("/portal/cash?lang=en").text
    assert "Time (JST)" in page
    row = r'data-movement="\d+">\s*<th[^>]*>#\d+</th>\s*<td class="nowrap">\d{4}-\d{2}-\d{2} '
    assert re.search(row, page)


def test_a_browser_asking_for_a_missing_page_gets_a_page(portal: TestClient) -> None:
    """Issue 18, defect 9: HTML routes answered a JSON 404; the API still answers JSON."""
    page = portal.get("/portal/no-such-screen", headers={"Accept": "text/html"})
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "<html" in page.text
    ja = portal.get("/ja/no-such-page?lang=ja", headers={"Accept": "text/html"})
    assert ja.status_code == 404 and '<html lang="ja">' in ja.text
    api = portal.get("/v1/no-such-route", headers={"Accept": "text/html,application/json"})
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"
    assert portal.get("/no-such-page").json()["error"]["code"] == "not_found"  # not a browser


def test_the_retire_page_says_why_there_is_no_form_and_lists_retirements_in_full(
    portal: TestClient,
) -> None:
    """Issue 18, defect 7: a trader's Retire page showed no form and no reason; its list had no
    headers, purpose or date."""
    assert login(portal, "trader@alpha.example.jp").status_code == 303
    page = portal.get("/portal/retire?lang=en").text
    assert 'id="retire-form"' not in page
    assert "As a trader you cannot retire credits" in page
    ja = portal.get("/portal/retire?lang=ja").text
    assert "のユーザーはクレジットを無効化できません" in ja
    portal.get("/portal?lang=en")
    portal.cookies.clear()
    assert login(portal, "account_manager@alpha.example.jp").status_code == 303
    csrf = CSRF_RE.search(portal.get("/portal/retire").text)
    assert csrf
    data = {"csrf": csrf.group(1), "account": "ALPHA-MAIN", "quantity": "5"}
    data |= {"purpose": "offset_event", "beneficiary": "Alpha event", "year": "2025"}
    portal.post("/portal/retire", data=data)
    listed = portal.get("/portal/retire").text
    table = listed[listed.index('id="retirements"') :]
    assert "Purposes" in table and "Retired (JST)" in table and "offset_event" in table
