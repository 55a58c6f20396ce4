"""The operator's screens (/portal/operator) over HTTP on both backends, and one journey in
headless Chromium: a trader buys, the operator runs the auction and settlement, the trader sees
the trade and then the credits.

Every action is checked in the database and in the journal; every non-operator user (each role
of a participant, and a non-administrator user of the operator itself) gets 403 on every GET and
POST with nothing changed; a POST without a valid CSRF token changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tanso.api.app import create_app
from tanso.domain.fees import FeeSchedule
from tanso.domain.instruments import Eligibility, InstrumentSpec
from tanso.domain.participants import Role
from tanso.services.access import users
from tanso.services.access.users import NewUser
from tanso.services.clearing import settlement
from tanso.services.common import SYSTEM, Actor
from tanso.services.ledger import participants
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange, NewOrder
from tanso.store import schema as t
from tanso.store.db import Database
from tests.conftest import add_issuance, add_participant, fund
from tests.e2e.test_portal import CSRF_RE, PASSWORD, count, login

OPS = "ops@tanso.example.jp"
ALPHA = Actor("ALPHA", frozenset({Role.TRADER}))
BETA = Actor("BETA", frozenset({Role.TRADER}))

SCREENS = [
    "",
    "/participants",
    "/users",
    "/instruments",
    "/settlement",
    "/issuance",
    "/fees",
    "/market-makers",
    "/journal",
]


MM_PROGRAMME = {
    "id": "MM-ES",
    "instrument": "ES",
    "name_en": "Energy saving market making",
    "name_ja": "省エネ マーケットメイク",
    "starts": "2026-01-05",
    "ends": "2026-03-31",
    "max_spread": "200",
    "min_quantity": "500",
    "min_presence_pct": "80",
    "incentive_per_day": "10000",
}


def prepare(db: Database) -> None:
    """ALPHA (buyer, cash) and BETA (seller, credits), users of every role; GAMMA pending;
    the operator's administrator and viewer users; ES, a call-auction market, open."""
    for pid in ("ALPHA", "BETA"):
        add_participant(db, pid, ["trader"])
        fund(db, pid, 10**9)
        for role in ("viewer", "trader", "account_manager", "administrator"):
            email = f"{role}@{pid.lower()}.example.jp"
            users.create(db, SYSTEM, NewUser(pid, email, f"{pid} {role}", role, PASSWORD))
    add_issuance(db, "BETA-MAIN", 10_000)
    add_participant(db, "GAMMA", ["trader"], active=False)
    users.create(db, SYSTEM, NewUser("OPERATOR", OPS, "Market ops", "administrator", PASSWORD))
    users.create(
        db, SYSTEM, NewUser("OPERATOR", "viewer@tanso.example.jp", "Ops viewer", "viewer", PASSWORD)
    )
    x = Exchange(db, japan_calendar())
    x.define_instrument(
        SYSTEM,
        InstrumentSpec(
            "ES",
            "Energy saving",
            "省エネルギー",
            Eligibility(categories=("ENERGY_SAVING",)),
            reference_price=2_000,
        ),
    )
    x.session(SYSTEM, "ES", "open")


@pytest.fixture
def portal(db: Database) -> Iterator[TestClient]:
    prepare(db)
    with TestClient(create_app(db), follow_redirects=False) as http:
        yield http


def token(http: TestClient, path: str = "/portal/operator") -> str:
    m = CSRF_RE.search(http.get(path).text)
    assert m
    return m.group(1)


def as_operator(http: TestClient) -> str:
    assert login(http, OPS).status_code == 303
    return token(http)


def journal_kinds(db: Database, after: int = 0) -> list[str]:
    with db.read() as conn:
        rows = conn.execute(
            select(t.journal.c.kind).where(t.journal.c.seq > after).order_by(t.journal.c.seq)
        ).all()
        return [r.kind for r in rows]


def head(db: Database) -> int:
    return count(db, t.journal)


def exchange(http: TestClient) -> Exchange:
    x: Exchange = http.app.state.exchange  # type: ignore[attr-defined]
    return x


def cross(http: TestClient, *buys: int) -> None:
    """BETA offers 100 at 1,900; ALPHA bids the given quantities at 2,000 (not yet matched)."""
    x = exchange(http)
    x.place(BETA, NewOrder("ES", "sell", 100, 1_900, account_id="BETA-MAIN"))
    for quantity in buys:
        x.place(ALPHA, NewOrder("ES", "buy", quantity, 2_000, account_id="ALPHA-MAIN"))


def status_of(db: Database, pid: str) -> str:
    return participants.get_participant(db, SYSTEM, pid).status


def forms(db: Database) -> list[tuple[str, dict[str, str]]]:
    """Every operator form, filled so that it would succeed for the operator."""
    return [
        ("/portal/operator/participants/GAMMA/approve", {"reason": "checked"}),
        ("/portal/operator/participants/BETA/suspend", {}),
        ("/portal/operator/participants/BETA/reinstate", {}),
        ("/portal/operator/participants/ALPHA/roles", {"role_trader": "1", "role_broker": "1"}),
        (
            "/portal/operator/users",
            {
                "participant": "ALPHA",
                "email": "new@alpha.example.jp",
                "display_name": "New",
                "role": "administrator",
                "password": PASSWORD,
            },
        ),
        ("/portal/operator/users/NOSUCH/unlock", {}),
        ("/portal/operator/instruments/ES/halt", {"confirm": "1"}),
        ("/portal/operator/instruments/ES/close", {"confirm": "1"}),
        ("/portal/operator/instruments/ES/auction", {}),
        ("/portal/operator/settlement/run", {"date": "2030-01-01", "confirm": "1"}),
        ("/portal/operator/settlement/obligations/TR-1/cancel", {"confirm": "1"}),
        ("/portal/operator/trades/TR-1/bust", {"reason_code": "other", "confirm": "1"}),
        (
            "/portal/operator/issuance",
            {
                "project": "P9999",
                "credit_type": "ER",
                "round": "9",
                "vintage": "2023",
                "quantity": "5",
                "account": "ALPHA-MAIN",
            },
        ),
        (
            "/portal/operator/fees",
            {"instrument": "*", "side": "buy", "per_tonne": "5", "bps": "0", "per_trade": "0"}
            | {"late_charge": "0"},
        ),
        ("/portal/operator/market-makers/programmes", MM_PROGRAMME),
        ("/portal/operator/market-makers/appoint", {"programme": "MM-ES", "participant": "ALPHA"}),
        ("/portal/operator/market-makers/incentives", {"month": "2025-12"}),
    ]


# ---------------------------------------------------------------- screens


def test_every_operator_screen_renders_for_the_operator_in_english_and_japanese(
    portal: TestClient,
) -> None:
    as_operator(portal)
    for path in SCREENS:
        r = portal.get("/portal/operator" + path)
        assert r.status_code == 200, path
        assert '<html lang="en">' in r.text and 'aria-current="page"' in r.text
        assert r.headers["cache-control"] == "no-store"
    assert "GAMMA" in portal.get("/portal/operator/participants").text
    assert "trader@beta.example.jp" in portal.get("/portal/operator/users").text
    assert 'id="instrument-ES"' in portal.get("/portal/operator/instruments").text
    assert "credits.issued" in portal.get("/portal/operator/journal").text
    ja = portal.get("/portal/operator/participants?lang=ja")
    assert '<html lang="ja">' in ja.text and "承認" in ja.text
    assert "板寄せを実行" in portal.get("/portal/operator/instruments").text  # remembered


def test_participants_are_approved_suspended_reinstated_and_given_roles(
    portal: TestClient, db: Database
) -> None:
    csrf = as_operator(portal)
    before = head(db)
    base = "/portal/operator/participants"
    r = portal.post(f"{base}/GAMMA/approve", data={"csrf": csrf, "reason": "KYC done"})
    assert r.status_code == 200 and "GAMMA is now active" in r.text
    assert status_of(db, "GAMMA") == "active"
    assert portal.post(f"{base}/BETA/suspend", data={"csrf": csrf}).status_code == 200
    assert status_of(db, "BETA") == "suspended"
    assert portal.post(f"{base}/BETA/reinstate", data={"csrf": csrf}).status_code == 200
    assert status_of(db, "BETA") == "active"
    r = portal.post(
        f"{base}/ALPHA/roles", data={"csrf": csrf, "role_trader": "1", "role_market_maker": "1"}
    )
    assert r.status_code == 200 and "trader, market_maker" in r.text
    assert participants.get_participant(db, SYSTEM, "ALPHA").roles == ["trader", "market_maker"]
    # the operator itself cannot be suspended: the error is shown beside its row
    r = portal.post(f"{base}/OPERATOR/suspend", data={"csrf": csrf})
    assert r.status_code == 422 and "cannot be suspended" in r.text
    kinds = journal_kinds(db, before)
    assert kinds.count("participant.status_changed") == 3
    assert kinds.count("participant.roles_changed") == 1
    with db.read() as conn:
        last = conn.execute(select(t.journal).order_by(t.journal.c.seq.desc()).limit(1)).one()
    with db.read() as conn:
        ops_user = conn.execute(select(t.users.c.id).where(t.users.c.email == OPS)).scalar_one()
    # the journal names the person as well as the participant whose authority was used
    assert last.kind == "participant.roles_changed"
    assert last.actor == f"OPERATOR (user {ops_user})"


def test_users_are_created_for_any_participant_and_unlocked(
    portal: TestClient, db: Database
) -> None:
    csrf = as_operator(portal)
    data = {
        "csrf": csrf,
        "participant": "BETA",
        "email": "desk@beta.example.jp",
        "display_name": "Beta desk",
        "role": "trader",
        "password": "short",
    }
    r = portal.post("/portal/operator/users", data=data)
    assert r.status_code == 422
    assert re.search(r'id="password-error">A password is 12', r.text)
    assert "desk@beta.example.jp" in r.text and "short" not in r.text  # kept, not the password
    r = portal.post("/portal/operator/users", data=data | {"email": ""})
    assert r.status_code == 422 and 'id="email-error"' in r.text
    r = portal.post("/portal/operator/users", data=data | {"password": PASSWORD})
    assert r.status_code == 200 and "User desk@beta.example.jp created for BETA" in r.text
    created = [u for u in users.list_users(db, SYSTEM, "BETA") if u.email.startswith("desk")]
    assert created and created[0].role == "trader"
    r = portal.post("/portal/operator/users", data=data | {"password": PASSWORD})
    assert r.status_code == 409 and 'id="email-error"' in r.text  # taken: a conflict
    # lock a user by five wrong passwords, then unlock it from the screen
    for _ in range(users.MAX_FAILED_LOGINS):
        users.login(db, "trader@alpha.example.jp", "wrong password!")
    locked = next(u for u in users.list_users(db, SYSTEM, "ALPHA") if u.status == "locked")
    page = portal.get("/portal/operator/users")
    assert f"/portal/operator/users/{locked.id}/unlock" in page.text
    r = portal.post(f"/portal/operator/users/{locked.id}/unlock", data={"csrf": csrf})
    assert r.status_code == 200 and "unlocked" in r.text
    assert users.login(db, "trader@alpha.example.jp", PASSWORD).outcome == "ok"
    assert {"user.created", "user.unlocked"} <= set(journal_kinds(db))


def test_sessions_are_halted_resumed_closed_opened_and_the_auction_runs_now(
    portal: TestClient, db: Database
) -> None:
    csrf = as_operator(portal)
    base = "/portal/operator/instruments/ES"
    for action, state in (("halt", "halted"), ("resume", "open"), ("close", "closed")):
        r = portal.post(f"{base}/{action}", data={"csrf": csrf, "confirm": "1"})
        assert r.status_code == 200, action
        assert "ES:" in r.text
        assert exchange(portal).book(SYSTEM, "ES").phase == state or state in r.text
    r = portal.post(f"{base}/close", data={"csrf": csrf, "confirm": "1"})  # a closed market
    assert r.status_code == 409 and 'class="field-error" role="alert"' in r.text
    assert portal.post(f"{base}/open", data={"csrf": csrf, "confirm": "1"}).status_code == 200
    assert portal.post(f"{base}/dance", data={"csrf": csrf}).status_code == 404
    cross(portal, 30, 20)
    r = portal.post(f"{base}/auction", data={"csrf": csrf})
    assert r.status_code == 200
    assert "× 50 t; trades: 2." in r.text
    assert r.text.count("data-trade=") == 2
    with db.read() as conn:
        assert len(conn.execute(select(t.trades)).all()) == 2
    kinds = journal_kinds(db)
    assert kinds.count("exchange.auction") >= 1 and "exchange.halt" in kinds


def test_settlement_runs_and_failed_obligations_are_settled_later_or_cancelled(
    portal: TestClient, db: Database
) -> None:
    csrf = as_operator(portal)
    cross(portal, 30, 20)
    out = exchange(portal).session(SYSTEM, "ES", "auction")
    due = out.trades[0].settlement_date
    ids = sorted(tr.id for tr in out.trades)
    participants.set_status(db, SYSTEM, "ALPHA", "suspended")  # the buyer cannot settle
    r = portal.post("/portal/operator/settlement/run", data={"csrf": csrf, "date": "soon"})
    assert r.status_code == 422 and 'id="date-error"' in r.text
    early = {"csrf": csrf, "date": due, "early": "1", "confirm": "1"}  # T+5: after today
    r = portal.post("/portal/operator/settlement/run", data=early)
    assert r.status_code == 200 and f"Settlement for {due}: 0 settled, 2 failed." in r.text
    assert all(f'data-obligation="{i}"' in r.text for i in ids)
    participants.set_status(db, SYSTEM, "ALPHA", "active")
    base = "/portal/operator/settlement/obligations"
    r = portal.post(f"{base}/{ids[0]}/settle", data={"csrf": csrf})
    assert r.status_code == 200 and f"Obligation of {ids[0]}: settled" in r.text
    r = portal.post(f"{base}/{ids[1]}/cancel", data={"csrf": csrf, "confirm": "1"})
    assert r.status_code == 200 and f"Obligation of {ids[1]}: cancelled" in r.text
    r = portal.post(f"{base}/{ids[1]}/cancel", data={"csrf": csrf, "confirm": "1"})
    assert r.status_code == 409  # no longer failed
    statuses = {o.deal_id: o.status for o in settlement.obligations(db, SYSTEM)}
    assert statuses == {ids[0]: "settled", ids[1]: "cancelled"}
    runs = portal.get("/portal/operator/settlement")
    assert re.search(rf"<th scope=\"row\">{due}</th>", runs.text)
    kinds = journal_kinds(db)
    assert {"settlement.run", "settlement.failed", "settlement.settled"} <= set(kinds)
    assert "settlement.cancelled" in kinds


def test_the_operator_busts_a_pending_trade_from_the_settlement_screen(
    portal: TestClient, db: Database
) -> None:
    csrf = as_operator(portal)
    cross(portal, 30, 20)
    out = exchange(portal).session(SYSTEM, "ES", "auction")
    ids = sorted(tr.id for tr in out.trades)
    page = portal.get("/portal/operator/settlement")
    assert f'action="/portal/operator/trades/{ids[0]}/bust"' in page.text
    assert '<option value="erroneous_order">Erroneous order</option>' in page.text
    base = f"/portal/operator/trades/{ids[0]}/bust"
    r = portal.post(base, data={"csrf": csrf, "reason_code": "whim"})
    assert r.status_code == 422 and "reason_code is one of" in r.text
    bust = {"csrf": csrf, "reason_code": "erroneous_order", "note": "fat finger", "confirm": "1"}
    r = portal.post(base, data=bust)
    assert r.status_code == 200 and f"Trade {ids[0]} busted:" in r.text, r.text
    r = portal.post(base, data={"csrf": csrf, "reason_code": "erroneous_order", "confirm": "1"})
    assert r.status_code == 409 and "was busted at" in r.text
    statuses = {o.deal_id: o.status for o in settlement.obligations(db, SYSTEM)}
    assert statuses[ids[0]] == "busted" and statuses[ids[1]] == "pending"
    ja = portal.get("/portal/operator/settlement?lang=ja")
    assert "取引を取消" in ja.text and '<option value="erroneous_order">誤発注</option>' in ja.text
    assert "exchange.trade_busted" in journal_kinds(db)


def test_credits_are_issued_into_any_holding_account(portal: TestClient, db: Database) -> None:
    csrf = as_operator(portal)
    page = portal.get("/portal/operator/issuance")
    project = re.search(r'<option value="(P\d+)"', page.text)
    assert project
    data = {
        "csrf": csrf,
        "project": project.group(1),
        "credit_type": "ER",
        "round": "7",
        "vintage": "20x3",
        "quantity": "",
        "account": "ALPHA-MAIN",
    }
    r = portal.post("/portal/operator/issuance", data=data)
    assert r.status_code == 422
    assert 'id="vintage-error"' in r.text and 'id="quantity-error"' in r.text
    r = portal.post("/portal/operator/issuance", data=data | {"vintage": "1800", "quantity": "500"})
    assert r.status_code == 422 and 'id="vintage-error"' in r.text
    r = portal.post("/portal/operator/issuance", data=data | {"vintage": "2023", "quantity": "500"})
    assert r.status_code == 200 and "Issued 500 t as" in r.text and "into ALPHA-MAIN" in r.text
    r = portal.post("/portal/operator/issuance", data=data | {"vintage": "2023", "quantity": "500"})
    assert r.status_code == 409 and 'id="round-error"' in r.text  # the same round again
    with db.read() as conn:
        blocks = conn.execute(select(t.blocks).where(t.blocks.c.account_id == "ALPHA-MAIN")).all()
    assert sum(b.serial_end - b.serial_start + 1 for b in blocks) == 500
    assert journal_kinds(db)[-1] == "credits.issued"


def test_fee_schedules_are_shown_and_set(portal: TestClient, db: Database) -> None:
    csrf = as_operator(portal)
    assert "trades pay no fees" in portal.get("/portal/operator/fees").text
    data = {
        "csrf": csrf,
        "instrument": "ES",
        "side": "sell",
        "per_tonne": "3",
        "bps": "10",
        "per_trade": "abc",
        "late_charge": "1000",
    }
    r = portal.post("/portal/operator/fees", data=data)
    assert r.status_code == 422 and 'id="per_trade-error"' in r.text
    r = portal.post("/portal/operator/fees", data=data | {"per_trade": "-1"})
    assert r.status_code == 422 and 'id="per_trade-error"' in r.text
    r = portal.post("/portal/operator/fees", data=data | {"instrument": "NOPE", "per_trade": "0"})
    assert r.status_code == 404 and 'id="instrument-error"' in r.text
    r = portal.post("/portal/operator/fees", data=data | {"per_trade": "0"})
    assert r.status_code == 200 and "Fees for ES Sell set." in r.text
    assert 'data-fee="ES-sell"' in r.text
    assert settlement.list_fees(db) == [
        settlement.Fees(
            instrument="ES", side="sell", per_tonne=3, bps=10, per_trade=0, late_charge=1000
        )
    ]
    assert journal_kinds(db)[-1] == "fees.set"


def test_the_journal_is_paged_newest_first_with_the_audit_verify_status(
    portal: TestClient, db: Database
) -> None:
    as_operator(portal)
    for i in range(40):
        settlement.set_fees(db, SYSTEM, "*", "buy", FeeSchedule(per_tonne=i))
    total = head(db)
    assert total > 50
    r = portal.get("/portal/operator/journal")
    assert 'data-audit="ok"' in r.text and f"Verified: {total:,} entries" in r.text
    seqs = [int(s) for s in re.findall(r'data-seq="(\d+)"', r.text)]
    assert seqs == list(range(total, total - 50, -1))
    older = re.search(r'href="(/portal/operator/journal\?before=\d+)" rel="next"', r.text)
    assert older
    r = portal.get(older.group(1))
    seqs2 = [int(s) for s in re.findall(r'data-seq="(\d+)"', r.text)]
    assert seqs2 and seqs2[0] == total - 50 and 'rel="prev"' in r.text
    assert portal.get("/portal/operator/journal?before=junk").status_code == 200
    # a tampered entry shows as a failed verification once verified again ("Verify now"): the
    # page itself shows the remembered result while the journal's head has not moved
    with db.engine.begin() as conn:
        conn.execute(t.journal.update().where(t.journal.c.seq == 2).values(actor="MALLORY"))
    r = portal.get("/portal/operator/journal")
    assert 'data-audit="ok"' in r.text and 'id="audit-when"' in r.text
    r = portal.get("/portal/operator/journal?verify=1")
    assert 'data-audit="failed"' in r.text and "entry 2" in r.text
    r = portal.get("/portal/operator/journal")
    assert 'data-audit="failed"' in r.text


# ---------------------------------------------------------------- who may


NON_OPERATORS = [
    f"{role}@{pid}.example.jp"
    for pid in ("alpha", "beta")
    for role in ("viewer", "trader", "account_manager", "administrator")
] + ["viewer@tanso.example.jp"]


@pytest.mark.parametrize("email", NON_OPERATORS)
def test_a_user_who_is_not_the_operator_gets_403_everywhere_and_changes_nothing(
    portal: TestClient, db: Database, email: str
) -> None:
    assert login(portal, email).status_code == 303
    csrf = CSRF_RE.search(portal.get("/portal").text)
    assert csrf
    cross(portal, 10)
    before = (head(db), count(db, t.users), count(db, t.trades), count(db, t.fee_schedules))
    statuses = {p: status_of(db, p) for p in ("ALPHA", "BETA", "GAMMA")}
    for path in [*SCREENS, "/journal?before=3"]:
        r = portal.get("/portal/operator" + path)
        assert r.status_code == 403, path
        assert "GAMMA" not in r.text
    for path, data in forms(db):
        r = portal.post(path, data=data | {"csrf": csrf.group(1)})
        assert r.status_code == 403, path
        assert "Your role does not allow this." in r.text
    after = (head(db), count(db, t.users), count(db, t.trades), count(db, t.fee_schedules))
    assert after == before
    assert {p: status_of(db, p) for p in statuses} == statuses
    assert exchange(portal).book(SYSTEM, "ES").phase == "open"


def test_without_a_session_every_operator_page_goes_to_the_login(portal: TestClient) -> None:
    for path in SCREENS:
        r = portal.get("/portal/operator" + path)
        assert r.status_code == 303 and r.headers["location"] == "/portal/login"
    for path, data in forms(portal.app.state.db):  # type: ignore[attr-defined]
        assert portal.post(path, data=data).headers["location"] == "/portal/login"


@pytest.mark.parametrize("sent", [None, "", "wrong-token"])
def test_an_operator_form_without_a_valid_csrf_token_changes_nothing(
    portal: TestClient, db: Database, sent: str | None
) -> None:
    as_operator(portal)
    cross(portal, 10)
    before = (head(db), count(db, t.users), count(db, t.trades), count(db, t.fee_schedules))
    statuses = {p: status_of(db, p) for p in ("ALPHA", "BETA", "GAMMA")}
    extra = {} if sent is None else {"csrf": sent}
    for path, data in forms(db):
        r = portal.post(path, data=data | extra)
        assert r.status_code == 403, path
        assert "Nothing was changed" in r.text
    after = (head(db), count(db, t.users), count(db, t.trades), count(db, t.fee_schedules))
    assert after == before
    assert {p: status_of(db, p) for p in statuses} == statuses
    assert exchange(portal).book(SYSTEM, "ES").phase == "open"


# ---------------------------------------------------------------- in Chromium


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Any]:
    from tanso.harness.devserver import ServerProcess
    from tanso.services.ledger import taxonomy
    from tanso.settings import utc_now
    from tanso.store import migrate

    url = f"sqlite:///{tmp_path / 'operator.db'}"
    db = Database(url, utc_now)
    migrate.upgrade(db.engine)
    participants.bootstrap(db)
    taxonomy.seed_reference_data(db, SYSTEM)
    prepare(db)
    Exchange(db, japan_calendar()).place(
        BETA, NewOrder("ES", "sell", 100, 1_900, account_id="BETA-MAIN")
    )
    db.dispose()
    running = ServerProcess(url, tmp_path)
    try:
        yield running
    finally:
        running.stop()


@pytest.mark.browser
def test_in_chromium_the_operator_runs_the_auction_and_settlement_the_trader_sees_both(
    server: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    from tests.e2e.test_public_page import CHROMIUM_ARGS, WAIT_MS, chromium

    executable = chromium()
    errors: list[str] = []

    def open_page(browser: Any) -> Any:
        context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-US")
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        return page

    def log_in(page: Any, email: str) -> None:
        page.goto(server.url + "/portal")
        page.get_by_label("Email").fill(email)
        page.keyboard.press("Tab")
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")
        expect(page.locator("p.who")).to_be_visible()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            trader = open_page(browser)
            log_in(trader, "trader@alpha.example.jp")
            trader.get_by_role("link", name="Orders", exact=True).click()
            trader.get_by_label("Quantity (t)").fill("25")
            trader.get_by_label("Price (¥/t)").fill("2000")
            trader.get_by_role("button", name="Place order").click()
            expect(trader.locator("#notice")).to_contain_text("placed")
            expect(trader.locator("#open-orders tbody tr")).to_have_count(1)

            operator = open_page(browser)  # a second context: its own cookies
            log_in(operator, OPS)
            operator.goto(server.url + "/portal/operator/instruments")
            expect(operator.locator("#instrument-ES")).to_contain_text("2,000")
            operator.get_by_role("button", name="Run auction now ES").focus()
            operator.keyboard.press("Enter")
            expect(operator.locator("#auction-result")).to_contain_text("× 25 t; trades: 1.")
            due = operator.locator("#auction-result [data-trade] td").nth(2).inner_text()
            operator.screenshot(path=str(tmp_path / "operator-auction.png"), full_page=True)

            trader.goto(server.url + "/portal/trades")
            row = trader.locator("#trades tbody tr").first
            expect(row).to_contain_text("25")
            expect(row.locator('[data-field="settlement_date"]')).to_have_text(due)
            trader.goto(server.url + "/portal/orders")
            expect(trader.locator("#open-orders tbody tr")).to_have_count(0)

            operator.get_by_role("link", name="Settlement").click()
            operator.get_by_label("Settle obligations due on or before").fill(due)
            operator.get_by_label("Settle early").check()  # T+5 is after the server's day
            operator.get_by_role("button", name="Run", exact=True).click()
            expect(operator.locator("#consequence")).to_contain_text(due)
            operator.get_by_role("button", name="Confirm", exact=True).click()
            expect(operator.locator("#notice")).to_contain_text("1 settled, 0 failed")
            operator.get_by_role("link", name="Journal").click()
            expect(operator.locator("#audit")).to_contain_text("Verified")
            expect(operator.locator("#journal tbody tr").first).to_contain_text("settlement.run")

            trader.goto(server.url + "/portal/trades")
            expect(
                trader.locator("#trades tbody tr").first.locator('[data-field="settlement_status"]')
            ).to_contain_text("ettled")
            trader.goto(server.url + "/portal")
            expect(
                trader.locator('#accounts tr[data-account="ALPHA-MAIN"] [data-field="total"]')
            ).to_have_text("25")
        finally:
            browser.close()
    assert errors == []


def test_market_makers_are_appointed_measured_reported_and_paid(
    portal: TestClient, db: Database
) -> None:
    csrf = as_operator(portal)
    base = "/portal/operator/market-makers"
    assert "No market-maker programme yet" in portal.get(base).text
    bad = MM_PROGRAMME | {"max_spread": "wide", "csrf": csrf}
    r = portal.post(f"{base}/programmes", data=bad)
    assert r.status_code == 422 and 'id="max_spread-error"' in r.text
    r = portal.post(f"{base}/programmes", data=MM_PROGRAMME | {"csrf": csrf})
    assert r.status_code == 200 and "Programme MM-ES is defined." in r.text
    r = portal.post(
        f"{base}/appoint", data={"csrf": csrf, "programme": "MM-ES", "participant": "ALPHA"}
    )
    assert r.status_code == 409 and "does not have the market_maker role" in r.text
    participants.set_roles(db, SYSTEM, "ALPHA", ["trader", "market_maker"])
    r = portal.post(
        f"{base}/appoint", data={"csrf": csrf, "programme": "MM-ES", "participant": "alpha"}
    )
    assert r.status_code == 200 and "ALPHA is now a market maker of MM-ES." in r.text
    assert 'data-maker="ALPHA"' in r.text
    ja = portal.get(f"{base}?lang=ja&month=2026-01")
    assert "最大スプレッド" in ja.text and "義務充足日数" in ja.text
    report = portal.get(f"{base}/report.csv?month=2026-01&lang=ja")
    assert report.status_code == 200 and report.text.startswith("対象月,")
    assert "2026-01,MM-ES,ES,ALPHA" in report.text
    r = portal.post(f"{base}/incentives", data={"csrf": csrf, "month": "January"})
    assert r.status_code == 422 and "YYYY-MM" in r.text
    r = portal.post(f"{base}/incentives", data={"csrf": csrf, "month": "2026-01"})
    assert r.status_code == 409 and "after the month ends" in r.text
    # the market maker's own screen: its programme, day by day (a trader user of ALPHA)
    portal.cookies.clear()
    assert login(portal, "trader@alpha.example.jp").status_code == 303
    mine = portal.get("/portal/market-making?month=2026-01")
    assert mine.status_code == 200 and 'href="/portal/market-making"' in mine.text
    assert "Energy saving market making" in mine.text
    assert "0 of 0 days compliant" in mine.text  # 09:00 in Tokyo: today's window has not begun

    assert "マーケットメイク" in portal.get("/portal/market-making?month=2026-01&lang=ja").text
    portal.cookies.clear()
    assert login(portal, "trader@beta.example.jp").status_code == 303
    theirs = portal.get("/portal/market-making?month=2026-01&lang=en")
    assert "not appointed" in theirs.text and 'href="/portal/market-making"' not in theirs.text
