"""Usage rules: one test per rule of the shipped rule set, each naming its source, and the
engine's properties (hypothesis)."""

from __future__ import annotations

import datetime as dt
import json
from importlib import resources
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tanso.domain import usage_rules as ur

DOC: dict[str, Any] = json.loads(
    resources.files("tanso").joinpath("data/rules/default-2026.json").read_text("utf-8")
)
RS = ur.parse(DOC)
DAY = dt.date(2026, 8, 1)


def lot(scheme: str = "JC", category: str = "ENERGY_SAVING", q: int = 100, **kw: Any) -> ur.Lot:
    domestic = scheme in ("JC", "JV", "KC", "JB", "LG", "EP", "GX", "NF", "GP")
    unit = "kWh" if scheme in ("NF", "GP") else "tCO2"
    args: dict[str, Any] = {"domestic": domestic, "unit": unit} | kw
    return ur.Lot(f"{scheme}-ER-P1-1", q, scheme, category, **args)


VCS = {"scheme": "VCS", "category": "VOLUNTARY_NATURE"}


def decide(
    lots: list[ur.Lot],
    purpose: str,
    year: int = 2026,
    figures: ur.Figures | None = None,
    claims: tuple[ur.Claim, ...] = (),
    on: dt.date = DAY,
    hierarchy: str | None = None,
    **use: Any,
) -> ur.Decision:
    ctx = ur.Context(figures, claims, hierarchy=hierarchy)
    return ur.evaluate(RS, lots, ur.Use(purpose, year, on, **use), ctx)


def refused_by(d: ur.Decision) -> str | None:
    r = d.refusal
    return r.rule if r else None


def test_every_rule_names_a_source_that_the_rule_set_describes() -> None:
    for rule in RS.rules:
        assert rule.source in RS.sources and RS.sources[rule.source]["title_en"]


# ---------------------------------------------------------------- METI 2021 policy


def test_policy_scope1_meti_2021_domestic_jcm_and_adjusted_credits_may_offset_scope1() -> None:
    """METI 2021 論点③: domestic credits and credits with corresponding adjustment: Scope 1."""
    assert decide([lot("JC")], "offset_scope1").allowed
    assert decide([lot("JM", "JCM")], "offset_scope1").allowed
    assert decide([lot(**VCS, ca_status="completed")], "offset_scope1").allowed
    d = decide([lot(**VCS, ca_status="pending")], "offset_scope1")
    assert not d.allowed and refused_by(d) == "POLICY-SCOPE1" and d.max_quantity == 0
    assert "METI-2021" in (d.refusal.source if d.refusal else "")


def test_policy_scope2_meti_2021_allows_domestic_credits_and_kwh_certificates() -> None:
    """METI 2021 論点③: Scope 2 with domestic/adjusted credits or energy attribute certificates."""
    assert decide([lot("JC")], "offset_scope2").allowed
    d = decide([lot(**VCS)], "offset_scope2")
    assert refused_by(d) == "POLICY-SCOPE2"


def test_policy_scope3_meti_2021_voluntary_credits_without_adjustment_only_scope3() -> None:
    """METI 2021 論点③: voluntary credits without corresponding adjustment: Scope 3 only."""
    assert decide([lot(**VCS)], "offset_scope3").allowed
    assert not decide([lot(**VCS)], "offset_scope1").allowed
    assert not decide([lot(**VCS)], "offset_scope2").allowed


def test_policy_eac_scope2_meti_2021_kwh_certificates_cover_only_scope2() -> None:
    """METI 2021 論点③: 証書 (kWh) only for indirect emissions from purchased energy."""
    for purpose in ("offset_scope1", "offset_scope3", "shk_reporting", "re100", "offset_event"):
        d = decide([lot("NF", "NON_FOSSIL")], purpose)
        assert not d.allowed
        assert "POLICY-EAC-SCOPE2" in {r.rule for r in d.reasons if not r.ok}


def test_policy_eac_cap_meti_2021_certificates_never_exceed_the_purchased_energy() -> None:
    """METI 2021 論点③: certificates never cover more than the emissions of purchased energy,
    converted with the operator's emission factor (434 g/kWh in the shipped rule set)."""
    figures = ur.Figures(scope2_location=1_000, purchased_electricity_kwh=1_000_000)
    # 1,000,000 kWh bought emit 434 t at 434 g/kWh; the inventory's Scope 2 is larger
    ok = decide([lot("GP", "GREEN_POWER", 1_000_000)], "offset_scope2", figures=figures)
    assert ok.allowed and ok.tonnes == 434
    over = decide([lot("GP", "GREEN_POWER", 1_000_001)], "offset_scope2", figures=figures)
    assert refused_by(over) == "POLICY-EAC-CAP" and over.max_quantity == 1_000_000
    # a smaller Scope 2 residual binds through the hierarchy, converted the same way
    small = ur.Figures(scope2_location=100, purchased_electricity_kwh=1_000_000)
    d = decide([lot("GP", "GREEN_POWER", 1_000_000)], "offset_scope2", figures=small)
    assert refused_by(d) == "HIERARCHY" and d.max_quantity == 100 * 1_000_000 // 434
    # without an inventory of the energy bought the cap is 0
    assert refused_by(decide([lot("NF", "NON_FOSSIL", 10)], "offset_scope2")) == "POLICY-EAC-CAP"
    # without an emission factor kWh cannot be converted: refused
    ctx = ur.Context(figures, emission_factor_g_per_kwh=None)
    no_factor = ur.parse(DOC | {"emission_factor_g_per_kwh": None})
    d = ur.evaluate(
        no_factor, [lot("NF", "NON_FOSSIL", 10)], ur.Use("offset_scope2", 2026, DAY), ctx
    )
    assert refused_by(d) == "POLICY-EAC-CAP"


def test_hierarchy_meti_2021_claims_cannot_exceed_residual_emissions() -> None:
    """METI 2021 論点①: reduce first; credits cover residual emissions only."""
    figures = ur.Figures(scope1=1_000, reduction_scope1=300)
    claims = (ur.Claim("offset_scope1", "1", 500, 500),)
    d = decide([lot(q=201)], "offset_scope1", figures=figures, claims=claims)
    assert refused_by(d) == "HIERARCHY" and d.max_quantity == 200
    assert decide([lot(q=200)], "offset_scope1", figures=figures, claims=claims).allowed
    # configured to warn: allowed, with the warning
    w = decide([lot(q=201)], "offset_scope1", figures=figures, claims=claims, hierarchy="warn")
    assert w.allowed and [r.rule for r in w.warnings] == ["HIERARCHY"] and w.max_quantity == 201
    # no inventory: not checked, said so
    d = decide([lot(q=10**6)], "offset_scope1")
    assert d.allowed and any(
        r.rule == "HIERARCHY" and "Not checked" in r.message for r in d.reasons
    )


def test_hierarchy_meti_2021_scope1_claims_also_fill_the_scope_1_plus_2_residual() -> None:
    """METI 2021 論点①: a tonne claimed against Scope 1 is not claimed again against 1+2."""
    figures = ur.Figures(scope1=100, scope2_location=100)
    claims = (ur.Claim("shk_reporting", "1+2", 150, 150),)
    d = decide([lot(q=60)], "offset_scope1", figures=figures, claims=claims)
    assert refused_by(d) == "HIERARCHY" and d.max_quantity == 50


def test_hierarchy_ghgp_scope3_category_residual() -> None:
    """GHG Protocol Scope 3 Standard: a claim naming a category stays within that category."""
    figures = ur.Figures(scope3=1_000, scope3_categories={6: 40, 1: 960})
    d = decide([lot(**VCS, q=41)], "offset_scope3", figures=figures, scope3_category=6)
    assert refused_by(d) == "HIERARCHY" and d.max_quantity == 40
    assert decide([lot(**VCS, q=41)], "offset_scope3", figures=figures).allowed


def test_offset_product_event_moe_guidelines_use_tonne_credits() -> None:
    """環境省 カーボン・オフセット指針: products and events are offset with t-CO2 credits."""
    assert decide([lot(**VCS)], "offset_product").allowed
    assert decide([lot("JB", "BLUE_CARBON")], "offset_event").allowed
    d = decide([lot("GP", "GREEN_POWER")], "offset_event")
    assert not d.allowed and "OFFSET-PRODUCT-EVENT" in {r.rule for r in d.reasons if not r.ok}


# ---------------------------------------------------------------- 温対法 SHK


def test_shk_eligible_only_j_credits_jcm_and_legacy_domestic_credits() -> None:
    """温対法 SHK: adjusted emissions = emissions - J-Credits - JCM credits."""
    for scheme, cat in (("JC", "FOREST"), ("JM", "JCM"), ("JV", "JVER"), ("KC", "DOMESTIC_CREDIT")):
        assert decide([lot(scheme, cat)], "shk_reporting", year=2025).allowed, scheme
    for kw in (
        VCS,
        {"scheme": "GX", "category": "GX_EXCESS"},
        {"scheme": "JB", "category": "BLUE_CARBON"},
    ):
        assert refused_by(decide([lot(**kw)], "shk_reporting", year=2025)) == "SHK-ELIGIBLE"


def test_shk_adjusted_nonnegative_adjusted_emissions_never_below_zero() -> None:
    """温対法 SHK: credits cannot take adjusted emissions below zero (hard, even under warn)."""
    figures = ur.Figures(scope1=60, scope2_location=40)
    claims = (ur.Claim("shk_reporting", "1+2", 70, 70),)
    d = decide([lot(q=31)], "shk_reporting", 2025, figures, claims, hierarchy="warn")
    assert refused_by(d) == "SHK-ADJUSTED-NONNEGATIVE" and d.max_quantity == 30


def test_shk_june_deadline_retired_by_end_of_june_counts_toward_previous_year() -> None:
    """温対法 SHK: credits retired by the end of June count toward the previous fiscal year."""
    assert ur.shk_year(dt.date(2026, 6, 30)) == 2025
    assert ur.shk_year(dt.date(2026, 7, 1)) == 2026
    on_time = decide([lot()], "shk_reporting", 2025, on=dt.date(2026, 6, 30))
    assert on_time.allowed and "SHK-JUNE-DEADLINE" not in {r.rule for r in on_time.warnings}
    late = decide([lot()], "shk_reporting", 2025, on=dt.date(2026, 7, 1))
    assert late.allowed and "SHK-JUNE-DEADLINE" in {r.rule for r in late.warnings}
    future = decide([lot()], "shk_reporting", 2026, on=dt.date(2026, 3, 31))
    assert refused_by(future) == "SHK-JUNE-DEADLINE"


# ---------------------------------------------------------------- GX-ETS


def test_gx_p2_eligible_gx_ets_phase2_only_j_credits_and_jcm() -> None:
    """GX-ETS Phase 2 (FY2026-): J-Credits and JCM credits only."""
    figures = ur.Figures(scope1=1_000_000, verified=True)
    assert decide([lot("JM", "JCM", vintage=2021)], "gx_ets_surrender", 2026, figures).allowed
    d = decide([lot(**VCS)], "gx_ets_surrender", 2026, figures)
    assert refused_by(d) == "GX-P2-ELIGIBLE"


def test_gx_p2_no_excess_gx_ets_excess_allowance_counts_only_in_phase1() -> None:
    """GX-ETS: 超過削減枠 counts only for Phase 1 (FY2023-2025)."""
    excess = lot("GX", "GX_EXCESS")
    figures = ur.Figures(scope1=1_000_000, verified=True)
    d = decide([excess], "gx_ets_surrender", 2026, figures)
    assert not d.allowed and "GX-P2-NO-EXCESS" in {r.rule for r in d.reasons if not r.ok}
    assert decide([excess], "gx_ets_surrender", 2025).allowed


def test_gx_p1_eligible_gx_ets_phase1_accepts_excess_allowances_without_a_cap() -> None:
    """GX-ETS Phase 1 (GX League): J-Credits, JCM, 超過削減枠; no 10% cap."""
    d = decide([lot("GX", "GX_EXCESS", 30_000), lot("JM", "JCM", 5_000)], "gx_ets_surrender", 2025)
    assert d.allowed and d.max_quantity == 35_000
    assert refused_by(decide([lot(**VCS)], "gx_ets_surrender", 2025)) == "GX-P1-ELIGIBLE"


def test_gx_before_start_gx_ets_has_no_surrender_before_fy2023() -> None:
    """GX-ETS: the GX League's first fiscal year is 2023."""
    assert refused_by(decide([lot()], "gx_ets_surrender", 2022)) == "GX-BEFORE-START"


def test_gx_p2_cap_10_gx_ets_credits_cover_at_most_ten_percent_of_emissions() -> None:
    """GX-ETS Phase 2: J-Credits and JCM credits cover at most 10% of the year's emissions."""
    figures = ur.Figures(scope1=100_000, verified=True)
    assert decide([lot(q=10_000)], "gx_ets_surrender", 2026, figures).allowed
    d = decide([lot(q=10_001)], "gx_ets_surrender", 2026, figures, hierarchy="warn")
    assert refused_by(d) == "GX-P2-CAP-10" and d.max_quantity == 10_000
    claims = (ur.Claim("gx_ets_surrender", "1", 9_999, 9_999),)
    d = decide([lot(q=2)], "gx_ets_surrender", 2026, figures, claims)
    assert refused_by(d) == "GX-P2-CAP-10" and d.max_quantity == 1
    # no inventory: no emissions to take 10% of
    assert refused_by(decide([lot(q=1)], "gx_ets_surrender", 2026)) == "GX-P2-CAP-10"


def test_gx_p2_cap_10_reads_only_verified_emissions() -> None:
    """GX-ETS Phase 2: the cap's basis is the verified figure; reported but unverified is 0."""
    reported = ur.Figures(scope1=100_000)
    d = decide([lot(q=1)], "gx_ets_surrender", 2026, reported)
    assert refused_by(d) == "GX-P2-CAP-10" and d.max_quantity == 0
    assert "not verified" in d.refusal.message  # type: ignore[union-attr]


def test_gx_p2_jcm_2020_jcm_credits_from_before_2020_are_refused() -> None:
    """GX-ETS Phase 2: JCM credits from activities before 2020 in principle not eligible."""
    figures = ur.Figures(scope1=1_000_000, verified=True)
    old = decide([lot("JM", "JCM", vintage=2019)], "gx_ets_surrender", 2026, figures)
    assert refused_by(old) == "GX-P2-JCM-2020"
    assert decide([lot("JM", "JCM", vintage=2020)], "gx_ets_surrender", 2026, figures).allowed
    # phase 1 knew no such rule
    assert decide([lot("JM", "JCM", vintage=2019)], "gx_ets_surrender", 2025).allowed


# ---------------------------------------------------------------- RE100, CDP, SBT


def test_re100_eligible_j_credit_scheme_only_renewable_power_j_credits() -> None:
    """J-Credit scheme / RE100: only 再エネ(電力) J-Credits."""
    assert decide([lot("JC", "RE_POWER")], "re100").allowed
    assert decide([lot("JC", "RE_POWER_BIOMASS")], "re100").allowed
    for cat in ("RE_HEAT", "ENERGY_SAVING", "FOREST"):
        assert refused_by(decide([lot("JC", cat)], "re100")) == "RE100-ELIGIBLE"


def test_cdp_sbt_eligible_j_credit_scheme_renewable_power_or_heat_j_credits() -> None:
    """J-Credit scheme / CDP and SBT: 再エネ(電力/熱) J-Credits against purchased power/heat."""
    for cat in ("RE_POWER", "RE_HEAT", "RE_MIXED"):
        assert decide([lot("JC", cat)], "cdp_sbt").allowed
    assert refused_by(decide([lot("JC", "ENERGY_SAVING")], "cdp_sbt")) == "CDP-SBT-ELIGIBLE"
    # they count against Scope 2 (purchased energy)
    figures = ur.Figures(scope2_location=50)
    d = decide([lot("JC", "RE_HEAT", 51)], "cdp_sbt", figures=figures)
    assert refused_by(d) == "HIERARCHY" and d.scope == "2"


# ---------------------------------------------------------------- the engine


def test_a_scope_that_disagrees_with_the_purpose_is_refused() -> None:
    assert refused_by(decide([lot()], "offset_scope1", scope="3")) == "USE-SCOPE"
    assert decide([lot()], "offset_scope1", scope="1").allowed


def test_a_purpose_the_rule_set_does_not_cover_is_refused() -> None:
    assert refused_by(decide([lot()], "offset_everything")) == "USE-KNOWN"


def test_the_rule_set_in_force_is_the_latest_effective_on_or_before_the_date() -> None:
    later = ur.parse(DOC | {"version": "2027.1", "effective_from": "2027-04-01"})
    same_day = ur.parse(DOC | {"version": "2026.2"})
    sets = [RS, later, same_day]
    assert ur.in_force(sets, dt.date(2027, 3, 31)) is same_day
    assert ur.in_force(sets, dt.date(2027, 4, 1)) is later
    assert ur.in_force(sets, dt.date(2020, 1, 1)) is None


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"effective_from": "soon"}, "effective_from"),
        ({"hierarchy": "maybe"}, "hierarchy"),
        (
            {"rules": [{"id": "X", "kind": "magic", "source": "SHK", "uses": ["*"], "text": ""}]},
            "kind",
        ),
        (
            {"rules": [{"id": "X", "kind": "deny", "source": "NOPE", "uses": ["*"], "text": ""}]},
            "source",
        ),
        ({"uses": {"offset_scope1": {"scope": "4"}}}, "scope"),
    ],
)
def test_a_broken_rule_set_is_refused_with_where(change: dict[str, Any], where: str) -> None:
    with pytest.raises(ur.RuleSetError) as e:
        ur.parse(DOC | change)
    assert where in str(e.value)


PURPOSES = sorted(RS.uses)
LOTS = st.builds(
    lot,
    st.sampled_from(["JC", "JM", "VCS", "GS", "GX", "JB", "NF", "GP", "JV"]),
    st.sampled_from(["ENERGY_SAVING", "RE_POWER", "RE_HEAT", "FOREST", "JCM", "GX_EXCESS"]),
    st.integers(1, 5_000),
    ca_status=st.sampled_from(["not_started", "pending", "completed"]),
)
FIGURES = st.none() | st.builds(
    ur.Figures,
    scope1=st.integers(0, 50_000),
    scope2_location=st.integers(0, 50_000),
    scope3=st.integers(0, 50_000),
    purchased_electricity_kwh=st.integers(0, 10**8),
)


@settings(max_examples=300, deadline=None)
@given(
    lots=st.lists(LOTS, min_size=1, max_size=3),
    purpose=st.sampled_from(PURPOSES),
    year=st.integers(2021, 2028),
    figures=FIGURES,
    claimed=st.integers(0, 60_000),
)
def test_the_max_quantity_is_itself_allowed_and_one_more_is_not(
    lots: list[ur.Lot], purpose: str, year: int, figures: ur.Figures | None, claimed: int
) -> None:
    """max_quantity is exact: the first max_quantity credits (in order) are allowed, and when
    it is below what was asked, asking for it plus one is refused."""
    claims = (ur.Claim(purpose, RS.uses[purpose].scope, claimed, claimed),) if claimed else ()
    on = dt.date(year + 1, 5, 1)
    d = decide(lots, purpose, year, figures, claims, on=on)
    assert 0 <= d.max_quantity <= d.quantity
    if d.allowed:
        assert d.max_quantity == d.quantity
    if d.max_quantity > 0:
        taken, left = [], d.max_quantity
        for x in lots:
            if left == 0:
                break
            q = min(x.quantity, left)
            taken.append(
                ur.Lot(
                    x.issuance,
                    q,
                    x.scheme,
                    x.category,
                    x.unit,
                    x.domestic,
                    x.properties,
                    x.ca_status,
                )
            )
            left -= q
        assert decide(taken, purpose, year, figures, claims, on=on).allowed
