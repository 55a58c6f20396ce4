"""Tables of usage rules and emissions inventories.

SQLAlchemy Core on the metadata of tanso.store.schema, which imports this module.

- ``emissions_inventories``: one row per participant and year (t-CO2e, integers): Scope 1,
  Scope 2 location- and market-based, own reductions by scope, targets, purchased energy.
- ``inventory_scope3``: Scope 3 emissions of that year by GHG Protocol category (1 to 15).
- ``usage_claims``: what each retirement claims, per purpose and unit: year, scope ("1", "2",
  "3", "1+2" or "" for none), quantity (in the credits' unit, tCO2 or kWh) and the tonnes counted
  against the inventory; the usage rules read claimed totals from here.
- ``usage_rulesets``: rule sets the operator added or replaced (the shipped ones live in
  ``tanso/data/rules``).
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

emissions_inventories = Table(
    "emissions_inventories",
    metadata,
    Column("participant_id", String(ID), ForeignKey("participants.id"), primary_key=True),
    Column("reporting_year", Integer, primary_key=True),
    Column("scope1", BigInteger, nullable=False),
    Column("scope2_location", BigInteger, nullable=False),
    Column("scope2_market", BigInteger, nullable=False),
    Column("reduction_scope1", BigInteger, nullable=False),
    Column("reduction_scope2", BigInteger, nullable=False),
    Column("reduction_scope3", BigInteger, nullable=False),
    Column("target_scope12", BigInteger, nullable=True),
    Column("target_scope3", BigInteger, nullable=True),
    Column("purchased_electricity_kwh", BigInteger, nullable=False),
    Column("purchased_heat_kwh", BigInteger, nullable=False),
    Column("note", Text, nullable=False),
    Column("updated_at", String(32), nullable=False),
    Column("journal_seq", BigInteger, nullable=False),
    Column("verification", String(16), nullable=False, server_default="unverified"),
    Column("verified_by", String(ID)),
    Column("verified_at", String(32)),
    Column("findings", Text, nullable=False, server_default=""),
    CheckConstraint("reporting_year BETWEEN 1990 AND 2100", name="reporting_year_valid"),
    CheckConstraint(
        "scope1 >= 0 AND scope2_location >= 0 AND scope2_market >= 0",
        name="emissions_not_negative",
    ),
    CheckConstraint(
        "reduction_scope1 >= 0 AND reduction_scope2 >= 0 AND reduction_scope3 >= 0",
        name="reductions_not_negative",
    ),
    CheckConstraint(
        "purchased_electricity_kwh >= 0 AND purchased_heat_kwh >= 0", name="energy_not_negative"
    ),
)
"""The one store of emissions. ``verification``: ``unverified`` (as recorded), ``reported`` (the
direct CO2 a GX-ETS covered entity reported for a fiscal year, awaiting its verification body),
``verified`` (confirmed by ``verified_by``; only this figure counts for GX-ETS) or ``returned``
(sent back with ``findings``). Changing Scope 1 after verification unverifies it."""

inventory_scope3 = Table(
    "inventory_scope3",
    metadata,
    Column("participant_id", String(ID), primary_key=True),
    Column("reporting_year", Integer, primary_key=True),
    Column("category", Integer, primary_key=True),
    Column("emissions", BigInteger, nullable=False),
    CheckConstraint("category BETWEEN 1 AND 15", name="category_valid"),
    CheckConstraint("emissions >= 0", name="emissions_not_negative"),
)

usage_claims = Table(
    "usage_claims",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("retirement_id", String(ID), ForeignKey("retirements.id"), nullable=False, index=True),
    Column("participant_id", String(ID), nullable=False),
    Column("reporting_year", Integer, nullable=False),
    Column("use", String(40), nullable=False),
    Column("scope", String(8), nullable=False),
    Column("scope3_category", Integer, nullable=True),
    Column("quantity", BigInteger, nullable=False),
    Column("unit", String(8), nullable=False),
    Column("tonnes", BigInteger, nullable=False),
    Column("ruleset", String(80), nullable=False),
    Column("journal_seq", BigInteger, nullable=False),
    CheckConstraint("quantity > 0 AND tonnes >= 0", name="quantity_valid"),
    Index("ix_usage_claims_participant_year", "participant_id", "reporting_year"),
)

usage_rulesets = Table(
    "usage_rulesets",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("version", String(40), primary_key=True),
    Column("effective_from", String(10), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("journal_seq", BigInteger, nullable=False),
)
