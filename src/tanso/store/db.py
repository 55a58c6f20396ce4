"""The database: engine set-up for SQLite and PostgreSQL, and the unit of work.

Every write runs in ``Database.write()``: one transaction that first locks the journal head, so
all writes are put in one order (on SQLite ``BEGIN IMMEDIATE`` does the same). The transaction
appends exactly one journal entry and commits it together with the change, or rolls back all.

Two hooks let the layers above ride on that transaction without this module knowing them:
``before_commit`` callbacks add rows of their own just before the commit (the access log's
buffered rows), and ``after_commit`` listeners hear the journal entries a transaction committed
(the API key cache drops what a revocation or a role change made stale). A listener hears only
what committed, in this process; a process that follows the journal hears the same entries.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import Connection, Engine, create_engine, event, insert, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from tanso.domain.journal import GENESIS_HASH, PAYLOAD_VERSION, canonical_entry_hash, canonical_json
from tanso.store import schema as t

P = TypeVar("P")

Clock = Callable[[], str]
"""Returns the current time as an ISO-8601 UTC string; passed in so tests and replays control it."""

log = logging.getLogger("tanso.store")


@dataclass(frozen=True, slots=True)
class Committed:
    """A journal entry as its transaction committed it: what ``after_commit`` listeners hear."""

    seq: int
    kind: str
    payload: dict[str, Any]


AfterCommit = Callable[[Sequence[Committed]], None]
BeforeCommit = Callable[["Tx"], None]


def normalise_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs given without a driver."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(
    url: str, *, sqlite_synchronous: str = "FULL", pg_schema: str | None = None
) -> Engine:
    """Create an engine; SQLite gets WAL, a busy timeout and ``BEGIN IMMEDIATE`` for writes."""
    url = normalise_url(url)
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        database = u.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            poolclass=NullPool if database in ("", ":memory:") else None,
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _rec: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA synchronous={sqlite_synchronous}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            mode = conn.info.get("tanso_begin", "DEFERRED")
            conn.exec_driver_sql(f"BEGIN {mode}")

        return engine
    connect_args: dict[str, Any] = {}
    if pg_schema:
        connect_args["options"] = f"-csearch_path={pg_schema}"
    return create_engine(url, connect_args=connect_args, pool_size=10, max_overflow=20)


@functools.lru_cache(maxsize=512)
def _driver_sql(dialect: str, sql: str) -> str:
    """A statement with ``:name`` parameters in the driver's own style."""
    return sql if dialect == "sqlite" else re.sub(r":(\w+)", r"%(\1)s", sql)


def run_many(conn: Connection, sql: str, rows: Sequence[dict[str, Any]]) -> None:
    """Run one plain statement (``:name`` parameters, plain values) for many rows straight on
    the driver: the sequencer's batched writes, without per-row work in SQLAlchemy."""
    if rows:
        conn.exec_driver_sql(_driver_sql(conn.dialect.name, sql), list(rows))


def insert_sql(table: str, columns: Sequence[str]) -> str:
    """``INSERT INTO table (columns) VALUES (:columns)`` for `run_many`."""
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})"
    )


class JournalNotWritten(RuntimeError):
    """A write transaction ended without its journal entry: a bug, so it is rolled back."""


class _Empty(Exception):
    """Ends a write transaction that turned out to change nothing."""


_JOURNAL_INSERT = insert_sql(
    "journal", ("seq", "at", "kind", "actor", "payload", "prev_hash", "hash")
)


class Tx:
    """One open transaction: the connection, and the journal entry it will commit."""

    def __init__(self, conn: Connection, clock: Clock, wall: Clock | None = None) -> None:
        self.conn = conn
        self.at = clock()
        self.wall_at = wall() if wall is not None else self.at
        """The wall clock's time, for security times (portal sessions, login locks); the
        business clock's ``at`` unless the database has a wall clock of its own (the demo)."""
        self.journal_seq: int | None = None
        self.journal_hash: str | None = None
        self._head: tuple[int, str] | None = None
        self._genesis = False
        self._rows: list[dict[str, Any]] = []
        self.allow_empty = False
        self.entries: list[Committed] = []
        """The journal entries recorded so far (those of a failed savepoint removed)."""
        self.on_rollback: list[Callable[[], None]] = []
        """Called if the transaction does not commit (a ``before_commit`` hook's undo)."""
        self.ledger: Any = None
        """While the exchange's sequencer decides a command: its escrow memory
        (services/clearing/memory.py), through which the escrow reads and writes instead."""
        self.cancel_order: Callable[[str], Any] | None = None
        """While the exchange's sequencer runs another use case's unit: cancel an open order
        in this transaction, through the one writer of the books (a reversal releases the
        credits an order holds); None where no exchange runs the unit."""

    def lock_head(self) -> None:
        row = self.conn.execute(
            select(t.journal_head.c.seq, t.journal_head.c.hash)
            .where(t.journal_head.c.id == 1)
            .with_for_update()
        ).first()
        self._head = (row.seq, row.hash) if row else (0, GENESIS_HASH)
        self._genesis = row is None

    @property
    def head_seq(self) -> int:
        """The journal's last entry when this transaction took the head (0: none yet)."""
        assert self._head is not None, "write transaction without the journal head"
        return self._head[0] - len(self._rows)

    def next_seq(self) -> int:
        """The sequence number the journal entry of this transaction will get."""
        assert self._head is not None, "write transaction without the journal head"
        return self._head[0] + 1

    def record(self, kind: str, actor: str, payload: dict[str, Any]) -> int:
        """Append a journal entry to this transaction; returns its sequence number.

        A use case records one entry; the exchange's sequencer records one per command of a
        batch that shares this transaction (group commit). The payload is stored with
        ``"v": PAYLOAD_VERSION``, the shape it has (domain/journal.py ``upgrade_payload``).
        The chain's hash is computed here; the rows are written by `write_journal`, all of a
        transaction's entries in one statement and the head once, just before the commit.
        """
        assert self._head is not None
        prev_seq, prev_hash = self._head
        seq = prev_seq + 1
        body = canonical_json(payload | {"v": PAYLOAD_VERSION})
        h = canonical_entry_hash(prev_hash, seq, self.at, kind, actor, body)
        self._rows.append(
            {
                "seq": seq,
                "at": self.at,
                "kind": kind,
                "actor": actor,
                "payload": body,
                "prev_hash": prev_hash,
                "hash": h,
            }
        )
        self._head = (seq, h)
        self.journal_seq, self.journal_hash = seq, h
        self.entries.append(Committed(seq, kind, payload))
        return seq

    def write_journal(self) -> None:
        """Write the entries recorded so far (one multi-row INSERT) and move the head once."""
        if not self._rows:
            return
        run_many(self.conn, _JOURNAL_INSERT, self._rows)
        last = self._rows[-1]
        self._rows = []
        if self._genesis:
            self.conn.execute(
                insert(t.journal_head).values(id=1, seq=last["seq"], hash=last["hash"])
            )
            self._genesis = False
        else:
            self.conn.execute(
                update(t.journal_head)
                .where(t.journal_head.c.id == 1)
                .values(seq=last["seq"], hash=last["hash"])
            )

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Run part of a batch so that its failure undoes only that part, journal included."""
        head, genesis = self._head, self._genesis
        seq, h = self.journal_seq, self.journal_hash
        recorded, written = len(self.entries), len(self._rows)
        try:
            with self.conn.begin_nested():
                yield
        except BaseException:
            self._head, self._genesis = head, genesis
            self.journal_seq, self.journal_hash = seq, h
            del self.entries[recorded:]
            del self._rows[written:]
            raise


class Database:
    """Connections and transactions for one database URL."""

    def __init__(
        self,
        url: str,
        clock: Clock,
        *,
        pg_schema: str | None = None,
        sqlite_synchronous: str = "FULL",
    ) -> None:
        self.url = normalise_url(url)
        self.engine = make_engine(
            self.url, pg_schema=pg_schema, sqlite_synchronous=sqlite_synchronous
        )
        self.clock = clock
        """The business clock: every journal entry's time and every date rule (sessions, due
        dates, reports) reads it; the wall clock in production, the demo's virtual clock in the
        demo (docs/demo-clock.md), injected in tests."""
        self.wall: Clock | None = None
        """The wall clock where it differs from the business clock (the demo): portal sessions
        and login locks must not expire at the demo clock's speed."""
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self.before_commit: list[BeforeCommit] = []
        """Called inside each write transaction that will commit, after its work."""
        self.after_commit: list[AfterCommit] = []
        """Called with the journal entries of each write transaction once it has committed."""
        self.sequencer: Callable[[Any, Callable[[Tx], Any], bool], Any] | None = None
        """While the exchange's sequencer runs: ``sequencer(actor, unit, in_memory)`` runs
        ``unit(tx)`` in the sequencer's next batch (group commit) and returns its result
        (`common.execute`)."""
        self.before_dispose: list[Callable[[Database], object]] = []
        self._parts: dict[str, Any] = {}
        self._parts_lock = threading.Lock()
        """Called by ``dispose`` while the engine still works (flushing buffers)."""

    def wall_clock(self) -> str:
        """The wall clock's time now (the business clock's unless set apart)."""
        return (self.wall or self.clock)()

    @contextmanager
    def write(self, *, head_later: bool = False) -> Iterator[Tx]:
        """One write transaction; commits only if it recorded its journal entry.

        ``head_later``: the work takes the journal head itself (`Tx.lock_head`) once its bulk
        writes are done, so that other writers (the exchange's sequencer) are not held behind
        them on PostgreSQL; it must lock whatever else it relies on first. SQLite has one
        writer at a time either way."""
        tx: Tx | None = None
        with self.engine.connect() as conn:
            conn.info["tanso_begin"] = "IMMEDIATE"
            try:
                with conn.begin():
                    tx = Tx(conn, self.clock, self.wall)
                    if not head_later:
                        tx.lock_head()
                    yield tx
                    if tx.journal_seq is None:
                        if not tx.allow_empty:
                            raise JournalNotWritten("write transaction without a journal entry")
                        raise _Empty
                    for hook in self.before_commit:
                        hook(tx)
                    tx.write_journal()
            except _Empty:
                pass  # rolled back: nothing was changed, so there is nothing to journal
            except BaseException:
                for undo in tx.on_rollback if tx is not None else ():
                    undo()
                raise
            finally:
                conn.info["tanso_begin"] = "DEFERRED"
        if tx is not None and tx.entries:
            self._committed(tx.entries)

    def _committed(self, entries: Sequence[Committed]) -> None:
        for listener in self.after_commit:
            try:
                listener(entries)
            except Exception:  # the change is committed: a listener cannot undo it
                log.exception("an after-commit listener failed")

    def part(self, name: str, make: Callable[[], P]) -> P:
        """The database's ``name`` (a cache or buffer kept for it), made once by ``make``,
        which may hook itself into the commits; it lives as long as the database."""
        found = self._parts.get(name)
        if found is None:
            with self._parts_lock:
                found = self._parts.get(name)
                if found is None:
                    found = self._parts[name] = make()
        return cast(P, found)

    def part_if_made(self, name: str) -> Any | None:
        """The database's ``name`` if something has made it, else None."""
        return self._parts.get(name)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction (a consistent snapshot on PostgreSQL)."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def journal_seq(self) -> int:
        """The sequence of the journal's last committed entry (0: none yet)."""
        with self.read() as conn:
            seq = conn.execute(select(t.journal_head.c.seq).where(t.journal_head.c.id == 1))
            return int(seq.scalar() or 0)

    def dispose(self) -> None:
        for hook in self.before_dispose:
            try:
                hook(self)
            except Exception:
                log.exception("a before-dispose hook failed")
        self.engine.dispose()


def dumps(value: Any) -> str:
    """JSON for text columns holding lists and small documents."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def loads(text: str | None) -> Any:
    return json.loads(text) if text else None
