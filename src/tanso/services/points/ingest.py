"""Batches of members' events (docs/points.md "Earning"): read, rated, and written through the
database's bulk path in one transaction with one journal entry per batch.

A batch is accepted whole or refused whole, with every bad line listed. An event id the
programme sent before is a resend: the same event is skipped as a duplicate, a different one
under that id is a bad line. Daily caps clip what a member earns for an action in a day; the
event is kept (so that a resend is still recognised) with the grams it was credited. Balances
are folded per batch; the journal records the batch's counts and the SHA-256 of its events,
never the events (nor any member) themselves.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update

from tanso.domain import points
from tanso.domain.errors import Conflict, InvalidInput, NotFound
from tanso.domain.participants import Role, Scope
from tanso.services.common import (
    Actor,
    Database,
    execute,
    new_id,
    require_active,
    require_scope,
)
from tanso.services.points import programmes
from tanso.services.points.programmes import Batch, batch_view
from tanso.store import bulk
from tanso.store import schema_points as p
from tanso.store.db import Tx

EVENT_COLUMNS = (
    "programme_id",
    "event_id",
    "member",
    "action",
    "quantity",
    "occurred_on",
    "grams",
    "version",
    "batch_id",
)
MAX_LISTED = 1000
"""Bad lines an answer lists in full (it always says how many there are)."""


class BatchRefused(InvalidInput):
    """A batch with bad lines: nothing of it was recorded; ``details`` lists the lines."""

    def __init__(self, lines: int, bad: list[points.BadLine]) -> None:
        first = bad[0].problem
        super().__init__(
            "batch_refused",
            f"{len(bad):,} of {lines:,} lines are refused, so nothing of this batch was "
            f"recorded; correct them and send the batch again. {first}",
        )
        self.details = [
            {"line": b.line, "event_id": b.event_id, "code": b.code, "problem": b.problem}
            for b in bad[:MAX_LISTED]
        ]


def kind_of(content_type: str | None) -> str:
    """``jsonl`` or ``csv`` from a Content-Type (JSON lines by default)."""
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    if kind in ("text/csv", "application/csv"):
        return "csv"
    if kind in (
        "",
        "application/x-ndjson",
        "application/jsonl",
        "application/json-lines",
        "application/jsonlines",
        "text/plain",
    ):
        return "jsonl"
    raise InvalidInput(
        "unsupported_format",
        "Send the events as JSON lines (Content-Type: application/x-ndjson) or CSV "
        "(Content-Type: text/csv).",
    )


def ingest(
    db: Database,
    actor: Actor,
    programme_id: str,
    body: bytes,
    kind: str = "jsonl",
    source: str = "api",
) -> Batch:
    """Accept a batch of events for a programme (the programme itself, ``points`` scope)."""
    require_scope(actor, Scope.POINTS, "send a points programme's events")
    if not body.strip():
        raise InvalidInput("empty_batch", "The batch is empty: send at least one event.")
    with db.read() as conn:
        row = programmes.own_row(conn, actor, programme_id)
        known = programmes.versions(conn, row.id)
    if not known:
        raise Conflict(
            "no_methodology",
            f"{programme_id} has no methodology yet: publish one before sending events.",
        )
    parsed = points.parse_batch(body, kind, known, programmes.today(db))
    if parsed.bad:
        raise BatchRefused(parsed.lines, parsed.bad)

    # The events and balances are written before the journal head is taken (`_write`), so
    # the exchange's sequencer is not held behind a bulk write on PostgreSQL; the programme's
    # row, locked first, keeps its batches and methodology versions one at a time.
    with db.write(head_later=True) as tx:
        prog = programmes.acting_row(tx, actor, programme_id)
        programmes.lock(tx.conn, prog.id)
        if len(programmes.versions(tx.conn, prog.id)) != len(known):
            raise Conflict(
                "methodology_changed",
                "The programme's methodology changed while the batch was read; send it again.",
            )
        return _write(tx, actor, prog, parsed, source)


def _stored(tx: Tx, programme_id: str, events: list[points.Event]) -> dict[str, tuple[Any, ...]]:
    rows = bulk.select_in(
        tx.conn,
        "SELECT event_id, member, action, quantity, occurred_on FROM points_events "
        "WHERE programme_id = :programme AND event_id {ids}",
        {"programme": programme_id},
        "ids",
        [e.event_id for e in events],
    )
    return {r[0]: (r[1], r[2], int(r[3]), r[4]) for r in rows}


def _used_today(
    tx: Tx, programme_id: str, events: list[points.Event], capped: set[str]
) -> dict[tuple[str, str, str], int]:
    """Grams already credited per (member, day, capped action) on the days of the batch."""
    members = sorted({e.member for e in events if e.action in capped})
    if not members:
        return {}
    days = [e.occurred_on for e in events]
    rows = bulk.select_in(
        tx.conn,
        "SELECT member, occurred_on, action, SUM(grams) FROM points_events "
        "WHERE programme_id = :programme AND occurred_on BETWEEN :first AND :last "
        "AND member {members} GROUP BY member, occurred_on, action",
        {"programme": programme_id, "first": min(days), "last": max(days)},
        "members",
        members,
    )
    return {(r[0], r[1], r[2]): int(r[3]) for r in rows if r[2] in capped}


def _write(tx: Tx, actor: Actor, prog: Any, parsed: points.Parsed, source: str) -> Batch:
    conn = tx.conn
    known = {m.version: m for m in programmes.versions(conn, prog.id)}
    stored = _stored(tx, prog.id, parsed.events)
    bad: list[points.BadLine] = []
    fresh: list[points.Event] = []
    duplicates = parsed.repeats
    for e in parsed.events:
        earlier = stored.get(e.event_id)
        if earlier is None:
            fresh.append(e)
        elif earlier == (e.member, e.action, e.quantity, e.occurred_on):
            duplicates += 1
        else:
            bad.append(
                points.BadLine(
                    0,
                    "event_id_reused",
                    f"Event {e.event_id} was accepted before with different content.",
                    e.event_id,
                )
            )
    if bad:
        raise BatchRefused(parsed.lines, bad)
    capped_actions = {
        a.code for m in known.values() for a in m.actions.values() if a.daily_cap_grams
    }
    used = _used_today(tx, prog.id, fresh, capped_actions)
    batch_id = new_id("PB")
    rows: list[tuple[Any, ...]] = []
    folds: dict[str, list[Any]] = defaultdict(lambda: [0, 0, ""])
    capped = grams = 0
    for e in fresh:
        credited = e.grams
        cap = known[e.version].actions[e.action].daily_cap_grams
        if cap is not None:
            key = (e.member, e.occurred_on, e.action)
            credited = max(0, min(e.grams, cap - used.get(key, 0)))
            used[key] = used.get(key, 0) + credited
            capped += credited < e.grams
        rows.append(
            (
                prog.id,
                e.event_id,
                e.member,
                e.action,
                e.quantity,
                e.occurred_on,
                credited,
                e.version,
                batch_id,
            )
        )
        fold = folds[e.member]
        fold[0] += 1
        fold[1] += credited
        fold[2] = max(fold[2], e.occurred_on)
        grams += credited
    bulk.copy_rows(conn, "points_events", EVENT_COLUMNS, rows)
    bulk.add_rows(
        conn,
        "points_balances",
        ("programme_id", "member"),
        ("events", "earned_grams", "pledged_grams", "spent_grams"),
        ("last_on",),
        [(prog.id, m, f[0], f[1], 0, 0, f[2]) for m, f in folds.items()],
    )
    c = p.points_programmes.c
    conn.execute(
        update(p.points_programmes)
        .where(c.id == prog.id)
        .values(events=c.events + len(rows), earned_grams=c.earned_grams + grams)
    )
    tx.lock_head()  # the bulk writes are done: from here to the commit, a moment
    digest = points.content_hash(sorted(r[1:8] for r in rows))  # in event id order
    days = [e.occurred_on for e in fresh]
    used_versions = ",".join(str(v) for v in sorted({e.version for e in fresh}))
    values = {
        "id": batch_id,
        "programme_id": prog.id,
        "source": source,
        "lines": parsed.lines,
        "events": len(rows),
        "duplicates": duplicates,
        "capped": capped,
        "grams": grams,
        "first_on": min(days) if days else None,
        "last_on": max(days) if days else None,
        "content_hash": digest,
        "versions": used_versions,
        "verification": "pending",
        "verified_by": None,
        "verified_at": None,
        "findings": "",
        "received_at": tx.at,
        "journal_seq": tx.next_seq(),
    }
    conn.execute(p.points_batches.insert().values(**values))
    tx.record(
        "points.batch_accepted",
        actor.label,
        {
            k: values[k]
            for k in (
                "id",
                "programme_id",
                "source",
                "lines",
                "events",
                "duplicates",
                "capped",
                "grams",
                "first_on",
                "last_on",
                "content_hash",
                "versions",
            )
        }
        | {"members": len(folds)},
    )
    return batch_view(_batch_row(tx, batch_id))


def _batch_row(tx: Tx, batch_id: str) -> Any:
    return tx.conn.execute(
        p.points_batches.select().where(p.points_batches.c.id == batch_id)
    ).first()


@dataclass(frozen=True, slots=True)
class Verification:
    decision: str
    """``verified``: its grams count toward the programme's verified total; ``returned``:
    they do not (the members keep their points)."""
    findings: str = ""


def verify_batch(
    db: Database, actor: Actor, programme_id: str, batch_id: str, v: Verification
) -> Batch:
    """A verification body confirms (or returns) a pending batch against the programme's
    evidence; verified grams may later be issued as credits (``pools.issue``)."""
    require_scope(actor, Scope.VERIFY, "verify a points programme's batch")
    if not actor.has(Role.VERIFICATION_BODY):
        raise NotFound("batch_not_found", f"{programme_id} has no batch {batch_id}.")
    if v.decision not in ("verified", "returned"):
        raise InvalidInput("invalid_decision", "decision is verified or returned.")
    if len(v.findings) > 4000 or (v.decision == "returned" and not v.findings.strip()):
        raise InvalidInput(
            "invalid_findings",
            "findings are up to 4,000 characters, and say why when a batch is returned.",
        )

    def work(tx: Tx) -> Batch:
        conn = tx.conn
        require_active(conn, actor)
        prog = programmes.get_row(conn, programme_id)
        row = _batch_row(tx, batch_id)
        if row is None or row.programme_id != prog.id:
            raise NotFound("batch_not_found", f"{programme_id} has no batch {batch_id}.")
        if row.verification != "pending":
            raise Conflict(
                "batch_already_verified", f"Batch {batch_id} is already {row.verification}."
            )
        if prog.participant_id == actor.participant_id:
            raise Conflict("not_independent", "A programme does not verify its own batches.")
        b = p.points_batches.c
        conn.execute(
            update(p.points_batches)
            .where(b.id == batch_id)
            .values(
                verification=v.decision,
                verified_by=actor.participant_id,
                verified_at=tx.at,
                findings=v.findings.strip(),
            )
        )
        if v.decision == "verified":
            c = p.points_programmes.c
            conn.execute(
                update(p.points_programmes)
                .where(c.id == prog.id)
                .values(verified_grams=c.verified_grams + row.grams)
            )
        tx.record(
            "points.batch_verified",
            actor.label,
            {
                "programme": prog.id,
                "batch": batch_id,
                "decision": v.decision,
                "grams": int(row.grams),
                "content_hash": row.content_hash,
                "findings": v.findings.strip(),
            },
        )
        return batch_view(_batch_row(tx, batch_id))

    return execute(db, actor, None, work)
