"""The migrations build exactly the schema that tanso.store.schema describes, on both backends."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tanso.services.common import SYSTEM
from tanso.services.ledger import audit, participants
from tanso.services.venues import marketplace as market
from tanso.store import migrate
from tanso.store import schema as t
from tanso.store.db import Database
from tests.conftest import add_participant, counter_clock
from tests.integration.test_marketplace import listing, market_db  # noqa: F401 (a fixture)

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


def test_0016_renames_keep_every_row_and_the_rows_that_point_at_them(
    market_db: dict[str, Any],  # noqa: F811 (the fixture imported above)
) -> None:
    """A table others point at (a listing an RFQ names) is copied on SQLite: nothing is lost."""
    db, seller, buyer = market_db["db"], market_db["seller"], market_db["buyer"]
    lst = market.create_listing(
        db, seller, listing(seller, market_db["issuance"], 100, min_quantity=20, lot=10)
    )
    rfq = market.create_rfq(db, buyer, 40, listing_id=lst.id)

    def rows(column: str) -> list[tuple[Any, ...]]:
        with db.engine.connect() as conn:
            listings = conn.exec_driver_sql(
                f"SELECT id, {column}, available FROM marketplace_listings"
            ).all()
            rfqs = conn.exec_driver_sql("SELECT id, listing_id FROM marketplace_rfqs").all()
        return [tuple(r) for r in listings + rfqs]

    after = rows("min_quantity")
    assert after == [(lst.id, 20, 100), (rfq.id, lst.id)]
    migrate.downgrade(db.engine, "0015")
    assert rows("min_qty") == after
    migrate.upgrade(db.engine)
    assert rows("min_quantity") == after
    assert audit.verify(db).ok


def test_0018_keeps_failed_logins_as_a_count_per_address_and_a_lock_as_one_more_failure(
    db: Database,
) -> None:
    """A user locked for good before 0018 is active after it, with its failures counted, so the
    next failure locks it again for longer; down again, the count and the lock come back."""
    from tanso.services.access import users
    from tanso.services.common import SYSTEM
    from tests.conftest import add_participant

    add_participant(db, "ALPHA")
    email, password = "a@alpha.example.jp", "correct horse battery"
    users.create(db, SYSTEM, users.NewUser("ALPHA", email, "A", "trader", password))
    for _ in range(users.MAX_FAILED_LOGINS):
        users.login(db, email, "wrong password!")
    migrate.downgrade(db.engine, "0017")
    with db.engine.connect() as conn:
        before = conn.exec_driver_sql("SELECT status, failed_attempts FROM users").one()
    assert tuple(before) == ("locked", users.MAX_FAILED_LOGINS)
    migrate.upgrade(db.engine)
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT status FROM users").scalar_one() == "active"
        assert conn.exec_driver_sql("SELECT failures FROM login_throttle").scalar_one() == 5
    again = users.login(db, email, "wrong password!")
    assert again.outcome == "locked" and again.retry_after in (600, 601)


def test_0019_gives_existing_keys_every_scope_their_roles_allow(db: Database) -> None:
    """Keys made before scopes keep doing what they did; mandates made before are ``trade``."""
    add_participant(db, "MTRADER", ["trader"])
    add_participant(db, "MBROKER", ["broker"])
    trader = participants.create_api_key(db, SYSTEM, "MTRADER", "t", scopes=["read"])
    bare = participants.create_api_key(db, SYSTEM, "MTRADER", "none", [], scopes=["read"])
    op = participants.create_api_key(db, SYSTEM, "OPERATOR", "o", scopes=["read"])
    participants.authorise_broker(db, SYSTEM, "MTRADER", "MBROKER", True, scopes=["transfer"])
    migrate.downgrade(db.engine, "0017")
    migrate.upgrade(db.engine)
    with db.engine.connect() as conn:
        scopes = dict(conn.exec_driver_sql("SELECT id, scopes FROM api_keys").all())
        mandates = conn.exec_driver_sql("SELECT scopes FROM broker_authorisations").all()
    assert scopes[trader.id] == "read,trade,transfer,retire,manage"
    assert scopes[bare.id] == "read,transfer,retire,manage"
    assert scopes[op.id] == "read,transfer,retire,manage,operate"
    assert [m[0] for m in mandates] == ["trade"]
    actor = participants.authenticate(db, trader.key)
    assert {s.value for s in actor.granted} == {"read", "trade", "transfer", "retire", "manage"}
