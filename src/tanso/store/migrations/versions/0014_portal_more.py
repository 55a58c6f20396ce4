"""portal more: users may be removed (kept as a row, never able to log in again)

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_users_status_known"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_users_status_known"), "status IN ('active', 'locked', 'removed')"
        )


def downgrade() -> None:
    # a removed user cannot be represented before this revision: it becomes locked
    op.execute("UPDATE users SET status = 'locked' WHERE status = 'removed'")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_users_status_known"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_users_status_known"), "status IN ('active', 'locked')"
        )
