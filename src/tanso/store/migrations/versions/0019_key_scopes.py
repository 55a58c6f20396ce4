"""scopes on API keys and broker mandates

``api_keys.scopes`` lists what a key may do (read, trade, transfer, retire, manage, operate). A
key made before scopes gets every scope its roles allow, so it does what it did. A broker's
mandate (``broker_authorisations.scopes``) starts at ``trade``, the default for a new one: a broker
no longer moves, withdraws or retires its client's credits unless the client grants it.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

# the rule of tanso.domain.participants.scopes_for_roles when this migration was written
_ANY = ["read", "transfer", "retire", "manage"]
_TRADING = {"trader", "broker", "market_maker"}
_OPERATING = {"registry_operator", "exchange_operator"}


def _scopes(roles: str) -> str:
    held = {r for r in roles.split(",") if r}
    out = ["read"]
    if held & _TRADING:
        out.append("trade")
    out += _ANY[1:]
    if held & _OPERATING:
        out.append("operate")
    return ",".join(out)


def upgrade() -> None:
    op.add_column("api_keys", sa.Column("scopes", sa.Text(), nullable=True))
    op.add_column("broker_authorisations", sa.Column("scopes", sa.Text(), nullable=True))
    conn = op.get_bind()
    keys = sa.table("api_keys", sa.column("id", sa.String()), sa.column("roles", sa.Text()))
    scopes = sa.table("api_keys", sa.column("id", sa.String()), sa.column("scopes", sa.Text()))
    for key_id, roles in conn.execute(sa.select(keys.c.id, keys.c.roles)).all():
        conn.execute(
            sa.update(scopes).where(scopes.c.id == key_id).values(scopes=_scopes(roles or ""))
        )
    mandates = sa.table("broker_authorisations", sa.column("scopes", sa.Text()))
    conn.execute(sa.update(mandates).values(scopes="trade"))
    for table in ("api_keys", "broker_authorisations"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column("scopes", existing_type=sa.Text(), nullable=False)


def downgrade() -> None:
    for table in ("broker_authorisations", "api_keys"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("scopes")
