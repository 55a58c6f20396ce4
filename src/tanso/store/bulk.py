"""The databases' bulk paths, for writes of many thousand rows in one transaction: PostgreSQL
``COPY ... FROM STDIN`` (psycopg's copy protocol), SQLite batched inserts on the driver.

Used where one request carries a whole file of rows (a points programme's batch of events); the
rows go straight to the driver, without per-row work in SQLAlchemy. Both run on the
transaction's own connection, so they commit or roll back with it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection

CHUNK = 500
"""Keys per ``IN (...)`` list on SQLite (its limit on bound parameters is far above)."""


def is_postgres(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def copy_rows(
    conn: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Append ``rows`` (tuples in the order of ``columns``) to ``table``."""
    if not rows:
        return
    if is_postgres(conn):
        raw: Any = conn.connection.dbapi_connection
        cur = raw.cursor()
        with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cur.close()
        return
    raw = conn.connection.dbapi_connection
    assert raw is not None
    marks = ", ".join("?" for _ in columns)
    raw.cursor().executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


def _chunks(keys: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(keys), size):
        yield keys[i : i + size]


def select_in(
    conn: Connection, sql: str, params: dict[str, Any], name: str, keys: Sequence[Any]
) -> list[Any]:
    """Rows of ``sql`` whose ``WHERE`` holds ``{name}`` where the list of ``keys`` belongs:
    one ``= ANY(array)`` on PostgreSQL, ``IN`` lists of `CHUNK` keys on SQLite. ``sql`` uses
    ``:name`` parameters; ``{name}`` is a column, e.g. ``event_id {keys}``."""
    if not keys:
        return []
    if is_postgres(conn):
        text = sql.replace("{" + name + "}", f"= ANY(:{name})")
        return list(conn.exec_driver_sql(_pg(text), {**params, name: list(keys)}))
    out: list[Any] = []
    for part in _chunks(keys, CHUNK):
        marks = ", ".join(f":{name}_{i}" for i in range(len(part)))
        text = sql.replace("{" + name + "}", f"IN ({marks})")
        values = {f"{name}_{i}": k for i, k in enumerate(part)}
        out.extend(conn.exec_driver_sql(text, {**params, **values}))
    return out


def _pg(sql: str) -> str:
    return re.sub(r"(?<!:):(\w+)", r"%(\1)s", sql)


def add_rows(
    conn: Connection,
    table: str,
    key: Sequence[str],
    add: Sequence[str],
    latest: Sequence[str],
    rows: Sequence[Sequence[Any]],
) -> None:
    """Fold ``rows`` into ``table``: a new key is inserted; an existing one has the ``add``
    columns increased by the row's values and the ``latest`` columns set to the greater of
    the two. Columns are ``key + add + latest`` in that order. PostgreSQL copies the rows into
    a temporary table and folds them with one ``INSERT ... ON CONFLICT``; SQLite runs the
    upsert for each row on the driver."""
    if not rows:
        return
    columns = [*key, *add, *latest]
    greatest = "GREATEST" if is_postgres(conn) else "MAX"
    sets = [f"{c} = {table}.{c} + excluded.{c}" for c in add] + [
        f"{c} = {greatest}({table}.{c}, excluded.{c})" for c in latest
    ]
    conflict = f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {', '.join(sets)}"
    if is_postgres(conn):
        scratch = _scratch(conn, table, columns)
        copy_rows(conn, scratch, columns, rows)
        cols = ", ".join(columns)
        conn.exec_driver_sql(
            f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {scratch} {conflict}"
        )
        conn.exec_driver_sql(f"DELETE FROM {scratch}")
        return
    raw = conn.connection.dbapi_connection
    assert raw is not None
    marks = ", ".join("?" for _ in columns)
    raw.cursor().executemany(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) {conflict}", rows
    )


def add_to_rows(
    conn: Connection,
    table: str,
    key: Sequence[str],
    add: Sequence[str],
    rows: Sequence[Sequence[Any]],
) -> None:
    """Increase the ``add`` columns of existing rows of ``table`` by the rows' values (columns
    ``key + add``); a key with no row changes nothing. PostgreSQL: ``COPY`` into a temporary
    table and one ``UPDATE ... FROM``; SQLite: the ``UPDATE`` for each row on the driver."""
    if not rows:
        return
    if is_postgres(conn):
        scratch = _scratch(conn, table, [*key, *add])
        copy_rows(conn, scratch, [*key, *add], rows)
        sets = ", ".join(f"{c} = {table}.{c} + s.{c}" for c in add)
        match = " AND ".join(f"{table}.{k} = s.{k}" for k in key)
        conn.exec_driver_sql(f"UPDATE {table} SET {sets} FROM {scratch} s WHERE {match}")
        conn.exec_driver_sql(f"DELETE FROM {scratch}")
        return
    raw: Any = conn.connection.dbapi_connection
    assigns = ", ".join(f"{c} = {c} + ?" for c in add)
    where = " AND ".join(f"{k} = ?" for k in key)
    n = len(key)
    raw.cursor().executemany(
        f"UPDATE {table} SET {assigns} WHERE {where}", [(*r[n:], *r[:n]) for r in rows]
    )


def _scratch(conn: Connection, table: str, columns: Sequence[str]) -> str:
    """A temporary table (this session's, emptied at each commit) with ``columns`` of
    ``table``, for rows copied in before one set-based statement."""
    name = f"scratch_{table}_{hashlib.sha1(','.join(columns).encode()).hexdigest()[:8]}"
    conn.exec_driver_sql(
        f"CREATE TEMP TABLE IF NOT EXISTS {name} ON COMMIT DELETE ROWS AS "
        f"SELECT {', '.join(columns)} FROM {table} WITH NO DATA"
    )
    return name
