"""GX-ETS compliance cycle (issue 19): cover, allocate, report and verify emissions, surrender
allowances and credits within the 10% cap, pay the ceiling, and the compliance status, on both
databases."""

from __future__ import annotations

from typing import Any

import pytest

from tanso.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from tanso.domain.participants import Role
from tanso.services.common import SYSTEM, Actor
from tanso.services.compliance import gx_compliance as gc
from tanso.services.compliance import gx_cycle as gx
from tanso.services.ledger import audit, participants, registry
from tanso.services.ledger.blocks import Selection
from tanso.store.db import Database
from tests.conftest import add_issuance, add_participant, fund


class Days:
    """A business clock the test moves: each call a microsecond later on ``day``."""

    def __init__(self, day: str) -> None:
        self.day, self.ticks = day, 0

    def __call__(self) -> str:
        self.ticks += 1
        return f"{self.day}T01:00:00.{self.ticks:06d}Z"


@pytest.fixture
def cycle(db: Database) -> dict[str, Any]:
    """FY2026 under way: an entity covered and allocated, a verification body registered."""
    clock = Days("2026-05-01")
    db.clock = clock
    steel = add_participant(db, "STEEL")
    verifier = add_participant(db, "VERIFIER", ["verification_body"])
    gx.cover(db, SYSTEM, "STEEL", 2026, ["steel"], ["Kimitsu works"])
    alloc = gx.allocate(db, SYSTEM, "STEEL", 2026, "grandfathering", {"base_emissions": 1_000_000})
    return {"db": db, "clock": clock, "steel": steel, "verifier": verifier, "alloc": alloc}


def _verified(c: dict[str, Any], tonnes: int) -> None:
    db = c["db"]
    c["clock"].day = "2027-06-01"
    gx.report_emissions(db, c["steel"], "STEEL", 2026, tonnes)
    gx.verify_emissions(db, c["verifier"], "STEEL", 2026, "verified")


def test_a_grandfathered_allocation_issues_serial_allowances_into_the_holding_account(
    cycle: dict[str, Any],
) -> None:
    alloc = cycle["alloc"]
    # base 1,000,000 t × (1 − 1.7%)^1 (FY2025 to FY2026) = 983,000 t
    assert alloc.quantity == 983_000
    assert alloc.account_id == "STEEL-GX"
    assert alloc.serials == "GXA-AL-GX2026-1-1-983000"
    held = registry.holdings(cycle["db"], cycle["steel"], "STEEL-GX")
    assert held.totals.scheme == {"GXA": 983_000}
    assert held.totals.vintage == {"2026": 983_000}


def test_a_whole_cycle_ends_compliant_and_the_journal_balances(cycle: dict[str, Any]) -> None:
    db, steel = cycle["db"], cycle["steel"]
    add_issuance(db, "STEEL-MAIN", 200_000, vintage=2024)
    fund(db, "STEEL", 10_000_000_000)
    _verified(cycle, 1_100_000)
    pos = gc.compliance(db, steel, "STEEL", 2026)
    assert (pos.verified_emissions, pos.shortfall, pos.status) == (1_100_000, 1_100_000, "open")
    assert pos.credit_cap == 110_000 and pos.held_allowances == 983_000
    gc.surrender(db, steel, "STEEL", 2026, "allowances", "STEEL-GX", Selection(quantity=983_000))
    with pytest.raises(Conflict) as over_cap:
        gc.surrender(db, steel, "STEEL", 2026, "credits", "STEEL-MAIN", Selection(quantity=110_001))
    assert "GX-P2-CAP-10" in over_cap.value.message
    gc.surrender(db, steel, "STEEL", 2026, "credits", "STEEL-MAIN", Selection(quantity=100_000))
    paid = gc.pay_ceiling(db, steel, "STEEL", 2026, 17_000)
    fund(db, "OPERATOR", 1)  # the scheme's account is not the operator's own cash account
    assert (paid.price, paid.amount) == (4_300, 17_000 * 4_300)
    pos = paid.compliance
    assert (pos.surrendered_allowances, pos.surrendered_credits) == (983_000, 100_000)
    assert (pos.ceiling_quantity, pos.shortfall, pos.status) == (17_000, 0, "compliant")
    with pytest.raises(Conflict) as more:
        gc.pay_ceiling(db, steel, "STEEL", 2026, 1)
    assert more.value.code == "exceeds_obligation"
    row = next(r for r in gc.register(db, 2026) if r.participant_id == "STEEL")
    assert (row.allocated, row.verified_emissions, row.status) == (983_000, 1_100_000, "compliant")
    assert audit.verify(db).ok


def test_nothing_counts_before_verification_and_a_short_entity_is_non_compliant_after_the_deadline(
    cycle: dict[str, Any],
) -> None:
    db, steel, verifier = cycle["db"], cycle["steel"], cycle["verifier"]
    with pytest.raises(Conflict) as early:
        gc.surrender(db, steel, "STEEL", 2026, "allowances", "STEEL-GX", Selection(quantity=1))
    assert early.value.code == "emissions_not_verified"
    gx.report_emissions(db, steel, "STEEL", 2026, 1_200_000)
    with pytest.raises(InvalidInput):
        gx.verify_emissions(db, verifier, "STEEL", 2026, "returned")  # findings required
    back = gx.verify_emissions(db, verifier, "STEEL", 2026, "returned", "Boiler 3 missing.")
    assert back.verification == "returned"
    _verified(cycle, 1_250_000)
    gc.surrender(db, steel, "STEEL", 2026, "allowances", "STEEL-GX", Selection(quantity=983_000))
    cycle["clock"].day = "2028-02-01"
    pos = gc.compliance(db, steel, "STEEL", 2026)
    assert (pos.shortfall, pos.status) == (267_000, "non_compliant")
    assert pos.shortfall_cost_at_ceiling == 267_000 * 4_300
    assert pos.non_compliance_charge == 267_000 * 4_300 * 110 // 100
    with pytest.raises(Conflict) as late:
        gc.pay_ceiling(db, steel, "STEEL", 2026, 1)
    assert late.value.code == "deadline_passed"
    # credits retired for the use after the deadline no longer count toward the year
    add_issuance(db, "STEEL-MAIN", 1_000, vintage=2024)
    late_retirement = registry.RetirementRequest(
        "STEEL-MAIN", Selection(quantity=1_000), ["gx_ets_surrender"], reporting_year=2026
    )
    registry.retire(db, steel, late_retirement)
    after = gc.compliance(db, steel, "STEEL", 2026)
    assert (after.surrendered_credits, after.shortfall) == (0, 267_000)
    assert after.status == "non_compliant"


def test_only_the_administrator_allocates_and_only_a_verification_body_verifies(
    cycle: dict[str, Any],
) -> None:
    db, steel, verifier = cycle["db"], cycle["steel"], cycle["verifier"]
    with pytest.raises(Forbidden):
        gx.allocate(db, steel, "STEEL", 2026, "quantity", {"quantity": 5, "reason": "x"})
    with pytest.raises(Forbidden):
        gx.cover(db, verifier, "VERIFIER", 2026, ["steel"])
    gx.report_emissions(db, steel, "STEEL", 2026, 900_000)
    with pytest.raises(Forbidden):
        gx.verify_emissions(db, steel, "STEEL", 2026, "verified")
    administrator = Actor("OPERATOR", frozenset({Role.SCHEME_ADMINISTRATOR}))
    extra = gx.allocate(
        db, administrator, "STEEL", 2026, "quantity", {"quantity": 5, "reason": "new furnace"}
    )
    assert extra.quantity == 5 and extra.issuance_id == "GXA-AL-GX2026-2"


def test_a_verifier_of_the_same_group_may_not_verify(cycle: dict[str, Any]) -> None:
    db, steel, verifier = cycle["db"], cycle["steel"], cycle["verifier"]
    participants.set_attributes(db, SYSTEM, "STEEL", corporate_group="NIPPON-GROUP")
    participants.set_attributes(db, SYSTEM, "VERIFIER", corporate_group="NIPPON-GROUP")
    gx.report_emissions(db, steel, "STEEL", 2026, 900_000)
    with pytest.raises(Forbidden) as conflict:
        gx.verify_emissions(db, verifier, "STEEL", 2026, "verified")
    assert conflict.value.code == "conflict_of_interest"


def test_an_entity_surrenders_only_its_own_units(cycle: dict[str, Any]) -> None:
    db = cycle["db"]
    other = add_participant(db, "OTHER")
    _verified(cycle, 500_000)
    with pytest.raises(NotFound):
        gc.surrender(db, other, "STEEL", 2026, "allowances", "STEEL-GX", Selection(quantity=1))
    gx.cover(db, SYSTEM, "OTHER", 2026, ["cement"])
    with pytest.raises(NotFound):
        gc.surrender(db, other, "OTHER", 2026, "allowances", "STEEL-GX", Selection(quantity=1))


def test_allowances_go_only_to_participants_the_rules_let_hold_them(
    cycle: dict[str, Any],
) -> None:
    db, steel = cycle["db"], cycle["steel"]
    participants.create_participant(
        db,
        SYSTEM,
        participants.NewParticipant(
            "町", "Town", "local_government", ["trader"], None, False, "TOWN"
        ),
    )
    participants.set_status(db, SYSTEM, "TOWN", "active")
    with pytest.raises(Forbidden) as refused:
        registry.transfer(db, steel, "STEEL-GX", "TOWN-MAIN", Selection(quantity=10))
    assert refused.value.code == "allowance_holder_not_permitted"
    add_participant(db, "TRADER")
    moved = registry.transfer(db, steel, "STEEL-GX", "TRADER-MAIN", Selection(quantity=10))
    assert moved.quantity == 10
