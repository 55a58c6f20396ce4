"""The login and security screens, issue 14 (both backends): one answer for an unknown email,
a wrong password and a locked user; the TOTP set-up shows a key made by the server once (QR code
drawn inline, no script, no request elsewhere), takes no key from the form and answers bad input
with a 4xx; an administrator is told nothing about another participant's users."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pyotp
import pytest
from fastapi.testclient import TestClient

from tanso.api.app import create_app
from tanso.services.access import users
from tanso.services.common import SYSTEM
from tanso.store.db import Database
from tests.e2e.test_portal import PASSWORD, csrf, login, prepare

pytestmark = pytest.mark.fast_backends("sqlite", "postgres")

REAL = "trader@alpha.example.jp"
NOBODY = "nobody@alpha.example.jp"
SECRET_RE = re.compile(r'id="totp-secret">([A-Z2-7]+)<')


@pytest.fixture
def portal(db: Database) -> Iterator[TestClient]:
    prepare(db)
    with TestClient(create_app(db), follow_redirects=False) as http:
        yield http


def answer(http: TestClient, email: str, password: str) -> tuple[int, str | None, str]:
    """What a login answers, the address typed taken out of the page."""
    r = login(http, email, password)
    body = r.text.replace(email, "EMAIL")
    body = re.sub(r'name="csrf" value="[^"]+"', "", body)
    return r.status_code, r.headers.get("retry-after"), body


def test_the_login_screen_answers_an_unknown_email_a_wrong_password_and_a_locked_user_alike(
    portal: TestClient,
) -> None:
    for _ in range(users.MAX_FAILED_LOGINS):
        real = answer(portal, REAL, "wrong password!")
        assert real == answer(portal, NOBODY, "wrong password!")
        assert real[0] == 401
    status, retry_after, body = real
    assert retry_after in ("300", "301") and "Try again after" in body
    assert (status, retry_after, body) == answer(portal, REAL, PASSWORD)  # locked
    assert answer(portal, REAL, PASSWORD) == answer(portal, NOBODY, PASSWORD)
    ja = portal.get("/portal/login?lang=ja")
    assert ja.status_code == 200
    assert "まではログインできません" in login(portal, REAL, PASSWORD).text


def enrol_page(portal: TestClient) -> tuple[str, str]:
    token = csrf(portal, "/portal/security")
    page = portal.post("/portal/security/totp/new", data={"csrf": token})
    assert page.status_code == 200
    return token, page.text


def test_totp_set_up_shows_a_key_made_by_the_server_once_as_a_qr_code_and_text(
    portal: TestClient, db: Database
) -> None:
    login(portal, REAL)
    page = portal.get("/portal/security")
    assert page.status_code == 200 and not SECRET_RE.search(page.text)
    assert 'action="/portal/security/totp/new"' in page.text
    token, text = enrol_page(portal)
    secret = SECRET_RE.search(text)
    assert secret
    qr = re.search(r"<svg[^>]*class=\"qr\".*?</svg>", text, re.S)
    assert qr and "<path" in qr.group(0) and "<title>" in qr.group(0)
    assert "<script" not in text and not re.search(r'(src|href)="https?://', text)
    # the key is not shown again: a reload shows none, the code form stays
    assert secret.group(1) not in portal.get("/portal/security").text
    wrong = portal.post("/portal/security/totp", data={"csrf": token, "code": "abc"})
    assert wrong.status_code == 422 and secret.group(1) not in wrong.text
    assert "6 digits" in wrong.text
    r = portal.post(
        "/portal/security/totp",
        data={"csrf": token, "code": pyotp.TOTP(secret.group(1)).now()},
    )
    assert r.status_code == 200 and "now on" in r.text
    me = next(u for u in users.list_users(db, SYSTEM, "ALPHA") if u.email == REAL)
    assert me.totp_enabled
    # the next login needs the code
    portal.post("/portal/logout", data={"csrf": csrf(portal)})
    assert login(portal, REAL).headers["location"] == "/portal/login/totp"


ALL_A = "A" * 32
"""The key an earlier form accepted: all zero bits."""


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"code": ""},
        {"secret": "", "code": "123456"},
        {"secret": "AB", "code": "123456"},
        {"code": "12"},
        {"code": "1234567"},
        {"code": "12345€"},
        {"code": "x" * 5000},
        {"secret": ALL_A},
    ],
)
def test_bad_totp_form_input_gets_a_4xx_with_a_message_and_never_turns_totp_on(
    portal: TestClient, db: Database, data: dict[str, str]
) -> None:
    login(portal, REAL)
    token = csrf(portal, "/portal/security")
    for started in (False, True):
        if started:
            token, _ = enrol_page(portal)
        if data.get("secret") == ALL_A:  # a valid code for the form's own key
            data = data | {"code": pyotp.TOTP(ALL_A).now()}
        r = portal.post("/portal/security/totp", data={"csrf": token} | data)
        assert 400 <= r.status_code < 500, (started, data)
        assert re.search(r'class="(form|field)-error"', r.text)
        me = next(u for u in users.list_users(db, SYSTEM, "ALPHA") if u.email == REAL)
        assert not me.totp_enabled


def test_an_administrator_is_not_told_that_another_participant_has_a_user_with_an_email(
    portal: TestClient, db: Database
) -> None:
    login(portal, "administrator@alpha.example.jp")
    token = csrf(portal, "/portal/users")
    form = {"csrf": token, "display_name": "Copy", "role": "viewer", "password": PASSWORD}
    r = portal.post("/portal/users", data=form | {"email": "trader@beta.example.jp"})
    assert r.status_code == 409
    assert "cannot be used for a new user" in r.text
    assert "exists" not in r.text and "BETA" not in r.text
    assert not [u for u in users.list_users(db, SYSTEM, "ALPHA") if u.display_name == "Copy"]
    own = portal.post("/portal/users", data=form | {"email": "viewer@alpha.example.jp"})
    assert own.status_code == 409 and "One of your users" in own.text
