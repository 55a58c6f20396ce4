"""The migrations build exactly the schema that tanso.store.schema describes, on both backends."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tanso.store import migrate
from tanso.store import schema as t
from tanso.store.db import Database
from tests.conftest import counter_clock

pytestmark = pytest.mark.fast_backends("sqlite", "postgres")


def test_migrated_database_matches_the_schema_module(db: Database) -> None:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff: list[Any] = compare_metadata(context, t.metadata)
    assert diff == []


def test_every_migration_downgrades_and_upgrades_again(tmp_path: Any) -> None:
    db = Database(f"sqlite:///{tmp_path / 'm.db'}", counter_clock())
    migrate.upgrade(db.engine)
    migrate.downgrade(db.engine, "base")
    migrate.upgrade(db.engine)
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn)
        assert compare_metadata(context, t.metadata) == []
    db.dispose()
