"""Escrow: what setting cash and credits aside for an order, a listing, a bid or a deal moves.

Every venue (the exchange, the marketplace, sealed-bid auctions, venues to come) holds what a
participant has promised under a *hold* — a reservation named by the order, listing, bid or deal
it backs — and hands the held cash and credits to a deal whose settlement obligation then owes
them. This module decides, from plain values, what such a step moves or why it cannot: it reads
no database and writes nothing. services/clearing/escrow.py applies a decision to the store and
states it as journal effects (``cash_reserve`` ``[[cash_account, delta], ...]`` and credit
``moves``, the shapes `journal.LedgerFold` folds), so that a sequencer can also take the
decisions in memory and write them later in batches.

Cash is conserved: a decision only moves money between an account's free and reserved parts,
never more out of free than is free, never more back than the hold holds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from tanso.domain.errors import Conflict, InvalidInput, NotFound, TansoError
from tanso.domain.money import positive_amount
from tanso.domain.registry import Block, BlockStatus, Piece, take_quantity

# ---------------------------------------------------------------- refusals


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an escrow step cannot be taken; nothing moves. ``kind`` is a `TansoError` kind."""

    code: str
    message: str
    kind: str = "conflict"

    def error(self) -> TansoError:
        """The domain error that tells the caller."""
        return _ERRORS.get(self.kind, Conflict)(self.code, self.message)


_ERRORS: dict[str, type[TansoError]] = {
    "conflict": Conflict,
    "not_found": NotFound,
    "invalid": InvalidInput,
}


def _refuse(code: str, message: str, kind: str = "conflict") -> Refusal:
    return Refusal(code, message, kind)


# ---------------------------------------------------------------- cash


def cash_account_id(pid: str, currency: str) -> str:
    """A participant's cash account in one currency (one each)."""
    return f"CASH-{pid}-{currency}"


@dataclass(frozen=True, slots=True)
class CashAccount:
    """A cash account as the decision sees it: its balance and the part of it reserved."""

    id: str
    currency: str
    balance: int = 0
    reserved: int = 0

    @property
    def free(self) -> int:
        return self.balance - self.reserved


@dataclass(frozen=True, slots=True)
class CashHold:
    """Cash set aside under one hold (an order's, a bid's, a deal's id)."""

    id: str
    account: str
    amount: int


@dataclass(frozen=True, slots=True)
class CashChange:
    """One hold changed: ``delta`` more (negative: less) of ``account`` reserved; afterwards the
    hold holds ``amount`` (0: the hold is gone). ``existed`` says whether the hold was there."""

    hold: str
    account: str
    currency: str
    delta: int
    amount: int
    existed: bool

    def effects(self) -> list[list[Any]]:
        """The journal's ``cash_reserve`` effects: none when nothing moves."""
        return [[self.account, self.delta]] if self.delta else []

    def after(self, account: CashAccount) -> CashAccount:
        """The account once the change is applied (for deciding the next step in memory)."""
        return CashAccount(
            account.id, account.currency, account.balance, account.reserved + self.delta
        )


def _insufficient(account: CashAccount, amount: int) -> Refusal:
    return _refuse(
        "insufficient_cash",
        f"Cash account {account.id} does not have {amount} {account.currency} free to reserve.",
    )


def reserve_cash(
    account: CashAccount, hold: str, existing: CashHold | None, amount: int
) -> CashChange | Refusal:
    """Set ``amount`` of free cash aside under a new hold."""
    positive_amount(amount)
    if existing is not None:
        return _refuse("reservation_exists", f"Reservation {hold} already exists.")
    if amount > account.free:
        return _insufficient(account, amount)
    return CashChange(hold, account.id, account.currency, amount, amount, False)


def resize_cash(
    account: CashAccount, hold: str, existing: CashHold | None, amount: int
) -> CashChange | Refusal:
    """Make a hold hold ``amount`` (> 0): take the difference from free cash, or give back the
    excess. A hold that is not there yet is created."""
    positive_amount(amount)
    have = existing.amount if existing is not None else 0
    if existing is not None and existing.account != account.id:
        return _refuse("reservation_exists", f"Reservation {hold} holds another account's cash.")
    delta = amount - have
    if delta > account.free:
        return _insufficient(account, delta)
    return CashChange(hold, account.id, account.currency, delta, amount, existing is not None)


def release_cash(
    account: CashAccount, hold: str, existing: CashHold | None, amount: int | None = None
) -> CashChange | Refusal:
    """Give back all (``amount`` None) or ``amount`` of what a hold holds to free cash."""
    if existing is None:
        return _refuse("reservation_not_found", f"No cash is reserved under {hold}.", "not_found")
    amount = existing.amount if amount is None else amount
    if amount < 0 or amount > existing.amount:
        return _refuse("release_too_large", f"Reservation {hold} holds only {existing.amount}.")
    return CashChange(
        hold, existing.account, account.currency, -amount, existing.amount - amount, True
    )


# ---------------------------------------------------------------- credits


@dataclass(frozen=True, slots=True)
class CreditMove:
    """Pieces of blocks that go to ``to_account`` with ``to_status`` under ``hold`` (None: no
    longer held for anything); ``kind`` and ``ref`` name the movement in the registry's log."""

    pieces: tuple[Piece, ...]
    to_account: str
    to_status: BlockStatus
    kind: str
    ref: str | None
    hold: str | None

    @property
    def quantity(self) -> int:
        return sum(p.quantity for p in self.pieces)

    def effects(self) -> list[list[Any]]:
        """The journal's credit ``moves``."""
        return move_effects(self.pieces, self.to_account, self.to_status, self.hold)


def move_effects(
    pieces: Iterable[Piece], to_account: str, to_status: BlockStatus, hold: str | None
) -> list[list[Any]]:
    """Pieces as journal ``moves``: issuance, serials, from and to account and status, hold."""
    return [
        [
            p.block.issuance,
            p.start,
            p.end,
            p.block.account,
            p.block.status.value,
            to_account,
            to_status.value,
            hold,
        ]
        for p in pieces
    ]


def reserve_credits(pieces: Sequence[Piece], account: str, hold: str) -> CreditMove:
    """Set the planned held pieces of an account aside under ``hold``."""
    return CreditMove(tuple(pieces), account, BlockStatus.RESERVED, "reservation", hold, hold)


def take_held(blocks: Iterable[Block], quantity: int) -> list[Piece] | Refusal:
    """The oldest ``quantity`` credits of the blocks given in priority order, or why not."""
    try:
        return take_quantity(blocks, quantity)
    except TansoError as e:
        return _refuse(e.code, e.message, e.kind)


def rehold_credits(
    held: Iterable[Block], account: str, hold: str, quantity: int, to_hold: str | None
) -> CreditMove | Refusal:
    """Move ``quantity`` of the credits held under ``hold`` to another hold (a deal's), or back
    to the account's free credits when ``to_hold`` is None."""
    pieces = take_held(held, quantity)
    if isinstance(pieces, Refusal):
        return pieces
    if to_hold is None:
        return release_credits(pieces, account, hold)
    return CreditMove(tuple(pieces), account, BlockStatus.RESERVED, "obligation", to_hold, to_hold)


def release_credits(pieces: Iterable[Piece], account: str, hold: str) -> CreditMove:
    """Give the given pieces (held under ``hold``) back to the account's free credits."""
    return CreditMove(tuple(pieces), account, BlockStatus.HELD, "release", hold, None)


# ---------------------------------------------------------------- deals


@dataclass(frozen=True, slots=True)
class Deal:
    """What a deal of any venue owes on its due date: the settlement obligation.

    The seller's credits are held under ``credit_hold`` and the buyer's cash (amount plus the
    buyer's fee) under ``cash_hold``; settlement moves both legs at once."""

    deal_id: str
    venue: str
    buyer_id: str
    seller_id: str
    buyer_account: str
    seller_account: str
    currency: str
    amount: int
    quantity: int
    due_date: dt.date
    credit_hold: str
    cash_hold: str
    instrument_id: str | None = None
    buyer_fee: int = 0
    seller_fee: int = 0

    @property
    def buyer_pays(self) -> int:
        """The cash the buyer's hold must hold: the deal's value and the buyer's fee."""
        return self.amount + self.buyer_fee


@dataclass(frozen=True, slots=True)
class DealEscrow:
    """The steps that hand a deal what it settles with: the buyer's cash (a smaller hold left
    where it came from, then a new hold for the deal), the seller's credits to the deal's hold."""

    cash: tuple[CashChange, ...]
    credits: CreditMove

    def cash_effects(self) -> list[list[Any]]:
        return [e for c in self.cash for e in c.effects()]


def to_deal(
    deal: Deal,
    buyer: CashAccount,
    cash_from: CashHold | None,
    cash_left: int,
    deal_hold: CashHold | None,
    seller_held: Iterable[Block],
    credits_from: str,
) -> DealEscrow | Refusal:
    """Hand a deal its cash and credits.

    ``cash_from`` is the hold the buyer's cash came from (an order's, a bid's; None: free cash);
    it keeps ``cash_left``. When the deal's cash hold is that same hold it simply holds what is
    left; otherwise the deal's hold takes ``buyer_pays`` from free cash. ``seller_held`` are the
    blocks held under ``credits_from``, of which ``quantity`` move to the deal's credit hold.
    """
    steps: list[CashChange] = []
    account = buyer
    if cash_from is not None and cash_from.amount > cash_left:
        shrink = release_cash(account, cash_from.id, cash_from, cash_from.amount - cash_left)
        if isinstance(shrink, Refusal):
            return shrink
        steps.append(shrink)
        account = shrink.after(account)
    if cash_from is None or deal.cash_hold != cash_from.id:
        take = reserve_cash(account, deal.cash_hold, deal_hold, deal.buyer_pays)
        if isinstance(take, Refusal):
            return take
        steps.append(take)
    credits = rehold_credits(
        seller_held, deal.seller_account, credits_from, deal.quantity, deal.credit_hold
    )
    if isinstance(credits, Refusal):
        return credits
    return DealEscrow(tuple(steps), credits)
