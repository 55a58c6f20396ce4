"""Reversals (issue 21 §1): carbon a removal project stored came back (a fire, a leak).

The registry operator reports one; in the same transaction, through the exchange's one writer
where it runs, credits equal to the reversed tonnes are cancelled, in the order
`domain.removals.compensate` gives: the project's own contributions to its scheme's buffer pool,
then (that buffer exhausted) the project's credits not yet retired wherever they are held, then
the rest of the scheme's pool. Credits a holder's open exchange order, marketplace listing or
firm offer holds are released first (the order cancelled, the listing or offer withdrawn); credits
in a deal awaiting settlement, in a sealed-bid auction or frozen are not taken. Retired credits
are never touched: their certificates show the reversal and how it was compensated. Each holder
whose credits were cancelled gets a notice; the reversal is public (`/removals`).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select

from tanso.domain.errors import Conflict, InvalidInput, NotFound
from tanso.domain.participants import Role
from tanso.domain.registry import SYSTEM_ACCOUNTS, AccountKind, Block, BlockStatus, Piece
from tanso.domain.removals import CAUSES, compensate
from tanso.services import notices
from tanso.services.common import Actor, Idem, execute, loader, new_id, plain, require
from tanso.services.ledger.blocks import move
from tanso.services.removals.profiles import (
    ReversalView,
    buffer_account_id,
    profile_row,
    reversal_view,
)
from tanso.services.venues import marketplace
from tanso.store import repo
from tanso.store import schema as t
from tanso.store.db import Database, Tx
from tanso.store.schema_removals import reversals

REASON = "reversal"


@dataclass(frozen=True, slots=True)
class NewReversal:
    project_id: str
    quantity: int
    cause: str
    occurred_on: str
    description: str = ""

    def check(self) -> None:
        if self.cause not in CAUSES:
            raise InvalidInput("invalid_cause", f"cause is one of {', '.join(CAUSES)}.")
        try:
            dt.date.fromisoformat(self.occurred_on)
        except ValueError:
            raise InvalidInput(
                "invalid_date", "occurred_on is a date such as 2026-08-14."
            ) from None
        if len(self.description) > 2000:
            raise InvalidInput("text_too_long", "description may be at most 2000 characters.")
        if not 1 <= self.quantity <= 10**12:
            raise InvalidInput(
                "invalid_quantity", "A reversal is a whole number of tonnes from 1 to 10^12."
            )


def _block(r: Any) -> Block:
    return Block(
        r.id,
        r.issuance_id,
        r.serial_start,
        r.serial_end,
        r.account_id,
        BlockStatus(r.status),
        r.vintage,
        r.reservation,
    )


def _project_blocks(conn: Connection, project_id: str, statuses: tuple[str, ...]) -> list[Block]:
    """The project's blocks in the given statuses, newest issuance first, then by serial."""
    b, i = t.blocks.c, t.issuances.c
    rows = conn.execute(
        select(t.blocks)
        .join(t.issuances, i.id == b.issuance_id)
        .where(i.project_id == project_id, b.status.in_(statuses))
        .order_by(i.journal_seq.desc(), b.issuance_id, b.serial_start)
    ).all()
    return [_block(r) for r in rows]


def _pool_blocks(conn: Connection, pool: str, project_id: str | None, others: bool) -> list[Block]:
    b, i = t.blocks.c, t.issuances.c
    q = (
        select(t.blocks)
        .join(t.issuances, i.id == b.issuance_id)
        .where(b.account_id == pool, b.status == BlockStatus.HELD.value)
        .order_by(i.journal_seq.desc(), b.issuance_id, b.serial_start)
    )
    q = q.where(i.project_id != project_id) if others else q.where(i.project_id == project_id)
    return [_block(r) for r in conn.execute(q).all()]


def _holder_blocks(conn: Connection, project_id: str, pool: str) -> list[Block]:
    """The project's credits a reversal may cancel from holders: held, or held by an order,
    listing or offer (not a deal awaiting settlement nor a sealed-bid auction); never in a
    system account (the pool, escrow, retired, cancelled, exported)."""
    out = []
    for blk in _project_blocks(conn, project_id, ("held", "reserved")):
        if blk.account.startswith("SYS-") or blk.account == pool:
            continue
        if blk.reservation and not _releasable(conn, blk.reservation):
            continue
        out.append(blk)
    return out


def _releasable(conn: Connection, hold: str) -> bool:
    if repo.is_trade_reservation(conn, hold):
        return False
    o = t.orders.c
    if conn.execute(select(o.id).where(o.id == hold, o.status == "open")).first():
        return True
    return marketplace.holds(conn, hold)


def _take(blocks: list[Block], quantity: int) -> list[Piece]:
    pieces, left = [], quantity
    for blk in blocks:
        if not left:
            break
        n = min(left, blk.quantity)
        pieces.append(Piece(blk, blk.start, blk.start + n - 1))
        left -= n
    return pieces


def _release(tx: Tx, actor: Actor, pieces: list[Piece]) -> list[str]:
    """Release the orders, listings and offers holding the chosen credits, one by one."""
    released = []
    for hold in sorted({p.block.reservation for p in pieces if p.block.reservation}):
        o = t.orders.c
        if tx.conn.execute(select(o.id).where(o.id == hold, o.status == "open")).first():
            if tx.cancel_order is None:
                raise Conflict(
                    "exchange_not_running",
                    f"Open order {hold} holds credits this reversal must cancel, and the "
                    "exchange is not running to cancel it; start the server and report again.",
                )
            tx.cancel_order(hold)
        elif marketplace.release_hold(tx, actor, hold, REASON) is None:
            continue
        released.append(hold)
    return released


def _within_issued(conn: Connection, project_id: str, quantity: int) -> None:
    """A reversal never exceeds what the project put into the registry less what earlier
    reversals already took back: a mistyped figure must not wipe out the pool."""
    i = t.issuances.c
    issued = int(
        conn.execute(
            select(func.coalesce(func.sum(i.quantity), 0)).where(i.project_id == project_id)
        ).scalar_one()
    )
    reversed_ = int(
        conn.execute(
            select(func.coalesce(func.sum(reversals.c.quantity), 0)).where(
                reversals.c.project_id == project_id
            )
        ).scalar_one()
    )
    if quantity > issued - reversed_:
        raise Conflict(
            "reversal_exceeds_issued",
            f"Project {project_id} issued {issued:,} t and {reversed_:,} t were reversed so far; "
            f"a reversal of {quantity:,} t is more than the {issued - reversed_:,} t left.",
        )


def report(db: Database, actor: Actor, n: NewReversal, idem: Idem | None = None) -> ReversalView:
    """Report a reversal and compensate it (registry operator)."""
    require(actor, Role.REGISTRY_OPERATOR, "report a reversal")
    n.check()

    def work(tx: Tx) -> ReversalView:
        conn = tx.conn
        project = repo.get_project(conn, n.project_id)
        if project is None:
            raise NotFound("project_not_found", f"There is no project {n.project_id}.")
        if profile_row(conn, n.project_id) is None:
            raise Conflict(
                "removal_profile_not_found",
                f"Project {n.project_id} has no removal profile; a reversal is reported for a "
                "removal project.",
            )
        _within_issued(conn, n.project_id, n.quantity)
        pool = buffer_account_id(project.scheme)
        own = _pool_blocks(conn, pool, n.project_id, others=False)
        holders = _holder_blocks(conn, n.project_id, pool)
        rest = _pool_blocks(conn, pool, n.project_id, others=True)
        plan = compensate(
            n.quantity,
            sum(b.quantity for b in own),
            sum(b.quantity for b in holders),
            sum(b.quantity for b in rest),
        )
        rid = new_id("REV")
        released: list[str] = []
        if plan.from_holders:
            released = _release(tx, actor, _take(holders, plan.from_holders))
            # the releases changed the blocks: read the holders' credits again, all free now
            holders = [b for b in _holder_blocks(conn, n.project_id, pool) if b.reservation is None]
        taken = (
            _take(own, plan.from_project_buffer)
            + _take(holders, plan.from_holders)
            + _take(rest, plan.from_pool)
        )
        if sum(p.quantity for p in taken) != plan.quantity - plan.uncompensated:
            raise Conflict(
                "reversal_changed",
                "The project's credits changed while the reversal was prepared; report it again.",
            )
        cancelled = [f"{p.block.issuance}-{p.start}-{p.end}" for p in taken]
        moves = (
            move(
                tx,
                taken,
                SYSTEM_ACCOUNTS[AccountKind.CANCELLATION],
                BlockStatus.CANCELLED,
                "reversal",
                rid,
            )
            if taken
            else []
        )
        row = {
            "id": rid,
            "project_id": n.project_id,
            "scheme": project.scheme,
            "quantity": n.quantity,
            "cause": n.cause,
            "occurred_on": n.occurred_on,
            "description": n.description,
            "from_project_buffer": plan.from_project_buffer,
            "from_holders": plan.from_holders,
            "from_pool": plan.from_pool,
            "uncompensated": plan.uncompensated,
            "cancelled": json.dumps(cancelled),
            "released": json.dumps(released),
            "reported_at": tx.at,
            "journal_seq": tx.next_seq(),
        }
        conn.execute(reversals.insert().values(**row))
        view = reversal_view(conn.execute(select(reversals).where(reversals.c.id == rid)).one())
        tx.record("removals.reversal", actor.label, plain(view) | {"moves": moves})
        hit: dict[str, int] = {}
        for p in _take(holders, plan.from_holders):
            owner = repo.get_account(conn, p.block.account)
            if owner is not None and owner.participant_id:
                hit[owner.participant_id] = hit.get(owner.participant_id, 0) + p.quantity
        for pid, quantity in sorted(hit.items()):
            notices.notify(
                tx,
                pid,
                "credits_reversed",
                rid,
                project=n.project_id,
                quantity=quantity,
                cause=n.cause,
                occurred_on=n.occurred_on,
            )
        return view

    return execute(db, actor, idem, work, 201, loader(ReversalView), sequenced=True)


def get(db: Database, reversal_id: str) -> ReversalView:
    with db.read() as conn:
        row = conn.execute(select(reversals).where(reversals.c.id == reversal_id)).first()
    if row is None:
        raise NotFound("reversal_not_found", f"There is no reversal {reversal_id}.")
    return reversal_view(row)
