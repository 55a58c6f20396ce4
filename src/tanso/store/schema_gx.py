"""Tables of GX-ETS (docs/gx-ets.md): covered entities and their accounts, allocations, allowance
surrenders and ceiling payments.

SQLAlchemy Core on the metadata of tanso.store.schema, which imports this module. Allowances are
registry units (scheme GXA) in the ordinary blocks; emissions live in the one emissions store
(schema_usage.emissions_inventories) with its verification status. A fiscal year (年度) runs
from April to March and is named by the year it starts in.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
)

from tanso.store.metadata import ID, metadata

gx_accounts = Table(
    "gx_accounts",
    metadata,
    Column("participant_id", String(ID), ForeignKey("participants.id"), primary_key=True),
    Column("holding_account", String(ID), ForeignKey("accounts.id"), nullable=False),
    Column("compliance_account", String(ID), ForeignKey("accounts.id"), nullable=False),
    Column("opened_at", String(32), nullable=False),
)
"""A covered entity's allowance holding account (排出枠保有口座) and its compliance (surrender)
account, opened the first time it is covered and kept for every later fiscal year."""

gx_covered = Table(
    "gx_covered",
    metadata,
    Column("participant_id", String(ID), ForeignKey("participants.id"), primary_key=True),
    Column("fiscal_year", Integer, primary_key=True),
    Column("sectors", Text, nullable=False),
    Column("facilities", Text, nullable=False),
    Column("group_members", Text, nullable=False),
    Column("covered_at", String(32), nullable=False),
    Column("journal_seq", BigInteger, nullable=False),
    CheckConstraint("fiscal_year BETWEEN 2000 AND 2100", name="gx_fiscal_year_valid"),
)
"""Who the scheme covers in a fiscal year: sectors and facilities (JSON lists) and the group
members the entity complies for (JSON list of participant ids)."""

gx_allocations = Table(
    "gx_allocations",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("participant_id", String(ID), ForeignKey("participants.id"), nullable=False),
    Column("fiscal_year", Integer, nullable=False, index=True),
    Column("method", String(16), nullable=False),
    Column("inputs", Text, nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("issuance_id", String(40), ForeignKey("issuances.id"), nullable=False),
    Column("allocated_at", String(32), nullable=False),
    Column("journal_seq", BigInteger, nullable=False),
    CheckConstraint("quantity > 0", name="gx_allocation_positive"),
)
"""Allowances issued by allocation (or by auction, to the administrator): the method, its
inputs and the calculation (JSON), and the issuance that holds the serials."""

gx_surrenders = Table(
    "gx_surrenders",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("participant_id", String(ID), ForeignKey("participants.id"), nullable=False),
    Column("fiscal_year", Integer, nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("ref", String(ID), nullable=False),
    Column("surrendered_at", String(32), nullable=False),
    Column("journal_seq", BigInteger, nullable=False),
    CheckConstraint("quantity > 0", name="gx_surrender_positive"),
)
"""Surrenders toward a fiscal year: ``allowances`` (moved to the compliance account, ``ref`` the
surrender id) or ``credits`` (a retirement for ``gx_ets_surrender``, ``ref`` its id)."""

gx_payments = Table(
    "gx_payments",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("participant_id", String(ID), ForeignKey("participants.id"), nullable=False),
    Column("fiscal_year", Integer, nullable=False, index=True),
    Column("quantity", BigInteger, nullable=False),
    Column("price", BigInteger, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("paid_at", String(32), nullable=False),
    Column("journal_seq", BigInteger, nullable=False),
    CheckConstraint("quantity > 0 AND price > 0 AND amount = quantity * price", name="gx_pay_ok"),
)
"""Reference ceiling payments (参考上限取引価格 per tonne instead of allowances)."""
