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


class EvaluateIn(SelectionIn):
    """Which credits of an account (a quantity, oldest first, or a serial range) for which use."""

    account_id: str = Id
    purpose: str = Field(min_length=1, max_length=40)
    reporting_year: int | None = Field(default=None, ge=1990, le=2100)
    emissions_scope: Literal["1", "2", "3"] | None = None
    scope3_category: int | None = Field(default=None, ge=1, le=15)


# ---------------------------------------------------------------- answers: inventories


InventoryRecord = answer(inventories.InventoryView, "InventoryRecord")


ScopePosition = answer(inventories.ScopePosition)


InventoryClaim = answer(inventories.ClaimedTonnes, "InventoryClaim")


InventoryPosition = answer(inventories.InventoryPosition)


InventoryImport = answer(inventories.InventoryImport)


# ---------------------------------------------------------------- answers: usage rules


Finding = UsageWarning


EvaluatedLot = answer(usage.EvaluatedLot)


UseEvaluation = answer(usage.UseEvaluation)


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


ClaimReport = answer(claims.ClaimReport, claims=list[Claim])
