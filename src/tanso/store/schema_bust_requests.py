"""Tables of a party's requests to bust a trade (取引取消の申出) and of participants' notices
(お知らせ).

SQLAlchemy Core on the metadata of tanso.store.schema, which imports this module. Every request
and its decision is journaled by services/trading/bust_requests.py; a notice is written in the
same transaction as the event that causes it (services/notices.py) and holds only the kind and
the parameters it is rendered from, never text in one language.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Column, ForeignKey, Index, String, Table, Text

from tanso.store.metadata import ID, metadata

bust_requests = Table(
    "bust_requests",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("trade_id", String(64), ForeignKey("trades.id"), nullable=False, index=True),
    Column("requester_id", String(ID), ForeignKey("participants.id"), nullable=False, index=True),
    Column("state", String(16), nullable=False),
    Column("reason_code", String(32), nullable=False),
    Column("note", Text, nullable=False),
    Column("requested_at", String(32), nullable=False),
    Column("deadline", String(32), nullable=False),
    Column("decided_at", String(32)),
    Column("decision_note", Text),
    Column("journal_seq", BigInteger, nullable=False),
    CheckConstraint("state IN ('pending', 'granted', 'refused')", name="state_known"),
    Index("ix_bust_requests_state", "state"),
)
"""A party's request that the operator bust a trade: who asked, why (``reason_code`` and
``note``), by when it had to be asked (``deadline``, the rulebook's window), and the operator's
answer (``state`` granted or refused, ``decision_note``). At most one is pending per trade."""

notices = Table(
    "notices",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("participant_id", String(ID), ForeignKey("participants.id"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("subject_id", String(64), nullable=False),
    Column("params", Text, nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("read_at", String(32)),
    Column("journal_seq", BigInteger, nullable=False),
    Index("ix_notices_participant_created", "participant_id", "created_at"),
)
"""A notice (お知らせ) to one participant: its ``kind``, what it is about (``subject_id``), the
``params`` (JSON) it is rendered from in English and Japanese, when it was written (with the
journal entry of the event that caused it) and when the participant read it."""
