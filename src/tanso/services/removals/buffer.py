"""What an issuance of a removal project does besides creating its credits: the buffer pool's
share moves to the scheme's pool, then forward offtake contracts take their deliveries. Both run
inside the issuance's transaction, each with its journal entry after the issuance's own."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tanso.domain.registry import BlockStatus, Piece
from tanso.domain.removals import buffer_share
from tanso.services.ledger.blocks import move
from tanso.services.removals import offtake
from tanso.services.removals.profiles import ensure_buffer_account, profile_row
from tanso.store import repo
from tanso.store.db import Tx
from tanso.store.schema_removals import buffer_contributions


@dataclass(frozen=True, slots=True)
class AfterIssuance:
    """The buffer share an issuance put in its scheme's pool (serials, tonnes) and the
    deliveries forward contracts took from it."""

    buffer_serials: str | None = None
    buffer_quantity: int = 0
    deliveries: list[Any] = field(default_factory=list)


def after_issuance(
    tx: Tx,
    actor_label: str,
    issuance_id: str,
    project_id: str,
    scheme: str,
    quantity: int,
    account_id: str,
    *,
    issued: bool = True,
    rate_bp: int | None = None,
) -> AfterIssuance:
    """Move the buffer rate's share of a fresh issuance (its last serials) to the scheme's
    buffer pool, where the project has reversal risk; then deliver under forward contracts from
    what the account received. Credits deposited from another registry (``issued`` False) put
    nothing in the pool here: that registry keeps their buffer. ``rate_bp``: the rate an
    approved issuance request fixed (its methodology's), instead of the removal profile's."""
    conn = tx.conn
    if rate_bp is None:
        prof = profile_row(conn, project_id)
        risky = prof is not None and prof.reversal_risk != "none"
        rate_bp = prof.buffer_rate_bp if prof is not None and risky else 0
    buffered = 0
    serials = None
    if issued:
        buffered = buffer_share(quantity, rate_bp)
    if buffered:
        pool = ensure_buffer_account(tx, scheme)
        start = quantity - buffered + 1
        (block,) = [
            b
            for b in repo.blocks_overlapping(conn, issuance_id, start, quantity)
            if b.account == account_id and b.status == BlockStatus.HELD
        ]
        moves = move(
            tx, [Piece(block, start, quantity)], pool, BlockStatus.HELD, "buffer", issuance_id
        )
        serials = f"{issuance_id}-{start}-{quantity}"
        conn.execute(
            buffer_contributions.insert().values(
                issuance_id=issuance_id,
                project_id=project_id,
                scheme=scheme,
                account_id=pool,
                serial_start=start,
                serial_end=quantity,
                quantity=buffered,
                rate_bp=rate_bp,
                journal_seq=tx.next_seq(),
            )
        )
        tx.record(
            "removals.buffered",
            actor_label,
            {
                "issuance_id": issuance_id,
                "project_id": project_id,
                "scheme": scheme,
                "quantity": buffered,
                "rate_bp": rate_bp,
                "serials": serials,
                "moves": moves,
            },
        )
    deliveries = offtake.deliver_on_issuance(
        tx, actor_label, issuance_id, account_id, quantity - buffered
    )
    return AfterIssuance(serials, buffered, list(deliveries))
