"""Answers of the registry's routes: participants and their keys, accounts and holdings, the
taxonomy, issuance and the movements of credits, cash, the journal, and operations."""

from __future__ import annotations

from pydantic import Field

from tanso.api.schemas import Out, answer
from tanso.domain import usage_rules
from tanso.services.access import access_log
from tanso.services.ledger import blocks, cash, participants, registry, taxonomy
from tanso.services.venues import sealed_auctions

# ---------------------------------------------------------------- operations


class Health(Out):
    """The server is up."""

    status: str
    version: str


class Readiness(Out):
    """Ready for traffic (`ready`); a 503 names its `reasons`."""

    status: str
    reasons: list[str] | None = None


AccessLogEntry = answer(access_log.AccessEntry, "AccessLogEntry")


AccessLogPage = answer(access_log.AccessPage, "AccessLogPage")


# ---------------------------------------------------------------- participants


Participant = answer(participants.Participant)


NewParticipant = answer(participants.RegisteredParticipant, "NewParticipant")


ApiKey = answer(participants.ApiKey)


class NewApiKey(Out):
    """A new API key; `key` is shown only this once."""

    id: str
    participant_id: str
    roles: list[str]
    scopes: list[str]
    label: str
    created_at: str
    key: str


ApiKeyRevocation = answer(participants.ApiKeyRevocation)


BrokerAuthorisation = answer(participants.BrokerAuthorisation)


BrokerChange = answer(participants.BrokerChange)


# ---------------------------------------------------------------- accounts and holdings


Account = answer(participants.Account)


HoldingsTotals = answer(registry.HoldingsTotals)


Block = answer(registry.HeldBlock, "Block")


Holdings = answer(registry.Holdings)


# ---------------------------------------------------------------- taxonomy


class Scheme(Out):
    code: str
    name_en: str
    name_ja: str
    unit: str
    domestic: bool
    properties: list[str]


class Category(Out):
    """A category; `tse` marks TSE's trading categories (売買区分)."""

    code: str
    scheme: str | None
    name_en: str
    name_ja: str
    tse: bool


class Term(Out):
    """A term of a vocabulary (purposes, credit types, properties, evaluation axes)."""

    code: str
    name_en: str
    name_ja: str
    scope: str | None = None


class Properties(Out):
    properties: list[Term]
    evaluation_axes: list[Term]


Project = answer(taxonomy.Project)


# ---------------------------------------------------------------- registry operations


Range = answer(blocks.CreditRange, "Range")


Issuance = answer(registry.Issuance)


IssuanceReceipt = answer(registry.IssuanceReceipt)


Deposit = IssuanceReceipt


Redeposit = answer(registry.Redeposit)


Withdrawal = answer(registry.Withdrawal)


Transfer = answer(registry.Transfer)


Cancellation = answer(registry.Cancellation)


Freeze = answer(registry.Freeze)


UsageWarning = answer(usage_rules.Reason, "UsageWarning")


RetirementReceipt = answer(registry.RetirementReceipt)


RetirementCheck = answer(registry.RetirementCheck)


RetiredRange = answer(registry.RetiredRange)


JournalRef = answer(registry.JournalRef)


Retirement = answer(registry.RetirementNotice, "Retirement")


# ---------------------------------------------------------------- cash and journal


CashBalance = answer(cash.CashAccount, "CashBalance")


CashMovement = answer(cash.CashMovement)


JournalEntry = answer(sealed_auctions.JournalEntry)


class Verification(Out):
    """The hash chain and every balance recomputed from the journal."""

    ok: bool
    entries: int
    head_hash: str | None
    first_bad_seq: int | None
    problems: list[str] = Field(default_factory=list)
