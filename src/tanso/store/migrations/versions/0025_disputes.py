"""disputes, their evidence and remedies

Disputes (紛争処理, issue 17): ``disputes``, their history ``dispute_events`` and the files
attached to them ``dispute_evidence``. New tables only; nothing existing changes.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "disputes",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("opener_id", sa.String(length=40), nullable=False),
        sa.Column("counterparty_id", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("claimed_amount", sa.BigInteger(), nullable=False),
        sa.Column("claimed_quantity", sa.BigInteger(), nullable=False),
        sa.Column("opened_at", sa.String(length=32), nullable=False),
        sa.Column("respond_by", sa.String(length=32), nullable=False),
        sa.Column("responded_at", sa.String(length=32), nullable=True),
        sa.Column("reviewed_at", sa.String(length=32), nullable=True),
        sa.Column("decide_by", sa.String(length=32), nullable=True),
        sa.Column("decided_at", sa.String(length=32), nullable=True),
        sa.Column("closed_at", sa.String(length=32), nullable=True),
        sa.Column("withdrawn_at", sa.String(length=32), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("decision", sa.Text(), nullable=True),
        sa.Column("remedies", sa.Text(), nullable=True),
        sa.Column("journal_seq", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "state IN ('open', 'responded', 'under_review', 'decided', 'closed', 'withdrawn')",
            name=op.f("ck_disputes_state_known"),
        ),
        sa.CheckConstraint(
            "claimed_amount >= 0 AND claimed_quantity >= 0",
            name=op.f("ck_disputes_claims_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["opener_id"],
            ["participants.id"],
            name=op.f("fk_disputes_opener_id_participants"),
        ),
        sa.ForeignKeyConstraint(
            ["counterparty_id"],
            ["participants.id"],
            name=op.f("fk_disputes_counterparty_id_participants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disputes")),
    )
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.create_index("ix_disputes_subject_id", ["subject_id"], unique=False)
        batch_op.create_index("ix_disputes_opener_id", ["opener_id"], unique=False)
        batch_op.create_index("ix_disputes_counterparty_id", ["counterparty_id"], unique=False)
        batch_op.create_index("ix_disputes_state_respond_by", ["state", "respond_by"], unique=False)
    op.create_table(
        "dispute_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("dispute_id", sa.String(length=40), nullable=False),
        sa.Column("journal_seq", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("actor_id", sa.String(length=40), nullable=False),
        sa.Column("audience", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=True),
        sa.CheckConstraint(
            "audience IN ('all', 'opener', 'counterparty', 'operator')",
            name=op.f("ck_dispute_events_audience_known"),
        ),
        sa.ForeignKeyConstraint(
            ["dispute_id"],
            ["disputes.id"],
            name=op.f("fk_dispute_events_dispute_id_disputes"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispute_events")),
    )
    with op.batch_alter_table("dispute_events", schema=None) as batch_op:
        batch_op.create_index("ix_dispute_events_dispute_id", ["dispute_id"], unique=False)
    op.create_table(
        "dispute_evidence",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("dispute_id", sa.String(length=40), nullable=False),
        sa.Column("uploaded_by", sa.String(length=40), nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content_base64", sa.Text(), nullable=False),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.Column("journal_seq", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("size > 0", name=op.f("ck_dispute_evidence_size_positive")),
        sa.ForeignKeyConstraint(
            ["dispute_id"],
            ["disputes.id"],
            name=op.f("fk_dispute_evidence_dispute_id_disputes"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispute_evidence")),
    )
    with op.batch_alter_table("dispute_evidence", schema=None) as batch_op:
        batch_op.create_index("ix_dispute_evidence_dispute_id", ["dispute_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("dispute_evidence", schema=None) as batch_op:
        batch_op.drop_index("ix_dispute_evidence_dispute_id")
    op.drop_table("dispute_evidence")
    with op.batch_alter_table("dispute_events", schema=None) as batch_op:
        batch_op.drop_index("ix_dispute_events_dispute_id")
    op.drop_table("dispute_events")
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.drop_index("ix_disputes_state_respond_by")
        batch_op.drop_index("ix_disputes_counterparty_id")
        batch_op.drop_index("ix_disputes_opener_id")
        batch_op.drop_index("ix_disputes_subject_id")
    op.drop_table("disputes")
