"""Tables of operations: the access log of logins and API key use.

SQLAlchemy Core on the metadata of tanso.store.schema, which imports this module. The access log
is an operational record, not part of the books: it is never journaled and never folded by the
audit, and losing a row of it changes no balance.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text

from tanso.store.metadata import ID, metadata

access_log = Table(
    "access_log",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("at", String(32), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("subject", String(254), nullable=False),
    Column("participant_id", String(ID)),
    Column("ip", String(64)),
    Column("outcome", String(16), nullable=False),
    Column("detail", Text, nullable=False),
    Index("ix_access_log_subject_id", "subject", "id"),
)
"""Who tried to get in, from where, and how it went: portal logins and second factors (every
attempt) and API key use (the first request of each key in each minute, and refusals)."""
