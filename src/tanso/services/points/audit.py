"""`tanso audit verify` for points programmes: the stored events against the journal.

The journal holds a batch's counts, grams and the SHA-256 of its events (`points.batch_accepted`),
never the events. This check recomputes each batch's hash and totals from ``points_events`` and
each member's earned grams from its events, so that an event added, removed or altered after
the fact, or a balance changed by hand, is found.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, select

from tanso.store import schema_points as p

MAX_LISTED = 20


def problems(conn: Connection, entries: Iterable[tuple[str, str]]) -> list[str]:
    """What does not match: ``entries`` are the journal's (kind, payload) pairs in order."""
    journal: dict[str, dict[str, Any]] = {}
    for kind, payload in entries:
        if kind == "points.batch_accepted":
            body = json.loads(payload)
            journal[body["id"]] = body
    out: list[str] = []
    e = p.points_events.c
    rows = conn.execution_options(yield_per=20_000).execute(
        select(
            e.batch_id,
            e.event_id,
            e.member,
            e.action,
            e.quantity,
            e.occurred_on,
            e.grams,
            e.version,
            e.programme_id,
        ).order_by(e.batch_id)
    )
    earned: dict[tuple[str, str], int] = {}
    seen: set[str] = set()
    batch: str | None = None
    lines: list[tuple[str, str]] = []
    grams = 0

    def close() -> None:
        if batch is None:
            return
        seen.add(batch)
        digest = hashlib.sha256()
        for _event_id, line in sorted(lines):  # in event id order, as Python compares text
            digest.update(line.encode("utf-8") + b"\n")
        count = len(lines)
        want = journal.get(batch)
        if want is None:
            out.append(f"points batch {batch}: events stored, but the journal has no such batch")
        elif (want["content_hash"], want["events"], want["grams"]) != (
            digest.hexdigest(),
            count,
            grams,
        ):
            out.append(
                f"points batch {batch}: stored events give {count} events, {grams} g and hash "
                f"{digest.hexdigest()[:12]}…; the journal gives {want['events']}, "
                f"{want['grams']} g and {want['content_hash'][:12]}…"
            )

    for r in rows:
        if r.batch_id != batch:
            close()
            batch, lines, grams = r.batch_id, [], 0
        values = (r.event_id, r.member, r.action, r.quantity, r.occurred_on, r.grams, r.version)
        lines.append((r.event_id, "\t".join(str(v) for v in values)))
        grams += int(r.grams)
        key = (r.programme_id, r.member)
        earned[key] = earned.get(key, 0) + int(r.grams)
    close()
    for batch_id, want in journal.items():
        if batch_id not in seen and want["events"]:
            out.append(
                f"points batch {batch_id}: the journal has {want['events']} events, none stored"
            )
    for b in conn.execute(select(p.points_balances)):
        got = earned.pop((b.programme_id, b.member), 0)
        if int(b.earned_grams) != got:
            out.append(
                f"points balance {b.programme_id} {b.member[:12]}…: earned {int(b.earned_grams)} g "
                f"stored, its events give {got} g"
            )
    for (programme, member), got in earned.items():
        out.append(f"points balance {programme} {member[:12]}…: missing, its events give {got} g")
    return out[:MAX_LISTED]
