"""market data

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "index_values",
        sa.Column("index_id", sa.String(length=40), nullable=False),
        sa.Column("date", sa.String(length=10), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("rule", sa.String(length=24), nullable=False),
        sa.Column("volume", sa.BigInteger(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("journal_seq", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("index_id", "date", name=op.f("pk_index_values")),
    )
    op.create_table(
        "bars",
        sa.Column("instrument_id", sa.String(length=40), nullable=False),
        sa.Column("interval", sa.String(length=4), nullable=False),
        sa.Column("period_start", sa.String(length=10), nullable=False),
        sa.Column("open", sa.BigInteger(), nullable=False),
        sa.Column("high", sa.BigInteger(), nullable=False),
        sa.Column("low", sa.BigInteger(), nullable=False),
        sa.Column("close", sa.BigInteger(), nullable=False),
        sa.Column("volume", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("trades", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "low <= open AND open <= high AND low <= close AND close <= high",
            name=op.f("ck_bars_ohlc"),
        ),
        sa.ForeignKeyConstraint(
            ["instrument_id"], ["instruments.id"], name=op.f("fk_bars_instrument_id_instruments")
        ),
        sa.PrimaryKeyConstraint("instrument_id", "interval", "period_start", name=op.f("pk_bars")),
    )
    # ### end Alembic commands ###


def downgrade() -> None:
    op.drop_table("bars")
    op.drop_table("index_values")
    # ### end Alembic commands ###
