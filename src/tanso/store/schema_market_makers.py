"""Tables of the market-maker programme (マーケットメイカー制度): programmes, appointments and the
incentives paid.

SQLAlchemy Core on the metadata of tanso.store.schema, which imports this module. A programme is
data (window, spread, sizes, presence, incentive); compliance is computed from the journal's
exchange entries (services/market_makers.py), never stored, so it can always be recomputed.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Integer, String, Table, Text

from tanso.store.metadata import ID, metadata

mm_programmes = Table(
    "mm_programmes",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("instrument_id", String(ID), ForeignKey("instruments.id"), nullable=False, index=True),
    Column("name_en", Text, nullable=False),
    Column("name_ja", Text, nullable=False),
    Column("starts", String(10), nullable=False),
    Column("ends", String(10), nullable=False),
    Column("window_from", String(5), nullable=False),
    Column("window_to", String(5), nullable=False),
    Column("timezone", String(40), nullable=False),
    Column("max_spread", BigInteger, nullable=False),
    Column("min_quantity", BigInteger, nullable=False),
    Column("min_presence_pct", Integer, nullable=False),
    Column("incentive_per_day", BigInteger, nullable=False),
    Column("created_at", String(32), nullable=False),
)
"""A programme for one instrument and period: in the window of each trading day a market maker
quotes both sides, each at least ``min_quantity``, at most ``max_spread`` apart, for at least
``min_presence_pct`` of the window; each compliant day earns ``incentive_per_day`` yen."""

mm_appointments = Table(
    "mm_appointments",
    metadata,
    Column("programme_id", String(ID), ForeignKey("mm_programmes.id"), primary_key=True),
    Column("participant_id", String(ID), ForeignKey("participants.id"), primary_key=True),
    Column("appointed_at", String(32), nullable=False),
    Column("ended_at", String(32)),
)
"""Who makes markets under a programme, from when (and until when, once ended)."""

mm_incentives = Table(
    "mm_incentives",
    metadata,
    Column("programme_id", String(ID), ForeignKey("mm_programmes.id"), primary_key=True),
    Column("participant_id", String(ID), ForeignKey("participants.id"), primary_key=True),
    Column("month", String(7), primary_key=True),
    Column("compliant_days", Integer, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("paid_at", String(32), nullable=False),
    Column("journal_seq", BigInteger, nullable=False),
)
"""Incentives paid: one row per programme, market maker and month, so a month is paid once."""
