"""a party's bust requests and participants' notices

Issue 17: ``bust_requests`` (a party asks the operator to bust a trade within the rulebook's
window) and ``notices`` (お知らせ, a participant's inbox). New tables only; nothing existing
changes.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bust_requests",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("trade_id", sa.String(length=64), nullable=False),
        sa.Column("requester_id", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason_code", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("requested_at", sa.String(length=32), nullable=False),
        sa.Column("deadline", sa.String(length=32), nullable=False),
        sa.Column("decided_at", sa.String(length=32), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("journal_seq", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "state IN ('pending', 'granted', 'refused')",
            name=op.f("ck_bust_requests_state_known"),
        ),
        sa.ForeignKeyConstraint(
            ["trade_id"], ["trades.id"], name=op.f("fk_bust_requests_trade_id_trades")
        ),
        sa.ForeignKeyConstraint(
            ["requester_id"],
            ["participants.id"],
            name=op.f("fk_bust_requests_requester_id_participants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bust_requests")),
    )
    with op.batch_alter_table("bust_requests", schema=None) as batch_op:
        batch_op.create_index("ix_bust_requests_trade_id", ["trade_id"], unique=False)
        batch_op.create_index("ix_bust_requests_requester_id", ["requester_id"], unique=False)
        batch_op.create_index("ix_bust_requests_state", ["state"], unique=False)
    op.create_table(
        "notices",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("participant_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("read_at", sa.String(length=32), nullable=True),
        sa.Column("journal_seq", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_notices_participant_id_participants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
    )
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notices_participant_created", ["participant_id", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_index("ix_notices_participant_created")
    op.drop_table("notices")
    with op.batch_alter_table("bust_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_bust_requests_state")
        batch_op.drop_index("ix_bust_requests_requester_id")
        batch_op.drop_index("ix_bust_requests_trade_id")
    op.drop_table("bust_requests")
