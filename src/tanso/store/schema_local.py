"""Tables of local-government credit schemes (自治体クレジット, docs/local-credits.md): the
schemes, the region of each of their projects, and the buyers who chose to be named.

SQLAlchemy Core on the metadata of tanso.store.schema, which imports this module. A local
scheme's code is also a row of ``schemes`` and its projects are rows of ``projects``, so its
credits are issued, held, traded and retired by the ordinary registry; the quantities a scheme's
page shows (issued, sold, retired) are read from the registry, never stored here.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, String, Table, Text

from tanso.store.metadata import ID, metadata

local_schemes = Table(
    "local_schemes",
    metadata,
    Column("code", String(8), ForeignKey("schemes.code"), primary_key=True),
    Column("participant_id", String(ID), ForeignKey("participants.id"), nullable=False),
    Column("name_en", Text, nullable=False),
    Column("name_ja", Text, nullable=False),
    Column("prefecture", String(2), nullable=False, index=True),
    Column("municipality", Text, nullable=False),
    Column("methodologies", Text, nullable=False),
    Column("proceeds_en", Text, nullable=False),
    Column("proceeds_ja", Text, nullable=False),
    Column("url", Text, nullable=False),
    Column("registered_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    Column("journal_seq", BigInteger, nullable=False),
)
"""A local government's credit scheme, registered by the operator: its owner (a participant of
kind local_government), names, the prefecture (JIS X 0401 code) and municipality ("" for a
prefecture's own scheme), its methodologies (JSON list) and how the proceeds are used."""

local_projects = Table(
    "local_projects",
    metadata,
    Column("project_id", String(16), ForeignKey("projects.id"), primary_key=True),
    Column("scheme", String(8), ForeignKey("local_schemes.code"), nullable=False),
    Column("prefecture", String(2), nullable=False),
    Column("municipality", Text, nullable=False),
    Column("methodology", String(40), nullable=False),
    Column("registered_at", String(32), nullable=False),
    Column("journal_seq", BigInteger, nullable=False),
    Index("ix_local_projects_scheme", "scheme", "project_id"),
    Index("ix_local_projects_prefecture", "prefecture"),
)
"""Where each project of a local scheme is (prefecture code, municipality) and the scheme's
methodology it follows; the project itself is an ordinary ``projects`` row."""

local_supporters = Table(
    "local_supporters",
    metadata,
    Column("scheme", String(8), ForeignKey("local_schemes.code"), primary_key=True),
    Column("participant_id", String(ID), ForeignKey("participants.id"), primary_key=True),
    Column("named_at", String(32), nullable=False),
    Column("journal_seq", BigInteger, nullable=False),
)
"""A buyer's consent to be named on a scheme's public page; withdrawing it deletes the row. The
page names a consenting buyer only once it has bought the scheme's credits."""
