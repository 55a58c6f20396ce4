"""Tables of surveillance (売買審査): the alerts the rules raise and each alert's audit trail.

SQLAlchemy Core on the metadata of tanso.store.schema, which imports this module. An alert is
raised once per rule and subject (``key`` is unique), so the online path and a batch scan over the
same history never raise it twice. Every change of an alert is a row of
``surveillance_alert_events`` and a journal entry (``surveillance.*``); none moves cash or credits.
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

surveillance_alerts = Table(
    "surveillance_alerts",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("key", String(200), nullable=False, unique=True),
    Column("rule", String(32), nullable=False),
    Column("severity", String(8), nullable=False),
    # the participants concerned, as a JSON list (a wash trade's two, a group's members)
    Column("participants", Text, nullable=False),
    Column("instrument_id", String(ID)),
    Column("trade_date", String(10), nullable=False),
    Column("journal_seq", BigInteger, nullable=False),
    Column("detected_at", String(32), nullable=False),
    Column("raised_at", String(32), nullable=False),
    Column("raised_by", String(8), nullable=False),
    Column("evidence", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("updated_at", String(32), nullable=False),
    CheckConstraint("state IN ('new', 'reviewing', 'dismissed', 'escalated')", name="state_valid"),
    Index("ix_surveillance_alerts_trade_date", "trade_date", "id"),
    Index("ix_surveillance_alerts_state", "state", "trade_date"),
)
"""One finding of a rule (domain/surveillance.py) with its evidence (JSON: order and trade ids,
the book before and after, the figures the rule compared) and where it stands in its review.
``journal_seq`` is the exchange entry that completed the pattern; ``raised_by`` says whether the
online monitor (``online``) or a batch scan (``scan``) raised it first."""

surveillance_alert_events = Table(
    "surveillance_alert_events",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column(
        "alert_id",
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("surveillance_alerts.id"),
        nullable=False,
    ),
    Column("at", String(32), nullable=False),
    Column("actor", String(254), nullable=False),
    Column("action", String(16), nullable=False),
    Column("from_state", String(16)),
    Column("to_state", String(16), nullable=False),
    Column("note", Text),
    Column("journal_seq", BigInteger, nullable=False),
    Index("ix_surveillance_alert_events_alert_id", "alert_id", "id"),
)
"""The audit trail of each alert: raised, then each review, dismissal or escalation, by whom,
when, with the note given and the journal entry that recorded it."""
