"""Market notices and project updates (issue 22) on both databases: the operator publishes in
English and Japanese and withdraws with a reason (the journal keeps both), the public list
filters by kind and effective dates, a project's named developer (and no one else) publishes its
updates, and the books still fold."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tanso.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from tanso.domain.market_notices import KINDS, NoticeText, UpdateText
from tanso.domain.participants import OPERATOR_PARTICIPANT, Role
from tanso.domain.removals import Profile
from tanso.services.common import SYSTEM, Actor
from tanso.services.ledger import audit, project_updates, taxonomy
from tanso.services.marketdata import market_notices
from tanso.services.removals import profiles
from tanso.store import schema as t
from tanso.store.db import Database
from tests.conftest import add_participant

pytestmark = pytest.mark.fast_backends("sqlite", "postgres")

OPERATOR = Actor(OPERATOR_PARTICIPANT, frozenset({Role.EXCHANGE_OPERATOR}))
REGISTRY = Actor(OPERATOR_PARTICIPANT, frozenset({Role.REGISTRY_OPERATOR}))


def text(kind: str = "holiday", on: str = "2026-12-31", **kw: str) -> NoticeText:
    values = {
        "title_en": f"{kind} notice",
        "title_ja": f"{kind} のお知らせ",
        "body_en": "The market is closed.\nNo session is held.",
        "body_ja": "休業します。",
    } | kw
    return NoticeText(kind=kind, effective_on=on, **values)


@pytest.fixture
def world(db: Database) -> Iterator[Database]:
    add_participant(db, "DEV")
    add_participant(db, "OTHER")
    taxonomy.register_project(
        db, SYSTEM, taxonomy.NewProject("PRJ1", "JC", "Forest one", "OTHER", "JP")
    )
    yield db
    report = audit.verify(db)
    assert report.ok, report.problems


def kinds_in_journal(db: Database) -> list[str]:
    j = t.journal.c
    with db.read() as conn:
        rows = conn.execute(select(j.kind).order_by(j.seq)).scalars().all()
    return [k for k in rows if k.startswith(("market.notice", "projects."))]


def test_a_notice_is_published_in_both_languages_and_read_back(world: Database) -> None:
    n = market_notices.publish(world, OPERATOR, text(link="https://example.jp/x"))
    assert n.id.startswith("MN-") and n.withdrawn_at is None
    got = market_notices.get(world, n.id)
    assert got == n
    assert (got.title_ja, got.body_en) == ("holiday のお知らせ", text().body_en)
    assert got.link == "https://example.jp/x"
    assert kinds_in_journal(world) == ["market.notice_published"]


def test_a_withdrawal_keeps_the_text_and_the_journal_keeps_both(world: Database) -> None:
    n = market_notices.publish(world, OPERATOR, text())
    out = market_notices.withdraw(world, OPERATOR, n.id, "Wrong date: see the corrected notice.")
    assert out.withdrawn_at is not None
    assert out.withdrawal_reason == "Wrong date: see the corrected notice."
    assert (out.title_en, out.body_ja) == (n.title_en, n.body_ja)
    assert [x.id for x in market_notices.list_notices(world)] == [n.id]
    assert kinds_in_journal(world) == ["market.notice_published", "market.notice_withdrawn"]
    with pytest.raises(Conflict) as e:
        market_notices.withdraw(world, OPERATOR, n.id, "again")
    assert e.value.code == "market_notice_withdrawn"
    with pytest.raises(NotFound):
        market_notices.withdraw(world, OPERATOR, "MN-NOPE", "x")


def test_only_the_operator_publishes_or_withdraws(world: Database) -> None:
    trader = Actor("DEV", frozenset({Role.TRADER}))
    with pytest.raises(Forbidden) as e:
        market_notices.publish(world, trader, text())
    assert e.value.code == "operator_only"
    n = market_notices.publish(world, OPERATOR, text())
    with pytest.raises(Forbidden):
        market_notices.withdraw(world, trader, n.id, "mine now")
    assert kinds_in_journal(world) == ["market.notice_published"]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"kind": "party"}, "invalid_notice_kind"),
        ({"title_ja": " "}, "text_required"),
        ({"body_en": ""}, "text_required"),
        ({"title_en": "x" * 201}, "text_too_long"),
        ({"title_en": "a\nb"}, "invalid_text"),
        ({"effective_on": "2026-02-30"}, "invalid_date"),
        ({"effective_on": "2026-2-3"}, "invalid_date"),
        ({"link": "javascript:alert(1)"}, "invalid_link"),
        ({"link": "//evil.example"}, "invalid_link"),
    ],
)
def test_a_notice_with_a_bad_field_is_refused_before_anything_is_written(
    world: Database, change: dict[str, str], code: str
) -> None:
    values = {
        "kind": "holiday",
        "title_en": "t",
        "title_ja": "件名",
        "body_en": "b",
        "body_ja": "本文",
        "effective_on": "2026-12-31",
        "link": None,
    } | change
    with pytest.raises(InvalidInput) as e:
        market_notices.publish(world, OPERATOR, NoticeText(**values))  # type: ignore[arg-type]
    assert e.value.code == code
    assert market_notices.list_notices(world) == []


def test_the_list_is_newest_first_and_filters_by_kind_and_effective_dates(
    world: Database,
) -> None:
    a = market_notices.publish(world, OPERATOR, text("holiday", "2026-12-31"))
    b = market_notices.publish(world, OPERATOR, text("new_instrument", "2027-01-05"))
    c = market_notices.publish(world, OPERATOR, text("holiday", "2027-01-04"))

    def ids(**kw: str | None) -> list[str]:
        return [n.id for n in market_notices.list_notices(world, **kw)]  # type: ignore[arg-type]

    assert ids() == [c.id, b.id, a.id]
    assert ids(kind="holiday") == [c.id, a.id]
    assert ids(start="2027-01-01") == [c.id, b.id]
    assert ids(end="2027-01-04") == [c.id, a.id]
    assert ids(kind="holiday", start="2027-01-01", end="2027-01-04") == [c.id]
    assert ids(kind="halt") == []
    assert [n.id for n in market_notices.list_notices(world, limit=1)] == [c.id]
    with pytest.raises(InvalidInput):
        market_notices.list_notices(world, start="yesterday")


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.lists(
        st.tuples(st.sampled_from(KINDS), st.dates().map(lambda d: d.isoformat())),
        min_size=1,
        max_size=6,
    ),
    st.sampled_from((None, *KINDS)),
    st.dates().map(lambda d: d.isoformat()),
)
def test_filters_return_exactly_the_notices_that_match(
    world: Database, made: list[tuple[str, str]], kind: str | None, start: str
) -> None:
    before = {n.id for n in market_notices.list_notices(world, limit=1000)}
    for k, on in made:
        if not (len(on) == 10 and on[0] != "0"):
            on = "2026-12-31"
        market_notices.publish(world, OPERATOR, text(k, on))
    every = [n for n in market_notices.list_notices(world, limit=1000) if n.id not in before]
    got = [
        n.id
        for n in market_notices.list_notices(world, kind, start, None, 1000)
        if n.id not in before
    ]
    expected = [n.id for n in every if (kind is None or n.kind == kind) and n.effective_on >= start]
    assert got == expected
    seqs = [n.journal_seq for n in every]
    assert seqs == sorted(seqs, reverse=True)


def test_an_idempotent_publication_is_applied_once(world: Database) -> None:
    from tanso.services.common import Idem

    idem = Idem("k-1", "fp")
    first = market_notices.publish(world, OPERATOR, text(), idem)
    again = market_notices.publish(world, OPERATOR, text(), idem)
    assert again == first
    assert len(market_notices.list_notices(world)) == 1


# ---------------------------------------------------------------- project updates


def update(lang: str = "both", on: str = "2026-12-01", **kw: str) -> UpdateText:
    values: dict[str, str] = {}
    if lang in ("en", "both"):
        values |= {"title_en": "Planting done", "body_en": "10 ha planted."}
    if lang in ("ja", "both"):
        values |= {"title_ja": "植林完了", "body_ja": "10 ha を植林しました。"}
    return UpdateText(language=lang, published_on=on, **(values | kw))


def test_the_named_developer_publishes_updates_newest_first(world: Database) -> None:
    dev = Actor("DEV", frozenset({Role.TRADER}))
    named = project_updates.name_developer(world, REGISTRY, "PRJ1", "DEV")
    assert (named.project_id, named.participant_id) == ("PRJ1", "DEV")
    first = project_updates.publish_update(world, dev, "PRJ1", update("en", "2026-11-01"))
    second = project_updates.publish_update(world, dev, "PRJ1", update("ja", "2026-12-01"))
    both = project_updates.publish_update(world, dev, "PRJ1", update("both", "2026-11-15"))
    listed = project_updates.list_updates(world, "PRJ1")
    assert [u.id for u in listed] == [second.id, both.id, first.id]
    assert (second.title_en, second.title_ja) == ("", "植林完了")
    assert (
        kinds_in_journal(world) == ["projects.developer_named"] + ["projects.update_published"] * 3
    )


def test_another_participant_may_not_publish_and_nothing_is_written(world: Database) -> None:
    project_updates.name_developer(world, REGISTRY, "PRJ1", "DEV")
    other = Actor("OTHER", frozenset({Role.TRADER}))
    with pytest.raises(Forbidden) as e:
        project_updates.publish_update(world, other, "PRJ1", update())
    assert e.value.code == "not_project_developer"
    with pytest.raises(Forbidden):  # the operator is no developer either
        project_updates.publish_update(world, OPERATOR, "PRJ1", update())
    with pytest.raises(NotFound):
        project_updates.publish_update(world, other, "NOPE", update())
    assert project_updates.list_updates(world, "PRJ1") == []
    with pytest.raises(NotFound):
        project_updates.list_updates(world, "NOPE")


def test_a_project_without_a_developer_takes_no_updates_until_one_is_named(
    world: Database,
) -> None:
    dev = Actor("DEV", frozenset({Role.TRADER}))
    with pytest.raises(Forbidden):
        project_updates.publish_update(world, dev, "PRJ1", update())
    project_updates.name_developer(world, REGISTRY, "PRJ1", "OTHER")
    project_updates.name_developer(world, REGISTRY, "PRJ1", "DEV")  # replaces OTHER
    project_updates.publish_update(world, dev, "PRJ1", update())
    with pytest.raises(Forbidden):
        project_updates.publish_update(world, Actor("OTHER", frozenset()), "PRJ1", update())
    assert project_updates.get_developer(world, "PRJ1").participant_id == "DEV"  # type: ignore[union-attr]


def test_a_removal_profiles_developer_is_the_projects_developer(world: Database) -> None:
    taxonomy.register_project(
        world,
        SYSTEM,
        taxonomy.NewProject("BC1", "JC", "Biochar", "AGRI_BIOCHAR", "JP", mechanism="removal"),
    )
    profile = Profile("biochar", "product", 100, "medium", 100, 1_000, "x")
    profiles.set_profile(world, SYSTEM, "BC1", profile, developer_id="DEV")
    out = project_updates.publish_update(
        world, Actor("DEV", frozenset({Role.TRADER})), "BC1", update("en")
    )
    assert out.project_id == "BC1"


def test_only_the_registry_operator_names_a_developer(world: Database) -> None:
    with pytest.raises(Forbidden):
        project_updates.name_developer(world, Actor("DEV", frozenset({Role.TRADER})), "PRJ1", "DEV")
    with pytest.raises(Forbidden):  # the exchange operator is not the registry's
        project_updates.name_developer(world, OPERATOR, "PRJ1", "DEV")
    with pytest.raises(NotFound) as e:
        project_updates.name_developer(world, REGISTRY, "PRJ1", "GHOST")
    assert e.value.code == "participant_not_found"
    with pytest.raises(NotFound) as e:
        project_updates.name_developer(world, REGISTRY, "NOPE", "DEV")
    assert e.value.code == "project_not_found"


@pytest.mark.parametrize(
    ("made", "code"),
    [
        (UpdateText("fr", "2026-12-01", "t", "b"), "invalid_language"),
        (UpdateText("en", "2026-12-01", "t", ""), "text_required"),
        (UpdateText("en", "2026-12-01", "t", "b", "件名", "本文"), "text_not_in_language"),
        (UpdateText("both", "2026-12-01", "t", "b"), "text_required"),
        (UpdateText("ja", "12/01/2026", "", "", "件名", "本文"), "invalid_date"),
    ],
)
def test_a_bad_update_is_refused(world: Database, made: UpdateText, code: str) -> None:
    project_updates.name_developer(world, REGISTRY, "PRJ1", "DEV")
    with pytest.raises(InvalidInput) as e:
        project_updates.publish_update(world, Actor("DEV", frozenset({Role.TRADER})), "PRJ1", made)
    assert e.value.code == code


def test_the_demo_publishes_three_notices_and_the_developers_update(world: Database) -> None:
    import datetime as dt

    from tanso.demo import notices as demo
    from tanso.demo.exchange_days import DemoClock, at_jst
    from tanso.services.ledger import participants

    add_participant(world, "TAIYO")
    taxonomy.register_project(
        world, SYSTEM, taxonomy.NewProject(demo.PROJECT, "JC", "Biochar", "OTHER", "JP")
    )
    keys = {"TAIYO": participants.create_api_key(world, SYSTEM, "TAIYO").key}
    day = dt.date(2026, 12, 4)
    clock = DemoClock(at_jst(day, 9, 0))
    world.clock = clock
    line = demo.run(world, keys, clock, [day])
    kinds = sorted(n.kind for n in market_notices.list_notices(world))
    assert kinds == ["holiday", "market_maker"]  # no instrument is listed in this database
    (u,) = project_updates.list_updates(world, demo.PROJECT)
    assert (u.participant_id, u.language, u.published_on) == ("TAIYO", "both", "2026-12-04")
    assert "/notices.atom" in line and u.id in line
    assert demo.run(world, keys, clock, [day]) == ""  # once only


def test_the_project_page_shows_its_developers_updates_in_the_pages_language(
    world: Database,
) -> None:
    from fastapi.testclient import TestClient

    from tanso.api.app import create_app

    dev = Actor("DEV", frozenset({Role.TRADER}))
    project_updates.name_developer(world, REGISTRY, "PRJ1", "DEV")
    project_updates.publish_update(world, dev, "PRJ1", update("both", "2026-11-15"))
    project_updates.publish_update(
        world, dev, "PRJ1", update("ja", "2026-12-01", title_ja="苗木の活着")
    )
    with TestClient(create_app(world)) as http:
        en = http.get("/en/projects/PRJ1").text
        ja = http.get("/ja/projects/PRJ1").text
    assert 'id="project-updates"' in en and "Planting done" in en
    assert "苗木の活着" in en  # a Japanese-only update is shown, marked as the other language
    assert "植林完了" in ja and "苗木の活着" in ja
    assert ja.index("苗木の活着") < ja.index("植林完了")  # newest first
