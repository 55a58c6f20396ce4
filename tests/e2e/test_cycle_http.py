"""The project cycle over HTTP (issue 23, src/tanso/api/routes_cycle.py): a forest project from
its draft to credits through the REST routes with API keys, each step refused to the keys that
may not take it (403 by role or scope, 404 for another's draft); evidence served to a stranger
only once public, with its SHA-256; bad input answered 4xx with a code and a sentence."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tanso.api.app import create_app
from tanso.services.common import SYSTEM
from tanso.services.ledger import audit, participants
from tanso.store.db import Database
from tests.conftest import add_participant

PLAN = {
    "id": "PWEB1",
    "name": "Shimanto forest",
    "category": "FOREST",
    "country": "JP",
    "region": "Kochi",
    "nature": "nature",
    "methodology_id": "FO-001",
    "methodology_version": "3.0",
    "description": "Thinning and regeneration of 800 ha of cedar.",
    "expected_tonnes_per_year": 1_500,
}
PARAMETERS = {
    "stem_volume_growth_m3": ["1200.5", "980"],
    "bef": "1.23",
    "root_shoot_ratio": "0.25",
    "wood_density": "0.314",
    "carbon_fraction": "0.5",
}
REPORT = {
    "period_start": "2025-01-01",
    "period_end": "2025-12-31",
    "verifier_id": "VVB1",
    "parameters": PARAMETERS,
}


class Http:
    """The app and a header per caller: DEV (developer), VVB1 (verification body), OTHER (a
    stranger with a key), READER (DEV's read-only key), OPERATOR, and PUBLIC (no key)."""

    def __init__(self, client: TestClient, keys: dict[str, str]) -> None:
        self.client = client
        self.headers = {who: {"Authorization": f"Bearer {key}"} for who, key in keys.items()}
        self.headers["PUBLIC"] = {}

    def call(
        self, who: str, method: str, path: str, body: Any = None, status: int | None = None
    ) -> Any:
        r = self.client.request(method, f"/v1{path}", headers=self.headers[who], json=body)
        if status is not None:
            assert r.status_code == status, (who, method, path, r.status_code, r.text)
        return r

    def refused(self, who: str, method: str, path: str, body: Any, status: int) -> dict[str, Any]:
        """A refusal: the status, and the shared error body with its code and message."""
        r = self.call(who, method, path, body, status)
        error: dict[str, Any] = r.json()["error"]
        assert error["code"] and error["message"], r.text
        return error


@pytest.fixture
def http(db: Database) -> Iterator[Http]:
    add_participant(db, "DEV", ["trader"])
    add_participant(db, "VVB1", ["verification_body"])
    add_participant(db, "OTHER", ["trader"])
    key = participants.create_api_key
    keys = {
        "DEV": key(db, SYSTEM, "DEV").key,
        "VVB1": key(db, SYSTEM, "VVB1").key,
        "OTHER": key(db, SYSTEM, "OTHER").key,
        "READER": key(db, SYSTEM, "DEV", "read only", scopes=["read"]).key,
        "OPERATOR": key(db, SYSTEM, "OPERATOR").key,
    }
    with TestClient(create_app(db)) as client:
        yield Http(client, {k: str(v) for k, v in keys.items()})


def _evidence(name: str, media_type: str, content: bytes, kind: str = "document") -> dict[str, str]:
    return {
        "kind": kind,
        "file_name": name,
        "media_type": media_type,
        "content_base64": base64.b64encode(content).decode(),
    }


def test_a_project_goes_from_draft_to_credits_and_each_step_refuses_the_wrong_keys(
    http: Http, db: Database
) -> None:
    h = http
    # accreditation: the operator's; public to read
    accredit = {
        "participant_id": "VVB1",
        "scheme": "JC",
        "sector": "forestry",
        "valid_from": "2025-01-01",
    }
    for who in ("DEV", "VVB1"):
        assert h.refused(who, "POST", "/accreditations", accredit, 403)["code"] == "scope_missing"
    h.call("OPERATOR", "POST", "/accreditations", accredit, 201)
    listed = h.call("PUBLIC", "GET", "/accreditations?participant_id=VVB1", status=200).json()
    assert [(a["scheme"], a["sector"]) for a in listed] == [("JC", "forestry")]
    assert any(m["id"] == "FO-001" for m in h.call("PUBLIC", "GET", "/methodologies").json())

    # a draft is its developer's own: another's answers as missing
    h.refused("READER", "POST", "/project-plans", PLAN, 403)
    h.refused("PUBLIC", "POST", "/project-plans", PLAN, 401)
    assert h.call("DEV", "POST", "/project-plans", PLAN, 201).json()["state"] == "draft"
    pdd = b"%PDF-1.7 the plan"
    doc = h.call(
        "DEV", "POST", "/project-plans/PWEB1/evidence", _evidence("pdd.pdf", "application/pdf", pdd)
    )
    assert doc.status_code == 201, doc.text
    doc_url = f"/project-plans/PWEB1/evidence/{doc.json()['id']}"
    for who in ("OTHER", "PUBLIC", "VVB1"):
        h.refused(who, "GET", "/project-plans/PWEB1", None, 404)
        h.refused(who, "GET", doc_url, None, 404)
    for who in ("OTHER", "VVB1"):
        assert h.refused(who, "POST", "/project-plans/PWEB1/submit", {"validator_id": "VVB1"}, 404)[
            "code"
        ] == ("plan_not_found")
        h.refused(who, "POST", "/project-plans/PWEB1/withdraw", {"reason": "Mine now."}, 404)
    assert h.call("DEV", "GET", doc_url, status=200).content == pdd
    assert h.call("OPERATOR", "GET", "/project-plans/PWEB1", status=200).json()["state"] == "draft"
    assert [p["id"] for p in h.call("DEV", "GET", "/project-plans?state=draft").json()] == ["PWEB1"]
    assert h.call("OTHER", "GET", "/project-plans?state=draft").json() == []

    # submitted: public, with its documents
    h.refused("READER", "POST", "/project-plans/PWEB1/submit", {"validator_id": "VVB1"}, 403)
    h.call("DEV", "POST", "/project-plans/PWEB1/submit", {"validator_id": "VVB1"}, 200)
    got = h.call("PUBLIC", "GET", doc_url, status=200)
    assert got.content == pdd
    assert got.headers["X-Evidence-SHA256"] == hashlib.sha256(pdd).hexdigest()
    assert got.headers["X-Evidence-Media-Type"] == "application/pdf"
    assert 'filename="pdd.pdf"' in got.headers["Content-Disposition"]
    assert got.headers["Content-Type"] == "application/octet-stream"  # never rendered here
    h.refused("PUBLIC", "GET", "/projects/NOSUCH/monitoring-reports", None, 404)
    assert h.call("PUBLIC", "GET", "/project-plans/PWEB1", status=200).json()["state"] == (
        "submitted"
    )
    assert (
        h.refused("OTHER", "POST", "/project-plans/PWEB1/withdraw", {"reason": "x"}, 403)["code"]
        == "not_plan_developer"
    )
    closed = h.refused("OTHER", "POST", "/project-plans/PWEB1/comments", {"body": "Hm."}, 409)
    assert closed["code"] == "comment_period_closed"  # J-Credit has no comment period

    # validation: the named body (scope verify), then registration: the operator
    for who in ("DEV", "OTHER", "OPERATOR"):
        h.refused(who, "POST", "/project-plans/PWEB1/start-validation", None, 403)
    h.call("VVB1", "POST", "/project-plans/PWEB1/start-validation", None, 200)
    opinion = {"opinion": "positive", "findings": "", "statement": "Valid under FO-001 3.0."}
    for who in ("DEV", "OTHER"):
        h.refused(who, "POST", "/project-plans/PWEB1/validation", opinion, 403)
    h.call("VVB1", "POST", "/project-plans/PWEB1/validation", opinion, 200)
    for who in ("DEV", "VVB1", "OTHER"):
        h.refused(who, "POST", "/project-plans/PWEB1/register", None, 403)
    assert h.call("OPERATOR", "POST", "/project-plans/PWEB1/register", None, 200).json()[
        "state"
    ] == ("registered")

    # a monitoring report: the developer's, with the methodology's parameters
    reports = "/projects/PWEB1/monitoring-reports"
    for who, status in (("OTHER", 403), ("READER", 403), ("VVB1", 403), ("PUBLIC", 401)):
        h.refused(who, "POST", reports, REPORT, status)
    bad = h.refused(
        "DEV", "POST", reports, REPORT | {"parameters": PARAMETERS | {"bef": "1,23"}}, 422
    )
    assert bad["code"] == "invalid_parameter_value" and "bef" in bad["message"]
    long = PARAMETERS | {"stem_volume_growth_m3": ["1"] * 10_001}
    too_long = h.refused("DEV", "POST", reports, REPORT | {"parameters": long}, 422)
    assert too_long["code"] == "series_too_long" and "10,001" in too_long["message"]
    reversed_ = REPORT | {"period_start": "2025-12-31", "period_end": "2025-01-01"}
    assert h.refused("DEV", "POST", reports, reversed_, 422)["code"] == "invalid_period"
    report = h.call("DEV", "POST", reports, REPORT, 201).json()
    claimed, rid = report["claimed_tonnes"], report["id"]
    assert claimed > 0 and report["state"] == "submitted" and report["formula"]
    data = b"date,ndvi\n2025-07,0.81\n"
    ev = h.call(
        "DEV",
        "POST",
        f"/monitoring-reports/{rid}/evidence",
        _evidence("ndvi.csv", "text/csv", data, "satellite_data"),
        201,
    ).json()
    ev_url = f"/monitoring-reports/{rid}/evidence/{ev['id']}"
    for who in ("OTHER", "PUBLIC"):
        h.refused(who, "GET", ev_url, None, 404)
        h.refused(who, "GET", f"/monitoring-reports/{rid}", None, 404)
    assert h.call("PUBLIC", "GET", reports, status=200).json() == []
    for who in ("DEV", "VVB1", "OPERATOR"):
        assert h.call(who, "GET", ev_url, status=200).content == data

    # verification: the body the developer named, once, at most the claim
    url = f"/monitoring-reports/{rid}/verification"
    verdict = {"verified_tonnes": claimed - 5, "findings": "", "statement": "Verified."}
    for who in ("DEV", "OTHER", "OPERATOR"):
        h.refused(who, "POST", url, verdict, 403)
    over = h.refused("VVB1", "POST", url, verdict | {"verified_tonnes": claimed + 1}, 422)
    assert over["code"] == "verified_exceeds_claimed"
    assert f"{claimed:,}" in over["message"] and f"{claimed + 1:,}" in over["message"]
    h.call("VVB1", "POST", url, verdict, 201)
    assert h.refused("VVB1", "POST", url, verdict, 409)["code"] == "report_already_verified"
    got = h.call("PUBLIC", "GET", ev_url, status=200)
    assert got.content == data
    assert got.headers["X-Evidence-SHA256"] == hashlib.sha256(data).hexdigest() == ev["sha256"]
    public = h.call("PUBLIC", "GET", f"/monitoring-reports/{rid}", status=200).json()
    assert public["verification"]["verified_tonnes"] == claimed - 5
    h.refused(
        "DEV",
        "POST",
        f"/monitoring-reports/{rid}/evidence",
        _evidence("x.csv", "text/csv", b"1"),
        409,
    )

    # the issuance request: the developer's, for exactly the verified tonnes; the operator's
    # approval issues them
    ask = {"report_id": rid, "account_id": "DEV-MAIN"}
    for who, status in (("OTHER", 404), ("READER", 403), ("VVB1", 404)):
        h.refused(who, "POST", "/issuance-requests", ask, status)
    wrong = h.refused("DEV", "POST", "/issuance-requests", ask | {"quantity": claimed}, 422)
    assert wrong["code"] == "quantity_not_verified"
    assert f"{claimed - 5:,}" in wrong["message"] and f"{claimed:,}" in wrong["message"]
    req = h.call("DEV", "POST", "/issuance-requests", ask | {"quantity": claimed - 5}, 201).json()
    assert (req["quantity"], req["state"]) == (claimed - 5, "pending")
    assert [r["id"] for r in h.call("DEV", "GET", "/issuance-requests").json()] == [req["id"]]
    assert h.call("OTHER", "GET", "/issuance-requests").json() == []
    h.refused("OTHER", "GET", f"/issuance-requests/{req['id']}", None, 404)
    for who in ("DEV", "VVB1", "OTHER"):
        h.refused(who, "POST", f"/issuance-requests/{req['id']}/approve", None, 403)
        h.refused(who, "POST", f"/issuance-requests/{req['id']}/reject", {"reason": "No."}, 403)
    done = h.call("OPERATOR", "POST", f"/issuance-requests/{req['id']}/approve", None, 200).json()
    assert done["state"] == "approved" and done["issuance_id"]
    issued = h.call("PUBLIC", "GET", f"/issuances/{done['issuance_id']}", status=200).json()
    assert issued["quantity"] == claimed - 5
    held = h.call("DEV", "GET", "/accounts/DEV-MAIN/holdings", status=200).json()
    assert held["total"] == claimed - 5  # FO-001 has no buffer: all of it to the developer
    h.refused("OPERATOR", "POST", f"/issuance-requests/{req['id']}/approve", None, 409)

    # the project set inactive: the operator's only; it reports nothing more
    for who in ("DEV", "VVB1"):
        h.refused(who, "POST", "/projects/PWEB1/deactivate", {"reason": "Ceased."}, 403)
    h.call("OPERATOR", "POST", "/projects/PWEB1/deactivate", {"reason": "Ceased."}, 200)
    later = REPORT | {"period_start": "2024-01-01", "period_end": "2024-12-31"}
    assert h.refused("DEV", "POST", reports, later, 409)["code"] == "project_inactive"
    assert audit.verify(db).ok


def test_withdrawal_rejection_and_revocation_are_their_roles_alone(http: Http) -> None:
    h = http
    accredit = {"participant_id": "VVB1", "scheme": "JC", "sector": "forestry"}
    made = h.call("OPERATOR", "POST", "/accreditations", accredit | {"valid_from": "2025-01-01"})
    assert made.status_code == 201, made.text
    for pid in ("PWEB2", "PWEB3"):
        h.call("DEV", "POST", "/project-plans", PLAN | {"id": pid}, 201)
        h.call("DEV", "POST", f"/project-plans/{pid}/submit", {"validator_id": "VVB1"}, 200)
    for who in ("OTHER", "VVB1", "OPERATOR"):
        h.refused(who, "POST", "/project-plans/PWEB2/withdraw", {"reason": "x"}, 403)
    assert h.call("DEV", "POST", "/project-plans/PWEB2/withdraw", {"reason": "Sold."}, 200).json()[
        "state"
    ] == ("withdrawn")
    for who in ("DEV", "VVB1", "OTHER"):
        h.refused(who, "POST", "/project-plans/PWEB3/reject", {"reason": "x"}, 403)
    rejected = h.call(
        "OPERATOR", "POST", "/project-plans/PWEB3/reject", {"reason": "Not additional."}
    )
    assert rejected.status_code == 200 and rejected.json()["reason"] == "Not additional."
    h.refused("DEV", "POST", "/project-plans/PWEB3/submit", {"validator_id": "VVB1"}, 409)
    h.refused("OPERATOR", "POST", "/projects/PWEB3/deactivate", {"reason": "x"}, 409)
    h.refused("OPERATOR", "POST", "/projects/NOSUCH/deactivate", {"reason": "x"}, 404)
    h.refused("DEV", "POST", "/projects/PWEB2/monitoring-reports", REPORT, 404)
    aid = made.json()["id"]
    for who in ("DEV", "VVB1"):
        h.refused(who, "POST", f"/accreditations/{aid}/revoke", {"reason": "Lapsed."}, 403)
    h.call("OPERATOR", "POST", f"/accreditations/{aid}/revoke", {"reason": "Lapsed."}, 200)
    h.call("DEV", "POST", "/project-plans", PLAN | {"id": "PWEB4"}, 201)
    no_longer = h.refused(
        "DEV", "POST", "/project-plans/PWEB4/submit", {"validator_id": "VVB1"}, 403
    )
    assert no_longer["code"] == "not_accredited"


def test_methodologies_are_the_operators_and_a_bad_formula_is_refused(http: Http) -> None:
    h = http
    new = {
        "id": "FO-900",
        "version": "1.0",
        "scheme": "JC",
        "sector": "forestry",
        "mechanism": "removal",
        "credit_type": "RM",
        "title_en": "Test forestry",
        "valid_from": "2025-01-01",
        "parameters": [{"name": "area_ha", "kind": "value", "label_en": "Area"}],
        "formula": "area_ha * 2",
    }
    for who, status in (("DEV", 403), ("VVB1", 403), ("PUBLIC", 401)):
        h.refused(who, "POST", "/methodologies", new, status)
    for formula in ("area_ha +* 2", "__import__('os')", "area_ha * volume"):
        bad = h.refused("OPERATOR", "POST", "/methodologies", new | {"formula": formula}, 422)
        assert bad["code"] == "invalid_formula", bad
    assert h.call("OPERATOR", "POST", "/methodologies", new, 201).json()["formula"] == "area_ha * 2"
    assert h.refused("OPERATOR", "POST", "/methodologies", new, 409)["code"] == "methodology_exists"
    versions = h.call("PUBLIC", "GET", "/methodologies/FO-900", status=200).json()
    assert [v["version"] for v in versions] == ["1.0"]


def test_another_s_draft_answers_a_validation_body_as_a_missing_plan(http: Http) -> None:
    h = http
    h.call("DEV", "POST", "/project-plans", PLAN, 201)
    opinion = {"opinion": "positive", "statement": "Valid."}
    for path, body in (("start-validation", None), ("validation", opinion)):
        missing = h.refused("VVB1", "POST", f"/project-plans/NOSUCH/{path}", body, 404)
        draft = h.call("VVB1", "POST", f"/project-plans/PWEB1/{path}", body)
        assert (draft.status_code, draft.json()["error"]["code"]) == (404, missing["code"])
