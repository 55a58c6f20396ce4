"""The access log: who logged in or used an API key, from where, and how it went.

Owns the ``access_log`` table and the request context (request id, client address, the key or
user a request authenticated as) that logs and the access log read. It is an operational record,
not part of the books: rows are written beside the journal, never in it, and never carry a
secret (no password, key secret, cookie, CSRF token or TOTP code), only ids.

API key use is recorded cheaply: the first successful request of each key from each address in
each minute, and likewise the first refusal; the
journal already records key creation and revocation, and portal logins are recorded per attempt.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select

from tanso.domain.errors import InvalidInput
from tanso.services.common import Actor, from_row, require_operator
from tanso.settings import utc_now
from tanso.store.db import Database
from tanso.store.schema_ops import access_log

log = logging.getLogger("tanso.access")

KINDS = ("login", "totp", "api_key")
OUTCOMES = ("ok", "refused", "locked", "pending")
MAX_PAGE = 500
_SEEN_LIMIT = 100_000


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
            at=at or utc_now(),
            kind=kind[:32],
            subject=subject[:254],
            participant_id=participant_id,
            ip=(ip if ip is not None else _current_ip() or "")[:64] or None,
            outcome=outcome[:16],
            detail=detail[:1000],
        )
    )


_seen: weakref.WeakKeyDictionary[Database, dict[tuple[str, str, str], str]] = (
    weakref.WeakKeyDictionary()
)
_seen_lock = threading.Lock()


def _first_this_minute(db: Database, key: tuple[str, str, str], minute: str) -> bool:
    with _seen_lock:
        seen = _seen.setdefault(db, {})
        if seen.get(key) == minute:
            return False
        if len(seen) >= _SEEN_LIMIT:
            seen.clear()
        seen[key] = minute
        return True


def note_key_use(
    db: Database, key_id: str, participant_id: str | None, outcome: str, detail: str = ""
) -> None:
    """Record an API key's use: once per key, outcome, address and minute, so it stays cheap."""
    info = current_request.get()
    if info is not None and outcome == "ok":
        info.participant_id, info.key_id = participant_id, key_id
    at = db.clock()
    ip = info.ip if info is not None else None
    if not _first_this_minute(db, (key_id, outcome, ip or ""), at[:16]):
        return
    try:
        with db.engine.begin() as conn:
            record_access(
                conn, "api_key", key_id, ip, outcome, detail, participant_id=participant_id, at=at
            )
    except Exception:  # the access log must never fail the request it describes
        log.exception("could not write the access log")


LOGIN_OUTCOMES = {"ok": "ok", "totp_required": "pending", "locked": "locked", "invalid": "refused"}


def record_login(
    db: Database, kind: str, subject: str, outcome: str, participant_id: str | None = None
) -> None:
    """Record a portal login (``kind`` "login") or second factor ("totp") in its own
    transaction, after the attempt; ``outcome`` is a LoginResult outcome (ok, totp_required,
    locked, invalid) and ``subject`` the email or user id, never the password or code."""
    try:
        with db.engine.begin() as conn:
            record_access(
                conn,
                kind,
                subject,
                None,
                LOGIN_OUTCOMES.get(outcome, "refused"),
                participant_id=participant_id,
                at=db.clock(),
            )
    except Exception:  # the access log must never fail the login it describes
        log.exception("could not write the access log")


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
    with db.read() as conn:
        rows = conn.execute(q).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return AccessPage(
        entries=[entry_view(r) for r in rows],
        next_before=rows[-1].id if more and rows else None,
    )
