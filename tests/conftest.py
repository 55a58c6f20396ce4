"""Shared fixtures: a fresh database per test, on SQLite and on PostgreSQL.

PostgreSQL is at TANSO_TEST_PG_URL (default: the local server's `test` database). Each test
session works in its own schema, dropped and created anew, so leftovers never leak in.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tanso.domain.participants import Role
from tanso.services.common import SYSTEM, Actor
from tanso.services.ledger import cash, participants, registry, taxonomy
from tanso.store import migrate
from tanso.store import schema as t
from tanso.store.db import Database

PG_URL = os.environ.get("TANSO_TEST_PG_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgres"]


def counter_clock() -> Any:
    """A deterministic clock: each transaction a microsecond later."""
    n = itertools.count()

    def now() -> str:
        i = next(n)
        minutes, seconds, micros = i // 60_000_000 % 60, i // 1_000_000 % 60, i % 1_000_000
        return f"2026-01-05T00:{minutes:02d}:{seconds:02d}.{micros:06d}Z"

    return now


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = Database(f"sqlite:///{path}", counter_clock())
    migrate.upgrade(db.engine)
    db.dispose()
    return path


@pytest.fixture(scope="session")
def pg_schema() -> Iterator[str]:
    schema = f"tanso_test_{os.getpid()}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    db = Database(PG_URL, counter_clock(), pg_schema=schema)
    migrate.upgrade(db.engine)
    db.dispose()
    yield schema
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    admin.dispose()


def fresh_database(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    """An empty, migrated database of the given backend."""
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "tanso.db"
        shutil.copy(template, path)
        return Database(f"sqlite:///{path}", counter_clock())
    schema = request.getfixturevalue("pg_schema")
    db = Database(PG_URL, counter_clock(), pg_schema=schema)
    names = ", ".join(tbl.name for tbl in t.metadata.sorted_tables if tbl.name != "alembic_version")
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    return db


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A bootstrapped database (operator, system accounts, taxonomy) on each backend."""
    database = fresh_database(request.param, request, tmp_path)
    participants.bootstrap(database)
    taxonomy.seed_reference_data(database, SYSTEM)
    yield database
    database.dispose()


@pytest.fixture
def sqlite_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    database = fresh_database("sqlite", request, tmp_path)
    participants.bootstrap(database)
    taxonomy.seed_reference_data(database, SYSTEM)
    yield database
    database.dispose()


@pytest.fixture
def pg_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    database = fresh_database("postgres", request, tmp_path)
    participants.bootstrap(database)
    taxonomy.seed_reference_data(database, SYSTEM)
    yield database
    database.dispose()


# ---------------------------------------------------------------- builders

CORPORATE_NUMBERS = itertools.count(100000000001)


def corporate_number() -> str:
    """A fresh valid 13-digit corporate number."""
    base = str(next(CORPORATE_NUMBERS)).zfill(12)
    from tanso.domain.participants import corporate_number_check_digit

    return f"{corporate_number_check_digit(base)}{base}"


def add_participant(
    db: Database, pid: str, roles: list[str] | None = None, active: bool = True
) -> Actor:
    """Register (and approve) a participant; returns an Actor as its API key would give."""
    roles = roles or ["trader"]
    participants.create_participant(
        db,
        SYSTEM,
        participants.NewParticipant(
            f"{pid} 株式会社", f"{pid} Corp.", "corporation", roles, corporate_number(), False, pid
        ),
    )
    if active:
        participants.set_status(db, SYSTEM, pid, "active")
    return Actor(pid, frozenset(Role(r) for r in roles))


_projects = itertools.count(1)


def add_issuance(
    db: Database,
    account: str,
    quantity: int,
    vintage: int = 2022,
    category: str = "ENERGY_SAVING",
    scheme: str = "JC",
    project: str | None = None,
) -> str:
    """Register a project (if needed) and issue credits into ``account``; returns its id."""
    project = project or f"P{next(_projects):04d}"
    try:
        taxonomy.get_project(db, project)
    except Exception:
        taxonomy.register_project(
            db,
            SYSTEM,
            taxonomy.NewProject(project, scheme, f"Project {project}", category, "JP"),
        )
    rounds = [i for i in registry.list_issuances(db, project)]
    out = registry.issue(
        db,
        SYSTEM,
        registry.NewIssuance(project, "ER", str(len(rounds) + 1), vintage, quantity, account),
    )
    return str(out["issuance_id"])


def fund(db: Database, pid: str, amount: int, currency: str = "JPY") -> None:
    cash.deposit(db, SYSTEM, pid, currency, amount, f"bank-{pid}-{amount}")
