"""Points programmes on the web (issue 20), in English and Japanese: the public programme pages
(methodology, totals, pools with their roots and certificates, never a member), the public check
of a member's proof against a pool's root, the programme's portal screen (a batch file accepted
or refused with its bad lines, pools opened and retired, a member looked up by hash), a
verification body's screen, and who may see and act on each; one check in headless Chromium."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tanso.api.app import create_app
from tanso.domain.participants import Role
from tanso.services.access import users
from tanso.services.common import SYSTEM, Actor
from tanso.services.ledger import audit
from tanso.services.points import ingest, pools, programmes
from tanso.store.db import Database
from tanso.web.points import mass
from tests.conftest import add_issuance, add_participant
from tests.e2e.test_portal import PASSWORD, login
from tests.integration.test_points import METHOD, Days, member

CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')
PROGRAMME = "PP-ECORIDE"
ECORIDE = Actor("ECORIDE", frozenset({Role.POINTS_PROGRAMME}))
VERIFIER = Actor("VERIFIER", frozenset({Role.VERIFICATION_BODY}))
ADMIN = "admin@ecoride.example.jp"
VIEWER = "viewer@ecoride.example.jp"
CHROMIUM = "/usr/bin/chromium"


def setup_programme(db: Database) -> None:
    """EcoRide (a points programme holding 50 t of credits), a verification body and the
    operator, each with users; the methodology published."""
    db.clock = Days("2026-11-30")
    add_participant(db, "ECORIDE")
    add_participant(db, "VERIFIER", ["verification_body"])
    add_issuance(db, "ECORIDE-MAIN", 50)
    programmes.register(
        db,
        SYSTEM,
        programmes.NewProgramme(PROGRAMME, "ECORIDE", "EcoRide points", "エコライドポイント"),
    )
    programmes.publish_methodology(db, ECORIDE, PROGRAMME, METHOD)
    for pid, email, role in (
        ("ECORIDE", ADMIN, "administrator"),
        ("ECORIDE", VIEWER, "viewer"),
        ("VERIFIER", "admin@verifier.example.jp", "administrator"),
        ("OPERATOR", "admin@operator.example.jp", "administrator"),
    ):
        users.create(db, SYSTEM, users.NewUser(pid, email, f"{pid} {role}", role, PASSWORD))


def events(*rows: tuple[str, int, str, int, str]) -> bytes:
    return "\n".join(
        json.dumps(
            {"event_id": e, "member": member(m), "action": a, "quantity": q, "occurred_on": d}
        )
        for e, m, a, q, d in rows
    ).encode()


def retired_pool(db: Database) -> pools.PoolRetirement:
    """Two members earn, pledge 1,250,000 g to a pool, and the pool retires 1 t."""
    ingest.ingest(
        db,
        ECORIDE,
        PROGRAMME,
        events(
            ("e1", 1, "cycled_km", 8_000, "2026-11-01"), ("e2", 2, "cycled_km", 2_000, "2026-11-02")
        ),
    )
    pool = pools.open_pool(db, ECORIDE, PROGRAMME, "Autumn forest pool")
    pools.pledge(
        db,
        ECORIDE,
        PROGRAMME,
        pool.id,
        [pools.Pledge(member(1), 1_000_000), pools.Pledge(member(2), 250_000)],
    )
    return pools.retire_pool(db, ECORIDE, PROGRAMME, pool.id)


@pytest.fixture
def http(db: Database) -> Iterator[TestClient]:
    setup_programme(db)
    with TestClient(create_app(db), follow_redirects=False) as client:
        yield client


def _as(http: TestClient, email: str, path: str = "/portal/points") -> str:
    """Log in as ``email``; the CSRF token of its session."""
    http.cookies.clear()
    assert login(http, email).status_code == 303
    m = CSRF_RE.search(http.get(path).text)
    assert m, path
    return m.group(1)


def _refusal(html: str, form: str) -> str:
    m = re.search(rf'id="{form}-error" data-code="([^"]+)"', html)
    return m.group(1) if m else ""


def test_mass_reads_in_the_unit_a_person_expects() -> None:
    assert [mass(g) for g in (0, 999, 1_000, 12_345, 999_949, 1_000_000, 1_250_000)] == [
        "0 g",
        "999 g",
        "1 kg",
        "12.3 kg",
        "999.9 kg",
        "1 t",
        "1.25 t",
    ]
    assert mass(1_234_567_890) == "1,234.57 t" and mass(None) == "—"


# ---------------------------------------------------------------- the public pages


def test_the_programme_pages_show_methodology_totals_and_pools_but_never_a_member(
    http: TestClient, db: Database
) -> None:
    done = retired_pool(db)
    page = http.get("/points")
    assert page.status_code == 200 and page.headers["content-language"] == "en"
    assert f'data-programme="{PROGRAMME}"' in page.text and "EcoRide points" in page.text
    page = http.get(f"/points/{PROGRAMME}").text
    assert 'id="members" class="num">2<' in page
    assert '<dd id="earned" class="num"><span class="mass" data-grams="1300000"' in page
    assert "1.3 t" in page and 'id="retired-tonnes" class="num">1 t' in page
    assert 'data-grams="250000"' in page  # 0.25 t carried to the next pool
    assert 'data-action="cycled_km"' in page and "130 g" in page and "1,200 g" in page
    assert 'data-settled="no"' in page and "municipal_inventory" in page
    assert METHOD["source"] in page
    assert f'href="/verify/pools/{done.pool.id}"' in page
    assert f'href="/verify/{done.retirement.id}"' in page
    assert (done.pool.merkle_root or "")[:16] in page
    ja = http.get(f"/ja/points/{PROGRAMME}")
    assert ja.headers["content-language"] == "ja"
    assert "エコライドポイント" in ja.text and "方法論" in ja.text and "二重計上" in ja.text
    assert "公共交通の利用" in ja.text and "無効化証明書" in ja.text
    assert f'href="/ja/verify/pools/{done.pool.id}"' in ja.text
    listing_ja = http.get("/ja/points").text
    assert "行動変容ポイント" in listing_ja and f"/ja/points/{PROGRAMME}" in listing_ja
    for body in (page, ja.text, listing_ja, http.get("/points").text):
        assert member(1) not in body and member(2) not in body
    assert "/points" in http.get("/en").text  # the public navigation links the list
    for path in ("/points/PP-NOPE", "/ja/points/PP-NOPE", "/verify/pools/PL-NOPE"):
        r = http.get(path)
        assert r.status_code == 404, path
    assert (
        "該当する行動変容ポイントのプログラムはありません。" in http.get("/ja/points/PP-NOPE").text
    )


def test_a_member_checks_its_proof_on_the_pools_page_in_english_and_japanese(
    http: TestClient, db: Database
) -> None:
    done = retired_pool(db)
    pool_id = done.pool.id
    proof = pools.proof(db, ECORIDE, PROGRAMME, pool_id, member(2))
    pasted = json.dumps(
        {
            "pool_id": proof.pool_id,
            "member": proof.member,
            "grams": proof.grams,
            "salt": proof.salt,
            "path": [{"side": s.side, "hash": s.hash} for s in proof.path],
            "merkle_root": proof.merkle_root,
        }
    )
    page = http.get(f"/verify/pools/{pool_id}")
    assert page.status_code == 200 and done.pool.merkle_root in page.text
    assert f'href="/verify/{done.retirement.id}"' in page.text
    token = CSRF_RE.search(page.text)
    assert token and http.cookies.get("tanso_proof_csrf") == token.group(1)
    r = http.post(
        f"/verify/pools/{pool_id}?lang=en", data={"csrf": token.group(1), "proof": pasted}
    )
    assert r.status_code == 200 and 'data-verified="true"' in r.text
    assert f"Verified: a share of 250,000 g is included in pool {pool_id}" in r.text
    assert 'id="verdict-share"' in r.text and "250 kg" in r.text
    altered = json.loads(pasted) | {"grams": 250_001}
    r = http.post(
        f"/verify/pools/{pool_id}", data={"csrf": token.group(1), "proof": json.dumps(altered)}
    )
    assert 'data-verified="false"' in r.text and "does not lead to this pool" in r.text
    r = http.post(f"/verify/pools/{pool_id}", data={"csrf": token.group(1), "proof": "hello"})
    assert 'data-verified="false"' in r.text and "This is not a proof" in r.text
    r = http.post(
        f"/verify/pools/{pool_id}?lang=ja", data={"csrf": token.group(1), "proof": pasted}
    )
    assert r.headers["content-language"] == "ja" and "検証済み" in r.text
    # a form from elsewhere, or without the cookie's token, is refused and checks nothing
    r = http.post(f"/verify/pools/{pool_id}", data={"csrf": "forged", "proof": pasted})
    assert r.status_code == 403 and 'data-error="csrf_failed"' in r.text
    r = http.post(
        f"/verify/pools/{pool_id}",
        data={"csrf": token.group(1), "proof": pasted},
        headers={"Origin": "https://evil.example"},
    )
    assert r.status_code == 403
    assert http.post("/verify/pools/PL-NOPE", data={"csrf": token.group(1)}).status_code == 404


def test_an_open_pool_says_proofs_come_once_it_retires(http: TestClient, db: Database) -> None:
    pool = pools.open_pool(db, ECORIDE, PROGRAMME, "Winter pool")
    page = http.get(f"/ja/verify/pools/{pool.id}").text
    assert 'id="pool-not-retired"' in page and "拠出受付中" in page
    token = CSRF_RE.search(page)
    assert token
    r = http.post(f"/verify/pools/{pool.id}", data={"csrf": token.group(1), "proof": "{}"})
    assert 'data-verified="false"' in r.text and "has not retired yet" in r.text


# ---------------------------------------------------------------- the programme's portal screen


CSV_OK = (
    "event_id,member,action,quantity,occurred_on\n"
    f"c1,{member(1)},cycled_km,8000,2026-11-01\n"
    f"c2,{member(2)},transit_ride,2,2026-11-02\n"
)


def test_the_programme_sends_batches_opens_and_retires_pools_and_looks_members_up(
    http: TestClient, db: Database
) -> None:
    csrf = _as(http, ADMIN)
    page = http.get("/portal/points")
    assert page.status_code == 200 and 'id="nav-points"' in page.text
    assert 'id="no-batches"' in page.text and 'id="batch-form"' in page.text
    # a file with bad lines: refused whole, every bad line in the table
    bad = (
        CSV_OK
        + "c3,taro@example.jp,cycled_km,1,2026-11-01\nc4,"
        + member(1)
        + ",flying,1,2026-11-01\n"
    )
    r = http.post(
        "/portal/points/batches",
        data={"csrf": csrf, "programme": PROGRAMME},
        files={"file": ("events.csv", bad.encode(), "text/csv")},
    )
    assert r.status_code == 422 and _refusal(r.text, "batch") == "batch_refused"
    assert 'id="bad-lines"' in r.text and 'data-line="4"' in r.text and 'data-line="5"' in r.text
    assert "taro@example.jp" not in r.text  # the refusal names the line, not the value
    assert programmes.list_batches(db, ECORIDE, PROGRAMME) == []
    r = http.post(
        "/portal/points/batches",
        data={"csrf": csrf, "programme": PROGRAMME},
        files={"file": ("events.csv", CSV_OK.encode(), "text/csv")},
    )
    assert r.status_code == 200, r.text[:400]
    assert "accepted: 2 events (1.04 t)" in r.text and 'data-verification="pending"' in r.text
    jsonl = events(("j1", 2, "cycled_km", 10, "2026-11-03"))
    r = http.post(
        "/portal/points/batches",
        data={"csrf": csrf, "programme": PROGRAMME, "format": ""},
        files={"file": ("events.jsonl", jsonl, "application/x-ndjson")},
    )
    assert r.status_code == 200 and "accepted: 1 events (1.3 kg)" in r.text
    r = http.post("/portal/points/batches", data={"csrf": csrf, "programme": PROGRAMME})
    assert r.status_code == 422 and "Choose a file of events." in r.text
    # pools: open, refused below a tonne, retired once a tonne is pledged
    r = http.post("/portal/points/pools", data={"csrf": csrf, "programme": PROGRAMME, "name": ""})
    assert r.status_code == 422 and _refusal(r.text, "open_pool") == "invalid_input"
    r = http.post(
        "/portal/points/pools", data={"csrf": csrf, "programme": PROGRAMME, "name": "Forest"}
    )
    assert r.status_code == 200 and "is open for pledges" in r.text
    pool_id = re.search(r"Pool (PL-\d+) \(Forest\)", r.text)
    assert pool_id
    pid = pool_id.group(1)
    form = {"csrf": csrf, "programme": PROGRAMME, "pool": pid}
    r = http.post("/portal/points/pools/retirement", data=form)
    assert r.status_code == 409 and _refusal(r.text, "retire_pool") == "pool_below_a_tonne"
    r = http.post("/portal/points/pools/retirement", data=form | {"vintage": "20x2"})
    assert r.status_code == 422
    pools.pledge(db, ECORIDE, PROGRAMME, pid, [pools.Pledge(member(1), 1_000_000)])
    r = http.post("/portal/points/pools/retirement", data=form | {"vintage": "2021"})
    assert r.status_code == 409  # the credits chosen: ECORIDE holds none of 2021
    assert _refusal(r.text, "retire_pool") == "insufficient_credits"
    r = http.post("/portal/points/pools/retirement", data=form | {"vintage": "2022"})
    assert r.status_code == 200, r.text[:400]
    assert f"Pool {pid} retired 1 t (RT-" in r.text and 'data-status="retired"' in r.text
    # a member by its hash: balance and history; anything else is refused
    r = http.get(f"/portal/points?programme={PROGRAMME}&member={member(1)}")
    assert r.status_code == 200 and 'id="member-balance"' in r.text
    assert 'data-event="c1"' in r.text and 'id="member-available"' in r.text
    assert "40 kg" in r.text  # 1,040,000 g earned − 1,000,000 g pledged
    r = http.get(f"/portal/points?programme={PROGRAMME}&member=taro")
    assert r.status_code == 422 and _refusal(r.text, "member") == "invalid_member"
    r = http.get(f"/portal/points?programme={PROGRAMME}&member={'0' * 64}")
    assert r.status_code == 404 and _refusal(r.text, "member") == "member_not_found"
    # the same screen in Japanese
    ja = http.get("/portal/points?lang=ja").text
    assert "行動データのバッチ" in ja and "会員の照会" in ja and "無効化済み" in ja
    r = http.post("/portal/points/pools/retirement", data=form)
    assert r.status_code == 409 and _refusal(r.text, "retire_pool") == "pool_closed"
    assert audit.verify(db).ok


def test_a_viewer_reads_the_programme_but_may_not_act(http: TestClient, db: Database) -> None:
    ingest.ingest(db, ECORIDE, PROGRAMME, events(("e1", 1, "cycled_km", 10, "2026-11-01")))
    csrf = _as(http, VIEWER)
    page = http.get("/portal/points").text
    assert 'id="read-only"' in page and 'id="batch-form"' not in page and 'data-batch="' in page
    r = http.post("/portal/points/pools", data={"csrf": csrf, "programme": PROGRAMME, "name": "x"})
    assert r.status_code == 403
    assert pools.list_pools(db, PROGRAMME) == []


def test_other_participants_see_no_programme_screen_and_the_operator_reads_every_one(
    http: TestClient, db: Database
) -> None:
    _as(http, "admin@verifier.example.jp", "/portal/points/verifications")
    assert http.get("/portal/points").status_code == 403
    csrf = _as(http, "admin@operator.example.jp")
    page = http.get("/portal/points").text
    assert f'data-programme="{PROGRAMME}"' in page and 'id="read-only"' in page
    r = http.post("/portal/points/pools", data={"csrf": csrf, "programme": PROGRAMME, "name": "x"})
    assert r.status_code == 403


# ---------------------------------------------------------------- the verification body's screen


def test_a_verification_body_verifies_and_returns_batches(http: TestClient, db: Database) -> None:
    first = ingest.ingest(db, ECORIDE, PROGRAMME, events(("e1", 1, "cycled_km", 10, "2026-11-01")))
    second = ingest.ingest(db, ECORIDE, PROGRAMME, events(("e2", 1, "cycled_km", 5, "2026-11-02")))
    csrf = _as(http, "admin@verifier.example.jp", "/portal/points/verifications")
    page = http.get("/portal/points/verifications")
    assert page.status_code == 200 and 'id="nav-points-verifications"' in page.text
    assert f'data-batch="{first.id}"' in page.text and f'data-batch="{second.id}"' in page.text
    r = http.post(
        "/portal/points/verifications",
        data={"csrf": csrf, "programme": PROGRAMME, "batch": first.id, "decision": "verified"},
    )
    assert r.status_code == 200 and f"Batch {first.id} of {PROGRAMME} verified" in r.text
    assert f'data-batch="{first.id}"' not in r.text
    data = {"csrf": csrf, "programme": PROGRAMME, "batch": second.id, "decision": "returned"}
    r = http.post("/portal/points/verifications", data=data)
    assert r.status_code == 422 and 'data-code="invalid_findings"' in r.text
    r = http.post("/portal/points/verifications", data=data | {"findings": "No receipts."})
    assert r.status_code == 200 and "returned with findings" in r.text
    r = http.post(
        "/portal/points/verifications",
        data={"csrf": csrf, "programme": PROGRAMME, "batch": first.id, "decision": "verified"},
    )
    assert r.status_code == 409 and 'data-code="batch_already_verified"' in r.text
    ja = http.get("/portal/points/verifications?lang=ja").text
    assert "確認待ちのポイントのバッチ" in ja and "確認待ちのバッチはありません。" in ja
    assert programmes.get_programme(db, PROGRAMME).verified_grams == 1_300
    # the programme sees the decisions; it may not open the verification screen
    _as(http, ADMIN)
    page = http.get("/portal/points").text
    assert 'data-verification="verified"' in page and "No receipts." in page
    assert http.get("/portal/points/verifications").status_code == 403
    # the operator reads the list but has no form
    _as(http, "admin@operator.example.jp", "/portal/points/verifications")
    page = http.get("/portal/points/verifications").text
    assert 'id="points-read-only"' in page
    assert audit.verify(db).ok


# ---------------------------------------------------------------- in Chromium


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Any, dict[str, str]]]:
    from tanso.harness.devserver import ServerProcess as Server
    from tanso.services.ledger import participants, taxonomy
    from tanso.settings import utc_now
    from tanso.store import migrate

    url = f"sqlite:///{tmp_path / 'points.db'}"
    db = Database(url, utc_now)
    migrate.upgrade(db.engine)
    participants.bootstrap(db)
    taxonomy.seed_reference_data(db, SYSTEM)
    setup_programme(db)
    done = retired_pool(db)
    proof = pools.proof(db, ECORIDE, PROGRAMME, done.pool.id, member(1))
    pasted = json.dumps(
        {
            "pool_id": proof.pool_id,
            "member": proof.member,
            "grams": proof.grams,
            "salt": proof.salt,
            "path": [{"side": s.side, "hash": s.hash} for s in proof.path],
        }
    )
    db.dispose()
    running = Server(url, tmp_path)
    try:
        yield running, {"pool": done.pool.id, "proof": pasted}
    finally:
        running.stop()


@pytest.mark.browser
@pytest.mark.full
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")
def test_in_chromium_a_member_verifies_its_share_in_english_and_japanese(
    server: tuple[Any, dict[str, str]], tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    from tests.e2e.test_public_page import CHROMIUM_ARGS, WAIT_MS, chromium

    running, facts = server
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-US")
            page.set_default_timeout(WAIT_MS)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on(
                "console",
                lambda m: errors.append(m.text) if m.type == "error" else None,
            )
            page.goto(f"{running.url}/points/{PROGRAMME}")
            page.locator(f'tr[data-pool="{facts["pool"]}"] a.verify-pool').click()
            expect(page.locator("#pool-tonnes")).to_have_text("1 t")
            page.get_by_label("Proof (JSON)").fill(facts["proof"])
            page.get_by_role("button", name="Verify").click()
            expect(page.locator("#verdict")).to_have_attribute("data-verified", "true")
            expect(page.locator("#verdict-message")).to_contain_text("1,000,000 g")
            page.screenshot(path=str(tmp_path / "pool-en.png"), full_page=True)
            page.get_by_role("link", name="日本語").click()
            expect(page).to_have_url(f"{running.url}/ja/verify/pools/{facts['pool']}")
            page.get_by_label("証明（JSON）").fill(facts["proof"].replace("1000000", "999999"))
            page.get_by_role("button", name="検証").click()
            expect(page.locator("#verdict-text")).to_have_text("検証できません")
            expect(page.locator("html")).to_have_attribute("lang", "ja")
        finally:
            browser.close()
    assert errors == []
