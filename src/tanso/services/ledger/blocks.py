"""Credit blocks: which pieces of which blocks a selection takes, and moving them.

The registry's operations, the escrow of every venue and the usage rules read credits through
this module; it owns no use case and records no journal entry (its callers do).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from tanso.domain.errors import Conflict, InvalidInput
from tanso.domain.escrow import CreditMove, move_effects
from tanso.domain.instruments import Eligibility
from tanso.domain.registry import BlockStatus, Piece, check_quantity, take_quantity, take_range
from tanso.domain.serials import SerialRange, parse_block, parse_serial_range
from tanso.store import repo
from tanso.store.db import Tx


@dataclass(frozen=True, slots=True)
class Selection:
    """Which credits: a quantity (oldest vintage first), or a serial range, or both (must agree)."""

    quantity: int | None = None
    serial_start: str | None = None
    serial_end: str | None = None
    serials: str | None = None

    def range(self) -> SerialRange | None:
        if self.serials:
            if self.serial_start or self.serial_end:
                raise InvalidInput(
                    "ambiguous_serials", "Give either serials or serial_start/serial_end."
                )
            r = parse_block(self.serials)
        elif self.serial_start or self.serial_end:
            if not (self.serial_start and self.serial_end):
                raise InvalidInput("incomplete_range", "Give both serial_start and serial_end.")
            r = parse_serial_range(self.serial_start, self.serial_end)
        else:
            if self.quantity is None:
                raise InvalidInput("nothing_selected", "Give a quantity or a serial range.")
            check_quantity(self.quantity)
            return None
        if self.quantity is not None and self.quantity != r.quantity:
            raise InvalidInput(
                "quantity_mismatch",
                f"The serial range holds {r.quantity} credits but quantity says {self.quantity}.",
            )
        return r


def plan(
    conn: Connection,
    account: str,
    sel: Selection,
    status: BlockStatus = BlockStatus.HELD,
    categories: Sequence[str] | None = None,
    eligibility: Eligibility | None = None,
) -> list[Piece]:
    """Which pieces of which blocks a selection takes from an account.

    With an eligibility rule (an instrument's), only admitted credits are taken, and a named
    serial range is refused unless every credit in it is admitted.
    """
    if categories:
        eligibility = Eligibility(categories=tuple(categories))
    r = sel.range()
    if r is None:
        assert sel.quantity is not None
        blocks = repo.blocks_in_account(conn, account, status, eligibility=eligibility)
        return take_quantity(blocks, sel.quantity)
    if eligibility is not None:
        details = repo.issuance_details(conn, [r.issuance]).get(r.issuance)
        if details is None or not eligibility.admits(details):
            raise Conflict(
                "credits_not_eligible",
                f"Serials {r} are not eligible for delivery under this instrument.",
            )
    candidates = [
        b
        for b in repo.blocks_overlapping(conn, r.issuance, r.start, r.end)
        if b.account == account and b.status == status
    ]
    return take_range(candidates, r.issuance, r.start, r.end)


def take(tx: Tx, account: str, sel: Selection) -> list[Piece]:
    """`plan` inside a transaction: from the sequencer's memory where it runs the transaction
    and the selection is a quantity (oldest first), else from the database (the memory is
    written out and forgotten first, as the database's rows are about to change)."""
    if tx.ledger is not None and sel.range() is None:
        assert sel.quantity is not None
        return take_quantity(tx.ledger.free(account, None), sel.quantity)
    if tx.ledger is not None:
        tx.ledger.flush()
        tx.ledger.forget()
    return plan(tx.conn, account, sel)


def move(
    tx: Tx,
    pieces: Sequence[Piece],
    to_account: str,
    to_status: BlockStatus,
    kind: str,
    ref: str | None = None,
    reservation: str | None = None,
) -> list[list[Any]]:
    """Apply planned pieces and return them as journal ``moves`` (in the sequencer's memory if
    they were planned from it)."""
    if tx.ledger is not None and tx.ledger.owns(pieces):
        tx.ledger.apply_credits(
            CreditMove(tuple(pieces), to_account, to_status, kind, ref, reservation)
        )
        return move_effects(pieces, to_account, to_status, reservation)
    repo.apply_pieces(tx.conn, pieces, to_account, to_status, reservation)
    repo.record_movements(tx.conn, tx.next_seq(), kind, ref, pieces, to_account)
    return move_effects(pieces, to_account, to_status, reservation)


@dataclass(frozen=True, slots=True)
class CreditRange:
    """A serial range of one issuance that an operation moved."""

    issuance_id: str
    serial_start: int
    serial_end: int
    serials: str
    quantity: int
    vintage: int


def credit_ranges(pieces: Sequence[Piece]) -> list[CreditRange]:
    return [
        CreditRange(
            issuance_id=p.block.issuance,
            serial_start=p.start,
            serial_end=p.end,
            serials=f"{p.block.issuance}-{p.start}-{p.end}",
            quantity=p.quantity,
            vintage=p.block.vintage,
        )
        for p in pieces
    ]


def ranges_view(pieces: Sequence[Piece]) -> list[dict[str, Any]]:
    """The ranges as the journal records them (``credit_ranges`` in its plain form)."""
    return [
        {
            "issuance_id": p.block.issuance,
            "serial_start": p.start,
            "serial_end": p.end,
            "serials": f"{p.block.issuance}-{p.start}-{p.end}",
            "quantity": p.quantity,
            "vintage": p.block.vintage,
        }
        for p in pieces
    ]
