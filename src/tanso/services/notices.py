"""Notices (お知らせ): a participant's inbox of what happened to it.

The module owns the ``notices`` table: `notify` writes a notice inside the transaction of the
event that causes it (so the event and its notices commit together, or neither does), with the
kind and the parameters it is rendered from; the texts, in English and Japanese, are catalog
entries (tanso.web.notice_texts). A participant reads only its own notices; another's answers
exactly like a missing one. It never changes anything but a notice's ``read_at``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, update

from tanso.domain.errors import InvalidInput, NotFound
from tanso.services.common import Actor, Idem, execute, loader, new_id, omitted
from tanso.store.db import Database, Tx
from tanso.store.schema_bust_requests import notices

KINDS = (
    "trade_busted",
    "bust_request_granted",
    "bust_request_refused",
    "credits_reversed",
    "offtake_quote_requested",
    "offtake_terms_proposed",
    "offtake_signed",
    "offtake_delivered",
    "offtake_payment_failed",
    "offtake_vintage_closed",
    "cycle_plan_submitted",
    "cycle_plan_validated",
    "cycle_plan_registered",
    "cycle_plan_rejected",
    "cycle_report_submitted",
    "cycle_report_verified",
    "cycle_issuance_approved",
    "cycle_issuance_rejected",
)
"""What a notice tells: a trade of yours was busted (both parties, with the reason), your request
to bust a trade was granted, or refused (with the operator's note); credits of yours were
cancelled to compensate a removal project's reversal; under a forward offtake contract
(services/removals/offtake.py): a quote requested, terms proposed, a contract signed, a delivery
made, a delivery not made for want of payment, a vintage closed with its shortfall; in the
project cycle (services/cycle): the next party's turn (a plan to validate, a report to verify)
and each decision on the developer's plan, report or issuance request."""


@dataclass(frozen=True, slots=True)
class Notice:
    """One notice to the caller: ``kind`` and ``params`` are what its text is rendered from."""

    id: str
    kind: str
    subject_id: str
    created_at: str
    journal_seq: int
    params: dict[str, Any] = field(default_factory=dict)
    read_at: str | None = None
    text_en: str | None = omitted()
    """The notice in English and Japanese, as the API and the portal render it."""
    text_ja: str | None = omitted()


def notify(tx: Tx, participant_id: str, kind: str, subject_id: str, **params: Any) -> str:
    """Write a notice to ``participant_id`` in the caller's transaction (after its journal
    entry is recorded); returns its id."""
    assert kind in KINDS, kind
    assert tx.journal_seq is not None, "a notice follows the journal entry of its event"
    nid = new_id("NTC")
    tx.conn.execute(
        notices.insert().values(
            id=nid,
            participant_id=participant_id,
            kind=kind,
            subject_id=subject_id,
            params=json.dumps(params, sort_keys=True, ensure_ascii=False),
            created_at=tx.at,
            journal_seq=tx.journal_seq,
        )
    )
    return nid


def _view(row: Any) -> Notice:
    return Notice(
        id=row.id,
        kind=row.kind,
        subject_id=row.subject_id,
        created_at=row.created_at,
        journal_seq=row.journal_seq,
        params=json.loads(row.params),
        read_at=row.read_at,
    )


def list_notices(
    db: Database, actor: Actor, unread: bool = False, limit: int = 100
) -> list[Notice]:
    """The caller's own notices, newest first (``unread``: only those not read yet)."""
    if not 1 <= limit <= 1000:
        raise InvalidInput("invalid_limit", "limit is from 1 to 1000.")
    n = notices.c
    q = select(notices).where(n.participant_id == actor.participant_id)
    if unread:
        q = q.where(n.read_at.is_(None))
    with db.read() as conn:
        rows = conn.execute(q.order_by(n.created_at.desc(), n.id.desc()).limit(limit)).all()
    return [_view(r) for r in rows]


def unread_count(db: Database, participant_id: str) -> int:
    """How many of a participant's notices are not read yet (the portal's navigation)."""
    n = notices.c
    with db.read() as conn:
        count = conn.execute(
            select(func.count())
            .select_from(notices)
            .where(n.participant_id == participant_id, n.read_at.is_(None))
        ).scalar_one()
    return int(count)


def mark_read(db: Database, actor: Actor, notice_id: str, idem: Idem | None = None) -> Notice:
    """Mark one of the caller's notices read (a notice read already stays as it was)."""

    def work(tx: Tx) -> Notice:
        n = notices.c
        row = tx.conn.execute(
            select(notices).where(n.id == notice_id, n.participant_id == actor.participant_id)
        ).first()
        if row is None:
            raise NotFound("notice_not_found", f"There is no notice {notice_id} of yours.")
        if row.read_at is not None:
            tx.allow_empty = True  # read already: nothing changes
            return _view(row)
        tx.record("notice.read", actor.label, {"notice": notice_id})
        tx.conn.execute(update(notices).where(n.id == notice_id).values(read_at=tx.at))
        return _view(tx.conn.execute(select(notices).where(n.id == notice_id)).one())

    return execute(db, actor, idem, work, 200, loader(Notice))
