"""Neutralisation, contribution and carbon-negative claims through the services, on both
backends (issue 21 §3): removal credits of a project with a removal profile are retired for
neutralisation, others as contributions, beside an offset; the usage rules refuse what the
rule set refuses (non-durable removals, an offset beyond the residual, an EU product claim from
27 September 2026) before anything moves; the claim report keeps the claims apart."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from tanso.domain.errors import InvalidInput, TansoError
from tanso.domain.removals import Profile
from tanso.services.common import SYSTEM, Actor
from tanso.services.compliance import claims, inventories
from tanso.services.ledger import audit, registry, taxonomy
from tanso.services.removals import profiles
from tanso.store.db import Database
from tanso.web import render
from tanso.web.documents import claims as document
from tests.conftest import add_issuance, add_participant

YEAR = 2025


def removal_project(db: Database, pid: str, category: str, profile: Profile | None) -> None:
    taxonomy.register_project(
        db,
        SYSTEM,
        taxonomy.NewProject(pid, "VCS", f"Removals {pid}", category, "IS", mechanism="removal"),
    )
    if profile is not None:
        profiles.set_profile(db, SYSTEM, pid, profile)


def deposit(db: Database, project: str, account: str, quantity: int) -> str:
    n = registry.NewIssuance(project, "RM", "1", 2025, quantity, account, "", "unknown")
    return registry.deposit(db, SYSTEM, n, "Verra Registry", f"VCU {project}").issuance_id


def retire(db: Database, actor: Actor, serials: str, purposes: list[str], year: int = YEAR) -> Any:
    return registry.retire(
        db,
        actor,
        registry.RetirementRequest(
            f"{actor.participant_id}-MAIN", registry.Selection(serials=serials), purposes, "", year
        ),
    )


def held(db: Database, account: str) -> int:
    return registry.holdings(db, SYSTEM, account).totals.status.get("held", 0)


def refused(db: Database, actor: Actor, serials: str, purposes: list[str]) -> TansoError:
    before = held(db, f"{actor.participant_id}-MAIN")
    with pytest.raises(TansoError) as e:
        retire(db, actor, serials, purposes)
    assert held(db, f"{actor.participant_id}-MAIN") == before  # nothing moved
    return e.value


def world(db: Database) -> tuple[Actor, dict[str, str]]:
    a = add_participant(db, "NEGA")
    inventories.record(
        db,
        a,
        "NEGA",
        YEAR,
        inventories.Inventory(
            scope1=1_000, scope2_location=500, scope3_categories={1: 2_000}, reduction_scope1=100
        ),
    )  # total emissions 3,500 t-CO2e; Scope 1 residual 900 t
    removal_project(
        db, "NDAC1", "VOLUNTARY_TECH", Profile("daccs", "geological", 10_000, "none", 100, 0)
    )
    removal_project(
        db, "NFOR1", "VOLUNTARY_NATURE", Profile("afforestation", "biological", 40, "none", 40, 0)
    )
    removal_project(db, "NBARE", "VOLUNTARY_TECH", None)  # a removal project without a profile
    issued = {
        "jc": add_issuance(db, "NEGA-MAIN", 2_000),
        "dac": deposit(db, "NDAC1", "NEGA-MAIN", 5_000),
        "forest": deposit(db, "NFOR1", "NEGA-MAIN", 1_000),
        "bare": deposit(db, "NBARE", "NEGA-MAIN", 100),
    }
    return a, issued


def test_the_rules_keep_offsets_neutralisation_and_contributions_apart(db: Database) -> None:
    a, i = world(db)
    retire(db, a, f"{i['jc']}-1-900", ["offset_scope1"])
    # the hierarchy still refuses an offset beyond the residual emissions ...
    e = refused(db, a, f"{i['jc']}-901-901", ["offset_scope1"])
    assert e.code == "usage_not_allowed" and "HIERARCHY" in e.message
    # ... but neither neutralisation nor contributions are bounded by it
    retire(db, a, f"{i['dac']}-1-4000", ["neutralisation"])
    retire(db, a, f"{i['forest']}-1-300", ["contribution"])
    retire(db, a, f"{i['jc']}-901-1100", ["bvcm"])
    # removals stored 40 years, or of no stated permanence, do not neutralise
    e = refused(db, a, f"{i['forest']}-301-400", ["neutralisation"])
    assert "NEUTRALISATION-DURABLE" in e.message and "OXFORD-2024" in e.message
    e = refused(db, a, f"{i['bare']}-1-10", ["neutralisation"])
    assert "NEUTRALISATION-DURABLE" in e.message
    # reductions never neutralise
    e = refused(db, a, f"{i['jc']}-1101-1110", ["neutralisation"])
    assert "NEUTRALISATION-REMOVALS" in e.message and "SBTI-NZ" in e.message
    # one tonne is never both an offset and a contribution
    with pytest.raises(InvalidInput) as mixed:
        retire(db, a, f"{i['jc']}-1101-1110", ["offset_scope3", "contribution"])
    assert mixed.value.code == "mixed_purpose_scope"
    assert audit.verify(db).ok


def test_a_carbon_negative_year_in_the_report(db: Database) -> None:
    a, i = world(db)
    retire(db, a, f"{i['jc']}-1-900", ["offset_scope1"])
    retire(db, a, f"{i['dac']}-1-4000", ["neutralisation"])
    retire(db, a, f"{i['forest']}-1-300", ["contribution"])
    retire(db, a, f"{i['jc']}-901-1100", ["bvcm"])
    rep = claims.report(db, a, "NEGA", YEAR)
    # offsets by scope, as before: neutralisation and contributions are not offsets
    assert [s.covered for s in rep.scopes] == [900, 0, 0] and rep.totals.covered == 900
    assert rep.neutralisation == claims.Neutralisation(tonnes=4_000, durable=4_000, emissions=3_500)
    assert {x.code: x.quantity for x in rep.contributions} == {"contribution": 300, "bvcm": 200}
    assert rep.contributed == 500
    # 4,300 t of removals among 5,400 t of credits retired: 79 %; by stated permanence
    r = rep.removals
    assert (r.credits, r.removals, r.percent) == (5_400, 4_300, 79)
    assert {x.code: x.quantity for x in r.by_band} == {
        "unstated": 0,
        "under_100": 300,
        "100_to_999": 0,
        "1000_plus": 4_000,
    }
    by = {c.code: c for c in rep.claims}
    assert by["offset_scope1"].allowed and by["neutralisation"].allowed
    assert by["contribution"].allowed and by["bvcm"].allowed
    neg = by["carbon_negative"]
    assert neg.allowed and neg.params["excess"] == 500 and neg.params["contributed"] == 500
    text, reason = document.wording(rep, neg, "en")
    assert reason == "" and text.startswith("NEGA Corp. was carbon negative in 2025: it retired")
    assert "4,000 t-CO2 of durable carbon removals" in text and "(300 t)" not in text
    text_ja, _ = document.wording(rep, neg, "ja")
    assert "カーボン・ネガティブ" in text_ja and "3,500 t-CO2e" in text_ja
    contribution, _ = document.wording(rep, by["contribution"], "en")
    assert "contribution claim: not an offset" in contribution
    # the documents carry the sections, in both languages
    for lang in ("en", "ja"):
        rows = list(csv.DictReader(io.StringIO(document.to_csv(rep, lang))))
        sections = {(x["section"], x["key"]): x for x in rows}
        assert sections[("neutralisation", "durable")]["quantity"] == "4000"
        assert sections[("contribution", "bvcm")]["quantity"] == "200"
        assert sections[("removal_band", "1000_plus")]["quantity"] == "4000"
        assert sections[("removals", "share")]["name"] == "79%"
        assert sections[("claim", "carbon_negative")]["allowed"] == "yes"
        assert document.to_pdf(rep, lang).startswith(b"%PDF")
        page = render("claims_body.html", lang=lang, jst=str, **document.render_context(rep, lang))
        assert 'data-purpose="bvcm"' in page and 'data-band="1000_plus"' in page
        assert ("79%" if lang == "en" else "（79%）") in page


def test_without_enough_durable_removals_or_an_inventory_there_is_no_verdict(
    db: Database,
) -> None:
    a, i = world(db)
    retire(db, a, f"{i['dac']}-1-3500", ["neutralisation"])  # exactly the emissions
    retire(db, a, f"{i['forest']}-1-900", ["contribution"])  # contributions never count
    neg = next(c for c in claims.report(db, a, "NEGA", YEAR).claims if c.code == "carbon_negative")
    assert not neg.allowed and neg.reason == "removals_not_above_emissions"
    assert neg.params["missing"] == 1
    retire(db, a, f"{i['dac']}-3501-5000", ["neutralisation"], YEAR + 1)  # no 2026 inventory
    rep = claims.report(db, a, "NEGA", YEAR + 1)
    neg = next(c for c in rep.claims if c.code == "carbon_negative")
    assert not neg.allowed and neg.reason == "negative_no_inventory"
    assert rep.neutralisation.emissions is None and rep.neutralisation.durable == 1_500
    assert "No emissions inventory is recorded for 2026" in document.wording(rep, neg, "en")[1]


class LateClock:
    """The business clock from a given day, a microsecond later each transaction."""

    def __init__(self, day: str) -> None:
        self.day, self.n = day, 0

    def __call__(self) -> str:
        self.n += 1
        return f"{self.day}T03:00:00.{self.n:06d}Z"


def test_an_eu_product_claim_is_refused_from_27_september_2026(db: Database) -> None:
    a, i = world(db)
    retire(db, a, f"{i['jc']}-1-10", ["product_claim_eu"], 2026)  # before: 2026-01-05
    db.clock = LateClock("2026-09-27")  # 12:00 JST on the day the directive applies
    e = refused(db, a, f"{i['jc']}-11-20", ["product_claim_eu"])
    assert "EU-NO-OFFSET-PRODUCT-CLAIM" in e.message and "EU-2024-825" in e.message
    retire(db, a, f"{i['jc']}-11-20", ["offset_product"], 2026)  # a product offset in Japan
    assert audit.verify(db).ok
