"""The offset claim report over HTTP on both backends: REST (JSON, PDF, CSV) with real API keys,
the portal screen, isolation between participants, and the Python client against a server."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tanso.api.app import create_app
from tanso.client import ApiError, Client
from tanso.harness.devserver import ServerProcess as Server
from tanso.services.access import users
from tanso.services.access.users import NewUser
from tanso.services.common import SYSTEM
from tanso.services.ledger import participants
from tanso.store.db import Database
from tests.integration.test_claims import YEAR, world

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

PASSWORD = "correct horse battery"
CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')


def keys(db: Database) -> dict[str, str]:
    world(db)
    out = {
        pid: participants.create_api_key(db, SYSTEM, pid, "t").key for pid in ("CLAIMA", "CLAIMB")
    }
    op = participants.create_api_key(db, SYSTEM, participants.OPERATOR_PARTICIPANT, "op")
    return out | {"OP": op.key}


@pytest.fixture
def http(db: Database) -> Iterator[TestClient]:
    with TestClient(create_app(db), follow_redirects=False) as client:
        yield client


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_rest_json_pdf_and_csv_of_ones_own_report(db: Database, http: TestClient) -> None:
    k = keys(db)
    r = http.get(f"/v1/claims/CLAIMA/{YEAR}", headers=auth(k["CLAIMA"]))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["retired"]["total"] == 1_700
    assert body["scopes"][0]["residual"] == 900
    neutral = next(c for c in body["claims"] if c["code"] == "carbon_neutral")
    assert neutral["allowed"] is False and neutral["reason_en"] and neutral["reason_ja"]
    pdf = http.get(f"/v1/claims/CLAIMA/{YEAR}.pdf?lang=ja", headers=auth(k["CLAIMA"]))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    got = http.get(f"/v1/claims/CLAIMA/{YEAR}.csv", headers=auth(k["CLAIMA"]))
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(got.text)))
    assert sum(int(r["quantity"]) for r in rows if r["section"] == "by_scheme") == 1_700
    op = http.get(f"/v1/claims/CLAIMA/{YEAR}", headers=auth(k["OP"]))
    assert op.status_code == 200 and op.json()["retired"]["total"] == 1_700


def test_another_participants_report_is_not_found(db: Database, http: TestClient) -> None:
    k = keys(db)
    for suffix in ("", ".pdf", ".csv"):
        r = http.get(f"/v1/claims/CLAIMA/{YEAR}{suffix}", headers=auth(k["CLAIMB"]))
        assert r.status_code == 404, suffix
        assert r.json()["error"]["code"] == "claim_report_not_found"
        missing = http.get(f"/v1/claims/NOBODY/{YEAR}{suffix}", headers=auth(k["CLAIMB"]))
        assert missing.json() == r.json() | {
            "error": r.json()["error"] | {"message": missing.json()["error"]["message"]}
        }
    assert http.get(f"/v1/claims/CLAIMA/{YEAR}").status_code == 401
    bad = http.get("/v1/claims/CLAIMA/1066", headers=auth(k["CLAIMA"]))
    assert bad.status_code == 422 and bad.json()["error"]["code"]


def login(http: TestClient, email: str) -> None:
    page = http.get("/portal/login")
    token = CSRF_RE.search(page.text)
    assert token
    r = http.post(
        "/portal/login", data={"csrf": token.group(1), "email": email, "password": PASSWORD}
    )
    assert r.status_code == 303


def test_the_portal_screen_shows_the_report_and_its_downloads(
    db: Database, http: TestClient
) -> None:
    world(db)
    for pid in ("CLAIMA", "CLAIMB"):
        users.create(db, SYSTEM, NewUser(pid, f"v@{pid.lower()}.jp", pid, "viewer", PASSWORD))
    assert http.get("/portal/claims").status_code == 303  # log in first
    login(http, "v@claima.jp")
    page = http.get("/portal/claims")
    assert page.status_code == 200
    assert f'<option value="{YEAR}" selected>' in page.text
    assert 'data-claim="carbon_neutral" data-allowed="false"' in page.text
    assert 'data-claim="offset_scope1" data-allowed="true"' in page.text
    assert "/verify/RT-" in page.text
    ja = http.get(f"/portal/claims?year={YEAR}&lang=ja")
    assert "オフセット主張レポート" in ja.text and "主張できない" in ja.text
    pdf = http.get(f"/portal/claims/{YEAR}.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert "carbon_neutral" in http.get(f"/portal/claims/{YEAR}.csv?lang=en").text
    assert http.get("/portal/claims?year=abc").status_code == 404
    # another participant's user sees only its own (empty) report
    http.cookies.clear()
    login(http, "v@claimb.jp")
    other = http.get(f"/portal/claims?year={YEAR}")
    assert other.status_code == 200
    assert "CLAIMB" in other.text and "RT-" not in other.text


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Any, dict[str, str]]]:
    from tanso.services.ledger import taxonomy
    from tanso.settings import utc_now
    from tanso.store import migrate

    url = f"sqlite:///{tmp_path / 'claims.db'}"
    db = Database(url, utc_now)
    migrate.upgrade(db.engine)
    participants.bootstrap(db)
    taxonomy.seed_reference_data(db, SYSTEM)
    k = keys(db)
    users.create(db, SYSTEM, NewUser("CLAIMA", "v@claima.jp", "Claim viewer", "viewer", PASSWORD))
    db.dispose()
    running = Server(url, tmp_path)
    try:
        yield running, k
    finally:
        running.stop()


def test_the_python_client(server: tuple[Any, dict[str, str]]) -> None:
    running, k = server
    with Client(running.url, k["CLAIMA"]) as c:
        rep = c.claim_report("CLAIMA", YEAR)
        assert rep.retired.total == 1_700
        assert c.claim_report_pdf("CLAIMA", YEAR, "ja").startswith(b"%PDF-")
        assert "section" in c.claim_report_csv("CLAIMA", YEAR)
        rid = rep.retirements[0].id
        cert = c.certificate(rid)
        assert cert.verification.verified is True
        assert c.certificate_pdf(rid).startswith(b"%PDF-")
    with Client(running.url, k["CLAIMB"]) as c, pytest.raises(ApiError) as err:
        c.claim_report_pdf("CLAIMA", YEAR)
    assert err.value.status == 404 and err.value.code == "claim_report_not_found"


@pytest.mark.browser
def test_in_chromium_a_user_reads_its_claim_report_in_english_and_japanese(
    server: tuple[Any, dict[str, str]],
) -> None:
    from playwright.sync_api import expect, sync_playwright

    from tests.e2e.test_public_page import CHROMIUM_ARGS, WAIT_MS, chromium

    running, _ = server
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-US")
            page.set_default_timeout(WAIT_MS)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(running.url + "/portal/login?lang=en")
            page.get_by_label("Email").fill("v@claima.jp")
            page.get_by_label("Password").fill(PASSWORD)
            page.keyboard.press("Enter")
            expect(page).to_have_url(running.url + "/portal")
            page.get_by_role("link", name="Claims").click()
            page.get_by_label("Year", exact=True).select_option(str(YEAR))
            page.get_by_role("button", name="Show").click()
            row = page.locator('tr[data-claim="offset_scope1"]')
            expect(row).to_contain_text("May claim")
            expect(row).to_contain_text("offset 900 t-CO2e of its Scope 1 emissions")
            neutral = page.locator('tr[data-claim="carbon_neutral_scope12"]')
            expect(neutral).to_contain_text("May not claim")
            expect(page.locator('tr[data-scope="1"] [data-field="residual"]')).to_have_text("900")
            page.get_by_role("link", name="日本語").click()
            expect(page.locator("h1")).to_have_text("オフセット主張レポート")
            expect(neutral).to_contain_text("主張できない")
        finally:
            browser.close()
    assert errors == []
