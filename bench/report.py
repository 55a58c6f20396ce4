"""What the benchmarks share: a fresh PostgreSQL schema to measure in, and writing their figures
into a section of docs/performance.md."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, text

from tanso.settings import utc_now
from tanso.store import migrate
from tanso.store.db import Database


def write_section(doc: Path, heading: str, body: list[str]) -> None:
    """Replace the section under ``heading`` (up to the next ``## `` heading) with ``body``, or
    add it at the end of ``doc``."""
    section = "\n".join([heading, "", *body]).rstrip() + "\n"
    text = doc.read_text(encoding="utf-8") if doc.exists() else "# Performance\n"
    if heading in text:
        head, rest = text.split(heading, 1)
        nxt = rest.find("\n## ")
        tail = rest[nxt + 1 :] if nxt >= 0 else ""
        text = head + section + ("\n" + tail if tail else "")
    else:
        text = text.rstrip() + "\n\n" + section
    doc.write_text(text, encoding="utf-8")


def fresh_postgres(url: str, schema: str) -> Database:
    """A migrated, empty PostgreSQL schema of its own (dropped and created again)."""
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    admin.dispose()
    db = Database(url, utc_now, pg_schema=schema)
    migrate.upgrade(db.engine)
    return db
