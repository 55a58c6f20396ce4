"""Who may hold GX-ETS allowances (docs/gx-ets.md): a rule of the fiscal year's rule set
(``allowance_holders``), checked wherever allowances would enter an account."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, select

from tanso.domain.errors import Forbidden
from tanso.domain.participants import ParticipantKind, Role
from tanso.domain.registry import Piece
from tanso.services.compliance.gx import rules
from tanso.store import repo
from tanso.store import schema as t
from tanso.store import schema_gx as g

ALLOWANCE_PREFIX = "GXA-"
"""Allowance issuances are named GXA-AL-GX<fiscal year>-<round>."""


def may_hold(conn: Connection, pid: str, fiscal_year: int) -> bool:
    """Whether the rule set of ``fiscal_year`` lets ``pid`` hold allowances."""
    holders = set(rules(fiscal_year).allowance_holders)
    p = repo.get_participant(conn, pid)
    if p is None:
        return False
    roles = set((p.roles or "").split(","))
    c = g.gx_covered.c
    return bool(
        ("scheme_administrator" in holders and Role.SCHEME_ADMINISTRATOR.value in roles)
        or ("domestic_corporation" in holders and p.kind == ParticipantKind.CORPORATION.value)
        or (
            "covered_entity" in holders
            and conn.execute(select(c.participant_id).where(c.participant_id == pid)).first()
            is not None
        )
    )


def check_receiver(conn: Connection, pid: str, pieces: Sequence[Piece]) -> None:
    """Refuse moving allowances to a participant the rule set does not let hold them."""
    vintages = {p.block.vintage for p in pieces if p.block.issuance.startswith(ALLOWANCE_PREFIX)}
    _check(conn, pid, vintages)


def check_bidder(conn: Connection, pid: str, reservation: str) -> None:
    """Refuse a bid for the credits held under ``reservation`` (a sealed-bid auction's) from a
    participant that could not receive the allowances among them."""
    b = t.blocks.c
    rows = conn.execute(
        select(b.vintage)
        .where(b.reservation == reservation, b.issuance_id.like(f"{ALLOWANCE_PREFIX}%"))
        .distinct()
    ).all()
    _check(conn, pid, {int(r.vintage) for r in rows})


def _check(conn: Connection, pid: str, vintages: set[int]) -> None:
    for vintage in sorted(vintages):
        if not may_hold(conn, pid, vintage):
            holders = ", ".join(rules(vintage).allowance_holders)
            raise Forbidden(
                "allowance_holder_not_permitted",
                f"{pid} may not hold GX-ETS allowances: the FY{vintage} rules let only "
                f"these hold them: {holders}.",
            )
