"""Forward offtake contracts (domain/offtake.py): hand-worked examples of each price rule, the
sharing of an issuance among contracts in priority order, and each shortfall rule."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tanso.domain.errors import InvalidInput
from tanso.domain.offtake import Due, PriceRule, payment, share, shortfall, unit_price


def test_a_fixed_price_ignores_the_market() -> None:
    assert unit_price(PriceRule("fixed", price=52_000), reference=80_000) == 52_000


def test_floor_and_cap_keep_the_reference_between_them() -> None:
    rule = PriceRule("floor_cap", floor=40_000, cap=60_000, index="TANSO-REMOVALS")
    # reference 35,000 → the floor; 48,500 → itself; 71,000 → the cap
    assert [unit_price(rule, r) for r in (35_000, 48_500, 71_000)] == [40_000, 48_500, 60_000]


def test_an_indexed_price_is_rounded_half_up_once_then_bounded() -> None:
    rule = PriceRule("indexed", multiplier_bp=10_500, premium=1_000, index="TANSO-REMOVALS")
    # 45,001 × 1.05 = 47,251.05 → 47,251, + 1,000 = 48,251
    assert unit_price(rule, 45_001) == 48_251
    # 45,010 × 1.05 = 47,260.5 → 47,261 (half up), + 1,000 = 48,261
    assert unit_price(rule, 45_010) == 48_261
    capped = PriceRule("indexed", multiplier_bp=10_500, cap=48_000, index="TANSO-REMOVALS")
    assert unit_price(capped, 50_000) == 48_000


def test_price_rules_are_refused_when_they_cannot_price() -> None:
    with pytest.raises(InvalidInput):
        unit_price(PriceRule("floor_cap", floor=60_000, cap=40_000, index="X"), 50_000)
    with pytest.raises(InvalidInput) as none:
        unit_price(PriceRule("indexed", index="TANSO-REMOVALS"))
    assert none.value.code == "no_reference_price"
    with pytest.raises(InvalidInput):
        PriceRule("auction").check()


def test_an_issuance_is_shared_in_priority_order_then_by_signing() -> None:
    dues = [
        Due("C-LATE", priority=1, signed_seq=20, quantity=300),
        Due("C-FIRST", priority=0, signed_seq=30, quantity=500),
        Due("C-EARLY", priority=1, signed_seq=10, quantity=400),
    ]
    got = {d.contract_id: (d.delivered, d.short) for d in share(800, dues)}
    # C-FIRST 500 (priority 0), then C-EARLY 300 of 400 (signed before C-LATE), C-LATE none
    assert got == {"C-FIRST": (500, 0), "C-EARLY": (300, 100), "C-LATE": (0, 300)}


@given(
    issued=st.integers(0, 10_000),
    quantities=st.lists(st.integers(0, 3_000), max_size=8),
)
def test_sharing_never_delivers_more_than_due_or_issued(issued: int, quantities: list[int]) -> None:
    dues = [Due(f"C{i}", i % 3, i, q) for i, q in enumerate(quantities)]
    out = share(issued, dues)
    assert all(0 <= d.delivered <= d.due for d in out)
    assert sum(d.delivered for d in out) == min(issued, sum(quantities))


def test_each_shortfall_rule() -> None:
    # 100 t short; the buyer prepaid 20,000 yen a tonne
    assert shortfall("carry_forward", 100, 20_000).carried == 100
    last = shortfall("carry_forward", 100, 20_000, last_vintage=True)
    assert (last.carried, last.refund) == (0, 2_000_000)  # nothing left to carry it to
    assert shortfall("replacement", 100, 20_000).replacement == 100
    assert shortfall("refund", 100, 20_000).refund == 2_000_000
    assert shortfall("refund", 0, 20_000).refund == 0


def test_a_delivery_pays_the_price_less_the_prepayment() -> None:
    # 300 t at 52,000 yen, 20,000 a tonne prepaid: 300 × 32,000
    assert payment(300, 52_000, 20_000) == 9_600_000
    assert payment(300, 52_000) == 15_600_000
