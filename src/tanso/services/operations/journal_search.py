"""The operator's view of the journal: entries newest first, filtered by kind, actor and a range
of sequence numbers, one page at a time. Reads only; the journal is never changed here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select

from tanso.domain.errors import InvalidInput
from tanso.services.common import Actor, require_operator
from tanso.services.venues import sealed_auctions
from tanso.services.venues.sealed_auctions import JournalEntry as JournalEntry
from tanso.store import repo
from tanso.store import schema as t
from tanso.store.db import Database

MAX_LIMIT = 500


def _filtered(
    q: Select[Any],
    kind: str = "",
    actor_text: str = "",
    seq_from: int | None = None,
    seq_to: int | None = None,
) -> Select[Any]:
    j = t.journal.c
    kind = kind.strip()
    if kind:
        # "user" finds user.created, user.removed ...; "user.created" only itself
        q = q.where((j.kind == kind) | j.kind.startswith(kind.rstrip(".") + ".", autoescape=True))
    if actor_text.strip():
        q = q.where(func.lower(j.actor).contains(actor_text.strip().lower(), autoescape=True))
    if seq_from is not None:
        q = q.where(j.seq >= seq_from)
    if seq_to is not None:
        q = q.where(j.seq <= seq_to)
    return q


@dataclass(frozen=True, slots=True)
class JournalPage:
    """One page of journal entries (each with seq, at, kind, actor, payload, hash), newest
    first, and the ``before`` of the older and of the newer page (None where there is none)."""

    entries: list[JournalEntry]
    older: int | None
    newer: int | None


def entries(
    db: Database,
    actor: Actor,
    *,
    kind: str = "",
    actor_text: str = "",
    seq_from: int | None = None,
    seq_to: int | None = None,
    before: int | None = None,
    limit: int = 50,
) -> JournalPage:
    """One page of matching entries, newest first, below ``before`` (a seq; none: the newest);
    with the ``before`` of the older and of the newer page (None where there is none)."""
    require_operator(actor, "read the journal")
    if len(kind) > 64 or len(actor_text) > 200:
        raise InvalidInput("filter_too_long", "A filter is at most 64 (kind) or 200 characters.")
    limit = max(1, min(limit, MAX_LIMIT))
    j = t.journal.c

    # a search by kind or actor never finds a bid's entry, opened or not, nor pages by one: the
    # clearing entry lists the opened bids, and a search must not count or time sealed ones
    searched = bool(kind.strip() or actor_text.strip())

    def matching(columns: Any) -> Select[Any]:
        q = _filtered(select(*columns), kind, actor_text, seq_from, seq_to)
        return q.where(j.kind.not_in(sorted(sealed_auctions.SEALED_KINDS))) if searched else q

    page = matching([t.journal])
    if before is not None:
        page = page.where(j.seq < before)
    with db.read() as conn:
        rows = conn.execute(page.order_by(j.seq.desc()).limit(limit)).all()
        if not rows:
            return JournalPage([], None, None)
        shown = sealed_auctions.seal_journal_rows(conn, rows)
        low, high = int(rows[-1].seq), int(rows[0].seq)
        older = conn.execute(matching([j.seq]).where(j.seq < low).limit(1)).first()
        above = conn.execute(
            matching([j.seq]).where(j.seq > high).order_by(j.seq.asc()).limit(limit)
        ).all()
    return JournalPage(
        entries=shown,
        older=low if older else None,
        newer=int(above[-1].seq) + 1 if above else None,
    )


def head(db: Database, actor: Actor) -> tuple[int, str | None]:
    """The journal's last sequence number and hash ((0, None) when it is empty); operator only."""
    require_operator(actor, "read the journal")
    with db.read() as conn:
        row = repo.journal_head(conn)
    return (int(row.seq), str(row.hash)) if row is not None else (0, None)


def public_head(db: Database) -> tuple[int, str] | None:
    """The last entry's number and hash, for anyone (published, it pins history); None when the
    journal is empty."""
    with db.read() as conn:
        row = repo.journal_head(conn)
    return (int(row.seq), str(row.hash)) if row is not None else None


def after(db: Database, actor: Actor, seq: int, limit: int) -> list[JournalEntry]:
    """Entries after ``seq`` in order, for auditors (operator only); bids of auctions still open
    are sealed as `sealed_auctions.seal_journal_rows` says, the stored entries untouched."""
    require_operator(actor, "read the journal")
    with db.read() as conn:
        return sealed_auctions.seal_journal_rows(conn, list(repo.journal_entries(conn, seq, limit)))
