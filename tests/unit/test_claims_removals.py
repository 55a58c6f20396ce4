"""Offset, neutralisation, contribution and carbon-negative claims (issue 21 §3), kept apart:
hand-worked examples of each, their wording in English and Japanese, the removal share and its
durability bands, and properties (hypothesis)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tanso.domain.claims import (
    Backing,
    RetiredCredits,
    ScopeFigures,
    Verdict,
    assess,
    band,
    removal_share,
)
from tanso.services.compliance.certificates import Term
from tanso.services.compliance.claims import (
    Claim,
    ClaimedCredits,
    ClaimedRetirement,
    ClaimReport,
    Neutralisation,
    Party,
    Removals,
    Retired,
    Totals,
)
from tanso.web.documents.claims import wording

# Kita Co. in 2026: Scope 1 1,000 t (100 t reduced itself), Scope 2 500 t, Scope 3 2,000 t:
# total emissions 3,500 t-CO2e, residual 3,400 t.
TOTAL = 3_500


def figures(recorded: bool = True) -> dict[str, ScopeFigures]:
    if not recorded:
        return {s: ScopeFigures(s, None) for s in "123"}
    return {
        "1": ScopeFigures("1", 1_000, 100),
        "2": ScopeFigures("2", 500, 0),
        "3": ScopeFigures("3", 2_000, 0),
    }


def back(rid: str, purpose: str, tonnes: int, scope: str = "", **kw: object) -> Backing:
    return Backing(rid, purpose, scope, tonnes, tonnes, **kw)  # type: ignore[arg-type]


def verdict(verdicts: list[Verdict], code: str) -> Verdict:
    return next(v for v in verdicts if v.code == code)


OFFSET = back("RT-00000001", "offset_scope1", 450, "1")
DAC = back("RT-00000002", "neutralisation", 4_000, durable_removals=4_000)
GIFT = back("RT-00000003", "contribution", 300)
BVCM = back("RT-00000004", "bvcm", 200)


# ---------------------------------------------------------------- hand-worked years


def test_an_offset_year_offsets_within_the_residual_and_is_not_carbon_negative() -> None:
    _, verdicts = assess(figures(), [OFFSET])
    v = verdict(verdicts, "offset_scope1")
    assert v.allowed and v.params["tonnes"] == 450 and v.params["percent"] == 50  # of 900
    neg = verdict(verdicts, "carbon_negative")
    assert not neg.allowed and neg.reason == "removals_not_above_emissions"
    assert neg.params == {
        "durable": 0,
        "contributed": 0,
        "retirements": [],
        "emissions": TOTAL,
        "missing": TOTAL + 1,
    }
    assert "neutralisation" not in {x.code for x in verdicts}


def test_a_neutralisation_year_counts_durable_removals_beside_the_offsets() -> None:
    lines, verdicts = assess(figures(), [OFFSET, DAC])
    v = verdict(verdicts, "neutralisation")
    assert v.allowed and v.params["tonnes"] == 4_000 and v.params["durable"] == 4_000
    # neutralisation is not an offset: the scope lines do not move
    assert lines["1"].covered == 450 and lines["2"].covered == 0 and lines["3"].covered == 0


def test_a_contribution_year_reports_contributions_beside_and_counts_them_nowhere() -> None:
    lines, verdicts = assess(figures(), [GIFT, BVCM, back("RT-5", "contribution", 10_000)])
    c = verdict(verdicts, "contribution")
    assert c.allowed and c.params["tonnes"] == 10_300
    assert c.params["retirements"] == ["RT-00000003", "RT-5"]
    assert verdict(verdicts, "bvcm").allowed and verdict(verdicts, "bvcm").params["tonnes"] == 200
    assert all(x.covered == 0 for x in lines.values())
    neg = verdict(verdicts, "carbon_negative")  # 10,500 t contributed, more than 3,500 emitted
    assert not neg.allowed and neg.params["durable"] == 0 and neg.params["contributed"] == 10_500
    assert not verdict(verdicts, "carbon_neutral").allowed


def test_a_carbon_negative_year_needs_durable_neutralisation_above_total_emissions() -> None:
    _, verdicts = assess(figures(), [OFFSET, DAC, GIFT])
    neg = verdict(verdicts, "carbon_negative")
    assert neg.allowed and neg.reason == ""
    assert neg.params == {
        "durable": 4_000,
        "contributed": 300,
        "retirements": ["RT-00000002"],
        "emissions": TOTAL,
        "excess": 500,
    }


def test_exactly_the_total_emissions_is_not_carbon_negative() -> None:
    _, verdicts = assess(figures(), [back("RT-1", "neutralisation", TOTAL, durable_removals=TOTAL)])
    neg = verdict(verdicts, "carbon_negative")
    assert not neg.allowed and neg.params["missing"] == 1
    _, verdicts = assess(figures(), [back("RT-1", "neutralisation", 3_501, durable_removals=3_501)])
    assert verdict(verdicts, "carbon_negative").params["excess"] == 1


def test_total_emissions_are_before_own_reductions_and_offsets_never_count() -> None:
    # 3,450 t of durable removals exceed the residual (3,400) but not the emissions (3,500)
    backs = [back("RT-1", "neutralisation", 3_450, durable_removals=3_450)]
    backs += [back("RT-2", "offset_scope3", 2_000, "3", durable_removals=2_000)]
    neg = verdict(assess(figures(), backs)[1], "carbon_negative")
    assert not neg.allowed and neg.params["durable"] == 3_450


def test_removals_the_rules_refuse_or_that_are_not_durable_never_count() -> None:
    refused = back(
        "RT-1", "neutralisation", 9_000, eligible=False, refused_by=("NEUTRALISATION-DURABLE",)
    )
    short = back("RT-2", "neutralisation", 9_000, durable_removals=0)
    _, verdicts = assess(figures(), [refused, short])
    v = verdict(verdicts, "neutralisation")
    assert not v.allowed and v.reason == "not_eligible"
    assert v.params["rules"] == ["NEUTRALISATION-DURABLE"] and v.params["refused"] == 9_000
    neg = verdict(verdicts, "carbon_negative")
    assert not neg.allowed and neg.params["durable"] == 0


def test_no_inventory_no_carbon_negative_verdict_but_neutralisation_is_still_told() -> None:
    _, verdicts = assess(figures(recorded=False), [DAC])
    neg = verdict(verdicts, "carbon_negative")
    assert not neg.allowed and neg.reason == "negative_no_inventory"
    assert "emissions" not in neg.params and neg.params["durable"] == 4_000
    assert verdict(verdicts, "neutralisation").allowed


def test_a_contribution_the_rules_refuse_is_not_eligible() -> None:
    kwh = back("RT-1", "contribution", 5, eligible=False, refused_by=("CONTRIBUTION-TCO2",))
    v = verdict(assess(figures(), [kwh])[1], "contribution")
    assert (
        not v.allowed and v.reason == "not_eligible" and v.params["rules"] == ["CONTRIBUTION-TCO2"]
    )


# ---------------------------------------------------------------- removal share and durability


def test_the_removal_share_and_durability_bands_by_hand() -> None:
    share = removal_share(
        [
            RetiredCredits(600, removal=True, permanence_years=10_000),  # DACCS
            RetiredCredits(200, removal=True, permanence_years=50),  # forest
            RetiredCredits(100, removal=True, permanence_years=0),  # no removal profile
            RetiredCredits(150, removal=True, permanence_years=300),  # biochar
            RetiredCredits(950),  # reductions
            RetiredCredits(5_000, unit="kWh"),  # certificates are neither
        ]
    )
    assert (share.credits, share.removals, share.percent) == (2_000, 1_050, 52)
    assert dict(share.by_band) == {
        "unstated": 100,
        "under_100": 200,
        "100_to_999": 150,
        "1000_plus": 600,
    }
    assert removal_share([]).percent == 0


def test_durability_bands_at_their_edges() -> None:
    assert [band(y) for y in (0, 1, 99, 100, 999, 1_000, 100_000)] == [
        "unstated",
        "under_100",
        "under_100",
        "100_to_999",
        "100_to_999",
        "1000_plus",
        "1000_plus",
    ]


@given(
    st.lists(
        st.builds(
            RetiredCredits,
            st.integers(1, 10**6),
            st.sampled_from(["tCO2", "kWh"]),
            st.booleans(),
            st.integers(0, 100_000),
        ),
        max_size=8,
    )
)
def test_bands_add_up_to_the_removals_and_the_share_is_never_above_100(
    retired: list[RetiredCredits],
) -> None:
    share = removal_share(retired)
    assert sum(share.by_band.values()) == share.removals <= share.credits
    assert 0 <= share.percent <= 100


@given(
    durable=st.integers(0, 20_000),
    offsets=st.integers(0, 20_000),
    given_away=st.integers(0, 20_000),
    s1=st.integers(0, 5_000),
    s3=st.integers(0, 5_000),
)
def test_carbon_negative_exactly_when_durable_neutralisation_exceeds_emissions(
    durable: int, offsets: int, given_away: int, s1: int, s3: int
) -> None:
    figs = {
        "1": ScopeFigures("1", s1, s1 // 2),
        "2": ScopeFigures("2", 0),
        "3": ScopeFigures("3", s3),
    }
    backs = [
        back("RT-1", "neutralisation", durable, durable_removals=durable),
        back("RT-2", "offset_scope3", offsets, "3", durable_removals=offsets),
        back("RT-3", "contribution", given_away),
        back("RT-4", "bvcm", given_away),
    ]
    neg = verdict(assess(figs, backs)[1], "carbon_negative")
    assert neg.allowed == (durable > s1 + s3)


# ---------------------------------------------------------------- wording, EN and JA


def _term(code: str, en: str, ja: str) -> Term:
    return Term(code, en, ja)


def _retirement(rid: str, quantity: int, scheme: Term, category: Term) -> ClaimedRetirement:
    code = f"{scheme.code}/{category.code}"
    return ClaimedRetirement(
        rid,
        f"CERT-{rid}",
        f"/verify/{rid}",
        "2026-10-01T00:00:00Z",
        quantity,
        [],
        "Kita Co.",
        [],
        [scheme.code],
        [ClaimedCredits(code, scheme, category, quantity)],
    )


def report(backings: list[Backing], recorded: bool = True) -> ClaimReport:
    _, verdicts = assess(figures(recorded), backings)
    jc = _term("JC", "J-Credit", "J-クレジット")
    pu = _term("PU", "Puro.earth", "Puro.earth")
    vcs = _term("VCS", "Verra VCS", "Verra VCS")
    return ClaimReport(
        participant=Party("KITA", "Kita Co.", "北株式会社"),
        reporting_year=2026,
        rulesets=["tanso-default@2026.2"],
        inventory=None,
        scopes=[],
        totals=Totals(None, 0, None, 0, None),
        retired=Retired(0, 0, [], [], [], [], [], []),
        retirements=[
            _retirement("RT-00000001", 450, jc, _term("ENERGY_SAVING", "Energy saving", "省エネ")),
            _retirement("RT-00000002", 4_000, pu, _term("DACCS", "DACCS", "DACCS")),
            _retirement("RT-00000003", 300, vcs, _term("FOREST", "Forestry", "森林")),
        ],
        voluntary=[],
        evaluation_axes=[],
        claims=[Claim(v.code, v.allowed, v.reason, dict(v.params)) for v in verdicts],
        neutralisation=Neutralisation(0, 0, None),
        contributions=[],
        contributed=0,
        removals=Removals(0, 0, 0, []),
    )


def words(rep: ClaimReport, code: str, lang: str) -> tuple[str, str]:
    return wording(rep, next(c for c in rep.claims if c.code == code), lang)


def test_the_wording_of_an_offset_year() -> None:
    rep = report([OFFSET])
    assert words(rep, "offset_scope1", "en") == (
        "Kita Co. offset 450 t-CO2e of its Scope 1 emissions for 2026 (50% of its residual "
        "Scope 1 emissions) by retiring 450 t of J-Credit (Energy saving) (RT-00000001).",
        "",
    )
    title, reason = words(rep, "carbon_negative", "en")
    assert title == "Carbon negative"
    assert reason == (
        "Durable removals retired for neutralisation (0 t-CO2) do not exceed the year's total "
        "emissions (3,500 t-CO2e, Scope 1, 2 and 3): 3,501 t more would be needed. Offsets "
        "and contributions do not count."
    )
    assert words(rep, "carbon_negative", "ja") == (
        "カーボン・ネガティブ",
        "中和のため無効化した耐久性のある除去（0 t-CO2）が、その年の総排出量（3,500 t-CO2e、"
        "Scope 1・2・3）を上回っていません。あと 3,501 t 必要です。"
        "オフセットと貢献は算入しません。",
    )


def test_the_wording_of_a_neutralisation_year() -> None:
    rep = report([DAC])
    assert words(rep, "neutralisation", "en") == (
        "Kita Co. retired 4,000 t-CO2 of carbon removals for 2026 to neutralise residual "
        "emissions, 4,000 t of them durable removals (stored for 100 years or more): 4,000 t "
        "of Puro.earth (DACCS) (RT-00000002). Neutralisation is reported apart from offsets "
        "and contributions.",
        "",
    )
    assert words(rep, "neutralisation", "ja")[0] == (
        "北株式会社は2026年度の残余排出を中和するため、炭素除去 4,000 t-CO2 を無効化しました"
        "（うち耐久性のある除去（100年以上貯留）4,000 t）：Puro.earth (DACCS) 4,000 t "
        "(RT-00000002)。中和はオフセットや貢献とは別に報告します。"
    )


def test_the_wording_of_a_contribution_year() -> None:
    rep = report([GIFT])
    assert words(rep, "contribution", "en") == (
        "Kita Co. contributed to global climate mitigation in 2026 by retiring 300 t of Verra "
        "VCS (Forestry) (RT-00000003) (300 t-CO2e). This is a contribution claim: not an "
        "offset, and not deducted from Kita Co.'s emissions.",
        "",
    )
    text_ja = words(rep, "contribution", "ja")[0]
    assert text_ja.startswith(
        "北株式会社は2026年度に Verra VCS (森林) 300 t (RT-00000003)（300 t-CO2e）"
    )
    assert "貢献の主張であり、オフセットではなく" in text_ja


def test_the_wording_of_a_carbon_negative_year() -> None:
    rep = report([OFFSET, DAC, GIFT])
    assert words(rep, "carbon_negative", "en") == (
        "Kita Co. was carbon negative in 2026: it retired 4,000 t-CO2 of durable carbon "
        "removals for neutralisation, 500 t more than its total emissions of 3,500 t-CO2e "
        "(Scope 1, 2 and 3). Contributions (300 t) are not counted.",
        "",
    )
    assert words(rep, "carbon_negative", "ja") == (
        "北株式会社は2026年度にカーボン・ネガティブでした：中和のため耐久性のある炭素除去 "
        "4,000 t-CO2 を無効化し、総排出量 3,500 t-CO2e（Scope 1・2・3）を 500 t 上回りました。"
        "貢献（300 t）は算入していません。",
        "",
    )


def test_the_wording_without_an_inventory_says_why_there_is_no_verdict() -> None:
    rep = report([DAC], recorded=False)
    assert words(rep, "carbon_negative", "en")[1] == (
        "No emissions inventory is recorded for 2026: without the year's total emissions "
        "there is nothing to weigh the removals against, so no carbon-negative claim can be made."
    )
    assert words(rep, "carbon_negative", "ja")[1].startswith(
        "2026年度の排出量インベントリが記録されていません。"
    )


def test_every_new_claim_and_reason_has_its_wording_in_both_languages() -> None:
    from tanso.web.i18n import texts

    codes = ["neutralisation", "carbon_negative", "contribution", "bvcm", "product_claim_eu"]
    reasons = ["negative_no_inventory", "removals_not_above_emissions"]
    bands = ["band_unstated", "band_under_100", "band_100_to_999", "band_1000_plus"]
    for lang in ("en", "ja"):
        t = texts(lang, "claims")
        ids = [f"claim_{c}" for c in codes] + [f"title_{c}" for c in codes]
        ids += [f"reason_{r}" for r in reasons] + bands
        assert [i for i in ids if i not in t or t[i] == i] == [], lang
    bvcm = report([BVCM])
    text, _ = words(bvcm, "bvcm", "en")
    assert text.startswith("Kita Co. financed 200 t-CO2e of mitigation beyond its value chain")
