"""Tables of disputes (紛争処理): the disputes, their history and their evidence.

SQLAlchemy Core on the metadata of tanso.store.schema, which imports this module. Every change of
a dispute is journaled by services/disputes.py; the evidence's bytes are kept here only, as
base64 text (the journal records their SHA-256 and size), and are never served to anyone but
their uploader and the operator.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from tanso.store.metadata import ID, metadata

disputes = Table(
    "disputes",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("subject_id", String(64), nullable=False, index=True),
    Column("opener_id", String(ID), ForeignKey("participants.id"), nullable=False, index=True),
    Column(
        "counterparty_id", String(ID), ForeignKey("participants.id"), nullable=False, index=True
    ),
    Column("state", String(16), nullable=False),
    Column("summary", Text, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("claimed_amount", BigInteger, nullable=False),
    Column("claimed_quantity", BigInteger, nullable=False),
    Column("opened_at", String(32), nullable=False),
    Column("respond_by", String(32), nullable=False),
    Column("responded_at", String(32)),
    Column("reviewed_at", String(32)),
    Column("decide_by", String(32)),
    Column("decided_at", String(32)),
    Column("closed_at", String(32)),
    Column("withdrawn_at", String(32)),
    Column("outcome", String(16)),
    Column("decision", Text),
    Column("remedies", Text),
    Column("journal_seq", BigInteger, nullable=False),
    CheckConstraint(
        "state IN ('open', 'responded', 'under_review', 'decided', 'closed', 'withdrawn')",
        name="state_known",
    ),
    CheckConstraint("claimed_amount >= 0 AND claimed_quantity >= 0", name="claims_valid"),
    Index("ix_disputes_state_respond_by", "state", "respond_by"),
)
"""One dispute: what it is about (``kind`` and ``subject_id``), who opened it against whom, its
state and deadlines, what was claimed, and the operator's decision (``outcome``, the reasons in
``decision`` and the remedies executed, as JSON, in ``remedies``)."""

dispute_events = Table(
    "dispute_events",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("dispute_id", String(ID), ForeignKey("disputes.id"), nullable=False, index=True),
    Column("journal_seq", BigInteger, nullable=False),
    Column("at", String(32), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("actor_id", String(ID), nullable=False),
    Column("audience", String(16), nullable=False),
    Column("text", Text, nullable=False),
    Column("ref", String(64)),
    CheckConstraint(
        "audience IN ('all', 'opener', 'counterparty', 'operator')", name="audience_known"
    ),
)
"""A dispute's history: each state change, message, evidence and reminder, with whom it is for
(``audience``: both parties and the operator, one party, or the operator only). A reminder's
``ref`` names the deadline and offset it was for, so that none is sent twice."""

dispute_evidence = Table(
    "dispute_evidence",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("dispute_id", String(ID), ForeignKey("disputes.id"), nullable=False, index=True),
    Column("uploaded_by", String(ID), nullable=False),
    Column("file_name", String(200), nullable=False),
    Column("media_type", String(100), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("content_base64", Text, nullable=False),
    Column("at", String(32), nullable=False),
    Column("journal_seq", BigInteger, nullable=False),
    CheckConstraint("size > 0", name="size_positive"),
)
"""A file a party attached to its dispute: its bytes (as base64 text, so that `tanso backup`,
which refuses binary columns, keeps them), its SHA-256 and size (as the journal records them).
Served only to the party who uploaded it and to the operator."""
