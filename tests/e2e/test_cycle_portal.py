"""The project cycle's portal screens over HTTP (issue 23): a developer drafts and submits a plan,
the validation body validates it, the operator accredits the body and registers the project;
the developer reports a period (a form made from the methodology's parameters, with a series),
the body verifies it, the developer requests issuance and the operator approves it; every step
through the portal's forms; a stranger cannot see another's draft; the screens speak Japanese."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from tanso.api.app import create_app
from tanso.services.access import users
from tanso.services.common import SYSTEM, Actor
from tanso.services.ledger import audit, registry
from tanso.store.db import Database
from tests.conftest import add_participant
from tests.e2e.test_portal import PASSWORD, login

CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')
REPORT_RE = re.compile(r'data-report="([^"]+)"')
REQUEST_RE = re.compile(r'data-request="([^"]+)"')
SERIES = "1200.5\n980, 1410.25"
TONNES = int(
    Decimal("3590.75")
    * Decimal("1.23")
    * Decimal("1.25")
    * Decimal("0.314")
    * Decimal("0.5")
    * 44
    / 12
)


FIXED = int(
    Decimal("3570.75")
    * Decimal("1.23")
    * Decimal("1.25")
    * Decimal("0.314")
    * Decimal("0.5")
    * 44
    / 12
)


class DayClock:
    """A business clock whose day the test sets; each transaction a microsecond later."""

    def __init__(self, day: str) -> None:
        self.day, self.ticks = day, 0

    def __call__(self) -> str:
        self.ticks += 1
        return f"{self.day}T01:00:00.{self.ticks:06d}Z"


@pytest.fixture
def portal(db: Database) -> Iterator[tuple[TestClient, DayClock]]:
    clock = DayClock("2026-04-01")
    db.clock = clock
    for pid, roles in (("FORESTCO", ["trader"]), ("VVB1", ["verification_body"]), ("OTHER", [])):
        add_participant(db, pid, roles or ["trader"])
        email = f"admin@{pid.lower()}.example.jp"
        users.create(db, SYSTEM, users.NewUser(pid, email, pid, "administrator", PASSWORD))
    users.create(
        db,
        SYSTEM,
        users.NewUser("OPERATOR", "admin@operator.example.jp", "Op", "administrator", PASSWORD),
    )
    users.create(
        db,
        SYSTEM,
        users.NewUser("FORESTCO", "viewer@forestco.example.jp", "V", "viewer", PASSWORD),
    )
    with TestClient(create_app(db), follow_redirects=False) as http:
        yield http, clock


def _as(http: TestClient, email: str, page: str = "/portal/projects") -> str:
    http.cookies.clear()
    assert login(http, email).status_code == 303
    m = CSRF_RE.search(http.get(page).text)
    assert m
    return m.group(1)


def test_a_project_from_draft_to_issued_credits_through_the_portal(
    portal: tuple[TestClient, DayClock], db: Database
) -> None:
    http, clock = portal
    # the operator accredits the body (and a wrong form answers with the service's words)
    csrf = _as(http, "admin@operator.example.jp", "/portal/operator/cycle")
    grant = {"csrf": csrf, "scheme": "JC", "sector": "forestry", "valid_from": "2026-01-01"}
    r = http.post("/portal/operator/cycle/accreditations", data=grant | {"participant_id": "OTHER"})
    assert r.status_code == 409 and "verification_body role" in r.text
    r = http.post("/portal/operator/cycle/accreditations", data=grant | {"participant_id": "VVB1"})
    assert r.status_code == 200 and 'data-accreditation="' in r.text, r.text[-600:]

    # the developer drafts a plan, choosing the methodology from the stored list
    csrf = _as(http, "admin@forestco.example.jp")
    page = http.get("/portal/projects")
    assert 'value="FO-001|3.0"' in page.text and "stem_volume_growth_m3" in page.text
    plan = {
        "csrf": csrf,
        "methodology": "FO-001|3.0",
        "id": "PFOREST1",
        "name": "Shimanto forest",
        "category": "FOREST",
        "country": "JP",
        "nature": "nature",
        "expected_tonnes_per_year": "2,000",
        "description": "Thinning of 1,200 ha of cedar.",
    }
    r = http.post("/portal/projects", data=plan | {"expected_tonnes_per_year": "lots"})
    assert r.status_code == 422
    r = http.post("/portal/projects", data=plan)
    assert r.status_code == 200 and 'data-state="draft"' in r.text, r.text[-800:]
    assert 'id="submit-form"' in r.text and '<option value="VVB1">' in r.text
    r = http.post("/portal/projects", data=plan)  # the id is taken: the service says so
    assert r.status_code == 409 and "PFOREST1 is taken" in r.text
    # a stranger (and a viewer of the developer) cannot act; the stranger cannot even see it
    _as(http, "admin@other.example.jp")
    assert http.get("/portal/projects/PFOREST1").status_code == 404
    assert "PFOREST1" not in http.get("/portal/projects").text
    viewer_csrf = _as(http, "viewer@forestco.example.jp")
    assert http.get("/portal/projects/PFOREST1").status_code == 200
    r = http.post(
        "/portal/projects/PFOREST1/submit", data={"csrf": viewer_csrf, "validator_id": "VVB1"}
    )
    assert r.status_code == 403

    csrf = _as(http, "admin@forestco.example.jp")
    page = http.get("/portal/projects/PFOREST1")
    assert 'id="revise-form"' in page.text and 'value="Shimanto forest"' in page.text
    revised = {k: v for k, v in plan.items() if k != "id"} | {"csrf": csrf, "region": "Kochi"}
    r = http.post("/portal/projects/PFOREST1/revise", data=revised | {"category": "RE_POWER"})
    assert r.status_code == 422 and "FOREST" in r.text  # not a category of FO-001
    r = http.post("/portal/projects/PFOREST1/revise", data=revised)
    assert r.status_code == 200 and 'id="notice"' in r.text and "Kochi" in r.text
    r = http.post(
        "/portal/projects/PFOREST1/evidence",
        data={"csrf": csrf, "kind": "document"},
        files={"file": ("pdd.txt", b"Project design document\n", "text/plain")},
    )
    assert r.status_code == 200 and "pdd.txt" in r.text
    pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\x00\x01\x02 binary stream\n%%EOF\n"
    r = http.post(  # a real document is bytes, NUL included
        "/portal/projects/PFOREST1/evidence",
        data={"csrf": csrf, "kind": "document"},
        files={"file": ("design.pdf", pdf, "application/pdf")},
    )
    assert r.status_code == 200 and "design.pdf" in r.text
    r = http.post("/portal/projects/PFOREST1/submit", data={"csrf": csrf, "validator_id": "VVB1"})
    assert r.status_code == 200 and 'data-state="submitted"' in r.text

    # the body validates
    csrf = _as(http, "admin@vvb1.example.jp", "/portal/projects/verifications")
    assert 'data-plan="PFOREST1"' in http.get("/portal/projects/verifications").text
    base = "/portal/projects/PFOREST1"
    r = http.post(f"{base}/start-validation", data={"csrf": csrf})
    assert r.status_code == 200 and 'data-state="under_validation"' in r.text
    r = http.post(f"{base}/validation", data={"csrf": csrf, "opinion": "positive"})
    assert r.status_code == 422 and "Statement is required" in r.text
    r = http.post(
        f"{base}/validation",
        data={"csrf": csrf, "opinion": "positive", "statement": "Valid under FO-001 3.0."},
    )
    assert r.status_code == 200 and 'data-opinion="positive"' in r.text

    # the operator registers it
    csrf = _as(http, "admin@operator.example.jp", "/portal/operator/cycle")
    assert 'id="register-PFOREST1"' in http.get("/portal/operator/cycle").text
    r = http.post("/portal/operator/cycle/plans/PFOREST1/register", data={"csrf": csrf})
    assert r.status_code == 200 and "PFOREST1" in r.text and 'id="register-PFOREST1"' not in r.text

    # a year on, the developer reports: a field per value, a series as numbers
    clock.day = "2027-04-10"
    csrf = _as(http, "admin@forestco.example.jp")
    page = http.get(base)
    assert 'data-kind="series"' in page.text and 'name="p_bef"' in page.text
    report = {
        "csrf": csrf,
        "period_start": "2026-04-01",
        "period_end": "2027-03-31",
        "verifier_id": "VVB1",
        "p_stem_volume_growth_m3": SERIES,
        "p_bef": "1.23",
        "p_root_shoot_ratio": "0.25",
        "p_wood_density": "0.314",
        "p_carbon_fraction": "abc",
    }
    r = http.post(f"{base}/reports", data=report)
    assert r.status_code == 422 and 'id="report-error"' in r.text and "carbon_fraction" in r.text
    r = http.post(f"{base}/reports", data=report | {"p_carbon_fraction": "0.5"})
    assert r.status_code == 200 and f'id="claimed" data-tonnes="{TONNES}"' in r.text, r.text[-800:]
    found = REPORT_RE.search(http.get(base).text)
    assert found
    report_url = f"{base}/reports/{found.group(1)}"
    r = http.post(
        f"{report_url}/evidence",
        data={"csrf": csrf, "kind": "satellite_data"},
        files={"file": ("ndvi.csv", b"date,ndvi\n2026-07,0.81\n", "text/csv")},
    )
    assert r.status_code == 200 and "ndvi.csv" in r.text

    # the body verifies, seeing the figure recomputed
    csrf = _as(http, "admin@vvb1.example.jp", "/portal/projects/verifications")
    assert found.group(1) in http.get("/portal/projects/verifications").text
    page = http.get(report_url)
    assert f'id="recomputed" data-tonnes="{TONNES}"' in page.text and "ndvi.csv" in page.text
    link = re.search(rf'href="({report_url}/evidence/[^"]+)"', page.text)
    assert link and http.get(link.group(1)).content.startswith(b"date,ndvi")
    verify = {"csrf": csrf, "findings": "Two compartments remeasured.", "statement": "Verified."}
    r = http.post(f"{report_url}/verification", data=verify | {"verified_tonnes": str(TONNES + 1)})
    assert r.status_code == 422 and "at most" in r.text
    assert 'name="v_stem_volume_growth_m3"' in page.text  # the correction, prefilled
    corrected = {
        "correct": "1",
        "v_stem_volume_growth_m3": "1200.5\n960\n1410.25",
        "v_bef": "1.23",
        "v_root_shoot_ratio": "0.25",
        "v_wood_density": "0.314",
        "v_carbon_fraction": "0.5",
    }
    fixed = FIXED
    r = http.post(
        f"{report_url}/verification", data=verify | corrected | {"verified_tonnes": str(TONNES)}
    )
    assert r.status_code == 422 and f"make {fixed:,} t" in r.text
    r = http.post(
        f"{report_url}/verification", data=verify | corrected | {"verified_tonnes": str(fixed)}
    )
    assert r.status_code == 200 and f'id="verified" data-tonnes="{fixed}"' in r.text
    assert 'id="corrected-parameters"' in r.text
    done = http.get("/portal/projects/verifications").text
    assert f'data-verified="{found.group(1)}"' in done and 'data-validated="PFOREST1"' in done

    # the developer requests issuance; the operator approves it
    csrf = _as(http, "admin@forestco.example.jp")
    r = http.post(f"{report_url}/request", data={"csrf": csrf, "account": "OTHER-MAIN"})
    assert r.status_code == 404 and 'id="request-error"' in r.text
    r = http.post(f"{report_url}/request", data={"csrf": csrf, "account": "FORESTCO-MAIN"})
    assert r.status_code == 200 and 'data-state="pending"' in r.text
    csrf = _as(http, "admin@operator.example.jp", "/portal/operator/cycle")
    page = http.get("/portal/operator/cycle?lang=ja")
    assert f'data-verified="{FIXED}"' in page.text and 'data-net="' in page.text
    assert "発行申請" in page.text and "認定" in page.text
    request_id = REQUEST_RE.search(page.text)
    assert request_id
    r = http.post(
        f"/portal/operator/cycle/requests/{request_id.group(1)}/approve", data={"csrf": csrf}
    )
    assert r.status_code == 200 and 'id="no-op-requests"' in r.text
    held = registry.holdings(db, Actor("FORESTCO"), "FORESTCO-MAIN")
    assert sum(b.quantity for b in held.blocks) == FIXED

    # the operator sets the project inactive: it reports nothing more
    page = http.get("/portal/operator/cycle")
    pid = re.search(r'data-registered="([A-Z0-9]+)"', page.text)
    assert pid
    r = http.post(f"/portal/operator/cycle/projects/{pid.group(1)}/deactivate", data={"csrf": csrf})
    assert r.status_code == 422  # the reason is required
    deactivate = f"/portal/operator/cycle/projects/{pid.group(1)}/deactivate"
    reason = {"csrf": csrf, "reason": "The forest was sold."}
    r = http.post(deactivate, data=reason)  # asks first, changes nothing
    assert (
        r.status_code == 200 and 'id="confirm-form"' in r.text and "The forest was sold." in r.text
    )
    assert f'data-registered="{pid.group(1)}"' in http.get("/portal/operator/cycle").text
    assert 'id="deactivate-' in http.get("/portal/operator/cycle").text
    r = http.post(deactivate, data=reason | {"confirm": "1"})
    assert r.status_code == 200 and 'id="notice"' in r.text and "The forest was sold." in r.text
    assert 'id="deactivate-' not in r.text  # inactive: no form any more

    # the developer sees the outcome, in Japanese too
    _as(http, "admin@forestco.example.jp")
    page = http.get(f"{base}?lang=ja")
    assert 'data-state="approved"' in page.text and "モニタリング報告書" in page.text
    assert "プロジェクト計画書" in http.get("/portal/projects?lang=ja").text
    assert audit.verify(db).ok


def test_the_cycle_screens_refuse_those_without_the_role(
    portal: tuple[TestClient, DayClock],
) -> None:
    http, _ = portal
    csrf = _as(http, "admin@forestco.example.jp")
    assert http.get("/portal/projects/verifications").status_code == 403
    assert http.get("/portal/operator/cycle").status_code == 403
    r = http.post("/portal/projects/PX1/start-validation", data={"csrf": csrf})
    assert r.status_code == 403
    assert http.get("/portal/projects/NOSUCH").status_code == 404
    r = http.post("/portal/projects/NOSUCH/withdraw", data={"csrf": csrf, "reason": "x"})
    assert r.status_code == 404
    r = http.post("/portal/projects/NOSUCH/submit", data={"validator_id": "VVB1"})
    assert r.status_code == 403  # no CSRF token
