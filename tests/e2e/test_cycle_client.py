"""The project cycle through tanso.client over HTTP: a developer drafts and submits a plan, a
verification body validates it, the registry operator registers it; a monitoring report with a
measurement series is verified and issued from by an approved request, with the buffer share in
the pool; the public reads the report and recomputes its figure."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tanso.api.app import create_app
from tanso.client import ApiError, Client
from tanso.services.common import SYSTEM
from tanso.services.cycle import accreditation
from tanso.services.ledger import audit, participants
from tanso.store.db import Database
from tests.conftest import add_participant
from tests.integration.test_project_cycle import DayClock

pytestmark = pytest.mark.fast_backends("sqlite")


@pytest.fixture
def clients(db: Database) -> Iterator[dict[str, Any]]:
    clock = DayClock("2026-04-01")
    db.clock = clock
    add_participant(db, "ARRCO", ["trader"])
    add_participant(db, "VVBA", ["verification_body"])
    add_participant(db, "VVBB", ["verification_body"])
    for body in ("VVBA", "VVBB"):
        accreditation.grant(db, SYSTEM, body, "VCS", "forestry", "2026-01-01")
    keys = {
        pid: participants.create_api_key(db, SYSTEM, pid).key
        for pid in ("ARRCO", "VVBA", "VVBB", "OPERATOR")
    }
    with TestClient(create_app(db)) as http:
        transport = http._transport  # type: ignore[attr-defined]
        cs: dict[str, Any] = {
            pid: Client("http://testserver", key, transport=transport) for pid, key in keys.items()
        }
        cs["public"] = Client("http://testserver", transport=transport)
        yield cs | {"db": db, "clock": clock}


def test_a_vcs_project_from_plan_to_credits_through_the_client(clients: dict[str, Any]) -> None:
    dev, vvb, vvb2, op, public = (
        clients[k] for k in ("ARRCO", "VVBA", "VVBB", "OPERATOR", "public")
    )
    (vm,) = [m for m in public.methodologies("VCS") if m.id == "VM0047"]
    assert vm.buffer_rate_bp == 2000 and "carbon_stock_change_t" in vm.formula
    plan = dev.draft_plan(
        id="PARRHOK",
        name="Hokkaido larch reforestation",
        name_ja="北海道カラマツ再造林",
        category="FOREST",
        country="JP",
        region="Hokkaido",
        nature="nature",
        methodology_id="VM0047",
        methodology_version="1.0",
        description="Reforestation of 300 ha of former pasture with larch.",
        expected_tonnes_per_year=1_500,
    )
    assert plan.state == "draft"
    with pytest.raises(ApiError) as refused:
        public.project_plan("PARRHOK")  # a draft is not public
    assert refused.value.status == 404
    dev.plan_step("PARRHOK", "submit", validator_id="VVBA")
    assert public.project_plan("PARRHOK").comment_until == "2026-05-01"
    vvb.plan_step("PARRHOK", "start-validation")
    clients["clock"].day = "2026-05-02"
    vvb.plan_step("PARRHOK", "validation", opinion="positive", statement="Valid.")
    with pytest.raises(ApiError) as refused:
        dev.plan_step("PARRHOK", "register")  # the developer may not register
    assert refused.value.status == 403
    assert op.plan_step("PARRHOK", "register").state == "registered"

    clients["clock"].day = "2027-02-01"
    series = ["310.5", "402", "277.25", "351"]
    with pytest.raises(ApiError) as refused:  # VCS: the validator does not verify
        dev.submit_monitoring_report(
            "PARRHOK",
            "2026-05-01",
            "2026-12-31",
            "VVBA",
            {"carbon_stock_change_t": series, "baseline_removals_t": "12", "leakage_t": "3.5"},
        )
    assert (refused.value.status, refused.value.code) == (403, "validator_may_not_verify")
    report = dev.submit_monitoring_report(
        "PARRHOK",
        "2026-05-01",
        "2026-12-31",
        "VVBB",
        {"carbon_stock_change_t": series, "baseline_removals_t": "12", "leakage_t": "3.5"},
    )
    assert report.claimed_tonnes == int(sum(Decimal(x) for x in series) - Decimal("15.5"))
    ev = dev.attach_report_evidence(
        report.id, "sensor_data", "plots.csv", "text/csv", b"plot,dbh_cm\n1,18.2\n"
    )
    with pytest.raises(ApiError) as refused:
        public.monitoring_report(report.id)
    assert refused.value.status == 404
    vvb2.verify_report(report.id, report.claimed_tonnes, "Verified.", "Plot 7 remeasured.")
    seen = public.monitoring_report(report.id)
    assert seen.verification is not None and seen.parameters["carbon_stock_change_t"] == series
    assert seen.evidence is not None and seen.evidence[0].sha256 == ev.sha256

    with pytest.raises(ApiError) as refused:
        dev.request_issuance(report.id, "ARRCO-MAIN", quantity=report.claimed_tonnes)
    assert refused.value.code == "quantity_not_verified"
    req = dev.request_issuance(report.id, "ARRCO-MAIN")
    assert req.buffer_tonnes == -(-report.claimed_tonnes * 2000 // 10_000)
    assert req.quantity + req.buffer_tonnes == report.claimed_tonnes
    done = op.decide_issuance_request(req.id, approve=True)
    assert done.state == "approved" and done.buffer_serials
    held = dev.holdings("ARRCO-MAIN")
    assert held.totals.status == {"held": req.quantity}
    assert audit.verify(clients["db"]).ok
