"""Logging in, issue 14 (both backends): a lock after failed logins ends by itself and grows;
an unknown email, a wrong password and a locked user answer alike for the same work; TOTP is
on only after a code confirms the secret the server made; creating a user tells nothing about
another participant's users."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import pyotp
import pytest

from tanso.domain.errors import Conflict, InvalidInput
from tanso.domain.participants import Role
from tanso.services.access import users
from tanso.services.access.users import LoginResult, NewUser
from tanso.services.common import SYSTEM, Actor
from tanso.store.db import Database
from tests.conftest import CounterClock, add_participant

pytestmark = pytest.mark.fast_backends("sqlite", "postgres")

PASSWORD = "correct horse battery"
WRONG = "wrong password!"
EMAIL = "trader@alpha.example.jp"
ALPHA = Actor("ALPHA", frozenset({Role.TRADER}))
OPERATOR = Actor("OPERATOR", frozenset({Role.REGISTRY_OPERATOR}))


def new_user(db: Database, pid: str, email: str, role: str = "trader") -> str:
    return str(users.create(db, SYSTEM, NewUser(pid, email, "Someone", role, PASSWORD)).id)


def advance(db: Database, minutes: float) -> None:
    """Move the injected clock on (the test clock ticks a microsecond per reading)."""
    clock = db.clock
    assert isinstance(clock, CounterClock)
    clock.ticks += int(minutes * 60_000_000)


def later(at: str, minutes: int) -> str:
    ts = dt.datetime.fromisoformat(at.replace("Z", "+00:00")) + dt.timedelta(minutes=minutes)
    return ts.isoformat(timespec="microseconds").replace("+00:00", "Z")


def fail_until_locked(db: Database, email: str) -> LoginResult:
    for _ in range(users.MAX_FAILED_LOGINS - 1):
        assert users.login(db, email, WRONG).outcome == "invalid"
    locked = users.login(db, email, WRONG)
    assert locked.outcome == "locked"
    return locked


@pytest.fixture
def alpha(db: Database) -> dict[str, str]:
    add_participant(db, "ALPHA", ["trader"])
    add_participant(db, "BETA", ["trader"])
    return {
        "admin": new_user(db, "ALPHA", "admin@alpha.example.jp", "administrator"),
        "trader": new_user(db, "ALPHA", EMAIL),
        "beta": new_user(db, "BETA", "admin@beta.example.jp", "administrator"),
    }


# ---------------------------------------------------------------- the lock and its end


def test_the_lock_lasts_five_minutes_then_doubles_after_each_further_failure_up_to_an_hour() -> (
    None
):
    periods = [users.lock_period(n) for n in range(1, 12)]
    minutes = [p.total_seconds() / 60 if p else None for p in periods]
    assert minutes == [None, None, None, None, 5, 10, 20, 40, 60, 60, 60]
    assert users.lock_period(10**6) == dt.timedelta(minutes=users.MAX_LOCK_MINUTES)


def test_a_lock_after_five_failures_ends_by_itself_and_a_further_failure_locks_for_longer(
    db: Database, alpha: dict[str, str]
) -> None:
    start = db.clock()
    locked = fail_until_locked(db, EMAIL)
    assert locked.retry_at is not None and locked.retry_after in (300, 301)
    assert later(start, 5) < locked.retry_at <= later(start, 6)
    assert users.get_user(db, SYSTEM, alpha["trader"]).locked_until == locked.retry_at
    # while locked even the right password is refused, with the same time to try again
    again = users.login(db, EMAIL, PASSWORD)
    assert (again.outcome, again.retry_at) == ("locked", locked.retry_at)
    advance(db, 4.9)
    assert users.login(db, EMAIL, PASSWORD).outcome == "locked"
    advance(db, 0.2)
    # the lock is over: nobody unlocked it, yet one more failure locks again, for ten minutes
    assert users.get_user(db, SYSTEM, alpha["trader"]).status == "active"
    longer = users.login(db, EMAIL, WRONG)
    assert longer.outcome == "locked" and longer.retry_after in (600, 601)
    advance(db, 5.1)
    assert users.login(db, EMAIL, PASSWORD).outcome == "locked"
    advance(db, 5)
    assert users.login(db, EMAIL, PASSWORD).outcome == "ok"
    # the success forgot the failures: the next wrong password is only wrong
    assert users.login(db, EMAIL, WRONG).outcome == "invalid"


def test_an_administrator_unlocks_a_user_before_its_lock_ends(
    db: Database, alpha: dict[str, str]
) -> None:
    fail_until_locked(db, EMAIL)
    out = users.unlock(db, ALPHA, alpha["trader"], as_user=alpha["admin"])
    assert out.status == "active" and out.locked_until is None
    assert users.login(db, EMAIL, PASSWORD).outcome == "ok"


# ---------------------------------------------------------------- no enumeration


class CountingHasher:
    """The production hasher, counting the argon2 checks a login makes."""

    def __init__(self, hasher: Any) -> None:
        self.hasher, self.checks = hasher, 0

    def verify(self, password_hash: str, password: str) -> bool:
        self.checks += 1
        return bool(self.hasher.verify(password_hash, password))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.hasher, name)


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> Iterator[CountingHasher]:
    counting = CountingHasher(users._hasher)
    monkeypatch.setattr(users, "_hasher", counting)
    yield counting


def attempt(db: Database, hasher: CountingHasher, email: str, password: str) -> tuple[Any, ...]:
    before = hasher.checks
    r = users.login(db, email, password)
    assert r.token is None
    return r.outcome, r.retry_at, r.retry_after, hasher.checks - before


def test_an_unknown_email_a_wrong_password_and_a_locked_user_answer_alike(
    db: Database, alpha: dict[str, str], hasher: CountingHasher
) -> None:
    nobody = "nobody@alpha.example.jp"
    for _ in range(users.MAX_FAILED_LOGINS):
        real = attempt(db, hasher, EMAIL, WRONG)
        unknown = attempt(db, hasher, nobody, WRONG)
        assert real == unknown
        assert real[3] == 1  # one argon2 check each: the time tells nothing either
    assert real[0] == "locked" and real[1] is not None
    # locked: the right password answers as any password does for an unknown email
    assert attempt(db, hasher, EMAIL, PASSWORD) == attempt(db, hasher, nobody, PASSWORD)
    # an address with a lock of its own says so whoever it is, and no more
    assert attempt(db, hasher, "other@alpha.example.jp", WRONG)[:3] == ("invalid", None, None)


# ---------------------------------------------------------------- TOTP


def test_totp_is_on_only_after_a_code_confirms_the_secret_the_server_made(
    db: Database, alpha: dict[str, str]
) -> None:
    me = users.session_user(db, users.login(db, EMAIL, PASSWORD).token)
    assert me is not None
    with pytest.raises(Conflict) as refused:  # nothing to confirm before a set-up
        users.enrol_totp(db, me, "123456")
    assert refused.value.code == "totp_not_started"
    first = users.start_totp(db, me)
    setup = users.start_totp(db, me)  # starting again replaces the key: each is shown once
    assert len(setup.secret) == 32 and setup.secret != first.secret
    assert setup.uri.startswith("otpauth://totp/Tanso:") and f"secret={setup.secret}" in setup.uri
    for bad in ("", "12345", "abcdef", "1234567"):
        with pytest.raises(InvalidInput):
            users.enrol_totp(db, me, bad)
    code = pyotp.TOTP(setup.secret).now()
    with pytest.raises(InvalidInput):  # a code of the replaced key
        users.enrol_totp(db, me, pyotp.TOTP(first.secret).now())
    assert not users.get_user(db, SYSTEM, me.id).totp_enabled
    users.enrol_totp(db, me, code)
    assert users.get_user(db, SYSTEM, me.id).totp_enabled
    with pytest.raises(Conflict):
        users.start_totp(db, me)

    step = users.login(db, EMAIL, PASSWORD)
    assert step.outcome == "totp_required" and step.token
    assert users.session_user(db, step.token) is None
    # the enrolment used this step's code: the login takes the next step's
    later_code = pyotp.TOTP(setup.secret).at(time.time() + 30)
    done = users.verify_totp(db, step.token, later_code)
    assert done.outcome == "ok" and users.session_user(db, done.token) is not None


T0 = 1_800_000_000.0
"""A fixed wall-clock time the TOTP tests check codes at: no test depends on a step boundary."""


def enrolled(db: Database, at: float) -> tuple[users.PortalUser, pyotp.TOTP]:
    """The trader, logged in, with TOTP turned on by the code of ``at``."""
    me = users.session_user(db, users.login(db, EMAIL, PASSWORD).token)
    assert me is not None
    totp = pyotp.TOTP(users.start_totp(db, me).secret)
    users.enrol_totp(db, me, totp.at(at), at=at)
    return me, totp


def wrong_code(totp: pyotp.TOTP, at: float) -> str:
    near = {totp.at(at + 30 * i) for i in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in near)


def test_a_totp_code_logs_in_once_and_a_used_or_older_one_answers_like_a_wrong_code(
    db: Database, alpha: dict[str, str]
) -> None:
    _, totp = enrolled(db, T0 - 30)
    code = totp.at(T0)
    first = users.login(db, EMAIL, PASSWORD)
    assert first.token
    assert users.verify_totp(db, first.token, code, at=T0).outcome == "ok"
    step = users.login(db, EMAIL, PASSWORD)
    assert step.outcome == "totp_required" and step.token
    wrong = users.verify_totp(db, step.token, wrong_code(totp, T0), at=T0 + 10)
    assert wrong == LoginResult("invalid", token=step.token)
    # still inside the code's window, but used: the same answer, and it counts as a failure
    assert users.verify_totp(db, step.token, code, at=T0 + 10) == wrong
    assert users.verify_totp(db, step.token, totp.at(T0 - 30), at=T0 + 10) == wrong  # older
    assert users.session_user(db, step.token, pending=True) is not None
    done = users.verify_totp(db, step.token, totp.at(T0 + 30), at=T0 + 30)
    assert done.outcome == "ok" and users.session_user(db, done.token) is not None


def test_the_code_that_confirmed_totp_enrolment_does_not_log_in(
    db: Database, alpha: dict[str, str]
) -> None:
    _, totp = enrolled(db, T0)
    step = users.login(db, EMAIL, PASSWORD)
    assert step.token
    wrong = users.verify_totp(db, step.token, wrong_code(totp, T0), at=T0 + 5)
    assert users.verify_totp(db, step.token, totp.at(T0), at=T0 + 5) == wrong
    assert wrong.outcome == "invalid"
    assert users.verify_totp(db, step.token, totp.at(T0 + 30), at=T0 + 31).outcome == "ok"


def test_totp_enrolment_refuses_a_code_older_than_one_accepted_like_a_wrong_one(
    db: Database, alpha: dict[str, str]
) -> None:
    me, totp = enrolled(db, T0)
    step = users.login(db, EMAIL, PASSWORD)
    assert step.token
    assert users.verify_totp(db, step.token, totp.at(T0 + 30), at=T0 + 30).outcome == "ok"
    users.disable_totp(db, SYSTEM, me.id)
    # a new key set up at once: its code of an already used step is refused, as a wrong one is
    fresh = pyotp.TOTP(users.start_totp(db, me).secret)
    for code in (fresh.at(T0 + 30), wrong_code(fresh, T0 + 35)):
        with pytest.raises(InvalidInput) as refused:
            users.enrol_totp(db, me, code, at=T0 + 35)
        assert refused.value.code == "invalid_totp_code"
        assert "does not match" in refused.value.message
    assert not users.get_user(db, SYSTEM, me.id).totp_enabled
    users.enrol_totp(db, me, fresh.at(T0 + 60), at=T0 + 60)
    assert users.get_user(db, SYSTEM, me.id).totp_enabled


def test_wrong_totp_codes_keep_counting_across_logins_with_the_right_password(
    db: Database, alpha: dict[str, str]
) -> None:
    me = users.session_user(db, users.login(db, EMAIL, PASSWORD).token)
    assert me is not None
    secret = users.start_totp(db, me).secret
    users.enrol_totp(db, me, pyotp.TOTP(secret).now())
    wrong = "000000" if pyotp.TOTP(secret).now() != "000000" else "111111"
    step = users.login(db, EMAIL, PASSWORD)
    assert step.token
    for _ in range(users.MAX_FAILED_LOGINS - 1):
        assert users.verify_totp(db, step.token, wrong).outcome == "invalid"
    # the password again does not wipe the count: the fifth wrong code locks
    step = users.login(db, EMAIL, PASSWORD)
    assert step.outcome == "totp_required" and step.token
    assert users.verify_totp(db, step.token, wrong).outcome == "locked"
    assert users.login(db, EMAIL, PASSWORD).outcome == "locked"


# ---------------------------------------------------------------- another participant's email


def test_creating_a_user_tells_nothing_about_another_participants_users(
    db: Database, alpha: dict[str, str]
) -> None:
    taken = NewUser("ALPHA", "Admin@Beta.example.jp", "Copy", "viewer", PASSWORD)
    with pytest.raises(Conflict) as refused:
        users.create(db, ALPHA, taken, as_user=alpha["admin"])
    e = refused.value
    assert e.code == "email_unavailable"
    for told in ("exist", "BETA", "beta", alpha["beta"], "another participant"):
        assert told not in e.message
    # its own user's address: it sees that user anyway, so it is told
    own = NewUser("ALPHA", EMAIL, "Copy", "viewer", PASSWORD)
    with pytest.raises(Conflict) as refused:
        users.create(db, ALPHA, own, as_user=alpha["admin"])
    assert refused.value.code == "email_taken"
    # the operator sees every participant's users: it is told whose
    with pytest.raises(Conflict) as refused:
        users.create(db, OPERATOR, taken)
    assert refused.value.code == "email_taken" and "BETA" in refused.value.message


def test_concurrent_failures_with_an_unknown_email_all_count_and_none_fails(
    db: Database,
) -> None:
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    from sqlalchemy import select

    from tanso.store import schema as t

    n = 6
    start = Barrier(n)

    def one(_: int) -> str:
        start.wait()
        return users.login(db, "nobody@alpha.example.jp", WRONG).outcome

    with ThreadPoolExecutor(n) as pool:
        outcomes = list(pool.map(one, range(n)))
    assert sorted(set(outcomes)) <= ["invalid", "locked"] and "locked" in outcomes
    with db.read() as conn:
        assert conn.execute(select(t.login_throttle.c.failures)).scalar_one() == n
