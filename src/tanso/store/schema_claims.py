"""Tables of retirement certificates and offset claims.

SQLAlchemy Core on the metadata of tanso.store.schema, which imports this module.

Certificates and claim reports are derived from the registry and need no table. What is kept:

- ``journal_audits``: the result of each full verification of the journal recorded through
  ``certificates.audit`` (up to which entry, its hash, ok or the first bad entry), so that the
  public /verify page can show the last full audit without re-running it.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Integer, String, Table, Text

from tanso.store.metadata import metadata

journal_audits = Table(
    "journal_audits",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("at", String(32), nullable=False),
    Column("through_seq", BigInteger, nullable=False),
    Column("head_hash", String(64), nullable=True),
    Column("ok", Boolean, nullable=False),
    Column("entries", BigInteger, nullable=False),
    Column("first_bad_seq", BigInteger, nullable=True),
    Column("problems", Text, nullable=False),
    Column("journal_seq", BigInteger, nullable=False),
)
