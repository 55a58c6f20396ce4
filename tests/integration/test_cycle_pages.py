"""The project cycle on the public pages (services/cycle/public.py, web/project_cycle.py): a
registered project's page shows its methodology, validation, the plan's documents, each
verified monitoring report with its parameters, verified tonnes and evidence hashes, and what
each issuance rests on; an unverified report stays off it; the plans in the pipeline, a plan
with its comments, and the methodologies with their formulas; in English and Japanese."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from tanso.api.app import create_app
from tanso.services.common import SYSTEM
from tanso.services.cycle import accreditation, issuance_requests, monitoring, plans, public
from tanso.services.ledger import registry, taxonomy
from tanso.store.db import Database
from tests.conftest import add_participant
from tests.integration.test_project_cycle import FOREST, FOREST_TONNES, DayClock, draft

pytestmark = pytest.mark.fast_backends("sqlite")

PLAN_PDF = b"%PDF-1.4 plan of the Kochi forest\n"
NDVI = b"date,ndvi\n2026-07,0.81\n"
VERIFIED = FOREST_TONNES - 7


@dataclass(frozen=True)
class World:
    report: str
    unverified: str
    request: str
    issuance: str
    deposit: str
    direct: str
    plan_document: str
    evidence: str


@pytest.fixture
def world(db: Database) -> World:
    """PFOREST1 registered (FO-001), one report verified and issued from, one not yet
    verified, and a deposit from another registry; PDIRECT registered directly, with a direct
    issuance; PARR1 (VM0047) submitted with a public comment."""
    clock = DayClock("2026-04-01")
    db.clock = clock
    dev = add_participant(db, "FORESTCO", ["trader"])
    vvb = add_participant(db, "VVB1", ["verification_body"])
    add_participant(db, "VVB2", ["verification_body"])
    other = add_participant(db, "OTHER", ["trader"])
    for body in ("VVB1", "VVB2"):
        for scheme in ("JC", "VCS"):
            accreditation.grant(db, SYSTEM, body, scheme, "forestry", "2026-01-01")
    draft(db, dev, "PFOREST1", ("FO-001", "3.0"))
    doc = plans.attach(db, dev, "PFOREST1", "document", "plan.pdf", "application/pdf", PLAN_PDF)
    plans.submit(db, dev, "PFOREST1", "VVB1")
    plans.start_validation(db, vvb, "PFOREST1")
    plans.validate(db, vvb, "PFOREST1", "positive", "None material.", "The plan is valid.")
    plans.register(db, SYSTEM, "PFOREST1")

    clock.day = "2027-04-10"
    r1 = monitoring.submit(
        db,
        dev,
        "PFOREST1",
        monitoring.NewReport("2026-04-01", "2027-03-31", "VVB1", dict(FOREST)),
    )
    ev = monitoring.attach(db, dev, r1.id, "satellite_data", "ndvi.csv", "text/csv", NDVI)
    monitoring.verify(db, vvb, r1.id, VERIFIED, "Two compartments remeasured.", "Verified.")
    req = issuance_requests.request(db, dev, r1.id, "FORESTCO-MAIN")
    done = issuance_requests.approve(db, SYSTEM, req.id)
    assert done.issuance_id
    r2 = monitoring.submit(
        db,
        dev,
        "PFOREST1",
        monitoring.NewReport("2027-04-01", "2027-04-09", "VVB1", dict(FOREST)),
    )
    deposit = registry.deposit(
        db,
        SYSTEM,
        registry.NewIssuance("PFOREST1", "RM", "9", 2026, 100, "FORESTCO-MAIN"),
        "Verra",
        "VCU-123",
    )
    taxonomy.register_project(
        db, SYSTEM, taxonomy.NewProject("PDIRECT", "JC", "Direct", "ENERGY_SAVING", "JP")
    )
    direct = registry.issue(
        db,
        SYSTEM,
        registry.NewIssuance("PDIRECT", "ER", "1", 2026, 50, "FORESTCO-MAIN"),
    )

    draft(db, dev, "PARR1", ("VM0047", "1.0"))
    plans.submit(db, dev, "PARR1", "VVB1")
    plans.comment(db, other, "PARR1", "What of the neighbouring grassland?")
    return World(
        r1.id,
        r2.id,
        req.id,
        done.issuance_id,
        deposit.issuance_id,
        direct.issuance_id,
        doc.id,
        ev.id,
    )


@pytest.fixture
def http(db: Database, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(db)) as client:
        yield client


def test_the_project_page_shows_the_cycle_with_verified_tonnes_parameters_and_hashes(
    http: TestClient, world: World
) -> None:
    page = http.get("/projects/PFOREST1")
    assert page.status_code == 200
    html = page.text
    assert 'id="project-cycle"' in html and "Project cycle" in html
    assert 'href="/methodologies/FO-001"' in html
    assert "The plan is valid." in html and "VVB1 Corp." in html
    assert hashlib.sha256(PLAN_PDF).hexdigest() in html
    assert f'href="/v1/project-plans/PFOREST1/evidence/{world.plan_document}"' in html
    # the verified report: its tonnes, parameters, formula, evidence
    assert f'data-report="{world.report}"' in html
    assert f'<dd data-figure="verified">{VERIFIED:,}</dd>' in html
    assert f'<dd data-figure="claimed">{FOREST_TONNES:,}</dd>' in html
    assert f'data-recomputed="{FOREST_TONNES}"' in html
    assert 'data-parameter="stem_volume_growth_m3"' in html and "3 points, sum 3590.75" in html
    assert "<code>0.314</code>" in html and "sum(stem_volume_growth_m3)" in html
    assert hashlib.sha256(NDVI).hexdigest() in html
    assert f'href="/v1/monitoring-reports/{world.report}/evidence/{world.evidence}"' in html
    # an unverified report is not public
    assert world.unverified not in html and 'id="report-2"' not in html
    # each issuance and what it rests on
    assert f'id="issuance-{world.issuance}"' in html
    assert f"Issuance request {world.request}" in html and 'href="#report-1"' in html
    assert f'id="issuance-{world.deposit}"' in html
    assert "Deposited from Verra (VCU-123)" in html
    assert "Direct issuance" not in html
    direct = http.get("/projects/PDIRECT").text  # registered directly: no cycle, recorded as such
    assert 'id="project-cycle"' not in direct and f'id="issuance-{world.direct}"' in direct
    assert "Direct issuance by the registry operator" in direct


def test_the_series_csv_and_the_files_it_links_answer_the_public(
    http: TestClient, world: World
) -> None:
    csv = http.get(f"/projects/PFOREST1/reports/{world.report}/stem_volume_growth_m3.csv")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines() == [
        "point,stem_volume_growth_m3,unit",
        "1,1200.5,m3",
        "2,980,m3",
        "3,1410.25,m3",
    ]
    assert http.get(f"/projects/PFOREST1/reports/{world.report}/bef.csv").status_code == 404
    hidden = f"/projects/PFOREST1/reports/{world.unverified}/stem_volume_growth_m3.csv"
    assert http.get(hidden).status_code == 404
    assert (
        http.get(f"/v1/monitoring-reports/{world.report}/evidence/{world.evidence}").content == NDVI
    )
    plan_file = http.get(f"/v1/project-plans/PFOREST1/evidence/{world.plan_document}")
    assert plan_file.content == PLAN_PDF


def test_the_japanese_project_page_uses_the_cycle_terms(http: TestClient, world: World) -> None:
    html = http.get("/ja/projects/PFOREST1").text
    for term in (
        "プロジェクトサイクル",
        "妥当性確認",
        "モニタリング報告書",
        "検証",
        "発行申請",
        "方法論",
    ):
        assert term in html, term
    assert "Verra からの受入" in html
    assert "登録簿運営者による直接発行" in http.get("/ja/projects/PDIRECT").text
    assert 'href="/ja/methodologies/FO-001"' in html
    assert "林小班ごとの幹材積成長量" in html  # the parameter's Japanese label


def test_a_plan_in_the_pipeline_is_listed_and_its_page_shows_comments(
    http: TestClient, world: World
) -> None:
    listed = http.get("/projects/plans")
    assert listed.status_code == 200
    assert 'data-plan="PARR1"' in listed.text and 'data-plan="PFOREST1"' not in listed.text
    assert 'data-state="submitted"' in listed.text and "VVB1 Corp." in listed.text
    assert http.get("/projects/plans?state=withdrawn").text.count("data-plan=") == 0
    page = http.get("/projects/plans/PARR1")
    assert page.status_code == 200
    assert "What of the neighbouring grassland?" in page.text and "OTHER Corp." in page.text
    assert "Thinning and regeneration" in page.text
    assert "2027-05-10" in page.text  # 30 days of public comment under VCS
    ja = http.get("/ja/projects/plans/PARR1").text
    assert "パブリックコメント" in ja and "プロジェクト計画書" in ja
    moved = http.get("/projects/PARR1", follow_redirects=False)
    assert moved.status_code == 303 and moved.headers["location"] == "/projects/plans/PARR1"
    moved_ja = http.get("/ja/projects/PARR1", follow_redirects=False)
    assert moved_ja.headers["location"] == "/ja/projects/plans/PARR1"
    assert http.get("/projects/plans/PFOREST1").status_code == 200  # registered: still public
    assert http.get("/projects/plans/NOSUCH").status_code == 404
    assert http.get("/projects/NOSUCH").status_code == 404


def test_a_draft_plan_is_not_public(db: Database, http: TestClient) -> None:
    dev = add_participant(db, "DRAFTER", ["trader"])
    draft(db, dev, "PDRAFT", ("FO-001", "3.0"))
    assert http.get("/projects/plans/PDRAFT").status_code == 404
    assert http.get("/projects/PDRAFT", follow_redirects=False).status_code == 404
    assert "PDRAFT" not in http.get("/projects/plans").text
    assert public.public_plan_state(db, "PDRAFT") is None


def test_the_methodology_pages_show_versions_parameters_and_the_formula(
    http: TestClient,
) -> None:
    listed = http.get("/methodologies")
    assert listed.status_code == 200
    assert 'data-methodology="FO-001"' in listed.text and 'data-methodology="VM0047"' in listed.text
    page = http.get("/methodologies/FO-001")
    assert page.status_code == 200
    html = page.text
    assert (
        "sum(stem_volume_growth_m3) * bef * (1 + root_shoot_ratio) * wood_density * "
        "carbon_fraction * 44 / 12"
    ) in html
    assert 'data-version="3.0"' in html and 'data-parameter="wood_density"' in html
    assert "t/m3" in html and 'data-plan="PFOREST1"' in html
    assert "20%" in http.get("/methodologies/VM0047").text  # its buffer rate
    ja = http.get("/ja/methodologies/FO-001").text
    assert "方法論" in ja and "算定式" in ja and "容積密度" in ja
    assert http.get("/methodologies/NOSUCH").status_code == 404
