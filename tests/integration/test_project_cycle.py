"""The project cycle, step by step on both databases: a plan drafted, submitted, validated and
registered; monitoring reports computed by their methodology's formula, verified, and issued
from by approved requests, with the buffer pool's share; and the rules that refuse the rest."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import select

from tanso.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from tanso.domain.participants import Role
from tanso.services import notices
from tanso.services.common import SYSTEM, Actor
from tanso.services.cycle import accreditation, integrity, issuance_requests, monitoring, plans
from tanso.services.ledger import audit, participants, registry
from tanso.store.db import Database
from tanso.store.schema_cycle import monitoring_reports
from tanso.web.notice_texts import notice_text
from tests.conftest import add_participant, corporate_number

pytestmark = pytest.mark.fast_backends("sqlite", "postgres")


class DayClock:
    """A business clock whose day the test sets; each transaction a microsecond later."""

    def __init__(self, day: str) -> None:
        self.day = day
        self.ticks = 0

    def __call__(self) -> str:
        self.ticks += 1
        return f"{self.day}T01:00:00.{self.ticks:06d}Z"


FOREST = {
    "stem_volume_growth_m3": ["1200.5", "980", "1410.25"],
    "bef": "1.23",
    "root_shoot_ratio": "0.25",
    "wood_density": "0.314",
    "carbon_fraction": "0.5",
}
FOREST_TONNES = int(
    Decimal("3590.75")
    * Decimal("1.23")
    * Decimal("1.25")
    * Decimal("0.314")
    * Decimal("0.5")
    * 44
    / 12
)


@pytest.fixture
def cycle(db: Database) -> Iterator[tuple[Database, DayClock, dict[str, Actor]]]:
    clock = DayClock("2026-04-01")
    db.clock = clock
    actors = {
        "dev": add_participant(db, "FORESTCO", ["trader"]),
        "vvb": add_participant(db, "VVB1", ["verification_body"]),
        "vvb2": add_participant(db, "VVB2", ["verification_body"]),
        "other": add_participant(db, "OTHER", ["trader"]),
    }
    for body in ("VVB1", "VVB2"):
        for scheme in ("JC", "VCS"):
            accreditation.grant(db, SYSTEM, body, scheme, "forestry", "2026-01-01")
    yield db, clock, actors


def draft(db: Database, dev: Actor, pid: str, methodology: tuple[str, str]) -> plans.Plan:
    return plans.create(
        db,
        dev,
        plans.NewPlan(
            name=f"Forest {pid}",
            category="FOREST",
            country="JP",
            methodology_id=methodology[0],
            methodology_version=methodology[1],
            description="Thinning and regeneration of 1,200 ha of cedar and cypress.",
            expected_tonnes_per_year=2_000,
            id=pid,
            region="Kochi",
            nature="nature",
        ),
    )


def registered(
    db: Database, a: dict[str, Actor], pid: str, methodology: tuple[str, str] = ("FO-001", "3.0")
) -> None:
    draft(db, a["dev"], pid, methodology)
    plans.submit(db, a["dev"], pid, "VVB1")
    plans.start_validation(db, a["vvb"], pid)
    plans.validate(db, a["vvb"], pid, "positive", "None material.", "The plan is valid.")
    plans.register(db, SYSTEM, pid)


def report(
    db: Database, dev: Actor, pid: str, start: str, end: str, verifier: str = "VVB1"
) -> monitoring.Report:
    return monitoring.submit(db, dev, pid, monitoring.NewReport(start, end, verifier, dict(FOREST)))


def test_a_forest_project_runs_the_whole_cycle_to_issuance(cycle) -> None:  # type: ignore[no-untyped-def]
    db, clock, a = cycle
    plan = draft(db, a["dev"], "PFOREST1", ("FO-001", "3.0"))
    assert plan.state == "draft" and plan.scheme == "JC" and plan.mechanism == "removal"
    with pytest.raises(NotFound):  # a draft is its developer's own
        plans.get(db, a["other"], "PFOREST1")
    plans.submit(db, a["dev"], "PFOREST1", "VVB1")
    assert plans.get(db, None, "PFOREST1").state == "submitted"  # public from submission
    plans.start_validation(db, a["vvb"], "PFOREST1")
    with pytest.raises(Conflict, match="validation"):
        plans.register(db, SYSTEM, "PFOREST1")  # no opinion yet
    plans.validate(db, a["vvb"], "PFOREST1", "positive", "", "Valid under FO-001 3.0.")
    out = plans.register(db, SYSTEM, "PFOREST1")
    assert out.state == "registered"
    with db.read() as conn:
        from tanso.store import repo

        assert repo.get_project(conn, "PFOREST1") is not None

    clock.day = "2027-04-10"
    r1 = report(db, a["dev"], "PFOREST1", "2026-04-01", "2027-03-31")
    assert r1.claimed_tonnes == FOREST_TONNES and r1.number == 1
    ev = monitoring.attach(
        db, a["dev"], r1.id, "satellite_data", "ndvi.csv", "text/csv", b"date,ndvi\n2026-07,0.81\n"
    )
    with pytest.raises(NotFound):  # not public before verification
        monitoring.file(db, None, r1.id, ev.id)
    assert monitoring.file(db, a["vvb"], r1.id, ev.id)[1].startswith(b"date")
    with pytest.raises(InvalidInput, match="at most"):
        monitoring.verify(db, a["vvb"], r1.id, FOREST_TONNES + 1, "", "Too much.")
    verified = FOREST_TONNES - 7
    monitoring.verify(db, a["vvb"], r1.id, verified, "Two compartments remeasured.", "Verified.")
    with pytest.raises(Conflict, match="verified already"):
        monitoring.verify(db, a["vvb"], r1.id, 1, "", "Again.")
    assert monitoring.file(db, None, r1.id, ev.id)[0].sha256 == ev.sha256  # public now

    with pytest.raises(InvalidInput, match=f"{verified:,}"):
        issuance_requests.request(db, a["dev"], r1.id, "FORESTCO-MAIN", quantity=verified + 1)
    req = issuance_requests.request(db, a["dev"], r1.id, "FORESTCO-MAIN")
    assert (req.quantity, req.buffer_tonnes, req.state) == (verified, 0, "pending")
    with pytest.raises(Conflict):
        issuance_requests.request(db, a["dev"], r1.id, "FORESTCO-MAIN")
    done = issuance_requests.approve(db, SYSTEM, req.id)
    assert done.state == "approved" and done.issuance_id
    issued = registry.get_issuance(db, done.issuance_id)
    assert issued.quantity == verified and issued.vintage == 2027
    held = registry.holdings(db, a["dev"], "FORESTCO-MAIN")
    assert sum(b.quantity for b in held.blocks) == verified
    with pytest.raises(Conflict):
        issuance_requests.approve(db, SYSTEM, req.id)
    with pytest.raises(Conflict, match="issuance requests"):  # no direct issuance here
        registry.issue(
            db, SYSTEM, registry.NewIssuance("PFOREST1", "RM", "9", 2027, 5, "FORESTCO-MAIN")
        )
    assert integrity.check(db).problems == []
    assert audit.verify(db).ok


def test_a_vcs_report_issues_the_verified_tonnes_less_the_buffer_share(cycle) -> None:  # type: ignore[no-untyped-def]
    db, clock, a = cycle
    draft(db, a["dev"], "PARR1", ("VM0047", "1.0"))
    plans.submit(db, a["dev"], "PARR1", "VVB1")
    plans.start_validation(db, a["vvb"], "PARR1")
    with pytest.raises(Conflict, match="comment period"):
        plans.validate(db, a["vvb"], "PARR1", "positive", "", "Valid.")
    plans.comment(db, a["other"], "PARR1", "What of the neighbouring grassland?")
    clock.day = "2026-06-01"  # 30 days of public comment are over
    with pytest.raises(Conflict, match="comments until"):
        plans.comment(db, a["other"], "PARR1", "Too late.")
    plans.validate(db, a["vvb"], "PARR1", "positive", "Comment answered.", "Valid.")
    plans.register(db, SYSTEM, "PARR1")
    clock.day = "2027-01-15"
    params = {
        "carbon_stock_change_t": ["800", "450"],
        "baseline_removals_t": "40",
        "leakage_t": "9",
    }
    with pytest.raises(Forbidden, match="another body"):  # VCS: the validator does not verify
        monitoring.submit(
            db, a["dev"], "PARR1", monitoring.NewReport("2026-06-01", "2026-12-31", "VVB1", params)
        )
    r = monitoring.submit(
        db, a["dev"], "PARR1", monitoring.NewReport("2026-06-01", "2026-12-31", "VVB2", params)
    )
    assert r.claimed_tonnes == 1_201
    monitoring.verify(db, a["vvb2"], r.id, 1_201, "", "Verified.")
    req = issuance_requests.request(db, a["dev"], r.id, "FORESTCO-MAIN")
    assert (req.buffer_rate_bp, req.buffer_tonnes, req.quantity) == (2000, 241, 960)
    done = issuance_requests.approve(db, SYSTEM, req.id)
    assert done.buffer_serials and done.buffer_serials.endswith("-961-1201")
    held = registry.holdings(db, a["dev"], "FORESTCO-MAIN")
    assert sum(b.quantity for b in held.blocks) == 960
    found = integrity.check(db)
    assert (found.problems, found.reports, found.issuances) == ([], 1, 1)
    assert audit.verify(db).ok


def test_conflicts_of_interest_and_accreditation_are_rules(cycle) -> None:  # type: ignore[no-untyped-def]
    db, clock, a = cycle
    for pid, roles in (("GRPDEV", ["trader"]), ("GRPVVB", ["verification_body"])):
        participants.create_participant(
            db,
            SYSTEM,
            participants.NewParticipant(
                f"{pid} 株式会社",
                f"{pid} Corp.",
                "corporation",
                roles,
                corporate_number(),
                id=pid,
                corporate_group="GROUP-A",
            ),
        )
        participants.set_status(db, SYSTEM, pid, "active")
    accreditation.grant(db, SYSTEM, "GRPVVB", "JC", "forestry", "2026-01-01")
    dev = Actor("GRPDEV", frozenset({Role.TRADER}))
    draft(db, dev, "PGRP", ("FO-001", "3.0"))
    with pytest.raises(Forbidden, match="corporate group"):
        plans.submit(db, dev, "PGRP", "GRPVVB")
    with pytest.raises(Forbidden, match="accreditation"):  # not for energy, nor for OTHER
        plans.submit(db, dev, "PGRP", "OTHER")
    with pytest.raises(Conflict, match="verification_body"):
        accreditation.grant(db, SYSTEM, "OTHER", "JC", "forestry", "2026-01-01")
    with pytest.raises(NotFound):  # another's draft is as if missing
        plans.withdraw(db, a["dev"], "PGRP", "Not mine.")
    plans.submit(db, dev, "PGRP", "VVB1")
    with pytest.raises(Forbidden, match="named"):
        plans.start_validation(db, a["vvb2"], "PGRP")
    plans.start_validation(db, a["vvb"], "PGRP")
    plans.validate(db, a["vvb"], "PGRP", "positive", "", "Valid.")
    plans.register(db, SYSTEM, "PGRP")
    clock.day = "2026-10-01"
    with pytest.raises(Forbidden, match="corporate group"):
        report(db, dev, "PGRP", "2026-04-01", "2026-09-30", verifier="GRPVVB")
    r = report(db, dev, "PGRP", "2026-04-01", "2026-09-30", verifier="VVB1")  # JC: validator may
    with pytest.raises(Forbidden, match="named"):
        monitoring.verify(db, a["vvb2"], r.id, 1, "", "Not mine to verify.")


def test_a_withdrawn_or_rejected_plan_and_an_inactive_project_issue_nothing(cycle) -> None:  # type: ignore[no-untyped-def]
    db, clock, a = cycle
    draft(db, a["dev"], "PWD", ("FO-001", "3.0"))
    plans.submit(db, a["dev"], "PWD", "VVB1")
    plans.withdraw(db, a["dev"], "PWD", "Land sold.")
    with pytest.raises(Conflict):
        plans.start_validation(db, a["vvb"], "PWD")
    with pytest.raises(NotFound):
        report(db, a["dev"], "PWD", "2026-01-01", "2026-03-31")

    draft(db, a["dev"], "PREJ", ("FO-001", "3.0"))
    plans.submit(db, a["dev"], "PREJ", "VVB1")
    plans.start_validation(db, a["vvb"], "PREJ")
    plans.validate(db, a["vvb"], "PREJ", "negative", "Additionality not shown.", "Not valid.")
    with pytest.raises(Conflict, match="negative"):
        plans.register(db, SYSTEM, "PREJ")
    plans.reject(db, SYSTEM, "PREJ", "Negative validation.")

    registered(db, a, "PINACT")
    clock.day = "2026-09-01"
    r = report(db, a["dev"], "PINACT", "2026-04-01", "2026-08-31")
    monitoring.verify(db, a["vvb"], r.id, 10, "", "Verified.")
    req = issuance_requests.request(db, a["dev"], r.id, "FORESTCO-MAIN")
    plans.deactivate(db, SYSTEM, "PINACT", "Developer ceased operations.")
    with pytest.raises(Conflict, match="inactive"):
        issuance_requests.approve(db, SYSTEM, req.id)
    issuance_requests.reject(db, SYSTEM, req.id, "Project inactive.")
    with db.read() as conn:
        rows = conn.execute(select(monitoring_reports)).all()
        assert all(monitoring.recompute(conn, row) == row.claimed_tonnes for row in rows)
    assert registry.list_issuances(db, "PINACT") == []
    assert integrity.check(db).problems == []
    assert audit.verify(db).ok


def test_reports_are_refused_with_reasons(cycle) -> None:  # type: ignore[no-untyped-def]
    db, clock, a = cycle
    registered(db, a, "PRULES")
    clock.day = "2026-12-01"
    with pytest.raises(Forbidden, match="accreditation"):
        monitoring.submit(
            db,
            a["dev"],
            "PRULES",
            monitoring.NewReport("2026-04-01", "2026-06-30", "FORESTCO", FOREST),
        )
    with pytest.raises(Forbidden):
        report(db, a["other"], "PRULES", "2026-04-01", "2026-06-30")
    with pytest.raises(InvalidInput, match="missing"):
        monitoring.submit(
            db,
            a["dev"],
            "PRULES",
            monitoring.NewReport("2026-04-01", "2026-06-30", "VVB1", {"bef": "1"}),
        )
    with pytest.raises(InvalidInput, match="after today"):
        report(db, a["dev"], "PRULES", "2026-04-01", "2027-03-31")
    report(db, a["dev"], "PRULES", "2026-04-01", "2026-06-30")
    with pytest.raises(Conflict, match="reported once"):
        report(db, a["dev"], "PRULES", "2026-06-01", "2026-08-31")
    accreditation.revoke(db, SYSTEM, accreditation.list_accreditations(db, "VVB2")[0].id, "Lapsed.")
    with pytest.raises(Forbidden, match="accreditation"):
        report(db, a["dev"], "PRULES", "2026-07-01", "2026-08-31", verifier="VVB2")


def test_evidence_is_the_parties_before_it_is_public(cycle) -> None:  # type: ignore[no-untyped-def]
    db, _clock, a = cycle
    draft(db, a["dev"], "PDOC", ("FO-001", "3.0"))
    pdd = plans.attach(
        db, a["dev"], "PDOC", "document", "pdd.pdf", "application/pdf", b"%PDF-1.7 plan"
    )
    with pytest.raises(NotFound):
        plans.document(db, None, "PDOC", pdd.id)
    with pytest.raises(NotFound):
        plans.document(db, a["other"], "PDOC", pdd.id)
    assert plans.document(db, a["dev"], "PDOC", pdd.id)[1] == b"%PDF-1.7 plan"
    plans.submit(db, a["dev"], "PDOC", "VVB1")
    assert plans.document(db, None, "PDOC", pdd.id)[0].size == len(b"%PDF-1.7 plan")
    with pytest.raises(InvalidInput, match="empty"):
        plans.attach(db, a["dev"], "PDOC", "document", "x.pdf", "application/pdf", b"")
    with pytest.raises(InvalidInput, match="Evidence is one of"):
        plans.attach(db, a["dev"], "PDOC", "document", "x.exe", "application/x-msdownload", b"MZ")


def test_a_draft_withdrawn_before_its_submission_stays_private(cycle) -> None:  # type: ignore[no-untyped-def]
    db, _clock, a = cycle
    draft(db, a["dev"], "PPRIV", ("FO-001", "3.0"))
    doc = plans.attach(db, a["dev"], "PPRIV", "document", "a.txt", "text/plain", b"draft")
    plans.withdraw(db, a["dev"], "PPRIV", "Changed our mind.")
    with pytest.raises(NotFound):
        plans.get(db, None, "PPRIV")
    with pytest.raises(NotFound):
        plans.get(db, a["other"], "PPRIV")
    with pytest.raises(NotFound):
        plans.document(db, None, "PPRIV", doc.id)
    assert "PPRIV" not in {p.id for p in plans.list_plans(db)}
    assert plans.get(db, a["dev"], "PPRIV").state == "withdrawn"  # still its developer's


def test_a_plan_names_a_category_of_its_methodology_and_a_real_country(cycle) -> None:  # type: ignore[no-untyped-def]
    db, _clock, a = cycle
    solar = plans.NewPlan(
        "Rooftop solar", "AGRI_BIOCHAR", "JP", "EN-R-002", "3.1", "Solar panels.", 300
    )
    with pytest.raises(InvalidInput, match="RE_POWER, not AGRI_BIOCHAR"):
        plans.create(db, a["dev"], solar)
    with pytest.raises(InvalidInput, match="ISO 3166-1"):
        plans.create(
            db, a["dev"], plans.NewPlan("Solar", "RE_POWER", "JA", "EN-R-002", "3.1", "x", 300)
        )
    made = plans.create(
        db, a["dev"], plans.NewPlan("Solar", "RE_POWER", "JP", "EN-R-002", "3.1", "x", 300)
    )
    assert made.category == "RE_POWER" and made.id.startswith("PJ")


def test_an_accreditation_names_a_known_scheme_and_sector_once(cycle) -> None:  # type: ignore[no-untyped-def]
    db, _clock, _a = cycle
    with pytest.raises(InvalidInput, match="agriculture, energy, forestry"):
        accreditation.grant(db, SYSTEM, "VVB1", "JC", "solar", "2026-01-01")
    with pytest.raises(NotFound, match="FOOTPRINT"):
        accreditation.grant(db, SYSTEM, "VVB1", "J_CREDIT", "forestry", "2026-01-01")
    with pytest.raises(Conflict, match="already"):  # VVB1 holds JC forestry from 2026-01-01
        accreditation.grant(db, SYSTEM, "VVB1", "JC", "forestry", "2026-06-01", "2026-12-31")
    assert accreditation.grant(db, SYSTEM, "VVB1", "FOOTPRINT", "lng_cargo", "2026-01-01").id
    old = accreditation.grant(db, SYSTEM, "VVB1", "JC", "energy", "2020-01-01", "2020-12-31")
    assert accreditation.grant(db, SYSTEM, "VVB1", "JC", "energy", "2021-01-01").id != old.id


def test_a_body_that_corrects_the_parameters_verifies_what_they_compute(cycle) -> None:  # type: ignore[no-untyped-def]
    db, clock, a = cycle
    registered(db, a, "PCORR")
    clock.day = "2027-01-10"
    r = report(db, a["dev"], "PCORR", "2026-04-01", "2026-12-31")
    fixed = dict(FOREST) | {"stem_volume_growth_m3": ["1200.5", "950", "1410.25"]}
    with pytest.raises(InvalidInput, match="make") as refused:
        monitoring.verify(db, a["vvb"], r.id, r.claimed_tonnes, "", "Verified.", None, fixed)
    assert refused.value.code == "verified_not_computed"
    with db.read() as conn:
        row = conn.execute(select(monitoring_reports)).first()
        expected = monitoring.recompute(conn, row, json.dumps(fixed))
    assert expected < r.claimed_tonnes
    done = monitoring.verify(
        db, a["vvb"], r.id, expected, "Compartment 2 remeasured.", "Verified.", None, fixed
    )
    assert done.verification is not None
    assert done.verification.parameters == fixed | {"bef": "1.23"}
    found = integrity.check(db)
    assert found.problems == [] and found.reports == 1


def test_each_party_is_told_when_its_turn_comes_and_of_each_decision(cycle) -> None:  # type: ignore[no-untyped-def]
    db, clock, a = cycle
    registered(db, a, "PNOTE")
    clock.day = "2026-10-01"
    r = report(db, a["dev"], "PNOTE", "2026-04-01", "2026-09-30")
    monitoring.verify(db, a["vvb"], r.id, r.claimed_tonnes, "", "Verified.")
    q = issuance_requests.request(db, a["dev"], r.id, "FORESTCO-MAIN")
    issuance_requests.approve(db, SYSTEM, q.id)
    to_body = [n.kind for n in notices.list_notices(db, a["vvb"])]
    to_dev = [n.kind for n in notices.list_notices(db, a["dev"])]
    assert set(to_body) == {"cycle_plan_submitted", "cycle_report_submitted"}
    assert set(to_dev) == {
        "cycle_plan_validated",
        "cycle_plan_registered",
        "cycle_report_verified",
        "cycle_issuance_approved",
    }
    approved = next(n for n in notices.list_notices(db, a["dev"]) if n.subject_id == q.id)
    text = notice_text(approved.kind, approved.subject_id, approved.params, "ja")
    assert "承認" in text and f"{q.quantity:,}" in text
    assert notices.list_notices(db, a["other"]) == []


def test_a_draft_is_revised_until_it_is_submitted(cycle) -> None:  # type: ignore[no-untyped-def]
    db, _clock, a = cycle
    draft(db, a["dev"], "PREV", ("FO-001", "3.0"))
    better = plans.NewPlan(
        "Forest PREV, enlarged",
        "FOREST",
        "JP",
        "FO-001",
        "3.0",
        "Now 1,500 ha.",
        2_600,
        region="Kochi",
        nature="nature",
    )
    out = plans.revise(db, a["dev"], "PREV", better)
    assert (out.name, out.expected_tonnes_per_year, out.state) == (better.name, 2_600, "draft")
    with pytest.raises(NotFound):  # another's draft
        plans.revise(db, a["other"], "PREV", better)
    with pytest.raises(InvalidInput, match="RE_POWER"):
        plans.revise(
            db, a["dev"], "PREV", plans.NewPlan("x", "FOREST", "JP", "EN-R-002", "3.1", "x", 1)
        )
    plans.submit(db, a["dev"], "PREV", "VVB1")
    with pytest.raises(Conflict, match="only a draft"):
        plans.revise(db, a["dev"], "PREV", better)
    assert plans.get(db, None, "PREV").description == "Now 1,500 ha."
