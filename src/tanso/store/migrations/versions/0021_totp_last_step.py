"""each TOTP code accepted once: ``users.totp_last_step``

The RFC 6238 time step (Unix time // 30) of the last second-factor code a user's login or TOTP
enrolment accepted; a code of that step or an earlier one is refused like a wrong code, so a
code seen over a shoulder or in a proxy's log cannot be replayed within its 90-second window.
Existing users start with none (their next valid code is accepted).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("totp_last_step", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("totp_last_step")
