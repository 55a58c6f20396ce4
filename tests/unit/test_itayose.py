"""板寄せ: the clearing price meets the TSE conditions and the quantity is shared by the rules."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tanso.domain.itayose import Clearing, clearing_price, qualifies, share_at_price

Levels = list[tuple[int, int]]


def _cumulative(buys: Levels, sells: Levels, mb: int, ms: int, p: int) -> tuple[int, ...]:
    demand = mb + sum(q for price, q in buys if price >= p)
    demand_above = mb + sum(q for price, q in buys if price > p)
    supply = ms + sum(q for price, q in sells if price <= p)
    supply_below = ms + sum(q for price, q in sells if price < p)
    return demand, demand_above, supply, supply_below


def brute_force(
    buys: Levels, sells: Levels, mb: int, ms: int, tick: int, ref: int, lower: int, upper: int
) -> Clearing:
    """The rule read literally: every tick of the candidate range, one at a time."""
    prices = [p for p, _ in buys + sells]
    if not prices:
        candidates = [ref]
    else:
        candidates = list(range(min(prices) - tick, max(prices) + 2 * tick, tick))
    candidates = [p for p in candidates if lower <= p <= upper]
    rows = []
    for p in candidates:
        d, da, s, sb = _cumulative(buys, sells, mb, ms, p)
        if qualifies(d, da, s, sb, mb, ms):
            rows.append((p, min(d, s), abs(d - s), d - s, d, s))
    if not rows:
        return Clearing(None, 0)
    vol = max(r[1] for r in rows)
    rows = [r for r in rows if r[1] == vol]
    imb = min(r[2] for r in rows)
    rows = [r for r in rows if r[2] == imb]
    if all(r[3] > 0 for r in rows):
        best = max(rows, key=lambda r: r[0])
    elif all(r[3] < 0 for r in rows):
        best = min(rows, key=lambda r: r[0])
    else:
        best = max(rows, key=lambda r: (-abs(r[0] - ref), r[0]))
    return Clearing(best[0], vol, best[4], best[5])


def _clear(buys: Levels, sells: Levels, mb: int = 0, ms: int = 0, ref: int = 500) -> Clearing:
    return clearing_price(buys, sells, mb, ms, tick=1, reference=ref, lower=50, upper=950)


def test_worked_example_from_the_tse_rules_clears_at_499() -> None:
    c = _clear([(499, 1_000), (498, 5_000)], [(500, 5_000), (499, 2_000)], mb=2_000, ms=1_000)
    assert c.price == 499
    assert c.volume == 3_000
    assert c.demand == c.supply == 3_000


def test_no_crossing_orders_means_no_trade() -> None:
    assert _clear([(499, 10)], [(501, 10)]).price is None


def test_empty_book_means_no_trade() -> None:
    assert _clear([], []).price is None


def test_buy_surplus_takes_the_highest_qualifying_price() -> None:
    # Buys 20 at 502 against sells 10 at 500: every price 500..502 trades 10, all buy surplus.
    assert _clear([(502, 20)], [(500, 10)]).price == 502


def test_sell_surplus_takes_the_lowest_qualifying_price() -> None:
    assert _clear([(502, 10)], [(500, 20)]).price == 500


def test_balanced_range_takes_the_price_nearest_the_reference() -> None:
    assert _clear([(510, 10)], [(490, 10)], ref=495).price == 495
    assert _clear([(510, 10)], [(490, 10)], ref=600).price == 510


def test_only_market_orders_trade_at_the_reference_price() -> None:
    assert _clear([], [], mb=10, ms=10, ref=480) == Clearing(480, 10, 10, 10)


def test_unequal_market_orders_alone_do_not_trade() -> None:
    # Condition 1 cannot hold: one side's market orders would be left over.
    assert _clear([], [], mb=10, ms=5).price is None


def test_no_price_outside_the_price_limits_is_chosen() -> None:
    c = clearing_price([(600, 10)], [(400, 10)], 0, 0, tick=10, reference=500, lower=450, upper=550)
    assert c.price is not None and 450 <= c.price <= 550


levels = st.lists(st.tuples(st.integers(90, 110), st.integers(1, 30)), max_size=6).map(
    lambda xs: list({p * 5: q for p, q in xs}.items())
)


@settings(max_examples=400, deadline=None)
@given(
    buys=levels,
    sells=levels,
    mb=st.sampled_from([0, 0, 0, 7, 40]),
    ms=st.sampled_from([0, 0, 0, 5, 40]),
    ref=st.integers(90, 110).map(lambda x: x * 5),
    tick=st.sampled_from([1, 5]),
    narrow=st.booleans(),
)
def test_segment_search_equals_a_tick_by_tick_scan(
    buys: Levels, sells: Levels, mb: int, ms: int, ref: int, tick: int, narrow: bool
) -> None:
    lower, upper = (ref - 20, ref + 20) if narrow else (tick, 10_000)
    fast = clearing_price(buys, sells, mb, ms, tick=tick, reference=ref, lower=lower, upper=upper)
    assert fast == brute_force(buys, sells, mb, ms, tick, ref, lower, upper)


@settings(max_examples=300, deadline=None)
@given(buys=levels, sells=levels, mb=st.sampled_from([0, 10]), ms=st.sampled_from([0, 10]))
def test_clearing_price_meets_the_three_conditions_with_maximum_volume(
    buys: Levels, sells: Levels, mb: int, ms: int
) -> None:
    c = _clear(buys, sells, mb, ms)
    lo = min([p for p, _ in buys + sells], default=500) - 1
    hi = max([p for p, _ in buys + sells], default=500) + 1
    best_possible = 0
    for p in range(lo, hi + 1):
        d, da, s, sb = _cumulative(buys, sells, mb, ms, p)
        if qualifies(d, da, s, sb, mb, ms):
            best_possible = max(best_possible, min(d, s))
    if c.price is None:
        assert best_possible == 0
        return
    d, da, s, sb = _cumulative(buys, sells, mb, ms, c.price)
    volume = min(d, s)
    assert volume == c.volume == best_possible
    assert volume >= mb and volume >= ms  # condition 1
    assert volume >= da and volume >= sb  # condition 2
    assert volume in (d, s)  # condition 3


def test_sharing_serves_the_larger_participant_first() -> None:
    # A has 3 lots in one order, B has 1 lot but arrived first; 3 lots to share.
    assert share_at_price([("B", 1), ("A", 3)], 3, 1) == [1, 2]
    # Only one lot: the larger participant gets it despite arriving later.
    assert share_at_price([("B", 1), ("A", 3)], 1, 1) == [0, 1]


def test_sharing_ties_go_to_the_earliest_order() -> None:
    assert share_at_price([("A", 2), ("B", 2)], 1, 1) == [1, 0]
    assert share_at_price([("A", 2), ("B", 2)], 3, 1) == [2, 1]


def test_sharing_within_a_participant_fills_its_earliest_order_first() -> None:
    # A totals 4 (2+2), B 3: rounds A,B,A,B,A -> A 3, B 2.
    assert share_at_price([("A", 2), ("B", 3), ("A", 2)], 5, 1) == [2, 2, 1]


def test_sharing_is_in_whole_lots() -> None:
    assert share_at_price([("A", 300), ("B", 200)], 300, 100) == [200, 100]


def _share_lot_by_lot(orders: list[tuple[str, int]], quantity: int, lot: int) -> list[int]:
    """The rule simulated literally, one lot per participant per round."""
    totals: dict[str, int] = {}
    first: dict[str, int] = {}
    for i, (p, q) in enumerate(orders):
        totals[p] = totals.get(p, 0) + q
        first.setdefault(p, i)
    ranked = sorted(totals, key=lambda p: (-totals[p], first[p]))
    got = dict.fromkeys(ranked, 0)
    left = quantity
    while left >= lot and any(got[p] < totals[p] for p in ranked):
        for p in ranked:
            if left >= lot and got[p] < totals[p]:
                got[p] += lot
                left -= lot
    out = []
    for p, q in orders:
        take = min(q, got[p])
        got[p] -= take
        out.append(take)
    return out


@settings(max_examples=300, deadline=None)
@given(
    orders=st.lists(st.tuples(st.sampled_from("ABCD"), st.integers(1, 6)), min_size=1, max_size=8),
    quantity=st.integers(0, 40),
    lot=st.sampled_from([1, 10]),
)
def test_counted_sharing_equals_lot_by_lot_sharing_and_never_exceeds_orders(
    orders: list[tuple[str, int]], quantity: int, lot: int
) -> None:
    orders = [(p, q * lot) for p, q in orders]
    quantity *= lot
    shares = share_at_price(orders, quantity, lot)
    assert shares == _share_lot_by_lot(orders, quantity, lot)
    assert all(0 <= s <= q for s, (_, q) in zip(shares, orders, strict=True))
    assert sum(shares) == min(quantity, sum(q for _, q in orders))
