"""Managing portal users on both backends: role changes, password resets, turning TOTP off,
removal; the last administrator is kept; journal entries name the user who acted."""

from __future__ import annotations

import json

import pyotp
import pytest
from sqlalchemy import select

from tanso.domain.errors import Conflict, Forbidden, NotFound
from tanso.domain.participants import Role
from tanso.services.access import users
from tanso.services.access.users import NewUser, UserRole
from tanso.services.common import SYSTEM, Actor
from tanso.services.ledger import audit, registry
from tanso.store import schema as t
from tanso.store.db import Database
from tests.conftest import add_issuance, add_participant

PASSWORD = "correct horse battery"
ALPHA = Actor("ALPHA", frozenset({Role.TRADER}))
OPERATOR = Actor("OPERATOR", frozenset({Role.REGISTRY_OPERATOR}))


def new_user(db: Database, pid: str, email: str, role: str) -> str:
    out = users.create(db, SYSTEM, NewUser(pid, email, email.split("@")[0], role, PASSWORD))
    return str(out.id)


def last_entry(db: Database) -> tuple[str, str, str]:
    with db.read() as conn:
        row = conn.execute(select(t.journal).order_by(t.journal.c.seq.desc()).limit(1)).one()
    return row.kind, row.actor, row.payload


def sessions_of(db: Database, user_id: str) -> int:
    with db.read() as conn:
        return len(
            conn.execute(
                select(t.portal_sessions.c.id).where(t.portal_sessions.c.user_id == user_id)
            ).all()
        )


@pytest.fixture
def alpha(db: Database) -> dict[str, str]:
    add_participant(db, "ALPHA", ["trader"])
    add_participant(db, "BETA", ["trader"])
    return {
        "admin": new_user(db, "ALPHA", "admin@alpha.example.jp", "administrator"),
        "trader": new_user(db, "ALPHA", "trader@alpha.example.jp", "trader"),
        "beta": new_user(db, "BETA", "admin@beta.example.jp", "administrator"),
    }


def test_an_actor_with_a_user_is_labelled_with_it_in_the_journal(db: Database) -> None:
    assert Actor("ALPHA").label == "ALPHA"
    assert Actor("ALPHA", user_id="U-1").label == "ALPHA (user U-1)"
    assert Actor("CLIENT", agent_id="BROKER", user_id="U-2").label == "BROKER for CLIENT (user U-2)"
    add_participant(db, "ALPHA", ["trader"])
    uid = new_user(db, "ALPHA", "am@alpha.example.jp", "account_manager")
    add_issuance(db, "ALPHA-MAIN", 10)
    me = users.session_user(db, users.login(db, "am@alpha.example.jp", PASSWORD).token)
    assert me is not None and me.actor.user_id == uid
    registry.retire(
        db,
        me.actor,
        registry.RetirementRequest(
            account_id="ALPHA-MAIN",
            selection=registry.Selection(quantity=3),
            purposes=["offset_scope1"],
        ),
    )
    kind, actor, _ = last_entry(db)
    assert (kind, actor) == ("credits.retired", f"ALPHA (user {uid})")
    assert audit.verify(db).ok


def test_an_administrator_changes_a_role_and_the_journal_says_who(
    db: Database, alpha: dict[str, str]
) -> None:
    out = users.set_role(db, ALPHA, alpha["trader"], "viewer", as_user=alpha["admin"])
    assert out.role == "viewer"
    kind, actor, payload = last_entry(db)
    assert kind == "user.role_changed" and alpha["admin"] in actor
    assert json.loads(payload) == {
        "v": 2,
        "user": alpha["trader"],
        "participant_id": "ALPHA",
        "from": "trader",
        "to": "viewer",
    }
    me = users.session_user(db, users.login(db, "trader@alpha.example.jp", PASSWORD).token)
    assert me is not None and me.role == UserRole.VIEWER and me.actor.roles == frozenset()
    with pytest.raises(Conflict):
        users.set_role(db, ALPHA, alpha["trader"], "viewer", as_user=alpha["admin"])
    with pytest.raises(Forbidden):  # a trader user manages nobody
        users.set_role(db, ALPHA, alpha["admin"], "viewer", as_user=alpha["trader"])
    with pytest.raises(NotFound):  # ALPHA's administrator cannot touch BETA's users
        users.set_role(db, ALPHA, alpha["beta"], "viewer", as_user=alpha["admin"])
    assert users.get_user(db, SYSTEM, alpha["beta"]).role == "administrator"
    assert audit.verify(db).ok


def test_the_last_administrator_is_never_demoted_or_removed(
    db: Database, alpha: dict[str, str]
) -> None:
    for change in (
        lambda: users.set_role(db, ALPHA, alpha["admin"], "trader", as_user=alpha["admin"]),
        lambda: users.remove(db, ALPHA, alpha["admin"], as_user=alpha["admin"]),
        lambda: users.set_role(db, OPERATOR, alpha["admin"], "viewer"),
        lambda: users.remove(db, OPERATOR, alpha["admin"]),
    ):
        with pytest.raises(Conflict) as refused:
            change()
        assert refused.value.code == "last_administrator"
    assert users.get_user(db, SYSTEM, alpha["admin"]).role == "administrator"
    # a locked administrator does not count: it could not act
    users.set_role(db, OPERATOR, alpha["trader"], "administrator")
    for _ in range(users.MAX_FAILED_LOGINS):
        users.login(db, "trader@alpha.example.jp", "wrong password!!")
    with pytest.raises(Conflict):
        users.remove(db, ALPHA, alpha["admin"], as_user=alpha["admin"])
    users.unlock(db, OPERATOR, alpha["trader"])
    # with a second active administrator the first may step down
    out = users.set_role(db, ALPHA, alpha["admin"], "viewer", as_user=alpha["admin"])
    assert out.role == "viewer"
    with pytest.raises(Conflict):
        users.remove(db, OPERATOR, alpha["trader"])


def test_a_reset_password_is_shown_once_and_ends_the_users_sessions(
    db: Database, alpha: dict[str, str]
) -> None:
    token = users.login(db, "trader@alpha.example.jp", PASSWORD).token
    assert users.session_user(db, token) is not None and sessions_of(db, alpha["trader"]) == 1
    out = users.reset_password(db, ALPHA, alpha["trader"], as_user=alpha["admin"])
    new_password = str(out.password)
    assert len(new_password) >= users.MIN_PASSWORD and out.sessions_ended == 1
    assert last_entry(db)[0] == "user.password_reset"
    assert users.session_user(db, token) is None
    assert users.login(db, "trader@alpha.example.jp", PASSWORD).outcome == "invalid"
    assert users.login(db, "trader@alpha.example.jp", new_password).outcome == "ok"
    with db.read() as conn:
        everything = "\n".join(r.payload for r in conn.execute(select(t.journal.c.payload)))
    assert new_password not in everything
    with pytest.raises(NotFound):
        users.reset_password(db, ALPHA, alpha["beta"], as_user=alpha["admin"])
    with pytest.raises(Forbidden):
        users.reset_password(db, ALPHA, alpha["admin"], as_user=alpha["trader"])
    assert users.reset_password(db, OPERATOR, alpha["beta"]).participant_id == "BETA"
    assert audit.verify(db).ok


def test_totp_is_turned_off_by_an_administrator(db: Database, alpha: dict[str, str]) -> None:
    me = users.session_user(db, users.login(db, "trader@alpha.example.jp", PASSWORD).token)
    assert me is not None
    users.enrol_totp(db, me, pyotp.TOTP(users.start_totp(db, me).secret).now())
    assert users.login(db, "trader@alpha.example.jp", PASSWORD).outcome == "totp_required"
    out = users.disable_totp(db, ALPHA, alpha["trader"], as_user=alpha["admin"])
    assert out.totp_enabled is False
    assert last_entry(db)[0] == "user.totp_disabled"
    assert users.login(db, "trader@alpha.example.jp", PASSWORD).outcome == "ok"
    with pytest.raises(Conflict):
        users.disable_totp(db, ALPHA, alpha["trader"], as_user=alpha["admin"])
    with pytest.raises(NotFound):
        users.disable_totp(db, ALPHA, alpha["beta"], as_user=alpha["admin"])


def test_a_removed_user_can_never_log_in_or_be_unlocked(
    db: Database, alpha: dict[str, str]
) -> None:
    token = users.login(db, "trader@alpha.example.jp", PASSWORD).token
    out = users.remove(db, ALPHA, alpha["trader"], as_user=alpha["admin"])
    assert out.status == "removed"
    assert users.session_user(db, token) is None and sessions_of(db, alpha["trader"]) == 0
    kind, actor, payload = last_entry(db)
    assert kind == "user.removed" and "trader@alpha.example.jp" in payload
    assert actor == f"user:{alpha['admin']}@ALPHA"
    before = last_entry(db)
    assert users.login(db, "trader@alpha.example.jp", PASSWORD).outcome == "invalid"
    assert last_entry(db) == before  # nothing journaled, like an unknown email
    for change in (
        lambda: users.unlock(db, OPERATOR, alpha["trader"]),
        lambda: users.set_role(db, OPERATOR, alpha["trader"], "administrator"),
        lambda: users.reset_password(db, OPERATOR, alpha["trader"]),
        lambda: users.remove(db, OPERATOR, alpha["trader"]),
    ):
        with pytest.raises(Conflict):
            change()
    assert users.get_user(db, SYSTEM, alpha["trader"]).status == "removed"
    with pytest.raises(NotFound):
        users.remove(db, ALPHA, alpha["beta"], as_user=alpha["admin"])
    with pytest.raises(NotFound):
        users.get_user(db, ALPHA, alpha["beta"])
    assert audit.verify(db).ok
