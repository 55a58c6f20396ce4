"""The sequencer's escrow in memory: free and reserved cash, free and held credits, decided
without SQL and written once per batch.

The exchange's sequencer is the only writer while its batch holds the journal head, so what it
read of cash accounts, cash holds and credit blocks stays true until another writer's journal
entry appears. It keeps those rows here, decides each escrow step from them with the same pure
functions of domain/escrow.py that the store-backed escrow uses, and remembers what changed.
`flush` writes the changes of a whole batch with a handful of statements: one ``executemany``
UPDATE for the reserved cash of every account touched, one multi-row INSERT (and one UPDATE, one
DELETE) for the holds, one ``executemany`` INSERT for blocks split off, one
``executemany`` UPDATE for the blocks moved, one multi-row INSERT for the registry's movements.

Rules that keep memory and the database equal:

- a row is read from the database only when nothing about it is waiting to be written (every
  read first flushes), and from then on the memory is its truth;
- anything written by someone else (a journal entry the sequencer did not record, a unit of
  work of another use case run in the batch) makes the sequencer `forget` everything;
- a failed batch is rolled back, and the memory discarded with it.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, select

from tanso.domain import escrow as es
from tanso.domain.instruments import Eligibility
from tanso.domain.registry import Block, BlockStatus, Piece
from tanso.store import repo
from tanso.store import schema as t
from tanso.store.db import Tx, insert_sql, run_many

FREE_PREFIX = 1_000
"""Free blocks of an account read at first (oldest first); more are read if a plan needs them."""

_b = t.blocks.c
_SET_RESERVED = "UPDATE cash_accounts SET reserved = :reserved WHERE id = :id"
_NEW_HOLDS = insert_sql("cash_reservations", ("id", "cash_account_id", "amount"))
_SET_HOLD = "UPDATE cash_reservations SET amount = :amount WHERE id = :id"
_DROP_HOLD = "DELETE FROM cash_reservations WHERE id = :id"
_SET_BLOCK = (
    "UPDATE blocks SET serial_start = :start, serial_end = :end, account_id = :account, "
    "status = :status, reservation = :reservation "
    "WHERE issuance_id = :issuance AND serial_start = :stored"
)
"""A block is found by its issuance and first serial (serials are in one block each)."""
_NEW_BLOCKS = (
    "INSERT INTO blocks (issuance_id, serial_start, serial_end, account_id, status, vintage, "
    "reservation) VALUES (:issuance, :start, :end, :account, :status, :vintage, :reservation)"
)
_MOVEMENTS = insert_sql(
    "credit_movements",
    (
        "journal_seq",
        "kind",
        "ref",
        "issuance_id",
        "serial_start",
        "serial_end",
        "from_account",
        "to_account",
    ),
)
_FREE = (
    select(t.blocks)
    .where(_b.account_id == bindparam("account"), _b.status == BlockStatus.HELD.value)
    .order_by(_b.vintage, _b.issuance_id, _b.serial_start)
    .limit(bindparam("limit"))
)
_HELD = (
    select(t.blocks)
    .where(
        _b.account_id == bindparam("account"),
        _b.status == BlockStatus.RESERVED.value,
        _b.reservation == bindparam("hold"),
    )
    .order_by(_b.vintage, _b.issuance_id, _b.serial_start)
)


@dataclass(slots=True, eq=False)
class _Cash:
    id: str
    currency: str
    balance: int
    reserved: int

    def view(self) -> es.CashAccount:
        return es.CashAccount(self.id, self.currency, self.balance, self.reserved)


@dataclass(slots=True, eq=False)
class _Hold:
    id: str
    account: str
    amount: int
    stored: bool
    """Whether the database has the row (as of the last flush)."""


@dataclass(slots=True, eq=False)
class _Blk:
    """A block as the memory knows it; ``stored`` is the first serial of its row as the database
    has it (None: not written yet)."""

    stored: int | None
    issuance: str
    start: int
    end: int
    account: str
    status: BlockStatus
    vintage: int
    reservation: str | None

    def key(self) -> tuple[int, str, int]:
        return (self.vintage, self.issuance, self.start)


@dataclass(slots=True)
class _Free:
    """An account's free blocks, oldest first: all of them (``complete``) or the oldest ones."""

    blocks: list[_Blk]
    complete: bool


def _blk(r: Any) -> _Blk:
    return _Blk(
        r.serial_start,
        r.issuance_id,
        r.serial_start,
        r.serial_end,
        r.account_id,
        BlockStatus(r.status),
        r.vintage,
        r.reservation,
    )


@dataclass
class MemoryLedger:
    """Escrow state held by the sequencer (see the module's rules)."""

    tx: Tx | None = None
    prefix: int = FREE_PREFIX
    """How many free blocks of an account are read at first."""
    changes: int = 0
    """Escrow steps applied in memory so far (a failure after one must undo the batch)."""
    _cash: dict[str, _Cash | None] = field(default_factory=dict)
    _holds: dict[str, _Hold | None] = field(default_factory=dict)
    _free: dict[str, _Free] = field(default_factory=dict)
    _held: dict[tuple[str, str], list[_Blk]] = field(default_factory=dict)
    _issuances: dict[str, dict[str, Any]] = field(default_factory=dict)
    _dirty_cash: dict[str, _Cash] = field(default_factory=dict)
    _dirty_holds: dict[str, _Hold] = field(default_factory=dict)
    _dirty_blocks: dict[int, _Blk] = field(default_factory=dict)
    _movements: list[dict[str, Any]] = field(default_factory=list)

    # ------------------------------------------------------------ the batch

    def forget(self) -> None:
        """Drop every remembered row and every unwritten change (the database is the truth)."""
        self._cash.clear()
        self._holds.clear()
        self._free.clear()
        self._held.clear()
        self._issuances.clear()
        self._drop_pending()

    def _drop_pending(self) -> None:
        self._dirty_cash.clear()
        self._dirty_holds.clear()
        self._dirty_blocks.clear()
        self._movements.clear()

    @property
    def pending(self) -> bool:
        return bool(self._dirty_cash or self._dirty_holds or self._dirty_blocks or self._movements)

    def flush(self) -> None:
        """Write every change made in memory since the last flush, in a few statements."""
        if not self.pending:
            return
        assert self.tx is not None
        conn = self.tx.conn
        run_many(
            conn,
            _SET_RESERVED,
            [{"id": c.id, "reserved": c.reserved} for c in self._dirty_cash.values()],
        )
        news, sizes, gone = [], [], []
        for h in self._dirty_holds.values():
            if h.amount and not h.stored:
                news.append({"id": h.id, "cash_account_id": h.account, "amount": h.amount})
            elif h.amount:
                sizes.append({"id": h.id, "amount": h.amount})
            elif h.stored:
                gone.append({"id": h.id})
            h.stored = h.amount > 0
            if not h.amount:
                self._holds.pop(h.id, None)
        run_many(conn, _NEW_HOLDS, news)
        run_many(conn, _SET_HOLD, sizes)
        run_many(conn, _DROP_HOLD, gone)
        moved, born = [], []
        for b in self._dirty_blocks.values():
            row = {
                "issuance": b.issuance,
                "start": b.start,
                "end": b.end,
                "account": b.account,
                "status": b.status.value,
                "reservation": b.reservation,
            }
            if b.stored is None:
                born.append(row | {"vintage": b.vintage})
            else:
                moved.append(row | {"stored": b.stored})
            b.stored = b.start
        run_many(conn, _SET_BLOCK, moved)  # before the new rows: a new row may start where
        run_many(conn, _NEW_BLOCKS, born)  # a moved one started
        run_many(conn, _MOVEMENTS, self._movements)
        self._drop_pending()

    # ------------------------------------------------------------ cash

    def cash_account(self, account_id: str) -> es.CashAccount | None:
        c = self._cash_row(account_id)
        return None if c is None else c.view()

    def _cash_row(self, account_id: str) -> _Cash | None:
        if account_id not in self._cash:
            self.flush()
            assert self.tx is not None
            row = repo.get_cash_account(self.tx.conn, account_id)
            self._cash[account_id] = (
                None if row is None else _Cash(row.id, row.currency, row.balance, row.reserved)
            )
        return self._cash[account_id]

    def participant_cash(self, pid: str, currency: str) -> es.CashAccount:
        cid = es.cash_account_id(pid, currency)
        c = self._cash_row(cid)
        if c is None:
            assert self.tx is not None
            repo.ensure_cash_account(self.tx.conn, cid, pid, currency, "participant")
            c = self._cash[cid] = _Cash(cid, currency, 0, 0)
        return c.view()

    def cash_hold(self, hold: str) -> es.CashHold | None:
        if hold not in self._holds:
            self.flush()
            assert self.tx is not None
            row = repo.get_cash_reservation(self.tx.conn, hold)
            self._holds[hold] = (
                None if row is None else _Hold(hold, row.cash_account_id, row.amount, True)
            )
        h = self._holds[hold]
        return None if h is None or not h.amount else es.CashHold(h.id, h.account, h.amount)

    def no_hold(self, hold: str) -> None:
        """The caller knows no hold of that name exists (one named by a new order's id)."""
        self._holds.setdefault(hold, None)

    def apply_cash(self, change: es.CashChange) -> None:
        c = self._cash_row(change.account)
        assert c is not None, change.account
        self.changes += 1
        c.reserved += change.delta
        self._dirty_cash[c.id] = c
        h = self._holds.get(change.hold)
        if h is None:
            h = self._holds[change.hold] = _Hold(change.hold, change.account, 0, False)
        h.amount = change.amount
        self._dirty_holds[h.id] = h

    # ------------------------------------------------------------ credits

    def _details(self, issuance: str) -> dict[str, Any]:
        if issuance not in self._issuances:
            assert self.tx is not None
            self._issuances.update(repo.issuance_details(self.tx.conn, [issuance]))
        return self._issuances.get(issuance, {})

    def _free_of(self, account: str, at_least: int) -> _Free:
        free = self._free.get(account)
        if free is None or (not free.complete and len(free.blocks) < at_least):
            self.flush()
            assert self.tx is not None
            rows = self.tx.conn.execute(_FREE, {"account": account, "limit": at_least}).all()
            # blocks already handed out stay the same objects (a plan may be holding them)
            known = {(b.issuance, b.start): b for b in free.blocks} if free is not None else {}
            free = self._free[account] = _Free(
                [known.get((r.issuance_id, r.serial_start)) or _blk(r) for r in rows],
                len(rows) < at_least,
            )
        return free

    def free(self, account: str, eligibility: Eligibility | None) -> Iterator[Block]:
        """The account's free blocks the rule admits, oldest first (read further as needed)."""
        seen = 0
        while True:
            free = self._free_of(account, max(self.prefix, seen * 4))
            for b in free.blocks[seen:]:
                seen += 1
                if eligibility is None or eligibility.admits(self._details(b.issuance)):
                    yield _view(b)
            if free.complete:
                return
            # a plan wants more than was read: read more of the account (written first)

    def held(self, account: str, hold: str) -> list[Block]:
        """The blocks of the account held under ``hold``, oldest first."""
        return [_view(b) for b in self._held_of(account, hold)]

    def new_hold(self, account: str, hold: str) -> None:
        """The caller knows no credits are held under ``hold`` yet."""
        self._held.setdefault((account, hold), [])

    def _held_of(self, account: str, hold: str) -> list[_Blk]:
        key = (account, hold)
        if key not in self._held:
            self.flush()
            assert self.tx is not None
            rows = self.tx.conn.execute(_HELD, {"account": account, "hold": hold}).all()
            self._held[key] = [_blk(r) for r in rows]
        return self._held[key]

    def _list_of(self, b: _Blk) -> list[_Blk] | None:
        if b.status is BlockStatus.HELD:
            free = self._free.get(b.account)
            return None if free is None else free.blocks
        if b.status is BlockStatus.RESERVED and b.reservation is not None:
            return self._held.get((b.account, b.reservation))
        return None

    def _place(self, b: _Blk) -> None:
        """Put a moved block into the list it now belongs to, if that list is in memory (if not,
        the list is read from the database when needed, after the block is written)."""
        target = self._list_of(b)
        if target is None:
            return
        at = bisect.bisect_left(target, b.key(), key=_Blk.key)
        free = self._free.get(b.account) if b.status is BlockStatus.HELD else None
        if free is None or at < len(target) or free.complete:
            target.insert(at, b)

    @staticmethod
    def owns(pieces: Iterable[Piece]) -> bool:
        """Whether the pieces were planned from this memory (else from the database)."""
        return all(isinstance(p.block, _View) for p in pieces)

    def apply_credits(self, move: es.CreditMove) -> None:
        """Move planned pieces (of blocks this memory handed out) and log the movements."""
        assert self.tx is not None
        seq = self.tx.next_seq()
        self.changes += 1
        for p in move.pieces:
            b = _source(p.block)
            src = self._list_of(b)
            at = src.index(b) if src is not None else -1
            if src is not None:
                del src[at]
            rests = []
            for lo, hi in p.remainders():
                rest = _Blk(None, b.issuance, lo, hi, b.account, b.status, b.vintage, b.reservation)
                rests.append(rest)
                self._dirty_blocks[id(rest)] = rest
            if src is not None:
                src[at:at] = rests
            self._movements.append(
                {
                    "journal_seq": seq,
                    "kind": move.kind,
                    "ref": move.ref,
                    "issuance_id": b.issuance,
                    "serial_start": p.start,
                    "serial_end": p.end,
                    "from_account": b.account,
                    "to_account": move.to_account,
                }
            )
            b.start, b.end = p.start, p.end
            b.account, b.status, b.reservation = move.to_account, move.to_status, move.hold
            self._dirty_blocks[id(b)] = b
            self._place(b)


class _View(Block):
    """The domain `Block` a plan sees, linked to the memory's block it was made from."""

    __slots__ = ("src",)
    src: _Blk


def _view(b: _Blk) -> Block:
    view = _View(0, b.issuance, b.start, b.end, b.account, b.status, b.vintage, b.reservation)
    object.__setattr__(view, "src", b)
    return view


def _source(view: Block) -> _Blk:
    assert isinstance(view, _View), "a plan of the memory ledger moves only blocks it handed out"
    return view.src
