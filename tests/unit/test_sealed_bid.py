"""Sealed-bid clearing: each setting against hand-worked examples, and its properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tanso.domain.errors import InvalidInput
from tanso.domain.sealed_bid import (
    MARGINAL,
    PRICING,
    UNDERSUBSCRIBED,
    DemandStep,
    SealedBid,
    SealedResult,
    SealedRules,
    check_bid,
    clear,
)


def bid(id: str, price: int, quantity: int, seq: int, bidder: str | None = None) -> SealedBid:
    return SealedBid(id, bidder or id.upper(), price, quantity, seq)


# The oversubscribed book of docs/sealed-auctions.md (reserve 10): 20x30, 15x10, 12x30, 12x20,
# and 8x50 below the reserve.
BOOK = [bid("b1", 15, 10, 1), bid("b2", 20, 30, 2), bid("b3", 12, 30, 3), bid("b4", 12, 20, 4),
        bid("b5", 8, 50, 5)]  # fmt: skip


def awards(r: SealedResult) -> list[tuple[str, int, int]]:
    return [(a.bid, a.quantity, a.price) for a in r.awards]


def rules(supply: int, **kw: object) -> SealedRules:
    return SealedRules(supply=supply, reserve=10, **kw)  # type: ignore[arg-type]


def test_uniform_lowest_accepted_time_gives_the_marginal_lots_to_the_earlier_bid() -> None:
    r = clear(rules(60, pricing="uniform_lowest_accepted", marginal="time"), BOOK)
    assert awards(r) == [("b2", 30, 12), ("b1", 10, 12), ("b3", 20, 12)]
    assert (r.clearing_price, r.sold, r.unsold, r.bidders) == (12, 60, 0, 5)
    assert r.valid_demand == 90 and not r.undersubscribed


def test_uniform_highest_rejected_pays_the_partly_rejected_marginal_price() -> None:
    r = clear(rules(60, pricing="uniform_highest_rejected"), BOOK)
    assert awards(r) == [("b2", 30, 12), ("b1", 10, 12), ("b3", 20, 12)]
    assert r.clearing_price == 12


def test_supply_exhausted_exactly_at_a_price_separates_the_two_uniform_rules() -> None:
    lowest = clear(rules(40, pricing="uniform_lowest_accepted"), BOOK)
    highest = clear(rules(40, pricing="uniform_highest_rejected"), BOOK)
    assert awards(lowest) == [("b2", 30, 15), ("b1", 10, 15)]
    assert awards(highest) == [("b2", 30, 12), ("b1", 10, 12)]
    assert (lowest.clearing_price, highest.clearing_price) == (15, 12)


def test_pay_as_bid_pays_each_its_own_price_and_publishes_no_clearing_price() -> None:
    r = clear(rules(60, pricing="pay_as_bid"), BOOK)
    assert awards(r) == [("b2", 30, 20), ("b1", 10, 15), ("b3", 20, 12)]
    assert r.clearing_price is None and r.sold == 60


def test_pro_rata_without_leftover_shares_in_proportion() -> None:
    r = clear(rules(60, marginal="pro_rata", seed="any"), BOOK)
    # 20 tonnes left at 12 for 30 + 20 asked: 20x30/50 = 12 and 20x20/50 = 8
    assert awards(r) == [("b2", 30, 12), ("b1", 10, 12), ("b3", 12, 12), ("b4", 8, 12)]


def test_pro_rata_leftover_lots_follow_the_seeded_order() -> None:
    book = [bid("a", 20, 40, 1), bid("b", 15, 30, 2), bid("c", 15, 30, 3), bid("d", 15, 10, 4)]
    r = clear(SealedRules(100, 10, marginal="pro_rata", lot=10, seed="seed-1"), book)
    # 6 lots left at 15 for 3 + 3 + 1 lots asked: 18/7 -> 2, 2, 6/7 -> 0; 2 lots left over.
    # random.Random("seed-1").shuffle([b, c, d]) gives [b, d, c]: b and d get one more lot each.
    assert awards(r) == [("a", 40, 15), ("b", 30, 15), ("c", 20, 15), ("d", 10, 15)]
    other = clear(SealedRules(100, 10, marginal="pro_rata", lot=10, seed="other"), book)
    # random.Random("other") gives [c, b, d]: c and b get the two lots
    assert awards(other) == [("a", 40, 15), ("b", 30, 15), ("c", 30, 15)]


UNDER = [bid("x", 20, 30, 1), bid("y", 15, 20, 2), bid("z", 5, 50, 3)]


def test_undersubscribed_cancel_sells_nothing() -> None:
    r = clear(rules(100, undersubscribed="cancel"), UNDER)
    assert r.awards == () and r.clearing_price is None
    assert (r.sold, r.unsold, r.valid_demand, r.undersubscribed) == (0, 100, 50, True)


@pytest.mark.parametrize(
    ("pricing", "expected", "price"),
    [
        ("uniform_lowest_accepted", [("x", 30, 15), ("y", 20, 15)], 15),
        ("uniform_highest_rejected", [("x", 30, 10), ("y", 20, 10)], 10),  # reserve: our rule
        ("pay_as_bid", [("x", 30, 20), ("y", 20, 15)], None),
    ],
)
def test_undersubscribed_partial_every_valid_bid_wins_the_rest_unsold(
    pricing: str, expected: list[tuple[str, int, int]], price: int | None
) -> None:
    r = clear(rules(100, pricing=pricing, undersubscribed="partial"), UNDER)
    assert awards(r) == expected
    assert (r.clearing_price, r.sold, r.unsold) == (price, 50, 50)


def test_demand_equal_to_supply_is_not_undersubscribed_and_highest_rejected_is_reserve() -> None:
    r = clear(rules(50, pricing="uniform_highest_rejected", undersubscribed="cancel"), UNDER)
    assert awards(r) == [("x", 30, 10), ("y", 20, 10)] and not r.undersubscribed


def test_no_bids_sells_nothing_either_way() -> None:
    for under in UNDERSUBSCRIBED:
        r = clear(rules(10, undersubscribed=under), [])
        assert (r.sold, r.unsold, r.clearing_price, r.bidders) == (0, 10, None, 0)


def test_demand_curve_is_aggregated_by_price_and_names_nobody() -> None:
    r = clear(rules(60), BOOK)
    assert r.demand == (
        DemandStep(20, 30, 30),
        DemandStep(15, 10, 40),
        DemandStep(12, 50, 90),
        DemandStep(8, 50, 140),
    )


def test_bids_below_the_reserve_are_ignored() -> None:
    r = clear(rules(200), BOOK)
    assert "b5" not in {a.bid for a in r.awards} and r.sold == 90


def test_invalid_settings_and_bids_are_refused() -> None:
    with pytest.raises(InvalidInput):
        SealedRules(55, 10, lot=10)
    with pytest.raises(InvalidInput):
        SealedRules(50, 10, pricing="vickrey")
    with pytest.raises(InvalidInput):
        SealedRules(50, 0)
    with pytest.raises(InvalidInput):
        check_bid(SealedRules(50, 10, lot=10), 12, 15)
    with pytest.raises(InvalidInput):
        check_bid(SealedRules(50, 10), 0, 5)


# ---------------------------------------------------------------- properties


@st.composite
def auctions(draw: st.DrawFn) -> tuple[SealedRules, list[SealedBid]]:
    lot = draw(st.sampled_from([1, 5, 10]))
    supply = lot * draw(st.integers(1, 30))
    r = SealedRules(
        supply,
        draw(st.integers(1, 30)),
        draw(st.sampled_from(PRICING)),
        draw(st.sampled_from(MARGINAL)),
        draw(st.sampled_from(UNDERSUBSCRIBED)),
        lot,
        draw(st.text(max_size=8)),
    )
    n = draw(st.integers(0, 12))
    bids = [
        SealedBid(
            f"b{i}",
            f"P{draw(st.integers(0, 5))}",
            draw(st.integers(1, 40)),
            lot * draw(st.integers(1, supply // lot + 3)),
            draw(st.integers(0, 5)) * 100 + i,
        )
        for i in range(n)
    ]
    return r, bids


@settings(max_examples=400, deadline=None)
@given(auctions())
def test_clearing_properties(case: tuple[SealedRules, list[SealedBid]]) -> None:
    r, bids = case
    res = clear(r, bids)
    by_id = {b.id: b for b in bids}
    assert res.sold + res.unsold == r.supply and res.sold <= r.supply
    assert res.sold == sum(a.quantity for a in res.awards)
    assert len({a.bid for a in res.awards}) == len(res.awards)
    for a in res.awards:
        b = by_id[a.bid]
        assert 0 < a.quantity <= b.quantity and a.quantity % r.lot == 0
        assert a.price >= r.reserve and b.price >= r.reserve and a.price <= b.price
        assert a.bidder == b.bidder
    assert sum(a.amount for a in res.awards) == sum(a.quantity * a.price for a in res.awards)
    if r.pricing == "pay_as_bid":
        assert all(a.price == by_id[a.bid].price for a in res.awards)
        assert res.clearing_price is None
    elif res.awards:
        assert {a.price for a in res.awards} == {res.clearing_price}
    valid = [b for b in bids if b.price >= r.reserve]
    demand = sum(b.quantity for b in valid)
    if demand >= r.supply:
        assert res.sold == r.supply  # oversubscribed: all sold
    elif r.undersubscribed == "cancel":
        assert res.sold == 0
    else:
        assert res.sold == demand  # every valid bid wins in full
    # price priority: a bid that got less than it asked never beats a higher one that got some
    for a in res.awards:
        for b in valid:
            if b.price < by_id[a.bid].price:
                assert a.quantity == by_id[a.bid].quantity or b.id not in {
                    x.bid for x in res.awards
                }
    assert clear(r, list(reversed(bids))) == res  # the order of the list does not matter
