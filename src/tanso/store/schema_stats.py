"""Tables of the public statistics (issue 22, docs/statistics.md): figures folded from the journal.

Each table holds sums per day (the Japanese date of the journal entry) and per dimension, so any
period and any grouping is one ``GROUP BY`` over a small table. ``stats_cursor`` says up to which
journal entry they are folded; services/marketdata/stats.py folds the entries after it, in the
same transaction that moves the cursor, so a figure is counted once or not at all. They are
derived data: rebuilt from the journal alone at any time (``stats.rebuild``), never journaled.

SQLAlchemy Core on the metadata of tanso.store.schema, which imports this module.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, PrimaryKeyConstraint, String, Table

from tanso.store.metadata import metadata

stats_cursor = Table(
    "stats_cursor",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
)
"""One row: the last journal entry folded into the statistics."""

stats_registry = Table(
    "stats_registry",
    metadata,
    Column("measure", String(16), nullable=False),
    Column("day", String(10), nullable=False),
    Column("scheme", String(8), nullable=False),
    Column("category", String(40), nullable=False),
    Column("credit_type", String(4), nullable=False),
    Column("vintage", Integer, nullable=False),
    Column("region", String(64), nullable=False),
    Column("quantity", BigInteger, nullable=False),
    PrimaryKeyConstraint(
        "measure", "day", "scheme", "category", "credit_type", "vintage", "region"
    ),
)
"""Credits issued, imported, transferred, retired, cancelled and exported (tonnes)."""

stats_purposes = Table(
    "stats_purposes",
    metadata,
    Column("day", String(10), nullable=False),
    Column("purpose", String(40), nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("retirements", BigInteger, nullable=False),
    PrimaryKeyConstraint("day", "purpose"),
)
"""Retirements by purpose: a retirement with two purposes counts under each."""

stats_market = Table(
    "stats_market",
    metadata,
    Column("day", String(10), nullable=False),
    Column("venue", String(16), nullable=False),
    Column("instrument", String(40), nullable=False),
    Column("volume", BigInteger, nullable=False),
    Column("value", BigInteger, nullable=False),
    Column("trades", BigInteger, nullable=False),
    PrimaryKeyConstraint("day", "venue", "instrument"),
)
"""Traded volume (tonnes), value (yen) and number of trades per venue and instrument."""

stats_participants = Table(
    "stats_participants",
    metadata,
    Column("kind", String(24), nullable=False),
    Column("country", String(2), nullable=False),
    Column("registered", BigInteger, nullable=False),
    Column("active", BigInteger, nullable=False),
    PrimaryKeyConstraint("kind", "country"),
)
"""Participants registered, and active now, by kind and country."""

stats_usage = Table(
    "stats_usage",
    metadata,
    Column("day", String(10), nullable=False),
    Column("purpose", String(40), nullable=False),
    Column("ruleset", String(64), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("tonnes", BigInteger, nullable=False),
    Column("checks", BigInteger, nullable=False),
    PrimaryKeyConstraint("day", "purpose", "ruleset", "outcome"),
)
"""The usage rules' verdicts on retirements: per purpose and rule set, ``clean`` or with
``warnings`` (a refused use is never a retirement, so it is not here)."""
