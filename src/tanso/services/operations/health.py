"""What the operator's probes read from the database: is it there, at which schema, and the
figures `/metrics` publishes at each scrape (they survive restarts because they are stored)."""

from __future__ import annotations

from dataclasses import dataclass

from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select, text

from tanso.store import schema as t
from tanso.store.db import Database


@dataclass(frozen=True, slots=True)
class StoredFigures:
    """Counts read from the database: the journal head, settlement runs and failures."""

    journal_head: int
    settlement_runs: int
    settled: int
    failed: int
    failing_now: int


def stored_figures(db: Database) -> StoredFigures:
    """The figures `/metrics` publishes from the database; raises if the database is down."""
    with db.read() as conn:
        head = conn.execute(select(t.journal_head.c.seq)).scalar()
        r = t.settlement_runs.c
        runs, settled, failed = conn.execute(
            select(
                func.count(),
                func.coalesce(func.sum(r.settled), 0),
                func.coalesce(func.sum(r.failed), 0),
            )
        ).one()
        o = t.settlement_obligations.c
        failing = conn.execute(
            select(func.count()).select_from(t.settlement_obligations).where(o.status == "failed")
        ).scalar()
    return StoredFigures(int(head or 0), int(runs), int(settled), int(failed), int(failing or 0))


def current_revision(db: Database) -> str | None:
    """The schema revision the database is at (it answers a query first; raises if it is down)."""
    with db.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
        current = MigrationContext.configure(conn).get_current_revision()
        conn.rollback()
    return current
