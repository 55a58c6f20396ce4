"""one word per concept: the usage tables' ``year`` becomes ``reporting_year``

``emissions_inventories``, ``inventory_scope3`` and ``usage_claims`` name the year a figure or a
claim counts for as retirements do: ``reporting_year``. The inventories' CHECK constraint on the
year is made again under the new name (on SQLite the batch copies each table, with foreign keys
off while it runs: ``tanso.store.migrate``). Data stays.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

# table, the CHECK on its year (old name, new name)
_TABLES = [
    ("emissions_inventories", ("year_valid", "reporting_year_valid")),
    ("inventory_scope3", None),
    ("usage_claims", None),
]


def _apply(forward: bool) -> None:
    old, new = ("year", "reporting_year") if forward else ("reporting_year", "year")
    for table, check in _TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            if check is not None:
                before, after = check if forward else check[::-1]
                batch_op.drop_constraint(op.f(f"ck_{table}_{before}"), type_="check")
            batch_op.alter_column(
                old, new_column_name=new, existing_type=sa.Integer(), existing_nullable=False
            )
            if check is not None:
                batch_op.create_check_constraint(
                    op.f(f"ck_{table}_{after}"), f"{new} BETWEEN 1990 AND 2100"
                )


def upgrade() -> None:
    _apply(forward=True)


def downgrade() -> None:
    _apply(forward=False)
