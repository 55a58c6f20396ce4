"""Cash: a double-entry ledger in integer minor units, one account per participant per currency.

Money enters and leaves through the bank contra account (``SYS-BANK-{CUR}``) when the exchange
operator records a bank transfer, so the balances of one currency always sum to zero.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, func, select

from tanso.domain.errors import InvalidInput, NotFound
from tanso.domain.escrow import cash_account_id as cash_account_id
from tanso.domain.money import Money, check_currency, positive_amount
from tanso.domain.participants import OPERATOR_PARTICIPANT, Role
from tanso.services.clearing import escrow
from tanso.services.common import Actor, Idem, execute, omitted, require, require_active
from tanso.store import repo
from tanso.store import schema as t
from tanso.store.db import Database, Tx
from tanso.store.schema_sealed import sealed_bids


def bank_account_id(currency: str) -> str:
    return f"SYS-BANK-{currency}"


def fees_account_id(currency: str) -> str:
    return cash_account_id(OPERATOR_PARTICIPANT, currency)


def ensure_accounts(tx: Tx, pid: str, currency: str) -> str:
    """The participant's cash account in ``currency`` (and the bank contra), created if missing."""
    repo.ensure_cash_account(tx.conn, bank_account_id(currency), None, currency, "external")
    cid = cash_account_id(pid, currency)
    repo.ensure_cash_account(tx.conn, cid, pid, currency, "participant")
    return cid


@dataclass(frozen=True, slots=True)
class CashAccount:
    """A cash account in integer minor units; ``journal_seq`` after a bank transfer."""

    id: str
    participant_id: str | None
    currency: str
    balance: int
    reserved: int
    available: int
    display: str
    journal_seq: int | None = omitted()


@dataclass(frozen=True, slots=True)
class CashReserved:
    reservation: str
    amount: int
    currency: str


@dataclass(frozen=True, slots=True)
class CashReleased:
    reservation: str
    released: int


@dataclass(frozen=True, slots=True)
class CashMovement:
    """One entry of a cash account: positive in, negative out."""

    id: int
    journal_seq: int
    currency: str
    amount: int
    counterparty: str
    memo: str
    external_ref: str | None
    at: str | None = None
    """When it moved (its journal entry's time)."""


def cash_view(r: Any, sealed: int = 0) -> CashAccount:
    """A cash account; ``sealed``: cash held for open sealed bids, left out of ``reserved`` (and
    so counted in ``available``) when someone other than the bidder reads it."""
    return CashAccount(
        id=r.id,
        participant_id=r.participant_id,
        currency=r.currency,
        balance=r.balance,
        reserved=r.reserved - sealed,
        available=r.balance - r.reserved + sealed,
        display=str(Money(r.balance, r.currency)),
    )


def sealed_holds(conn: Connection, actor: Actor) -> dict[str, int]:
    """Cash held for sealed bids not yet opened, by cash account, that ``actor`` may not see
    (docs/sealed-auctions.md): every bidder's but the actor's own."""
    r, b = t.cash_reservations.c, sealed_bids.c
    q = (
        select(r.cash_account_id, func.sum(r.amount))
        .join(sealed_bids, b.id == r.id)
        .where(b.status == "open", b.bidder_id != actor.participant_id)
        .group_by(r.cash_account_id)
    )
    return {str(k): int(v) for k, v in conn.execute(q).all()}


def views(conn: Connection, actor: Actor, rows: Any) -> list[CashAccount]:
    """Cash accounts as ``actor`` sees them: another participant's sealed bids stay sealed."""
    hidden = sealed_holds(conn, actor)
    return [cash_view(r, hidden.get(r.id, 0)) for r in rows]


def _bank_move(
    db: Database,
    actor: Actor,
    pid: str,
    currency: str,
    amount: int,
    external_ref: str,
    deposit: bool,
    idem: Idem | None,
) -> CashAccount:
    require(actor, Role.EXCHANGE_OPERATOR, "record bank transfers")
    check_currency(currency)
    positive_amount(amount)
    if not external_ref.strip() or len(external_ref) > 200:
        raise InvalidInput(
            "external_reference_required",
            "A bank transfer is recorded with its bank reference (1 to 200 characters).",
        )

    def work(tx: Tx) -> CashAccount:
        if repo.get_participant(tx.conn, pid) is None:
            raise NotFound("participant_not_found", f"There is no participant {pid}.")
        cid = ensure_accounts(tx, pid, currency)
        bank = bank_account_id(currency)
        src, dst = (bank, cid) if deposit else (cid, bank)
        if not deposit:
            require_active(tx.conn, Actor(pid))
        repo.move_cash(
            tx.conn,
            tx.next_seq(),
            currency,
            src,
            dst,
            amount,
            "deposit" if deposit else "withdrawal",
            external_ref,
        )
        kind = "cash.deposited" if deposit else "cash.withdrawn"
        tx.record(
            kind,
            actor.label,
            {
                "participant": pid,
                "amount": amount,
                "currency": currency,
                "external_ref": external_ref,
                "cash": [[currency, src, dst, amount]],
            },
        )
        (view,) = views(tx.conn, actor, [repo.get_cash_account(tx.conn, cid)])
        return replace(view, journal_seq=tx.journal_seq)

    return execute(db, actor, idem, work, 201, lambda d: CashAccount(**d), sequenced=True)


def deposit(
    db: Database,
    actor: Actor,
    pid: str,
    currency: str,
    amount: int,
    external_ref: str,
    idem: Idem | None = None,
) -> CashAccount:
    """Record a bank transfer in from a participant (exchange operator)."""
    return _bank_move(db, actor, pid, currency, amount, external_ref, True, idem)


def withdraw(
    db: Database,
    actor: Actor,
    pid: str,
    currency: str,
    amount: int,
    external_ref: str,
    idem: Idem | None = None,
) -> CashAccount:
    """Record a bank transfer out to a participant; only unreserved cash can leave."""
    return _bank_move(db, actor, pid, currency, amount, external_ref, False, idem)


def reserve(
    db: Database, actor: Actor, currency: str, amount: int, reservation: str
) -> CashReserved:
    """Reserve the actor's own cash (venues hold cash through clearing.escrow in their own unit)."""
    check_currency(currency)

    def work(tx: Tx) -> CashReserved:
        require_active(tx.conn, actor)
        effects = escrow.reserve_cash(tx, actor.participant_id, currency, amount, reservation)
        tx.record(
            "cash.reserved",
            actor.label,
            {
                "reservation": reservation,
                "amount": amount,
                "currency": currency,
                "cash_reserve": effects,
            },
        )
        return CashReserved(reservation, amount, currency)

    return execute(db, actor, None, work, sequenced=True)


def release(db: Database, actor: Actor, reservation: str) -> CashReleased:
    def work(tx: Tx) -> CashReleased:
        row = repo.get_cash_reservation(tx.conn, reservation)
        cash = repo.get_cash_account(tx.conn, row.cash_account_id) if row else None
        if cash is None or not (actor.is_system or cash.participant_id == actor.participant_id):
            raise NotFound("reservation_not_found", f"No cash is reserved under {reservation}.")
        effects = escrow.release_cash(tx, reservation)
        tx.record(
            "cash.released", actor.label, {"reservation": reservation, "cash_reserve": effects}
        )
        return CashReleased(reservation, -sum(e[1] for e in effects))

    return execute(db, actor, None, work, sequenced=True)


def balances(db: Database, actor: Actor, pid: str | None = None) -> list[CashAccount]:
    """Cash balances: one's own, or (operator) anyone's or everyone's."""
    owner = pid or (None if actor.is_operator() else actor.participant_id)
    if owner != actor.participant_id and not actor.is_operator():
        raise NotFound(
            "participant_not_found", f"There is no participant {owner} that you can see."
        )
    with db.read() as conn:
        return views(conn, actor, repo.cash_accounts_of(conn, owner))


def movements(db: Database, actor: Actor, cash_id: str, limit: int = 100) -> list[CashMovement]:
    with db.read() as conn:
        row = repo.get_cash_account(conn, cash_id)
        if row is None or (row.participant_id != actor.participant_id and not actor.is_operator()):
            raise NotFound(
                "cash_account_not_found", f"There is no cash account {cash_id} that you can see."
            )
        return [
            CashMovement(
                id=e.id,
                journal_seq=e.journal_seq,
                currency=e.currency,
                amount=e.amount if e.to_account == cash_id else -e.amount,
                counterparty=_counterparty(
                    e.from_account if e.to_account == cash_id else e.to_account, actor
                ),
                memo=e.memo,
                external_ref=e.external_ref,
                at=e.at,
            )
            for e in repo.cash_entries_of(conn, cash_id, max(1, min(limit, 1000)))
        ]


def _counterparty(account: str, actor: Actor) -> str:
    """Trading is anonymous: another participant's cash account shows as `trade counterparty`
    (the operator sees it); the bank and the operator's fee account show as they are."""
    if actor.is_operator() or account.startswith("SYS-") or account.startswith("CASH-OPERATOR-"):
        return account
    if account.startswith(f"CASH-{actor.participant_id}-"):
        return account
    return "trade counterparty"
