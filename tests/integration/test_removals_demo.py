"""The removals demo (demo/removals.py, issue 21's "Demo") on both backends: the biochar project
P0964 with its profile, buffer contribution and one reversal; the DACCS developer's forward
offtake signed by a manufacturer for 2027-2032 beside an open listing; a small company whose
FY2025 claim report is carbon negative, its contribution beside it; the journal still folds."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from tanso.cli import DEMO_USERS
from tanso.demo import removals as demo_removals
from tanso.demo.exchange_days import DemoClock, demo_days
from tanso.services.common import SYSTEM
from tanso.services.compliance import claims
from tanso.services.ledger import audit, cash, participants
from tanso.services.removals import offtake, profiles
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange
from tanso.store.db import Database
from tests.conftest import BACKENDS, demo_database


@pytest.fixture(params=BACKENDS, scope="function")
def seeded(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Database, dict[str, str], str]]:
    database, keys = demo_database(request.param, request, tmp_path)
    days = demo_days(dt.date(2026, 12, 7))
    clock = DemoClock(dt.datetime(2026, 11, 27, 6, 0, tzinfo=dt.UTC))
    database.clock = clock
    line = demo_removals.seed(database, Exchange(database, japan_calendar()), keys, clock, days)
    yield database, keys, line
    database.dispose()


def test_the_biochar_project_has_a_profile_a_buffer_and_one_reversal_its_buffer_covers(
    seeded: tuple[Database, dict[str, str], str],
) -> None:
    db, _keys, line = seeded
    record = profiles.project_record(db, "P0964")
    assert record.profile is not None
    assert (record.profile.pathway, record.profile.permanence_years) == ("biochar", 100)
    assert record.profile.durable and record.profile.buffer_rate_bp == 1_000
    # 10% of the new round's 1,200 t, its last serials, in the J-Credit pool
    assert [(c.serials, c.quantity) for c in record.contributions] == [
        ("JC-RM-P0964-3-1081-1200", 120)
    ]
    (reversal,) = record.reversals
    assert (reversal.quantity, reversal.cause, reversal.from_project_buffer) == (60, "fire", 60)
    assert reversal.from_holders == reversal.from_pool == reversal.uncompensated == 0
    assert reversal.occurred_on.startswith("2026-") and reversal.released == []
    assert record.buffered == 120 and record.buffer_left == 60
    (pool,) = [p for p in profiles.pools(db) if p.scheme == "JC"]
    assert (pool.account_id, pool.contributed, pool.cancelled, pool.left) == (
        "SYS-BUFFER-JC",
        120,
        60,
        60,
    )
    assert reversal.id in line and "SYS-BUFFER-JC" in line


def test_a_manufacturer_signed_a_daccs_offtake_for_2027_to_2032_beside_open_listings(
    seeded: tuple[Database, dict[str, str], str],
) -> None:
    db, keys, line = seeded
    buyer = participants.authenticate(db, keys["MIKAWA_SEIKI"])
    developer = participants.authenticate(db, keys["TOMAKOMAI_DAC"])
    (contract,) = offtake.list_contracts(db, buyer)
    assert [c.id for c in offtake.list_contracts(db, developer)] == [contract.id]
    full = offtake.get_contract(db, buyer, contract.id)
    assert (full.project_id, full.seller_id, full.status) == ("P1012", "TOMAKOMAI_DAC", "active")
    assert {r.vintage: r.contracted for r in full.schedule} == demo_removals.OFFTAKE_VOLUMES
    assert [r.vintage for r in full.schedule] == list(range(2027, 2033))
    assert full.price_rule["kind"] == "fixed" and full.prepayment_mode == "escrow"
    assert full.prepayment == 3_600 * 8_000 and full.delivered == 0
    (jpy,) = [b for b in cash.balances(db, SYSTEM, "MIKAWA_SEIKI") if b.currency == "JPY"]
    assert jpy.reserved >= full.prepayment  # the prepayment is held in escrow
    assert profiles.get_profile(db, "P1012").pathway == "daccs"
    # what is left of the DAC listing and TAIYO's forward biochar are open to other buyers
    listings = {x.project_id: x for x in offtake.list_listings(db)}
    assert set(listings) == {"P1012", "P0964"}
    assert listings["P1012"].available["2027"] == 800
    assert listings["P1012"].available["2035"] == 10_000
    assert listings["P0964"].price_rule["kind"] == "floor_cap"
    demand = offtake.forward_demand(db)
    assert {(r.pathway, r.vintage): r.contracted for r in demand.rows} == {
        ("daccs", y): q for y, q in demo_removals.OFFTAKE_VOLUMES.items()
    }
    assert contract.id in line and "/removals/forward-demand" in line


def test_the_small_company_s_fy2025_claim_report_is_carbon_negative(
    seeded: tuple[Database, dict[str, str], str],
) -> None:
    db, keys, line = seeded
    company = participants.authenticate(db, keys["MINATO_DESIGN"])
    report = claims.report(db, company, "MINATO_DESIGN", 2025)
    by = {c.code: c for c in report.claims}
    assert by["carbon_negative"].allowed
    assert by["carbon_negative"].params["excess"] == 120 - 98
    assert by["neutralisation"].allowed
    assert report.totals.emissions == 98
    assert (report.neutralisation.tonnes, report.neutralisation.durable) == (120, 120)
    assert report.contributed == 30
    assert [(c.code, c.quantity) for c in report.contributions] == [("contribution", 30)]
    assert report.removals.removals == report.removals.credits == 150
    assert "carbon negative" in line and "NOT" not in line
    assert "/portal/claims?year=2025" in line


def test_the_new_participants_have_portal_logins_and_the_journal_folds(
    seeded: tuple[Database, dict[str, str], str],
) -> None:
    db, keys, line = seeded
    people = {pid for pid, *_ in DEMO_USERS}
    assert {"TOMAKOMAI_DAC", "MINATO_DESIGN"} <= people & set(keys)
    for email in ("offtake@tomakomai-dac.example.jp", "sustainability@minato-design.example.jp"):
        assert any(e == email for _, e, *_ in DEMO_USERS) and email in line
    report = audit.verify(db)
    assert report.ok, report.problems
    # seeding again adds nothing
    again = demo_removals.seed(
        db,
        Exchange(db, japan_calendar()),
        keys,
        DemoClock(dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)),
        demo_days(dt.date(2026, 12, 7)),
    )
    assert again == ""
