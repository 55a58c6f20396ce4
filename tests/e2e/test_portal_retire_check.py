"""Retirement, check first (issue 18): the Retire form's "Check" shows the usage rules' outcome,
the claims and the exact credits a retirement would take, with nothing changed; its confirm
button retires exactly those, or nothing if the holdings changed since. Credits are chosen by
scheme, category, project, vintage or serial range, in the portal and in the API. Both backends.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tanso.api.app import create_app
from tanso.services.common import SYSTEM, Actor
from tanso.services.ledger import participants, registry
from tanso.store import repo
from tanso.store import schema as t
from tanso.store.db import Database
from tests.conftest import add_issuance
from tests.e2e.test_portal import count, csrf, login, prepare

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

HIDDEN_RE = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)">')


@pytest.fixture
def portal(db: Database) -> Iterator[TestClient]:
    """ALPHA holds 10,000 t J-Credit energy saving 2022 (``prepare``), 300 t J-VER 2013 and
    150 t J-Credit renewable power 2021 of project PRE1; its account manager is logged in."""
    prepare(db)
    add_issuance(db, "ALPHA-MAIN", 300, vintage=2013, scheme="JV", category="JVER")
    add_issuance(db, "ALPHA-MAIN", 150, vintage=2021, category="RE_POWER", project="PRE1")
    with TestClient(create_app(db), follow_redirects=False) as http:
        login(http, "account_manager@alpha.example.jp")
        yield http


def form(http: TestClient, **fields: str) -> dict[str, str]:
    base = {"csrf": csrf(http, "/portal/retire"), "account": "ALPHA-MAIN", "purpose": "re100"}
    return base | fields


def confirm_fields(page: str) -> dict[str, str]:
    """The hidden fields of the check's confirm form, as the browser sends them."""
    m = re.search(
        r'<form method="post" action="/portal/retire" id="confirm-form">(.*?)</form>', page, re.S
    )
    assert m, "no confirm form"
    return {k: html.unescape(v) for k, v in HIDDEN_RE.findall(m.group(1))}


def held(db: Database, account: str = "ALPHA-MAIN") -> int:
    return registry.holdings(db, SYSTEM, account).total


def test_check_shows_the_outcome_the_claims_and_the_credits_and_changes_nothing(
    portal: TestClient, db: Database
) -> None:
    page = portal.get("/portal/retire").text
    assert 'action="/portal/retire/check"' in page and ">Check</button>" in page
    assert 'name="scheme"' in page and 'name="category"' in page
    assert 'name="project_id"' in page and 'name="vintage"' in page
    before = (count(db, t.retirements), held(db))
    r = portal.post(
        "/portal/retire/check", data=form(portal, quantity="100", year="2025", beneficiary="Ａ社")
    )
    assert r.status_code == 200, r.text
    assert 'id="check-outcome" data-allowed="true"' in r.text
    assert "Allowed: 100 t would be retired for the reporting year 2025." in r.text
    # the credits: the oldest renewable power credits, not the older J-VER (defect 11)
    rows = re.findall(r'<tr data-serials="([^"]+)">(.*?)</tr>', r.text, re.S)
    assert len(rows) == 1
    serials, cells = rows[0]
    assert serials.endswith("-1-100") and "PRE1" in serials
    assert "PRE1" in cells and "J-Credit" in cells and "2021" in cells and ">100<" in cells
    # the claim it supports: RE100, 100 t
    assert 'data-purpose="re100" data-allowed="true"' in r.text
    assert 'id="check-claims"' in r.text
    assert "Retire these credits — cannot be undone" in r.text
    assert (count(db, t.retirements), held(db)) == before  # nothing changed
    # confirming retires exactly those credits
    sent = confirm_fields(r.text)
    assert sent["expected"] == serials and sent["quantity"] == "100"
    assert sent["beneficiary"] == "Ａ社"
    done = portal.post("/portal/retire", data=sent)
    assert done.status_code == 200 and 'id="notice"' in done.text
    rid = re.search(r"Retired 100 t as (RT-\d+)", done.text)
    assert rid
    notice = registry.get_retirement(db, rid.group(1))
    assert [x.serials for x in notice.ranges] == [serials]
    assert notice.beneficiary == "Ａ社" and notice.reporting_year == 2025
    assert held(db) == before[1] - 100
    # the lists name the purpose in the page's language, the code beside it
    assert "RE100 reporting" in done.text
    listed = portal.get("/portal/retirements?lang=ja").text
    assert "RE100 報告" in listed and "re100" in listed
    assert "RE100 報告" in portal.get(f"/portal/retirements/{rid.group(1)}").text


def test_a_refused_check_names_the_rule_and_offers_no_retire_button(
    portal: TestClient, db: Database
) -> None:
    r = portal.post(
        "/portal/retire/check", data=form(portal, quantity="100", scheme="JV", year="2025")
    )
    assert r.status_code == 200
    assert 'id="check-outcome" data-allowed="false"' in r.text
    assert 'data-purpose="re100" data-allowed="false"' in r.text
    assert "Not allowed for re100: rule" in html.unescape(r.text)
    assert "2013" in r.text  # the J-VER credits it would have taken are shown
    assert 'id="confirm-form"' not in r.text
    assert count(db, t.retirements) == 0


def test_a_confirm_after_the_holdings_changed_retires_nothing_and_shows_the_new_check(
    portal: TestClient, db: Database
) -> None:
    r = portal.post("/portal/retire/check", data=form(portal, quantity="100", year="2025"))
    sent = confirm_fields(r.text)
    # meanwhile 50 t of the same credits are retired elsewhere (the API, another user)
    alpha = Actor("ALPHA")
    registry.retire(
        db,
        alpha,
        registry.RetirementRequest("ALPHA-MAIN", registry.Selection(50), ["re100"], "", 2025),
    )
    before = (count(db, t.retirements), held(db))
    changed = portal.post("/portal/retire", data=sent)
    assert changed.status_code == 409
    text = html.unescape(changed.text)
    assert "The holdings changed since the check" in text and "Nothing was retired" in text
    assert (count(db, t.retirements), held(db)) == before
    # the new check: the next 100 t of renewable power, with a button to retire them
    assert 'id="retire-check"' in changed.text
    new = confirm_fields(changed.text)
    assert new["expected"].endswith("-51-150")
    assert portal.post("/portal/retire", data=new).status_code == 200
    assert held(db) == before[1] - 100


def test_credits_are_chosen_by_scheme_category_project_vintage_or_serial_range(
    portal: TestClient, db: Database
) -> None:
    def taken(**fields: str) -> list[str]:
        r = portal.post("/portal/retire/check", data=form(portal, **fields))
        assert r.status_code == 200, r.text
        return re.findall(r'<tr data-serials="([^"]+)">', r.text)

    def vintages(**fields: str) -> set[int]:
        ranges = taken(**fields)
        with db.read() as conn:
            d = repo.issuance_details(conn, (s.rsplit("-", 2)[0] for s in ranges))
        return {int(v["vintage"]) for v in d.values()}

    by_quantity = {"quantity": "10", "purpose": "offset_event"}
    assert vintages(**by_quantity) == {2013}  # the oldest of any kind the purpose allows
    assert vintages(**by_quantity, scheme="JC") == {2021}
    assert vintages(**by_quantity, category="ENERGY_SAVING") == {2022}
    assert vintages(**by_quantity, project_id="PRE1") == {2021}
    assert vintages(**by_quantity, vintage="2022") == {2022}
    # a serial range takes exactly it, and must match the filter
    [pre1] = taken(**by_quantity, project_id="PRE1")
    issuance = pre1.rsplit("-", 2)[0]
    assert taken(purpose="offset_event", serials=f"{issuance}-5-9") == [f"{issuance}-5-9"]
    wrong = portal.post(
        "/portal/retire/check",
        data=form(portal, purpose="offset_event", serials=f"{issuance}-5-9", vintage="2013"),
    )
    assert wrong.status_code == 409
    assert "are not credits of vintage 2013" in html.unescape(wrong.text)
    # none of that kind held: the refusal says how many there are
    none = portal.post(
        "/portal/retire/check", data=form(portal, quantity="10", purpose="re100", vintage="2019")
    )
    assert none.status_code == 409
    assert "holds 0 credits of vintage 2019 but 10 were asked for" in html.unescape(none.text)
    assert count(db, t.retirements) == 0


def test_the_check_and_its_buttons_speak_japanese(portal: TestClient) -> None:
    page = portal.get("/portal/retire?lang=ja").text
    assert ">確認する</button>" in page and "対象クレジットの指定（任意）" in page
    r = portal.post("/portal/retire/check", data=form(portal, quantity="10", year="2025"))
    assert "無効化の確認" in r.text and "無効化されるクレジット" in r.text
    assert "これらのクレジットを無効化する（取り消せません）" in r.text


def test_a_viewer_cannot_check_or_retire(db: Database) -> None:
    prepare(db)
    with TestClient(create_app(db), follow_redirects=False) as http:
        login(http, "viewer@alpha.example.jp")
        data = {"csrf": csrf(http, "/portal/retire"), "account": "ALPHA-MAIN"}
        data |= {"quantity": "5", "purpose": "offset_event"}
        assert http.post("/portal/retire/check", data=data).status_code == 403
        assert http.post("/portal/retire", data=data).status_code == 403


# ---------------------------------------------------------------- the API


def api_key(db: Database, pid: str, roles: list[str] | None = None) -> dict[str, str]:
    out = participants.create_api_key(db, SYSTEM, pid, "test", roles)
    return {"Authorization": f"Bearer {out.key}"}


def test_the_api_checks_first_and_retires_with_the_same_filters(db: Database) -> None:
    prepare(db)
    re_power = add_issuance(db, "ALPHA-MAIN", 150, vintage=2021, category="RE_POWER")
    add_issuance(db, "ALPHA-MAIN", 300, vintage=2013, scheme="JV", category="JVER")
    with TestClient(create_app(db)) as http:
        key = api_key(db, "ALPHA")
        body: dict[str, Any] = {
            "account_id": "ALPHA-MAIN",
            "quantity": 20,
            "purpose": "offset_event",
            "scheme": "JC",
            "category": "RE_POWER",
            "vintage": 2021,
        }
        head = http.get("/v1/journal/head").json()["seq"]
        check = http.post("/v1/retirements/check", json=body, headers=key)
        assert check.status_code == 200, check.text
        out = check.json()
        assert out["allowed"] is True and out["quantity"] == 20
        assert out["serials"] == [f"{re_power}-1-20"]
        [rng] = out["ranges"]
        assert (rng["scheme"], rng["category"], rng["vintage"]) == ("JC", "RE_POWER", 2021)
        assert out["uses"][0]["purpose"] == "offset_event" and out["uses"][0]["allowed"]
        assert http.get("/v1/journal/head").json()["seq"] == head  # nothing recorded
        done = http.post(
            "/v1/retirements", json=body | {"expected_serials": out["serials"]}, headers=key
        )
        assert done.status_code == 201, done.text
        assert [r["serials"] for r in done.json()["ranges"]] == out["serials"]
        # the same confirmation again: those credits are gone, nothing more is retired
        again = http.post(
            "/v1/retirements", json=body | {"expected_serials": out["serials"]}, headers=key
        )
        assert again.status_code == 409
        assert again.json()["error"]["code"] == "retirement_changed"
        assert f"{re_power}-21-40" in again.json()["error"]["message"]
        # a filter nothing matches: 409 naming it
        none = http.post("/v1/retirements", json=body | {"vintage": 2019}, headers=key)
        assert none.status_code == 409
        assert "credits of scheme JC, category RE_POWER, vintage 2019" in none.text
        # the filters are in the OpenAPI document
        spec = http.get("/openapi.json").json()
        props = spec["components"]["schemas"]["RetirementIn"]["properties"]
        assert {"scheme", "category", "project_id", "vintage", "expected_serials"} <= set(props)
        assert "/v1/retirements/check" in spec["paths"]


def test_a_refusal_on_a_japanese_page_states_the_rule_in_japanese(portal: TestClient) -> None:
    """The usage rules' texts were English on Japanese pages; the English detail is one click
    away."""
    portal.get("/portal/retire?lang=ja")
    r = portal.post(
        "/portal/retire/check", data=form(portal, quantity="100", scheme="JV", year="2025")
    )
    page = html.unescape(r.text)
    assert "RE100が認めるのは再エネ（電力）由来のJ-クレジットだけです。" in page
    assert '<summary lang="ja">詳細（英語）</summary>Not allowed for re100: rule' in page
