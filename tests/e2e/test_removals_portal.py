"""The operator's removals screen (/portal/operator/removals, issue 21 §1) over HTTP on both
backends: the operator records a removal profile through the form, the project is issued, a
reversal is reported through the form and its confirmation step and shows on the screen and on
the public /removals page; a participant's user is refused; a bad value answers 422 with the
message next to its field, in English and Japanese; the books still fold."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tanso.api.app import create_app
from tanso.services.access import users
from tanso.services.access.users import NewUser
from tanso.services.common import SYSTEM
from tanso.services.ledger import audit, registry, taxonomy
from tanso.services.removals import profiles
from tanso.store.db import Database
from tanso.store.schema_removals import removal_profiles, reversals
from tests.conftest import add_participant
from tests.e2e.test_portal import CSRF_RE, PASSWORD, login

pytestmark = pytest.mark.fast_backends("sqlite", "postgres")

OPS = "ops@tanso.example.jp"
DEV_ADMIN = "administrator@dev.example.jp"
SCREEN = "/portal/operator/removals"
PROFILE = {
    "project": "BCP",
    "pathway": "biochar",
    "storage": "product",
    "reversal_risk": "medium",
    "permanence_years": "100",
    "monitoring_years": "100",
    "buffer_rate_bp": "2,000",
    "source": "Illustrative: 20% buffer",
}


@pytest.fixture
def http(db: Database) -> Iterator[TestClient]:
    add_participant(db, "DEV")
    users.create(db, SYSTEM, NewUser("OPERATOR", OPS, "Registry ops", "administrator", PASSWORD))
    users.create(db, SYSTEM, NewUser("DEV", DEV_ADMIN, "Dev admin", "administrator", PASSWORD))
    taxonomy.register_project(
        db,
        SYSTEM,
        taxonomy.NewProject(
            "BCP", "JC", "Biochar kilns", "AGRI_BIOCHAR", "JP", mechanism="removal"
        ),
    )
    with TestClient(create_app(db), follow_redirects=False) as client:
        yield client
    report = audit.verify(db)
    assert report.ok, report.problems


def token(http: TestClient, path: str = SCREEN) -> str:
    page = http.get(path)
    assert page.status_code == 200, page.text[:300]
    m = CSRF_RE.search(page.text)
    assert m
    return m.group(1)


def count(db: Database, table: object) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def field_error(html: str, name: str) -> str:
    m = re.search(rf'<span class="field-error" id="{name}-error">([^<]*)</span>', html)
    assert m, f"no error next to {name}"
    return m.group(1)


def test_the_operator_profiles_a_project_and_reports_a_reversal_through_the_screen(
    db: Database, http: TestClient
) -> None:
    assert login(http, OPS).status_code == 303
    csrf = token(http)
    screen = http.get(SCREEN).text
    assert 'data-field="no-profile"' in screen and 'href="/portal/operator/removals"' in screen

    done = http.post(f"{SCREEN}/profile", data=PROFILE | {"csrf": csrf})
    assert done.status_code == 200, done.text[:500]
    assert 'id="notice"' in done.text and "BCP" in done.text
    p = profiles.get_profile(db, "BCP")
    assert (p.pathway, p.storage, p.reversal_risk, p.buffer_rate_bp) == (
        "biochar",
        "product",
        "medium",
        2_000,
    )

    receipt = registry.issue(
        db, SYSTEM, registry.NewIssuance("BCP", "RM", "1", 2026, 1_000, "DEV-MAIN")
    )
    assert receipt.buffer_quantity == 200
    row = http.get(SCREEN).text
    assert re.search(r'data-field="buffered">200 t<', row)
    assert re.search(r'data-field="buffer-left">200 t<', row)

    reversal = {
        "csrf": csrf,
        "rv_project": "BCP",
        "quantity": "50",
        "cause": "fire",
        "occurred_on": "2026-08-14",
        "description": "Storage yard fire",
    }
    asked = http.post(f"{SCREEN}/reversal", data=reversal)
    assert asked.status_code == 200
    assert 'id="confirm-form"' in asked.text and "SYS-BUFFER-JC" in asked.text
    assert count(db, reversals) == 0  # the confirmation step changes nothing

    confirmed = http.post(f"{SCREEN}/reversal", data=reversal | {"confirm": "1"})
    assert confirmed.status_code == 200, confirmed.text[:500]
    (rev,) = profiles.list_reversals(db)
    assert (rev.quantity, rev.from_project_buffer, rev.uncompensated) == (50, 50, 0)
    assert 'id="notice"' in confirmed.text and rev.id in confirmed.text
    assert f'<tr id="{rev.id}">' in confirmed.text
    assert re.search(r'data-field="buffer-left">150 t<', confirmed.text)

    public = http.get("/removals")
    assert public.status_code == 200 and f'<tr id="{rev.id}">' in public.text
    ja = http.get("/ja/removals")
    assert f'<tr id="{rev.id}">' in ja.text and "火災" in ja.text


def test_a_participants_user_is_refused_and_nothing_changes(db: Database, http: TestClient) -> None:
    assert login(http, DEV_ADMIN).status_code == 303
    csrf = token(http, "/portal")
    assert http.get(SCREEN).status_code == 403
    r = http.post(f"{SCREEN}/profile", data=PROFILE | {"csrf": csrf})
    assert r.status_code == 403
    reversal = {"csrf": csrf, "rv_project": "BCP", "quantity": "5", "cause": "fire"}
    r = http.post(
        f"{SCREEN}/reversal", data=reversal | {"occurred_on": "2026-08-14", "confirm": "1"}
    )
    assert r.status_code == 403
    assert count(db, removal_profiles) == 0 and count(db, reversals) == 0


@pytest.mark.parametrize(
    ("lang", "whole_number"),
    [("en", "whole number"), ("ja", "整数")],
)
def test_a_bad_value_answers_422_next_to_its_field(
    db: Database, http: TestClient, lang: str, whole_number: str
) -> None:
    assert login(http, OPS).status_code == 303
    csrf = token(http, f"{SCREEN}?lang={lang}")  # the language cookie is set from here on

    typed = http.post(f"{SCREEN}/profile", data=PROFILE | {"csrf": csrf, "permanence_years": "x"})
    assert typed.status_code == 422
    assert typed.headers["content-language"] == lang
    assert whole_number in field_error(typed.text, "permanence_years")
    assert 'value="x"' in typed.text  # the form keeps what was typed

    refused = http.post(
        f"{SCREEN}/profile", data=PROFILE | {"csrf": csrf, "monitoring_years": "150"}
    )
    assert refused.status_code == 422
    assert "monitoring_years is 0 to the stated permanence (100)" in field_error(
        refused.text, "monitoring_years"
    )

    no_profile = {
        "csrf": csrf,
        "rv_project": "BCP",
        "quantity": "5",
        "cause": "fire",
        "occurred_on": "2026-08-14",
    }
    r = http.post(f"{SCREEN}/reversal", data=no_profile)
    assert r.status_code == 409 and "has no removal profile" in field_error(r.text, "rv_project")
    r = http.post(f"{SCREEN}/reversal", data=no_profile | {"occurred_on": "14/08/2026"})
    assert r.status_code == 422 and "2026-08-14" in field_error(r.text, "occurred_on")
    r = http.post(f"{SCREEN}/reversal", data=no_profile | {"quantity": "0"})
    assert r.status_code == 422 and field_error(r.text, "quantity")
    assert count(db, removal_profiles) == 0 and count(db, reversals) == 0
