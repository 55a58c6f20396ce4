"""More operator screens (both backends): registering participants and projects from the
browser, journal filters, and the remembered audit verification."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tanso.api.app import create_app
from tanso.services.common import SYSTEM
from tanso.services.ledger import participants, taxonomy
from tanso.store import schema as t
from tanso.store.db import Database
from tanso.web.operator import journal
from tests.e2e.test_operator_portal import OPS, as_operator, head, prepare, token
from tests.e2e.test_portal import login


@pytest.fixture
def portal(db: Database) -> Iterator[TestClient]:
    prepare(db)
    with TestClient(create_app(db), follow_redirects=False) as http:
        yield http


def last_entry(db: Database) -> tuple[str, str]:
    with db.read() as conn:
        row = conn.execute(select(t.journal).order_by(t.journal.c.seq.desc()).limit(1)).one()
    return row.kind, row.actor


def test_the_operator_registers_a_participant_from_the_browser(
    portal: TestClient, db: Database
) -> None:
    csrf = as_operator(portal)
    page = portal.get("/portal/operator/participants")
    assert 'id="participant-form"' in page.text
    r = portal.post(
        "/portal/operator/participants",
        data={
            "csrf": csrf,
            "id": "delta",
            "name_en": "Delta Trading",
            "name_ja": "デルタ商事",
            "kind": "corporation",
            "corporate_number": "9234567890123",
            "new_role_trader": "1",
        },
    )
    assert r.status_code == 200, r.text
    assert "DELTA registered (pending approval) with account DELTA-MAIN." in r.text
    delta = participants.get_participant(db, SYSTEM, "DELTA")
    assert delta.status == "pending" and delta.roles == ["trader"]
    kind, actor = last_entry(db)
    assert kind == "participant.registered" and actor.startswith("OPERATOR (user U-")


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"name_en": ""}, "name_en"),
        ({"kind": "person"}, "kind"),
        ({"corporate_number": ""}, "corporate_number"),
        ({"id": "ALPHA"}, "id"),
        ({"id": "bad id!"}, "id"),
    ],
)
def test_a_participant_form_error_is_shown_beside_its_field(
    portal: TestClient, db: Database, fields: dict[str, str], where: str
) -> None:
    csrf = as_operator(portal)
    before = len(participants.list_participants(db, SYSTEM))
    data = {
        "csrf": csrf,
        "name_en": "Epsilon",
        "name_ja": "イプシロン",
        "kind": "corporation",
        "corporate_number": "2876543210987",
    } | fields
    r = portal.post("/portal/operator/participants", data=data)
    status = 409 if fields == {"id": "ALPHA"} else 422  # an id in use is a conflict
    assert r.status_code == status and f'id="{where}-error"' in r.text
    assert len(participants.list_participants(db, SYSTEM)) == before


def test_the_operator_registers_a_project_and_errors_are_beside_fields(
    portal: TestClient, db: Database
) -> None:
    csrf = as_operator(portal)
    page = portal.get("/portal/operator/projects?lang=ja")
    assert page.status_code == 200 and "プロジェクトの登録" in page.text
    scheme = re.search(r'<select id="scheme".*?<option value="([^"]+)"', page.text, re.S)
    category = re.search(r'<select id="category".*?<option value="([^"]+)"', page.text, re.S)
    assert scheme and category
    good = {
        "csrf": csrf,
        "id": "PRJ42",
        "scheme": scheme.group(1),
        "category": category.group(1),
        "name": "Solar on schools",
        "country": "JP",
        "mechanism": "reduction",
        "nature": "technology",
    }
    for bad, where in (({"country": "japan"}, "country"), ({"id": "x-1"}, "id")):
        r = portal.post("/portal/operator/projects", data=good | bad)
        assert r.status_code == 422 and f'id="{where}-error"' in r.text
    assert all(p.id != "PRJ42" for p in taxonomy.list_projects(db))
    r = portal.post("/portal/operator/projects?lang=en", data=good)
    assert r.status_code == 200 and "Project PRJ42 registered." in r.text
    assert 'data-project="PRJ42"' in r.text
    assert last_entry(db)[0] == "project.registered"
    again = portal.post("/portal/operator/projects", data=good)
    assert again.status_code == 409 and 'id="id-error"' in again.text


def test_non_operators_and_forms_without_a_token_register_nothing(
    portal: TestClient, db: Database
) -> None:
    forms = [
        ("/portal/operator/participants", {"name_en": "Z", "name_ja": "Z", "kind": "association"}),
        (
            "/portal/operator/projects",
            {"id": "PZ", "scheme": "J-CREDIT", "category": "x", "name": "Z", "country": "JP"},
        ),
    ]
    login(portal, "administrator@alpha.example.jp")
    assert portal.get("/portal/operator/projects").status_code == 403
    alpha_csrf = token(portal, "/portal")
    size = head(db)
    for path, data in forms:
        assert portal.post(path, data=data | {"csrf": alpha_csrf}).status_code == 403
    ops = TestClient(portal.app, follow_redirects=False)
    as_operator(ops)
    size = head(db)
    for path, data in forms:
        for sent in ({}, {"csrf": ""}, {"csrf": "forged"}):
            assert ops.post(path, data=data | sent).status_code == 403
    assert head(db) == size


def seqs_of(html: str) -> list[int]:
    return [int(s) for s in re.findall(r'data-seq="(\d+)"', html)]


def test_the_journal_is_filtered_by_kind_actor_and_range(portal: TestClient, db: Database) -> None:
    as_operator(portal)
    with db.read() as conn:
        rows = conn.execute(select(t.journal.c.seq, t.journal.c.kind, t.journal.c.actor)).all()
    users_seqs = sorted((r.seq for r in rows if r.kind.startswith("user.")), reverse=True)
    r = portal.get("/portal/operator/journal?kind=user")
    assert seqs_of(r.text) == users_seqs[:50]
    r = portal.get("/portal/operator/journal?kind=user.created")
    assert seqs_of(r.text) == sorted(
        (x.seq for x in rows if x.kind == "user.created"), reverse=True
    )
    r = portal.get("/portal/operator/journal?actor=user:")
    assert seqs_of(r.text) and all(
        "user:" in x.actor for x in rows if x.seq in set(seqs_of(r.text))
    )
    r = portal.get("/portal/operator/journal?from=3&to=7")
    assert seqs_of(r.text) == [7, 6, 5, 4, 3]
    assert 'value="3"' in r.text and 'value="7"' in r.text  # the filter is kept in the form
    r = portal.get("/portal/operator/journal?kind=no.such.kind")
    assert seqs_of(r.text) == [] and "No entries." in r.text
    assert portal.get("/portal/operator/journal?from=junk&kind=" + "x" * 500).status_code == 200


def test_a_filtered_journal_pages_with_its_filter(portal: TestClient, db: Database) -> None:
    as_operator(portal)
    for i in range(60):
        participants.open_account(db, SYSTEM, f"Desk {i}", "ALPHA")
    r = portal.get("/portal/operator/journal?kind=account.opened")
    first = seqs_of(r.text)
    assert len(first) == 50
    older = re.search(r'href="([^"]+)" rel="next"', r.text)
    assert older and "kind=account.opened" in older.group(1)
    r = portal.get(older.group(1).replace("&amp;", "&"))
    second = seqs_of(r.text)
    assert len(second) == 10 and max(second) < min(first)
    newer = re.search(r'href="([^"]+)" rel="prev"', r.text)
    assert newer
    assert seqs_of(portal.get(newer.group(1).replace("&amp;", "&")).text) == first


def test_the_audit_result_is_remembered_until_asked_or_the_journal_grows(
    portal: TestClient, db: Database
) -> None:
    as_operator(portal)
    assert 'data-audit="ok"' in portal.get("/portal/operator/journal").text
    with db.engine.begin() as conn:
        conn.execute(t.journal.update().where(t.journal.c.seq == 2).values(actor="MALLORY"))
    # the head did not move: the remembered result is shown, with when it was made
    r = portal.get("/portal/operator/journal")
    assert 'data-audit="ok"' in r.text and 'id="verify-now"' in r.text
    # the journal grows: a small journal is verified again by itself
    participants.open_account(db, SYSTEM, "Desk", "ALPHA")
    r = portal.get("/portal/operator/journal")
    assert 'data-audit="failed"' in r.text and "entry 2" in r.text


def test_a_large_journal_is_verified_only_when_asked(
    portal: TestClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal, "AUTO_VERIFY_ENTRIES", 5)
    as_operator(portal)
    r = portal.get("/portal/operator/journal")
    assert 'data-audit="none"' in r.text and "Not verified yet." in r.text
    verify = re.search(r'href="([^"]+)" class="button" id="verify-now"', r.text)
    assert verify
    r = portal.get(verify.group(1).replace("&amp;", "&"))
    assert 'data-audit="ok"' in r.text
    participants.open_account(db, SYSTEM, "Desk", "ALPHA")
    r = portal.get("/portal/operator/journal?lang=ja")
    assert 'data-audit="ok"' in r.text and "その後 1 件が追加されました" in r.text


def test_the_operator_menu_links_the_projects_screen(portal: TestClient) -> None:
    login(portal, OPS)
    r = portal.get("/portal/operator")
    assert 'href="/portal/operator/projects"' in r.text
