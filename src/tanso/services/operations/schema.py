"""The database schema as a use case: bring it to the newest version, and say which that is.

The adapters (CLI, the server's start, `/readyz`) call these instead of reaching into the store.
"""

from __future__ import annotations

from alembic.script import ScriptDirectory

from tanso.store import migrate
from tanso.store.db import Database


def upgrade(db: Database) -> str:
    """Create or migrate the schema to the newest revision; returns the database's address
    without its password."""
    migrate.upgrade(db.engine)
    return db.engine.url.render_as_string(hide_password=True)


def head_revision(db: Database) -> str | None:
    """The newest revision the code knows (what a migrated database should be at)."""
    return ScriptDirectory.from_config(migrate.alembic_config(db.engine)).get_current_head()
