"""Participants from abroad over HTTP (both backends): the API's LEI, country and local name,
its refusals, and the operator's participants screen that registers and shows them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tanso.api.app import create_app
from tanso.cli import app
from tanso.services.access import users
from tanso.services.access.users import NewUser
from tanso.services.common import SYSTEM
from tanso.services.ledger import participants
from tanso.store import migrate
from tanso.store.db import Database
from tests.conftest import add_participant, counter_clock
from tests.e2e.test_operator_portal import as_operator, prepare
from tests.e2e.test_portal import PASSWORD, login

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.fast_backends("sqlite"),  # PostgreSQL: the integration tests, and make test-all
]

LEI = "5493001KJTIIGC8Y1R12"
SG_HOUSE = {
    "id": "STRAITS",
    "name_en": "Straits Meridian Trading Pte. Ltd.",
    "name_ja": "ストレイツ・メリディアン・トレーディング",
    "name_local": "海峡子午贸易私人有限公司",
    "kind": "corporation",
    "country": "SG",
    "lei": LEI,
}


@pytest.fixture
def api(db: Database) -> Iterator[tuple[TestClient, dict[str, str], dict[str, str]]]:
    add_participant(db, "ALPHA")
    operator = participants.create_api_key(db, SYSTEM, "OPERATOR", "test").key
    alpha = participants.create_api_key(db, SYSTEM, "ALPHA", "test").key
    with TestClient(create_app(db)) as http:
        yield (
            http,
            {"Authorization": f"Bearer {operator}"},
            {"Authorization": f"Bearer {alpha}"},
        )


def test_the_api_registers_a_foreign_corporation_and_answers_its_lei_and_names(
    api: tuple[TestClient, dict[str, str], dict[str, str]],
) -> None:
    http, operator, alpha = api
    r = http.post("/v1/participants", json=SG_HOUSE, headers=operator)
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["lei"], body["country"], body["name_local"]) == (LEI, "SG", SG_HOUSE["name_local"])
    assert body["corporate_number"] is None and body["accounts"] == ["STRAITS-MAIN"]
    one = http.get("/v1/participants/STRAITS", headers=operator).json()
    assert (one["lei"], one["country"], one["name_local"]) == (LEI, "SG", SG_HOUSE["name_local"])
    mine = http.get("/v1/participants", headers=alpha).json()
    assert [(p["id"], p["country"], p["lei"]) for p in mine] == [("ALPHA", "JP", None)]
    again = http.post("/v1/participants", json=SG_HOUSE | {"id": "COPY"}, headers=operator)
    assert again.status_code == 409 and again.json()["error"]["code"] == "lei_taken"


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"lei": None}, 422, "lei_required"),
        ({"lei": "5493001KJTIIGC8Y1R13"}, 422, "invalid_lei"),
        ({"lei": "5493001KJTIIGC8Y1R1"}, 422, "invalid_lei"),
        ({"country": "XX"}, 422, "invalid_country"),
        ({"country": "JP"}, 422, "corporate_number_required"),
        ({"lei": "5493001KJTIIGC8Y1R12X"}, 422, None),  # past the schema's bound
        ({"country": "SGP"}, 422, None),
    ],
)
def test_the_api_refuses_a_foreign_corporation_without_a_valid_lei_or_country(
    api: tuple[TestClient, dict[str, str], dict[str, str]],
    change: dict[str, str | None],
    status: int,
    code: str | None,
) -> None:
    http, operator, _ = api
    r = http.post("/v1/participants", json=SG_HOUSE | change, headers=operator)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] and error["message"]
    if code:
        assert error["code"] == code


@pytest.fixture
def portal(db: Database) -> Iterator[TestClient]:
    prepare(db)
    with TestClient(create_app(db), follow_redirects=False) as http:
        yield http


def test_the_operator_screen_registers_and_shows_a_foreign_corporation(
    portal: TestClient, db: Database
) -> None:
    csrf = as_operator(portal)
    page = portal.get("/portal/operator/participants?lang=en")
    assert 'id="p-lei"' in page.text and 'id="p-country"' in page.text
    form = {k: v for k, v in SG_HOUSE.items() if k != "lei"}
    r = portal.post(
        "/portal/operator/participants",
        data={"csrf": csrf, **form, "lei": LEI.lower(), "new_role_trader": "1"},
    )
    assert r.status_code == 200, r.text
    assert "STRAITS registered (pending approval) with account STRAITS-MAIN." in r.text
    assert f"LEI {LEI}" in r.text and SG_HOUSE["name_local"] in r.text
    assert participants.get_participant(db, SYSTEM, "STRAITS").lei == LEI
    ja = portal.get("/portal/operator/participants?lang=ja").text
    assert "現地語表記の名称" in ja and SG_HOUSE["name_ja"] in ja


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"lei": ""}, "lei"),
        ({"lei": "5493001KJTIIGC8Y1R13"}, "lei"),
        ({"country": "ZZ"}, "country"),
        ({"name_local": "   x" * 60}, "name_local"),
    ],
)
def test_a_foreign_participant_form_error_is_shown_beside_its_field(
    portal: TestClient, db: Database, fields: dict[str, str], where: str
) -> None:
    csrf = as_operator(portal)
    before = len(participants.list_participants(db, SYSTEM))
    r = portal.post("/portal/operator/participants", data={"csrf": csrf, **SG_HOUSE, **fields})
    assert r.status_code == 422 and f'id="{where}-error"' in r.text
    assert len(participants.list_participants(db, SYSTEM)) == before


def test_the_portal_home_shows_a_foreign_participant_its_names_country_and_lei(
    portal: TestClient, db: Database
) -> None:
    new = participants.NewParticipant(
        SG_HOUSE["name_ja"],
        SG_HOUSE["name_en"],
        "corporation",
        ["trader"],
        id="STRAITS",
        lei=LEI,
        country="SG",
        name_local=SG_HOUSE["name_local"],
    )
    participants.create_participant(db, SYSTEM, new)
    participants.set_status(db, SYSTEM, "STRAITS", "active")
    email = "desk@straits.example.sg"
    users.create(db, SYSTEM, NewUser("STRAITS", email, "Desk", "trader", PASSWORD))
    assert login(portal, email).status_code == 303
    en = portal.get("/portal?lang=en").text
    assert 'id="participant"' in en and SG_HOUSE["name_en"] in en
    assert SG_HOUSE["name_local"] in en and f">{LEI}<" in en and ">SG<" in en
    ja = portal.get("/portal?lang=ja").text
    assert SG_HOUSE["name_ja"] in ja and "参加者:" in ja


def test_the_command_line_registers_a_foreign_corporation_and_explains_a_refusal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    database = Database(url, counter_clock())
    migrate.upgrade(database.engine)
    participants.bootstrap(database)
    monkeypatch.setenv("TANSO_DATABASE_URL", url)
    add = ["registry", "participant-add", "STRAITS", SG_HOUSE["name_en"], SG_HOUSE["name_ja"]]
    run = CliRunner()
    r = run.invoke(app, [*add, "--country", "SG", "--lei", LEI[:-1] + "3"])
    assert r.exit_code != 0 and "invalid_lei" in r.stderr
    r = run.invoke(app, [*add, "--country", "SG"])
    assert r.exit_code != 0 and "lei_required" in r.stderr
    r = run.invoke(app, [*add, "--country", "SG", "--lei", LEI, "--name-local", "海峡"])
    assert r.exit_code == 0, r.stderr
    house = participants.get_participant(database, SYSTEM, "STRAITS")
    assert (house.lei, house.country, house.name_local, house.status) == (
        LEI,
        "SG",
        "海峡",
        "active",
    )
    database.dispose()
