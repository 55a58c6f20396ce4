"""Registry operations: issue, deposit, withdraw, transfer, retire (無効化), cancel (取消),
reserve, release, freeze. Each is one transaction with one journal entry; a failure moves nothing.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Connection, select

from tanso.domain import escrow as es
from tanso.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from tanso.domain.instruments import Eligibility
from tanso.domain.participants import Role
from tanso.domain.registry import (
    FINAL_STATUSES,
    SYSTEM_ACCOUNTS,
    AccountKind,
    BlockStatus,
    Piece,
    check_quantity,
    take_quantity,
    take_range,
)
from tanso.domain.serials import (
    check_prefix,
    issuance_prefix,
    parse_block,
)
from tanso.domain.usage_rules import Reason
from tanso.services.clearing import escrow
from tanso.services.common import (
    Actor,
    Idem,
    execute,
    from_row,
    loader,
    omitted,
    own_account,
    plain,
    require,
    require_active,
)
from tanso.services.common import JournalRef as JournalRef
from tanso.services.compliance import usage
from tanso.services.compliance.usage import PurposeUse
from tanso.services.ledger import allowances
from tanso.services.ledger.blocks import CreditRange, credit_ranges, take
from tanso.services.ledger.blocks import Selection as Selection
from tanso.services.ledger.blocks import move as move
from tanso.services.ledger.blocks import plan as plan
from tanso.services.ledger.blocks import ranges_view as ranges_view
from tanso.services.removals import buffer
from tanso.store import repo, schema_cycle
from tanso.store import schema as t
from tanso.store.db import Database, Tx, loads

CA_DECLARATIONS = ("committed", "not_required", "unknown")
CA_STATUSES = ("not_started", "pending", "completed")
MAX_TEXT = 2000


@dataclass(frozen=True, slots=True)
class IssuanceReceipt:
    """Credits issued into an account, or deposited from an external registry (which then
    names that registry and its reference)."""

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
    external_registry: str | None = omitted()
    external_ref: str | None = omitted()
    buffer_serials: str | None = omitted()
    """The serials of a removal issuance that went to its scheme's buffer pool (issue 21)."""
    buffer_quantity: int | None = omitted()
    delivered: int | None = omitted()
    """Tonnes delivered at once under forward offtake contracts."""


@dataclass(frozen=True, slots=True)
class Redeposit:
    """Withdrawn credits recorded as returned."""

    account_id: str
    external_ref: str
    ranges: list[CreditRange]
    quantity: int


@dataclass(frozen=True, slots=True)
class Withdrawal:
    """Credits sent to an account in an external registry."""

    id: str
    account_id: str
    external_registry: str
    external_account: str
    quantity: int
    ranges: list[CreditRange]


@dataclass(frozen=True, slots=True)
class Transfer:
    """Credits moved between holding accounts; ``broker`` when an agent moved them."""

    id: str
    from_account: str
    to_account: str
    quantity: int
    ranges: list[CreditRange]
    at: str
    broker: str | None = omitted()


@dataclass(frozen=True, slots=True)
class RetirementReceipt:
    """Credits retired (無効化), with the usage rules' findings and the journal entry."""

    id: str
    account_id: str
    participant_id: str
    quantity: int
    purposes: list[str]
    beneficiary: str
    reporting_year: int
    note: str
    ranges: list[CreditRange]
    retired_at: str
    usage: list[PurposeUse]
    broker: str | None = omitted()
    journal_seq: int | None = omitted()
    journal_hash: str | None = omitted()


@dataclass(frozen=True, slots=True)
class Cancellation:
    """Credits cancelled (取消)."""

    id: str
    account_id: str
    reason: str
    quantity: int
    ranges: list[CreditRange]


@dataclass(frozen=True, slots=True)
class CreditsReserved:
    reservation: str
    account_id: str
    quantity: int
    ranges: list[CreditRange]


@dataclass(frozen=True, slots=True)
class CreditsReleased:
    reservation: str
    quantity: int
    ranges: list[CreditRange]


@dataclass(frozen=True, slots=True)
class Freeze:
    serials: str
    accounts: list[str]
    frozen: bool
    reason: str


@dataclass(frozen=True, slots=True)
class Issuance:
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


def _journal(view: Any, moves: list[list[Any]]) -> dict[str, Any]:
    """An operation's journal payload: its answer and the moves it made."""
    payload: dict[str, Any] = plain(view)
    return payload | {"moves": moves}


def _holding(conn: Connection, actor: Actor, account_id: str) -> Any:
    row = own_account(conn, actor, account_id, write=True)
    if row.kind != AccountKind.HOLDING.value:
        raise Forbidden("not_a_holding_account", f"Account {account_id} is a system account.")
    return row


def _text(value: str, name: str, limit: int = MAX_TEXT) -> str:
    if len(value) > limit:
        raise InvalidInput("text_too_long", f"{name} may be at most {limit} characters.")
    return value


def _external(registry: str, name: str, value: str, missing: str) -> None:
    """An external registry and what names the credits there (``name``: an account, a
    reference): both given (else ``missing`` says what is), neither too long."""
    _text(registry, "external_registry", 200)
    _text(value, name, 200)
    if not registry.strip() or not value.strip():
        raise InvalidInput("external_reference_required", missing)


# ---------------------------------------------------------------- issuance and deposits


@dataclass(frozen=True, slots=True)
class NewIssuance:
    project_id: str
    credit_type: str
    round: str
    vintage: int
    quantity: int
    account_id: str
    certified_on: str = ""
    ca_declaration: str = "not_required"
    ca_status: str = "not_started"


def _check_issuance(n: NewIssuance) -> None:
    check_quantity(n.quantity)
    if not 1990 <= n.vintage <= 2100:
        raise InvalidInput("invalid_vintage", "vintage is a year between 1990 and 2100.")
    if n.ca_declaration not in CA_DECLARATIONS:
        raise InvalidInput(
            "invalid_ca_declaration", f"ca_declaration is one of {', '.join(CA_DECLARATIONS)}."
        )
    if n.ca_status not in CA_STATUSES:
        raise InvalidInput("invalid_ca_status", f"ca_status is one of {', '.join(CA_STATUSES)}.")
    if n.certified_on:
        try:
            dt.date.fromisoformat(n.certified_on)
        except ValueError:
            raise InvalidInput(
                "invalid_date", "certified_on is a date such as 2024-03-31."
            ) from None


def check_issuance(n: NewIssuance) -> None:
    """Refuse an issuance whose quantity, vintage, corresponding adjustment or date is wrong
    (before any transaction: an issuer other than the operator checks the same)."""
    _check_issuance(n)


def create_issuance(
    tx: Tx, n: NewIssuance, origin: str, external: tuple[str, str] | None
) -> IssuanceReceipt:
    conn = tx.conn
    project = repo.get_project(conn, n.project_id)
    if project is None:
        raise NotFound("project_not_found", f"There is no project {n.project_id}.")
    if repo.get_term(conn, "credit_type", n.credit_type) is None:
        raise InvalidInput("unknown_credit_type", f"{n.credit_type!r} is not a known credit type.")
    account = repo.get_account(conn, n.account_id)
    if account is None or account.kind != AccountKind.HOLDING.value:
        raise NotFound("account_not_found", f"There is no holding account {n.account_id}.")
    require_active(conn, Actor(account.participant_id))
    issuance_id = issuance_prefix(project.scheme, n.credit_type, project.id, n.round)
    if repo.get_issuance(conn, issuance_id) is not None:
        raise Conflict("issuance_exists", f"Issuance {issuance_id} already exists.")
    repo.insert_row(
        conn,
        t.issuances,
        id=issuance_id,
        project_id=project.id,
        credit_type=n.credit_type,
        round=n.round,
        vintage=n.vintage,
        certified_on=n.certified_on or tx.at[:10],
        quantity=n.quantity,
        ca_declaration=n.ca_declaration,
        ca_status=n.ca_status,
        origin=origin,
        external_registry=external[0] if external else None,
        external_ref=external[1] if external else None,
        journal_seq=tx.next_seq(),
    )
    repo.insert_block(conn, issuance_id, 1, n.quantity, n.account_id, BlockStatus.HELD, n.vintage)
    repo.insert_row(
        conn,
        t.credit_movements,
        journal_seq=tx.next_seq(),
        kind=origin,
        ref=issuance_id,
        issuance_id=issuance_id,
        serial_start=1,
        serial_end=n.quantity,
        from_account=None,
        to_account=n.account_id,
    )
    return IssuanceReceipt(
        issuance_id=issuance_id,
        project_id=project.id,
        vintage=n.vintage,
        round=n.round,
        quantity=n.quantity,
        account_id=n.account_id,
        serials=f"{issuance_id}-1-{n.quantity}",
        scheme=project.scheme,
        category=project.category,
        ca_declaration=n.ca_declaration,
        ca_status=n.ca_status,
        external_registry=external[0] if external else None,
        external_ref=external[1] if external else None,
    )


def with_removals(
    tx: Tx, actor_label: str, view: IssuanceReceipt, rate_bp: int | None = None
) -> IssuanceReceipt:
    """After an issuance's (or a deposit's) journal entry: the buffer pool's share of a removal
    issuance, then the deliveries of forward offtake contracts (services/removals/buffer.py), in
    the same transaction; the receipt says what went where."""
    after = buffer.after_issuance(
        tx,
        actor_label,
        view.issuance_id,
        view.project_id,
        view.scheme,
        view.quantity,
        view.account_id,
        issued=view.external_registry is None,
        rate_bp=rate_bp,
    )
    delivered = sum(int(getattr(d, "delivered", 0)) for d in after.deliveries)
    if not after.buffer_quantity and not delivered:
        return view
    return replace(
        view,
        buffer_serials=after.buffer_serials,
        buffer_quantity=after.buffer_quantity or None,
        delivered=delivered or None,
    )


def issue(db: Database, actor: Actor, n: NewIssuance, idem: Idem | None = None) -> IssuanceReceipt:
    """Issue new credits of a registered project into a holding account (registry operator)."""
    require(actor, Role.REGISTRY_OPERATOR, "issue credits")
    _check_issuance(n)
    return _new_credits(db, actor, n, None, idem)


def _new_credits(
    db: Database,
    actor: Actor,
    n: NewIssuance,
    external: tuple[str, str] | None,
    idem: Idem | None,
) -> IssuanceReceipt:
    """Credits entering the registry: issued here, or deposited from an external registry."""

    def work(tx: Tx) -> IssuanceReceipt:
        return new_credits_in(tx, actor.label, n, external)

    return execute(db, actor, idem, work, 201, loader(IssuanceReceipt), sequenced=True)


def _in_cycle(conn: Connection, project_id: str) -> bool:
    plans = schema_cycle.project_plans
    return conn.execute(select(plans.c.id).where(plans.c.id == project_id)).first() is not None


def new_credits_in(
    tx: Tx,
    actor_label: str,
    n: NewIssuance,
    external: tuple[str, str] | None,
    basis: dict[str, Any] | None = None,
    rate_bp: int | None = None,
) -> IssuanceReceipt:
    """Credits entering the registry inside the caller's transaction, with the journal entry
    ``credits.issued`` (or ``credits.deposited``) and then the buffer pool's share and forward
    deliveries. ``basis``: what the issuance rests on (an approved issuance request, its
    report and verification), recorded in the entry; a direct issuance records none.
    ``rate_bp``: the buffer rate the request fixed."""
    origin = "issued" if external is None else "deposited"
    if origin == "issued" and basis is None and _in_cycle(tx.conn, n.project_id):
        raise Conflict(
            "issuance_request_required",
            f"Project {n.project_id} was registered through the project cycle: its credits "
            "are issued from verified monitoring reports by approved issuance requests.",
        )
    view = create_issuance(tx, n, origin, external)
    payload = plain(view) | {"issue": [[view.issuance_id, 1, n.quantity, n.account_id, "held"]]}
    if origin == "issued":
        payload["basis"] = basis or {"kind": "direct"}
    tx.record(f"credits.{origin}", actor_label, payload)
    return with_removals(tx, actor_label, view, rate_bp)


def deposit(
    db: Database,
    actor: Actor,
    n: NewIssuance,
    external_registry: str,
    external_ref: str,
    idem: Idem | None = None,
) -> IssuanceReceipt:
    """Record credits arriving from an external registry (registry operator), with its reference."""
    require(actor, Role.REGISTRY_OPERATOR, "record deposits from external registries")
    _check_issuance(n)
    _external(
        external_registry,
        "external_ref",
        external_ref,
        "A deposit names the external registry and its reference.",
    )
    return _new_credits(db, actor, n, (external_registry, external_ref), idem)


def redeposit(
    db: Database,
    actor: Actor,
    serials: str,
    account_id: str,
    external_ref: str,
    idem: Idem | None = None,
) -> Redeposit:
    """Bring back credits that were withdrawn to an external registry (registry operator)."""
    require(actor, Role.REGISTRY_OPERATOR, "record deposits from external registries")
    _text(external_ref, "external_ref", 200)

    def work(tx: Tx) -> Redeposit:
        account = repo.get_account(tx.conn, account_id)
        if account is None or account.kind != AccountKind.HOLDING.value:
            raise NotFound("account_not_found", f"There is no holding account {account_id}.")
        pieces = plan(
            tx.conn,
            SYSTEM_ACCOUNTS[AccountKind.EXTERNAL],
            Selection(serials=serials),
            BlockStatus.EXPORTED,
        )
        moves = move(tx, pieces, account_id, BlockStatus.HELD, "redeposit", external_ref)
        view = Redeposit(
            account_id=account_id,
            external_ref=external_ref,
            ranges=credit_ranges(pieces),
            quantity=sum(p.quantity for p in pieces),
        )
        tx.record("credits.redeposited", actor.label, _journal(view, moves))
        return view

    return execute(db, actor, idem, work, 201, loader(Redeposit), sequenced=True)


_OUT_OF_CIRCULATION = {
    AccountKind.EXTERNAL: (BlockStatus.EXPORTED, "withdrawal"),
    AccountKind.CANCELLATION: (BlockStatus.CANCELLED, "cancellation"),
}
"""Where credits leave circulation: the system account's kind, their status there, and the
kind of their movements."""


def _out_of_circulation(
    tx: Tx, actor: Actor, account_id: str, sel: Selection, to: AccountKind, ref: str
) -> tuple[list[Piece], list[list[Any]]]:
    """Move the selected credits of the actor's holding account to the system account ``to``
    (withdrawal, cancellation): the pieces taken and the moves the journal entry records."""
    require_active(tx.conn, actor)
    _holding(tx.conn, actor, account_id)
    pieces = plan(tx.conn, account_id, sel)
    status, kind = _OUT_OF_CIRCULATION[to]
    return pieces, move(tx, pieces, SYSTEM_ACCOUNTS[to], status, kind, ref)


def withdraw(
    db: Database,
    actor: Actor,
    account_id: str,
    sel: Selection,
    external_registry: str,
    external_account: str,
    idem: Idem | None = None,
) -> Withdrawal:
    """Send credits to an account in an external registry; they leave circulation here."""
    _external(
        external_registry,
        "external_account",
        external_account,
        "A withdrawal names the external registry and account.",
    )

    def work(tx: Tx) -> Withdrawal:
        ref = f"WD-{tx.next_seq()}"
        pieces, moves = _out_of_circulation(tx, actor, account_id, sel, AccountKind.EXTERNAL, ref)
        view = Withdrawal(
            id=ref,
            account_id=account_id,
            external_registry=external_registry,
            external_account=external_account,
            quantity=sum(p.quantity for p in pieces),
            ranges=credit_ranges(pieces),
        )
        tx.record("credits.withdrawn", actor.label, _journal(view, moves))
        return view

    return execute(db, actor, idem, work, 201, loader(Withdrawal), sequenced=True)


# ---------------------------------------------------------------- transfers


def transfer(
    db: Database,
    actor: Actor,
    from_account: str,
    to_account: str,
    sel: Selection,
    idem: Idem | None = None,
) -> Transfer:
    """Move credits between holding accounts, oldest vintage first or by serial range."""
    if from_account == to_account:
        raise InvalidInput("same_account", "The sending and receiving accounts are the same.")

    def work(tx: Tx) -> Transfer:
        return transfer_unit(tx, actor, from_account, to_account, sel)

    return execute(db, actor, idem, work, 201, loader(Transfer), sequenced=True, in_memory=True)


def transfer_unit(
    tx: Tx, actor: Actor, from_account: str, to_account: str, sel: Selection
) -> Transfer:
    """`transfer`'s unit of work, in a transaction the caller runs."""
    conn = tx.conn
    require_active(conn, actor)
    _holding(conn, actor, from_account)
    dest = repo.get_account(conn, to_account)
    if dest is None or dest.kind != AccountKind.HOLDING.value:
        raise NotFound("account_not_found", f"There is no holding account {to_account}.")
    require_active(conn, Actor(dest.participant_id))
    pieces = take(tx, from_account, sel)
    allowances.check_receiver(conn, dest.participant_id, pieces)
    ref = f"TR-{tx.next_seq()}"
    moves = move(tx, pieces, to_account, BlockStatus.HELD, "transfer", ref)
    view = Transfer(
        id=ref,
        from_account=from_account,
        to_account=to_account,
        quantity=sum(p.quantity for p in pieces),
        ranges=credit_ranges(pieces),
        at=tx.at,
        broker=actor.agent_id or None,
    )
    tx.record("credits.transferred", actor.label, _journal(view, moves))
    return view


# ---------------------------------------------------------------- retirement and cancellation


@dataclass(frozen=True, slots=True)
class CreditFilter:
    """Which credits a retirement may take: of one scheme, category, project and vintage (None:
    any); the quantity or serial range still says how many."""

    scheme: str | None = None
    category: str | None = None
    project_id: str | None = None
    vintage: int | None = None

    def check(self) -> None:
        for name in ("scheme", "category", "project_id"):
            _text(getattr(self, name) or "", name, 80)
        if self.vintage is not None and not 1990 <= self.vintage <= 2100:
            raise InvalidInput("invalid_vintage", "vintage is a year between 1990 and 2100.")

    def eligibility(self) -> Eligibility | None:
        """The filter as an eligibility rule of the block queries; None when it admits all."""
        if self == CreditFilter():
            return None
        return Eligibility(
            schemes=(self.scheme,) if self.scheme else (),
            categories=(self.category,) if self.category else (),
            projects=(self.project_id,) if self.project_id else (),
            vintage_from=self.vintage,
            vintage_to=self.vintage,
        )

    def describe(self) -> str:
        """The filter in words, for refusals: "scheme J-CREDIT, vintage 2019"."""
        named = [
            ("scheme", self.scheme),
            ("category", self.category),
            ("project", self.project_id),
            ("vintage", self.vintage),
        ]
        return ", ".join(f"{k} {v}" for k, v in named if v is not None)


@dataclass(frozen=True, slots=True)
class RetirementRequest:
    account_id: str
    selection: Selection
    purposes: list[str]
    beneficiary: str = ""
    reporting_year: int | None = None
    note: str = ""
    scope_emissions: list[str] = field(default_factory=list)
    emissions_scope: str | None = None
    """The scope ("1", "2", "3") the claim counts against, where the purpose allows a choice;
    otherwise it must agree with the purpose's scope (usage rules)."""
    scope3_category: int | None = None
    """For a Scope 3 claim: the GHG Protocol category (1-15) it counts against."""
    credits: CreditFilter = CreditFilter()
    """Which credits: of one scheme, category, project or vintage (with a quantity: the oldest
    of those that the uses allow; with a serial range: every credit in it must match)."""
    expected: tuple[str, ...] | None = None
    """The serial ranges a check showed (``RetirementCheck.serials``): the retirement is
    refused (409 ``retirement_changed``) if it would now take any other credits."""


def _validate(r: RetirementRequest) -> str | None:
    """Refuse a malformed request before anything is read; the scope the claim counts against."""
    if not r.purposes:
        raise InvalidInput("purpose_required", "A retirement names at least one purpose.")
    _text(r.beneficiary, "beneficiary", 300)
    _text(r.note, "note")
    year = r.reporting_year
    if year is not None and not 1990 <= year <= 2100:
        raise InvalidInput(
            "invalid_reporting_year", "reporting_year is a year between 1990 and 2100."
        )
    emissions_scope = r.emissions_scope
    if emissions_scope is None and r.scope_emissions:  # the older list form: one scope only
        if len(set(r.scope_emissions)) > 1:
            raise InvalidInput("invalid_scope", "A retirement counts against one scope.")
        emissions_scope = r.scope_emissions[0]
    if emissions_scope is not None and emissions_scope not in ("1", "2", "3"):
        raise InvalidInput("invalid_scope", "emissions_scope is 1, 2 or 3.")
    if r.scope3_category is not None and not 1 <= r.scope3_category <= 15:
        raise InvalidInput("invalid_scope3_category", "scope3_category is 1 to 15.")
    r.credits.check()
    return emissions_scope


def _purposes_scope(conn: Connection, purposes: Sequence[str]) -> str:
    """The one scope of the purposes' taxonomy terms; unknown or mixed purposes are refused."""
    scopes: set[str] = set()
    for code in purposes:
        term = repo.get_term(conn, "purpose", code)
        if term is None:
            raise InvalidInput("unknown_purpose", f"{code!r} is not a known retirement purpose.")
        scopes.add(str((loads(term.extra) or {}).get("scope", "")))
    if len(scopes) > 1:
        raise InvalidInput(
            "mixed_purpose_scope",
            "A retirement cannot mix purposes of different scope "
            f"({', '.join(sorted(scopes))}); retire separately for each.",
        )
    return scopes.pop()


def retire(
    db: Database, actor: Actor, r: RetirementRequest, idem: Idem | None = None
) -> RetirementReceipt:
    """無効化: retire credits for a purpose; they move to the retirement account for good.
    A retirement for ``gx_ets_surrender`` is a GX-ETS surrender of credits toward its
    reporting (fiscal) year (`tanso.services.compliance.gx_compliance.surrender` checks the
    obligation first)."""
    _validate(r)

    def work(tx: Tx) -> RetirementReceipt:
        return retire_unit(tx, actor, r)

    return execute(
        db, actor, idem, work, 201, loader(RetirementReceipt), sequenced=True, in_memory=True
    )


GX_SURRENDER = "gx_ets_surrender"


def retire_unit(tx: Tx, actor: Actor, r: RetirementRequest) -> RetirementReceipt:
    """`retire`'s unit of work, in a transaction the caller runs (a GX-ETS surrender of
    credits is one, with the surrender's own row)."""
    emissions_scope = _validate(r)
    conn = tx.conn
    require_active(conn, actor)
    owner = _holding(conn, actor, r.account_id).participant_id
    scope = _purposes_scope(conn, r.purposes)
    participant = repo.get_participant(conn, owner)
    beneficiary = r.beneficiary.strip() or (
        participant.name_en if participant else actor.participant_id
    )
    reporting_year = r.reporting_year or usage.default_year(r.purposes, usage.local_date(tx.at))
    if tx.ledger is not None:  # read from the database: the memory is written out first
        tx.ledger.flush()
        tx.ledger.forget()
    on = usage.local_date(tx.at)
    pieces = _chosen(tx.conn, owner, r, reporting_year, emissions_scope, on)
    if r.expected is not None:
        _same_as_checked(pieces, r.expected)
    # usage rules: refused before anything moves; claimed totals are read under the
    # journal head lock that this transaction holds, so concurrent retirements queue
    checked = usage.check_retirement(
        tx, owner, pieces, r.purposes, reporting_year, emissions_scope, r.scope3_category
    )
    rid = f"RT-{tx.next_seq():08d}"
    moves = move(
        tx,
        pieces,
        SYSTEM_ACCOUNTS[AccountKind.RETIREMENT],
        BlockStatus.RETIRED,
        "retirement",
        rid,
    )
    quantity = sum(p.quantity for p in pieces)
    repo.insert_row(
        conn,
        t.retirements,
        id=rid,
        participant_id=owner,
        account_id=r.account_id,
        quantity=quantity,
        purposes=",".join(r.purposes),
        scope=scope,
        beneficiary=beneficiary,
        reporting_year=reporting_year,
        note=r.note,
        journal_seq=tx.next_seq(),
        created_at=tx.at,
    )
    claims = usage.record_claims(tx, rid, owner, reporting_year, checked)
    view = RetirementReceipt(
        id=rid,
        account_id=r.account_id,
        participant_id=owner,
        quantity=quantity,
        purposes=r.purposes,
        beneficiary=beneficiary,
        reporting_year=reporting_year,
        note=r.note,
        ranges=credit_ranges(pieces),
        retired_at=tx.at,
        usage=claims,
        broker=actor.agent_id or None,
    )
    tx.record("credits.retired", actor.label, _journal(view, moves))
    return replace(view, journal_seq=tx.journal_seq, journal_hash=tx.journal_hash)


def cancel(
    db: Database,
    actor: Actor,
    account_id: str,
    sel: Selection,
    reason: str,
    idem: Idem | None = None,
) -> Cancellation:
    """取消: cancel credits (not used toward any target); they never move again."""
    _text(reason, "reason")
    if not reason.strip():
        raise InvalidInput("reason_required", "A cancellation states its reason.")

    def work(tx: Tx) -> Cancellation:
        ref = f"CN-{tx.next_seq():08d}"
        pieces, moves = _out_of_circulation(
            tx, actor, account_id, sel, AccountKind.CANCELLATION, ref
        )
        view = Cancellation(
            id=ref,
            account_id=account_id,
            reason=reason,
            quantity=sum(p.quantity for p in pieces),
            ranges=credit_ranges(pieces),
        )
        tx.record("credits.cancelled", actor.label, _journal(view, moves))
        return view

    return execute(db, actor, idem, work, 201, loader(Cancellation), sequenced=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class CreditAttributes:
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


def _attributes(details: dict[str, Any]) -> dict[str, Any]:
    """The ``CreditAttributes`` fields of a ``repo.issuance_details`` entry."""
    return {k: details[k] for k in _ATTRIBUTES}


_ATTRIBUTES = tuple(CreditAttributes.__dataclass_fields__)


@dataclass(frozen=True, slots=True, kw_only=True)
class RetiredRange(CreditAttributes):
    """A retired serial range with every attribute of its credits (``id``: its issuance)."""

    id: str
    serials: str
    quantity: int


@dataclass(frozen=True, slots=True)
class RetirementNotice:
    """A retirement as anyone may verify it: enough to check a claim, nothing private."""

    id: str
    verify_path: str
    quantity: int
    purposes: list[str]
    scope: str
    beneficiary: str
    reporting_year: int
    note: str
    retired_at: str
    retired_by: str | None
    retired_by_ja: str | None
    ranges: list[RetiredRange]
    journal: JournalRef


USE_CANDIDATES = 1_000
"""Blocks looked at, oldest first, when a retirement by quantity picks what its uses allow."""


def _chosen(
    conn: Connection,
    owner: str,
    r: RetirementRequest,
    year: int,
    scope: str | None,
    on: dt.date,
) -> list[Piece]:
    """The credits a retirement takes: its serial range (every credit of which must match its
    filter), or by quantity the oldest that match the filter and that its uses allow. The check
    and the retirement both choose here, so a confirmed check retires what it showed."""
    eligibility = r.credits.eligibility()
    wanted = r.selection.range()
    if wanted is not None:
        pieces = plan(conn, r.account_id, r.selection)
        details = repo.issuance_details(conn, [wanted.issuance]).get(wanted.issuance)
        if eligibility is not None and (details is None or not eligibility.admits(details)):
            raise Conflict(
                "credits_not_matching",
                f"Serials {wanted} are not credits of {r.credits.describe()}; "
                "change the serial range or the filter.",
            )
        return pieces
    assert r.selection.quantity is not None
    blocks = list(
        itertools.islice(
            repo.blocks_in_account(conn, r.account_id, BlockStatus.HELD, eligibility=eligibility),
            USE_CANDIDATES,
        )
    )

    def allowed(b: Any) -> bool:
        piece = [Piece(b, b.start, b.end)]
        decisions = usage.decide(conn, owner, piece, r.purposes, year, on, scope, r.scope3_category)
        return all(d.allowed for _, d, _, _ in decisions)

    # when none is allowed the oldest are taken, so that the usage rules refuse them with the
    # rule that says why (RE100: renewable power only), not the oldest of any kind
    usable = [b for b in blocks if allowed(b)]
    try:
        return take_quantity(usable or blocks, r.selection.quantity)
    except Conflict as e:
        if eligibility is None:
            raise
        held = sum(b.quantity for b in blocks)
        raise Conflict(
            e.code,
            f"The account holds {held:,} credits of {r.credits.describe()} but "
            f"{r.selection.quantity:,} were asked for.",
        ) from None


def _serials(pieces: Sequence[Piece]) -> tuple[str, ...]:
    return tuple(f"{p.block.issuance}-{p.start}-{p.end}" for p in pieces)


def _same_as_checked(pieces: Sequence[Piece], expected: Sequence[str]) -> None:
    """Refuse a confirmed retirement whose credits are no longer the ones its check showed."""
    now = _serials(pieces)
    if now != tuple(expected):
        raise Conflict(
            "retirement_changed",
            "The holdings changed since the check: it showed "
            f"{', '.join(expected) or 'no credits'}, the retirement would now take "
            f"{', '.join(now)}. Nothing was retired; check again.",
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckedRange(CreditAttributes):
    """A serial range a retirement would take, with every attribute of its credits."""

    issuance_id: str
    serials: str
    quantity: int


@dataclass(frozen=True, slots=True)
class CheckedClaim:
    """What a retirement would claim for a use: the scope (and Scope 3 category), the credits
    in their unit, and the tonnes they count for."""

    use: str
    scope: str
    quantity: int
    unit: str
    tonnes: int
    scope3_category: int | None = omitted()


@dataclass(frozen=True, slots=True)
class CheckedUse:
    """The usage rules' outcome for one purpose: allowed or ``refusal`` (the rule, its source and
    why), the rule set, the findings of every rule, and the claims it would record."""

    purpose: str
    allowed: bool
    scope: str
    tonnes: int
    ruleset: str
    refusal: str
    reasons: list[Reason]
    claims: list[CheckedClaim]


@dataclass(frozen=True, slots=True)
class RetirementCheck:
    """What a retirement would do, with nothing changed: the credits it would take, what the
    usage rules say of each purpose, and ``serials`` to confirm it with (``expected``)."""

    allowed: bool
    account_id: str
    quantity: int
    purposes: list[str]
    reporting_year: int
    date: str
    ranges: list[CheckedRange]
    uses: list[CheckedUse]
    serials: list[str]


def check_retirement(db: Database, actor: Actor, r: RetirementRequest) -> RetirementCheck:
    """Check first: the credits a retirement would take and the usage rules' outcome for its
    purposes (the same choice and the same rules as `retire`); nothing changes."""
    emissions_scope = _validate(r)
    on = usage.local_date(db.clock())
    with db.read() as conn:
        owner = own_account(conn, actor, r.account_id, write=False)
        if owner.kind != AccountKind.HOLDING.value:
            raise Forbidden("not_a_holding_account", f"Account {r.account_id} is a system account.")
        _purposes_scope(conn, r.purposes)
        year = r.reporting_year or usage.default_year(r.purposes, on)
        pieces = _chosen(conn, owner.participant_id, r, year, emissions_scope, on)
        decisions = usage.decide(
            conn,
            owner.participant_id,
            pieces,
            r.purposes,
            year,
            on,
            emissions_scope,
            r.scope3_category,
        )
        details = repo.issuance_details(conn, (p.block.issuance for p in pieces))
    uses = [
        CheckedUse(
            purpose=purpose,
            allowed=d.allowed,
            scope=d.scope,
            tonnes=d.tonnes,
            ruleset=d.ruleset,
            refusal=usage.refusal_message(purpose, d),
            reasons=list(d.reasons),
            claims=[
                CheckedClaim(c.use, c.scope, c.quantity, c.unit, c.tonnes, c.scope3_category)
                for c in claims
            ],
        )
        for purpose, d, _, claims in decisions
    ]
    return RetirementCheck(
        allowed=all(u.allowed for u in uses),
        account_id=r.account_id,
        quantity=sum(p.quantity for p in pieces),
        purposes=list(r.purposes),
        reporting_year=year,
        date=on.isoformat(),
        ranges=[
            CheckedRange(
                issuance_id=p.block.issuance,
                serials=f"{p.block.issuance}-{p.start}-{p.end}",
                quantity=p.quantity,
                **_attributes(details[p.block.issuance]),
            )
            for p in pieces
        ],
        uses=uses,
        serials=list(_serials(pieces)),
    )


def retirement_view(conn: Connection, rid: str) -> RetirementNotice:
    """A retirement as the public sees it: enough to verify a claim, nothing private."""
    row = repo.get_retirement(conn, rid)
    if row is None:
        raise NotFound("retirement_not_found", f"There is no retirement {rid}.")
    movements = repo.movements_for(conn, "retirement", rid)
    details = repo.issuance_details(conn, (m.issuance_id for m in movements))
    participant = repo.get_participant(conn, row.participant_id)
    entry = next(repo.journal_entries(conn, row.journal_seq - 1, 1), None)
    return RetirementNotice(
        id=row.id,
        verify_path=f"/verify/{row.id}",
        quantity=row.quantity,
        purposes=row.purposes.split(","),
        scope=row.scope,
        beneficiary=row.beneficiary,
        reporting_year=row.reporting_year,
        note=row.note,
        retired_at=row.created_at,
        retired_by=participant.name_en if participant else None,
        retired_by_ja=participant.name_ja if participant else None,
        ranges=[
            RetiredRange(
                id=m.issuance_id,
                serials=f"{m.issuance_id}-{m.serial_start}-{m.serial_end}",
                quantity=m.serial_end - m.serial_start + 1,
                **_attributes(details[m.issuance_id]),
            )
            for m in movements
        ],
        journal=JournalRef(seq=row.journal_seq, hash=entry.hash if entry else None),
    )


def get_retirement(db: Database, rid: str) -> RetirementNotice:
    with db.read() as conn:
        return retirement_view(conn, rid)


def list_retirements(db: Database, actor: Actor, limit: int = 100) -> list[RetirementNotice]:
    with db.read() as conn:
        pid = None if actor.is_operator() else actor.participant_id
        return [retirement_view(conn, r.id) for r in repo.list_retirements(conn, pid, limit)]


# ---------------------------------------------------------------- reservation and freezing


def reserve(
    db: Database,
    actor: Actor,
    account_id: str,
    sel: Selection,
    reservation: str,
    categories: Sequence[str] | None = None,
) -> CreditsReserved:
    """Set credits aside for an order or a listing; reserved credits cannot move otherwise."""

    def work(tx: Tx) -> CreditsReserved:
        return reserve_in(tx, actor, account_id, sel, reservation, categories)

    return execute(db, actor, None, work, sequenced=True)


def reserve_in(
    tx: Tx,
    actor: Actor,
    account_id: str,
    sel: Selection,
    reservation: str,
    categories: Sequence[str] | None = None,
) -> CreditsReserved:
    """``reserve`` inside a transaction that a use case already holds; records its entry."""
    require_active(tx.conn, actor)
    _holding(tx.conn, actor, account_id)
    eligibility = Eligibility(categories=tuple(categories)) if categories else None
    pieces, moves = escrow.reserve_credits(tx, account_id, sel, reservation, eligibility)
    view = CreditsReserved(
        reservation=reservation,
        account_id=account_id,
        quantity=sum(p.quantity for p in pieces),
        ranges=credit_ranges(pieces),
    )
    tx.record("credits.reserved", actor.label, _journal(view, moves))
    return view


def release(db: Database, actor: Actor, reservation: str) -> CreditsReleased:
    """Return every block reserved under ``reservation`` to held."""

    def work(tx: Tx) -> CreditsReleased:
        blocks = repo.blocks_reserved_for(tx.conn, reservation)
        try:
            for b in blocks:
                own_account(tx.conn, actor, b.account, write=True)
        except NotFound:
            blocks = []  # someone else's reservation answers exactly like a missing one
        if not blocks:
            raise NotFound("reservation_not_found", f"Nothing is reserved under {reservation}.")
        pieces = [Piece(b, b.start, b.end) for b in blocks if b.status == BlockStatus.RESERVED]
        moves: list[list[Any]] = []
        by_account: dict[str, list[Piece]] = defaultdict(list)
        for p in pieces:
            by_account[p.block.account].append(p)
        for account, ps in by_account.items():
            moves += escrow.apply_credits(tx, es.release_credits(ps, account, reservation))
        view = CreditsReleased(
            reservation=reservation,
            quantity=sum(p.quantity for p in pieces),
            ranges=credit_ranges(pieces),
        )
        tx.record("credits.released", actor.label, _journal(view, moves))
        return view

    return execute(db, actor, None, work, sequenced=True)


def freeze(
    db: Database, actor: Actor, serials: str, freeze: bool, reason: str, idem: Idem | None = None
) -> Freeze:
    """Freeze (or unfreeze) a serial range wherever it is held or reserved (registry operator).

    A frozen block keeps its reservation, so a trade's credits frozen during a dispute fail to
    settle until they are unfrozen, and then settle as before.
    """
    require(actor, Role.REGISTRY_OPERATOR, "freeze credits")
    r = parse_block(serials)
    movable = (BlockStatus.HELD, BlockStatus.RESERVED) if freeze else (BlockStatus.FROZEN,)

    def work(tx: Tx) -> Freeze:
        blocks = repo.blocks_overlapping(tx.conn, r.issuance, r.start, r.end)
        pieces = take_range([b for b in blocks if b.status in movable], r.issuance, r.start, r.end)
        for p in pieces:
            reservation = p.block.reservation
            if freeze and reservation and not repo.is_trade_reservation(tx.conn, reservation):
                raise Conflict(
                    "credits_reserved_by_order",
                    f"Serials {p.block.issuance}-{p.start}-{p.end} back the open order or listing "
                    f"{reservation}; cancel it first, then freeze.",
                )
        moves: list[list[Any]] = []
        for p in pieces:
            b = p.block
            if freeze:
                to = BlockStatus.FROZEN
            else:
                to = BlockStatus.RESERVED if b.reservation else BlockStatus.HELD
            moves += move(
                tx, [p], b.account, to, "freeze" if freeze else "unfreeze", None, b.reservation
            )
        view = Freeze(
            serials=serials,
            accounts=sorted({p.block.account for p in pieces}),
            frozen=freeze,
            reason=reason,
        )
        tx.record(
            "credits.frozen" if freeze else "credits.unfrozen", actor.label, _journal(view, moves)
        )
        return view

    return execute(db, actor, idem, work, 200, loader(Freeze), sequenced=True)


# ---------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class HoldingsTotals:
    """Quantities by scheme, category, vintage and status."""

    scheme: dict[str, int]
    category: dict[str, int]
    vintage: dict[str, int]
    status: dict[str, int]


@dataclass(frozen=True, slots=True, kw_only=True)
class HeldBlock(CreditAttributes):
    """A block of serials in one status (``reservation``: what holds it), with its credits'
    attributes."""

    id: int
    serials: str
    issuance_id: str
    serial_start: int
    serial_end: int
    quantity: int
    status: str
    reservation: str | None


@dataclass(frozen=True, slots=True)
class Holdings:
    """An account's credits: ``total`` (not retired or cancelled), totals, then its blocks;
    ``next_after`` asks for the next page of blocks (None on the last)."""

    account_id: str
    participant_id: str
    kind: str
    total: int
    totals: HoldingsTotals
    blocks: list[HeldBlock]
    next_after: int | None


def holdings(
    db: Database, actor: Actor, account_id: str, limit: int = 1000, after: int | None = None
) -> Holdings:
    """An account's credits: totals by scheme, category, vintage and status, and its blocks."""
    limit = max(1, min(limit, 10_000))
    with db.read() as conn:
        acct = own_account(conn, actor, account_id, write=False)
        totals = repo.holdings_totals(conn, account_id)
        rows = repo.account_blocks_page(conn, account_id, limit, after)
        details = repo.issuance_details(conn, (r.issuance_id for r in rows))
        by: dict[str, dict[str, int]] = {"scheme": {}, "category": {}, "vintage": {}, "status": {}}
        for tr in totals:
            for key, value in (
                ("scheme", tr.scheme),
                ("category", tr.category),
                ("vintage", str(tr.vintage)),
                ("status", tr.status),
            ):
                by[key][value] = by[key].get(value, 0) + int(tr.quantity)
        blocks = [
            HeldBlock(
                id=r.id,
                serials=f"{r.issuance_id}-{r.serial_start}-{r.serial_end}",
                issuance_id=r.issuance_id,
                serial_start=r.serial_start,
                serial_end=r.serial_end,
                quantity=r.serial_end - r.serial_start + 1,
                status=r.status,
                reservation=r.reservation,
                **_attributes(details[r.issuance_id]),
            )
            for r in rows
        ]
        final = {x.value for x in FINAL_STATUSES}
        return Holdings(
            account_id=account_id,
            participant_id=acct.participant_id,
            kind=acct.kind,
            total=sum(q for s, q in by["status"].items() if s not in final),
            totals=HoldingsTotals(**by),
            blocks=blocks,
            next_after=rows[-1].id if len(rows) == limit else None,
        )


def list_issuances(db: Database, project_id: str | None = None) -> list[Issuance]:
    with db.read() as conn:
        where = {"project_id": project_id} if project_id else {}
        rows = repo.list_table(conn, t.issuances, t.issuances.c.id, **where)
        return [issuance_view(r) for r in rows]


def issuance_view(r: Any) -> Issuance:
    return from_row(Issuance, r, serials=f"{r.id}-1-{r.quantity}")


def get_issuance(db: Database, issuance_id: str) -> Issuance:
    check_prefix(issuance_id)
    with db.read() as conn:
        row = repo.get_issuance(conn, issuance_id)
    if row is None:
        raise NotFound("issuance_not_found", f"There is no issuance {issuance_id}.")
    return issuance_view(row)


# ---------------------------------------------------------------- pages of past movements (portal)


def _page_of_seqs(
    conn: Connection, q: Any, column: Any, limit: int, before: int | None, after: int | None
) -> tuple[list[int], int | None, int | None]:
    """One page of journal seqs, newest first, from ``q`` (a select of ``column``); with the
    cursors of the older and the newer page (None where there is none)."""
    from sqlalchemy import select  # the module's own imports belong to another change

    limit = max(1, min(limit, 500))
    if after is not None:
        page = q.where(column > after).order_by(column.asc())
    else:
        page = q.where(column < before) if before is not None else q
        page = page.order_by(column.desc())
    seqs = sorted((int(r[0]) for r in conn.execute(page.limit(limit))), reverse=True)
    if not seqs:
        return [], None, None
    sub = q.subquery()
    older = conn.execute(select(sub.c[0]).where(sub.c[0] < seqs[-1]).limit(1)).first()
    newer = conn.execute(select(sub.c[0]).where(sub.c[0] > seqs[0]).limit(1)).first()
    return seqs, seqs[-1] if older else None, seqs[0] if newer else None


@dataclass(frozen=True, slots=True)
class PastTransfer:
    """A transfer as a page of past transfers shows it (``ranges``: its serial ranges)."""

    id: str
    journal_seq: int
    at: str
    from_account: str
    to_account: str
    quantity: int
    ranges: list[str]


@dataclass(frozen=True, slots=True)
class TransfersPage:
    """One page of past transfers, newest first, with the cursors of the older and the newer
    page (journal seqs; None where there is none)."""

    transfers: list[PastTransfer]
    older: int | None
    newer: int | None


@dataclass(frozen=True, slots=True)
class RetirementsPage:
    """One page of retirement notices, newest first, with the cursors of the older and the
    newer page (journal seqs; None where there is none)."""

    retirements: list[RetirementNotice]
    older: int | None
    newer: int | None


def list_transfers(
    db: Database,
    actor: Actor,
    participant_id: str,
    limit: int = 50,
    before: int | None = None,
    after: int | None = None,
) -> TransfersPage:
    """Past transfers into or out of a participant's holding accounts, newest first, one page at
    a time: ``before`` (older page) or ``after`` (newer page) is a transfer's journal seq."""
    from sqlalchemy import select

    if participant_id != actor.participant_id and not actor.is_operator():
        raise NotFound(
            "participant_not_found", f"There is no participant {participant_id} that you can see."
        )
    m = t.credit_movements.c
    own = select(t.accounts.c.id).where(t.accounts.c.participant_id == participant_id)
    q = (
        select(m.journal_seq)
        .where(m.kind == "transfer", m.from_account.in_(own) | m.to_account.in_(own))
        .distinct()
    )
    with db.read() as conn:
        seqs, older, newer = _page_of_seqs(conn, q, m.journal_seq, limit, before, after)
        rows = conn.execute(
            select(t.credit_movements)
            .where(m.kind == "transfer", m.journal_seq.in_(seqs))
            .order_by(m.issuance_id, m.serial_start)
        ).all()
        at = {
            int(r.seq): r.at
            for r in conn.execute(
                select(t.journal.c.seq, t.journal.c.at).where(t.journal.c.seq.in_(seqs))
            )
        }
    pieces: dict[int, list[Any]] = defaultdict(list)
    for r in rows:
        pieces[int(r.journal_seq)].append(r)
    transfers = [
        PastTransfer(
            id=pieces[s][0].ref,
            journal_seq=s,
            at=at.get(s, ""),
            from_account=pieces[s][0].from_account,
            to_account=pieces[s][0].to_account,
            quantity=sum(p.serial_end - p.serial_start + 1 for p in pieces[s]),
            ranges=[f"{p.issuance_id}-{p.serial_start}-{p.serial_end}" for p in pieces[s]],
        )
        for s in seqs
        if pieces[s]
    ]
    return TransfersPage(transfers=transfers, older=older, newer=newer)


def retirements_page(
    db: Database,
    actor: Actor,
    participant_id: str,
    limit: int = 50,
    before: int | None = None,
    after: int | None = None,
) -> RetirementsPage:
    """A participant's retirements, newest first, one page at a time (cursors: journal seqs),
    each as `retirement_view` shows it."""
    from sqlalchemy import select

    if participant_id != actor.participant_id and not actor.is_operator():
        raise NotFound(
            "participant_not_found", f"There is no participant {participant_id} that you can see."
        )
    r = t.retirements.c
    q = select(r.journal_seq).where(r.participant_id == participant_id)
    with db.read() as conn:
        seqs, older, newer = _page_of_seqs(conn, q, r.journal_seq, limit, before, after)
        ids = conn.execute(
            select(r.id)
            .where(r.participant_id == participant_id, r.journal_seq.in_(seqs))
            .order_by(r.journal_seq.desc())
        ).scalars()
        notices = [retirement_view(conn, rid) for rid in ids]
    return RetirementsPage(retirements=notices, older=older, newer=newer)
