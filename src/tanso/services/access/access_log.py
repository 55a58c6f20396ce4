"""The access log: who logged in or used an API key, from where, and how it went.

Owns the ``access_log`` table and the request context (request id, client address, the key or
user a request authenticated as) that logs and the access log read. It is an operational record,
not part of the books: rows are written beside the journal, never in it, and never carry a
secret (no password, key secret, cookie, CSRF token or TOTP code), only ids.

API key use is recorded cheaply: the first successful request of each key from each address in
each minute, and likewise the first refusal; the
journal already records key creation and revocation, and portal logins are recorded per attempt.

No request waits for the access log. Key uses and logins go to an in-memory buffer per database;
its rows are written in one multi-row INSERT inside the next write transaction of the process
(the database's before-commit hook), or by ``flush``: the server's background tick (each
second), reading the log (``list_access`` flushes first), server shutdown and ``dispose``. A
process killed with rows in the buffer loses them (at most about a second's first uses); the
journal, not this log, is the record of every change.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select

from tanso.domain.errors import InvalidInput
from tanso.services.common import Actor, from_row, require_operator
from tanso.settings import utc_now
from tanso.store.db import Database, Tx
from tanso.store.schema_ops import access_log

log = logging.getLogger("tanso.access")

KINDS = ("login", "totp", "api_key")
OUTCOMES = ("ok", "refused", "locked", "pending")
MAX_PAGE = 500
_SEEN_LIMIT = 100_000
BUFFER_LIMIT = 100_000
"""Rows kept waiting at most; beyond it (the database refusing them for long) the oldest go."""
_CHUNK = 500  # rows per INSERT: 7 parameters each, under SQLite's 32,766 variables


@dataclass(slots=True)
class RequestInfo:
    """The request being served: filled in by the HTTP layer, completed by authentication."""

    request_id: str = ""
    ip: str | None = None
    method: str = ""
    path: str = ""
    participant_id: str | None = None
    key_id: str | None = None
    user_id: str | None = None


current_request: ContextVar[RequestInfo | None] = ContextVar("tanso_request", default=None)


@contextmanager
def request_context(info: RequestInfo) -> Iterator[RequestInfo]:
    """Make ``info`` the current request's context for the code it runs (threads included)."""
    token = current_request.set(info)
    try:
        yield info
    finally:
        current_request.reset(token)


def _current_ip() -> str | None:
    info = current_request.get()
    return info.ip if info is not None else None


def _row(
    kind: str,
    subject: str,
    ip: str | None,
    outcome: str,
    detail: str,
    participant_id: str | None,
    at: str,
) -> dict[str, Any]:
    return {
        "at": at,
        "kind": kind[:32],
        "subject": subject[:254],
        "participant_id": participant_id,
        "ip": (ip if ip is not None else _current_ip() or "")[:64] or None,
        "outcome": outcome[:16],
        "detail": detail[:1000],
    }


def record_access(
    conn: Connection,
    kind: str,
    subject: str,
    ip: str | None,
    outcome: str,
    detail: str = "",
    *,
    participant_id: str | None = None,
    at: str | None = None,
) -> None:
    """Add one row to the access log in the caller's transaction (``ip`` None: the current
    request's address). ``subject`` is an id or a login name, never a secret."""
    conn.execute(
        insert(access_log).values(
            _row(kind, subject, ip, outcome, detail, participant_id, at or utc_now())
        )
    )


def _insert(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    for i in range(0, len(rows), _CHUNK):
        conn.execute(insert(access_log).values(list(rows[i : i + _CHUNK])))


class _Buffer:
    """Rows waiting to be written, oldest first."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def add(self, row: dict[str, Any]) -> None:
        with self.lock:
            if len(self.rows) >= BUFFER_LIMIT:
                del self.rows[: len(self.rows) - BUFFER_LIMIT + 1]
            self.rows.append(row)

    def take(self) -> list[dict[str, Any]]:
        with self.lock:
            rows, self.rows = self.rows, []
            return rows

    def put_back(self, rows: list[dict[str, Any]]) -> None:
        with self.lock:
            self.rows[:0] = rows
            if len(self.rows) > BUFFER_LIMIT:
                log.warning(
                    "access log buffer full: %d rows dropped", len(self.rows) - BUFFER_LIMIT
                )
                del self.rows[: len(self.rows) - BUFFER_LIMIT]

    def ride_along(self, tx: Tx) -> None:
        """The before-commit hook: write the waiting rows in ``tx``, the commit it precedes."""
        if not self.rows:  # unlocked peek: a row added just now waits for the next commit
            return
        rows = self.take()
        try:
            with tx.conn.begin_nested():  # a refused row must not fail the change it rides on
                _insert(tx.conn, rows)
        except Exception:
            log.exception("could not write the access log; its rows wait for the next commit")
            self.put_back(rows)
            return
        tx.on_rollback.append(lambda: self.put_back(rows))


def _buffer(db: Database) -> _Buffer:
    def make() -> _Buffer:
        buffer = _Buffer()
        db.before_commit.append(buffer.ride_along)
        db.before_dispose.append(flush)
        return buffer

    return db.part("access_log", make)


def pending(db: Database) -> int:
    """How many rows wait in the buffer."""
    buffer = db.part_if_made("access_log")
    return len(buffer.rows) if buffer is not None else 0


def flush(db: Database) -> int:
    """Write the waiting rows now, in one transaction; returns how many. Never raises: rows the
    database refuses wait for the next flush."""
    buffer = db.part_if_made("access_log")
    if buffer is None or not buffer.rows:
        return 0
    rows = buffer.take()
    try:
        with db.engine.begin() as conn:
            _insert(conn, rows)
    except Exception:
        log.exception("could not write the access log; its rows wait for the next flush")
        buffer.put_back(rows)
        return 0
    return len(rows)


_seen_lock = threading.Lock()


def _first_this_minute(db: Database, key: tuple[str, str, str], minute: str) -> bool:
    with _seen_lock:
        seen: dict[tuple[str, str, str], str] = db.part("access_log_seen", dict)
        if seen.get(key) == minute:
            return False
        if len(seen) >= _SEEN_LIMIT:
            seen.clear()
        seen[key] = minute
        return True


def note_key_use(
    db: Database, key_id: str, participant_id: str | None, outcome: str, detail: str = ""
) -> None:
    """Record an API key's use: once per key, outcome, address and minute, buffered."""
    info = current_request.get()
    if info is not None and outcome == "ok":
        info.participant_id, info.key_id = participant_id, key_id
    at = db.wall_clock()
    ip = info.ip if info is not None else None
    if not _first_this_minute(db, (key_id, outcome, ip or ""), at[:16]):
        return
    _buffer(db).add(_row("api_key", key_id, ip, outcome, detail, participant_id, at))


LOGIN_OUTCOMES = {"ok": "ok", "totp_required": "pending", "locked": "locked", "invalid": "refused"}


def record_login(
    db: Database, kind: str, subject: str, outcome: str, participant_id: str | None = None
) -> None:
    """Record a portal login (``kind`` "login") or second factor ("totp"), buffered, after the
    attempt; ``outcome`` is a LoginResult outcome (ok, totp_required, locked, invalid) and
    ``subject`` the email or user id, never the password or code."""
    outcome_text = LOGIN_OUTCOMES.get(outcome, "refused")
    row = _row(kind, subject, None, outcome_text, "", participant_id, db.wall_clock())
    _buffer(db).add(row)


@dataclass(frozen=True, slots=True)
class AccessEntry:
    """One login, second factor or API key use."""

    id: int
    at: str
    kind: str
    subject: str
    participant_id: str | None
    ip: str | None
    outcome: str
    detail: str


@dataclass(frozen=True, slots=True)
class AccessPage:
    """A page of the access log, newest first; ``next_before`` asks for the next page."""

    entries: list[AccessEntry]
    next_before: int | None


def entry_view(row: Any) -> AccessEntry:
    return from_row(AccessEntry, row)


def list_access(
    db: Database,
    actor: Actor,
    *,
    kind: str | None = None,
    subject: str | None = None,
    participant_id: str | None = None,
    before: int | None = None,
    limit: int = 100,
) -> AccessPage:
    """A page of the access log, newest first (operator); ``next_before`` fetches the next."""
    require_operator(actor, "read the access log")
    if kind is not None and kind not in KINDS:
        raise InvalidInput("invalid_kind", f"kind is one of {', '.join(KINDS)}.")
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput("invalid_limit", f"limit is 1 to {MAX_PAGE}.")
    c = access_log.c
    q = select(access_log).order_by(c.id.desc()).limit(limit + 1)
    if kind is not None:
        q = q.where(c.kind == kind)
    if subject is not None:
        q = q.where(c.subject == subject)
    if participant_id is not None:
        q = q.where(c.participant_id == participant_id)
    if before is not None:
        q = q.where(c.id < before)
    flush(db)  # a reader sees every use noted so far
    with db.read() as conn:
        rows = conn.execute(q).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return AccessPage(
        entries=[entry_view(r) for r in rows],
        next_before=rows[-1].id if more and rows else None,
    )
