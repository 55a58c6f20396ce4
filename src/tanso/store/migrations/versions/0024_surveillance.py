"""surveillance: ``surveillance_alerts`` and their audit trail ``surveillance_alert_events``

Surveillance rules (issue 17, 売買審査) raise alerts with their evidence; the exchange operator
reviews, dismisses or escalates each, and every change is a row of the audit trail (and a
journal entry). New tables only: nothing existing changes.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "surveillance_alerts",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("participants", sa.Text(), nullable=False),
        sa.Column("instrument_id", sa.String(length=40), nullable=True),
        sa.Column("trade_date", sa.String(length=10), nullable=False),
        sa.Column("journal_seq", sa.BigInteger(), nullable=False),
        sa.Column("detected_at", sa.String(length=32), nullable=False),
        sa.Column("raised_at", sa.String(length=32), nullable=False),
        sa.Column("raised_by", sa.String(length=8), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("updated_at", sa.String(length=32), nullable=False),
        sa.CheckConstraint(
            "state IN ('new', 'reviewing', 'dismissed', 'escalated')",
            name=op.f("ck_surveillance_alerts_state_valid"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_surveillance_alerts")),
        sa.UniqueConstraint("key", name=op.f("uq_surveillance_alerts_key")),
    )
    with op.batch_alter_table("surveillance_alerts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_surveillance_alerts_trade_date", ["trade_date", "id"], unique=False
        )
        batch_op.create_index("ix_surveillance_alerts_state", ["state", "trade_date"], unique=False)
    op.create_table(
        "surveillance_alert_events",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("alert_id", _ID, nullable=False),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=254), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("journal_seq", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["surveillance_alerts.id"],
            name=op.f("fk_surveillance_alert_events_alert_id_surveillance_alerts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_surveillance_alert_events")),
    )
    with op.batch_alter_table("surveillance_alert_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_surveillance_alert_events_alert_id", ["alert_id", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("surveillance_alert_events", schema=None) as batch_op:
        batch_op.drop_index("ix_surveillance_alert_events_alert_id")
    op.drop_table("surveillance_alert_events")
    with op.batch_alter_table("surveillance_alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_surveillance_alerts_state")
        batch_op.drop_index("ix_surveillance_alerts_trade_date")
    op.drop_table("surveillance_alerts")
