"""Online backup and restore: a portable logical copy of every table, taken in one snapshot.

A backup is a tar file holding ``manifest.json`` and ``data.jsonl.gz``. The data is every table
of the database, each as a header line (table, columns) and one JSON array per row, read inside
one read-only transaction (PostgreSQL: REPEATABLE READ, one snapshot for every table; SQLite:
one read transaction in WAL mode), so it is consistent while the server keeps writing. The
manifest names the schema revision, each table's row count, the journal head (seq and hash) and
the SHA-256 of the data file. Restore checks that hash before touching anything, refuses a
database that already holds data, migrates to the backup's revision, loads the tables parents
first, sets PostgreSQL's sequences past the loaded ids, upgrades to the current schema and runs
the audit. Either backend restores a backup of either backend.

It must never write to the database it backs up, and never load into a database with data.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, MetaData, Table, func, insert, select, text

from tanso import __version__
from tanso.domain.errors import Conflict, InvalidInput
from tanso.services.common import JournalRef, loader, plain
from tanso.services.ledger import audit
from tanso.store import migrate
from tanso.store.db import Database

FORMAT = "tanso-backup"
VERSION = 1
MANIFEST = "manifest.json"
DATA = "data.jsonl.gz"
BATCH = 1_000
SKIP = frozenset({"alembic_version"})
"""Not data: the revision is in the manifest and restore migrates to it."""


@dataclass(frozen=True, slots=True)
class Manifest:
    """What a backup file holds: its format, the schema revision, the row count of every
    table, the journal head at the snapshot and the SHA-256 of the data."""

    format: str
    version: int
    tanso_version: str
    created_at: str
    backend: str
    revision: str
    tables: dict[str, int]
    journal_head: JournalRef
    content_sha256: str


@dataclass(frozen=True, slots=True)
class RestoreReport:
    """What a restore loaded and whether the restored books verify."""

    revision: str
    tables: dict[str, int]
    journal_seq: int
    journal_hash: str | None
    audit_ok: bool
    audit_problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "revision": self.revision,
            "tables": self.tables,
            "journal_head": {"seq": self.journal_seq, "hash": self.journal_hash},
            "audit_ok": self.audit_ok,
            "audit_problems": self.audit_problems,
        }


# ---------------------------------------------------------------- backup


@contextmanager
def _snapshot(db: Database) -> Iterator[Connection]:
    """One read-only transaction that sees a single moment of the database."""
    if db.is_sqlite:
        # WAL: a read transaction sees the database as of its first read, whatever commits later
        with db.read() as conn:
            yield conn
        return
    with db.engine.connect() as raw:
        conn = raw.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            yield conn


def _reflect(conn: Connection) -> list[Table]:
    """The database's own tables (not the code's idea of them), parents before children."""
    md = MetaData()
    md.reflect(bind=conn)
    return [tb for tb in md.sorted_tables if tb.name not in SKIP]


def _revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def _plain(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        raise InvalidInput("unsupported_column", "Binary columns cannot be backed up.")
    return value


def backup(db: Database, path: Path) -> Manifest:
    """Write a consistent backup of ``db`` to ``path`` while the server runs; returns the
    manifest."""
    path = Path(path)
    counts: dict[str, int] = {}
    digest = hashlib.sha256()
    with tempfile.TemporaryDirectory(dir=path.parent if path.parent.exists() else None) as tmp:
        data_path = Path(tmp) / DATA
        with _snapshot(db) as conn:
            revision = _revision(conn)
            if revision is None:
                raise Conflict("no_schema", "The database has no schema to back up.")
            with gzip.open(data_path, "wt", encoding="utf-8", compresslevel=6) as out:
                for table in _reflect(conn):
                    columns = [c.name for c in table.columns]
                    out.write(json.dumps({"table": table.name, "columns": columns}) + "\n")
                    n = 0
                    order = list(table.primary_key.columns) or list(table.columns)
                    result = conn.execution_options(yield_per=BATCH).execute(
                        select(table).order_by(*order)
                    )
                    for row in result:
                        out.write(json.dumps([_plain(v) for v in row], ensure_ascii=False) + "\n")
                        n += 1
                    counts[table.name] = n
            head = conn.execute(text("SELECT seq, hash FROM journal_head WHERE id = 1")).first()
        with data_path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        manifest = Manifest(
            format=FORMAT,
            version=VERSION,
            tanso_version=__version__,
            created_at=db.clock(),
            backend=db.engine.dialect.name,
            revision=revision,
            tables=counts,
            journal_head=JournalRef(
                seq=int(head.seq) if head else 0, hash=head.hash if head else None
            ),
            content_sha256=digest.hexdigest(),
        )
        partial = path.with_name(path.name + ".partial")
        with tarfile.open(partial, "w") as tar:
            blob = json.dumps(plain(manifest), indent=2, sort_keys=True).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
            tar.add(data_path, arcname=DATA)
        partial.replace(path)  # a backup file is either complete or absent
    return manifest


# ---------------------------------------------------------------- restore


def read_manifest(path: Path) -> Manifest:
    """The manifest of a backup file, after checking that its data matches the recorded hash."""
    try:
        with tarfile.open(path, "r") as tar:
            manifest = json.loads(_member(tar, MANIFEST).read())
            data = _member(tar, DATA)
            digest = hashlib.sha256()
            for chunk in iter(lambda: data.read(1 << 20), b""):
                digest.update(chunk)
    except (tarfile.TarError, OSError, ValueError) as e:
        raise InvalidInput("invalid_backup", f"{path} is not a Tanso backup: {e}") from None
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise InvalidInput("invalid_backup", f"{path} is not a Tanso backup of version {VERSION}.")
    if digest.hexdigest() != manifest.get("content_sha256"):
        raise InvalidInput(
            "backup_tampered",
            "The backup's data does not match the hash in its manifest; nothing was restored.",
        )
    try:
        return loader(Manifest)(manifest)
    except TypeError:
        raise InvalidInput("invalid_backup", f"{path} has an incomplete manifest.") from None


def _member(tar: tarfile.TarFile, name: str) -> IO[bytes]:
    f = tar.extractfile(name)
    if f is None:
        raise ValueError(f"{name} missing")
    return f


def _is_empty(db: Database) -> bool:
    with db.engine.connect() as conn:
        for table in _reflect(conn):
            if conn.execute(select(func.count()).select_from(table)).scalar():
                return False
        conn.rollback()
    return True


def _migrate_to(db: Database, revision: str) -> None:
    with db.engine.connect() as conn:
        current = _revision(conn)
        conn.rollback()
    if current == revision:
        return
    try:
        migrate.upgrade(db.engine, revision)
    except Exception:
        migrate.downgrade(db.engine, revision)  # an empty database at a later revision


def _rows(data: IO[bytes]) -> Iterator[tuple[str, list[str], list[list[Any]]]]:
    """(table, columns, batch of rows) in file order."""
    table, columns, batch = "", [], []  # type: ignore[var-annotated]
    for line in io.TextIOWrapper(gzip.GzipFile(fileobj=data), encoding="utf-8"):
        value = json.loads(line)
        if isinstance(value, dict):
            if table and batch:
                yield table, columns, batch
            table, columns, batch = value["table"], value["columns"], []
            continue
        batch.append(value)
        if len(batch) >= BATCH:
            yield table, columns, batch
            batch = []
    if table and batch:
        yield table, columns, batch


def _fix_sequences(conn: Connection, tables: list[Table]) -> None:
    """PostgreSQL: the next generated id of each table comes after the ids just loaded."""
    for table in tables:
        col = table.autoincrement_column
        if col is None:
            continue
        conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence(:t, :c), "
                f'COALESCE(MAX("{col.name}"), 1), MAX("{col.name}") IS NOT NULL) '
                f'FROM "{table.name}"'
            ),
            {"t": table.name, "c": col.name},
        )


def restore(db: Database, path: Path, *, upgrade: bool = True) -> RestoreReport:
    """Load a backup into an empty database of either backend and verify the books."""
    manifest = read_manifest(Path(path))
    if not _is_empty(db):
        raise Conflict(
            "database_not_empty",
            "The target database already holds data; restore only into a fresh database.",
        )
    revision = manifest.revision
    _migrate_to(db, revision)
    loaded: dict[str, int] = {}
    with db.engine.connect() as conn:
        conn.info["tanso_begin"] = "IMMEDIATE"
        try:
            with conn.begin():
                by_name = {tb.name: tb for tb in _reflect(conn)}
                missing = set(manifest.tables) - set(by_name)
                if missing:
                    raise InvalidInput(
                        "backup_schema_mismatch",
                        f"Tables {sorted(missing)} of the backup are not in revision {revision}.",
                    )
                with tarfile.open(path, "r") as tar:
                    for name, columns, batch in _rows(_member(tar, DATA)):
                        table = by_name[name]
                        conn.execute(
                            insert(table), [dict(zip(columns, r, strict=True)) for r in batch]
                        )
                        loaded[name] = loaded.get(name, 0) + len(batch)
                for name in manifest.tables:
                    loaded.setdefault(name, 0)
                if loaded != manifest.tables:
                    raise InvalidInput(
                        "backup_incomplete",
                        "The rows loaded differ from the counts in the manifest; "
                        "nothing was restored.",
                    )
                if not db.is_sqlite:
                    _fix_sequences(conn, list(by_name.values()))
        finally:
            conn.info["tanso_begin"] = "DEFERRED"
    if upgrade:
        migrate.upgrade(db.engine)
    report = audit.verify(db)
    head = manifest.journal_head
    problems = list(report.problems)
    same_head = report.head_hash == head.hash and report.entries == head.seq
    if not same_head:
        problems.append("the restored journal head differs from the backup's")
    return RestoreReport(
        revision=revision,
        tables=loaded,
        journal_seq=head.seq,
        journal_hash=head.hash,
        audit_ok=report.ok and same_head,
        audit_problems=problems,
    )
