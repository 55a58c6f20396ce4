"""usage inventories

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "emissions_inventories",
        sa.Column("participant_id", sa.String(length=40), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("scope1", sa.BigInteger(), nullable=False),
        sa.Column("scope2_location", sa.BigInteger(), nullable=False),
        sa.Column("scope2_market", sa.BigInteger(), nullable=False),
        sa.Column("reduction_scope1", sa.BigInteger(), nullable=False),
        sa.Column("reduction_scope2", sa.BigInteger(), nullable=False),
        sa.Column("reduction_scope3", sa.BigInteger(), nullable=False),
        sa.Column("target_scope12", sa.BigInteger(), nullable=True),
        sa.Column("target_scope3", sa.BigInteger(), nullable=True),
        sa.Column("purchased_electricity_kwh", sa.BigInteger(), nullable=False),
        sa.Column("purchased_heat_kwh", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.String(length=32), nullable=False),
        sa.Column("journal_seq", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "year BETWEEN 1990 AND 2100", name=op.f("ck_emissions_inventories_year_valid")
        ),
        sa.CheckConstraint(
            "scope1 >= 0 AND scope2_location >= 0 AND scope2_market >= 0",
            name=op.f("ck_emissions_inventories_emissions_not_negative"),
        ),
        sa.CheckConstraint(
            "reduction_scope1 >= 0 AND reduction_scope2 >= 0 AND reduction_scope3 >= 0",
            name=op.f("ck_emissions_inventories_reductions_not_negative"),
        ),
        sa.CheckConstraint(
            "purchased_electricity_kwh >= 0 AND purchased_heat_kwh >= 0",
            name=op.f("ck_emissions_inventories_energy_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_emissions_inventories_participant_id_participants"),
        ),
        sa.PrimaryKeyConstraint("participant_id", "year", name=op.f("pk_emissions_inventories")),
    )
    op.create_table(
        "inventory_scope3",
        sa.Column("participant_id", sa.String(length=40), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("category", sa.Integer(), nullable=False),
        sa.Column("emissions", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "category BETWEEN 1 AND 15", name=op.f("ck_inventory_scope3_category_valid")
        ),
        sa.CheckConstraint(
            "emissions >= 0", name=op.f("ck_inventory_scope3_emissions_not_negative")
        ),
        sa.PrimaryKeyConstraint(
            "participant_id", "year", "category", name=op.f("pk_inventory_scope3")
        ),
    )
    op.create_table(
        "usage_claims",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("retirement_id", sa.String(length=40), nullable=False),
        sa.Column("participant_id", sa.String(length=40), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("use", sa.String(length=40), nullable=False),
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("scope3_category", sa.Integer(), nullable=True),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("unit", sa.String(length=8), nullable=False),
        sa.Column("tonnes", sa.BigInteger(), nullable=False),
        sa.Column("ruleset", sa.String(length=80), nullable=False),
        sa.Column("journal_seq", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "quantity > 0 AND tonnes >= 0", name=op.f("ck_usage_claims_quantity_valid")
        ),
        sa.ForeignKeyConstraint(
            ["retirement_id"],
            ["retirements.id"],
            name=op.f("fk_usage_claims_retirement_id_retirements"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_claims")),
    )
    with op.batch_alter_table("usage_claims", schema=None) as batch_op:
        batch_op.create_index(
            "ix_usage_claims_participant_year", ["participant_id", "year"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_usage_claims_retirement_id"), ["retirement_id"], unique=False
        )
    op.create_table(
        "usage_rulesets",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("effective_from", sa.String(length=10), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("journal_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", "version", name=op.f("pk_usage_rulesets")),
    )


def downgrade() -> None:
    op.drop_table("usage_rulesets")
    with op.batch_alter_table("usage_claims", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_usage_claims_retirement_id"))
        batch_op.drop_index("ix_usage_claims_participant_year")
    op.drop_table("usage_claims")
    op.drop_table("inventory_scope3")
    op.drop_table("emissions_inventories")
