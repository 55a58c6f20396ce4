"""Escrow for every venue: holds of cash and credits, handing them to a deal, the deal's obligation.

The exchange, the marketplace, sealed-bid auctions and every venue to come set cash and credits
aside through this module and nothing else. Each function reads what the decision needs, asks
domain/escrow.py what moves (or why not: the refusal is raised before anything is written),
applies the decision to the store and returns the journal effects — ``cash_reserve``
``[[cash_account, delta], ...]`` and credit ``moves`` — that the caller's one journal entry
carries. It never records a journal entry itself and never decides a venue's rules (prices, fees,
sizes): a venue says how much, the escrow moves it.

Inside the exchange's sequencer the transaction carries the sequencer's memory (``tx.ledger``,
services/clearing/memory.py): the same decisions are then read from and applied to memory and
written with the batch. A step the memory cannot take (a named serial range, one issuance's
credits) first writes the memory out and forgets it (`_store`), then runs on the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection

from tanso.domain import escrow as es
from tanso.domain.escrow import Deal as Deal
from tanso.domain.instruments import Eligibility
from tanso.domain.registry import Block, BlockStatus, Piece
from tanso.services.ledger import blocks
from tanso.store import repo
from tanso.store import schema as t
from tanso.store.db import Tx

Effects = list[list[Any]]


T = TypeVar("T")


def _decided(decision: T | es.Refusal) -> T:
    if isinstance(decision, es.Refusal):
        raise decision.error()
    return decision


# ---------------------------------------------------------------- reading what a decision needs


def _account(tx: Tx, account_id: str, currency: str) -> es.CashAccount:
    if tx.ledger is not None:
        found = tx.ledger.cash_account(account_id)
        return es.CashAccount(account_id, currency) if found is None else found
    row = repo.get_cash_account(tx.conn, account_id)
    if row is None:
        return es.CashAccount(account_id, currency)
    return es.CashAccount(account_id, row.currency, row.balance, row.reserved)


def _participant_account(tx: Tx, pid: str, currency: str) -> es.CashAccount:
    """The participant's cash account in ``currency``, created (empty) if it is missing."""
    if tx.ledger is not None:
        return tx.ledger.participant_cash(pid, currency)  # type: ignore[no-any-return]
    cid = es.cash_account_id(pid, currency)
    row = repo.get_cash_account(tx.conn, cid)
    if row is None:
        repo.ensure_cash_account(tx.conn, cid, pid, currency, "participant")
        return es.CashAccount(cid, currency)
    return es.CashAccount(cid, row.currency, row.balance, row.reserved)


def _hold(tx: Tx, hold: str) -> es.CashHold | None:
    if tx.ledger is not None:
        return tx.ledger.cash_hold(hold)  # type: ignore[no-any-return]
    return cash_hold(tx.conn, hold)


def _held(tx: Tx, account: str, hold: str) -> list[Block]:
    if tx.ledger is not None:
        return tx.ledger.held(account, hold)  # type: ignore[no-any-return]
    return credits_held(tx.conn, account, hold)


def _store(tx: Tx) -> Connection:
    """The connection, for a step only the database can take: the memory is written first and
    forgotten (the step changes rows it remembers)."""
    if tx.ledger is not None:
        tx.ledger.flush()
        tx.ledger.forget()
    return tx.conn


def cash_hold(conn: Connection, hold: str) -> es.CashHold | None:
    """The cash held under ``hold``, if any."""
    row = repo.get_cash_reservation(conn, hold)
    return None if row is None else es.CashHold(hold, row.cash_account_id, row.amount)


def credits_held(conn: Connection, account: str, hold: str) -> list[Block]:
    """The account's blocks held under ``hold``, oldest vintage first."""
    return list(repo.blocks_in_account(conn, account, BlockStatus.RESERVED, reservation=hold))


# ---------------------------------------------------------------- applying decisions


def apply_cash(tx: Tx, change: es.CashChange) -> Effects:
    """Write one cash decision; the guarded update refuses again if free cash went meanwhile."""
    if change.delta == 0:
        return []
    if tx.ledger is not None:
        tx.ledger.apply_cash(change)
        return change.effects()
    repo.change_reserved(tx.conn, change.account, change.delta, change.currency)
    if change.existed:  # the decision read the hold: change it without reading it again
        repo.resize_cash_reservation(tx.conn, change.hold, change.amount)
    else:
        repo.insert_row(
            tx.conn,
            t.cash_reservations,
            id=change.hold,
            cash_account_id=change.account,
            amount=change.amount,
        )
    return change.effects()


def apply_credits(tx: Tx, move: es.CreditMove) -> Effects:
    """Write one credit decision: the blocks split and moved, the registry's movement log.
    Pieces the memory handed out move in memory; pieces planned from the database (a range of
    designated serials) move there, the memory written and forgotten first."""
    if tx.ledger is not None and tx.ledger.owns(move.pieces):
        tx.ledger.apply_credits(move)
        return move.effects()
    _store(tx)
    return blocks.move(
        tx, move.pieces, move.to_account, move.to_status, move.kind, move.ref, move.hold
    )


# ---------------------------------------------------------------- cash


def reserve_cash(
    tx: Tx, pid: str, currency: str, amount: int, hold: str, *, new_hold: bool = False
) -> Effects:
    """Set ``amount`` of the participant's free cash aside under a new hold (``new_hold``: the
    caller knows no hold of that name exists, such as one named by a new order's id)."""
    account = _participant_account(tx, pid, currency)
    existing = None if new_hold else _hold(tx, hold)
    if new_hold and tx.ledger is not None:
        tx.ledger.no_hold(hold)
    return apply_cash(tx, _decided(es.reserve_cash(account, hold, existing, amount)))


def resize_cash(tx: Tx, pid: str, currency: str, hold: str, amount: int) -> Effects:
    """Make the hold hold ``amount``: reserve the difference or release the excess."""
    account = _participant_account(tx, pid, currency)
    return apply_cash(tx, _decided(es.resize_cash(account, hold, _hold(tx, hold), amount)))


def release_cash(tx: Tx, hold: str, amount: int | None = None) -> Effects:
    """Give back all (or ``amount``) of the cash held under ``hold``."""
    existing = _hold(tx, hold)
    account = _account(tx, existing.account if existing else "", "")
    return apply_cash(tx, _decided(es.release_cash(account, hold, existing, amount)))


def shrink_cash(tx: Tx, hold: str, amount: int) -> Effects:
    """Release what the hold holds beyond ``amount`` (nothing if it holds no more)."""
    existing = _hold(tx, hold)
    if existing is None or existing.amount <= amount:
        return []
    return release_cash(tx, hold, existing.amount - amount)


# ---------------------------------------------------------------- credits


def reserve_credits(
    tx: Tx,
    account: str,
    sel: blocks.Selection,
    hold: str,
    eligibility: Eligibility | None = None,
    *,
    new_hold: bool = False,
) -> tuple[list[Piece], Effects]:
    """Set the selected free credits of an account aside under ``hold`` (``new_hold``: the
    caller knows nothing is held under that name yet, such as a new order's id)."""
    if tx.ledger is not None and sel.range() is None:
        assert sel.quantity is not None
        if new_hold:
            tx.ledger.new_hold(account, hold)
        pieces = _decided(es.take_held(tx.ledger.free(account, eligibility), sel.quantity))
        return pieces, apply_credits(tx, es.reserve_credits(pieces, account, hold))
    pieces = blocks.plan(_store(tx), account, sel, eligibility=eligibility)
    return pieces, apply_credits(tx, es.reserve_credits(pieces, account, hold))


def reserve_issuance(
    tx: Tx, account: str, issuance_id: str, quantity: int, hold: str
) -> tuple[list[Piece], Effects]:
    """Set ``quantity`` free credits of one issuance aside under ``hold``, oldest serials first."""
    free = repo.blocks_in_account(_store(tx), account, BlockStatus.HELD, issuance_id=issuance_id)
    pieces = _decided(es.take_held(free, quantity))
    return pieces, apply_credits(tx, es.reserve_credits(pieces, account, hold))


def rehold_credits(
    tx: Tx, account: str, hold: str, quantity: int, to_hold: str | None
) -> tuple[list[Piece], Effects]:
    """Move ``quantity`` credits held under ``hold`` to ``to_hold`` (None: back to free)."""
    held = _held(tx, account, hold)
    move = _decided(es.rehold_credits(held, account, hold, quantity, to_hold))
    return list(move.pieces), apply_credits(tx, move)


def release_credits(tx: Tx, account: str, hold: str) -> tuple[list[Piece], Effects]:
    """Give every credit of the account held under ``hold`` back to free."""
    pieces = [Piece(b, b.start, b.end) for b in _held(tx, account, hold)]
    if not pieces:
        return [], []
    return pieces, apply_credits(tx, es.release_credits(pieces, account, hold))


# ---------------------------------------------------------------- deals


@dataclass(frozen=True, slots=True)
class DealEffects:
    """What handing a deal its cash and credits wrote, as journal effects."""

    moves: Effects
    cash_reserve: Effects
    pieces: Sequence[Piece]


def open_deal(
    tx: Tx,
    deal: Deal,
    credits_from: str,
    cash_from: str | None = None,
    cash_left: int = 0,
    *,
    new_hold: bool = False,
) -> DealEffects:
    """Hand a deal the seller's credits held under ``credits_from`` and the buyer's cash, and
    open its settlement obligation.

    The buyer's cash comes from free cash (``cash_from`` None) or from the hold ``cash_from``,
    which keeps ``cash_left``; if the deal's cash hold is a hold of its own it then takes
    ``deal.buyer_pays`` from free cash. Refuses (``insufficient_cash``, ``insufficient_credits``)
    before anything is written. ``new_hold``: the caller knows the deal's cash hold does not
    exist yet (named by a new trade's id).
    """
    buyer = _participant_account(tx, deal.buyer_id, deal.currency)
    source = _hold(tx, cash_from) if cash_from is not None else None
    if deal.cash_hold == cash_from:
        deal_hold = source
    else:
        deal_hold = None if new_hold else _hold(tx, deal.cash_hold)
    if new_hold and tx.ledger is not None:
        tx.ledger.no_hold(deal.cash_hold)
        tx.ledger.new_hold(deal.seller_account, deal.credit_hold)
    decision = _decided(
        es.to_deal(
            deal,
            buyer,
            source,
            cash_left,
            deal_hold,
            _held(tx, deal.seller_account, credits_from),
            credits_from,
        )
    )
    reserve: Effects = []
    for change in decision.cash:
        reserve += apply_cash(tx, change)
    moves = apply_credits(tx, decision.credits)
    open_obligation(tx, deal)
    return DealEffects(moves, reserve, decision.credits.pieces)


def open_obligation(tx: Tx, deal: Deal) -> None:
    """Record what a deal owes; its credits and cash must already be held for it. A deal due
    today or earlier can then be settled with `settlement.settle_now`."""
    repo.insert_row(
        tx.conn,
        t.settlement_obligations,
        deal_id=deal.deal_id,
        venue=deal.venue,
        instrument_id=deal.instrument_id,
        status="pending",
        buyer_id=deal.buyer_id,
        seller_id=deal.seller_id,
        buyer_account=deal.buyer_account,
        seller_account=deal.seller_account,
        currency=deal.currency,
        amount=deal.amount,
        quantity=deal.quantity,
        due_date=deal.due_date.isoformat(),
        credit_reservation=deal.credit_hold,
        cash_reservation=deal.cash_hold,
        buyer_fee=deal.buyer_fee,
        seller_fee=deal.seller_fee,
        late_charge=0,
    )


def release_deal(tx: Tx, ob: Any) -> tuple[list[Piece], Effects, Effects]:
    """Give a cancelled deal's credits back to the seller (credits frozen in a dispute stay
    frozen but no longer for the deal) and its cash back to the buyer."""
    conn = _store(tx)
    pieces, moves = release_credits(tx, ob.seller_account, ob.credit_reservation)
    frozen = repo.blocks_in_account(
        conn, ob.seller_account, BlockStatus.FROZEN, reservation=ob.credit_reservation
    )
    frozen_pieces = [Piece(b, b.start, b.end) for b in frozen]
    moves += blocks.move(
        tx, frozen_pieces, ob.seller_account, BlockStatus.FROZEN, "release", ob.deal_id
    )
    return pieces + frozen_pieces, moves, release_cash(tx, ob.cash_reservation)
