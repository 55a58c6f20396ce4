"""Credit blocks and how they move: selection, splitting and the partition invariant.

A block is a contiguous serial range of one issuance held in one account with one status. For
each issuance the blocks partition the issued range exactly: no gap, no overlap. Moving part of
a block splits it. These functions plan moves; they never touch storage.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from tanso.domain.errors import Conflict, InvalidInput


class BlockStatus(StrEnum):
    HELD = "held"
    RESERVED = "reserved"
    FROZEN = "frozen"
    RETIRED = "retired"
    CANCELLED = "cancelled"
    EXPORTED = "exported"


FINAL_STATUSES = frozenset({BlockStatus.RETIRED, BlockStatus.CANCELLED})
"""Retired (無効化) and cancelled (取消) credits never move again."""


class AccountKind(StrEnum):
    HOLDING = "holding"
    RETIREMENT = "retirement"
    CANCELLATION = "cancellation"
    ESCROW = "escrow"
    EXTERNAL = "external"
    COMPLIANCE = "compliance"
    """A GX-ETS covered entity's compliance (surrender) account: what it surrendered, for good."""
    BUFFER = "buffer"
    """A scheme's buffer pool of removal credits (``SYS-BUFFER-<scheme>``), held against
    reversals; its credits are cancelled to compensate one, never traded or retired."""


SYSTEM_ACCOUNTS: dict[AccountKind, str] = {
    AccountKind.RETIREMENT: "SYS-RETIREMENT",
    AccountKind.CANCELLATION: "SYS-CANCELLATION",
    AccountKind.ESCROW: "SYS-ESCROW",
    AccountKind.EXTERNAL: "SYS-EXTERNAL",
}

MAX_QUANTITY = 10**12


@dataclass(frozen=True, slots=True)
class Block:
    """A contiguous serial range of one issuance, held in one account with one status."""

    id: int
    issuance: str
    start: int
    end: int
    account: str
    status: BlockStatus
    vintage: int = 0
    reservation: str | None = None

    @property
    def quantity(self) -> int:
        return self.end - self.start + 1


@dataclass(frozen=True, slots=True)
class Piece:
    """The part ``start..end`` of block ``block`` that a move takes."""

    block: Block
    start: int
    end: int

    @property
    def quantity(self) -> int:
        return self.end - self.start + 1

    @property
    def whole(self) -> bool:
        return self.start == self.block.start and self.end == self.block.end

    def remainders(self) -> list[tuple[int, int]]:
        """The ranges of the block left behind, before and after the piece."""
        out = []
        if self.start > self.block.start:
            out.append((self.block.start, self.start - 1))
        if self.end < self.block.end:
            out.append((self.end + 1, self.block.end))
        return out


def check_quantity(quantity: int) -> int:
    """Refuse a zero, negative or absurd quantity."""
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise InvalidInput(
            "invalid_quantity", "The quantity must be a whole number greater than zero."
        )
    if quantity > MAX_QUANTITY:
        raise InvalidInput("quantity_too_large", f"A quantity may not exceed {MAX_QUANTITY}.")
    return quantity


def oldest_first_key(block: Block) -> tuple[int, str, int]:
    """Oldest vintage first, then by issuance and serial, so the choice is deterministic."""
    return (block.vintage, block.issuance, block.start)


def take_quantity(blocks: Iterable[Block], quantity: int) -> list[Piece]:
    """Plan taking ``quantity`` from blocks given in priority order; the last may be split.

    Refuses with ``insufficient_credits`` if the blocks hold less than asked.
    """
    check_quantity(quantity)
    pieces: list[Piece] = []
    left = quantity
    for b in blocks:
        if left == 0:
            break
        n = min(left, b.quantity)
        pieces.append(Piece(b, b.start, b.start + n - 1))
        left -= n
    if left:
        raise Conflict(
            "insufficient_credits",
            f"The account holds {quantity - left:,} eligible credits but {quantity:,} were "
            "asked for.",
        )
    return pieces


def take_range(blocks: Sequence[Block], issuance: str, start: int, end: int) -> list[Piece]:
    """Plan taking the serial range ``start..end``; it must lie wholly inside the given blocks.

    ``blocks`` are the candidate blocks (of the sending account, in the movable status) of the
    issuance; refuses with ``serials_not_available`` if any serial of the range is not among them.
    """
    if start > end:
        raise InvalidInput(
            "invalid_serial_range",
            f"A serial range must not end before it starts; got {start}-{end}.",
        )
    ordered = sorted((b for b in blocks if b.issuance == issuance), key=lambda b: b.start)
    pieces: list[Piece] = []
    cursor = start
    for b in ordered:
        if b.end < cursor:
            continue
        if b.start > cursor:
            break
        hi = min(end, b.end)
        pieces.append(Piece(b, cursor, hi))
        cursor = hi + 1
        if cursor > end:
            return pieces
    raise Conflict(
        "serials_not_available",
        f"Serials {issuance}-{start}-{end} are not all held, unreserved, in the sending account.",
    )


def check_partition(issued: tuple[int, int], ranges: Iterable[tuple[int, int]]) -> str | None:
    """Return why ``ranges`` fail to partition the issued range exactly, or None if they do."""
    lo, hi = issued
    cursor = lo
    for start, end in sorted(ranges):
        if start < cursor:
            return f"overlap at serial {start}"
        if start > cursor:
            return f"gap at serials {cursor}-{start - 1}"
        if end < start:
            return f"reversed range {start}-{end}"
        cursor = end + 1
    if cursor > hi + 1:
        return f"serials {hi + 1}-{cursor - 1} lie beyond the issued range"
    if cursor != hi + 1:
        return f"gap at serials {cursor}-{hi}"
    return None
