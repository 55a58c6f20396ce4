"""Usage rules of removals and of claims that are not offsets (issue 21 §3): one test per new
rule of the shipped rule set, named after the rule and its source; the hierarchy bounds offsets
only; the new filter keys and ``from_date``; properties (hypothesis)."""

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
EU_DAY = dt.date(2026, 9, 27)


def dac(q: int = 100, permanence: int = 10_000, **kw: Any) -> ur.Lot:
    """Removal credits of a DACCS project with a removal profile."""
    args: dict[str, Any] = {
        "credit_type": "RM",
        "permanence_years": permanence,
        "pathway": "daccs",
    } | kw
    return ur.Lot("PU-RM-DAC1-1", q, "PU", "DACCS", **args)


def reduction(q: int = 100) -> ur.Lot:
    return ur.Lot("VCS-ER-P1-1", q, "VCS", "VOLUNTARY_NATURE", credit_type="ER")


def kwh(q: int = 1_000) -> ur.Lot:
    return ur.Lot("NF-EA-P1-1", q, "NF", "NON_FOSSIL", unit="kWh", domestic=True)


def decide(
    lots: list[ur.Lot],
    purpose: str,
    figures: ur.Figures | None = None,
    claims: tuple[ur.Claim, ...] = (),
    on: dt.date = DAY,
    **use: Any,
) -> ur.Decision:
    return ur.evaluate(RS, lots, ur.Use(purpose, 2026, on, **use), ur.Context(figures, claims))


def refused_by(d: ur.Decision) -> str | None:
    return d.refusal.rule if d.refusal else None


def test_the_shipped_rule_set_is_version_2026_2_with_the_new_sources() -> None:
    assert RS.label == "tanso-default@2026.2"
    assert {"SBTI-NZ", "OXFORD-2024", "VCMI", "EU-2024-825"} <= set(RS.sources)
    for purpose in ("neutralisation", "contribution", "bvcm", "product_claim_eu"):
        assert RS.uses[purpose].scope == ""  # none counts against a scope of the inventory


def test_every_purpose_of_the_rule_set_is_a_purpose_of_the_taxonomy() -> None:
    taxonomy = json.loads(resources.files("tanso").joinpath("data/taxonomy.json").read_text())
    assert set(RS.uses) <= {p["code"] for p in taxonomy["purposes"]}


# ---------------------------------------------------------------- neutralisation


def test_neutralisation_removals_sbti_only_removal_credits_neutralise() -> None:
    """SBTi Corporate Net-Zero Standard: residual emissions are neutralised with removals."""
    assert decide([dac()], "neutralisation").allowed
    d = decide([reduction()], "neutralisation")
    assert not d.allowed and refused_by(d) == "NEUTRALISATION-REMOVALS"
    assert "SBTI-NZ" in (d.refusal.source if d.refusal else "")


def test_neutralisation_durable_oxford_removals_stored_at_least_100_years() -> None:
    """Oxford Offsetting Principles 2024: shift to removals with durable storage."""
    assert decide([dac(permanence=100)], "neutralisation").allowed
    d = decide([dac(permanence=99, pathway="afforestation")], "neutralisation")
    assert not d.allowed and refused_by(d) == "NEUTRALISATION-DURABLE"
    assert "OXFORD-2024" in (d.refusal.source if d.refusal else "")
    # a removal project without a removal profile states no permanence: not durable
    assert refused_by(decide([dac(permanence=0, pathway="")], "neutralisation")) == (
        "NEUTRALISATION-DURABLE"
    )
    # one lot that is not durable refuses the whole selection
    assert not decide([dac(), dac(permanence=40)], "neutralisation").allowed


def test_neutralisation_is_not_bounded_by_the_residual_emissions() -> None:
    """More durable removals than emissions is what a carbon-negative year is."""
    figures = ur.Figures(scope1=100, scope2_location=50, scope3=0, reduction_scope1=20)
    d = decide([dac(5_000)], "neutralisation", figures)
    assert d.allowed and d.max_quantity == 5_000 and d.scope == ""
    assert not [r for r in d.reasons if r.rule == "HIERARCHY"]


def test_kwh_certificates_never_neutralise_nor_contribute() -> None:
    for purpose in ("neutralisation", "contribution", "bvcm", "product_claim_eu"):
        d = decide([kwh()], purpose, ur.Figures(purchased_electricity_kwh=10**6))
        assert not d.allowed, purpose
        assert "POLICY-EAC-SCOPE2" in {r.rule for r in d.reasons if not r.ok}, purpose


# ---------------------------------------------------------------- contributions


def test_contribution_tco2_vcmi_any_carbon_credit_beyond_the_inventory() -> None:
    """VCMI Claims Code: a contribution claim, with any t-CO2 credit, bounded by nothing."""
    figures = ur.Figures(scope1=10)
    claims = (ur.Claim("offset_scope1", "1", 10, 10),)
    for lots in ([reduction(900)], [dac(900, permanence=30)], [dac(900)]):
        d = decide(lots, "contribution", figures, claims)
        assert d.allowed and d.max_quantity == 900 and d.scope == ""


def test_bvcm_tco2_sbti_beyond_value_chain_mitigation_with_any_carbon_credit() -> None:
    """SBTi: beyond value chain mitigation, never counted toward the company's targets."""
    d = decide([reduction(70)], "bvcm", ur.Figures())
    assert d.allowed and d.max_quantity == 70
    d = decide([kwh()], "bvcm")
    assert refused_by(d) in ("BVCM-TCO2", "POLICY-EAC-SCOPE2")


def test_the_hierarchy_still_refuses_an_offset_beyond_the_residual_emissions() -> None:
    """METI 2021 論点①: an *offset* claim stays within the residual; a contribution of the
    same credits, for the same year, is not bounded."""
    figures = ur.Figures(scope3=1_000, reduction_scope3=400)  # residual 600
    d = decide([reduction(601)], "offset_scope3", figures)
    assert not d.allowed and refused_by(d) == "HIERARCHY" and d.max_quantity == 600
    assert decide([reduction(600)], "offset_scope3", figures).allowed
    assert decide([reduction(601)], "contribution", figures).allowed
    assert decide([reduction(601)], "bvcm", figures).allowed
    # and contributions already made never use up an offset's room
    claims = (ur.Claim("contribution", "", 5_000, 5_000),)
    assert decide([reduction(600)], "offset_scope3", figures, claims).allowed


# ---------------------------------------------------------------- EU consumer product claims


def test_eu_no_offset_product_claim_directive_2024_825_from_27_september_2026() -> None:
    """Directive (EU) 2024/825: offset-based product neutrality claims banned from 2026-09-27."""
    before = decide([reduction()], "product_claim_eu", on=EU_DAY - dt.timedelta(days=1))
    assert before.allowed
    for on in (EU_DAY, dt.date(2027, 1, 1)):
        d = decide([reduction()], "product_claim_eu", on=on)
        assert not d.allowed and refused_by(d) == "EU-NO-OFFSET-PRODUCT-CLAIM"
        assert "EU-2024-825" in (d.refusal.source if d.refusal else "")
        assert d.max_quantity == 0
    # the same credits still offset a product under the Japanese guidelines (not an EU claim)
    assert decide([reduction()], "offset_product", on=EU_DAY).allowed


# ---------------------------------------------------------------- the engine's new keys


def test_a_filter_on_credit_types_pathways_and_permanence() -> None:
    f = ur._filter(
        {"credit_types": ["RM"], "pathways": ["biochar"], "min_permanence_years": 100}, "f"
    )
    assert f.admits(dac(pathway="biochar", permanence=100))
    assert not f.admits(dac(pathway="biochar", permanence=99))
    assert not f.admits(dac(pathway="daccs"))
    assert not f.admits(reduction())


def test_a_rule_applies_from_its_date() -> None:
    rule = {"id": "X", "kind": "deny", "source": "VCMI", "uses": ["*"], "text": "No."}
    rs = ur.parse(
        DOC | {"rules": [rule | {"from_date": "2027-01-01", "match": {"units": ["tCO2"]}}]}
    )
    [r] = rs.rules
    assert r.from_date == dt.date(2027, 1, 1)
    assert not r.applies(ur.Use("contribution", 2026, dt.date(2026, 12, 31)))
    assert r.applies(ur.Use("contribution", 2026, dt.date(2027, 1, 1)))


@pytest.mark.parametrize(
    ("rule", "where"),
    [
        ({"from_date": "someday"}, "from_date"),
        ({"match": {"min_permanence_years": -1}}, "min_permanence_years"),
        ({"match": {"min_permanence_years": True}}, "min_permanence_years"),
        ({"match": {"credit_types": "RM"}}, "credit_types"),
        ({"match": {"pathways": [1]}}, "pathways"),
    ],
)
def test_a_broken_new_key_is_refused_with_where(rule: dict[str, Any], where: str) -> None:
    base = {"id": "X", "kind": "deny", "source": "VCMI", "uses": ["*"], "text": "No."}
    body = base | {"match": {"units": ["tCO2"]}} | rule
    with pytest.raises(ur.RuleSetError) as e:
        ur.parse(DOC | {"rules": [body]})
    assert where in str(e.value)


# ---------------------------------------------------------------- properties

LOTS = st.builds(
    dac,
    st.integers(1, 5_000),
    st.integers(0, 5_000),
    credit_type=st.sampled_from(["RM", "ER", "RD"]),
    pathway=st.sampled_from(["", "daccs", "biochar", "afforestation"]),
)
FIGURES = st.none() | st.builds(
    ur.Figures,
    scope1=st.integers(0, 50_000),
    scope2_location=st.integers(0, 50_000),
    scope3=st.integers(0, 50_000),
)


@settings(max_examples=300, deadline=None)
@given(lots=st.lists(LOTS, min_size=1, max_size=3), figures=FIGURES, claimed=st.integers(0, 10**5))
def test_neutralisation_takes_exactly_the_durable_removals_and_contributions_any_tonne(
    lots: list[ur.Lot], figures: ur.Figures | None, claimed: int
) -> None:
    claims = (ur.Claim("offset_scope1", "1", claimed, claimed),)
    total = sum(x.quantity for x in lots)
    n = decide(lots, "neutralisation", figures, claims)
    durable = all(x.credit_type == "RM" and x.permanence_years >= 100 for x in lots)
    assert n.allowed == durable
    assert n.max_quantity == (total if durable else 0)
    for purpose in ("contribution", "bvcm"):
        c = decide(lots, purpose, figures, claims)
        assert c.allowed and c.max_quantity == total
