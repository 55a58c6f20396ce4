"""login throttle: a lock after failed logins expires by itself and is kept per email address

``users.failed_attempts`` and the ``locked`` status go, ``users.totp_pending`` comes (a TOTP
secret the server made, waiting for a code to confirm it); a new table ``login_throttle`` counts
failed logins in a row per email address (the SHA-256 of the lower-case address, whether or not a
user has it) with the time before which every attempt is refused. A user locked before this
revision becomes active with its count of failures carried over, so its next failure locks it
again (for longer). Data stays.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

LOCK_AFTER = 5  # services/access/users.py MAX_FAILED_LOGINS when this revision was written


def _key(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def upgrade() -> None:
    throttle = op.create_table(
        "login_throttle",
        sa.Column("email_hash", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("not_before", sa.String(length=32), nullable=True),
        sa.Column("updated_at", sa.String(length=32), nullable=False),
        sa.CheckConstraint("failures >= 0", name=op.f("ck_login_throttle_failures_valid")),
        sa.PrimaryKeyConstraint("email_hash", name=op.f("pk_login_throttle")),
    )
    conn = op.get_bind()
    failed = conn.execute(
        sa.text("SELECT email, failed_attempts, updated_at FROM users WHERE failed_attempts > 0")
    ).all()
    if failed:
        op.bulk_insert(
            throttle,
            [
                {
                    "email_hash": _key(r.email),
                    "failures": r.failed_attempts,
                    "updated_at": r.updated_at,
                }
                for r in failed
            ],
        )
    op.execute("UPDATE users SET status = 'active' WHERE status = 'locked'")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_users_status_known"), type_="check")
        batch_op.drop_constraint(op.f("ck_users_failed_attempts_valid"), type_="check")
        batch_op.drop_column("failed_attempts")
        batch_op.add_column(sa.Column("totp_pending", sa.String(length=64), nullable=True))
        batch_op.create_check_constraint(
            op.f("ck_users_status_known"), "status IN ('active', 'removed')"
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_users_status_known"), type_="check")
        batch_op.drop_column("totp_pending")
        batch_op.add_column(
            sa.Column("failed_attempts", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.create_check_constraint(
            op.f("ck_users_status_known"), "status IN ('active', 'locked', 'removed')"
        )
        batch_op.create_check_constraint(
            op.f("ck_users_failed_attempts_valid"), "failed_attempts >= 0"
        )
    conn = op.get_bind()
    counts = {
        r.email_hash: r.failures
        for r in conn.execute(sa.text("SELECT email_hash, failures FROM login_throttle")).all()
    }
    for user in conn.execute(sa.text("SELECT id, email, status FROM users")).all():
        failures = counts.get(_key(user.email), 0)
        if failures == 0:
            continue
        # before this revision a lock lasted until an administrator unlocked it
        status = "locked" if failures >= LOCK_AFTER and user.status == "active" else user.status
        conn.execute(
            sa.text("UPDATE users SET failed_attempts = :n, status = :s WHERE id = :id"),
            {"n": failures, "s": status, "id": user.id},
        )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("failed_attempts", server_default=None)
    op.drop_table("login_throttle")
