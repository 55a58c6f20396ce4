"""GX-ETS allocation calculators (issue 19), worked by hand: benchmark (production × the
sector's intensity), grandfathering (base emissions × (1 − 1.7%)^years since FY2025), early
action on top of either, decided quantities and auctions; rounded down to whole tonnes, once."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tanso.domain import gx
from tanso.domain.errors import InvalidInput, NotFound
from tanso.services.compliance.gx import rules, scheme_doc

FY2026 = rules(2026)


def test_the_fy2026_rules_are_the_published_design() -> None:
    assert FY2026.grandfathering_per_mille == 17 and FY2026.grandfathering_base_year == 2025
    assert FY2026.early_action_first_year == 2013 and FY2026.early_action_percent == 10
    assert FY2026.benchmark("steel").intensity == Fraction("1.92")
    assert FY2026.benchmark("refining").output_unit == "kl"


def test_a_benchmark_allocates_production_times_intensity_rounded_down() -> None:
    # 1,000,003 t of crude steel × 1.92 t-CO2/t = 1,920,005.76 t -> 1,920,005
    a = gx.allocate(FY2026, "benchmark", {"sector": "steel", "production": 1_000_003})
    assert (a.method, a.quantity) == ("benchmark", 1_920_005)
    assert a.inputs["sector"] == "steel" and a.inputs["production"] == 1_000_003
    assert "1,000,003 t" in a.working and "1,920,005 t (rounded down)" in a.working


def test_a_benchmark_uses_the_sectors_own_output_unit() -> None:
    # 1,234,567 kl of crude throughput × 0.022 t-CO2/kl = 27,160.474 t -> 27,160
    a = gx.allocate(FY2026, "benchmark", {"sector": "refining", "production": 1_234_567})
    assert a.quantity == 27_160
    assert "kl" in a.working
    # 100,001 t of clinker × 0.78 = 78,000.78 t -> 78,000
    cement = gx.allocate(FY2026, "benchmark", {"sector": "cement", "production": 100_001})
    assert cement.quantity == 78_000


def test_grandfathering_reduces_base_emissions_by_one_point_seven_percent_a_year() -> None:
    # FY2026 is one year after the base year FY2025: 1,000,000 × 0.983 = 983,000
    a = gx.allocate(FY2026, "grandfathering", {"base_emissions": 1_000_000})
    assert a.quantity == 983_000
    assert a.inputs == {
        "base_emissions": 1_000_000,
        "base_fiscal_year": 2025,
        "annual_reduction_per_mille": 17,
    }
    assert "(1 − 1.7%)^1" in a.working


def test_grandfathering_compounds_over_the_years_and_rounds_once() -> None:
    # FY2028 (rules carried forward from FY2026), three years after FY2025:
    # 1,000,000 × 0.983^3 = 949,862.087 -> 949,862
    fy2028 = rules(2028)
    assert fy2028.based_on == 2026
    a = gx.allocate(fy2028, "grandfathering", {"base_emissions": 1_000_000})
    assert a.quantity == 949_862 and "(1 − 1.7%)^3" in a.working
    # 118 × 0.983^3 = 112.08 -> 112; rounding each year would give 115 -> 113 -> 111
    assert gx.allocate(fy2028, "grandfathering", {"base_emissions": 118}).quantity == 112


def test_early_action_adds_its_share_before_the_one_rounding() -> None:
    # 1 t of steel × 1.92 = 1.92 t, plus early action 6 t × 10% = 0.6 t: 2.52 t -> 2
    # (rounding each part first would give 1 + 0 = 1)
    a = gx.allocate(FY2026, "benchmark", {"sector": "steel", "production": 1, "early_reduction": 6})
    assert a.quantity == 2
    assert a.inputs["early_reduction"] == 6 and a.inputs["early_action_percent"] == 10
    assert "early action since FY2013" in a.working
    # 100,000 t × 1.92 = 192,000 t, plus 12,345 t × 10% = 1,234.5 t: 193,234.5 -> 193,234
    b = gx.allocate(
        FY2026, "benchmark", {"sector": "steel", "production": 100_000, "early_reduction": 12_345}
    )
    assert b.quantity == 193_234
    # grandfathering 1,000 t × 0.983 = 983 t, plus 5 t × 10% = 0.5 t: 983.5 -> 983
    c = gx.allocate(FY2026, "grandfathering", {"base_emissions": 1_000, "early_reduction": 5})
    assert c.quantity == 983


def test_a_decided_quantity_states_its_reason_and_an_auction_quantity_is_as_given() -> None:
    decided = gx.allocate(FY2026, "quantity", {"quantity": 5, "reason": "new furnace"})
    assert (decided.quantity, decided.inputs) == (5, {"quantity": 5, "reason": "new furnace"})
    with pytest.raises(InvalidInput) as no_reason:
        gx.allocate(FY2026, "quantity", {"quantity": 5})
    assert no_reason.value.code == "reason_required"
    auction = gx.allocate(FY2026, "auction", {"quantity": 7})
    assert (auction.quantity, auction.inputs) == (7, {"quantity": 7})


@pytest.mark.parametrize(
    ("method", "inputs", "code"),
    [
        ("lottery", {"quantity": 1}, "invalid_method"),
        ("benchmark", {"sector": "glass", "production": 10}, "unknown_sector"),
        ("benchmark", {"sector": "steel", "production": -1}, "invalid_allocation_input"),
        ("benchmark", {"sector": "steel", "production": True}, "invalid_allocation_input"),
        ("benchmark", {"sector": "steel", "production": "10"}, "invalid_allocation_input"),
        ("benchmark", {"sector": "steel", "production": 0}, "allocation_empty"),
        ("grandfathering", {"base_emissions": 0}, "invalid_allocation_input"),
        ("grandfathering", {"base_emissions": 10**12 + 1}, "invalid_allocation_input"),
        ("grandfathering", {"base_emissions": 1}, "allocation_empty"),  # 0.983 t -> 0
        ("quantity", {"quantity": 0, "reason": "x"}, "invalid_allocation_input"),
        ("quantity", {"quantity": 1, "reason": "x" * 501}, "text_too_long"),
    ],
)
def test_bad_inputs_are_refused_with_a_code(method: str, inputs: dict[str, Any], code: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        gx.allocate(FY2026, method, inputs)
    assert refused.value.code == code
    assert refused.value.message


def test_there_are_no_rules_before_phase_two() -> None:
    with pytest.raises(NotFound) as before:
        gx.scheme_year(scheme_doc(), 2025)
    assert before.value.code == "gx_not_in_force"


@given(
    production=st.integers(0, 10**9),
    early=st.integers(0, 10**7),
    sector=st.sampled_from(sorted(FY2026.benchmarks)),
)
def test_a_benchmark_never_gives_more_than_the_exact_figure_nor_a_tonne_less(
    production: int, early: int, sector: str
) -> None:
    exact = production * FY2026.benchmark(sector).intensity + Fraction(early, 10)
    inputs = {"sector": sector, "production": production, "early_reduction": early}
    if exact < 1:
        with pytest.raises(InvalidInput):
            gx.allocate(FY2026, "benchmark", inputs)
        return
    q = gx.allocate(FY2026, "benchmark", inputs).quantity
    assert q <= exact < q + 1


@given(base=st.integers(2, 10**10), year=st.integers(2026, 2035))
def test_grandfathering_is_the_exact_compound_figure_rounded_down(base: int, year: int) -> None:
    exact = base * Fraction(983, 1000) ** (year - 2025)
    if exact < 1:
        return
    assert gx.allocate(rules(year), "grandfathering", {"base_emissions": base}).quantity == int(
        exact
    )
