"""JCM instruments: eligibility by the host country of the credits' project (pure, no I/O)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tanso.domain.errors import InvalidInput
from tanso.domain.instruments import CA_STATUSES, Eligibility
from tanso.services.marketdata import indices
from tanso.services.trading.instruments import (
    JCM_PARTNERS,
    JCM_REFERENCE_PRICE,
    jcm_instrument,
    jcm_name,
)


def credit(country: str, **extra: Any) -> dict[str, Any]:
    return {"scheme": "JM", "category": "JCM", "country": country, "vintage": 2023} | extra


def test_a_jcm_country_instrument_admits_only_credits_of_its_partner_country() -> None:
    e = jcm_instrument("VN").eligibility
    assert e.admits(credit("VN"))
    assert not e.admits(credit("ID"))
    assert not e.admits(credit("VN", scheme="JC"))
    assert not e.admits(credit("VN", category="ENERGY_SAVING"))
    assert not e.admits({"scheme": "JM", "category": "JCM"})  # a credit without a country


@pytest.mark.parametrize("status", CA_STATUSES)
def test_a_jcm_country_instrument_admits_every_corresponding_adjustment_status(
    status: str,
) -> None:
    assert jcm_instrument("MN").eligibility.admits(credit("MN", ca_status=status))


def test_an_eligibility_without_countries_admits_any_country() -> None:
    e = Eligibility(schemes=("JM",))
    assert all(e.admits(credit(c)) for c in ("VN", "ID", "JP"))


def test_an_eligibility_stored_before_countries_existed_reads_as_any_country() -> None:
    stored = {"schemes": ["JM"], "categories": ["JCM"], "projects": [], "gx_league_only": False}
    e = Eligibility.from_dict(stored)
    assert e.countries == ()
    assert e.admits(credit("TH"))


def test_countries_and_corresponding_adjustment_narrow_together() -> None:
    e = Eligibility.from_dict(
        {"schemes": ["JM"], "countries": ["VN", "ID"], "ca_statuses": ["completed"]}
    )
    assert e.admits(credit("ID", ca_status="completed"))
    assert not e.admits(credit("ID", ca_status="pending"))
    assert not e.admits(credit("TH", ca_status="completed"))


@pytest.mark.parametrize("bad", ["vn", "VNM", "V", "V1", "", "ＶＮ", 84])
def test_a_country_that_is_not_an_alpha_2_code_is_refused(bad: Any) -> None:
    with pytest.raises(InvalidInput) as refused:
        Eligibility.from_dict({"schemes": ["JM"], "countries": [bad]})
    assert refused.value.code == "invalid_eligibility"
    assert "alpha-2" in refused.value.message


codes = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=2)


@settings(max_examples=40, deadline=None)
@given(
    countries=st.lists(codes, max_size=4, unique=True),
    statuses=st.lists(st.sampled_from(CA_STATUSES), max_size=3, unique=True),
    country=codes,
    status=st.sampled_from(CA_STATUSES),
)
def test_eligibility_round_trips_and_admits_exactly_the_listed_countries(
    countries: list[str], statuses: list[str], country: str, status: str
) -> None:
    e = Eligibility(schemes=("JM",), countries=tuple(countries), ca_statuses=tuple(statuses))
    assert Eligibility.from_dict(e.as_dict()) == e
    expected = (not countries or country in countries) and (not statuses or status in statuses)
    assert e.admits(credit(country, ca_status=status)) is expected


def test_jcm_instruments_are_named_in_english_and_japanese_with_tse_rules() -> None:
    vn = jcm_instrument("VN")
    assert (vn.id, vn.name_en, vn.name_ja) == (
        "JCM-VN",
        "JCM credits Viet Nam",
        "二国間クレジット ベトナム",
    )
    assert (vn.mode, vn.settlement_days, vn.reference_price) == ("call", 5, JCM_REFERENCE_PRICE)
    assert jcm_instrument("ID", 3_000).reference_price == 3_000
    assert jcm_name("ZZ") == ("ZZ", "ZZ")  # not (yet) a partner: named by its code
    assert {"MN", "VN", "ID", "TH"} <= set(JCM_PARTNERS)


def test_jcm_indices_sort_after_the_j_credit_composite_and_categories() -> None:
    ids = ["TANSO-JCM-VN", "TANSO-JCM", "TANSO-FOREST", indices.COMPOSITE_ID, "TANSO-JCM-ID"]
    ordered = sorted(ids, key=indices._sort_key)
    assert ordered == [
        indices.COMPOSITE_ID,
        "TANSO-FOREST",
        indices.JCM_COMPOSITE_ID,
        "TANSO-JCM-ID",
        "TANSO-JCM-VN",
    ]
    assert indices.jcm_index_id("TH") == "TANSO-JCM-TH"


@settings(max_examples=40, deadline=None)
@given(
    countries=st.lists(
        st.tuples(
            st.one_of(st.none(), st.integers(1, 50_000)),
            st.integers(0, 10_000),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_the_jcm_composite_lies_between_the_countries_that_weigh(
    countries: list[tuple[int | None, int]],
) -> None:
    parts = [
        (f"TANSO-JCM-{i}", indices.Value(v, "vwap" if v else "none", 0, {}), w)
        for i, (v, w) in enumerate(countries)
    ]
    got = indices.composite_value(parts, None, ("2026-01-01", "2026-01-28"))
    weighing = [(v, w) for v, w in countries if v is not None and w > 0]
    if not weighing:
        assert (got.value, got.rule) == (None, "none")
        return
    assert got.rule == "weighted" and got.value is not None
    assert min(v for v, _ in weighing) <= got.value <= max(v for v, _ in weighing)
    total = sum(w for _, w in weighing)
    assert got.value == indices.half_up(sum(v * w for v, w in weighing), total)
