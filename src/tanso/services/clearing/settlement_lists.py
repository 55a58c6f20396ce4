"""The operator's settlement lists, one page at a time with their counts: obligations by
status (pending and failed by due date, the next due first; settled ones newest first) and the
settlement runs (newest first). Reads only; what a run or a resolution does is `settlement`'s."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from tanso.domain.errors import InvalidInput
from tanso.domain.participants import Role
from tanso.services.clearing.settlement import (
    ObligationView,
    RunSummary,
    obligation_view,
)
from tanso.services.common import Actor, from_row, require
from tanso.store import schema as t
from tanso.store.db import Database

LISTED = ("pending", "failed", "settled")
"""The obligation statuses the operator's settlement screen lists."""

MAX_LIMIT = 200


@dataclass(frozen=True, slots=True)
class ObligationPage:
    """One page of the obligations of a status, and how many there are in all."""

    status: str
    rows: list[ObligationView]
    total: int
    offset: int
    limit: int


@dataclass(frozen=True, slots=True)
class RunPage:
    """One page of the settlement runs, newest first, and how many there are in all."""

    rows: list[RunSummary]
    total: int
    offset: int
    limit: int


def _window(offset: int, limit: int) -> tuple[int, int]:
    if offset < 0:
        raise InvalidInput("invalid_offset", f"offset is 0 or more, not {offset}.")
    return offset, max(1, min(limit, MAX_LIMIT))


def obligation_page(
    db: Database, actor: Actor, status: str, offset: int = 0, limit: int = 50
) -> ObligationPage:
    """Everyone's obligations of ``status`` (pending, failed or settled), from ``offset``;
    exchange operator only."""
    require(actor, Role.EXCHANGE_OPERATOR, "read settlement obligations")
    if status not in LISTED:
        raise InvalidInput("invalid_status", f"status is one of: {', '.join(LISTED)}.")
    offset, limit = _window(offset, limit)
    o = t.settlement_obligations.c
    order = (
        (o.settled_at.desc(), o.deal_id.desc())
        if status == "settled"
        else (o.due_date.asc(), o.deal_id.asc())
    )
    q = select(t.settlement_obligations).where(o.status == status)
    with db.read() as conn:
        total = conn.execute(
            select(func.count()).select_from(t.settlement_obligations).where(o.status == status)
        ).scalar_one()
        rows = conn.execute(q.order_by(*order).offset(offset).limit(limit)).all()
        views = [obligation_view(conn, r, None) for r in rows]
    return ObligationPage(status, views, int(total), offset, limit)


def run_page(db: Database, actor: Actor, offset: int = 0, limit: int = 50) -> RunPage:
    """The settlement runs, newest first, from ``offset``; exchange operator only."""
    require(actor, Role.EXCHANGE_OPERATOR, "read settlement runs")
    offset, limit = _window(offset, limit)
    r = t.settlement_runs.c
    with db.read() as conn:
        total = conn.execute(select(func.count()).select_from(t.settlement_runs)).scalar_one()
        rows = conn.execute(
            select(t.settlement_runs).order_by(r.id.desc()).offset(offset).limit(limit)
        ).all()
    return RunPage([from_row(RunSummary, x) for x in rows], int(total), offset, limit)


def pending_due(db: Database, actor: Actor, date: str) -> int:
    """How many pending obligations are due on or before ``date`` (what a run would settle
    now); exchange operator only."""
    require(actor, Role.EXCHANGE_OPERATOR, "read settlement obligations")
    o = t.settlement_obligations.c
    with db.read() as conn:
        n = conn.execute(
            select(func.count())
            .select_from(t.settlement_obligations)
            .where(o.status == "pending", o.due_date <= date)
        ).scalar_one()
    return int(n)
