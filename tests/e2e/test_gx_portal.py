"""The GX-ETS screens over HTTP (issue 19), in English and Japanese: a covered entity reads its
position for a fiscal year (April to March) and reports, surrenders and pays through the forms,
each refusal shown next to its form with its code; a verification body verifies; the scheme
administrator covers and allocates; the public register shows only the published fields; no
participant sees another's position."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tanso.api.app import create_app
from tanso.domain.participants import Role
from tanso.services.access import users
from tanso.services.common import SYSTEM, Actor
from tanso.services.compliance import gx_compliance, gx_cycle
from tanso.services.ledger import audit, registry
from tanso.store.db import Database
from tests.conftest import add_participant
from tests.e2e.test_portal import PASSWORD, login, prepare

CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')
ALPHA = Actor("ALPHA", frozenset({Role.TRADER}))
VERIFIER = Actor("VERIFIER", frozenset({Role.VERIFICATION_BODY}))


class Days:
    """A business clock on a day the test chooses, a microsecond later on each call."""

    def __init__(self, day: str) -> None:
        self.day, self.ticks = day, 0

    def __call__(self) -> str:
        self.ticks += 1
        return f"{self.day}T01:00:00.{self.ticks:06d}Z"


@pytest.fixture
def portal(db: Database) -> Iterator[TestClient]:
    """FY2026 under way (June 2027: emissions are being reported): ALPHA covered and allocated
    983,000 t by grandfathering; a verification body and the operator each with a user."""
    db.clock = Days("2027-06-01")
    prepare(db)
    add_participant(db, "VERIFIER", ["verification_body"])
    for pid, email in (
        ("VERIFIER", "admin@verifier.example.jp"),
        ("OPERATOR", "admin@operator.example.jp"),
    ):
        users.create(db, SYSTEM, users.NewUser(pid, email, pid, "administrator", PASSWORD))
    gx_cycle.cover(db, SYSTEM, "ALPHA", 2026, ["steel"], ["Kimitsu works"])
    gx_cycle.allocate(db, SYSTEM, "ALPHA", 2026, "grandfathering", {"base_emissions": 1_000_000})
    with TestClient(create_app(db), follow_redirects=False) as http:
        yield http


def _as(http: TestClient, email: str, path: str = "/portal/gx") -> str:
    """Log in as ``email``; the CSRF token of its session."""
    http.cookies.clear()
    assert login(http, email).status_code == 303
    m = CSRF_RE.search(http.get(path).text)
    assert m, path
    return m.group(1)


def _cell(html: str, item: str) -> str:
    """The figure of one row of the position table, without its markup."""
    m = re.search(rf'<tr data-item="{item}">.*?<td class="num">(.*?)</td>', html, re.S)
    assert m, item
    return re.sub(r"<[^>]+>", "", m.group(1)).strip()


def _refusal(html: str, form: str) -> str:
    """The code of the refusal shown over ``form`` ("" when none)."""
    m = re.search(rf'id="{form}-error" data-code="([^"]+)"', html)
    return m.group(1) if m else ""


def _post(http: TestClient, path: str, csrf: str, **fields: Any) -> Any:
    return http.post(path, data={"csrf": csrf, "year": "2026", **fields})


def test_an_entity_reads_its_position_and_complies_through_the_forms(
    portal: TestClient, db: Database
) -> None:
    csrf = _as(portal, "account_manager@alpha.example.jp")
    page = portal.get("/portal/gx").text
    assert "FY2026 is 1 April 2026 to 31 March 2027" in page  # the year at hand, said so
    assert 'data-status="open"' in page and "2028-01-31" in page
    assert (_cell(page, "allocated"), _cell(page, "held_allowances")) == ("983,000", "983,000")
    assert _cell(page, "verified_emissions") == "—"
    # nothing counts before verification: refused over its own form, with the code
    r = _post(portal, "/portal/gx/surrenders", csrf, kind="allowances", allowances_quantity="1")
    assert r.status_code == 409
    assert _refusal(r.text, "allowances") == "emissions_not_verified"
    assert "The emissions are not verified yet." in r.text
    r = _post(portal, "/portal/gx/emissions", csrf, direct_co2="abc")
    assert r.status_code == 422 and 'id="direct_co2-error"' in r.text
    r = _post(portal, "/portal/gx/emissions", csrf, direct_co2="1,000,000", note="Kimitsu")
    assert r.status_code == 200 and "Reported 1,000,000 t for FY2026" in r.text
    assert _cell(r.text, "reported_emissions") == "1,000,000"
    gx_cycle.verify_emissions(db, VERIFIER, "ALPHA", 2026, "verified")
    page = portal.get("/portal/gx?year=2026").text
    assert _cell(page, "verified_emissions") == "1,000,000"
    assert _cell(page, "shortfall") == "1,000,000"
    assert _cell(page, "credits_headroom") == "100,000"
    assert _cell(page, "shortfall_cost_at_ceiling") == "¥4,300,000,000"  # × ¥4,300 (FY2026)
    assert _cell(page, "non_compliance_charge") == "¥4,730,000,000"  # 110% of that
    r = _post(
        portal, "/portal/gx/surrenders", csrf, kind="allowances", allowances_quantity="983,000"
    )
    assert r.status_code == 200, r.text[:500]
    assert _cell(r.text, "surrendered_allowances") == "983,000"
    assert _cell(r.text, "held_allowances") == "0"
    r = _post(
        portal,
        "/portal/gx/surrenders",
        csrf,
        kind="credits",
        credits_account="ALPHA-MAIN",
        credits_quantity="7,000",
    )
    assert r.status_code == 200, r.text[:500]
    assert _cell(r.text, "surrendered_credits") == "7,000"
    assert _cell(r.text, "shortfall") == "10,000"
    r = _post(portal, "/portal/gx/ceiling-payments", csrf, ceiling_quantity="10,001")
    assert r.status_code == 409 and _refusal(r.text, "ceiling") == "exceeds_obligation"
    assert "10,000 t outstanding" in r.text  # the service's own words, beside the headline
    r = _post(portal, "/portal/gx/ceiling-payments", csrf, ceiling_quantity="10000")
    assert r.status_code == 200 and "Paid ¥43,000,000 (10,000 t × ¥4,300)" in r.text
    assert 'data-status="compliant"' in r.text and _cell(r.text, "shortfall") == "0"
    pos = gx_compliance.compliance(db, ALPHA, "ALPHA", 2026)
    assert (pos.surrendered_allowances, pos.surrendered_credits) == (983_000, 7_000)
    assert (pos.ceiling_quantity, pos.status) == (10_000, "compliant")
    # the same screen and a refusal in Japanese
    page = portal.get("/portal/gx?lang=ja").text
    assert "2026年度" in page and "履行済" in page and "償却期限" in page
    assert "4月から翌年3月まで" in page
    r = _post(portal, "/portal/gx/ceiling-payments", csrf, ceiling_quantity="1")
    assert r.status_code == 409 and _refusal(r.text, "ceiling") == "exceeds_obligation"
    assert "この年度に必要な量を超えています。" in r.text
    assert audit.verify(db).ok


def test_a_viewer_reads_the_position_but_has_no_forms_and_may_not_post(
    portal: TestClient,
) -> None:
    csrf = _as(portal, "viewer@alpha.example.jp")
    page = portal.get("/portal/gx").text
    assert _cell(page, "allocated") == "983,000"
    assert 'id="gx-no-rights"' in page and 'id="allowances-form"' not in page
    r = _post(portal, "/portal/gx/emissions", csrf, direct_co2="5")
    assert r.status_code == 403
    assert _cell(portal.get("/portal/gx").text, "reported_emissions") == "—"


def test_another_participant_s_position_is_never_shown_nor_acted_on(
    portal: TestClient, db: Database
) -> None:
    csrf = _as(portal, "account_manager@beta.example.jp")
    page = portal.get("/portal/gx").text
    assert 'id="gx-not-covered"' in page
    assert "983,000" not in page and "ALPHA" not in page
    r = _post(portal, "/portal/gx/emissions", csrf, direct_co2="5")
    assert r.status_code == 404 and _refusal(r.text, "report") == "not_covered"
    # covered too, BETA sees its own position only, and cannot surrender ALPHA's credits
    gx_cycle.cover(db, SYSTEM, "BETA", 2026, ["cement"])
    _post(portal, "/portal/gx/emissions", csrf, direct_co2="2,000")
    gx_cycle.verify_emissions(db, VERIFIER, "BETA", 2026, "verified")
    page = portal.get("/portal/gx").text
    assert (_cell(page, "allocated"), _cell(page, "verified_emissions")) == ("0", "2,000")
    assert "983,000" not in page and "ALPHA" not in page
    r = _post(
        portal,
        "/portal/gx/surrenders",
        csrf,
        kind="credits",
        credits_account="ALPHA-MAIN",
        credits_quantity="1",
    )
    assert r.status_code == 404 and _refusal(r.text, "credits") == "account_not_found"
    assert registry.holdings(db, ALPHA, "ALPHA-MAIN").totals.scheme == {"JC": 10_000}
    assert gx_compliance.compliance(db, ALPHA, "ALPHA", 2026).reported_emissions is None


def test_a_verification_body_verifies_and_returns_from_its_screen(
    portal: TestClient, db: Database
) -> None:
    gx_cycle.report_emissions(db, ALPHA, "ALPHA", 2026, 1_200_000)
    # the entity itself may neither see the list nor verify
    csrf = _as(portal, "administrator@alpha.example.jp")
    assert portal.get("/portal/gx/verifications").status_code == 403
    r = portal.post(
        "/portal/gx/verifications",
        data={"csrf": csrf, "participant_id": "ALPHA", "year": "2026", "decision": "verified"},
    )
    assert r.status_code == 403
    csrf = _as(portal, "admin@verifier.example.jp", "/portal/gx/verifications")
    page = portal.get("/portal/gx/verifications").text
    assert 'data-entity="ALPHA" data-year="2026"' in page and "1,200,000" in page
    decide = {"csrf": csrf, "participant_id": "ALPHA", "year": "2026"}
    r = portal.post("/portal/gx/verifications", data=decide | {"decision": "returned"})
    assert r.status_code == 422
    assert 'data-code="findings_required"' in r.text and 'data-participant="ALPHA"' in r.text
    r = portal.post(
        "/portal/gx/verifications",
        data=decide | {"decision": "returned", "findings": "Boiler 3 missing."},
    )
    assert r.status_code == 200 and "Returned the FY2026 emissions of ALPHA" in r.text
    assert 'id="gx-none-awaiting"' in r.text
    assert gx_cycle.emissions(db, VERIFIER, "ALPHA", 2026).findings == "Boiler 3 missing."
    gx_cycle.report_emissions(db, ALPHA, "ALPHA", 2026, 1_250_000)
    r = portal.post("/portal/gx/verifications?lang=ja", data=decide | {"decision": "verified"})
    assert r.status_code == 200 and "1,250,000 t を確認しました" in r.text
    out = gx_cycle.emissions(db, VERIFIER, "ALPHA", 2026)
    assert (out.verification, out.verified_by, out.direct_co2) == (
        "verified",
        "VERIFIER",
        1_250_000,
    )


def test_the_scheme_administrator_covers_and_allocates_from_its_screen(
    portal: TestClient, db: Database
) -> None:
    _as(portal, "administrator@alpha.example.jp")
    assert portal.get("/portal/operator/gx").status_code == 403
    csrf = _as(portal, "admin@operator.example.jp", "/portal/operator/gx")
    page = portal.get("/portal/operator/gx").text
    assert 'data-entity="ALPHA"' in page and 'id="gx-register"' in page
    r = _post(portal, "/portal/operator/gx/cover", csrf, participant_id="BETA", sectors="")
    assert r.status_code == 422 and _refusal(r.text, "cover") == "sectors_required"
    r = _post(
        portal,
        "/portal/operator/gx/cover",
        csrf,
        participant_id="BETA",
        sectors="cement",
        facilities="Works A\nWorks B",
    )
    assert r.status_code == 200 and "BETA is covered for FY2026" in r.text
    covered = {c.participant_id: c for c in gx_cycle.list_covered(db, 2026)}
    assert covered["BETA"].facilities == ["Works A", "Works B"]
    allocation = {"participant_id": "BETA", "method": "quantity", "quantity": "5,000"}
    r = _post(portal, "/portal/operator/gx/allocations", csrf, **allocation)
    assert r.status_code == 422 and _refusal(r.text, "allocation") == "reason_required"
    r = _post(
        portal,
        "/portal/operator/gx/allocations",
        csrf,
        **allocation | {"reason": "New kiln"},
    )
    assert r.status_code == 200 and "Allocated 5,000 t to BETA for FY2026" in r.text
    assert re.search(r'data-entity="BETA" data-status="open">.*?5,000', r.text, re.S)
    r = _post(
        portal,
        "/portal/operator/gx/allocations",
        csrf,
        participant_id="BETA",
        method="benchmark",
        sector="cement",
        production="1000",
    )
    assert r.status_code == 200, r.text[:500]
    allocations = gx_cycle.list_allocations(db, SYSTEM, "BETA", 2026)
    assert [a.method for a in allocations] == ["quantity", "benchmark"]
    assert allocations[1].inputs["production"] == 1000
    page = portal.get("/portal/operator/gx?lang=ja").text
    assert "排出枠の割当" in page and "対象事業者の指定" in page


def test_the_public_register_shows_only_the_published_fields(
    portal: TestClient, db: Database
) -> None:
    gx_cycle.report_emissions(db, ALPHA, "ALPHA", 2026, 1_000_000, "furnace log")
    gx_cycle.verify_emissions(db, VERIFIER, "ALPHA", 2026, "verified")
    beta = Actor("BETA", frozenset({Role.TRADER}))
    gx_cycle.cover(db, SYSTEM, "BETA", 2026, ["cement"], ["Secret works"])
    gx_cycle.report_emissions(db, beta, "BETA", 2026, 777_777, "unverified note")
    http = TestClient(portal.app)
    page = http.get("/gx/register/2026")
    assert page.status_code == 200 and page.headers["content-language"] == "en"
    row = re.search(r'<tr data-entity="ALPHA" data-status="open">(.*?)</tr>', page.text, re.S)
    assert row and "ALPHA Corp." in row.group(1)
    cells = re.findall(r'<td class="num">([^<]*)</td>', row.group(1))
    assert cells == ["983,000", "1,000,000", "0", "0", "0"]  # allocated, verified, units, ceiling
    beta_row = re.search(r'<tr data-entity="BETA"[^>]*>(.*?)</tr>', page.text, re.S)
    assert beta_row and "777,777" not in page.text  # reported, not verified: not published
    for private in ("ALPHA-GX", "ALPHA-MAIN", "furnace log", "unverified note", "Secret works"):
        assert private not in page.text, private
    assert 'href="/v1/gx/register/2026?format=csv"' in page.text
    ja = http.get("/ja/gx/register/2026")
    assert ja.status_code == 200 and "GX-ETS 登録簿" in ja.text and "ALPHA 株式会社" in ja.text
    assert "履行期間中" in ja.text
    assert http.get("/gx/register").text.count('data-entity="ALPHA"') == 1  # the year at hand
    assert 'href="/gx/register"' in http.get("/en").text  # linked from the public navigation
    for missing in ("/gx/register/2019", "/ja/gx/register/abc", "/gx/register/99999"):
        assert http.get(missing).status_code == 404, missing


def test_a_year_beyond_the_price_rule_says_so_instead_of_failing(
    portal: TestClient, db: Database
) -> None:
    gx_cycle.cover(db, SYSTEM, "ALPHA", 2031, ["steel"])  # rules carried over, no price set
    _as(portal, "viewer@alpha.example.jp")
    r = portal.get("/portal/gx?year=2031")
    assert r.status_code == 200 and _refusal(r.text, "position") == "gx_prices_not_set"
    assert portal.get("/gx/register/2031").status_code == 404
    assert portal.get("/portal/gx?year=1999x").status_code == 404


@pytest.mark.parametrize(
    ("day", "fiscal_year"),
    [
        ("2026-01-05", 2026),  # before phase 2: its first year
        ("2026-04-01", 2026),
        ("2027-06-01", 2026),  # FY2027 runs, FY2026's surrender is still due
        ("2028-01-31", 2026),  # FY2026's surrender deadline
        ("2028-02-01", 2027),
    ],
)
def test_the_screens_open_on_the_fiscal_year_whose_surrender_is_at_hand(
    day: str, fiscal_year: int
) -> None:
    from tanso.web.portal.gx import year_at_hand

    assert year_at_hand(dt.date.fromisoformat(day)) == fiscal_year
