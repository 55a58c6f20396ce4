"""Answers of the registry's routes: participants and their keys, accounts and holdings, the
taxonomy, issuance and the movements of credits, cash, the journal, and operations."""

from __future__ import annotations

from pydantic import Field

from tanso.api.schemas import Out

# ---------------------------------------------------------------- operations


class Health(Out):
    """The server is up."""

    status: str
    version: str


class Readiness(Out):
    """Ready for traffic (`ready`); a 503 names its `reasons`."""

    status: str
    reasons: list[str] | None = None


class AccessLogEntry(Out):
    id: int
    at: str
    kind: str
    subject: str
    participant_id: str
    ip: str | None
    outcome: str
    detail: str


class AccessLogPage(Out):
    """A page of the access log, newest first; `next_before` asks for the next page."""

    entries: list[AccessLogEntry]
    next_before: int | None


# ---------------------------------------------------------------- participants


class Participant(Out):
    """A participant (参加者) with its roles and status."""

    id: str
    name_ja: str
    name_en: str
    kind: str
    corporate_number: str | None
    roles: list[str]
    gx_league: bool
    status: str
    created_at: str


class NewParticipant(Participant):
    """A registered participant and the holding accounts opened for it."""

    accounts: list[str]


class ApiKey(Out):
    id: str
    participant_id: str
    roles: list[str]
    label: str
    created_at: str
    revoked_at: str | None = None


class NewApiKey(ApiKey):
    """A new API key; `key` is shown only this once."""

    key: str


class ApiKeyRevocation(Out):
    id: str
    revoked: bool


class BrokerAuthorisation(Out):
    """A broker allowed to act for the client participant."""

    client_id: str
    broker_id: str
    granted_at: str
    revoked_at: str | None


class BrokerChange(Out):
    client_id: str
    broker_id: str
    authorised: bool


# ---------------------------------------------------------------- accounts and holdings


class Account(Out):
    """A holding account (保有口座), or a system account for the operator."""

    id: str
    participant_id: str
    kind: str
    name: str
    created_at: str


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


class Range(Out):
    """A serial range of one issuance."""

    issuance_id: str
    serial_start: int
    serial_end: int
    serials: str
    quantity: int
    vintage: int


class Issuance(Out):
    id: str
    project_id: str
    credit_type: str
    round: str
    vintage: int
    certified_on: str
    quantity: int
    ca_declaration: str
    ca_status: str
    origin: str
    external_registry: str | None
    serials: str


class IssuanceReceipt(Out):
    """Credits issued into an account."""

    issuance_id: str
    project_id: str
    vintage: int
    round: str
    quantity: int
    account_id: str
    serials: str
    scheme: str
    category: str
    ca_declaration: str
    ca_status: str


class Deposit(IssuanceReceipt):
    """Credits recorded as arriving from an external registry."""

    external_registry: str
    external_ref: str


class Redeposit(Out):
    """Withdrawn credits recorded as returned."""

    account_id: str
    external_ref: str
    ranges: list[Range]
    quantity: int


class Withdrawal(Out):
    id: str
    account_id: str
    external_registry: str
    external_account: str
    quantity: int
    ranges: list[Range]


class Transfer(Out):
    id: str
    from_account: str
    to_account: str
    quantity: int
    ranges: list[Range]
    at: str
    broker: str | None = None


class Cancellation(Out):
    """Credits cancelled (取消)."""

    id: str
    account_id: str
    reason: str
    quantity: int
    ranges: list[Range]


class Freeze(Out):
    serials: str
    accounts: list[str]
    frozen: bool
    reason: str


class UsageWarning(Out):
    """A usage rule's finding: the rule, its source, and what it says."""

    rule: str
    source: str
    ok: bool
    severity: str
    message: str


class RetirementUse(Out):
    purpose: str
    scope: str
    tonnes: int
    ruleset: str
    warnings: list[UsageWarning]


class RetirementReceipt(Out):
    """Credits retired (無効化), with the usage rules' warnings and the journal entry."""

    id: str
    account_id: str
    participant_id: str
    quantity: int
    purposes: list[str]
    beneficiary: str
    reporting_year: int | None
    note: str
    ranges: list[Range]
    retired_at: str
    usage: list[RetirementUse]
    journal_seq: int
    journal_hash: str
    broker: str | None = None


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


class CashBalance(Out):
    """A cash account in integer minor units: balance, reserved and available."""

    id: str
    participant_id: str | None
    currency: str
    balance: int
    reserved: int
    available: int
    display: str
    journal_seq: int | None = None


class CashMovement(Out):
    id: int
    journal_seq: int
    currency: str
    amount: int
    counterparty: str
    memo: str
    external_ref: str | None


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
