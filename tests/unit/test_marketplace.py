"""The marketplace's pure rules: listing terms, purchase sizes, search and sort, offer states."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tanso.domain import marketplace as mp
from tanso.domain.errors import Conflict, InvalidInput

NOW = "2026-01-05T00:00:00Z"


def test_min_quantity_defaults_to_one_lot_and_must_be_whole_lots() -> None:
    assert mp.ListingTerms(100, 500, lot=50).min_quantity == 50
    with pytest.raises(InvalidInput) as e:
        mp.ListingTerms(100, 500, min_quantity=75, lot=50)
    assert e.value.code == "min_quantity_not_in_lots"
    with pytest.raises(InvalidInput) as e:
        mp.ListingTerms(100, 40, min_quantity=50, lot=50)
    assert e.value.code == "min_quantity_above_quantity"


@pytest.mark.parametrize(
    ("field", "value"),
    [("price", 0), ("price", True), ("quantity", -1), ("settlement_days", 11), ("lot", 0)],
)
def test_terms_out_of_range_are_refused(field: str, value: Any) -> None:
    args: dict[str, Any] = {"price": 100, "quantity": 100, "lot": 1, "settlement_days": 2}
    args[field] = value
    with pytest.raises(InvalidInput):
        mp.ListingTerms(**args)


@given(
    available=st.integers(1, 10_000),
    lot=st.integers(1, 100),
    lots=st.integers(1, 10),
    quantity=st.integers(1, 20_000),
)
def test_an_allowed_purchase_is_whole_lots_above_the_minimum_or_the_whole_remainder(
    available: int, lot: int, lots: int, quantity: int
) -> None:
    min_quantity = lot * lots
    try:
        mp.check_purchase(available, min_quantity, lot, quantity)
    except (Conflict, InvalidInput):
        assert quantity > available or (
            quantity != available and (quantity < min_quantity or quantity % lot)
        )
    else:
        assert quantity <= available
        assert quantity == available or (quantity >= min_quantity and quantity % lot == 0)


def test_expiry_is_judged_against_the_clock_passed_in() -> None:
    assert not mp.is_expired(None, NOW)
    assert mp.is_expired("2026-01-05T09:00:00+09:00", NOW)  # the same instant counts as lapsed
    assert not mp.is_expired("2026-01-05T00:00:01Z", NOW)
    assert mp.listing_status("open", "2026-01-04T00:00:00Z", NOW) == "expired"
    assert mp.listing_status("withdrawn", "2026-01-04T00:00:00Z", NOW) == "withdrawn"
    with pytest.raises(InvalidInput):
        mp.check_expiry("2026-01-04T00:00:00Z", NOW)
    with pytest.raises(InvalidInput):
        mp.check_expiry("2026-01-06T00:00:00", NOW)  # no zone
    assert mp.check_expiry("2026-01-06T09:00:00+09:00", NOW) == "2026-01-06T00:00:00.000000Z"


LISTINGS = [
    {"seq": 1, "price": 3000, "vintage": 2021, "available": 100, "scheme": "JC",
     "category": "FOREST", "mechanism": "removal", "nature": "nature", "country": "JP",
     "project_id": "A", "seller_id": "S1", "properties": ["domestic_additional"],
     "project_name": "Gifu forest"},
    {"seq": 2, "price": 1500, "vintage": 2019, "available": 500, "scheme": "VCS",
     "category": "VOLUNTARY_TECH", "mechanism": "reduction", "nature": "technology",
     "country": "RW", "project_id": "B", "seller_id": "S2", "properties": [],
     "project_name": "Cookstoves"},
    {"seq": 3, "price": 52000, "vintage": 2024, "available": 10, "scheme": "VCS",
     "category": "VOLUNTARY_TECH", "mechanism": "removal", "nature": "technology",
     "country": "IS", "project_id": "C", "seller_id": "S1", "properties": [],
     "project_name": "DAC"},
]  # fmt: skip


@pytest.mark.parametrize(
    ("f", "sort", "ids"),
    [
        (mp.ListingFilter(), "price", ["B", "A", "C"]),
        (mp.ListingFilter(), "-price", ["C", "A", "B"]),
        (mp.ListingFilter(), "vintage", ["B", "A", "C"]),
        (mp.ListingFilter(), "newest", ["C", "B", "A"]),
        (mp.ListingFilter(), "-quantity", ["B", "A", "C"]),
        (mp.ListingFilter(mechanism="removal"), "price", ["A", "C"]),
        (mp.ListingFilter(nature="technology", scheme="VCS"), "price", ["B", "C"]),
        (mp.ListingFilter(vintage_from=2020, vintage_to=2023), "price", ["A"]),
        (mp.ListingFilter(country="RW"), "price", ["B"]),
        (mp.ListingFilter(property="domestic_additional"), "price", ["A"]),
        (mp.ListingFilter(price_min=2000, price_max=10000), "price", ["A"]),
        (mp.ListingFilter(exclude_seller="S1"), "price", ["B"]),
        (mp.ListingFilter(seller="S1"), "price", ["A", "C"]),
        (mp.ListingFilter(q="gifu"), "price", ["A"]),
    ],
)
def test_search_filters_and_sorts(f: mp.ListingFilter, sort: str, ids: list[str]) -> None:
    assert [x["project_id"] for x in mp.search(LISTINGS, f, sort)] == ids


def test_an_unknown_sort_is_refused() -> None:
    with pytest.raises(InvalidInput):
        mp.search(LISTINGS, mp.ListingFilter(), "seller")


@given(
    status=st.sampled_from(mp.OFFER_STATUSES),
    event=st.sampled_from(sorted(mp.OFFER_EVENTS)),
    expired=st.booleans(),
)
def test_offers_move_only_from_open_and_never_accept_after_expiry(
    status: str, event: str, expired: bool
) -> None:
    expires = "2026-01-04T00:00:00Z" if expired else "2026-01-06T00:00:00Z"
    try:
        new = mp.offer_transition(status, expires, NOW, event)
    except Conflict:
        assert status != "open" or expired != (event == "expire")
    else:
        assert status == "open"
        assert new == mp.OFFER_EVENTS[event][1]
        assert (event == "expire") == expired


def test_an_rfq_is_filled_or_cancelled_once() -> None:
    assert mp.rfq_transition("open", "fill") == "filled"
    assert mp.rfq_transition("open", "cancel") == "cancelled"
    for status in ("filled", "cancelled"):
        with pytest.raises(Conflict):
            mp.rfq_transition(status, "offer")
