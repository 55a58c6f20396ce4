"""error trades: ``trades.busted``, ``busted_at``, ``bust_reason`` and ``bars.restated``

The operator may cancel ("bust") a trade that has not settled (issue 17): the trade stays, marked
busted with when and why, and no longer counts in the bars, which are recomputed without it and
marked restated. Existing trades stand; existing bars are as published.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("trades", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("busted", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("busted_at", sa.String(32), nullable=True))
        batch_op.add_column(sa.Column("bust_reason", sa.String(32), nullable=True))
    with op.batch_alter_table("bars", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("restated", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("bars", schema=None) as batch_op:
        batch_op.drop_column("restated")
    with op.batch_alter_table("trades", schema=None) as batch_op:
        batch_op.drop_column("bust_reason")
        batch_op.drop_column("busted_at")
        batch_op.drop_column("busted")
