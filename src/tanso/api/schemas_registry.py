"""Answers of the registry's routes: participants and their keys, accounts and holdings, the
taxonomy, issuance and the movements of credits, cash, the journal, and operations."""

from __future__ import annotations

from pydantic import Field

from tanso.api.schemas import Out, answer
from tanso.domain import usage_rules
from tanso.services.access import access_log
from tanso.services.ledger import blocks, cash, participants, registry

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
    label: str
    created_at: str
    key: str


ApiKeyRevocation = answer(participants.ApiKeyRevocation)


BrokerAuthorisation = answer(participants.BrokerAuthorisation)


BrokerChange = answer(participants.BrokerChange)


# ---------------------------------------------------------------- accounts and holdings


Account = answer(participants.Account)


class HoldingsTotals(Out):
    """Quantities by scheme, category, vintage and status."""

    scheme: dict[str, int]
    category: dict[str, int]
    vintage: dict[str, int]
    status: dict[str, int]


class CreditAttributes(Out):
    """What the credits of a serial range are: their issuance's and project's attributes."""

    vintage: int
    round: str
    credit_type: str
    certified_on: str
    ca_declaration: str
    ca_status: str
    project_id: str
    project_name: str
    scheme: str
    category: str
    country: str
    mechanism: str
    nature: str
    properties: list[str]


class Block(CreditAttributes):
    """A block of serials in one status, with its credits' attributes."""

    id: int
    serials: str
    issuance_id: str
    serial_start: int
    serial_end: int
    quantity: int
    status: str
    reservation: str | None


class Holdings(Out):
    """An account's credits: totals, then its blocks (`next_after` pages through them)."""

    account_id: str
    participant_id: str
    kind: str
    total: int
    totals: HoldingsTotals
    blocks: list[Block]
    next_after: int | None


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


class ProjectFacts(Out):
    """A project's registered facts."""

    id: str
    scheme: str
    name: str
    name_ja: str
    country: str
    region: str
    developer: str
    methodology: str
    category: str
    mechanism: str
    nature: str
    properties: list[str]
    evaluation_axes: list[str]
    co_benefits: list[str]


class Project(ProjectFacts):
    created_at: str


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


class RetiredRange(CreditAttributes):
    """A retired serial range with every attribute of its credits."""

    id: str
    serials: str
    quantity: int


class JournalHead(Out):
    """A journal entry's number and hash."""

    seq: int
    hash: str


class JournalRef(Out):
    """The journal entry that recorded something."""

    seq: int
    hash: str | None


class Retirement(Out):
    """A retirement as anyone may verify it."""

    id: str
    verify_path: str
    quantity: int
    purposes: list[str]
    scope: str
    beneficiary: str
    reporting_year: int | None
    note: str
    retired_at: str
    retired_by: str | None
    retired_by_ja: str | None
    ranges: list[RetiredRange]
    journal: JournalRef


# ---------------------------------------------------------------- cash and journal


CashBalance = answer(cash.CashAccount, "CashBalance")


CashMovement = answer(cash.CashMovement)


class JournalEntry(Out):
    """A journal entry; `sealed` bids show no bidder and no amount until their auction clears."""

    seq: int
    at: str
    kind: str
    actor: str
    payload: str
    prev_hash: str
    hash: str
    sealed: bool | None = None


class Verification(Out):
    """The hash chain and every balance recomputed from the journal."""

    ok: bool
    entries: int
    head_hash: str | None
    first_bad_seq: int | None
    problems: list[str] = Field(default_factory=list)
