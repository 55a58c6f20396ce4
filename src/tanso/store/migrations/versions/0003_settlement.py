"""settlement

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fee_schedules",
        sa.Column("instrument_id", sa.String(length=40), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("per_tonne", sa.BigInteger(), nullable=False),
        sa.Column("bps", sa.Integer(), nullable=False),
        sa.Column("per_trade", sa.BigInteger(), nullable=False),
        sa.Column("late_charge", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "per_tonne >= 0 AND bps >= 0 AND bps <= 10000 AND per_trade >= 0 AND late_charge >= 0",
            name=op.f("ck_fee_schedules_fees_valid"),
        ),
        sa.PrimaryKeyConstraint("instrument_id", "side", name=op.f("pk_fee_schedules")),
    )
    op.create_table(
        "settlement_runs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("date", sa.String(length=10), nullable=False),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=96), nullable=False),
        sa.Column("settled", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("cash_moved", sa.BigInteger(), nullable=False),
        sa.Column("credits_moved", sa.BigInteger(), nullable=False),
        sa.Column("fees", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_runs")),
    )
    with op.batch_alter_table("settlement_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_settlement_runs_date"), ["date"], unique=False)

    with op.batch_alter_table("settlement_obligations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("buyer_fee", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("seller_fee", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("late_charge", sa.BigInteger(), server_default="0", nullable=False)
        )

    # ### end Alembic commands ###


def downgrade() -> None:
    with op.batch_alter_table("settlement_obligations", schema=None) as batch_op:
        batch_op.drop_column("late_charge")
        batch_op.drop_column("seller_fee")
        batch_op.drop_column("buyer_fee")

    with op.batch_alter_table("settlement_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_settlement_runs_date"))

    op.drop_table("settlement_runs")
    op.drop_table("fee_schedules")
    # ### end Alembic commands ###
