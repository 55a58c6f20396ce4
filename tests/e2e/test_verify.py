"""The public /verify page and the certificate endpoints over HTTP on both backends, and the
page in headless Chromium (Playwright, /usr/bin/chromium) in English and Japanese."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from tanso.api.app import create_app
from tanso.harness.devserver import ServerProcess as Server
from tanso.services.ledger import registry
from tanso.store import schema as t
from tanso.store.db import Database
from tests.conftest import add_issuance, add_participant

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CHROMIUM = "/usr/bin/chromium"


def retire(db: Database) -> registry.RetirementReceipt:
    actor = add_participant(db, "VERIFYA")
    issuance = add_issuance(db, "VERIFYA-MAIN", 1_000, vintage=2022)
    return registry.retire(
        db,
        actor,
        registry.RetirementRequest(
            "VERIFYA-MAIN",
            registry.Selection(serials=f"{issuance}-1-250"),
            ["offset_scope2"],
            "VERIFYA Osaka office",
            2025,
        ),
    )


@pytest.fixture
def http(db: Database) -> Iterator[TestClient]:
    with TestClient(create_app(db)) as client:
        yield client


def test_the_verify_page_shows_the_certificate_and_says_verified(
    db: Database, http: TestClient
) -> None:
    done = retire(db)
    r = http.get(f"/verify/{done.id}?lang=en")
    assert r.status_code == 200
    assert 'data-verified="true"' in r.text
    assert "Verified" in r.text and "NOT verified" not in r.text
    for expected in (
        f"CERT-{done.id}",
        done.ranges[0].serials,
        "VERIFYA Osaka office",
        done.journal_hash,
        f"/verify/{done.id}",  # relative without TANSO_PUBLIC_URL, never the Host header
        "<svg",
    ):
        assert expected in r.text, expected
    ja = http.get(f"/ja/verify/{done.id}")
    assert ja.status_code == 200 and ja.headers["content-language"] == "ja"
    assert "検証済み" in ja.text and "無効化証明書" in ja.text


def test_the_verify_page_says_so_when_the_journal_entry_was_altered(
    db: Database, http: TestClient
) -> None:
    done = retire(db)
    seq = done.journal_seq
    with db.engine.begin() as conn:
        payload = conn.execute(
            select(t.journal.c.payload).where(t.journal.c.seq == seq)
        ).scalar_one()
        conn.execute(
            update(t.journal)
            .where(t.journal.c.seq == seq)
            .values(payload=payload.replace("VERIFYA Osaka office", "Someone else"))
        )
    r = http.get(f"/verify/{done.id}?lang=en")
    assert r.status_code == 200
    assert 'data-verified="false"' in r.text and "NOT verified" in r.text
    ja = http.get(f"/ja/verify/{done.id}")
    assert "検証できません" in ja.text
    body = http.get(f"/v1/certificates/{done.id}").json()
    assert body["verification"]["verified"] is False
    assert {c["check"]: c["ok"] for c in body["verification"]["checks"]}["entry_hash"] is False


def test_unknown_ids_answer_404_on_the_page_and_the_api(db: Database, http: TestClient) -> None:
    retire(db)
    for rid in ("RT-99999999", "nothing", "RT-0000000%27"):
        page = http.get(f"/verify/{rid}")
        assert page.status_code == 404, rid
        api = http.get(f"/v1/certificates/{rid}")
        assert api.status_code == 404 and api.json()["error"]["code"] == "retirement_not_found"
        assert http.get(f"/v1/certificates/{rid}.pdf").status_code == 404
        assert http.get(f"/v1/certificates/{rid}.html").status_code == 404


def test_the_lookup_form_goes_to_the_retirements_page(db: Database, http: TestClient) -> None:
    done = retire(db)
    assert 'href="/verify?lang=ja"' in http.get("/ja").text  # the public page links to it
    assert http.get("/verify").status_code == 200
    r = http.get(f"/verify?id={done.id}&lang=ja", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/ja/verify/{done.id}"


def test_the_certificate_api_json_and_pdf(db: Database, http: TestClient) -> None:
    done = retire(db)
    body = http.get(f"/v1/certificates/{done.id}").json()
    assert body["certificate_id"] == f"CERT-{done.id}"
    assert body["quantity"] == 250
    assert [r["serials"] for r in body["ranges"]] == [done.ranges[0].serials]
    assert body["verification"]["verified"] is True
    assert body["verify_url"] == f"/verify/{done.id}"  # TANSO_PUBLIC_URL unset
    html = http.get(f"/v1/certificates/{done.id}.html?lang=ja")
    assert html.status_code == 200 and "無効化証明書" in html.text
    assert done.ranges[0].serials in html.text
    pdf = http.get(f"/v1/certificates/{done.id}.pdf?lang=ja")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")


def test_the_operator_records_a_full_audit_that_the_page_shows(
    db: Database, http: TestClient
) -> None:
    from tanso.services.common import SYSTEM
    from tanso.services.ledger import participants

    done = retire(db)
    assert "No full audit has been recorded" in http.get(f"/verify/{done.id}?lang=en").text
    own = participants.create_api_key(db, SYSTEM, "VERIFYA", "k").key
    op = participants.create_api_key(db, SYSTEM, participants.OPERATOR_PARTICIPANT, "o").key
    refused = http.post("/v1/journal/audits", headers={"Authorization": f"Bearer {own}"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "scope_missing"
    r = http.post("/v1/journal/audits", headers={"Authorization": f"Bearer {op}"})
    assert r.status_code == 201 and r.json()["ok"] is True
    page = http.get(f"/verify/{done.id}?lang=en").text
    assert f"entries 1 to {r.json()['through_seq']}" in page


# ---------------------------------------------------------------- in Chromium


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Any, dict[str, Any]]]:
    from tanso.services.common import SYSTEM
    from tanso.services.ledger import participants, taxonomy
    from tanso.settings import utc_now
    from tanso.store import migrate

    url = f"sqlite:///{tmp_path / 'verify.db'}"
    db = Database(url, utc_now)
    migrate.upgrade(db.engine)
    participants.bootstrap(db)
    taxonomy.seed_reference_data(db, SYSTEM)
    done = retire(db)
    db.dispose()
    running = Server(url, tmp_path)
    try:
        yield running, done
    finally:
        running.stop()


@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")
def test_in_chromium_the_verify_page_says_verified_in_english_and_japanese(
    server: tuple[Any, dict[str, Any]], tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    from tests.e2e.test_public_page import CHROMIUM_ARGS, WAIT_MS, chromium

    running, done = server
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-US")
            page.set_default_timeout(WAIT_MS)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{running.url}/verify")
            page.get_by_label("Retirement id").fill(done.id)
            page.get_by_role("button", name="Verify").click()
            expect(page.locator("#verdict-text")).to_have_text("Verified")
            expect(page.locator("#cert-beneficiary")).to_have_text("VERIFYA Osaka office")
            expect(page.locator("#cert-ranges")).to_contain_text(done.ranges[0].serials)
            expect(page.locator("#cert-hash")).to_have_text(done.journal_hash)
            expect(page.locator("#check-entry_hash")).to_contain_text("OK")
            page.screenshot(path=str(tmp_path / "verify-en.png"), full_page=True)
            page.get_by_role("link", name="日本語").click()
            expect(page).to_have_url(f"{running.url}/ja/verify/{done.id}")
            expect(page.locator("#verdict-text")).to_have_text("検証済み")
            expect(page.locator("h1")).to_contain_text("無効化証明書")
            expect(page.locator("html")).to_have_attribute("lang", "ja")
        finally:
            browser.close()
    assert errors == []
