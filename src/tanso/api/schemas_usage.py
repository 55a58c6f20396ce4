"""Request bodies of the usage capability: inventories, evaluation, rule sets."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from tanso.api.schemas import Body, Id, Out, SelectionIn
from tanso.api.schemas_registry import JournalHead, Verification

Tonnes = Field(default=0, ge=0, le=10**12)


class InventoryIn(Body):
    """One year's inventory (t-CO2e; energy in kWh). Scope 3 by GHG Protocol category "1".."15"."""

    scope1: int = Tonnes
    scope2_location: int = Tonnes
    scope2_market: int = Tonnes
    scope3_categories: dict[str, int] = Field(default_factory=dict, max_length=15)
    reduction_scope1: int = Tonnes
    reduction_scope2: int = Tonnes
    reduction_scope3: int = Tonnes
    target_scope12: int | None = Field(default=None, ge=0, le=10**12)
    target_scope3: int | None = Field(default=None, ge=0, le=10**12)
    purchased_electricity_kwh: int = Tonnes
    purchased_heat_kwh: int = Tonnes
    note: str = Field(default="", max_length=2000)


class InventoryCsvIn(Body):
    """An inventory CSV (header row first; see docs/usage-rules.md for the columns)."""

    csv: str = Field(min_length=1, max_length=2_000_000)


class EvaluateIn(SelectionIn):
    """Which credits of an account (a quantity, oldest first, or a serial range) for which use."""

    account_id: str = Id
    purpose: str = Field(min_length=1, max_length=40)
    reporting_year: int | None = Field(default=None, ge=1990, le=2100)
    emissions_scope: Literal["1", "2", "3"] | None = None
    scope3_category: int | None = Field(default=None, ge=1, le=15)


# ---------------------------------------------------------------- answers: inventories


class InventoryRecord(Out):
    """One year's emissions inventory as recorded (t-CO2e; energy in kWh)."""

    participant_id: str
    reporting_year: int
    scope1: int
    scope2_location: int
    scope2_market: int
    scope3: int
    scope3_categories: dict[str, int]
    reduction_scope1: int
    reduction_scope2: int
    reduction_scope3: int
    target_scope12: int | None
    target_scope3: int | None
    purchased_electricity_kwh: int
    purchased_heat_kwh: int
    note: str
    updated_at: str
    journal_seq: int


class ScopePosition(Out):
    """Emissions (null without an inventory), own reductions, credits claimed, residual."""

    emissions: int | None
    own_reductions: int
    claimed: int
    residual: int | None


class InventoryClaim(Out):
    """Credits a retirement claims against the year."""

    use: str
    scope: str
    scope3_category: int | None
    unit: str
    quantity: int
    tonnes: int


class InventoryPosition(InventoryRecord):
    """An inventory with its hierarchy position by scope ("1", "2", "3", "1+2") and the claims
    made by retirements."""

    position: dict[str, ScopePosition]
    claims: list[InventoryClaim]


class InventoryImport(Out):
    imported: int
    inventories: list[InventoryRecord]


# ---------------------------------------------------------------- answers: usage rules


class Finding(Out):
    """A rule's finding: the rule, its source, whether it passes and how much that matters."""

    rule: str
    source: str
    ok: bool
    severity: str
    message: str


class EvaluatedLot(Out):
    issuance_id: str
    quantity: int
    scheme: str
    category: str
    unit: str
    ca_status: str
    vintage: int


class UseEvaluation(Out):
    """May these credits be used for this purpose: the decision, its reasons, the largest
    quantity allowed, and the reporting year's position."""

    allowed: bool
    quantity: int
    max_quantity: int
    tonnes: int
    scope: str
    ruleset: str
    reasons: list[Finding]
    purpose: str
    reporting_year: int | None
    date: str
    account_id: str
    lots: list[EvaluatedLot]
    position: dict[str, ScopePosition] | None = None


class RuleSource(Out):
    title_en: str
    title_ja: str
    url: str


class UseScope(Out):
    scope: str


class Rule(Out):
    """A usage rule; which parameters it has depends on its `kind` (docs/usage-rules.md)."""

    id: str
    kind: str
    source: str
    uses: list[str]
    text: str
    allow_any: list[dict[str, Any]] | None = None
    match: dict[str, Any] | None = None
    units: list[str] | None = None
    basis: list[str] | None = None
    percent: int | None = None
    counts_uses: list[str] | None = None
    requires_inventory: bool | None = None
    deadline: str | None = None
    severity: str | None = None
    years: list[int | None] | None = None


class RuleSet(Out):
    """A usage rule set, shipped or added by the operator; `in_force` on the date asked."""

    id: str
    version: str
    effective_from: str
    title: str
    title_ja: str
    origin: str
    in_force: bool
    hierarchy: str
    emission_factor_g_per_kwh: int
    sources: dict[str, RuleSource]
    uses: dict[str, UseScope]
    rules: list[Rule]


class RuleSetInForce(RuleSet):
    date: str


# ---------------------------------------------------------------- answers: certificates, claims


class Named(Out):
    code: str
    name_en: str
    name_ja: str


class PartyNames(Out):
    name_en: str
    name_ja: str


class CertifiedRange(Out):
    """A retired serial range with every attribute of its credits, named in both languages."""

    serials: str
    issuance_id: str
    serial_start: int
    serial_end: int
    quantity: int
    scheme: Named
    unit: str
    category: Named
    project_id: str
    project_name: str
    project_name_ja: str
    country: str
    mechanism: str
    nature: str
    credit_type: Named
    round: str
    vintage: int
    certified_on: str
    properties: list[Named]
    evaluation_axes: list[Named]
    co_benefits: list[str]
    ca_declaration: str
    ca_status: str
    origin: str
    external_registry: str | None
    external_ref: str | None


class EntryRef(Out):
    seq: int
    kind: str | None
    at: str | None
    hash: str | None
    prev_hash: str | None


class EntryCheck(Out):
    check: str
    ok: bool
    problems: list[str]


class AuditRecord(Verification):
    """A full audit of the journal as recorded, through which entry."""

    through_seq: int
    at: str | None = None


class EntryVerification(Out):
    retirement_id: str
    journal_seq: int
    verified: bool
    checks: list[EntryCheck]
    head: JournalHead | None
    last_audit: AuditRecord | None


class Certificate(Out):
    """A retirement's certificate: the retirement, every attribute of its credits, its journal
    entry and whether that entry verifies."""

    certificate_id: str
    retirement_id: str
    beneficiary: str
    retired_by: PartyNames
    purposes: list[Named]
    scope: str
    reporting_year: int | None
    quantity: int
    retired_at: str
    note: str
    ranges: list[CertifiedRange]
    journal: EntryRef
    verify_path: str
    verification: EntryVerification
    verify_url: str


class ClaimParticipant(Out):
    id: str
    name_en: str
    name_ja: str


class ScopeBalance(Out):
    """Emissions, own reductions, residual, covered by admitted credits, remaining uncovered;
    null where there is no inventory for the year."""

    emissions: int | None
    own_reductions: int
    residual: int | None
    covered: int
    remaining: int | None


class ScopeClaims(ScopeBalance):
    scope: str
    not_admitted: int


class Tally(Out):
    """A quantity retired under one code (scheme, category, property, vintage ...)."""

    code: str
    quantity: int
    name_en: str | None = None
    name_ja: str | None = None
    unit: str | None = None


class Retired(Out):
    total: int
    count: int
    by_scheme: list[Tally]
    by_category: list[Tally]
    by_property: list[Tally]
    by_vintage: list[Tally]
    by_ca_status: list[Tally]
    by_unit: list[Tally]


class ClaimedUse(Out):
    purpose: str
    scope: str
    quantity: int
    tonnes: int


class ClaimedCredits(Out):
    code: str
    scheme: Named
    category: Named
    quantity: int


class ClaimedRetirement(Out):
    id: str
    certificate_id: str
    verify_path: str
    retired_at: str
    quantity: int
    purposes: list[Named]
    beneficiary: str
    uses: list[ClaimedUse]
    schemes: list[str]
    credits: list[ClaimedCredits]


class VoluntaryCredits(Out):
    project_id: str
    project_name: str
    project_name_ja: str
    scheme: Named
    ca_status: str
    evaluation_axes: list[Named]
    quantity: int


class Claim(Out):
    """A claim the data supports (`allowed`) or not (`reason`), worded in both languages."""

    code: str
    allowed: bool
    reason: str
    params: dict[str, Any]
    text_en: str
    reason_en: str
    text_ja: str
    reason_ja: str


class ClaimReport(Out):
    """A participant's offset claim report for a reporting year."""

    participant: ClaimParticipant
    reporting_year: int
    rulesets: list[str]
    inventory: InventoryRecord | None
    scopes: list[ScopeClaims]
    totals: ScopeBalance
    retired: Retired
    retirements: list[ClaimedRetirement]
    voluntary: list[VoluntaryCredits]
    evaluation_axes: list[Tally]
    claims: list[Claim]
