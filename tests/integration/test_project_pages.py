"""The public project record (services/ledger/project_pages.py, web/projects.py, issue 22) on both
backends: figures per project (issued, retired, cancelled, outstanding) add up; the search and
every filter narrow the list, paged; one project's issuances with serial ranges, the retirements
of its credits (what the public notice shows, never a participant id) and the instruments that
admit it; the map's figures per prefecture (a project in several counts in each) and per country;
the pages in English and Japanese with the map, a 404 page for a missing project and a 400 page
for a bad page number; and the JSON twins."""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tanso.api.app import create_app
from tanso.domain.errors import InvalidInput, NotFound
from tanso.domain.instruments import Eligibility, InstrumentSpec
from tanso.services.common import SYSTEM, Actor
from tanso.services.ledger import project_pages as pp
from tanso.services.ledger import registry, taxonomy
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange
from tanso.store.db import Database
from tests.conftest import add_participant

pytestmark = pytest.mark.fast_backends("sqlite", "postgres")

OWNER = "PJOWNER"
ACCOUNT = f"{OWNER}-MAIN"


def register(
    db: Database,
    pid: str,
    *,
    scheme: str = "JC",
    category: str = "ENERGY_SAVING",
    country: str = "JP",
    region: str = "",
    developer: str = "",
    methodology: str = "",
    name_ja: str = "",
) -> None:
    taxonomy.register_project(
        db,
        SYSTEM,
        taxonomy.NewProject(
            pid,
            scheme,
            f"Project {pid}",
            category,
            country,
            name_ja=name_ja,
            region=region,
            developer=developer,
            methodology=methodology,
        ),
    )


_rounds = itertools.count(1)


def issue(
    db: Database, pid: str, quantity: int, credit_type: str = "ER", vintage: int = 2023
) -> str:
    out = registry.issue(
        db,
        SYSTEM,
        registry.NewIssuance(pid, credit_type, str(next(_rounds)), vintage, quantity, ACCOUNT),
    )
    return out.issuance_id


def retire(db: Database, owner: Actor, serials: str, beneficiary: str = "") -> str:
    r = registry.retire(
        db,
        owner,
        registry.RetirementRequest(
            ACCOUNT,
            registry.Selection(serials=serials),
            ["offset_scope1"],
            beneficiary=beneficiary,
        ),
    )
    return r.id


@pytest.fixture
def world(db: Database) -> Actor:
    """Four projects: two in Japan (Chiba; Miyagi and Yamagata), one JCM project in Viet Nam
    and one in the Kanto region (no prefecture named); credits issued, some retired and some
    cancelled."""
    owner = add_participant(db, OWNER)
    register(db, "CHIBA1", region="千葉県", developer="Boso Energy K.K.", methodology="EN-S-001")
    register(
        db,
        "TOHOKU1",
        category="FOREST",
        region="宮城県・山形県",
        developer="Tohoku Forest Union",
        methodology="FO-001",
        name_ja="東北の森",
    )
    register(db, "VNJCM1", scheme="JM", category="JCM", country="VN", region="Ha Noi")
    register(db, "KANTO1", region="関東地方")
    chiba = issue(db, "CHIBA1", 1_000)
    issue(db, "CHIBA1", 500, vintage=2024)
    issue(db, "TOHOKU1", 2_000, credit_type="FM")
    issue(db, "VNJCM1", 300)
    retire(db, owner, f"{chiba}-1-100", beneficiary="Chiba Steel K.K.")
    retire(db, owner, f"{chiba}-101-150")
    registry.cancel(db, SYSTEM, ACCOUNT, registry.Selection(serials=f"{chiba}-901-1000"), "test")
    return owner


def test_each_projects_figures_add_up_and_the_list_shows_them(db: Database, world: Actor) -> None:
    page = pp.search(db, pp.ProjectFilter())
    assert page.total == 4 and page.pages == 1
    rows = {r.id: r for r in page.rows}
    assert [r.id for r in page.rows] == sorted(rows)
    chiba = rows["CHIBA1"]
    assert (chiba.issued, chiba.retired, chiba.outstanding) == (1_500, 150, 1_250)
    assert chiba.credit_types == ["ER"]
    assert rows["TOHOKU1"].credit_types == ["FM"]
    assert (rows["KANTO1"].issued, rows["KANTO1"].credit_types) == (0, [])
    summary = pp.summary(db, "CHIBA1")
    f = summary.figures
    assert (f.issued, f.retired, f.cancelled, f.outstanding) == (1_500, 150, 100, 1_250)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"q": "boso"}, ["CHIBA1"]),
        ({"q": "fo-001"}, ["TOHOKU1"]),
        ({"q": "東北"}, ["TOHOKU1"]),
        ({"q": "vnjcm"}, ["VNJCM1"]),
        ({"q": "100%_"}, []),
        ({"scheme": "JM"}, ["VNJCM1"]),
        ({"category": "FOREST"}, ["TOHOKU1"]),
        ({"country": "JP"}, ["CHIBA1", "KANTO1", "TOHOKU1"]),
        ({"prefecture": "山形県"}, ["TOHOKU1"]),
        ({"prefecture": "千葉県"}, ["CHIBA1"]),
        ({"credit_type": "ER"}, ["CHIBA1", "VNJCM1"]),
        ({"country": "JP", "credit_type": "ER"}, ["CHIBA1"]),
    ],
)
def test_the_search_and_each_filter_narrow_the_list(
    db: Database, world: Actor, filters: dict[str, str], expected: list[str]
) -> None:
    page = pp.search(db, pp.ProjectFilter(**filters))  # type: ignore[arg-type]
    assert [r.id for r in page.rows] == expected
    assert page.total == len(expected)


def test_the_list_is_paged_and_refuses_out_of_range_pages(db: Database, world: Actor) -> None:
    first = pp.search(db, pp.ProjectFilter(per_page=3))
    second = pp.search(db, pp.ProjectFilter(per_page=3, page=2))
    assert (first.total, first.pages, len(first.rows), len(second.rows)) == (4, 2, 3, 1)
    assert {r.id for r in first.rows}.isdisjoint({r.id for r in second.rows})
    assert pp.search(db, pp.ProjectFilter(per_page=3, page=9)).rows == []
    for bad in (
        pp.ProjectFilter(page=0),
        pp.ProjectFilter(per_page=101),
        pp.ProjectFilter(q="x" * 101),
    ):
        with pytest.raises(InvalidInput):
            pp.search(db, bad)


def test_a_projects_record_has_serial_ranges_and_public_retirements(
    db: Database, world: Actor
) -> None:
    s = pp.summary(db, "CHIBA1")
    assert [(i.quantity, i.serial_first, i.serial_last) for i in s.issuances] == [
        (1_000, 1, 1_000),
        (500, 1, 500),
    ]
    assert s.issuances[0].serials.endswith("-1-1000")
    assert sorted(r.quantity for r in s.retirements) == [50, 100]
    named = next(r for r in s.retirements if r.quantity == 100)
    assert named.beneficiary == "Chiba Steel K.K." and named.purposes == ["offset_scope1"]
    assert named.verify_path == f"/verify/{named.id}"
    assert registry.get_retirement(db, named.id).quantity == 100
    assert s.removal is None and s.instruments == []
    assert pp.summary(db, "VNJCM1").retirements == []
    with pytest.raises(NotFound):
        pp.summary(db, "NOPE")


def test_the_instruments_whose_eligibility_admits_a_project_are_its_markets(
    db: Database, world: Actor
) -> None:
    x = Exchange(db, japan_calendar())
    for spec in (
        InstrumentSpec("ES", "Energy saving", "省エネ", Eligibility(categories=("ENERGY_SAVING",))),
        InstrumentSpec("FO", "Forest", "森林", Eligibility(categories=("FOREST",))),
        InstrumentSpec(
            "OLD", "Old ES", "旧", Eligibility(categories=("ENERGY_SAVING",), vintage_to=2020)
        ),
    ):
        x.define_instrument(SYSTEM, dataclasses.replace(spec, reference_price=2_000))
    assert [i.instrument_id for i in pp.summary(db, "CHIBA1").instruments] == ["ES"]
    assert [i.instrument_id for i in pp.summary(db, "TOHOKU1").instruments] == ["FO"]
    assert [i.instrument_id for i in pp.summary(db, "KANTO1").instruments] == ["ES", "OLD"]
    assert pp.summary(db, "CHIBA1").instruments[0].closes == []


def test_the_map_counts_a_project_in_each_prefecture_it_names(db: Database, world: Actor) -> None:
    m = pp.map_figures(db)
    assert [(r.key, r.projects, r.issued) for r in m.prefectures] == [
        ("宮城県", 1, 2_000),
        ("山形県", 1, 2_000),
        ("千葉県", 1, 1_500),
    ]
    assert [(r.key, r.issued) for r in m.countries] == [("VN", 300)]
    assert [(r.key, r.projects, r.issued) for r in m.unplaced] == [("関東地方", 1, 0)]
    choices = pp.choices(db)
    assert choices["prefecture"] == ["宮城県", "山形県", "千葉県"]
    assert choices["country"] == ["JP", "VN"] and choices["credit_type"] == ["ER", "FM"]


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.lists(
        st.tuples(st.integers(1, 400), st.integers(0, 400), st.integers(0, 400)),
        min_size=1,
        max_size=3,
    )
)
def test_issued_is_retired_plus_cancelled_plus_outstanding(
    db: Database, moves: list[tuple[int, int, int]]
) -> None:
    owner = (
        Actor(OWNER, frozenset())
        if pp.search(db, pp.ProjectFilter(q="PROP")).total
        else add_participant(db, OWNER)
    )
    pid = f"PROP{next(_rounds)}"
    register(db, pid)
    for quantity, retired, cancelled in moves:
        iid = issue(db, pid, quantity)
        retired = min(retired, quantity)
        cancelled = min(cancelled, quantity - retired)
        if retired:
            retire(db, owner, f"{iid}-1-{retired}")
        if cancelled:
            registry.cancel(
                db,
                SYSTEM,
                ACCOUNT,
                registry.Selection(serials=f"{iid}-{retired + 1}-{retired + cancelled}"),
                "p",
            )
    f = pp.summary(db, pid).figures
    assert f.issued == sum(q for q, _, _ in moves)
    assert f.issued == f.retired + f.cancelled + f.outstanding
    assert sum(r.quantity for r in pp.summary(db, pid).retirements) == f.retired


# ---------------------------------------------------------------- the pages and the JSON twins


@pytest.fixture
def http(db: Database, world: Actor) -> Iterator[TestClient]:
    with TestClient(create_app(db)) as client:
        yield client


def test_the_list_page_in_english_and_japanese_with_the_map(http: TestClient) -> None:
    en = http.get("/projects")
    assert en.status_code == 200 and '<html lang="en">' in en.text
    assert en.headers["content-language"] == "en"
    html = en.text
    assert len(re.findall(r'data-prefecture="[^"]+"', html)) == 47
    assert 'data-prefecture="千葉県" data-issued="1500"' in html
    assert 'data-prefecture="宮城県" data-issued="2000"' in html
    assert 'data-country="VN" data-issued="300"' in html
    assert "/projects?prefecture=%E5%8D%83%E8%91%89%E7%9C%8C" in html  # 千葉県
    assert 'href="/projects?country=VN"' in html
    assert 'id="map-legend"' in html and "関東地方" in html  # the region with no prefecture
    assert html.count('<tr data-project="') == 4
    assert "Chiba" in html and "Viet Nam" in html
    assert "<script" not in html.split("<main")[1]
    assert len(en.content) < 300_000
    ja = http.get("/ja/projects")
    assert ja.status_code == 200 and '<html lang="ja">' in ja.text
    assert "プロジェクト一覧" in ja.text and "ベトナム" in ja.text and "千葉県" in ja.text
    assert 'href="/ja/projects?country=VN"' in ja.text


def test_the_list_page_filters_and_refuses_a_bad_page(http: TestClient) -> None:
    r = http.get("/projects", params={"prefecture": "山形県"})
    assert r.status_code == 200
    assert re.findall(r'<tr data-project="([A-Z0-9]+)"', r.text) == ["TOHOKU1"]
    assert 'id="clear-filters"' in r.text
    r = http.get("/en/projects", params={"q": "boso", "credit_type": "ER"})
    assert re.findall(r'<tr data-project="([A-Z0-9]+)"', r.text) == ["CHIBA1"]
    assert 'id="no-projects"' in http.get("/projects", params={"q": "nothing"}).text
    bad = http.get("/projects", params={"page": "x"})
    assert bad.status_code == 400 and 'data-error="invalid_page"' in bad.text
    assert http.get("/ja/projects", params={"page": "0"}).status_code == 400
    assert http.get("/projects", params={"q": "x" * 101}).status_code == 400


def test_a_project_page_in_english_and_japanese_and_a_404_for_a_missing_one(
    http: TestClient,
) -> None:
    en = http.get("/projects/CHIBA1")
    assert en.status_code == 200
    html = en.text
    assert 'data-figure="issued">1,500<' in html and 'data-figure="cancelled">100<' in html
    assert html.count("<tr data-issuance=") == 2 and "1–1,000" in html
    assert "Chiba Steel K.K." in html and "/verify/" in html
    assert not re.search(rf"\b{OWNER}\b(?! Corp\.)", html)  # a name, never a participant id
    assert "PROJECT UPDATES" not in html  # the lead's block is a template comment
    assert 'id="project-documents"' in html and "EN-S-001" in html
    assert 'id="no-instruments"' in html
    ja = http.get("/ja/projects/TOHOKU1")
    assert ja.status_code == 200 and "東北の森" in ja.text and "森林経営" in ja.text
    missing = http.get("/projects/NOPE")
    assert missing.status_code == 404
    assert (
        'data-error="project_not_found"' in missing.text
        and "There is no project NOPE" in missing.text
    )
    ja_missing = http.get("/ja/projects/NOPE")
    assert ja_missing.status_code == 404 and "プロジェクト NOPE はありません" in ja_missing.text


def test_the_json_twins_answer_the_pages_figures(http: TestClient) -> None:
    page = http.get("/v1/project-search", params={"country": "JP", "per_page": 2}).json()
    assert (page["total"], page["pages"], len(page["rows"])) == (3, 2, 2)
    assert http.get("/v1/project-search", params={"per_page": 101}).status_code == 422
    m = http.get("/v1/project-map").json()
    assert {r["key"]: r["issued"] for r in m["prefectures"]} == {
        "宮城県": 2_000,
        "山形県": 2_000,
        "千葉県": 1_500,
    }
    s = http.get("/v1/projects/CHIBA1/summary")
    assert s.status_code == 200
    body = s.json()
    assert body["figures"] == {
        "issued": 1_500,
        "retired": 150,
        "cancelled": 100,
        "outstanding": 1_250,
    }
    assert f'"{OWNER}"' not in s.text and f"{OWNER}-" not in s.text
    missing = http.get("/v1/projects/NOPE/summary")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "project_not_found"
