"""Tables of the information hub's notices (issue 22, docs/market-notices.md): the operator's
public market notices, the participant the registry operator names as a project's developer,
and the updates developers publish on their projects' pages.

SQLAlchemy Core on the metadata of tanso.store.schema, which imports this module. Nothing here
is ever deleted: a withdrawn notice keeps its text, with when and why it was withdrawn; the
journal holds both the publication and the withdrawal.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, String, Table, Text

from tanso.store.metadata import ID, metadata

market_notices = Table(
    "market_notices",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("title_en", Text, nullable=False),
    Column("title_ja", Text, nullable=False),
    Column("body_en", Text, nullable=False),
    Column("body_ja", Text, nullable=False),
    Column("effective_on", String(10), nullable=False),
    Column("link", Text),
    Column("published_at", String(32), nullable=False),
    Column("published_by", String(120), nullable=False),
    Column("journal_seq", BigInteger, nullable=False),
    Column("withdrawn_at", String(32)),
    Column("withdrawal_reason", Text),
    Column("withdrawal_seq", BigInteger),
    Index("ix_market_notices_kind", "kind"),
    Index("ix_market_notices_effective_on", "effective_on"),
    Index("ix_market_notices_journal_seq", "journal_seq"),
)
"""A market notice (お知らせ) in English and Japanese; ``withdrawn_at`` and
``withdrawal_reason`` once the operator withdrew (corrected) it."""

project_developers = Table(
    "project_developers",
    metadata,
    Column("project_id", String(16), ForeignKey("projects.id"), primary_key=True),
    Column("participant_id", String(ID), ForeignKey("participants.id"), nullable=False),
    Column("named_at", String(32), nullable=False),
    Column("journal_seq", BigInteger, nullable=False),
    Index("ix_project_developers_participant", "participant_id"),
)
"""The participant the registry operator names as a project's developer: it may publish the
project's updates."""

project_updates = Table(
    "project_updates",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("project_id", String(16), ForeignKey("projects.id"), nullable=False),
    Column("participant_id", String(ID), ForeignKey("participants.id"), nullable=False),
    Column("language", String(4), nullable=False),
    Column("title_en", Text, nullable=False),
    Column("body_en", Text, nullable=False),
    Column("title_ja", Text, nullable=False),
    Column("body_ja", Text, nullable=False),
    Column("published_on", String(10), nullable=False),
    Column("published_at", String(32), nullable=False),
    Column("journal_seq", BigInteger, nullable=False),
    Index("ix_project_updates_project", "project_id"),
)
"""An update a project's developer published on the project's page (en, ja or both)."""
