"""Managing users from the browser (both backends): a participant's administrator and the
operator change roles, reset passwords, turn TOTP off and remove users; the last administrator
stays; another participant's users answer 404; other roles get 403; no CSRF token, no change."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tanso.api.app import create_app
from tanso.services.access import users
from tanso.services.access.users import NewUser
from tanso.services.common import SYSTEM
from tanso.services.ledger import audit
from tanso.store import schema as t
from tanso.store.db import Database
from tests.e2e.test_portal import PASSWORD, csrf, login, prepare

ACTIONS = ("role", "reset-password", "totp-off", "remove")


def uid(db: Database, email: str) -> str:
    with db.read() as conn:
        return str(conn.execute(select(t.users.c.id).where(t.users.c.email == email)).scalar_one())


def user_state(db: Database, pid: str) -> list[tuple[Any, ...]]:
    with db.read() as conn:
        rows = conn.execute(
            select(t.users.c.id, t.users.c.role, t.users.c.status, t.users.c.password_hash)
            .where(t.users.c.participant_id == pid)
            .order_by(t.users.c.id)
        ).all()
    return [tuple(r) for r in rows]


def journal_size(db: Database) -> int:
    with db.read() as conn:
        return len(conn.execute(select(t.journal.c.seq)).all())


def last_entry(db: Database) -> Any:
    with db.read() as conn:
        return conn.execute(select(t.journal).order_by(t.journal.c.seq.desc()).limit(1)).one()


@pytest.fixture
def portal(db: Database) -> Iterator[TestClient]:
    prepare(db)
    users.create(
        db,
        SYSTEM,
        NewUser("OPERATOR", "ops@tanso.example.jp", "Market ops", "administrator", PASSWORD),
    )
    with TestClient(create_app(db), follow_redirects=False) as http:
        yield http


def test_an_administrator_changes_a_role_and_the_journal_names_the_administrator(
    portal: TestClient, db: Database
) -> None:
    login(portal, "administrator@alpha.example.jp")
    token = csrf(portal, "/portal/users")
    trader = uid(db, "trader@alpha.example.jp")
    r = portal.post(f"/portal/users/{trader}/role", data={"csrf": token, "role": "viewer"})
    assert r.status_code == 200 and "trader@alpha.example.jp is now viewer." in r.text
    assert users.get_user(db, SYSTEM, trader).role == "viewer"
    entry = last_entry(db)
    admin = uid(db, "administrator@alpha.example.jp")
    assert entry.kind == "user.role_changed" and admin in entry.actor
    ja = portal.post(f"/portal/users/{trader}/role?lang=ja", data={"csrf": token, "role": "trader"})
    assert "役割を トレーダー に変更しました" in ja.text


def test_a_portal_action_is_journaled_with_the_user_who_did_it(
    portal: TestClient, db: Database
) -> None:
    login(portal, "account_manager@alpha.example.jp")
    token = csrf(portal, "/portal/retire")
    r = portal.post(
        "/portal/retire",
        data={"csrf": token, "account": "ALPHA-MAIN", "quantity": "5", "purpose": "offset_scope1"},
    )
    assert r.status_code == 200
    entry = last_entry(db)
    me = uid(db, "account_manager@alpha.example.jp")
    assert (entry.kind, entry.actor) == ("credits.retired", f"ALPHA (user {me})")
    assert audit.verify(db).ok


def test_a_reset_password_is_shown_once_and_the_old_session_ends(
    portal: TestClient, db: Database
) -> None:
    victim = TestClient(portal.app, follow_redirects=False)
    assert login(victim, "trader@alpha.example.jp").status_code == 303
    assert victim.get("/portal").status_code == 200
    login(portal, "administrator@alpha.example.jp")
    token = csrf(portal, "/portal/users")
    trader = uid(db, "trader@alpha.example.jp")
    r = portal.post(f"/portal/users/{trader}/reset-password", data={"csrf": token})
    assert r.status_code == 200
    m = re.search(r'<code id="new-password">([^<]+)</code>', r.text)
    assert m
    new_password = m.group(1)
    assert victim.get("/portal").headers["location"] == "/portal/login"  # its session ended
    assert new_password not in portal.get("/portal/users").text  # shown only that once
    assert login(victim, "trader@alpha.example.jp").status_code == 401
    assert login(victim, "trader@alpha.example.jp", new_password).status_code == 303
    with db.read() as conn:
        payloads = " ".join(r.payload for r in conn.execute(select(t.journal.c.payload)))
    assert new_password not in payloads


def test_totp_is_turned_off_and_a_user_removed(portal: TestClient, db: Database) -> None:
    me = users.session_user(db, users.login(db, "viewer@alpha.example.jp", PASSWORD).token)
    assert me is not None
    users.enrol_totp(db, me, pyotp.TOTP(users.start_totp(db, me).secret).now())
    login(portal, "administrator@alpha.example.jp")
    token = csrf(portal, "/portal/users")
    viewer = uid(db, "viewer@alpha.example.jp")
    page = portal.get("/portal/users")
    assert f'action="/portal/users/{viewer}/totp-off"' in page.text
    r = portal.post(f"/portal/users/{viewer}/totp-off", data={"csrf": token})
    assert r.status_code == 200 and "Two-step login of viewer@alpha.example.jp turned off" in r.text
    assert not users.get_user(db, SYSTEM, viewer).totp_enabled
    r = portal.post(f"/portal/users/{viewer}/remove", data={"csrf": token})
    assert r.status_code == 200 and "removed" in r.text
    assert users.get_user(db, SYSTEM, viewer).status == "removed"
    assert f'action="/portal/users/{viewer}/role"' not in r.text  # no actions on a removed user
    assert login(TestClient(portal.app), "viewer@alpha.example.jp").status_code == 401
    again = portal.post(f"/portal/users/{viewer}/remove", data={"csrf": token})
    assert again.status_code == 409 and f'id="u-{viewer}-error"' in again.text


def test_the_last_administrator_is_kept_and_the_refusal_shown_beside_it(
    portal: TestClient, db: Database
) -> None:
    login(portal, "administrator@alpha.example.jp")
    token = csrf(portal, "/portal/users")
    admin = uid(db, "administrator@alpha.example.jp")
    before = user_state(db, "ALPHA")
    for action, data in (("role", {"role": "viewer"}), ("remove", {})):
        r = portal.post(f"/portal/users/{admin}/{action}", data={"csrf": token} | data)
        assert r.status_code == 409
        assert f'id="u-{admin}-error"' in r.text and "last active administrator" in r.text
    assert user_state(db, "ALPHA") == before


def test_another_participants_users_answer_404_and_stay_unchanged(
    portal: TestClient, db: Database
) -> None:
    login(portal, "administrator@alpha.example.jp")
    token = csrf(portal, "/portal/users")
    before, size = user_state(db, "BETA"), journal_size(db)
    for email in ("trader@beta.example.jp", "administrator@beta.example.jp"):
        target = uid(db, email)
        for action in ACTIONS:
            r = portal.post(
                f"/portal/users/{target}/{action}", data={"csrf": token, "role": "administrator"}
            )
            assert r.status_code == 404 and "beta.example.jp" not in r.text
    assert user_state(db, "BETA") == before and journal_size(db) == size
    r = portal.post(
        f"/portal/users/{uid(db, 'trader@alpha.example.jp')}/promote", data={"csrf": token}
    )
    assert r.status_code == 404


def test_other_roles_get_403_and_a_form_without_its_token_changes_nothing(
    portal: TestClient, db: Database
) -> None:
    target = uid(db, "viewer@alpha.example.jp")
    clients = []
    for role in ("viewer", "trader", "account_manager"):
        http = TestClient(portal.app, follow_redirects=False)
        login(http, f"{role}@alpha.example.jp")
        clients.append((http, csrf(http, "/portal")))
    login(portal, "administrator@alpha.example.jp")
    before, size = user_state(db, "ALPHA"), journal_size(db)
    for http, token in clients:
        for action in ACTIONS:
            data = {"csrf": token, "role": "administrator"}
            assert http.post(f"/portal/users/{target}/{action}", data=data).status_code == 403
    for sent in ({}, {"csrf": ""}, {"csrf": "forged"}):
        for action in ACTIONS:
            r = portal.post(f"/portal/users/{target}/{action}", data=sent | {"role": "trader"})
            assert r.status_code == 403 and "Nothing was changed" in r.text
    assert user_state(db, "ALPHA") == before and journal_size(db) == size


def test_the_operator_manages_any_participants_users(portal: TestClient, db: Database) -> None:
    login(portal, "ops@tanso.example.jp")
    token = csrf(portal, "/portal/operator/users")
    beta = uid(db, "trader@beta.example.jp")
    base = f"/portal/operator/users/{beta}"
    page = portal.get("/portal/operator/users")
    assert f'action="{base}/reset-password"' in page.text
    r = portal.post(f"{base}/role", data={"csrf": token, "role": "account_manager"})
    assert r.status_code == 200 and users.get_user(db, SYSTEM, beta).role == "account_manager"
    ops = uid(db, "ops@tanso.example.jp")
    assert last_entry(db).actor == f"OPERATOR (user {ops})"
    r = portal.post(f"{base}/reset-password", data={"csrf": token})
    m = re.search(r'<code id="new-password">([^<]+)</code>', r.text)
    assert m and login(TestClient(portal.app), "trader@beta.example.jp", m.group(1)).status_code
    assert users.login(db, "trader@beta.example.jp", m.group(1)).outcome == "ok"
    r = portal.post(f"{base}/remove", data={"csrf": token})
    assert r.status_code == 200 and users.get_user(db, SYSTEM, beta).status == "removed"
    admin = uid(db, "administrator@beta.example.jp")
    r = portal.post(f"/portal/operator/users/{admin}/remove", data={"csrf": token})
    assert r.status_code == 409 and "last active administrator" in r.text
    r = portal.post("/portal/operator/users/U-NOPE/role", data={"csrf": token, "role": "viewer"})
    assert r.status_code == 404
    r = portal.get("/portal/operator/users?lang=ja")
    assert "パスワードを再設定" in r.text and "削除済" in r.text
    assert audit.verify(db).ok


def test_a_participants_administrator_cannot_use_the_operator_user_actions(
    portal: TestClient, db: Database
) -> None:
    login(portal, "administrator@alpha.example.jp")
    token = csrf(portal, "/portal/users")
    target = uid(db, "trader@alpha.example.jp")
    before = user_state(db, "ALPHA")
    for action in ACTIONS:
        r = portal.post(
            f"/portal/operator/users/{target}/{action}", data={"csrf": token, "role": "viewer"}
        )
        assert r.status_code == 403
    assert user_state(db, "ALPHA") == before
