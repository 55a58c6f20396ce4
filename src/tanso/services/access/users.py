"""Portal users: people of a participant who log in with a password (and optionally TOTP).

This module owns users, their roles inside their participant, password hashing (argon2), the
throttle of failed logins (per email address, known or not, so that no answer tells whether a
user exists), the TOTP second factor and server-side browser sessions. It never journals a
password, a hash, a TOTP secret or a session id; API keys stay in `participants` for programs.

Roles inside a participant map onto the participant's market roles (`actor_for`):

- viewer: sees everything of its participant, moves nothing;
- trader: places and cancels orders (the participant's trader and market-maker roles);
- account_manager: transfers between own accounts and retires credits, does not trade;
- administrator: everything the participant may do, and manages the participant's users.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import re
import secrets
import time
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from tanso.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from tanso.domain.participants import Role, Scope
from tanso.services.access import access_log
from tanso.services.common import Actor, execute, new_id, plain
from tanso.services.operations import suspension
from tanso.store import repo
from tanso.store import schema as t
from tanso.store.db import Database, Tx

MAX_FAILED_LOGINS = 5
"""After this many failed logins in a row with one email address (wrong password or TOTP code,
or no such user), every attempt with it is refused for ``LOCK_MINUTES``; each further failure
after a lock doubles the period, up to ``MAX_LOCK_MINUTES``. It ends by itself, at a successful
login's reset, or when an administrator unlocks the user."""
LOCK_MINUTES = 5
MAX_LOCK_MINUTES = 60
FORGET_HOURS = 24
"""Failures of an address nobody tried for this long (and not locked) are forgotten."""
SESSION_HOURS = 8
"""A session lasts one working day from login, then the user logs in again (no sliding)."""
PENDING_MINUTES = 5
"""How long a password-checked login waits for its TOTP code."""
MIN_PASSWORD = 12
RESET_PASSWORD_BYTES = 18
"""A reset password: 18 random bytes, 24 URL-safe characters (144 bits)."""
MAX_PASSWORD = 1024
TOTP_ISSUER = "Tanso"

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{1,60}$")

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not a password of anyone: evens out the time of unknown emails")


class UserRole(StrEnum):
    VIEWER = "viewer"
    TRADER = "trader"
    ACCOUNT_MANAGER = "account_manager"
    ADMINISTRATOR = "administrator"


class Capability(StrEnum):
    """What a portal handler checks before it calls a service."""

    VIEW = "view"
    TRADE = "trade"
    MOVE_CREDITS = "move_credits"
    MANAGE_USERS = "manage_users"


CAPABILITIES: dict[UserRole, frozenset[Capability]] = {
    UserRole.VIEWER: frozenset({Capability.VIEW}),
    UserRole.TRADER: frozenset({Capability.VIEW, Capability.TRADE}),
    UserRole.ACCOUNT_MANAGER: frozenset({Capability.VIEW, Capability.MOVE_CREDITS}),
    UserRole.ADMINISTRATOR: frozenset(Capability),
}

TRADING_ROLES = frozenset({Role.TRADER, Role.MARKET_MAKER})

USER_SCOPES: dict[UserRole, frozenset[Scope]] = {
    UserRole.VIEWER: frozenset({Scope.READ}),
    UserRole.TRADER: frozenset({Scope.READ, Scope.TRADE}),
    UserRole.ACCOUNT_MANAGER: frozenset({Scope.READ, Scope.TRANSFER, Scope.RETIRE}),
    UserRole.ADMINISTRATOR: frozenset(Scope),
}
"""The API scopes each portal role stands for; an actor holds them only as far as its roles
allow (a trader user of a participant without a trading role cannot trade)."""


class UserStatus(StrEnum):
    ACTIVE = "active"
    LOCKED = "locked"
    """Never stored: how a manager sees an active user whose address is locked for a while."""
    REMOVED = "removed"
    """Kept as a row (the journal names it, its email stays taken) but never logs in again."""


@dataclass(frozen=True, slots=True)
class NewUser:
    participant_id: str
    email: str
    display_name: str
    role: str
    password: str


@dataclass(frozen=True, slots=True)
class PortalUser:
    """A logged-in user: who it is, its participant's actor, and what it may do."""

    id: str
    participant_id: str
    email: str
    display_name: str
    role: UserRole
    actor: Actor
    capabilities: frozenset[Capability]
    totp_enabled: bool
    csrf_token: str

    def can(self, capability: Capability) -> bool:
        return capability in self.capabilities

    @property
    def is_operator(self) -> bool:
        return self.actor.is_operator()

    @property
    def makes_markets(self) -> bool:
        """Its participant acts as a market maker (the portal shows its market-making screen)."""
        return self.actor.has(Role.MARKET_MAKER)


@dataclass(frozen=True, slots=True)
class LoginResult:
    """The outcome of a login step: ``ok``, ``totp_required``, ``invalid`` or ``locked``.

    ``token`` is the cookie's secret (only for ``ok`` and ``totp_required``); for ``locked``,
    ``retry_at`` is the time before which every attempt is refused and ``retry_after`` the
    seconds until then. An unknown email, a wrong password and a locked user answer alike.
    """

    outcome: str
    token: str | None = None
    retry_at: str | None = None
    retry_after: int | None = None


def actor_for(
    user_role: UserRole,
    participant_id: str,
    participant_roles: frozenset[Role],
    user_id: str | None = None,
) -> Actor:
    """The actor a user acts as: its participant, with the roles and the API scopes its user
    role allows (USER_SCOPES, docs/security.md); the user's id makes the journal name the person
    as well as the participant."""
    if user_role == UserRole.ADMINISTRATOR:
        roles = participant_roles
    elif user_role == UserRole.TRADER:
        roles = participant_roles & TRADING_ROLES
    else:
        roles = frozenset()
    return Actor(participant_id, roles, user_id=user_id, scopes=USER_SCOPES[user_role])


def _role(value: str) -> UserRole:
    try:
        return UserRole(value)
    except ValueError:
        known = ", ".join(r.value for r in UserRole)
        raise InvalidInput("unknown_user_role", f"Role {value!r} is not one of {known}.") from None


def _participant_roles(text: str | None) -> frozenset[Role]:
    return frozenset(Role(r) for r in (text or "").split(",") if r)


def _later(at: str, delta: dt.timedelta) -> str:
    ts = dt.datetime.fromisoformat(at.replace("Z", "+00:00")) + delta
    return ts.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _session_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_email(email: str) -> str:
    return email.strip().lower()


def _email_hash(email: str) -> str:
    """The throttle's key of an address: no address typed by a stranger is stored."""
    return hashlib.sha256(normalise_email(email)[:254].encode()).hexdigest()


def _parse(at: str) -> dt.datetime:
    return dt.datetime.fromisoformat(at.replace("Z", "+00:00"))


def lock_period(failures: int) -> dt.timedelta | None:
    """How long an address is refused after ``failures`` failed logins in a row (None: not)."""
    if failures < MAX_FAILED_LOGINS:
        return None
    doublings = min(failures - MAX_FAILED_LOGINS, 8)
    return dt.timedelta(minutes=min(LOCK_MINUTES * 2**doublings, MAX_LOCK_MINUTES))


def _whole_second_after(at: str, delta: dt.timedelta) -> str:
    """``at`` + ``delta`` rounded up to a whole second: the time a refusal names."""
    ts = _parse(at) + delta
    if ts.microsecond:
        ts = ts.replace(microsecond=0) + dt.timedelta(seconds=1)
    return ts.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _locked_until(throttle: Any, now: str) -> str | None:
    """The time before which the address of ``throttle`` is refused, if that is after ``now``."""
    if throttle is None or throttle.not_before is None or throttle.not_before <= now:
        return None
    return str(throttle.not_before)


def _locked(until: str, now: str) -> LoginResult:
    wait = math.ceil((_parse(until) - _parse(now)).total_seconds())
    return LoginResult("locked", retry_at=until, retry_after=max(wait, 1))


@dataclass(frozen=True, slots=True)
class User:
    """A portal user as its managers see it: never its password or TOTP secret."""

    id: str
    participant_id: str
    email: str
    display_name: str
    role: str
    status: str
    totp_enabled: bool
    created_at: str
    updated_at: str
    locked_until: str | None
    """While failed logins lock the user's address (status ``locked``): until when."""


@dataclass(frozen=True, slots=True)
class PasswordReset(User):
    """A user whose password was reset: the new ``password`` (shown once, never journaled) and
    how many of its sessions were ended."""

    sessions_ended: int
    password: str


@dataclass(frozen=True, slots=True)
class TotpEnrolment:
    user: str
    totp_enabled: bool


@dataclass(frozen=True, slots=True)
class TotpSetup:
    """A new TOTP secret made by the server, for the user's app: shown once, on until a code
    from the app confirms it. ``uri`` is the ``otpauth://`` link a QR code carries."""

    secret: str
    uri: str


def user_view(row: Any, locked_until: str | None = None) -> User:
    status = row.status
    if locked_until is not None and status == UserStatus.ACTIVE:
        status = UserStatus.LOCKED.value
    return User(
        id=row.id,
        participant_id=row.participant_id,
        email=row.email,
        display_name=row.display_name,
        role=row.role,
        status=status,
        totp_enabled=row.totp_secret is not None,
        created_at=row.created_at,
        updated_at=row.updated_at,
        locked_until=locked_until if status == UserStatus.LOCKED else None,
    )


def _views(conn: Any, rows: Any, now: str) -> list[User]:
    """Users as their managers see them, with the lock of each one's address."""
    locks = repo.login_throttles(conn, [_email_hash(r.email) for r in rows])
    return [user_view(r, _locked_until(locks.get(_email_hash(r.email)), now)) for r in rows]


def _check_manager(tx: Tx, actor: Actor, as_user: str | None, participant_id: str) -> str:
    """Refuse unless the operator (or the system), or an active administrator user of the
    participant itself, is acting; returns the journal's label for who acted."""
    suspension.refuse_changes(tx.conn, participant_id)
    if actor.is_operator() and as_user is None:
        return actor.label
    if as_user is None:
        raise Forbidden("administrator_only", "Only an administrator may manage users.")
    admin = repo.get_user(tx.conn, as_user)
    if (
        admin is None
        or admin.status != UserStatus.ACTIVE
        or admin.participant_id != actor.participant_id
        or admin.role != UserRole.ADMINISTRATOR
    ):
        raise Forbidden("administrator_only", "Only an administrator may manage users.")
    if admin.participant_id != participant_id and not actor.is_operator():
        raise NotFound(
            "participant_not_found", f"There is no participant {participant_id} that you can see."
        )
    return f"user:{admin.id}@{admin.participant_id}"


def check_password(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidInput(
            "weak_password",
            f"A password is {MIN_PASSWORD} to {MAX_PASSWORD} characters long.",
        )


def _check_email_free(
    tx: Tx, actor: Actor, as_user: str | None, participant_id: str, email: str
) -> None:
    """One address is one login across the exchange. The operator, and the participant whose
    user has the address, are told so; anyone else gets a refusal that names no user and no
    participant, so that creating users tells nothing about another participant's."""
    taken = repo.get_user_by_email(tx.conn, email)
    if taken is None:
        return
    if actor.is_operator() and as_user is None:
        raise Conflict(
            "email_taken",
            f"{email} is already the email of user {taken.id} ({taken.participant_id}).",
        )
    if taken.participant_id == participant_id:
        raise Conflict("email_taken", f"One of your users already has the email {email}.")
    raise Conflict(
        "email_unavailable",
        "This email address cannot be used for a new user. Use another address, or ask the "
        "exchange operator.",
    )


def create(db: Database, actor: Actor, n: NewUser, as_user: str | None = None) -> User:
    """Create a user of a participant: the operator, or an administrator of that participant."""
    email = normalise_email(n.email)
    if not EMAIL_RE.fullmatch(email):
        raise InvalidInput("invalid_email", "Give an email address such as name@example.jp.")
    if not n.display_name.strip() or len(n.display_name) > 200:
        raise InvalidInput("invalid_name", "A display name is 1 to 200 characters.")
    role = _role(n.role)
    check_password(n.password)
    password_hash = _hasher.hash(n.password)  # slow on purpose: outside the write lock
    user_id = new_id("U")

    def work(tx: Tx) -> User:
        by = _check_manager(tx, actor, as_user, n.participant_id)
        if repo.get_participant(tx.conn, n.participant_id) is None:
            raise NotFound("participant_not_found", f"There is no participant {n.participant_id}.")
        _check_email_free(tx, actor, as_user, n.participant_id, email)
        repo.insert_row(
            tx.conn,
            t.users,
            id=user_id,
            participant_id=n.participant_id,
            email=email,
            display_name=n.display_name.strip(),
            role=role.value,
            status=UserStatus.ACTIVE.value,
            password_hash=password_hash,
            totp_secret=None,
            totp_pending=None,
            created_at=tx.at,
            updated_at=tx.at,
        )
        view = user_view(repo.get_user(tx.conn, user_id))
        fields = plain(view)
        tx.record(
            "user.created",
            by,
            {k: fields[k] for k in ("id", "participant_id", "email", "display_name", "role")},
        )
        return view

    return execute(db, actor, None, work, 201)


def list_users(db: Database, actor: Actor, participant_id: str) -> list[User]:
    if actor.participant_id != participant_id and not actor.is_operator():
        raise NotFound(
            "participant_not_found", f"There is no participant {participant_id} that you can see."
        )
    now = db.wall_clock()
    with db.read() as conn:
        return _views(conn, repo.list_users(conn, participant_id), now)


def unlock(db: Database, actor: Actor, user_id: str, as_user: str | None = None) -> User:
    """Unlock a user before its lock ends and forget its address's failed logins (operator or
    its administrator)."""

    def work(tx: Tx) -> User:
        row = repo.get_user(tx.conn, user_id)
        if row is None:
            raise NotFound("user_not_found", f"There is no user {user_id}.")
        by = _check_manager(tx, actor, as_user, row.participant_id)
        if row.status == UserStatus.REMOVED:
            raise Conflict("user_removed", f"User {row.email} was removed.")
        repo.delete_login_throttle(tx.conn, _email_hash(row.email))
        repo.update_user(tx.conn, user_id, updated_at=tx.at)
        tx.record("user.unlocked", by, {"user": user_id, "participant_id": row.participant_id})
        return user_view(repo.get_user(tx.conn, user_id))

    return execute(db, actor, None, work)


def get_user(db: Database, actor: Actor, user_id: str) -> User:
    """One user: the operator sees anyone, a participant only its own (others: not found)."""
    now = db.wall_clock()
    with db.read() as conn:
        row = repo.get_user(conn, user_id)
        if row is None or (row.participant_id != actor.participant_id and not actor.is_operator()):
            raise NotFound("user_not_found", f"There is no user {user_id} that you can see.")
        return _views(conn, [row], now)[0]


def _managed(tx: Tx, actor: Actor, as_user: str | None, user_id: str) -> tuple[Any, str]:
    """The user to manage (not removed) and the journal's label for who manages it."""
    row = repo.get_user(tx.conn, user_id)
    if row is None:
        raise NotFound("user_not_found", f"There is no user {user_id}.")
    by = _check_manager(tx, actor, as_user, row.participant_id)
    if row.status == UserStatus.REMOVED:
        raise Conflict("user_removed", f"User {row.email} was removed.")
    return row, by


def _keep_an_administrator(tx: Tx, row: Any, what: str) -> None:
    """Refuse to demote or remove a participant's last active administrator: without one,
    nobody of the participant could manage its users and keys any more."""
    if row.role != UserRole.ADMINISTRATOR:
        return
    others = [  # a locked administrator does not count: it cannot act now
        u
        for u in _views(tx.conn, repo.list_users(tx.conn, row.participant_id), tx.wall_at)
        if u.id != row.id and u.role == UserRole.ADMINISTRATOR and u.status == UserStatus.ACTIVE
    ]
    if not others:
        raise Conflict(
            "last_administrator",
            f"{row.email} is the last active administrator of {row.participant_id}; "
            f"make another user an administrator before you {what} it.",
        )


def set_role(
    db: Database, actor: Actor, user_id: str, role: str, as_user: str | None = None
) -> User:
    """Change a user's role (operator or its administrator); never the last administrator's."""
    new_role = _role(role)

    def work(tx: Tx) -> User:
        row, by = _managed(tx, actor, as_user, user_id)
        if row.role == new_role:
            raise Conflict("same_user_role", f"{row.email} already has the role {new_role}.")
        if new_role != UserRole.ADMINISTRATOR:
            _keep_an_administrator(tx, row, "demote")
        repo.update_user(tx.conn, user_id, role=new_role.value, updated_at=tx.at)
        tx.record(
            "user.role_changed",
            by,
            {
                "user": user_id,
                "participant_id": row.participant_id,
                "from": row.role,
                "to": new_role.value,
            },
        )
        return user_view(repo.get_user(tx.conn, user_id))

    return execute(db, actor, None, work)


def reset_password(
    db: Database, actor: Actor, user_id: str, as_user: str | None = None
) -> PasswordReset:
    """Give a user a new random password (returned once, never journaled) and end its sessions,
    so whoever held the old password or a session is out."""
    password = secrets.token_urlsafe(RESET_PASSWORD_BYTES)
    password_hash = _hasher.hash(password)  # slow on purpose: outside the write lock

    def work(tx: Tx) -> PasswordReset:
        row, by = _managed(tx, actor, as_user, user_id)
        ended = repo.delete_portal_sessions_of(tx.conn, user_id)
        repo.update_user(tx.conn, user_id, password_hash=password_hash, updated_at=tx.at)
        tx.record(
            "user.password_reset",
            by,
            {"user": user_id, "participant_id": row.participant_id, "sessions_ended": ended},
        )
        view = plain(user_view(repo.get_user(tx.conn, user_id)))
        return PasswordReset(**view, sessions_ended=ended, password=password)

    # no Idempotency-Key: the password is never stored, so it is never replayed
    return execute(db, actor, None, work)


def disable_totp(db: Database, actor: Actor, user_id: str, as_user: str | None = None) -> User:
    """Turn a user's TOTP off (it lost its phone); it logs in with its password alone until it
    turns TOTP on again."""

    def work(tx: Tx) -> User:
        row, by = _managed(tx, actor, as_user, user_id)
        if row.totp_secret is None:
            raise Conflict("totp_not_enabled", f"{row.email} has no TOTP to turn off.")
        repo.update_user(tx.conn, user_id, totp_secret=None, totp_pending=None, updated_at=tx.at)
        tx.record("user.totp_disabled", by, {"user": user_id, "participant_id": row.participant_id})
        return user_view(repo.get_user(tx.conn, user_id))

    return execute(db, actor, None, work)


def remove(db: Database, actor: Actor, user_id: str, as_user: str | None = None) -> User:
    """Remove a user: it keeps its row (the journal names it) but its sessions end and it can
    never log in again; never the participant's last active administrator."""

    def work(tx: Tx) -> User:
        row, by = _managed(tx, actor, as_user, user_id)
        _keep_an_administrator(tx, row, "remove")
        ended = repo.delete_portal_sessions_of(tx.conn, user_id)
        repo.update_user(
            tx.conn,
            user_id,
            status=UserStatus.REMOVED.value,
            totp_secret=None,
            totp_pending=None,
            updated_at=tx.at,
        )
        tx.record(
            "user.removed",
            by,
            {
                "user": user_id,
                "participant_id": row.participant_id,
                "email": row.email,
                "sessions_ended": ended,
            },
        )
        return user_view(repo.get_user(tx.conn, user_id))

    return execute(db, actor, None, work)


# ---------------------------------------------------------------- logging in


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _count_failure(conn: Any, key: str, at: str) -> str | None:
    """Count one failed login of an address; the end of the lock it starts, if it starts one."""
    repo.forget_login_throttles(conn, _later(at, -dt.timedelta(hours=FORGET_HOURS)), at)
    failures = repo.count_login_failure(conn, key, at)
    period = lock_period(failures)
    if period is None:
        return None
    until = _whole_second_after(at, period)
    repo.set_login_not_before(conn, key, until)
    return until


def _fail(tx: Tx, user: Any, reason: str) -> LoginResult:
    """A user's failed login: counted, journaled, and on a lock its sessions end."""
    until = _count_failure(tx.conn, _email_hash(user.email), tx.wall_at)
    if until is not None:
        repo.delete_portal_sessions_of(tx.conn, user.id)
    tx.record(
        "user.login_failed",
        f"user:{user.id}@{user.participant_id}",
        {"user": user.id, "reason": reason, "locked_until": until},
    )
    return _locked(until, tx.wall_at) if until is not None else LoginResult("invalid")


def _fail_unknown(db: Database, key: str) -> LoginResult:
    """A failed login with an address no user has: counted like a user's, journaled never."""
    at = db.wall_clock()
    with db.engine.begin() as conn:
        until = _count_failure(conn, key, at)
    return _locked(until, at) if until is not None else LoginResult("invalid")


def _open_session(tx: Tx, user_id: str, pending: bool) -> str:
    token = secrets.token_urlsafe(32)  # 256 random bits
    lifetime = (
        dt.timedelta(minutes=PENDING_MINUTES) if pending else dt.timedelta(hours=SESSION_HOURS)
    )
    repo.delete_expired_portal_sessions(tx.conn, tx.wall_at)
    repo.insert_row(
        tx.conn,
        t.portal_sessions,
        id=_session_key(token),
        user_id=user_id,
        created_at=tx.wall_at,
        expires_at=_later(tx.wall_at, lifetime),
        csrf_token=secrets.token_urlsafe(32),
        second_factor_pending=pending,
    )
    return token


def login(db: Database, email: str, password: str) -> LoginResult:
    """Check a password: a session (or, with TOTP, a session waiting for the code).

    An unknown email, a removed user, a wrong password and a locked address all cost one argon2
    check and answer alike: the lock is kept per address, known or not, so it tells nothing."""
    address = normalise_email(email)[:254]
    key = _email_hash(address)
    now = db.wall_clock()
    with db.read() as conn:
        row = repo.get_user_by_email(conn, address)
        throttle = repo.get_login_throttle(conn, key)
    if row is not None and row.status == UserStatus.REMOVED:
        row = None  # a removed user answers like an unknown email
    pid = row.participant_id if row is not None else None
    until = _locked_until(throttle, now)
    live = row if until is None and len(password) <= MAX_PASSWORD else None
    # one argon2 check whatever the case: the time tells nothing either
    checked = _verify(
        live.password_hash if live is not None else _DUMMY_HASH, password[:MAX_PASSWORD]
    )
    ok = checked and live is not None
    if until is not None:
        result = _locked(until, now)
    elif row is None:
        result = _fail_unknown(db, key)
    else:
        result = _login_user(db, row, key, ok, password)
    access_log.record_login(db, "login", address, result.outcome, pid)
    return result


def _login_user(db: Database, row: Any, key: str, ok: bool, password: str) -> LoginResult:
    new_hash = (
        _hasher.hash(password) if ok and _hasher.check_needs_rehash(row.password_hash) else None
    )
    result = LoginResult("invalid")

    def work(tx: Tx) -> dict[str, Any]:
        nonlocal result
        current = repo.get_user(tx.conn, row.id)
        assert current is not None
        until = _locked_until(repo.get_login_throttle(tx.conn, key), tx.wall_at)
        if until is not None:  # failures meanwhile locked it: refused, nothing changes
            tx.allow_empty = True
            result = _locked(until, tx.wall_at)
            return {}
        if current.status == UserStatus.REMOVED or not ok:
            result = _fail(tx, current, "password")
            return {}
        values: dict[str, Any] = {"updated_at": tx.at}
        if new_hash is not None:
            values["password_hash"] = new_hash
        repo.update_user(tx.conn, row.id, **values)
        pending = current.totp_secret is not None
        if not pending:  # with TOTP only the code ends the count: no guessing codes for ever
            repo.delete_login_throttle(tx.conn, key)
        token = _open_session(tx, row.id, pending)
        tx.record(
            "user.password_accepted" if pending else "user.logged_in",
            f"user:{row.id}@{row.participant_id}",
            {"user": row.id, "rehashed": new_hash is not None},
        )
        result = LoginResult("totp_required" if pending else "ok", token)
        return {}

    execute(db, Actor(row.participant_id), None, work)
    return result


TOTP_CODE = re.compile(r"[0-9]{6}")
TOTP_WINDOW = 1
"""Codes of one time step (30 s) either side of the server's are accepted: clocks drift."""


def fresh_totp_step(secret: str, code: str, at: float, last_step: int | None) -> int | None:
    """The earliest time step near ``at`` whose code is ``code`` and that is later than
    ``last_step``, the last one accepted for the user; None if there is none. A code is thus
    accepted at most once, and never one older than an accepted one (RFC 6238 section 5.2)."""
    if not TOTP_CODE.fullmatch(code):
        return None
    totp = pyotp.TOTP(secret)
    now = totp.timecode(at)
    for step in range(now - TOTP_WINDOW, now + TOTP_WINDOW + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step).encode(), code.encode()):
            return step
    return None


def verify_totp(db: Database, token: str, code: str, at: float | None = None) -> LoginResult:
    """The second step: a valid code, not used before, turns the waiting session into a new,
    full one. ``at`` is the wall-clock time in seconds (now if None) the code is checked at."""
    key = _session_key(token)
    code = code.strip()
    at = time.time() if at is None else at
    result = LoginResult("invalid")
    who: tuple[str, str] | None = None

    def work(tx: Tx) -> dict[str, Any]:
        nonlocal result, who
        s = repo.get_portal_session(tx.conn, key)
        user = repo.get_user(tx.conn, s.user_id) if s is not None else None
        if s is None or user is None or not s.second_factor_pending or s.expires_at < tx.wall_at:
            tx.allow_empty = True
            return {}
        who = (user.email, user.participant_id)
        if user.status != UserStatus.ACTIVE or user.totp_secret is None:
            tx.allow_empty = True
            return {}
        address = _email_hash(user.email)
        until = _locked_until(repo.get_login_throttle(tx.conn, address), tx.wall_at)
        if until is not None:
            tx.allow_empty = True
            result = _locked(until, tx.wall_at)
            return {}
        step = fresh_totp_step(user.totp_secret, code, at, user.totp_last_step)
        if step is None:  # a wrong code and a used one answer alike
            result = _fail(tx, user, "totp")
            if result.outcome == "invalid":
                result = replace(result, token=token)  # the same waiting session tries again
            return {}
        repo.delete_portal_session(tx.conn, key)  # a new id after each step: no fixation
        repo.delete_login_throttle(tx.conn, address)
        repo.update_user(tx.conn, user.id, totp_last_step=step, updated_at=tx.at)
        new_token = _open_session(tx, user.id, pending=False)
        tx.record("user.logged_in", f"user:{user.id}@{user.participant_id}", {"user": user.id})
        result = LoginResult("ok", new_token)
        return {}

    execute(db, Actor("SYSTEM"), None, work)
    if who is not None:
        access_log.record_login(db, "totp", who[0], result.outcome, who[1])
    return result


def logout(db: Database, token: str) -> None:
    """End a session: its row is deleted, so the cookie is worthless even if kept."""
    key = _session_key(token)

    def work(tx: Tx) -> dict[str, Any]:
        s = repo.get_portal_session(tx.conn, key)
        if s is None:
            tx.allow_empty = True
            return {}
        repo.delete_portal_session(tx.conn, key)
        tx.record("user.logged_out", f"user:{s.user_id}", {"user": s.user_id})
        return {}

    execute(db, Actor("SYSTEM"), None, work)


def session_user(db: Database, token: str | None, *, pending: bool = False) -> PortalUser | None:
    """The user of a live session (``pending``: of one waiting for its TOTP code), else None."""
    if not token or len(token) > 128:
        return None
    now = db.wall_clock()
    with db.read() as conn:
        s = repo.get_portal_session(conn, _session_key(token))
        if s is None or s.expires_at < now or bool(s.second_factor_pending) != pending:
            return None
        u = repo.get_user(conn, s.user_id)
        p = repo.get_participant(conn, u.participant_id) if u is not None else None
        if u is None or p is None or u.status != UserStatus.ACTIVE:
            return None
        role = UserRole(u.role)
        return PortalUser(
            id=u.id,
            participant_id=u.participant_id,
            email=u.email,
            display_name=u.display_name,
            role=role,
            actor=actor_for(role, u.participant_id, _participant_roles(p.roles), u.id),
            capabilities=CAPABILITIES[role],
            totp_enabled=u.totp_secret is not None,
            csrf_token=s.csrf_token,
        )


def csrf_matches(user: PortalUser, sent: str | None) -> bool:
    """A form's token against its session's, in constant time."""
    return bool(sent) and hmac.compare_digest(user.csrf_token.encode(), (sent or "").encode())


# ---------------------------------------------------------------- TOTP enrolment


def new_totp_secret() -> str:
    """160 random bits in base32, as RFC 4226 recommends for the HMAC-SHA1 key."""
    return pyotp.random_base32(32)


def totp_uri(secret: str, email: str) -> str:
    """The otpauth:// URI an authenticator app reads (usually from a QR code)."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=TOTP_ISSUER)


def start_totp(db: Database, user: PortalUser) -> TotpSetup:
    """Make a new TOTP secret for the user, kept aside until a code confirms it (``enrol_totp``);
    starting again replaces it, so each secret is shown once."""

    def work(tx: Tx) -> TotpSetup:
        row = repo.get_user(tx.conn, user.id)
        if row is None or row.status != UserStatus.ACTIVE:
            raise NotFound("user_not_found", f"There is no user {user.id}.")
        if row.totp_secret is not None:
            raise Conflict("totp_already_enabled", "TOTP is already on for you.")
        secret = new_totp_secret()
        repo.update_user(tx.conn, user.id, totp_pending=secret, updated_at=tx.at)
        tx.record(
            "user.totp_setup_started", f"user:{user.id}@{user.participant_id}", {"user": user.id}
        )
        return TotpSetup(secret=secret, uri=totp_uri(secret, row.email))

    # no Idempotency-Key: the secret is never stored outside the user's row, never replayed
    return execute(db, user.actor, None, work)


def enrol_totp(db: Database, user: PortalUser, code: str, at: float | None = None) -> TotpEnrolment:
    """Turn on TOTP for the user once it proves, with a valid code, that its app holds the
    secret that ``start_totp`` made; that code is then used, and no login accepts it again.
    ``at`` is the wall-clock time in seconds (now if None) the code is checked at."""
    code = code.strip()
    at = time.time() if at is None else at
    if not TOTP_CODE.fullmatch(code):
        raise InvalidInput("invalid_totp_code", "Type the 6 digits your app shows.")

    def work(tx: Tx) -> TotpEnrolment:
        row = repo.get_user(tx.conn, user.id)
        if row is None or row.status != UserStatus.ACTIVE:
            raise NotFound("user_not_found", f"There is no user {user.id}.")
        if row.totp_secret is not None:
            raise Conflict("totp_already_enabled", "TOTP is already on for you.")
        if row.totp_pending is None:
            raise Conflict("totp_not_started", "Start the set-up first: it makes a new key.")
        step = fresh_totp_step(row.totp_pending, code, at, row.totp_last_step)
        if step is None:  # a wrong code and a used one answer alike
            raise InvalidInput(
                "invalid_totp_code", "The code does not match; check the app's time and try again."
            )
        repo.update_user(
            tx.conn,
            user.id,
            totp_secret=row.totp_pending,
            totp_pending=None,
            totp_last_step=step,
            updated_at=tx.at,
        )
        tx.record("user.totp_enrolled", f"user:{user.id}@{user.participant_id}", {"user": user.id})
        return TotpEnrolment(user=user.id, totp_enabled=True)

    return execute(db, user.actor, None, work)
