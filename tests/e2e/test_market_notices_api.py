"""Market notices and project updates over HTTP (issue 22): the operator publishes and withdraws
a notice through the API and through its screen; anyone reads the list (filtered), each notice,
the public pages in English and Japanese and the Atom feed, which parses as Atom with every
element RFC 4287 requires; a project's named developer posts updates, another participant is
refused; bad input answers 422 with its code; the books still fold."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tanso.api.app import create_app
from tanso.services.access import users
from tanso.services.access.users import NewUser
from tanso.services.common import SYSTEM
from tanso.services.ledger import audit, participants, taxonomy
from tanso.store.db import Database
from tests.conftest import add_participant
from tests.e2e.test_portal import CSRF_RE, PASSWORD, login

pytestmark = [
    pytest.mark.fast_backends("sqlite"),  # PostgreSQL: the integration tests, and make test-all
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

A = "{http://www.w3.org/2005/Atom}"
OPS = "ops@tanso.example.jp"
SCREEN = "/portal/operator/notices"
HOLIDAY = {
    "kind": "holiday",
    "title_en": "Year-end holiday",
    "title_ja": "年末年始の休業",
    "body_en": "The market is closed from 31 December to 3 January.",
    "body_ja": "12月31日から1月3日まで休業します。",
    "effective_on": "2026-12-31",
    "link": "/rules",
}


@pytest.fixture
def http(db: Database) -> Iterator[tuple[TestClient, dict[str, dict[str, str]]]]:
    add_participant(db, "DEV")
    add_participant(db, "OTHER")
    taxonomy.register_project(
        db, SYSTEM, taxonomy.NewProject("PRJ9", "JC", "Forest nine", "OTHER", "JP")
    )
    users.create(db, SYSTEM, NewUser("OPERATOR", OPS, "Ops", "administrator", PASSWORD))
    key = participants.create_api_key
    auth = {
        pid: {"Authorization": f"Bearer {key(db, SYSTEM, pid, 'k').key}"}
        for pid in ("OPERATOR", "DEV", "OTHER")
    }
    with TestClient(create_app(db), follow_redirects=False) as client:
        yield client, auth
    report = audit.verify(db)
    assert report.ok, report.problems


def error(r: Any) -> tuple[int, str]:
    return r.status_code, r.json()["error"]["code"]


def test_notices_are_published_listed_filtered_and_withdrawn(http: Any) -> None:
    c, auth = http
    r = c.post("/v1/market/notices", headers=auth["OPERATOR"], json=HOLIDAY)
    assert r.status_code == 201, r.text
    holiday = r.json()
    assert holiday["withdrawn_at"] is None and holiday["link"] == "/rules"
    listing = HOLIDAY | {"kind": "new_instrument", "effective_on": "2027-01-05", "link": None}
    instrument = c.post("/v1/market/notices", headers=auth["OPERATOR"], json=listing).json()
    assert [n["id"] for n in c.get("/v1/market/notices").json()] == [
        instrument["id"],
        holiday["id"],
    ]
    assert [n["id"] for n in c.get("/v1/market/notices?kind=holiday").json()] == [holiday["id"]]
    assert [n["id"] for n in c.get("/v1/market/notices?from=2027-01-01").json()] == [
        instrument["id"]
    ]
    assert c.get("/v1/market/notices?to=2026-12-30").json() == []
    assert c.get("/v1/market/notices?kind=party").status_code == 422
    assert c.get("/v1/market/notices?from=soon").status_code == 422
    assert c.get(f"/v1/market/notices/{holiday['id']}").json() == holiday
    assert error(c.get("/v1/market/notices/MN-NOPE")) == (404, "market_notice_not_found")

    path = f"/v1/market/notices/{holiday['id']}/withdraw"
    assert error(c.post(path, headers=auth["DEV"], json={"reason": "x"}))[0] == 403
    r = c.post(path, headers=auth["OPERATOR"], json={"reason": "The dates were wrong."})
    assert r.status_code == 200, r.text
    assert r.json()["withdrawal_reason"] == "The dates were wrong."
    assert r.json()["title_en"] == HOLIDAY["title_en"]
    again = c.post(path, headers=auth["OPERATOR"], json={"reason": "again"})
    assert error(again) == (409, "market_notice_withdrawn")


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"title_ja": None}, 422, "invalid_request"),
        ({"kind": "party"}, 422, "invalid_request"),
        ({"effective_on": "2026-02-30"}, 422, "invalid_date"),
        ({"link": "javascript:alert(1)"}, 422, "invalid_link"),
        ({"body_en": "x" * 10_001}, 422, "invalid_request"),
    ],
)
def test_a_bad_notice_is_refused_with_its_code(
    http: Any, change: dict[str, Any], status: int, code: str
) -> None:
    c, auth = http
    body = {k: v for k, v in (HOLIDAY | change).items() if v is not None}
    r = c.post("/v1/market/notices", headers=auth["OPERATOR"], json=body)
    assert r.status_code == status, r.text
    if code != "invalid_request":
        assert r.json()["error"]["code"] == code
    assert c.get("/v1/market/notices").json() == []


def test_a_participant_may_not_publish_a_notice(http: Any) -> None:
    c, auth = http
    r = c.post("/v1/market/notices", headers=auth["DEV"], json=HOLIDAY)
    assert r.status_code == 403
    assert c.post("/v1/market/notices", json=HOLIDAY).status_code == 401


def test_the_named_developer_posts_updates_and_another_is_refused(http: Any) -> None:
    c, auth = http
    update = {
        "language": "both",
        "published_on": "2026-12-01",
        "title_en": "Planting",
        "body_en": "Done.",
        "title_ja": "植林",
        "body_ja": "完了。",
    }
    path = "/v1/projects/PRJ9/updates"
    assert error(c.post(path, headers=auth["DEV"], json=update)) == (403, "not_project_developer")
    named = c.put(
        "/v1/projects/PRJ9/developer", headers=auth["DEV"], json={"participant_id": "DEV"}
    )
    assert named.status_code == 403
    named = c.put(
        "/v1/projects/PRJ9/developer", headers=auth["OPERATOR"], json={"participant_id": "DEV"}
    )
    assert named.status_code == 200, named.text
    r = c.post(path, headers=auth["DEV"], json=update)
    assert r.status_code == 201, r.text
    assert error(c.post(path, headers=auth["OTHER"], json=update)) == (
        403,
        "not_project_developer",
    )
    only_en = {"language": "en", "published_on": "2026-12-02", "title_ja": "x", "body_ja": "y"}
    assert error(c.post(path, headers=auth["DEV"], json=only_en))[0] == 422
    assert [u["id"] for u in c.get(path).json()] == [r.json()["id"]]
    assert error(c.get("/v1/projects/NOPE/updates")) == (404, "project_not_found")


def parse_atom(body: bytes) -> ET.Element:
    feed = ET.fromstring(body)
    assert feed.tag == f"{A}feed"
    for required in ("id", "title", "updated", "author"):
        assert feed.find(f"{A}{required}") is not None, required
    links = {x.get("rel"): x.get("href") for x in feed.findall(f"{A}link")}
    assert links["self"].endswith("/notices.atom") and links["alternate"].endswith("/notices")
    for entry in feed.findall(f"{A}entry"):
        for required in ("id", "title", "updated", "content", "link"):
            assert entry.find(f"{A}{required}") is not None, required
        assert entry.find(f"{A}content").get("type") == "text"  # type: ignore[union-attr]
        assert entry.find(f"{A}id").text.startswith("tag:")  # type: ignore[union-attr]
    return feed


def test_the_pages_and_the_atom_feed_show_the_notices_in_both_languages(http: Any) -> None:
    c, auth = http
    kept = c.post("/v1/market/notices", headers=auth["OPERATOR"], json=HOLIDAY).json()
    gone = c.post(
        "/v1/market/notices", headers=auth["OPERATOR"], json=HOLIDAY | {"kind": "halt"}
    ).json()
    c.post(
        f"/v1/market/notices/{gone['id']}/withdraw",
        headers=auth["OPERATOR"],
        json={"reason": "Sent by mistake."},
    )
    en, ja = c.get("/en/notices"), c.get("/ja/notices")
    assert en.status_code == ja.status_code == 200
    assert "Year-end holiday" in en.text and "年末年始の休業" in ja.text
    assert "市場のお知らせ" in ja.text and "Sent by mistake." in en.text
    assert f'data-notice="{gone["id"]}"' in en.text and 'data-withdrawn="1"' in en.text
    assert 'type="application/atom+xml"' in en.text
    filtered = c.get("/en/notices?kind=halt")
    assert gone["id"] in filtered.text and kept["id"] not in filtered.text
    assert c.get("/en/notices?from=bad").status_code == 400
    page = c.get(f"/ja/notices/{kept['id']}")
    assert page.status_code == 200 and "12月31日から1月3日まで休業します。" in page.text
    assert 'href="/rules"' in page.text
    assert c.get("/en/notices/MN-NOPE").status_code == 404

    for lang, title in (("en", "Year-end holiday"), ("ja", "年末年始の休業")):
        r = c.get(f"/{lang}/notices.atom")
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("application/atom+xml")
        feed = parse_atom(r.content)
        entries = feed.findall(f"{A}entry")
        assert len(entries) == 2
        titles = [e.findtext(f"{A}title") or "" for e in entries]
        assert titles[0].endswith(title) and any(t.endswith(title) for t in titles)
        withdrawn = next(e for e in entries if gone["id"] in (e.findtext(f"{A}id") or ""))
        assert "Sent by mistake." in (withdrawn.findtext(f"{A}content") or "")
        assert feed.get("{http://www.w3.org/XML/1998/namespace}lang") == lang
    assert c.get("/notices.atom").status_code == 200


def test_an_empty_feed_is_still_valid_atom(http: Any) -> None:
    c, _ = http
    feed = parse_atom(c.get("/notices.atom").content)
    assert feed.findall(f"{A}entry") == []


def test_the_operator_publishes_and_withdraws_through_the_screen(http: Any) -> None:
    c, _ = http
    assert login(c, OPS).status_code == 303
    m = CSRF_RE.search(c.get(SCREEN).text)
    assert m
    token = m.group(1)
    form = {k: v for k, v in HOLIDAY.items()} | {"csrf": token}
    missing = c.post(f"{SCREEN}/publish", data=form | {"title_ja": ""})
    assert missing.status_code == 422 and 'id="title_ja-error"' in missing.text
    bad = c.post(f"{SCREEN}/publish", data=form | {"effective_on": "2026-13-01"})
    assert bad.status_code == 422 and 'id="effective_on-error"' in bad.text
    done = c.post(f"{SCREEN}/publish", data=form)
    assert done.status_code == 200, done.text[:500]
    (notice,) = c.get("/v1/market/notices").json()
    assert notice["id"] in done.text
    no_reason = c.post(
        f"{SCREEN}/withdraw", data={"csrf": token, "notice": notice["id"], "reason": ""}
    )
    assert no_reason.status_code == 422
    gone = c.post(
        f"{SCREEN}/withdraw", data={"csrf": token, "notice": notice["id"], "reason": "Wrong."}
    )
    assert gone.status_code == 200
    assert c.get(f"/v1/market/notices/{notice['id']}").json()["withdrawal_reason"] == "Wrong."
    named = c.post(
        f"{SCREEN}/developer", data={"csrf": token, "dev_project": "PRJ9", "dev_participant": "DEV"}
    )
    assert named.status_code == 200
    ghost = c.post(
        f"{SCREEN}/developer",
        data={"csrf": token, "dev_project": "PRJ9", "dev_participant": "GHOST"},
    )
    assert ghost.status_code == 404 and 'id="dev_participant-error"' in ghost.text
    forged = c.post(f"{SCREEN}/publish", data=form | {"csrf": "forged"})
    assert forged.status_code == 403
    assert len(c.get("/v1/market/notices").json()) == 1
    ja = c.get(f"{SCREEN}?lang=ja")
    assert "市場のお知らせ" in ja.text and re.search(r'data-withdrawn="1"', ja.text)


def test_the_python_client_publishes_lists_withdraws_and_posts_updates(http: Any) -> None:
    from tanso.client import ApiError, Client

    c, auth = http
    transport = c._transport
    key = {pid: h["Authorization"].removeprefix("Bearer ") for pid, h in auth.items()}
    operator = Client("http://testserver", key["OPERATOR"], transport=transport)
    dev = Client("http://testserver", key["DEV"], transport=transport)
    n = operator.publish_market_notice(
        "halt", "Halt", "売買停止", "Halted.", "停止します。", "2026-12-07"
    )
    assert [x.id for x in dev.market_notices(kind="halt", start="2026-12-01")] == [n.id]
    assert operator.withdraw_market_notice(n.id, "Lifted.").withdrawal_reason == "Lifted."
    with pytest.raises(ApiError) as refused:
        dev.publish_project_update("PRJ9", "en", "2026-12-01", "T", "B")
    assert (refused.value.status, refused.value.code) == (403, "not_project_developer")
    assert operator.name_project_developer("PRJ9", "DEV").participant_id == "DEV"
    u = dev.publish_project_update("PRJ9", "ja", "2026-12-01", title_ja="件名", body_ja="本文")
    assert [x.id for x in dev.project_updates("PRJ9")] == [u.id]
