"""Structured logs and the access log over HTTP: JSON lines with the request's fields, and never a
secret (API key secrets, passwords, session cookies, CSRF tokens, TOTP secrets and codes) in any
log record of any logger, through key creation, key use, portal logins and the second factor."""

from __future__ import annotations

import io
import json
import logging
import re
import time
from collections.abc import Iterator
from typing import Any

import pyotp
import pytest
from fastapi.testclient import TestClient

from tanso.api import ops
from tanso.api.app import create_app
from tanso.services.access import users
from tanso.services.access.users import NewUser
from tanso.services.common import SYSTEM
from tanso.services.ledger import participants
from tanso.store.db import Database
from tests.conftest import add_participant

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

PASSWORD = "correct horse battery staple"
WRONG_PASSWORD = "incorrect pony battery staple"
CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def logs(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    monkeypatch.setenv("TANSO_LOG_FORMAT", "json")
    buf = io.StringIO()
    yield buf
    ops.configure_logging("text", "info")


def _login(c: TestClient, email: str, password: str) -> Any:
    page = c.get("/portal/login")
    csrf = CSRF_RE.search(page.text)
    assert csrf is not None
    return c.post(
        "/portal/login", data={"email": email, "password": password, "csrf": csrf.group(1)}
    )


def test_no_secret_reaches_any_log_through_keys_logins_and_second_factors(
    db: Database, logs: io.StringIO, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    add_participant(db, "LOGCO")
    operator_key = participants.create_api_key(db, SYSTEM, "OPERATOR").key
    email = "admin@logco.example.jp"
    users.create(db, SYSTEM, NewUser("LOGCO", email, "Log Admin", "administrator", PASSWORD))
    # turn on the second factor for the user, through the service
    token = users.login(db, email, PASSWORD).token
    user = users.session_user(db, token)
    assert user is not None
    totp_secret = users.start_totp(db, user).secret
    users.enrol_totp(db, user, pyotp.TOTP(totp_secret).now())

    secrets: list[str] = [PASSWORD, WRONG_PASSWORD, totp_secret, operator_key.split("_", 2)[2]]
    with TestClient(create_app(db), follow_redirects=False) as c:
        ops.configure_logging("json", "debug", stream=logs)
        created = c.post(
            "/v1/participants/LOGCO/api-keys", json={"label": "bot"}, headers=bearer(operator_key)
        )
        assert created.status_code == 201
        new_key = created.json()["key"]
        secrets.append(new_key.split("_", 2)[2])
        assert c.get("/v1/participants/LOGCO", headers=bearer(new_key)).status_code == 200
        assert c.get("/v1/accounts", headers={"X-API-Key": new_key}).status_code == 200
        forged = f"tk_{created.json()['id']}_{'Z' * 43}"
        secrets.append("Z" * 43)
        assert c.get("/v1/accounts", headers=bearer(forged)).status_code == 401
        assert _login(c, email, WRONG_PASSWORD).status_code == 401
        step = _login(c, email, PASSWORD)
        assert step.status_code == 303 and step.headers["location"] == "/portal/login/totp"
        page = c.get("/portal/login/totp")
        csrf = CSRF_RE.search(page.text)
        assert csrf is not None
        # the enrolment took this step's code, and each is accepted once: the app's next code
        code = pyotp.TOTP(totp_secret).at(time.time() + 30)
        done = c.post("/portal/login/totp", data={"code": code, "csrf": csrf.group(1)})
        assert done.status_code == 303 and done.headers["location"] == "/portal"
        secrets += [csrf.group(1), *(v for v in c.cookies.values() if v)]
        assert c.get("/portal").status_code == 200
        c.get("/v1/no-such-thing?api_key=" + new_key)
        ops.configure_logging("json", "info")

    text = logs.getvalue()
    # every record of the server side (the test's own HTTP client, httpx, logs its URLs)
    server = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    records = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in server)
    assert len(secrets) >= 8
    for secret in secrets:
        assert secret not in text, "a secret reached the JSON log"
        assert secret not in records, "a secret reached a log record"
    assert not re.search(rf"(?<!\d){code}(?!\d)", text)

    lines = [json.loads(line) for line in text.splitlines()]
    assert lines and all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    requests = [line for line in lines if line["logger"] == "tanso.http"]
    assert {"request_id", "method", "path", "status", "duration_ms"} <= requests[0].keys()
    key_use = [line for line in requests if line.get("key_id") == created.json()["id"]]
    assert key_use and all(line["participant"] == "LOGCO" for line in key_use)
    # the query string (where a careless client may put a key) is never logged
    assert all("?" not in line["path"] for line in requests)
    # a portal page's line names the logged-in user
    portal = [line for line in requests if line["path"] == "/portal" and line["status"] == 200]
    assert portal and portal[0].get("user_id") == user.id and portal[0]["participant"] == "LOGCO"


def test_the_operator_reads_the_access_log_over_http_and_participants_cannot(
    db: Database,
) -> None:
    add_participant(db, "LOGRD")
    operator_key = participants.create_api_key(db, SYSTEM, "OPERATOR").key
    key = participants.create_api_key(db, SYSTEM, "LOGRD")
    with TestClient(create_app(db)) as c:
        assert c.get("/v1/accounts", headers=bearer(key.key)).status_code == 200
        page = c.get("/v1/operator/access-log?kind=api_key", headers=bearer(operator_key))
        assert page.status_code == 200
        subjects = {e["subject"]: e for e in page.json()["entries"]}
        assert subjects[key.id]["participant_id"] == "LOGRD"
        assert subjects[key.id]["outcome"] == "ok"
        refused = c.get("/v1/operator/access-log", headers=bearer(key.key))
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "operator_only"
        assert c.get("/v1/operator/access-log").status_code == 401
        for query in ("limit=0", f"before={10**30}", "subject=a%00b", "kind=everything"):
            bad = c.get(f"/v1/operator/access-log?{query}", headers=bearer(operator_key))
            assert bad.status_code == 422 and "error" in bad.json(), query


def test_portal_logins_appear_in_the_access_log(db: Database) -> None:
    from tanso.services.access import access_log

    add_participant(db, "LOGIN")
    email = "viewer@login.example.jp"
    users.create(db, SYSTEM, NewUser("LOGIN", email, "Viewer", "viewer", PASSWORD))
    users.login(db, email, WRONG_PASSWORD)
    users.login(db, email, PASSWORD)
    page = access_log.list_access(db, SYSTEM, kind="login")
    assert [e.outcome for e in page.entries] == ["ok", "refused"]
