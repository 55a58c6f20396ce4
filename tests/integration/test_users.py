"""Portal users on both backends: argon2 hashing, lock-out, TOTP, roles and who may create."""

from __future__ import annotations

import time

import pyotp
import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from tanso.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from tanso.domain.participants import Role
from tanso.services.access import users
from tanso.services.access.users import Capability, NewUser, UserRole
from tanso.services.common import SYSTEM, Actor
from tanso.store import schema as t
from tanso.store.db import Database
from tests.conftest import add_participant

PASSWORD = "correct horse battery"


def new_user(
    db: Database, pid: str, email: str, role: str = "trader", actor: Actor = SYSTEM, **kw: str
) -> users.User:
    return users.create(db, actor, NewUser(pid, email, email.split("@")[0], role, PASSWORD), **kw)


def user_row(db: Database, user_id: object) -> object:
    with db.read() as conn:
        return conn.execute(select(t.users).where(t.users.c.id == user_id)).one()


def journal_payloads(db: Database) -> str:
    with db.read() as conn:
        return "\n".join(r.payload for r in conn.execute(select(t.journal.c.payload)))


def test_a_password_is_stored_only_as_an_argon2_hash_and_never_journaled(db: Database) -> None:
    add_participant(db, "ALPHA")
    u = new_user(db, "ALPHA", "Trader@Alpha.example.jp")
    assert u.email == "trader@alpha.example.jp"
    row = user_row(db, u.id)
    assert row.password_hash.startswith("$argon2id$")  # type: ignore[attr-defined]
    assert PASSWORD not in row.password_hash  # type: ignore[attr-defined]
    journal = journal_payloads(db)
    assert PASSWORD not in journal and row.password_hash not in journal  # type: ignore[attr-defined]
    assert users.login(db, "TRADER@alpha.example.jp", PASSWORD).outcome == "ok"


def test_an_old_hash_is_replaced_by_a_current_one_at_login(db: Database) -> None:
    add_participant(db, "ALPHA")
    u = new_user(db, "ALPHA", "a@alpha.example.jp")
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    with db.engine.begin() as conn:
        conn.execute(t.users.update().where(t.users.c.id == u.id).values(password_hash=weak))
    assert users.login(db, "a@alpha.example.jp", PASSWORD).outcome == "ok"
    assert user_row(db, u.id).password_hash != weak  # type: ignore[attr-defined]
    assert users.login(db, "a@alpha.example.jp", PASSWORD).outcome == "ok"


def test_five_failed_logins_lock_the_user_and_an_administrator_can_unlock_it_early(
    db: Database,
) -> None:
    add_participant(db, "ALPHA")
    u = new_user(db, "ALPHA", "a@alpha.example.jp")
    admin = new_user(db, "ALPHA", "admin@alpha.example.jp", "administrator")
    ok = users.login(db, "a@alpha.example.jp", PASSWORD)
    for _ in range(users.MAX_FAILED_LOGINS - 1):
        assert users.login(db, "a@alpha.example.jp", "wrong password!").outcome == "invalid"
    assert users.login(db, "a@alpha.example.jp", "wrong password!").outcome == "locked"
    # locked: even the right password is refused, and the open session is gone
    assert users.login(db, "a@alpha.example.jp", PASSWORD).outcome == "locked"
    assert users.session_user(db, ok.token) is None
    assert users.get_user(db, SYSTEM, str(u.id)).status == "locked"
    # a trader of the same participant cannot unlock; its administrator can
    with pytest.raises(Forbidden):
        users.unlock(db, Actor("ALPHA"), str(u.id))
    users.unlock(db, Actor("ALPHA"), str(u.id), as_user=str(admin.id))
    assert users.get_user(db, SYSTEM, str(u.id)).status == "active"
    assert users.login(db, "a@alpha.example.jp", PASSWORD).outcome == "ok"


def test_a_successful_login_resets_the_failed_attempts(db: Database) -> None:
    add_participant(db, "ALPHA")
    new_user(db, "ALPHA", "a@alpha.example.jp")
    for _ in range(users.MAX_FAILED_LOGINS - 1):
        users.login(db, "a@alpha.example.jp", "wrong password!")
    assert users.login(db, "a@alpha.example.jp", PASSWORD).outcome == "ok"
    with db.read() as conn:
        assert conn.execute(select(t.login_throttle)).all() == []
    for _ in range(users.MAX_FAILED_LOGINS - 1):
        assert users.login(db, "a@alpha.example.jp", "wrong password!").outcome == "invalid"


def test_an_unknown_email_is_refused_like_a_wrong_password(db: Database) -> None:
    assert users.login(db, "nobody@example.jp", PASSWORD).outcome == "invalid"


def test_with_totp_the_password_alone_grants_nothing_until_the_code(db: Database) -> None:
    add_participant(db, "ALPHA")
    new_user(db, "ALPHA", "a@alpha.example.jp")
    first = users.login(db, "a@alpha.example.jp", PASSWORD)
    me = users.session_user(db, first.token)
    assert me is not None and not me.totp_enabled
    setup = users.start_totp(db, me)
    secret = setup.secret
    assert setup.uri.startswith("otpauth://totp/Tanso:")
    with pytest.raises(InvalidInput):
        users.enrol_totp(db, me, "000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
    users.enrol_totp(db, me, pyotp.TOTP(secret).now())
    assert secret not in journal_payloads(db)

    step = users.login(db, "a@alpha.example.jp", PASSWORD)
    assert step.outcome == "totp_required" and step.token
    assert users.session_user(db, step.token) is None  # not logged in yet
    assert users.session_user(db, step.token, pending=True) is not None
    wrong = "000000" if pyotp.TOTP(secret).now() != "000000" else "111111"
    assert users.verify_totp(db, step.token, wrong).outcome == "invalid"
    # the enrolment's code is used: the login takes the next step's
    done = users.verify_totp(db, step.token, pyotp.TOTP(secret).at(time.time() + 30))
    assert done.outcome == "ok" and done.token and done.token != step.token
    assert users.session_user(db, done.token) is not None
    assert users.session_user(db, step.token, pending=True) is None  # the waiting id is gone


def test_logout_deletes_the_session(db: Database) -> None:
    add_participant(db, "ALPHA")
    new_user(db, "ALPHA", "a@alpha.example.jp")
    s = users.login(db, "a@alpha.example.jp", PASSWORD)
    assert s.token and users.session_user(db, s.token) is not None
    users.logout(db, s.token)
    assert users.session_user(db, s.token) is None


@pytest.mark.parametrize(
    ("role", "expected", "capabilities"),
    [
        ("viewer", set(), {Capability.VIEW}),
        ("trader", {Role.TRADER, Role.MARKET_MAKER}, {Capability.VIEW, Capability.TRADE}),
        ("account_manager", set(), {Capability.VIEW, Capability.MOVE_CREDITS}),
        ("administrator", {Role.TRADER, Role.MARKET_MAKER, Role.BROKER}, set(Capability)),
    ],
)
def test_a_user_acts_with_its_participants_roles_filtered_by_its_own(
    db: Database, role: str, expected: set[Role], capabilities: set[Capability]
) -> None:
    add_participant(db, "ALPHA", ["trader", "market_maker", "broker"])
    new_user(db, "ALPHA", "u@alpha.example.jp", role)
    me = users.session_user(db, users.login(db, "u@alpha.example.jp", PASSWORD).token)
    assert me is not None
    assert me.actor.participant_id == "ALPHA" and not me.actor.is_system
    assert set(me.actor.roles) == expected
    assert set(me.capabilities) == capabilities
    assert not me.actor.is_operator()


def test_a_trader_user_gets_no_role_its_participant_lacks() -> None:
    actor = users.actor_for(UserRole.TRADER, "ALPHA", frozenset({Role.BROKER}))
    assert actor.roles == frozenset()


def test_only_the_operator_or_the_participants_administrator_creates_users(db: Database) -> None:
    add_participant(db, "ALPHA")
    add_participant(db, "BETA")
    admin = new_user(db, "ALPHA", "admin@alpha.example.jp", "administrator")
    trader = new_user(db, "ALPHA", "trader@alpha.example.jp", "trader")
    alpha = Actor("ALPHA", frozenset({Role.TRADER}))
    created = new_user(db, "ALPHA", "new@alpha.example.jp", "viewer", alpha, as_user=str(admin.id))
    assert created.participant_id == "ALPHA"
    with pytest.raises(Forbidden):  # a trader user is not an administrator
        new_user(db, "ALPHA", "x@alpha.example.jp", "viewer", alpha, as_user=str(trader.id))
    with pytest.raises(Forbidden):  # a participant's API key alone manages no users
        new_user(db, "ALPHA", "x@alpha.example.jp", "viewer", alpha)
    with pytest.raises(NotFound):  # ALPHA's administrator cannot create BETA's users
        new_user(db, "BETA", "x@beta.example.jp", "administrator", alpha, as_user=str(admin.id))
    with pytest.raises(Forbidden):  # BETA cannot borrow ALPHA's administrator
        new_user(db, "BETA", "x@beta.example.jp", "viewer", Actor("BETA"), as_user=str(admin.id))
    operator = Actor("OPERATOR", frozenset({Role.REGISTRY_OPERATOR}))
    assert (
        new_user(db, "BETA", "b@beta.example.jp", "administrator", operator).role == "administrator"
    )
    with pytest.raises(Conflict):
        new_user(db, "BETA", "B@beta.example.jp")
    with pytest.raises(Conflict):  # the address of another participant's user
        new_user(db, "ALPHA", "b@beta.example.jp", "viewer", alpha, as_user=str(admin.id))
    with pytest.raises(InvalidInput):
        users.create(db, SYSTEM, NewUser("BETA", "c@beta.example.jp", "C", "trader", "short"))
    with pytest.raises(InvalidInput):
        users.create(db, SYSTEM, NewUser("BETA", "c@beta.example.jp", "C", "god", PASSWORD))
