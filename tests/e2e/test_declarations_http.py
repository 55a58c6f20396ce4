"""Declarations for products and cargoes over HTTP (issue 23 part 2): the declarant opens a cargo
declaration and attaches its statement, the accredited body verifies it, the declarant links
its retirements and declares; a stranger finds neither the draft nor its evidence (404) until
the declaration is made, then anyone reads both; the public page answers in English and Japanese
with the journal check, and ``/verify?id=DC-...`` leads to it."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tanso.api import routes_declarations
from tanso.api.app import create_app
from tanso.domain.participants import OPERATOR_PARTICIPANT, Role
from tanso.services.common import SYSTEM, Actor
from tanso.services.cycle import accreditation
from tanso.services.ledger import audit, participants, registry
from tanso.services.ledger.registry import RetirementRequest, Selection
from tanso.store.db import Database
from tanso.web import declarations as declaration_pages
from tests.conftest import add_issuance, add_participant

pytestmark = [
    pytest.mark.fast_backends("sqlite"),  # PostgreSQL: the integration tests, and make test-all
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.single_process("the test adds the declarations' routers to the app"),
]

REGISTRY = Actor(OPERATOR_PARTICIPANT, frozenset({Role.REGISTRY_OPERATOR}))
STATEMENT = b"Cargo statement LNG-2026-0042\n"
CARGO = {
    "unit_kind": "lng_cargo",
    "title": "LNG cargo LNG-2026-0042",
    "reference": {
        "cargo_id": "LNG-2026-0042",
        "vessel": "Pacific Enlighten",
        "load_port": "Gorgon",
        "discharge_port": "Sodegaura",
        "date": "2026-01-04",
    },
    "verifier_id": "VB",
    "stages": [
        {"stage": "upstream", "tonnes": 2_000, "method": "Metered fuel and flare data"},
        {"stage": "shipping", "tonnes": 800, "method": "Voyage log"},
    ],
    "reductions": [{"description": "Flare gas recovery", "tonnes": 150}],
}


def app_of(db: Database) -> FastAPI:
    """The app with the declarations' routers (added here until api/app.py includes them)."""
    app = create_app(db)
    paths = {getattr(r, "path", "") for r in app.routes}
    if "/v1/declarations" not in paths:
        app.include_router(routes_declarations.router)
    if "/declarations/{declaration_id}" not in paths:
        app.include_router(declaration_pages.router)
    return app


@pytest.fixture
def http(db: Database) -> Iterator[tuple[TestClient, dict[str, dict[str, str]]]]:
    add_participant(db, "DECL")
    add_participant(db, "OTHER")
    add_participant(db, "VB", ["verification_body"])
    accreditation.grant(db, REGISTRY, "VB", "FOOTPRINT", "lng_cargo", "2026-01-01")
    add_issuance(db, "DECL-MAIN", 5_000)
    key = participants.create_api_key
    auth = {
        pid: {"Authorization": f"Bearer {key(db, SYSTEM, pid, 'k').key}"}
        for pid in ("DECL", "OTHER", "VB")
    }
    with TestClient(app_of(db), follow_redirects=False) as client:
        yield client, auth
    report = audit.verify(db)
    assert report.ok, report.problems


def error(r: Any) -> tuple[int, str]:
    return r.status_code, r.json()["error"]["code"]


def retire(db: Database, quantity: int) -> str:
    request = RetirementRequest("DECL-MAIN", Selection(quantity=quantity), ["offset_product"])
    return registry.retire(db, Actor("DECL", frozenset({Role.TRADER})), request).id


def test_a_cargo_is_declared_over_http_and_its_evidence_opens_to_anyone_after(
    http: Any, db: Database
) -> None:
    c, auth = http
    r = c.post("/v1/declarations", headers=auth["DECL"], json=CARGO)
    assert r.status_code == 201, r.text
    d = r.json()
    path = f"/v1/declarations/{d['id']}"
    assert (d["state"], d["measured_tonnes"]) == ("draft", 2_800)
    assert "verification" not in d and "text_en" not in d
    content = base64.b64encode(STATEMENT).decode()
    body = {"file_name": "statement.txt", "media_type": "text/plain", "content_base64": content}
    r = c.post(f"{path}/evidence", headers=auth["DECL"], json=body)
    assert r.status_code == 201, r.text
    ev = r.json()
    file_path = f"{path}/evidence/{ev['id']}"
    # before the declaration: the parties only; a stranger finds nothing
    assert c.get(file_path, headers=auth["VB"]).content == STATEMENT
    for headers in (auth["OTHER"], {}):
        assert error(c.get(file_path, headers=headers)) == (404, "declaration_not_found")
        assert error(c.get(path, headers=headers)) == (404, "declaration_not_found")
    assert c.get(f"/declarations/{d['id']}").status_code == 404
    assert c.get("/v1/declarations").json() == []
    assert [x["id"] for x in c.get("/v1/declarations", headers=auth["DECL"]).json()] == [d["id"]]
    verification = {"verified_tonnes": 2_750, "findings": "", "statement": "Verified."}
    r = c.post(f"{path}/verification", headers=auth["DECL"], json=verification)
    assert error(r) == (403, "scope_missing")
    r = c.post(f"{path}/verification", headers=auth["VB"], json=verification)
    assert r.status_code == 200, r.text
    assert r.json()["verification"]["verified_tonnes"] == 2_750
    assert error(c.post(f"{path}/declare", headers=auth["DECL"])) == (409, "not_covered")
    rids = [retire(db, 2_000), retire(db, 750)]
    r = c.post(f"{path}/retirements", headers=auth["DECL"], json={"retirement_ids": rids})
    assert r.status_code == 200 and r.json()["retired_tonnes"] == 2_750, r.text
    r = c.post(f"{path}/declare", headers=auth["DECL"])
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "declared" and "GHG neutral" in r.json()["text_en"]
    # after: anyone
    assert c.get(file_path).content == STATEMENT
    assert c.get(file_path).headers["X-Evidence-SHA256"] == ev["sha256"]
    assert [x["id"] for x in c.get("/v1/declarations").json()] == [d["id"]]
    r = c.post(f"{path}/withdraw", headers=auth["OTHER"], json={"reason": "No."})
    assert error(r) == (403, "not_the_declarant")


def test_the_public_page_shows_the_declaration_in_english_and_japanese(
    http: Any, db: Database
) -> None:
    c, auth = http
    did = c.post("/v1/declarations", headers=auth["DECL"], json=CARGO).json()["id"]
    content = base64.b64encode(STATEMENT).decode()
    body = {"file_name": "statement.txt", "media_type": "text/plain", "content_base64": content}
    ev = c.post(f"/v1/declarations/{did}/evidence", headers=auth["DECL"], json=body).json()
    verification = {"verified_tonnes": 2_800, "statement": "Verified."}
    c.post(f"/v1/declarations/{did}/verification", headers=auth["VB"], json=verification)
    rid = retire(db, 2_800)
    c.post(
        f"/v1/declarations/{did}/retirements", headers=auth["DECL"], json={"retirement_ids": [rid]}
    )
    assert c.post(f"/v1/declarations/{did}/declare", headers=auth["DECL"]).status_code == 200
    en = c.get(f"/en/declarations/{did}")
    assert en.status_code == 200 and en.headers["Content-Language"] == "en"
    html = en.text
    assert 'data-verified="true"' in html and "GHG neutral" in html
    assert ev["sha256"] in html and f'href="/verify/{rid}"' in html
    assert "Measured emissions by stage" in html and "Pacific Enlighten" in html
    ja = c.get(f"/ja/declarations/{did}")
    assert ja.status_code == 200 and "段階別の算定排出量" in ja.text
    assert "GHG ニュートラル" in ja.text and f'href="/ja/verify/{rid}"' in ja.text
    r = c.get(f"/verify?id={did}")
    assert r.status_code == 303 and r.headers["location"] == f"/declarations/{did}?lang=en"
    r = c.get(f"/verify?id={did}&lang=ja")
    assert r.headers["location"] == f"/ja/declarations/{did}"
    assert c.get("/declarations/DC-99999999").status_code == 404


def test_bad_input_answers_with_its_code(http: Any) -> None:
    c, auth = http
    bad_stage = CARGO | {"stages": [{"stage": "boil_off", "tonnes": 1, "method": "x"}]}
    r = c.post("/v1/declarations", headers=auth["DECL"], json=bad_stage)
    assert error(r) == (422, "invalid_stage")
    r = c.post("/v1/declarations", headers=auth["DECL"], json=CARGO | {"verifier_id": "OTHER"})
    assert error(r) == (403, "not_accredited")
    r = c.post("/v1/declarations", headers=auth["DECL"], json=CARGO | {"unit_kind": "ship"})
    assert r.status_code == 422


def test_the_api_s_unit_kinds_are_the_rules_file_s() -> None:
    from typing import get_args

    from tanso.services.compliance import declarations as dc

    assert set(get_args(routes_declarations.UnitKind)) == set(dc.kinds())
