"""Retirement under the usage rules, on both backends: refusals name the rule and its source
and move nothing; claims are recorded; the GX-ETS 10% cap holds across many small and many
concurrent retirements; no accepted retirement ever violates the rule set in force on its
date (hypothesis)."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tanso.domain import usage_rules as ur
from tanso.domain.errors import Conflict, Forbidden, InvalidInput, TansoError
from tanso.services.common import SYSTEM, Actor
from tanso.services.compliance import inventories, usage
from tanso.services.compliance.inventories import Inventory
from tanso.services.ledger import audit, participants, registry, taxonomy
from tanso.store import repo
from tanso.store import schema_usage as u
from tanso.store.db import Database
from tests.conftest import add_issuance, add_participant, fresh_database, verified_inventory

DOC: dict[str, Any] = json.loads(
    resources.files("tanso").joinpath("data/rules/default-2026.json").read_text("utf-8")
)


def retire(
    db: Database,
    actor: Actor,
    account: str,
    quantity: int,
    purpose: str,
    year: int | None = None,
    **kw: Any,
) -> registry.RetirementReceipt:
    req = registry.RetirementRequest(
        account, registry.Selection(quantity=quantity), [purpose], reporting_year=year, **kw
    )
    return registry.retire(db, actor, req)


def head(db: Database) -> int:
    with db.read() as conn:
        h = repo.journal_head(conn)
    return int(h.seq) if h else 0


def held(db: Database, account: str) -> int:
    out = registry.holdings(db, SYSTEM, account)
    return out.totals.status.get("held", 0)


def claimed_tonnes(db: Database, pid: str, year: int, use: str) -> int:
    c = u.usage_claims.c
    with db.read() as conn:
        q = select(func.coalesce(func.sum(c.tonnes), 0)).where(
            c.participant_id == pid, c.reporting_year == year, c.use == use
        )
        return int(conn.execute(q).scalar_one())


def test_a_voluntary_credit_without_adjustment_cannot_offset_scope1_meti_2021(
    db: Database,
) -> None:
    """METI 2021 論点③ through retire(): refused before anything moves, naming rule and source."""
    alpha = add_participant(db, "ALPHA")
    add_issuance(db, "ALPHA-MAIN", 100, scheme="VCS", category="VOLUNTARY_NATURE")
    before = head(db)
    with pytest.raises(Conflict) as e:
        retire(db, alpha, "ALPHA-MAIN", 10, "offset_scope1")
    assert e.value.code == "usage_not_allowed"
    assert "POLICY-SCOPE1" in e.value.message and "METI-2021" in e.value.message
    assert head(db) == before and held(db, "ALPHA-MAIN") == 100
    out = retire(db, alpha, "ALPHA-MAIN", 10, "offset_scope3", 2025)
    [item] = out.usage
    assert (item.purpose, item.scope, item.tonnes) == ("offset_scope3", "3", 10)
    assert item.ruleset == "tanso-default@2026.2"
    # no inventory for 2025: the hierarchy is not checked, and the answer says so
    assert [(w.rule, w.severity) for w in item.warnings] == [("HIERARCHY", "warn")]
    assert claimed_tonnes(db, "ALPHA", 2025, "offset_scope3") == 10
    assert audit.verify(db).ok


def test_re100_refuses_energy_saving_j_credits_j_credit_scheme(db: Database) -> None:
    """J-Credit scheme / RE100 through retire(): only renewable-power J-Credits."""
    alpha = add_participant(db, "ALPHA")
    add_issuance(db, "ALPHA-MAIN", 50, category="ENERGY_SAVING")
    with pytest.raises(Conflict) as e:
        retire(db, alpha, "ALPHA-MAIN", 5, "re100", 2025)
    assert "RE100-ELIGIBLE" in e.value.message
    assert held(db, "ALPHA-MAIN") == 50


def test_the_hierarchy_refuses_claims_beyond_residual_emissions_meti_2021(db: Database) -> None:
    """METI 2021 論点①: emissions 100, own reductions 30 -> at most 70 t offset for Scope 1."""
    alpha = add_participant(db, "ALPHA")
    add_issuance(db, "ALPHA-MAIN", 500)
    inventories.record(db, alpha, "ALPHA", 2025, Inventory(scope1=100, reduction_scope1=30))
    retire(db, alpha, "ALPHA-MAIN", 60, "offset_scope1", 2025)
    with pytest.raises(Conflict) as e:
        retire(db, alpha, "ALPHA-MAIN", 11, "offset_scope1", 2025)
    assert "HIERARCHY" in e.value.message and "10 t remain" in e.value.message
    retire(db, alpha, "ALPHA-MAIN", 10, "offset_scope1", 2025)
    pos = inventories.position(db, "ALPHA", 2025)
    assert pos.scopes["1"] == inventories.ScopePosition(
        emissions=100, own_reductions=30, claimed=70, residual=0
    )
    assert audit.verify(db).ok


def test_the_hierarchy_set_to_warn_lets_the_claim_through_with_a_warning(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(usage.HIERARCHY_ENV, "warn")
    alpha = add_participant(db, "ALPHA")
    add_issuance(db, "ALPHA-MAIN", 500)
    inventories.record(db, alpha, "ALPHA", 2025, Inventory(scope1=100))
    out = retire(db, alpha, "ALPHA-MAIN", 150, "offset_scope1", 2025)
    warnings = out.usage[0].warnings
    assert [w.rule for w in warnings] == ["HIERARCHY"] and not warnings[0].ok
    monkeypatch.setenv(usage.HIERARCHY_ENV, "sometimes")
    with pytest.raises(InvalidInput):
        retire(db, alpha, "ALPHA-MAIN", 1, "offset_scope1", 2025)


def test_an_shk_retirement_without_a_year_counts_toward_the_previous_fiscal_year_shk(
    db: Database,
) -> None:
    """温対法 SHK: the test clock is 5 January 2026, so FY2025."""
    alpha = add_participant(db, "ALPHA")
    add_issuance(db, "ALPHA-MAIN", 50)
    out = retire(db, alpha, "ALPHA-MAIN", 5, "shk_reporting")
    assert out.reporting_year == 2025 and out.usage[0].scope == "1+2"


def test_a_scope_that_disagrees_with_the_purpose_is_refused(db: Database) -> None:
    alpha = add_participant(db, "ALPHA")
    add_issuance(db, "ALPHA-MAIN", 50)
    with pytest.raises(Conflict) as e:
        retire(db, alpha, "ALPHA-MAIN", 5, "offset_scope1", 2025, emissions_scope="3")
    assert "USE-SCOPE" in e.value.message
    out = retire(
        db, alpha, "ALPHA-MAIN", 5, "offset_scope3", 2025, emissions_scope="3", scope3_category=6
    )
    assert inventories.claimed(db, "ALPHA", 2025)[0].scope3_category == 6
    assert out.quantity == 5
    for bad in ({"emissions_scope": "4"}, {"scope3_category": 16}, {"scope_emissions": ["1", "3"]}):
        with pytest.raises(InvalidInput):
            retire(db, alpha, "ALPHA-MAIN", 1, "offset_scope3", 2025, **bad)
    with pytest.raises(Conflict):  # the older list form is read as the scope too
        retire(db, alpha, "ALPHA-MAIN", 1, "offset_scope3", 2025, scope_emissions=["1"])
    assert held(db, "ALPHA-MAIN") == 45


def test_a_retirement_for_two_purposes_claims_its_quantity_for_each(db: Database) -> None:
    """Conservative: one tonne retired for two purposes counts against both scopes."""
    alpha = add_participant(db, "ALPHA")
    add_issuance(db, "ALPHA-MAIN", 100)
    inventories.record(db, alpha, "ALPHA", 2025, Inventory(scope1=50, scope2_location=50))
    req = registry.RetirementRequest(
        "ALPHA-MAIN",
        registry.Selection(quantity=40),
        ["offset_scope1", "offset_scope2"],
        reporting_year=2025,
    )
    registry.retire(db, alpha, req)
    pos = inventories.position(db, "ALPHA", 2025).scopes
    assert (pos["1"].claimed, pos["2"].claimed, pos["1+2"].residual) == (40, 40, 20)
    with pytest.raises(Conflict) as e:  # Scope 2 has 10 t left (and "1+2" 20)
        retire(db, alpha, "ALPHA-MAIN", 11, "offset_scope2", 2025)
    assert "HIERARCHY" in e.value.message
    retire(db, alpha, "ALPHA-MAIN", 10, "offset_scope2", 2025)


def test_gx_p2_cap_10_holds_across_many_small_retirements_gx_ets(db: Database) -> None:
    """GX-ETS Phase 2: 1-tonne surrenders stop at exactly 10% of the year's emissions."""
    gx = add_participant(db, "GXCO")
    add_issuance(db, "GXCO-MAIN", 1_000, scheme="JM", category="JCM")
    with pytest.raises(Conflict) as e:
        retire(db, gx, "GXCO-MAIN", 1, "gx_ets_surrender", 2026)
    assert "GX-P2-CAP-10" in e.value.message  # no inventory: no emissions to take 10% of
    verified_inventory(db, gx, "GXCO", 2026, Inventory(scope1=1_000))
    accepted = 0
    for _ in range(120):
        try:
            retire(db, gx, "GXCO-MAIN", 1, "gx_ets_surrender", 2026)
            accepted += 1
        except Conflict as refused:
            assert "GX-P2-CAP-10" in refused.message
    assert accepted == 100
    assert claimed_tonnes(db, "GXCO", 2026, "gx_ets_surrender") == 100
    assert held(db, "GXCO-MAIN") == 900
    assert audit.verify(db).ok


@pytest.mark.postgres
def test_gx_p2_cap_10_holds_across_concurrent_retirements_on_postgres(pg_db: Database) -> None:
    """GX-ETS Phase 2: 30 concurrent surrenders of 7 t against a 100 t cap: exactly 14 pass."""
    db = pg_db
    gx = add_participant(db, "GXCO")
    add_issuance(db, "GXCO-MAIN", 1_000)
    verified_inventory(db, gx, "GXCO", 2026, Inventory(scope1=1_000))

    def one() -> registry.RetirementReceipt | TansoError:
        try:
            return retire(db, gx, "GXCO-MAIN", 7, "gx_ets_surrender", 2026)
        except TansoError as e:
            return e

    with ThreadPoolExecutor(max_workers=30) as pool:
        results = list(pool.map(lambda _: one(), range(30)))
    ok = [r for r in results if isinstance(r, registry.RetirementReceipt)]
    failed = [r for r in results if isinstance(r, TansoError)]
    assert len(ok) == 14, [getattr(f, "message", f) for f in failed][:3]
    assert all(f.code == "usage_not_allowed" and "GX-P2-CAP-10" in f.message for f in failed)
    assert claimed_tonnes(db, "GXCO", 2026, "gx_ets_surrender") == 98
    assert held(db, "GXCO-MAIN") == 1_000 - 98
    assert audit.verify(db).ok


def test_an_operator_rule_set_takes_effect_on_its_date(db: Database) -> None:
    """The rule set in force on a date is the latest effective on or before it."""
    tighter = DOC | {"version": "2026.9", "effective_from": "2026-01-06"}
    tighter["rules"] = [
        r | {"percent": 5} if r["id"] == "GX-P2-CAP-10" else r for r in DOC["rules"]
    ]
    with pytest.raises(Forbidden):
        usage.add_ruleset(db, add_participant(db, "ALPHA"), tighter)
    usage.add_ruleset(db, SYSTEM, tighter)
    with pytest.raises(Conflict):
        usage.add_ruleset(db, SYSTEM, tighter)
    with pytest.raises(InvalidInput):
        usage.add_ruleset(db, SYSTEM, tighter | {"version": "x", "hierarchy": "perhaps"})
    assert usage.current_ruleset(db, dt.date(2026, 1, 5)).version == "2026.2"
    assert usage.current_ruleset(db, dt.date(2026, 1, 6)).version == "2026.9"
    listed = usage.list_rulesets(db, dt.date(2026, 2, 1))
    assert [(r.version, r.in_force) for r in listed] == [("2026.2", False), ("2026.9", True)]
    gx = add_participant(db, "GXCO")
    add_issuance(db, "GXCO-MAIN", 1_000)
    verified_inventory(db, gx, "GXCO", 2026, Inventory(scope1=1_000))
    retire(db, gx, "GXCO-MAIN", 60, "gx_ets_surrender", 2026)  # 5 January: 10% applies
    db.clock = lambda: "2026-01-07T03:00:00.000000Z"
    with pytest.raises(Conflict) as e:
        retire(db, gx, "GXCO-MAIN", 1, "gx_ets_surrender", 2026)  # now 5%: 50 < 60
    assert "GX-P2-CAP-10" in e.value.message and "0 t remain" in e.value.message
    assert audit.verify(db).ok


def test_evaluate_answers_without_changing_anything(db: Database) -> None:
    alpha = add_participant(db, "ALPHA")
    add_issuance(db, "ALPHA-MAIN", 500, scheme="JM", category="JCM")
    verified_inventory(db, alpha, "ALPHA", 2026, Inventory(scope1=1_000))
    before = head(db)
    out = usage.evaluate(
        db, alpha, "ALPHA-MAIN", registry.Selection(quantity=150), "gx_ets_surrender", 2026
    )
    assert not out.allowed and out.max_quantity == 100
    assert out.lots[0].scheme == "JM" and out.position["1"].residual == 1_000
    assert any(r.rule == "GX-P2-CAP-10" and not r.ok for r in out.reasons)
    assert head(db) == before
    beta = add_participant(db, "BETA")
    with pytest.raises(TansoError):
        usage.evaluate(db, beta, "ALPHA-MAIN", registry.Selection(quantity=1), "re100")


# ---------------------------------------------------------------- the property

KINDS = {
    "jc": ("JC", "ENERGY_SAVING"),
    "re": ("JC", "RE_POWER"),
    "jcm": ("JM", "JCM"),
    "vcs": ("VCS", "VOLUNTARY_NATURE"),
    "gx": ("GX", "GX_EXCESS"),
    "nf": ("NF", "NON_FOSSIL"),
}
PURPOSES = sorted(ur.parse(DOC).uses)
PEOPLE = ("PA", "PB")

step = st.one_of(
    st.tuples(
        st.just("inventory"),
        st.sampled_from(PEOPLE),
        st.sampled_from([2025, 2026]),
        st.integers(0, 3_000),
        st.integers(0, 3_000),
        st.integers(0, 3_000),
        st.integers(0, 100),
    ),
    st.tuples(
        st.just("retire"),
        st.sampled_from(PEOPLE),
        st.sampled_from(sorted(KINDS)),
        st.integers(1, 400),
        st.sampled_from(PURPOSES),
        st.sampled_from([2025, 2026, None]),
    ),
    st.tuples(st.just("advance"), st.integers(1, 60)),
)


class Model:
    """What the test itself knows: inventories recorded and claims of accepted retirements."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.day = dt.date(2026, 1, 5)
        self.n = itertools.count()
        db.clock = self.clock
        participants.bootstrap(db)
        taxonomy.seed_reference_data(db, SYSTEM)
        tighter = DOC | {"version": "2026.3", "effective_from": "2026-03-01"}
        tighter["rules"] = [
            r | {"percent": 5} if r["id"] == "GX-P2-CAP-10" else r for r in DOC["rules"]
        ]
        tighter["emission_factor_g_per_kwh"] = 500
        usage.add_ruleset(db, SYSTEM, tighter)
        self.rulesets = [ur.parse(DOC), ur.parse(tighter)]
        self.actors: dict[str, Actor] = {}
        self.accounts: dict[tuple[str, str], tuple[str, str]] = {}
        for p in PEOPLE:
            self.actors[p] = add_participant(db, p)
            for kind, (scheme, category) in KINDS.items():
                acct = participants.open_account(db, SYSTEM, kind, p).id
                iss = add_issuance(db, acct, 2_000, scheme=scheme, category=category)
                self.accounts[(p, kind)] = (acct, iss)
        self.figures: dict[tuple[str, int], ur.Figures] = {}
        self.claims: dict[tuple[str, int], list[ur.Claim]] = {}
        self.accepted = 0
        self.refused = 0

    def clock(self) -> str:
        return f"{self.day.isoformat()}T03:00:00.{next(self.n):06d}Z"

    def run(self, s: tuple[Any, ...]) -> None:
        if s[0] == "advance":
            self.day += dt.timedelta(days=s[1])
        elif s[0] == "inventory":
            _, p, year, s1, s2, s3, red = s
            inv = Inventory(
                scope1=s1,
                scope2_location=s2,
                scope3_categories={1: s3},
                reduction_scope1=s1 * red // 100,
                purchased_electricity_kwh=s2 * 2_000,
            )
            verified_inventory(self.db, self.actors[p], p, year, inv)
            self.figures[(p, year)] = ur.Figures(
                verified=True,
                scope1=s1,
                scope2_location=s2,
                scope3=s3,
                scope3_categories={1: s3},
                reduction_scope1=inv.reduction_scope1,
                purchased_electricity_kwh=inv.purchased_electricity_kwh,
            )
        else:
            self.retire(*s[1:])

    def retire(self, p: str, kind: str, quantity: int, purpose: str, year: int | None) -> None:
        acct, iss = self.accounts[(p, kind)]
        before = head(self.db)
        try:
            out = retire(self.db, self.actors[p], acct, quantity, purpose, year)
        except TansoError as e:
            assert head(self.db) == before, "a refused retirement changed something"
            self.refused += 1
            if e.code == "usage_not_allowed":
                assert not self.verdict(p, kind, quantity, purpose, year or 0, iss).allowed
            return
        self.accepted += 1
        y = out.reporting_year
        verdict = self.verdict(p, kind, quantity, purpose, y, iss)
        assert verdict.allowed, (p, kind, quantity, purpose, y, self.day, verdict.refusal)
        rs = ur.in_force(self.rulesets, self.day)
        assert rs is not None and out.usage[0].ruleset == rs.label
        scheme, _ = KINDS[kind]
        unit = "kWh" if scheme == "NF" else "tCO2"
        tonnes = ur.tonnes_of(unit, quantity, rs.emission_factor_g_per_kwh)
        self.claims.setdefault((p, y), []).append(
            ur.Claim(purpose, rs.uses[purpose].scope, quantity, tonnes, unit)
        )

    def verdict(
        self, p: str, kind: str, quantity: int, purpose: str, year: int, iss: str
    ) -> ur.Decision:
        rs = ur.in_force(self.rulesets, self.day)
        assert rs is not None
        if not year:
            year = ur.shk_year(self.day) if purpose == "shk_reporting" else self.day.year
        scheme, category = KINDS[kind]
        lot = ur.Lot(
            iss,
            quantity,
            scheme,
            category,
            unit="kWh" if scheme == "NF" else "tCO2",
            domestic=scheme in ("JC", "GX", "NF"),
            vintage=2022,  # add_issuance's
        )
        ctx = ur.Context(self.figures.get((p, year)), tuple(self.claims.get((p, year), ())))
        return ur.evaluate(rs, [lot], ur.Use(purpose, year, self.day), ctx)


_dirs = itertools.count()


def run_model(backend: str, request: pytest.FixtureRequest, tmp: Path, steps: list[Any]) -> Model:
    db = fresh_database(backend, request, tmp)
    try:
        model = Model(db)
        for s in steps:
            model.run(s)
        assert audit.verify(db).ok
        return model
    finally:
        db.dispose()


COMMON: dict[str, Any] = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
}


@settings(max_examples=25, **COMMON)
@given(steps=st.lists(step, min_size=1, max_size=25))
def test_no_accepted_retirement_violates_the_rule_set_in_force_on_its_date_sqlite(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, steps: list[Any]
) -> None:
    run_model("sqlite", request, tmp_path_factory.mktemp(f"u{next(_dirs)}"), steps)


@pytest.mark.full  # the PostgreSQL form; its SQLite form runs in both tiers
@settings(max_examples=6, **COMMON)
@given(steps=st.lists(step, min_size=1, max_size=25))
def test_no_accepted_retirement_violates_the_rule_set_in_force_on_its_date_postgres(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, steps: list[Any]
) -> None:
    run_model("postgres", request, tmp_path_factory.mktemp(f"u{next(_dirs)}"), steps)


def test_a_fixed_sequence_exercises_acceptance_and_refusal(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A guard that the random runs can reach both outcomes."""
    steps = [
        ("inventory", "PA", 2026, 1_000, 500, 800, 10),
        ("retire", "PA", "jcm", 100, "gx_ets_surrender", 2026),  # 10% of 1,000
        ("retire", "PA", "jcm", 1, "gx_ets_surrender", 2026),  # cap reached
        ("retire", "PA", "vcs", 50, "offset_scope1", 2026),  # not without adjustment
        ("retire", "PA", "vcs", 50, "offset_scope3", 2026),
        ("retire", "PA", "nf", 100_000 // 434, "offset_scope2", 2026),
        ("advance", 60),  # March: the 5% rule set
        ("retire", "PB", "re", 10, "re100", 2025),
    ]
    model = run_model("sqlite", request, tmp_path_factory.mktemp("fixed"), steps)
    assert (model.accepted, model.refused) == (4, 2)


def test_a_retirement_by_quantity_takes_the_oldest_credits_its_use_allows(db: Database) -> None:
    """Issue 18, defect 11: an RE100 retirement of 100 t was refused because the oldest credits
    held were J-VER 2013; it takes the oldest renewable-power credits instead."""
    alpha = add_participant(db, "ALPHA")
    add_issuance(db, "ALPHA-MAIN", 300, vintage=2013, scheme="JV", category="JVER")
    add_issuance(db, "ALPHA-MAIN", 150, vintage=2021, category="RE_POWER")
    out = retire(db, alpha, "ALPHA-MAIN", 100, "re100", 2025)
    assert [(u.purpose, u.tonnes) for u in out.usage] == [("re100", 100)]
    assert held(db, "ALPHA-MAIN") == 350  # the J-VER credits stay
    with pytest.raises(Conflict) as short:
        retire(db, alpha, "ALPHA-MAIN", 100, "re100", 2025)
    assert short.value.code == "insufficient_credits"
    assert "holds 50 eligible credits but 100 were asked for" in short.value.message
