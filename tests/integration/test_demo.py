"""The demo market of `tanso init --demo`, loaded on each backend through the service layer."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tanso.demo import market as demo
from tanso.domain.errors import Conflict
from tanso.domain.participants import Role
from tanso.services.common import SYSTEM
from tanso.services.ledger import audit, participants, registry, taxonomy
from tanso.store.db import Database
from tests.conftest import BACKENDS, demo_database


@pytest.fixture(params=BACKENDS)
def demo_db(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Database, dict[str, str]]]:
    database, keys = demo_database(request.param, request, tmp_path)
    yield database, keys
    database.dispose()


def held_by_category(db: Database) -> Counter[str]:
    held: Counter[str] = Counter()
    for account in participants.list_accounts(db, SYSTEM):
        if account.kind != "holding":
            continue
        for block in registry.holdings(db, SYSTEM, account.id).blocks:
            if block.status == "held":
                held[block.category] += block.quantity
    return held


def test_every_tse_category_has_credits_held(demo_db: tuple[Database, dict[str, str]]) -> None:
    db, _ = demo_db
    tse = {c["code"] for c in taxonomy.list_categories(db) if c["tse"]}
    held = held_by_category(db)
    assert {c for c in tse if held[c] <= 0} == set()
    for voluntary in (
        "JCM",
        "BLUE_CARBON",
        "LOCAL_GOVERNMENT",
        "VOLUNTARY_NATURE",
        "VOLUNTARY_TECH",
    ):
        assert held[voluntary] > 0


def test_j_credit_issuance_is_of_market_size(demo_db: tuple[Database, dict[str, str]]) -> None:
    db, _ = demo_db
    issued = sum(i.quantity for i in registry.list_issuances(db) if i.id.startswith("JC-"))
    assert 10**5 <= issued <= 10**6


def test_every_demo_participant_gets_a_key_that_authenticates(
    demo_db: tuple[Database, dict[str, str]],
) -> None:
    db, keys = demo_db
    assert set(keys) == {p.id for p in demo.PARTICIPANTS}
    for pid, key in keys.items():
        assert participants.authenticate(db, key).participant_id == pid
    assert Role.BROKER in participants.authenticate(db, keys["HIBIYA_SEC"]).roles
    assert Role.MARKET_MAKER in participants.authenticate(db, keys["YAESU_LP"]).roles
    on_behalf = participants.authenticate(db, keys["HIBIYA_SEC"], "FUJIMI_FOODS")
    assert (on_behalf.participant_id, on_behalf.agent_id) == ("FUJIMI_FOODS", "HIBIYA_SEC")


def test_all_participants_are_active_but_one_awaits_approval(
    demo_db: tuple[Database, dict[str, str]],
) -> None:
    db, keys = demo_db
    statuses = {p.id: p.status for p in participants.list_participants(db, SYSTEM)}
    pending = {pid for pid in keys if statuses[pid] == "pending"}
    assert pending == {"SHONAN_GE"}
    assert all(statuses[pid] == "active" for pid in keys if pid not in pending)


def test_the_journal_verifies_after_the_demo(demo_db: tuple[Database, dict[str, str]]) -> None:
    db, _ = demo_db
    report = audit.verify(db)
    assert report.ok, report.problems


def test_retirements_for_several_purposes_have_public_notices(
    demo_db: tuple[Database, dict[str, str]],
) -> None:
    db, _ = demo_db
    retirements = registry.list_retirements(db, SYSTEM)
    purposes = {p for r in retirements for p in r.purposes}
    assert purposes >= {
        "shk_reporting",
        "offset_scope1",
        "offset_scope3",
        "re100",
        "gx_ets_surrender",
        "offset_event",
    }
    names = {p.name_en for p in demo.PARTICIPANTS}
    for r in retirements:
        notice = registry.get_retirement(db, r.id)
        assert notice.quantity == sum(x.quantity for x in notice.ranges) > 0
        assert notice.retired_by in names
        assert notice.beneficiary and notice.reporting_year
        assert notice.journal.hash


def test_re100_retirement_uses_only_renewable_power_credits(
    demo_db: tuple[Database, dict[str, str]],
) -> None:
    db, _ = demo_db
    re100 = [r for r in registry.list_retirements(db, SYSTEM) if "re100" in r.purposes]
    assert re100
    assert {x.category for r in re100 for x in r.ranges} == {"RE_POWER"}


def test_demo_shows_cancellation_withdrawal_and_department_accounts(
    demo_db: tuple[Database, dict[str, str]],
) -> None:
    db, _ = demo_db
    statuses: Counter[str] = Counter()
    for account in ("SYS-CANCELLATION", "SYS-EXTERNAL"):
        for block in registry.holdings(db, SYSTEM, account).blocks:
            statuses[block.status] += block.quantity
    assert statuses["cancelled"] > 0
    assert statuses["exported"] > 0
    owners = Counter(
        a.participant_id for a in participants.list_accounts(db, SYSTEM) if a.kind == "holding"
    )
    assert owners["MARUHAMA"] == 2
    assert owners["HOKUTO_STEEL"] == 2
    authorised = participants.list_broker_authorisations(db, SYSTEM, "FUJIMI_FOODS")
    assert [a.broker_id for a in authorised] == ["HIBIYA_SEC"]


def test_loading_the_demo_twice_is_refused(demo_db: tuple[Database, dict[str, str]]) -> None:
    db, _ = demo_db
    with pytest.raises(Conflict):
        demo.load(db)
