"""settlement obligations keyed by deal: trade_id becomes deal_id

The key of an obligation has held exchange trade ids, marketplace deal ids and sealed-bid award
ids since 0008 (``venue`` says which); the column now says so. Data and the primary key stay.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def _rename(old: str, new: str) -> None:
    with op.batch_alter_table("settlement_obligations", schema=None) as batch_op:
        batch_op.alter_column(
            old, new_column_name=new, existing_type=sa.String(length=64), existing_nullable=False
        )


def upgrade() -> None:
    _rename("trade_id", "deal_id")


def downgrade() -> None:
    _rename("deal_id", "trade_id")
