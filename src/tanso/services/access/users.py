"""Portal users: people of a participant who log in with a password (and optionally TOTP).

This module owns users, their roles inside their participant, password hashing (argon2),
lock-out, the TOTP second factor and server-side browser sessions. It never journals a
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
import re
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from tanso.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from tanso.domain.participants import Role
from tanso.services.access import access_log
from tanso.services.common import Actor, execute, new_id, plain
from tanso.services.operations import suspension
from tanso.store import repo
from tanso.store import schema as t
from tanso.store.db import Database, Tx

MAX_FAILED_LOGINS = 5
"""After this many failed logins in a row a user is locked until an administrator unlocks it."""
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


class UserStatus(StrEnum):
    ACTIVE = "active"
    LOCKED = "locked"
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


@dataclass(frozen=True, slots=True)
class LoginResult:
    """The outcome of a login step: ``ok``, ``totp_required``, ``invalid`` or ``locked``.

    ``token`` is the cookie's secret (only for ``ok`` and ``totp_required``).
    """

    outcome: str
    token: str | None = None


def actor_for(
    user_role: UserRole,
    participant_id: str,
    participant_roles: frozenset[Role],
    user_id: str | None = None,
) -> Actor:
    """The actor a user acts as: its participant, with the roles its user role allows; the
    user's id makes the journal name the person as well as the participant."""
    if user_role == UserRole.ADMINISTRATOR:
        roles = participant_roles
    elif user_role == UserRole.TRADER:
        roles = participant_roles & TRADING_ROLES
    else:
        roles = frozenset()
    return Actor(participant_id, roles, user_id=user_id)


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


def user_view(row: Any) -> User:
    return User(
        id=row.id,
        participant_id=row.participant_id,
        email=row.email,
        display_name=row.display_name,
        role=row.role,
        status=row.status,
        totp_enabled=row.totp_secret is not None,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


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
        if repo.get_user_by_email(tx.conn, email) is not None:
            raise Conflict("email_taken", f"A user with email {email} already exists.")
        repo.insert_row(
            tx.conn,
            t.users,
            id=user_id,
            participant_id=n.participant_id,
            email=email,
            display_name=n.display_name.strip(),
            role=role.value,
            status=UserStatus.ACTIVE.value,
            failed_attempts=0,
            password_hash=password_hash,
            totp_secret=None,
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
    with db.read() as conn:
        return [user_view(r) for r in repo.list_users(conn, participant_id)]


def unlock(db: Database, actor: Actor, user_id: str, as_user: str | None = None) -> User:
    """Unlock a locked user and clear its failed attempts (operator or its administrator)."""

    def work(tx: Tx) -> User:
        row = repo.get_user(tx.conn, user_id)
        if row is None:
            raise NotFound("user_not_found", f"There is no user {user_id}.")
        by = _check_manager(tx, actor, as_user, row.participant_id)
        if row.status == UserStatus.REMOVED:
            raise Conflict("user_removed", f"User {row.email} was removed.")
        repo.update_user(
            tx.conn, user_id, status=UserStatus.ACTIVE.value, failed_attempts=0, updated_at=tx.at
        )
        tx.record("user.unlocked", by, {"user": user_id, "participant_id": row.participant_id})
        return user_view(repo.get_user(tx.conn, user_id))

    return execute(db, actor, None, work)


def get_user(db: Database, actor: Actor, user_id: str) -> User:
    """One user: the operator sees anyone, a participant only its own (others: not found)."""
    with db.read() as conn:
        row = repo.get_user(conn, user_id)
    if row is None or (row.participant_id != actor.participant_id and not actor.is_operator()):
        raise NotFound("user_not_found", f"There is no user {user_id} that you can see.")
    return user_view(row)


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
    others = [
        u
        for u in repo.list_users(tx.conn, row.participant_id)
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
        repo.update_user(tx.conn, user_id, totp_secret=None, updated_at=tx.at)
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


def _fail(tx: Tx, row: Any, reason: str) -> str:
    attempts = repo.count_failed_login(tx.conn, row.id, tx.at)
    locked = attempts >= MAX_FAILED_LOGINS
    if locked:
        repo.update_user(tx.conn, row.id, status=UserStatus.LOCKED.value)
        repo.delete_portal_sessions_of(tx.conn, row.id)
    tx.record(
        "user.login_failed",
        f"user:{row.id}@{row.participant_id}",
        {"user": row.id, "reason": reason, "failed_attempts": attempts, "locked": locked},
    )
    return "locked" if locked else "invalid"


def _open_session(tx: Tx, user_id: str, pending: bool) -> str:
    token = secrets.token_urlsafe(32)  # 256 random bits
    lifetime = (
        dt.timedelta(minutes=PENDING_MINUTES) if pending else dt.timedelta(hours=SESSION_HOURS)
    )
    repo.delete_expired_portal_sessions(tx.conn, tx.at)
    repo.insert_row(
        tx.conn,
        t.portal_sessions,
        id=_session_key(token),
        user_id=user_id,
        created_at=tx.at,
        expires_at=_later(tx.at, lifetime),
        csrf_token=secrets.token_urlsafe(32),
        second_factor_pending=pending,
    )
    return token


def login(db: Database, email: str, password: str) -> LoginResult:
    """Check a password: a session (or, with TOTP, a session waiting for the code)."""
    with db.read() as conn:
        row = repo.get_user_by_email(conn, normalise_email(email))
    if row is None or len(password) > MAX_PASSWORD:
        _verify(_DUMMY_HASH, password[:MAX_PASSWORD])  # the same time as a wrong password
        access_log.record_login(db, "login", normalise_email(email)[:254], "invalid")
        return LoginResult("invalid")
    ok = _verify(row.password_hash, password)
    new_hash = (
        _hasher.hash(password) if ok and _hasher.check_needs_rehash(row.password_hash) else None
    )
    result = LoginResult("invalid")

    def work(tx: Tx) -> dict[str, Any]:
        nonlocal result
        current = repo.get_user(tx.conn, row.id)
        assert current is not None
        if current.status == UserStatus.REMOVED:
            tx.allow_empty = True  # a removed user answers like an unknown email
            return {}
        if current.status == UserStatus.LOCKED:
            tx.allow_empty = True  # nothing changes for a locked user, so nothing is journaled
            result = LoginResult("locked")
            return {}
        if not ok:
            result = LoginResult(_fail(tx, current, "password"))
            return {}
        values: dict[str, Any] = {"failed_attempts": 0, "updated_at": tx.at}
        if new_hash is not None:
            values["password_hash"] = new_hash
        repo.update_user(tx.conn, row.id, **values)
        pending = current.totp_secret is not None
        token = _open_session(tx, row.id, pending)
        tx.record(
            "user.password_accepted" if pending else "user.logged_in",
            f"user:{row.id}@{row.participant_id}",
            {"user": row.id, "rehashed": new_hash is not None},
        )
        result = LoginResult("totp_required" if pending else "ok", token)
        return {}

    execute(db, Actor(row.participant_id), None, work)
    access_log.record_login(db, "login", row.email, result.outcome, row.participant_id)
    return result


def verify_totp(db: Database, token: str, code: str) -> LoginResult:
    """The second step: a valid code turns the waiting session into a new, full one."""
    key = _session_key(token)
    result = LoginResult("invalid")
    who: tuple[str, str] | None = None

    def work(tx: Tx) -> dict[str, Any]:
        nonlocal result, who
        s = repo.get_portal_session(tx.conn, key)
        user = repo.get_user(tx.conn, s.user_id) if s is not None else None
        if s is None or user is None or not s.second_factor_pending or s.expires_at < tx.at:
            tx.allow_empty = True
            return {}
        who = (user.email, user.participant_id)
        if user.status == UserStatus.LOCKED or user.totp_secret is None:
            tx.allow_empty = True
            result = LoginResult("locked" if user.status == UserStatus.LOCKED else "invalid")
            return {}
        if not pyotp.TOTP(user.totp_secret).verify(code.strip(), valid_window=1):
            outcome = _fail(tx, user, "totp")
            result = LoginResult(outcome, token if outcome == "invalid" else None)
            return {}
        repo.delete_portal_session(tx.conn, key)  # a new id after each step: no fixation
        repo.update_user(tx.conn, user.id, failed_attempts=0, updated_at=tx.at)
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
    now = db.clock()
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
    return pyotp.random_base32()


def totp_uri(secret: str, email: str) -> str:
    """The otpauth:// URI an authenticator app reads (usually from a QR code)."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=TOTP_ISSUER)


def enrol_totp(db: Database, user: PortalUser, secret: str, code: str) -> TotpEnrolment:
    """Turn on TOTP for the user once it proves its app has the secret with a valid code."""
    if not re.fullmatch(r"[A-Z2-7]{16,64}", secret):
        raise InvalidInput("invalid_totp_secret", "The TOTP secret is not valid; start again.")
    if not pyotp.TOTP(secret).verify(code.strip(), valid_window=1):
        raise InvalidInput("invalid_totp_code", "The code does not match; check the app's time.")

    def work(tx: Tx) -> TotpEnrolment:
        repo.update_user(tx.conn, user.id, totp_secret=secret, updated_at=tx.at)
        tx.record("user.totp_enrolled", f"user:{user.id}@{user.participant_id}", {"user": user.id})
        return TotpEnrolment(user=user.id, totp_enabled=True)

    return execute(db, user.actor, None, work)
