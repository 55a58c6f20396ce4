"""Shared fixtures: a fresh database per test, on SQLite and on PostgreSQL; and the test tiers.

PostgreSQL is at TANSO_TEST_PG_URL (default: the local server's `test` database). Each test
session works in its own schema, dropped and created anew, so leftovers never leak in.

Tiers (docs/testing.md): `make test` runs `-m "not full"`, `make test-all` runs everything. A
test parametrised over the two backends (the `db` fixture, or any parameter or fixture parameter
whose value is "sqlite" or "postgres") runs in the fast tier on the backends its module names
with ``pytestmark = pytest.mark.fast_backends("postgres")`` (default: SQLite only); its other
forms are marked ``full`` here. Forms on PostgreSQL are also marked ``postgres``. Tests marked
``slow`` or ``browser`` are put first, so that the two workers of `pytest -n 2` end together.
"""

from __future__ import annotations

import itertools
import os
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from hypothesis import settings
from sqlalchemy import create_engine, text

from tanso.domain.instruments import Eligibility, InstrumentSpec
from tanso.domain.participants import Role
from tanso.services.access import users
from tanso.services.common import SYSTEM, Actor
from tanso.services.ledger import cash, participants, registry, taxonomy
from tanso.services.trading.exchange import Exchange
from tanso.store import migrate, repo
from tanso.store import schema as t
from tanso.store.db import Database

PG_URL = os.environ.get("TANSO_TEST_PG_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgres"]
FAST_BACKENDS_DEFAULT = ("sqlite",)
# The fixtures' SQLite files: WAL without an fsync at each commit (half the time of a commit on
# this disk). A process that dies loses nothing committed; only a power cut could, and no test
# cuts the power. The crash tests start servers with the production setting, FULL.
SYNCHRONOUS = "NORMAL"
# Apps built by tests run no online surveillance unless a test asks for it: its worker writes
# alerts (journal entries) on a thread of its own, which tests counting entries must not race.
os.environ.setdefault("TANSO_SURVEILLANCE_ONLINE", "false")


# ---------------------------------------------------------------- tiers

# Hypothesis: no deadline in either tier (a loaded two-core machine must not fail a test on time;
# no test asserts a duration). Property tests that name their max_examples keep them in both
# tiers; the others get Hypothesis's default 100 in the fast tier and 1,000 in the full one
# (`make test-all` sets TANSO_HYPOTHESIS_PROFILE=full).
settings.register_profile("ci", deadline=None)
settings.register_profile("full", deadline=None, max_examples=1_000)
settings.load_profile(os.environ.get("TANSO_HYPOTHESIS_PROFILE", "ci"))


def backends_of(item: pytest.Item) -> set[str]:
    """The backends a test runs on, read from its parameters (empty: not parametrised by one)."""
    callspec = getattr(item, "callspec", None)
    params = callspec.params.values() if callspec is not None else ()
    found = {value for value in params if isinstance(value, str) and value in BACKENDS}
    if "pg_db" in getattr(item, "fixturenames", ()):
        found.add("postgres")
    return found


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the backend forms that only the full tier runs (see the module docstring): a form
    runs in the fast tier when every backend it uses is one its module names."""
    for item in items:
        backends = backends_of(item)
        if "postgres" in backends:
            item.add_marker(pytest.mark.postgres)
        if not backends or "pg_db" in getattr(item, "fixturenames", ()):
            continue  # one form only (pg_db: PostgreSQL in both tiers)
        wanted = item.get_closest_marker("fast_backends")
        fast = set(wanted.args if wanted else FAST_BACKENDS_DEFAULT)
        if not backends <= fast:
            item.add_marker(pytest.mark.full)
    # The long tests first: two workers then end together (a worker that runs dry takes half of
    # the other's queue, but cannot take a test already running). The sort is stable.
    items.sort(
        key=lambda item: not (item.get_closest_marker("slow") or item.get_closest_marker("browser"))
    )


# ---------------------------------------------------------------- password hashing

# Portal users' passwords are argon2id at its production cost: about 0.3 s a hash or a check on
# this two-core machine, and a portal test creates ten users and logs several in, so hashing
# was most of a portal test's set-up. In the test process the hasher is argon2id at the lowest
# cost; servers started as child processes keep the production one (and, at a login, rehash the
# cheap hash, as they would any old one). The cost differs from the "weak" hash of
# tests/integration/test_users.py, so its rehash test still sees a hash to replace.
TEST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(autouse=True, scope="session")
def cheap_password_hashing() -> Iterator[None]:
    production = users._hasher
    users._hasher = TEST_HASHER
    yield
    users._hasher = production


# ---------------------------------------------------------------- databases


class CounterClock:
    """A deterministic clock: each transaction a microsecond later."""

    def __init__(self, start: int = 0) -> None:
        self.ticks = start

    def __call__(self) -> str:
        i = self.ticks
        self.ticks += 1
        minutes, seconds, micros = i // 60_000_000 % 60, i // 1_000_000 % 60, i % 1_000_000
        return f"2026-01-05T00:{minutes:02d}:{seconds:02d}.{micros:06d}Z"


def counter_clock(start: int = 0) -> Any:
    """A deterministic clock: each transaction a microsecond later."""
    return CounterClock(start)


def bootstrap(database: Database) -> None:
    """What every `db` fixture starts with: the operator, system accounts and the taxonomy."""
    participants.bootstrap(database)
    taxonomy.seed_reference_data(database, SYSTEM)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty, migrated SQLite file that each test copies."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = Database(f"sqlite:///{path}", counter_clock())
    migrate.upgrade(db.engine)
    db.dispose()
    return path


@pytest.fixture(scope="session")
def sqlite_bootstrapped(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, int]:
    """A migrated and bootstrapped SQLite file, and how far its clock went: bootstrapping once
    and copying the file gives each test the same database, clock included, for a millisecond."""
    path = tmp_path_factory.mktemp("template") / "bootstrapped.db"
    shutil.copy(sqlite_template, path)
    clock = CounterClock()
    db = Database(f"sqlite:///{path}", clock)
    bootstrap(db)
    db.dispose()
    return path, clock.ticks


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
        end_leftover_sessions(conn, schema)
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    admin.dispose()


@pytest.fixture(scope="session")
def pg_reset(pg_schema: str) -> str:
    """One statement that empties every table of the test schema and restarts its sequences.

    DELETE, not TRUNCATE: on tables of a few rows TRUNCATE costs half a second per test (it
    replaces every table's files), DELETE a few milliseconds."""
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        sequences = conn.execute(
            text(
                "SELECT sequence_name FROM information_schema.sequences"
                " WHERE sequence_schema = :schema ORDER BY sequence_name"
            ),
            {"schema": pg_schema},
        ).scalars()
        restarts = [f"ALTER SEQUENCE {name} RESTART" for name in sequences]
    admin.dispose()
    tables = [tbl.name for tbl in reversed(t.metadata.sorted_tables)]
    deletes = [f"DELETE FROM {name}" for name in tables if name != "alembic_version"]
    return "; ".join(deletes + restarts)


def fresh_database(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    """An empty, migrated database of the given backend."""
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "tanso.db"
        shutil.copy(template, path)
        return Database(f"sqlite:///{path}", counter_clock(), sqlite_synchronous=SYNCHRONOUS)
    schema = request.getfixturevalue("pg_schema")
    reset = request.getfixturevalue("pg_reset")
    db = Database(PG_URL, counter_clock(), pg_schema=schema)
    with db.engine.begin() as conn:
        end_leftover_sessions(conn, schema)
        conn.exec_driver_sql(reset)
    return db


LEFTOVERS = text(
    "SELECT DISTINCT l.pid, a.state, left(a.query, 200) FROM pg_locks l"
    " JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace"
    " JOIN pg_stat_activity a ON a.pid = l.pid"
    " WHERE n.nspname = :schema AND l.pid <> pg_backend_pid()"
)


def end_leftover_sessions(conn: Any, schema: str) -> None:
    """End the sessions of an earlier test that still hold locks in this worker's schema (a
    thread it left behind in a transaction), which would otherwise block the reset for ever;
    the test run warns of each."""
    for pid, state, query in conn.execute(LEFTOVERS, {"schema": schema}).all():
        warnings.warn(
            f"an earlier test left a session in a transaction ({state}): {query}", stacklevel=2
        )
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})


def bootstrapped_database(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    """A fresh database of the given backend, bootstrapped (see `bootstrap`)."""
    if backend == "sqlite":
        template, ticks = request.getfixturevalue("sqlite_bootstrapped")
        path = tmp_path / "tanso.db"
        shutil.copy(template, path)
        return Database(f"sqlite:///{path}", counter_clock(ticks), sqlite_synchronous=SYNCHRONOUS)
    database = fresh_database(backend, request, tmp_path)
    bootstrap(database)
    return database


@pytest.fixture(scope="session")
def sqlite_demo(
    sqlite_bootstrapped: tuple[Path, int], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, int, dict[str, str]]:
    """The demo market of `tanso init --demo`, loaded once per worker into a bootstrapped SQLite
    file: the file, how far its clock went, and the participants' API keys."""
    from tanso.demo import market as demo

    template, ticks = sqlite_bootstrapped
    path = tmp_path_factory.mktemp("template") / "demo.db"
    shutil.copy(template, path)
    clock = CounterClock(ticks)
    db = Database(f"sqlite:///{path}", clock)
    keys = demo.load(db)
    db.dispose()
    return path, clock.ticks, keys


def demo_database(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> tuple[Database, dict[str, str]]:
    """A bootstrapped database with the demo market loaded, and the participants' API keys. On
    SQLite a copy of one loaded file (the load takes seconds); on PostgreSQL loaded anew."""
    from tanso.demo import market as demo

    if backend == "sqlite":
        template, ticks, keys = request.getfixturevalue("sqlite_demo")
        path = tmp_path / "tanso.db"
        shutil.copy(template, path)
        clock = counter_clock(ticks)
        return Database(f"sqlite:///{path}", clock, sqlite_synchronous=SYNCHRONOUS), dict(keys)
    database = bootstrapped_database(backend, request, tmp_path)
    return database, demo.load(database)


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A bootstrapped database (operator, system accounts, taxonomy) on each backend."""
    database = bootstrapped_database(request.param, request, tmp_path)
    yield database
    database.dispose()


@pytest.fixture
def sqlite_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    database = bootstrapped_database("sqlite", request, tmp_path)
    yield database
    database.dispose()


@pytest.fixture
def pg_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    database = bootstrapped_database("postgres", request, tmp_path)
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
    return out.issuance_id


def fund(db: Database, pid: str, amount: int, currency: str = "JPY") -> None:
    cash.deposit(db, SYSTEM, pid, currency, amount, f"bank-{pid}-{amount}")


def energy_saving(mode: str = "call") -> InstrumentSpec:
    """JC-ES, the J-Credit energy-saving instrument most exchange tests trade (2,000 JPY)."""
    return InstrumentSpec(
        "JC-ES",
        "J-Credit Energy saving",
        "J-クレジット 省エネルギー",
        Eligibility(schemes=("JC",), categories=("ENERGY_SAVING",)),
        mode=mode,
        reference_price=2_000,
    )


def open_market(x: Exchange, spec: InstrumentSpec) -> None:
    """List the instrument and open its session."""
    x.define_instrument(SYSTEM, spec)
    x.session(SYSTEM, spec.id, "open")


def verified_inventory(db: Database, actor: Actor, pid: str, year: int, inv: Any) -> None:
    """Record an inventory and, from GX-ETS phase 2 (FY2026) on, have its Scope 1 verified the
    real way: the scheme administrator covers the participant, it reports its direct CO2, and a
    verification body (``VERIFIER``, registered here if missing) confirms it."""
    from tanso.services.compliance import gx_cycle, inventories

    inventories.record(db, actor, pid, year, inv)
    recorded = inventories.inventory(db, pid, year)
    if year < 2026 or (recorded is not None and recorded.verification == "verified"):
        return
    with db.read() as conn:
        have_verifier = repo.get_participant(conn, "VERIFIER") is not None
    if not have_verifier:
        add_participant(db, "VERIFIER", ["verification_body"])
    gx_cycle.cover(db, SYSTEM, pid, year, ["other"])
    gx_cycle.report_emissions(db, actor, pid, year, inv.scope1)
    verifier = Actor("VERIFIER", frozenset({Role.VERIFICATION_BODY}))
    gx_cycle.verify_emissions(db, verifier, pid, year, "verified")
