"""Removal credits through the REST API and tanso.client (issue 21 §1): the registry operator
records a removal project's profile and reports a reversal; anyone reads the project's record,
the buffer pools and the reversal notices; others are refused with a clear error."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tanso.api.app import create_app
from tanso.client import ApiError, Client
from tanso.services.common import SYSTEM
from tanso.services.ledger import participants, registry, taxonomy
from tanso.store.db import Database
from tests.conftest import add_participant

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_the_operator_profiles_a_project_and_reports_a_reversal_others_read_it(
    db: Database,
) -> None:
    add_participant(db, "DEV")
    keys = {
        "OPERATOR": participants.create_api_key(db, SYSTEM, "OPERATOR").key,
        "DEV": participants.create_api_key(db, SYSTEM, "DEV").key,
    }
    taxonomy.register_project(
        db,
        SYSTEM,
        taxonomy.NewProject("BCX", "JC", "Biochar X", "AGRI_BIOCHAR", "JP", mechanism="removal"),
    )
    with TestClient(create_app(db)) as http:
        transport = http._transport  # type: ignore[attr-defined]
        operator = Client("http://testserver", keys["OPERATOR"], transport=transport)
        dev = Client("http://testserver", keys["DEV"], transport=transport)
        profile = operator.set_removal_profile(
            "BCX", "biochar", "product", 100, "medium", 100, 2_000
        )
        assert (profile.durable, profile.buffer_rate_bp) == (True, 2_000)
        with pytest.raises(ApiError) as refused:
            dev.set_removal_profile("BCX", "biochar", "product", 100, "medium", 100, 2_000)
        assert refused.value.status == 403
        with pytest.raises(ApiError) as bad:
            operator.set_removal_profile("BCX", "biochar", "vault", 100, "medium", 100, 2_000)
        assert (bad.value.status, bad.value.code) == (422, "invalid_storage")
        receipt = registry.issue(
            db, SYSTEM, registry.NewIssuance("BCX", "RM", "1", 2026, 500, "DEV-MAIN")
        )
        assert receipt.buffer_quantity == 100
        with pytest.raises(ApiError) as short:
            operator.report_reversal("BCX", 10, "volcano", "2026-08-14")
        assert (short.value.status, short.value.code) == (422, "invalid_cause")
        rev = operator.report_reversal("BCX", 40, "fire", "2026-08-14", "Storage yard fire")
        assert (rev.from_project_buffer, rev.uncompensated) == (40, 0)
        record = dev.removal_record("BCX")
        assert (record.buffered, record.buffer_left) == (100, 60)
        (pool,) = dev.buffer_pools()
        assert (pool.contributed, pool.cancelled, pool.left) == (100, 40, 60)
        assert [r.id for r in dev.reversals()] == [rev.id]
        # the public answer needs no key
        anonymous = http.get(f"/v1/removals/reversals/{rev.id}")
        assert anonymous.status_code == 200 and anonymous.json()["cause"] == "fire"
        missing = http.get("/v1/removals/reversals/REV-NOPE")
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "reversal_not_found"
