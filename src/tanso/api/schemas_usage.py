"""Request bodies of the usage capability: inventories, evaluation, rule sets."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from tanso.api.schemas import Body, Id, Out, SelectionIn, answer
from tanso.api.schemas_registry import UsageWarning
from tanso.domain import claims as domain_claims
from tanso.services.compliance import certificates, claims, inventories, usage
from tanso.web.documents import claims as claim_document

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


ScopePosition = answer(inventories.ScopePosition)


InventoryClaim = answer(inventories.ClaimedTonnes, "InventoryClaim")


class InventoryPosition(InventoryRecord):
    """An inventory with its hierarchy position by scope ("1", "2", "3", "1+2") and the claims
    made by retirements."""

    position: dict[str, ScopePosition]
    claims: list[InventoryClaim]


class InventoryImport(Out):
    imported: int
    inventories: list[InventoryRecord]


# ---------------------------------------------------------------- answers: usage rules


Finding = UsageWarning


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


RuleSet = answer(
    usage.RuleSetView,
    "RuleSet",
    sources=dict[str, RuleSource],
    uses=dict[str, UseScope],
    rules=list[Rule],
)


RuleSetInForce = RuleSet


# ---------------------------------------------------------------- answers: certificates, claims


Named = answer(certificates.Term, "Named")


PartyNames = answer(certificates.Names, "PartyNames")


CertifiedRange = answer(certificates.CertifiedRange)


EntryRef = answer(certificates.JournalRef, "EntryRef")


EntryCheck = answer(certificates.Check, "EntryCheck")


AuditRecord = answer(certificates.AuditRecord)
AuditResult = answer(certificates.AuditResult)


EntryVerification = answer(certificates.EntryCheck, "EntryVerification")


Certificate = answer(certificates.Certificate)


ClaimParticipant = answer(claims.Party, "ClaimParticipant")


ScopeBalance = answer(claims.Totals, "ScopeBalance")


ScopeClaims = answer(domain_claims.ScopeLine, "ScopeClaims")


Tally = answer(claims.Tally)


Retired = answer(claims.Retired)


ClaimedUse = answer(claims.ClaimedUse)


ClaimedCredits = answer(claims.ClaimedCredits)


ClaimedRetirement = answer(claims.ClaimedRetirement)


VoluntaryCredits = answer(claims.VoluntaryCredits)


Claim = answer(claim_document.WordedClaim, "Claim")


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
