"""The claim wording rules (domain.claims): one test per rule, and the figures' arithmetic as
properties."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tanso.domain.claims import Backing, ScopeFigures, Verdict, assess


def figures(s1: int | None = 1_000, s2: int | None = 500, s3: int | None = 2_000, red1: int = 100):
    return {
        "1": ScopeFigures("1", s1, red1 if s1 is not None else 0),
        "2": ScopeFigures("2", s2, 0),
        "3": ScopeFigures("3", s3, 0),
    }


def back(purpose: str, scope: str, tonnes: int, **kw: object) -> Backing:
    return Backing("RT-00000001", purpose, scope, tonnes, tonnes, **kw)  # type: ignore[arg-type]


def verdict(verdicts: list[Verdict], code: str) -> Verdict:
    return next(v for v in verdicts if v.code == code)


def test_an_offset_claim_within_the_residual_with_admitted_credits_may_be_made() -> None:
    lines, verdicts = assess(figures(), [back("offset_scope1", "1", 450)])
    v = verdict(verdicts, "offset_scope1")
    assert v.allowed and v.reason == ""
    assert v.params["tonnes"] == 450 and v.params["percent"] == 50  # of 900 residual
    assert lines["1"].residual == 900 and lines["1"].covered == 450 and lines["1"].remaining == 450


def test_no_scope1_offset_claim_backed_by_voluntary_credits_without_adjustment() -> None:
    b = back(
        "offset_scope1",
        "1",
        100,
        eligible=False,
        refused_by=("POLICY-SCOPE1",),
        voluntary_without_ca=True,
    )
    v = verdict(assess(figures(), [b])[1], "offset_scope1")
    assert not v.allowed and v.reason == "voluntary_without_ca"
    assert v.params["rules"] == ["POLICY-SCOPE1"] and v.params["refused"] == 100


def test_no_scope2_offset_claim_backed_by_voluntary_credits_without_adjustment() -> None:
    b = back(
        "offset_scope2", "2", 100, eligible=False, refused_by=("X",), voluntary_without_ca=True
    )
    assert verdict(assess(figures(), [b])[1], "offset_scope2").reason == "voluntary_without_ca"


def test_voluntary_credits_the_rules_admit_for_scope3_support_a_scope3_claim() -> None:
    b = back("offset_scope3", "3", 500, voluntary_without_ca=True)
    assert verdict(assess(figures(), [b])[1], "offset_scope3").allowed


def test_credits_the_rules_refuse_for_another_reason_are_not_eligible() -> None:
    b = back("offset_scope3", "3", 10, eligible=False, refused_by=("POLICY-EAC-SCOPE2",))
    v = verdict(assess(figures(), [b])[1], "offset_scope3")
    assert not v.allowed and v.reason == "not_eligible"


def test_no_offset_claim_without_an_inventory() -> None:
    v = verdict(assess(figures(s1=None), [back("offset_scope1", "1", 10)])[1], "offset_scope1")
    assert not v.allowed and v.reason == "no_inventory"


def test_no_offset_claim_beyond_the_residual_emissions() -> None:
    v = verdict(assess(figures(), [back("offset_scope1", "1", 901)])[1], "offset_scope1")
    assert not v.allowed and v.reason == "exceeds_residual" and v.params["residual"] == 900


def test_no_carbon_neutral_claim_while_residual_emissions_are_not_fully_covered() -> None:
    backs = [back("offset_scope1", "1", 900), back("offset_scope2", "2", 499)]
    _, verdicts = assess(figures(), backs)
    v = verdict(verdicts, "carbon_neutral_scope12")
    assert not v.allowed and v.reason == "residual_not_covered"
    assert v.params["remaining"] == 1 and v.params["in"] == ["2"]
    assert verdict(verdicts, "carbon_neutral").reason == "residual_not_covered"


def test_carbon_neutral_for_scope_1_and_2_once_both_residuals_are_covered() -> None:
    backs = [back("offset_scope1", "1", 900), back("offset_scope2", "2", 500)]
    _, verdicts = assess(figures(), backs)
    v = verdict(verdicts, "carbon_neutral_scope12")
    assert v.allowed and v.params["residual"] == 1_400
    assert not verdict(verdicts, "carbon_neutral").allowed  # Scope 3 is not covered


def test_carbon_neutral_across_all_scopes() -> None:
    backs = [
        back("offset_scope1", "1", 900),
        back("offset_scope2", "2", 500),
        back("offset_scope3", "3", 2_000),
    ]
    assert verdict(assess(figures(), backs)[1], "carbon_neutral").allowed


def test_no_carbon_neutral_claim_when_some_credits_are_not_admitted() -> None:
    backs = [
        back("offset_scope1", "1", 900, eligible=False, refused_by=("R",)),
        back("offset_scope2", "2", 500),
    ]
    v = verdict(assess(figures(), backs)[1], "carbon_neutral_scope12")
    assert not v.allowed and v.reason == "not_eligible"


def test_no_carbon_neutral_claim_without_an_inventory() -> None:
    v = verdict(assess(figures(None, None, None), [])[1], "carbon_neutral")
    assert not v.allowed and v.reason == "no_inventory"


def test_net_zero_is_never_supported_by_retirements_alone() -> None:
    backs = [
        back("offset_scope1", "1", 900),
        back("offset_scope2", "2", 500),
        back("offset_scope3", "3", 2_000),
    ]
    v = verdict(assess(figures(), backs)[1], "net_zero")
    assert not v.allowed and v.reason == "net_zero_needs_reductions"


def test_shk_adjusted_emissions_deduct_the_credits_retired_for_shk() -> None:
    v = verdict(assess(figures(), [back("shk_reporting", "1+2", 300)])[1], "shk_reporting")
    assert v.allowed and v.params["emissions"] == 1_500 and v.params["adjusted"] == 1_200


def test_statements_for_other_purposes_follow_the_rules_verdict() -> None:
    ok = back("re100", "2", 50)
    bad = back("offset_event", "", 5, eligible=False, refused_by=("OFFSET-PRODUCT-EVENT",))
    _, verdicts = assess(figures(), [ok, bad])
    assert verdict(verdicts, "re100").allowed
    v = verdict(verdicts, "offset_event")
    assert not v.allowed and v.params["rules"] == ["OFFSET-PRODUCT-EVENT"]


tonnes = st.integers(min_value=0, max_value=10**9)


@given(
    emitted=st.lists(st.one_of(st.none(), tonnes), min_size=3, max_size=3),
    reduced=st.lists(tonnes, min_size=3, max_size=3),
    claims=st.lists(st.tuples(st.sampled_from(["1", "2", "3"]), tonnes, st.booleans()), max_size=8),
)
def test_residual_covered_and_remaining_add_up(
    emitted: list[int | None], reduced: list[int], claims: list[tuple[str, int, bool]]
) -> None:
    figs = {
        s: ScopeFigures(s, e, min(r, e) if e is not None else 0)
        for s, e, r in zip(("1", "2", "3"), emitted, reduced, strict=True)
    }
    backs = [
        back(f"offset_scope{s}", s, q, eligible=ok, refused_by=() if ok else ("R",))
        for s, q, ok in claims
    ]
    lines, verdicts = assess(figs, backs)
    for s, line in lines.items():
        f = figs[s]
        assert line.covered == sum(q for c, q, ok in claims if c == s and ok)
        if f.emissions is None:
            assert line.residual is None and line.remaining is None
        else:
            assert line.residual == f.emissions - f.own_reductions
            assert line.remaining == max(0, line.residual - line.covered)
    neutral = verdict(verdicts, "carbon_neutral")
    if neutral.allowed:
        assert all(line.remaining == 0 and line.not_admitted == 0 for line in lines.values())
