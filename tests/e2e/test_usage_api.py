"""Usage rules and emissions inventories over HTTP (REST and portal), on both backends."""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tanso.api.app import create_app
from tanso.client import ApiError, Client
from tanso.domain.participants import Role
from tanso.services.common import SYSTEM, Actor
from tanso.services.compliance.inventories import Inventory
from tanso.services.ledger import audit, participants
from tanso.store.db import Database
from tests.conftest import add_issuance, add_participant, verified_inventory
from tests.e2e.test_portal import csrf, login, prepare

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def clients(db: Database) -> Iterator[dict[str, Any]]:
    keys = {"OPERATOR": participants.create_api_key(db, SYSTEM, "OPERATOR").key}
    for pid in ("ALPHA", "BETA"):
        add_participant(db, pid)
        keys[pid] = participants.create_api_key(db, SYSTEM, pid).key
    add_issuance(db, "ALPHA-MAIN", 1_000, vintage=2024, scheme="JM", category="JCM")
    add_issuance(db, "ALPHA-MAIN", 500, vintage=2021, scheme="VCS", category="VOLUNTARY_NATURE")
    with TestClient(create_app(db)) as http:
        cs = {
            pid: Client("http://testserver", key, transport=http._transport)  # type: ignore[attr-defined]
            for pid, key in keys.items()
        }
        yield cs | {"db": db, "http": http}


def test_an_inventory_is_recorded_read_and_exported_over_rest(clients: dict[str, Any]) -> None:
    alpha, beta = clients["ALPHA"], clients["BETA"]
    out = alpha.record_inventory(
        "ALPHA",
        2026,
        scope1=1_000,
        scope2_location=400,
        scope2_market=300,
        scope3_categories={"1": 5_000, "6": 30},
        reduction_scope1=100,
        target_scope12=1_200,
    )
    assert out.scope3 == 5_030 and out.target_scope3 is None
    got = alpha.inventory("ALPHA", 2026)
    assert got.position["1"].residual == 900
    assert [v.reporting_year for v in alpha.inventories("ALPHA")] == [2026]
    with pytest.raises(ApiError) as e:
        beta.inventory("ALPHA", 2026)
    assert e.value.status == 404
    with pytest.raises(ApiError) as e:
        beta.record_inventory("ALPHA", 2026, scope1=1)
    assert e.value.status == 403
    with pytest.raises(ApiError) as e:
        alpha.record_inventory("ALPHA", 2026, scope1=-5)
    assert e.value.status == 422
    with pytest.raises(ApiError) as e:
        alpha.record_inventory("ALPHA", 2026, scope3_categories={"16": 5})
    assert e.value.status == 422 and e.value.code == "invalid_scope3_category"
    csv = alpha._http.get("/v1/inventories/ALPHA", params={"format": "csv"})
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[1].startswith("ALPHA,2026,1000,400,300,5000,")


def test_a_csv_import_reports_every_bad_row_and_imports_nothing(clients: dict[str, Any]) -> None:
    alpha = clients["ALPHA"]
    with pytest.raises(ApiError) as e:
        alpha.import_inventories("year,scope1\n2024,10\n2025,x\n2026,-1\n")
    assert e.value.status == 422 and "row 3" in e.value.message and "row 4" in e.value.message
    assert alpha.inventories("ALPHA") == []
    out = alpha.import_inventories("year,scope1,scope3_c1\n2024,10,5\n2025,20,\n")
    assert out.imported == 2


def test_evaluate_and_retire_over_rest_name_the_rule_and_its_source(
    clients: dict[str, Any],
) -> None:
    alpha = clients["ALPHA"]
    alpha.record_inventory("ALPHA", 2026, scope1=1_000)
    # the GX-ETS cap counts only verified emissions: covered, reported, verified (as over REST)
    alpha_actor = Actor("ALPHA", frozenset({Role.TRADER}))
    verified_inventory(clients["db"], alpha_actor, "ALPHA", 2026, Inventory(scope1=1_000))
    # oldest first: the VCS 2021 credits come first and are not GX-ETS eligible
    d = alpha.evaluate_use("ALPHA-MAIN", "gx_ets_surrender", quantity=50, reporting_year=2026)
    assert not d.allowed and d.max_quantity == 0
    assert any(r.rule == "GX-P2-ELIGIBLE" and "GX-ETS" in r.source for r in d.reasons)
    jcm = alpha.holdings("ALPHA-MAIN").blocks
    serials = next(b.issuance_id for b in jcm if b.scheme == "JM")
    d = alpha.evaluate_use(
        "ALPHA-MAIN", "gx_ets_surrender", serials=f"{serials}-1-150", reporting_year=2026
    )
    assert not d.allowed and d.max_quantity == 100 and d.tonnes == 150
    with pytest.raises(ApiError) as e:
        alpha.retire(
            "ALPHA-MAIN", "gx_ets_surrender", serials=f"{serials}-1-150", reporting_year=2026
        )
    assert e.value.status == 409 and e.value.code == "usage_not_allowed"
    assert "GX-P2-CAP-10" in e.value.message
    out = alpha.retire(
        "ALPHA-MAIN", "gx_ets_surrender", serials=f"{serials}-1-100", reporting_year=2026
    )
    assert out.usage[0].tonnes == 100
    assert alpha.inventory("ALPHA", 2026).claims[0].tonnes == 100
    with pytest.raises(ApiError) as e:
        alpha.evaluate_use("BETA-MAIN", "offset_scope3", quantity=1)
    assert e.value.status == 404
    with pytest.raises(ApiError) as e:
        alpha.evaluate_use("ALPHA-MAIN", "offset_everything", quantity=1)
    assert e.value.status == 422
    assert audit.verify(clients["db"]).ok


def test_rule_sets_are_public_and_only_the_operator_adds_one(clients: dict[str, Any]) -> None:
    http: TestClient = clients["http"]
    listed = http.get("/v1/usage/rulesets").json()
    assert listed[0]["id"] == "tanso-default" and listed[0]["in_force"]
    current = http.get("/v1/usage/rulesets/current", params={"date": "2026-05-01"}).json()
    assert {r["id"] for r in current["rules"]} >= {"GX-P2-CAP-10", "RE100-ELIGIBLE"}
    assert http.get("/v1/usage/rulesets/current", params={"date": "2001-01-01"}).status_code == 422
    doc = json.loads(
        resources.files("tanso").joinpath("data/rules/default-2026.json").read_text("utf-8")
    )
    new = doc | {"version": "2027.1", "effective_from": "2027-04-01"}
    with pytest.raises(ApiError) as e:
        clients["ALPHA"].add_usage_ruleset(new)
    assert e.value.status == 403
    out = clients["OPERATOR"].add_usage_ruleset(new)
    assert out.version == "2027.1" and out.origin == "operator"
    with pytest.raises(ApiError) as e:
        clients["OPERATOR"].add_usage_ruleset(new | {"version": "2027.2", "rules": "none"})
    assert e.value.status == 422 and e.value.code == "invalid_ruleset"
    later = clients["ALPHA"].usage_ruleset_in_force("2027-04-01")
    assert later.version == "2027.1"


# ---------------------------------------------------------------- portal


@pytest.fixture
def portal(db: Database) -> Iterator[TestClient]:
    prepare(db)
    with TestClient(create_app(db), follow_redirects=False) as http:
        yield http


def test_the_emissions_screen_records_a_year_and_imports_a_csv(
    portal: TestClient, db: Database
) -> None:
    login(portal, "account_manager@alpha.example.jp")
    page = portal.get("/portal/emissions")
    assert page.status_code == 200 and 'id="no-inventory"' in page.text
    token = csrf(portal, "/portal/emissions")
    form = {"csrf": token, "year": "2025", "scope1": "1,200", "scope2_location": "300"}
    r = portal.post("/portal/emissions", data=form | {"c6": "40", "reduction_scope1": "200"})
    assert r.status_code == 200 and 'id="notice"' in r.text
    assert 'data-year="2025"' in r.text and 'data-scope="1"' in r.text
    assert "1,000" in r.text  # residual of Scope 1: 1,200 - 200
    bad = portal.post("/portal/emissions", data=form | {"scope1": "lots"})
    assert bad.status_code == 422 and 'id="form-error"' in bad.text
    bad = portal.post("/portal/emissions", data=form | {"reduction_scope1": "5000"})
    assert bad.status_code == 422 and "exceed" in bad.text
    assert 'enctype="multipart/form-data"' in r.text and 'type="file" id="csv-file"' in r.text
    r = upload(portal, token, b"year,scope1\n2024,x\n")
    assert r.status_code == 422 and 'id="import-error"' in r.text and "row 2" in r.text
    r = upload(portal, token, b"\xef\xbb\xbfreporting_year,scope1\n2024,77\n")  # with a BOM
    assert r.status_code == 200 and 'data-year="2024"' in r.text
    csv = portal.get("/portal/emissions.csv")
    assert csv.status_code == 200 and "\nALPHA,2025,1200," in csv.text
    ja = portal.get("/portal/emissions?year=2025&lang=ja")
    assert "排出量インベントリ" in ja.text and "残余排出量" in ja.text
    # BETA sees none of it
    portal.cookies.clear()
    login(portal, "administrator@beta.example.jp")
    assert 'id="no-inventory"' in portal.get("/portal/emissions?year=2025").text


def upload(portal: TestClient, token: str, data: bytes, query: str = "") -> Any:
    files = {"file": ("inventories.csv", data, "text/csv")}
    return portal.post(f"/portal/emissions/import{query}", data={"csrf": token}, files=files)


@pytest.mark.parametrize(
    ("data", "english", "japanese"),
    [
        (b"", "the file sent is empty", "送られたファイルは空です"),
        (b"\xef\xbb\xbf\n \n", "the file sent is empty", "送られたファイルは空です"),
        (
            b"reporting_year,note\n2024,caf\xe9\n",  # Latin-1, as an old spreadsheet saves it
            "The file is not UTF-8 text",
            "UTF-8 のテキストではありません",
        ),
        (
            b"reporting_year,scope1\n" + b"2024,1\n" * 300_000,  # 2.1 MB: over the file's limit
            "at most 2,000,000 bytes (2 MB)",
            "2,000,000 バイト (2 MB) までです",
        ),
    ],
    ids=["empty", "only a BOM and blanks", "not UTF-8", "too large"],
)
def test_an_empty_too_large_or_non_utf8_file_is_refused_with_a_message_in_each_language(
    portal: TestClient, data: bytes, english: str, japanese: str
) -> None:
    login(portal, "account_manager@alpha.example.jp")
    token = csrf(portal, "/portal/emissions")
    for query, text in (("", english), ("?lang=ja", japanese)):
        r = upload(portal, token, data, query)
        assert r.status_code == 422 and 'id="import-error"' in r.text, query
        assert text in r.text, query
    assert 'id="no-inventory"' in portal.get("/portal/emissions").text  # nothing imported


def test_no_file_chosen_is_refused_and_a_form_without_its_token_changes_nothing(
    portal: TestClient,
) -> None:
    login(portal, "account_manager@alpha.example.jp")
    token = csrf(portal, "/portal/emissions")
    # what a browser sends when no file was chosen: the part, with no name and no bytes
    files = {"file": ("", b"", "application/octet-stream")}
    r = portal.post("/portal/emissions/import", data={"csrf": token}, files=files)
    assert r.status_code == 422 and "the file sent is empty" in r.text
    r = portal.post("/portal/emissions/import", data={"csrf": token})  # no part at all
    assert r.status_code == 422 and "the file sent is empty" in r.text
    good = {"file": ("inventories.csv", b"reporting_year,scope1\n2024,77\n", "text/csv")}
    for form in ({}, {"csrf": "forged"}):
        r = portal.post("/portal/emissions/import", data=form, files=good)
        assert r.status_code == 403
    assert 'id="no-inventory"' in portal.get("/portal/emissions").text


def test_the_portal_upload_has_the_apis_upload_limit_not_the_forms_limit(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepare(db)
    monkeypatch.setenv("TANSO_MAX_BODY_BYTES", "20000")
    monkeypatch.setenv("TANSO_MAX_UPLOAD_BYTES", "200000")
    with TestClient(create_app(db), follow_redirects=False) as portal:
        login(portal, "account_manager@alpha.example.jp")
        token = csrf(portal, "/portal/emissions")
        # over the forms' 20,000 bytes, under the uploads' 200,000: the screen imports it
        note = b"x" * 1_000
        rows = b"".join(b"%d,%d,%s\n" % (2000 + i, i, note) for i in range(50))
        r = upload(portal, token, b"reporting_year,scope1,note\n" + rows)
        assert r.status_code == 200 and 'id="notice"' in r.text, r.status_code
        # over the uploads' limit: 413 before the screen, the session or the token is looked at
        portal.cookies.clear()
        r = upload(portal, "no token", b"x" * 300_000)
        assert r.status_code == 413 and r.json()["error"]["code"] == "body_too_large"


def test_a_viewer_sees_the_inventory_but_cannot_change_it(portal: TestClient) -> None:
    login(portal, "viewer@alpha.example.jp")
    page = portal.get("/portal/emissions")
    assert page.status_code == 200 and 'id="inventory-form"' not in page.text
    token = csrf(portal, "/portal/orders")
    r = portal.post("/portal/emissions", data={"csrf": token, "year": "2025", "scope1": "1"})
    assert r.status_code == 403
    r = portal.post("/portal/emissions", data={"csrf": "forged", "year": "2025"})
    assert r.status_code == 403
