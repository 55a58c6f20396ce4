"""GX-ETS prices by fiscal year (issue 19): the published FY2026 values, the provisional ones
from the ×1.03 rule, worked by hand, and fiscal years running April to March."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tanso.domain import gx
from tanso.domain.errors import NotFound
from tanso.services.compliance.gx import price_rules, prices


def test_fy2026_is_published_at_4300_and_1700() -> None:
    p = prices(2026)
    assert (p.ceiling, p.floor, p.status, p.source) == (
        4_300,
        1_700,
        "published",
        "METI-2025-12-19",
    )


def test_fy2027_is_provisional_from_the_rule() -> None:
    # 4,300 × 1.03 = 4,429; 1,700 × 1.03 = 1,751
    p = prices(2027)
    assert (p.ceiling, p.floor, p.status, p.basis_year) == (4_429, 1_751, "provisional", 2026)
    assert "nearest whole yen" in p.rule


def test_fy2030_compounds_once_and_rounds_once() -> None:
    # 4,300 × 1.03^4 = 4,839.63 -> 4,840; 1,700 × 1.03^4 = 1,913.34 -> 1,913 (rounding each
    # year would give 1,914: the published outlook is about ¥4,840 / ¥1,913)
    p = prices(2030)
    assert (p.ceiling, p.floor) == (4_840, 1_913)


def test_no_prices_before_phase_2_or_beyond_the_rule() -> None:
    for year in (2025, 2031):
        with pytest.raises(NotFound) as err:
            prices(year)
        assert err.value.code == "gx_prices_not_set" and f"FY{year}" in err.value.message


def test_a_published_later_year_becomes_the_basis() -> None:
    d = {
        "sources": {"S": "a source"},
        "escalation": {
            "factor_per_mille": 1030,
            "first_year": 2027,
            "last_year": 2030,
            "source": "S",
            "rounding": "half up",
        },
        "published": [
            {"fiscal_year": 2026, "ceiling": 4300, "floor": 1700, "source": "S"},
            {"fiscal_year": 2027, "ceiling": 4500, "floor": 1800, "source": "S"},
        ],
    }
    rules = gx.PriceRules.from_dict(d)
    assert gx.prices(rules, 2027).status == "published"
    assert (gx.prices(rules, 2028).ceiling, gx.prices(rules, 2028).floor) == (4_635, 1_854)


@given(st.integers(min_value=2026, max_value=2030))
def test_provisional_prices_never_fall_and_the_ceiling_stays_above_the_floor(year: int) -> None:
    p = prices(year)
    assert p.ceiling > p.floor > 0
    if year > 2026:
        before = prices(year - 1)
        assert p.ceiling >= before.ceiling and p.floor >= before.floor


@pytest.mark.parametrize(
    ("day", "year"),
    [("2026-04-01", 2026), ("2027-03-31", 2026), ("2027-04-01", 2027), ("2026-01-15", 2025)],
)
def test_a_fiscal_year_runs_april_to_march(day: str, year: int) -> None:
    assert gx.fiscal_year_of(dt.date.fromisoformat(day)) == year


def test_every_figure_names_a_known_source() -> None:
    rules = price_rules()
    assert rules.escalation.source in rules.sources
    assert all(p.source in rules.sources for p in rules.published)
