"""participants' corporate groups, GX-League-only trading, market makers

- ``participants.corporate_group``: the declared corporate group or beneficial owner (surveillance
  treats one group as one owner);
- the GX-ETS excess-reduction instrument (JPX-GX-EXCESS) is traded between GX League members only:
  its eligibility gains ``"gx_league_only": true``;
- ``orders.quote`` and the market-maker tables ``mm_programmes``, ``mm_appointments``,
  ``mm_incentives``;
- ``index_values.restated_at``: when `tanso market restate` last changed a published value.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

GX_INSTRUMENT = "JPX-GX-EXCESS"


def _gx_rule(add: bool) -> None:
    conn = op.get_bind()
    row = conn.execute(
        sa.text("SELECT eligibility FROM instruments WHERE id = :id"), {"id": GX_INSTRUMENT}
    ).first()
    if row is None:
        return
    eligibility = json.loads(row[0])
    if add:
        eligibility["gx_league_only"] = True
    else:
        eligibility.pop("gx_league_only", None)
    conn.execute(
        sa.text("UPDATE instruments SET eligibility = :e WHERE id = :id"),
        {"e": json.dumps(eligibility, separators=(",", ":")), "id": GX_INSTRUMENT},
    )


def upgrade() -> None:
    with op.batch_alter_table("participants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("corporate_group", sa.String(40), nullable=True))
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("quote", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    _gx_rule(add=True)
    with op.batch_alter_table("index_values", schema=None) as batch_op:
        batch_op.add_column(sa.Column("restated_at", sa.String(32), nullable=True))
    op.create_table(
        "mm_programmes",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("instrument_id", sa.String(40), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=False),
        sa.Column("name_ja", sa.Text(), nullable=False),
        sa.Column("starts", sa.String(10), nullable=False),
        sa.Column("ends", sa.String(10), nullable=False),
        sa.Column("window_from", sa.String(5), nullable=False),
        sa.Column("window_to", sa.String(5), nullable=False),
        sa.Column("timezone", sa.String(40), nullable=False),
        sa.Column("max_spread", sa.BigInteger(), nullable=False),
        sa.Column("min_quantity", sa.BigInteger(), nullable=False),
        sa.Column("min_presence_pct", sa.Integer(), nullable=False),
        sa.Column("incentive_per_day", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(
            ["instrument_id"],
            ["instruments.id"],
            name=op.f("fk_mm_programmes_instrument_id_instruments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mm_programmes")),
    )
    op.create_index(
        op.f("ix_mm_programmes_instrument_id"), "mm_programmes", ["instrument_id"], unique=False
    )
    op.create_table(
        "mm_appointments",
        sa.Column("programme_id", sa.String(40), nullable=False),
        sa.Column("participant_id", sa.String(40), nullable=False),
        sa.Column("appointed_at", sa.String(32), nullable=False),
        sa.Column("ended_at", sa.String(32), nullable=True),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_mm_appointments_participant_id_participants"),
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["mm_programmes.id"],
            name=op.f("fk_mm_appointments_programme_id_mm_programmes"),
        ),
        sa.PrimaryKeyConstraint("programme_id", "participant_id", name=op.f("pk_mm_appointments")),
    )
    op.create_table(
        "mm_incentives",
        sa.Column("programme_id", sa.String(40), nullable=False),
        sa.Column("participant_id", sa.String(40), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("compliant_days", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("paid_at", sa.String(32), nullable=False),
        sa.Column("journal_seq", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_mm_incentives_participant_id_participants"),
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["mm_programmes.id"],
            name=op.f("fk_mm_incentives_programme_id_mm_programmes"),
        ),
        sa.PrimaryKeyConstraint(
            "programme_id", "participant_id", "month", name=op.f("pk_mm_incentives")
        ),
    )


def downgrade() -> None:
    op.drop_table("mm_incentives")
    op.drop_table("mm_appointments")
    op.drop_index(op.f("ix_mm_programmes_instrument_id"), table_name="mm_programmes")
    op.drop_table("mm_programmes")
    with op.batch_alter_table("index_values", schema=None) as batch_op:
        batch_op.drop_column("restated_at")
    _gx_rule(add=False)
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("quote")
    with op.batch_alter_table("participants", schema=None) as batch_op:
        batch_op.drop_column("corporate_group")
