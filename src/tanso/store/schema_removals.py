"""Tables of removal credits (issue 21, docs/removals.md): each removal project's profile, the
buffer pool's contributions and the reversals reported against projects.

SQLAlchemy Core on the metadata of tanso.store.schema, which imports this module. A buffer pool
is an ordinary holding-kind system account per scheme (``SYS-BUFFER-<scheme>``): its credits
are blocks like any others, so the journal fold and `tanso audit verify` cover them; these
tables only say which issuance put which serials there and what each reversal took.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, Table, Text

from tanso.store.metadata import ID, metadata

removal_profiles = Table(
    "removal_profiles",
    metadata,
    Column("project_id", String(16), ForeignKey("projects.id"), primary_key=True),
    Column("pathway", String(24), nullable=False, index=True),
    Column("storage", String(16), nullable=False),
    Column("permanence_years", Integer, nullable=False),
    Column("reversal_risk", String(8), nullable=False),
    Column("monitoring_years", Integer, nullable=False),
    Column("buffer_rate_bp", Integer, nullable=False),
    Column("source", Text, nullable=False),
    Column("developer_id", String(ID), ForeignKey("participants.id")),
    Column("set_at", String(32), nullable=False),
    Column("journal_seq", BigInteger, nullable=False),
)
"""A removal project's class, as data: pathway (DACCS, biochar, ...), storage (geological,
mineral, product, biological), stated permanence and monitoring period in years, reversal risk
(none, low, medium, high) and the methodology's buffer rate in basis points, with its source;
``developer_id``: the participant the operator names as the project's developer (who may list
its forward volumes before its first issuance), or None."""

buffer_contributions = Table(
    "buffer_contributions",
    metadata,
    Column("issuance_id", String(40), ForeignKey("issuances.id"), primary_key=True),
    Column("project_id", String(16), ForeignKey("projects.id"), nullable=False),
    Column("scheme", String(8), nullable=False),
    Column("account_id", String(ID), nullable=False),
    Column("serial_start", BigInteger, nullable=False),
    Column("serial_end", BigInteger, nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("rate_bp", Integer, nullable=False),
    Column("journal_seq", BigInteger, nullable=False),
    Index("ix_buffer_contributions_project", "project_id"),
    Index("ix_buffer_contributions_scheme", "scheme"),
)
"""The serials an issuance put in its scheme's buffer pool (the last ones of the issuance)."""

reversals = Table(
    "reversals",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("project_id", String(16), ForeignKey("projects.id"), nullable=False, index=True),
    Column("scheme", String(8), nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("cause", String(16), nullable=False),
    Column("occurred_on", String(10), nullable=False),
    Column("description", Text, nullable=False),
    Column("from_project_buffer", BigInteger, nullable=False),
    Column("from_holders", BigInteger, nullable=False),
    Column("from_pool", BigInteger, nullable=False),
    Column("uncompensated", BigInteger, nullable=False),
    Column("cancelled", Text, nullable=False),
    Column("released", Text, nullable=False),
    Column("reported_at", String(32), nullable=False),
    Column("journal_seq", BigInteger, nullable=False),
)
"""A reversal (fire, leakage, ...) reported for a project and how it was compensated: tonnes
cancelled from the project's own buffer contributions, from its holders' unretired credits, from
the rest of the scheme's pool, and what no credit was left to cover; ``cancelled`` is the JSON
list of serial ranges cancelled, ``released`` the orders, listings and offers released first."""
