"""GX-ETS over REST (issue 19): each fiscal year's prices, public; a whole compliance cycle
with real API keys (the scheme administrator covers and allocates, the entity reports, a
verification body verifies, the entity surrenders allowances and credits and pays the ceiling);
the refusals' statuses and codes; the public register in JSON and CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tanso.api.app import create_app
from tanso.domain.errors import Forbidden
from tanso.domain.participants import Role
from tanso.services.common import SYSTEM, Actor
from tanso.services.compliance.gx_compliance import REGISTER_COLUMNS
from tanso.services.ledger import audit, participants
from tanso.services.trading.exchange import NewOrder
from tanso.services.trading.instruments import allowance_instrument
from tanso.store.db import Database
from tests.conftest import add_issuance, add_participant, fund

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_the_prices_of_a_fiscal_year_are_public_with_their_status_and_source(
    db: Database,
) -> None:
    with TestClient(create_app(db)) as http:
        published = http.get("/v1/gx/prices/2026").json()
        assert (published["ceiling"], published["floor"]) == (4_300, 1_700)
        assert published["status"] == "published" and published["source"] == "METI-2025-12-19"
        provisional = http.get("/v1/gx/prices/2027").json()
        assert (provisional["ceiling"], provisional["floor"]) == (4_429, 1_751)
        assert provisional["status"] == "provisional" and provisional["basis_year"] == 2026
        before = http.get("/v1/gx/prices/2025")
        assert before.status_code == 404
        assert before.json()["error"]["code"] == "gx_prices_not_set"
        assert "FY2026" in before.json()["error"]["message"]
        assert http.get("/v1/gx/prices/1999").status_code == 422


# ---------------------------------------------------------------- a whole cycle over REST


class Days:
    """A business clock the test moves: each call a microsecond later on ``day``."""

    def __init__(self, day: str) -> None:
        self.day, self.ticks = day, 0

    def __call__(self) -> str:
        self.ticks += 1
        return f"{self.day}T01:00:00.{self.ticks:06d}Z"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def refused(r: Any, status: int, code: str) -> str:
    """The refusal's message, after checking its status and machine-readable code."""
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == code, error
    assert len(error["message"]) > 10, error
    return str(error["message"])


@pytest.fixture
def gx(db: Database) -> Iterator[dict[str, Any]]:
    """FY2026 (April 2026 to March 2027): two entities, a verification body with a key that holds
    the verify scope, another of STEEL's corporate group, and the operator's key."""
    clock = Days("2026-05-01")
    db.clock = clock
    for pid in ("STEEL", "CEMENT", "LATE"):
        add_participant(db, pid)
    add_participant(db, "VERIFIER", ["verification_body"])
    add_participant(db, "INHOUSE", ["verification_body"])
    for pid in ("STEEL", "INHOUSE"):
        participants.set_attributes(db, SYSTEM, pid, corporate_group="STEEL-GROUP")
    key = participants.create_api_key
    keys = {pid: key(db, SYSTEM, pid, "gx").key for pid in ("STEEL", "CEMENT")}
    for pid in ("VERIFIER", "INHOUSE"):
        keys[pid] = key(db, SYSTEM, pid, "verify", scopes=["read", "verify"]).key
    keys["OP"] = key(db, SYSTEM, participants.OPERATOR_PARTICIPANT, "op").key
    with TestClient(create_app(db)) as http:
        yield {"db": db, "clock": clock, "http": http} | {k: bearer(v) for k, v in keys.items()}


def test_a_whole_compliance_cycle_over_rest_ends_compliant(gx: dict[str, Any]) -> None:
    db, http, op, steel = gx["db"], gx["http"], gx["OP"], gx["STEEL"]
    cover = {"fiscal_year": 2026, "facilities": ["Kimitsu works"]}
    r = http.post(
        "/v1/gx/covered-entities",
        headers=op,
        json=cover | {"participant_id": "STEEL", "sectors": ["steel"]},
    )
    assert r.status_code == 201, r.text
    assert (r.json()["holding_account"], r.json()["compliance_account"]) == (
        "STEEL-GX",
        "STEEL-GXC",
    )
    r = http.post(
        "/v1/gx/covered-entities",
        headers=op,
        json={"participant_id": "CEMENT", "fiscal_year": 2026, "sectors": ["cement"]},
    )
    assert r.status_code == 201, r.text
    listed = http.get("/v1/gx/covered-entities/2026").json()  # public
    assert [c["participant_id"] for c in listed] == ["CEMENT", "STEEL"]

    # benchmark: 500,003 t of crude steel × 1.92 = 960,005.76 t, plus early action
    # 12,345 t × 10% = 1,234.5 t: 961,240.26 t, rounded down once to 961,240
    r = http.post(
        "/v1/gx/allocations",
        headers=op,
        json={
            "participant_id": "STEEL",
            "fiscal_year": 2026,
            "method": "benchmark",
            "inputs": {"sector": "steel", "production": 500_003, "early_reduction": 12_345},
        },
    )
    assert r.status_code == 201, r.text
    alloc = r.json()
    assert (alloc["quantity"], alloc["account_id"]) == (961_240, "STEEL-GX")
    assert alloc["serials"] == "GXA-AL-GX2026-1-1-961240"
    assert "961,240 t (rounded down)" in alloc["working"]
    # grandfathering: 200,000 t × (1 − 1.7%)^1 (FY2025 to FY2026) = 196,600 t
    r = http.post(
        "/v1/gx/allocations",
        headers=op,
        json={
            "participant_id": "CEMENT",
            "fiscal_year": 2026,
            "method": "grandfathering",
            "inputs": {"base_emissions": 200_000},
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["quantity"] == 196_600
    mine = http.get("/v1/gx/allocations/STEEL/2026", headers=steel).json()
    assert [a["quantity"] for a in mine] == [961_240]
    held = http.get("/v1/accounts/STEEL-GX/holdings", headers=steel).json()
    assert held["totals"]["scheme"] == {"GXA": 961_240}

    # the fiscal year over, STEEL reports 1,000,000 t; a verification body confirms it
    gx["clock"].day = "2027-06-01"
    r = http.put("/v1/gx/emissions/STEEL/2026", headers=steel, json={"direct_co2": 1_000_000})
    assert r.status_code == 200, r.text
    assert r.json()["verification"] == "reported"
    waiting = http.get("/v1/gx/verifications", headers=gx["VERIFIER"]).json()
    assert [(e["participant_id"], e["fiscal_year"]) for e in waiting] == [("STEEL", 2026)]
    r = http.post(
        "/v1/gx/emissions/STEEL/2026/verification",
        headers=gx["VERIFIER"],
        json={"decision": "verified"},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["verification"], r.json()["verified_by"]) == ("verified", "VERIFIER")

    # 1,000,000 t: 880,000 allowances, 100,000 t of J-Credits (the 10% cap), 20,000 t at the
    # ceiling price of ¥4,300
    add_issuance(db, "STEEL-MAIN", 150_000, vintage=2024)
    fund(db, "STEEL", 100_000_000)
    surrender = {"participant_id": "STEEL", "fiscal_year": 2026}
    r = http.post(
        "/v1/gx/surrenders",
        headers=steel,
        json=surrender | {"kind": "allowances", "account_id": "STEEL-GX", "quantity": 880_000},
    )
    assert r.status_code == 201, r.text
    assert r.json()["compliance"]["shortfall"] == 120_000
    assert [x["serials"] for x in r.json()["ranges"]] == ["GXA-AL-GX2026-1-1-880000"]
    r = http.post(
        "/v1/gx/surrenders",
        headers=steel,
        json=surrender | {"kind": "credits", "account_id": "STEEL-MAIN", "quantity": 100_000},
    )
    assert r.status_code == 201, r.text
    assert r.json()["ref"].startswith("RT-")
    r = http.post("/v1/gx/ceiling-payments", headers=steel, json=surrender | {"quantity": 20_000})
    assert r.status_code == 201, r.text
    assert (r.json()["price"], r.json()["amount"]) == (4_300, 86_000_000)

    pos = http.get("/v1/gx/compliance/STEEL/2026", headers=steel).json()
    assert (pos["verified_emissions"], pos["surrendered_allowances"]) == (1_000_000, 880_000)
    assert (pos["surrendered_credits"], pos["ceiling_quantity"]) == (100_000, 20_000)
    assert (pos["ceiling_paid"], pos["shortfall"], pos["status"]) == (86_000_000, 0, "compliant")
    assert (pos["held_allowances"], pos["credit_cap"], pos["credits_headroom"]) == (
        81_240,
        100_000,
        0,
    )
    compliance_account = http.get("/v1/accounts/STEEL-GXC/holdings", headers=steel).json()
    assert compliance_account["totals"]["scheme"] == {"GXA": 880_000}
    assert audit.verify(db).ok


def _covered_and_reported(gx: dict[str, Any], tonnes: int = 1_000_000) -> None:
    """STEEL covered and allocated by the operator in FY2026; its emissions reported in 2027."""
    http, op = gx["http"], gx["OP"]
    r = http.post(
        "/v1/gx/covered-entities",
        headers=op,
        json={"participant_id": "STEEL", "fiscal_year": 2026, "sectors": ["steel"]},
    )
    assert r.status_code == 201, r.text
    r = http.post(
        "/v1/gx/allocations",
        headers=op,
        json={
            "participant_id": "STEEL",
            "fiscal_year": 2026,
            "method": "grandfathering",
            "inputs": {"base_emissions": 1_000_000},
        },
    )
    assert r.status_code == 201, r.text
    gx["clock"].day = "2027-06-01"
    r = http.put("/v1/gx/emissions/STEEL/2026", headers=gx["STEEL"], json={"direct_co2": tonnes})
    assert r.status_code == 200, r.text


def test_refusals_answer_4xx_with_a_code_and_a_readable_message(gx: dict[str, Any]) -> None:
    db, http, op, steel = gx["db"], gx["http"], gx["OP"], gx["STEEL"]
    _covered_and_reported(gx, 500_000)  # 983,000 allowances held
    before = http.get("/v1/journal/head").json()["seq"]

    # not covered: 404
    r = http.post(
        "/v1/gx/allocations",
        headers=op,
        json={
            "participant_id": "LATE",
            "fiscal_year": 2026,
            "method": "quantity",
            "quantity": 5,
            "inputs": {"reason": "new furnace"},
        },
    )
    assert "LATE is not a covered entity" in refused(r, 404, "not_covered")
    refused(http.get("/v1/gx/compliance/STEEL/2026", headers=gx["CEMENT"]), 404, "not_covered")
    # not verified yet: 409
    surrender = {"participant_id": "STEEL", "fiscal_year": 2026}
    allowances = surrender | {"kind": "allowances", "account_id": "STEEL-GX", "quantity": 1}
    r = http.post("/v1/gx/surrenders", headers=steel, json=allowances)
    assert "verified" in refused(r, 409, "emissions_not_verified")
    r = http.post("/v1/gx/ceiling-payments", headers=steel, json=surrender | {"quantity": 1})
    refused(r, 409, "emissions_not_verified")
    # a verifier of the entity's own corporate group: 403; a key without verify: 403
    verify = {"decision": "verified"}
    r = http.post("/v1/gx/emissions/STEEL/2026/verification", headers=gx["INHOUSE"], json=verify)
    assert "corporate group" in refused(r, 403, "conflict_of_interest")
    r = http.post("/v1/gx/emissions/STEEL/2026/verification", headers=steel, json=verify)
    refused(r, 403, "scope_missing")
    # bodies the API cannot take: 422
    r = http.post("/v1/gx/surrenders", headers=steel, json=allowances | {"kind": "bonds"})
    refused(r, 422, "invalid_request")
    r = http.put("/v1/gx/emissions/STEEL/2026", headers=steel, json={"direct_co2": -1})
    refused(r, 422, "invalid_request")
    r = http.post(
        "/v1/gx/emissions/STEEL/2026/verification",
        headers=gx["VERIFIER"],
        json={"decision": "returned"},
    )
    assert "findings" in refused(r, 422, "findings_required")
    r = http.post(
        "/v1/gx/allocations",
        headers=op,
        json={
            "participant_id": "STEEL",
            "fiscal_year": 2026,
            "method": "benchmark",
            "inputs": {"sector": "glass", "production": 10},
        },
    )
    assert "steel" in refused(r, 422, "unknown_sector")  # names the designated sectors
    refused(http.get("/v1/gx/compliance/STEEL/1999", headers=steel), 422, "invalid_request")
    assert http.get("/v1/journal/head").json()["seq"] == before  # nothing refused was written

    # verified: over the 10% cap (50,000 t) and beyond the obligation, 409
    r = http.post("/v1/gx/emissions/STEEL/2026/verification", headers=gx["VERIFIER"], json=verify)
    assert r.status_code == 200, r.text
    add_issuance(db, "STEEL-MAIN", 150_000, vintage=2024)
    credits = surrender | {"kind": "credits", "account_id": "STEEL-MAIN", "quantity": 50_001}
    r = http.post("/v1/gx/surrenders", headers=steel, json=credits)
    assert r.status_code == 409, r.text
    assert "GX-P2-CAP-10" in r.json()["error"]["message"]
    r = http.post("/v1/gx/surrenders", headers=steel, json=allowances | {"quantity": 500_001})
    assert "500,000 t verified" in refused(r, 409, "exceeds_obligation")
    r = http.put("/v1/gx/emissions/STEEL/2026", headers=steel, json={"direct_co2": 1})
    refused(r, 409, "emissions_verified")
    # the ceiling without the cash to pay it
    r = http.post("/v1/gx/ceiling-payments", headers=steel, json=surrender | {"quantity": 10})
    assert "¥43,000" in refused(r, 409, "insufficient_cash")
    assert audit.verify(db).ok


PUBLISHED = {
    "participant_id",
    "name_en",
    "name_ja",
    "sectors",
    "allocated",
    "verified_emissions",
    "surrendered_allowances",
    "surrendered_credits",
    "ceiling_quantity",
    "status",
}


def test_the_public_register_shows_only_the_published_fields(gx: dict[str, Any]) -> None:
    http = gx["http"]
    _covered_and_reported(gx)
    r = http.post(
        "/v1/gx/emissions/STEEL/2026/verification",
        headers=gx["VERIFIER"],
        json={"decision": "verified"},
    )
    assert r.status_code == 200, r.text
    fund(gx["db"], "STEEL", 10_000_000)
    r = http.post(
        "/v1/gx/ceiling-payments",
        headers=gx["STEEL"],
        json={"participant_id": "STEEL", "fiscal_year": 2026, "quantity": 2_000},
    )
    assert r.status_code == 201, r.text

    r = http.get("/v1/gx/register/2026")  # no key: public
    assert r.status_code == 200, r.text
    (row,) = r.json()
    assert set(row) == PUBLISHED
    assert (row["participant_id"], row["allocated"], row["verified_emissions"]) == (
        "STEEL",
        983_000,
        1_000_000,
    )
    assert (row["ceiling_quantity"], row["status"]) == (2_000, "open")
    for private in ("STEEL-GX", "STEEL-MAIN", "CASH-", "held", "8,600,000", "8600000"):
        assert private not in r.text

    r = http.get("/v1/gx/register/2026?format=csv")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert 'filename="gx-register-FY2026.csv"' in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.text)))
    assert (
        rows[0]
        == REGISTER_COLUMNS
        == ["fiscal_year", *sorted(PUBLISHED, key=REGISTER_COLUMNS.index)]
    )
    assert rows[1][:2] == ["2026", "STEEL"] and rows[1][-1] == "open"
    assert len(rows) == 2
    refused(http.get("/v1/gx/register/2026?format=xml"), 422, "invalid_request")


def test_the_price_stability_buy_goes_through_the_exchange_and_is_published(
    gx: dict[str, Any],
) -> None:
    """The scheme administrator's buy at the adjustment reference price reaches the exchange
    (on a gateway, the engine: its key holds operate, not trade) and is on the public record;
    the administrator may only buy allowances, never sell nor trade credits."""
    db, http, op = gx["db"], gx["http"], gx["OP"]
    x = http.app.state.exchange
    x.define_instrument(SYSTEM, allowance_instrument(2026))
    x.session(SYSTEM, "GX-ALLOW-2026", "open")
    fund(db, participants.OPERATOR_PARTICIPANT, 10_000_000)
    body = {"instrument_id": "GX-ALLOW-2026", "quantity": 1_000}
    r = http.post("/v1/gx/price-stability", headers=op, json=body)
    assert r.status_code == 201, r.text
    placed = r.json()
    assert (placed["kind"], placed["price"], placed["quantity"]) == ("buy", 1_700, 1_000)
    record = http.get("/v1/gx/price-stability").json()
    assert [o["id"] for o in record["operations"]] == [placed["id"]]
    assert (record["bought"], record["cancelled"]) == (0, 0)  # nothing settled yet
    # the administrator's keys hold no trade scope: no other order route lets it place one
    sell = {"instrument": "GX-ALLOW-2026", "side": "sell", "quantity": 1, "price": 1_700}
    refused(http.post("/v1/orders", headers=op, json=sell), 403, "scope_missing")
    admin = Actor(participants.OPERATOR_PARTICIPANT, frozenset({Role.SCHEME_ADMINISTRATOR}))
    with pytest.raises(Forbidden) as selling:
        x.place(admin, NewOrder("GX-ALLOW-2026", "sell", 1, 1_700, account_id="OPERATOR-GXPS"))
    assert selling.value.code == "role_required"
    assert audit.verify(db).ok
