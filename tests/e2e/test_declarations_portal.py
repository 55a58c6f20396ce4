"""Declarations for products and cargoes in the portal over HTTP (issue 23 part 2): a declarant
opens a cargo declaration through the form made from its kind, attaches a binary PDF, the named
verification body verifies it, the declarant links a retirement of its own (seeing what it
lacks first) and declares; refusals come back next to their forms in the services' words; a
stranger finds another's draft nowhere; the screens speak Japanese. Sectors are named (not shown
as codes) on the methodology pages, and the operator's accreditation form lists the codes."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tanso.api.app import create_app
from tanso.domain.participants import OPERATOR_PARTICIPANT, Role
from tanso.services.access import users
from tanso.services.common import SYSTEM, Actor
from tanso.services.cycle import accreditation
from tanso.services.ledger import audit, registry
from tanso.services.ledger.registry import RetirementRequest, Selection
from tanso.store.db import Database
from tests.conftest import add_issuance, add_participant
from tests.e2e.test_cycle_portal import DayClock
from tests.e2e.test_portal import PASSWORD, login

CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')
DECLARATION_RE = re.compile(r'data-declaration="(DC-\d+)"')
REGISTRY = Actor(OPERATOR_PARTICIPANT, frozenset({Role.REGISTRY_OPERATOR}))
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\x00\x01\x02 cargo statement\n%%EOF\n"
CARGO = {
    "unit_kind": "lng_cargo",
    "title": "LNG cargo LNG-TK-2026-117 (Tokai Aurora)",
    "ref_cargo_id": "LNG-TK-2026-117",
    "ref_vessel": "Tokai Aurora",
    "ref_load_port": "Bintulu",
    "ref_discharge_port": "Chita",
    "ref_date": "2026-03-20",
    "tonnes_upstream": "2,000",
    "method_upstream": "Metered fuel and flare data",
    "tonnes_shipping": "800",
    "method_shipping": "Voyage log",
    "reduction_0": "Flare gas recovery",
    "reduction_tonnes_0": "150",
    "verifier_id": "VB",
}


@pytest.fixture
def portal(db: Database) -> Iterator[TestClient]:
    db.clock = DayClock("2026-04-01")
    for pid, roles in (("DECL", ["trader"]), ("VB", ["verification_body"]), ("OTHER", [])):
        add_participant(db, pid, roles or ["trader"])
        email = f"admin@{pid.lower()}.example.jp"
        users.create(db, SYSTEM, users.NewUser(pid, email, pid, "administrator", PASSWORD))
    users.create(
        db,
        SYSTEM,
        users.NewUser("OPERATOR", "admin@operator.example.jp", "Op", "administrator", PASSWORD),
    )
    accreditation.grant(db, REGISTRY, "VB", "FOOTPRINT", "lng_cargo", "2026-01-01")
    add_issuance(db, "DECL-MAIN", 5_000)
    with TestClient(create_app(db), follow_redirects=False) as http:
        yield http
    report = audit.verify(db)
    assert report.ok, report.problems


def _as(http: TestClient, email: str, page: str = "/portal/declarations") -> str:
    http.cookies.clear()
    assert login(http, email).status_code == 303
    m = CSRF_RE.search(http.get(page).text)
    assert m
    return m.group(1)


def _retire(db: Database, quantity: int, purpose: str = "offset_product") -> str:
    request = RetirementRequest("DECL-MAIN", Selection(quantity=quantity), [purpose])
    return registry.retire(db, Actor("DECL", frozenset({Role.TRADER})), request).id


def test_a_cargo_is_declared_through_the_portal(portal: TestClient, db: Database) -> None:
    http = portal
    csrf = _as(http, "admin@decl.example.jp")
    page = http.get("/portal/declarations")
    assert 'data-kind="lng_cargo"' in page.text and 'name="ref_cargo_id"' in page.text
    assert 'name="tonnes_regasification"' in page.text and '<option value="VB">' in page.text
    event = http.get("/portal/declarations?kind=event").text
    assert 'name="ref_venue"' in event and 'id="no-bodies"' in event  # none accredited for it

    # refusals in the services' words, next to the form
    r = http.post("/portal/declarations", data=CARGO | {"csrf": csrf, "ref_vessel": ""})
    assert r.status_code == 422 and 'id="open-error"' in r.text and "needs vessel" in r.text
    r = http.post("/portal/declarations", data=CARGO | {"csrf": csrf, "tonnes_shipping": "lots"})
    assert r.status_code == 422 and 'id="tonnes_shipping-error"' in r.text
    r = http.post("/portal/declarations", data=CARGO)  # no CSRF token
    assert r.status_code == 403
    r = http.post("/portal/declarations", data=CARGO | {"csrf": csrf})
    assert r.status_code == 200 and 'data-state="draft"' in r.text, r.text[-800:]
    assert 'id="measured" data-tonnes="2800"' in r.text and 'id="declare-later"' in r.text
    found = DECLARATION_RE.search(http.get("/portal/declarations").text)
    assert found
    did = found.group(1)
    base = f"/portal/declarations/{did}"

    # a binary PDF, NUL bytes included, uploads as evidence
    r = http.post(
        f"{base}/evidence",
        data={"csrf": csrf, "kind": "document"},
        files={"file": ("statement.pdf", PDF, "application/pdf")},
    )
    assert r.status_code == 200 and "statement.pdf" in r.text, r.text[-600:]
    r = http.post(
        f"{base}/evidence",
        data={"csrf": csrf, "kind": "document"},
        files={"file": ("run.exe", b"MZ", "application/octet-stream")},
    )
    assert r.status_code == 422 and 'id="attach-error"' in r.text

    # a stranger finds the draft nowhere
    _as(http, "admin@other.example.jp")
    assert http.get(base).status_code == 404
    assert did not in http.get("/portal/declarations").text

    # the body verifies, after downloading the evidence
    csrf = _as(http, "admin@vb.example.jp", "/portal/declarations/verifications")
    assert f'data-declaration="{did}"' in http.get("/portal/declarations/verifications").text
    page = http.get(base)
    link = re.search(rf'href="({base}/evidence/[^"]+)"', page.text)
    assert link and http.get(link.group(1)).content == PDF
    verify = {
        "csrf": csrf,
        "findings": "Boil-off allocated to the laden voyage.",
        "statement": "OK",
    }
    r = http.post(f"{base}/verification", data=verify | {"verified_tonnes": "2,801"})
    assert r.status_code == 422 and 'id="verify-error"' in r.text and "2,800" in r.text
    r = http.post(f"{base}/verification", data=verify | {"verified_tonnes": "2,750"})
    assert r.status_code == 200 and 'id="verified" data-tonnes="2750"' in r.text

    # the declarant links retirements: too few first, the shortfall shown; then declares
    small, other_use = _retire(db, 1_000), _retire(db, 10, "offset_scope1")
    csrf = _as(http, "admin@decl.example.jp")
    page = http.get(base).text
    assert f'data-linkable="{small}"' in page and f'data-linkable="{other_use}"' not in page
    assert 'data-covered="false"' in page and "link 2,750 t-CO2e more" in page
    r = http.post(f"{base}/retirements", data={"csrf": csrf})
    assert r.status_code == 422 and 'id="link-error"' in r.text
    r = http.post(f"{base}/retirements", data={"csrf": csrf, f"r_{small}": "1"})
    assert r.status_code == 200 and f'data-linked="{small}"' in r.text
    assert f'data-linkable="{small}"' not in r.text and "link 1,750 t-CO2e more" in r.text
    r = http.post(f"{base}/declare", data={"csrf": csrf})
    assert r.status_code == 409 and 'id="declare-error"' in r.text and "1,750" in r.text
    big = _retire(db, 2_000)
    r = http.post(f"{base}/retirements", data={"csrf": csrf, f"r_{big}": "1"})
    assert 'data-covered="true"' in r.text and "LNG-TK-2026-117" in r.text  # the wording
    r = http.post(f"{base}/declare", data={"csrf": csrf})
    assert r.status_code == 200 and 'data-state="declared"' in r.text
    assert f'href="/declarations/{did}"' in r.text and "GHG neutral" in r.text

    # Japanese: the portal and the public page, whose heading names the kind in Japanese
    page = http.get(f"{base}?lang=ja").text
    assert "宣言済" in page and "LNG カーゴ" in page and f'href="/ja/declarations/{did}"' in page
    assert "製品・カーゴの宣言" in http.get("/portal/declarations?lang=ja").text
    public = http.get(f"/ja/declarations/{did}").text
    assert '<h1 id="heading">LNG カーゴ LNG-TK-2026-117（Tokai Aurora）</h1>' in public

    # withdrawn with a reason, and it says so
    r = http.post(f"{base}/withdraw", data={"csrf": csrf, "reason": ""})
    assert r.status_code == 422 and 'id="withdraw-error"' in r.text
    r = http.post(f"{base}/withdraw", data={"csrf": csrf, "reason": "Cargo resold."})
    assert r.status_code == 200 and 'data-state="withdrawn"' in r.text and "Cargo resold." in r.text


def test_the_declaration_screens_refuse_those_without_the_role(portal: TestClient) -> None:
    http = portal
    csrf = _as(http, "admin@decl.example.jp")
    assert http.get("/portal/declarations/verifications").status_code == 403
    r = http.post("/portal/declarations/DC-00000001/verification", data={"csrf": csrf})
    assert r.status_code == 403
    assert http.get("/portal/declarations/DC-00000001").status_code == 404
    r = http.post("/portal/declarations/DC-99999999/withdraw", data={"csrf": csrf, "reason": "x"})
    assert r.status_code == 404


def test_sectors_are_named_and_the_operator_is_shown_the_codes_it_may_type(
    portal: TestClient,
) -> None:
    http = portal
    assert '<td data-sector="forestry">Forestry</td>' in http.get("/methodologies").text
    page = http.get("/ja/methodologies/FO-001").text
    assert '<dd data-sector="forestry">森林</dd>' in page
    _as(http, "admin@operator.example.jp", "/portal/operator/cycle")
    page = http.get("/portal/operator/cycle?lang=ja").text
    assert 'data-sector="lng_cargo">LNG カーゴ <span class="code">lng_cargo</span>' in page
    codes = re.search(r'<ul id="scope-codes">(.*?)</ul>', page, re.S)
    assert codes and 'data-scheme="FOOTPRINT"' in codes.group(1)
    assert '<span class="code">agriculture</span> (農業)' in codes.group(1)
    assert 'list="grant-sector-codes"' in page
