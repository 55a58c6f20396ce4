"""Removal credits (issue 21 §1) on both databases: a removal project's profile, the buffer
pool's share of each issuance, and reversals compensated in the rule's order (the project's own
buffer, then its holders' unretired credits after releasing what holds them, then the rest of
the pool), retired credits never touched, and the books still folding."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from tanso.domain import marketplace as mp
from tanso.domain.errors import Conflict, InvalidInput
from tanso.domain.instruments import Eligibility, InstrumentSpec
from tanso.domain.participants import Role
from tanso.domain.removals import Profile
from tanso.services.common import SYSTEM, Actor
from tanso.services.ledger import audit, registry, taxonomy
from tanso.services.ledger.blocks import Selection
from tanso.services.ledger.registry import NewIssuance, RetirementRequest
from tanso.services.notices import list_notices
from tanso.services.removals import profiles, reversals
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange, NewOrder
from tanso.services.venues import marketplace
from tanso.store import schema as t
from tanso.store.db import Database
from tests.conftest import add_participant

pytestmark = pytest.mark.fast_backends("sqlite", "postgres")

BIOCHAR = Profile("biochar", "product", 100, "medium", 100, 1_000, "Illustrative: 10% buffer")
DACCS = Profile("daccs", "geological", 10_000, "none", 30, 0, "Illustrative: no reversal risk")


def removal_project(db: Database, pid: str, profile: Profile, category: str) -> None:
    taxonomy.register_project(
        db,
        SYSTEM,
        taxonomy.NewProject(pid, "JC", f"{pid} removals", category, "JP", mechanism="removal"),
    )
    profiles.set_profile(db, SYSTEM, pid, profile)


def issue(db: Database, project: str, rnd: str, quantity: int, account: str, vintage: int = 2026):
    return registry.issue(db, SYSTEM, NewIssuance(project, "RM", rnd, vintage, quantity, account))


def held(db: Database, account: str, status: str = "held") -> int:
    b = t.blocks.c
    with db.read() as conn:
        q = select(func.coalesce(func.sum(b.serial_end - b.serial_start + 1), 0)).where(
            b.account_id == account, b.status == status
        )
        return int(conn.execute(q).scalar_one())


@pytest.fixture
def world(db: Database) -> Iterator[Database]:
    for pid in ("DEV", "BUYER"):
        add_participant(db, pid)
    removal_project(db, "BC1", BIOCHAR, "AGRI_BIOCHAR")
    removal_project(db, "BC2", BIOCHAR, "AGRI_BIOCHAR")
    yield db
    report = audit.verify(db)
    assert report.ok, report.problems


def test_an_issuance_puts_its_buffer_share_in_the_schemes_pool(world: Database) -> None:
    receipt = issue(world, "BC1", "1", 1_005, "DEV-MAIN")
    # 10% of 1,005 is 100.5, rounded up: the last 101 serials go to the pool
    assert receipt.buffer_quantity == 101
    assert receipt.buffer_serials == f"{receipt.issuance_id}-905-1005"
    assert held(world, "DEV-MAIN") == 904
    assert held(world, "SYS-BUFFER-JC") == 101
    record = profiles.project_record(world, "BC1")
    assert (record.buffered, record.buffer_left) == (101, 101)
    (pool,) = profiles.pools(world)
    assert (pool.scheme, pool.contributed, pool.left, pool.cancelled) == ("JC", 101, 101, 0)


def test_a_project_without_reversal_risk_puts_nothing_in_the_pool(world: Database) -> None:
    removal_project(world, "DAC1", DACCS, "OTHER")
    receipt = issue(world, "DAC1", "1", 500, "DEV-MAIN")
    assert receipt.buffer_quantity is None
    assert held(world, "DEV-MAIN") == 500


def test_a_profile_is_checked_and_only_for_removal_projects(world: Database) -> None:
    with pytest.raises(InvalidInput) as e:
        profiles.set_profile(world, SYSTEM, "BC1", Profile("biochar", "product", 100, "high", 5, 0))
    assert e.value.code == "invalid_buffer_rate"
    taxonomy.register_project(
        world, SYSTEM, taxonomy.NewProject("ES1", "JC", "Savings", "ENERGY_SAVING", "JP")
    )
    with pytest.raises(Conflict) as c:
        profiles.set_profile(world, SYSTEM, "ES1", BIOCHAR)
    assert c.value.code == "not_a_removal_project"


def test_a_small_reversal_takes_only_the_projects_own_buffer(world: Database) -> None:
    issue(world, "BC1", "1", 1_000, "DEV-MAIN")
    rev = reversals.report(
        world, SYSTEM, reversals.NewReversal("BC1", 60, "fire", "2026-08-14", "Kiln fire")
    )
    assert (rev.from_project_buffer, rev.from_holders, rev.from_pool, rev.uncompensated) == (
        60,
        0,
        0,
        0,
    )
    assert held(world, "SYS-BUFFER-JC") == 40
    assert held(world, "DEV-MAIN") == 900
    assert held(world, "SYS-CANCELLATION", "cancelled") == 60


def test_a_large_reversal_releases_a_listing_then_takes_holders_credits_then_the_pool(
    world: Database,
) -> None:
    first = issue(world, "BC1", "1", 1_000, "DEV-MAIN")  # 100 to the pool
    issue(world, "BC2", "1", 2_000, "BUYER-MAIN")  # another project's 200 in the same pool
    listing = marketplace.create_listing(
        world,
        Actor("DEV", frozenset({Role.TRADER})),
        marketplace.NewListing(
            "DEV-MAIN", mp.ListingTerms(price=9_000, quantity=500), first.issuance_id
        ),
    )
    buyer_retired = registry.retire(
        world,
        Actor("DEV", frozenset({Role.TRADER})),
        RetirementRequest("DEV-MAIN", Selection(quantity=300), ["offset_scope3"]),
    )
    assert buyer_retired.quantity == 300
    # DEV holds 600 unretired (500 of them listed), the project's own buffer is 100
    rev = reversals.report(
        world, SYSTEM, reversals.NewReversal("BC1", 800, "leakage", "2026-09-01")
    )
    assert (rev.from_project_buffer, rev.from_holders, rev.from_pool, rev.uncompensated) == (
        100,
        600,
        100,
        0,
    )
    assert rev.released == [listing.id]
    assert held(world, "DEV-MAIN") == 0
    assert held(world, "DEV-MAIN", "reserved") == 0
    assert held(world, "SYS-BUFFER-JC") == 100  # BC2's 200 less the 100 taken
    assert held(world, "SYS-RETIREMENT", "retired") == 300  # retired credits untouched
    notes = list_notices(world, Actor("DEV", frozenset({Role.TRADER})))
    assert [n.kind for n in notes] == ["credits_reversed"]
    assert notes[0].params["quantity"] == 600
    assert all(r.startswith(first.issuance_id) or "BC2" in r for r in rev.cancelled)


def test_what_nothing_covers_stays_uncompensated_and_said_so(world: Database) -> None:
    issue(world, "BC1", "1", 100, "DEV-MAIN")  # 10 buffered, 90 held
    registry.retire(
        world,
        Actor("DEV", frozenset({Role.TRADER})),
        RetirementRequest("DEV-MAIN", Selection(quantity=60), ["offset_scope3"]),
    )
    rev = reversals.report(world, SYSTEM, reversals.NewReversal("BC1", 80, "storm", "2026-10-01"))
    assert (rev.from_project_buffer, rev.from_holders, rev.from_pool, rev.uncompensated) == (
        10,
        30,
        0,
        40,
    )
    assert held(world, "SYS-RETIREMENT", "retired") == 60


def test_a_reversal_never_exceeds_what_the_project_issued(world: Database) -> None:
    issue(world, "BC1", "1", 100, "DEV-MAIN")
    reversals.report(world, SYSTEM, reversals.NewReversal("BC1", 70, "fire", "2026-08-14"))
    with pytest.raises(Conflict) as e:
        reversals.report(world, SYSTEM, reversals.NewReversal("BC1", 31, "fire", "2026-08-15"))
    assert e.value.code == "reversal_exceeds_issued"
    assert "issued 100 t and 70 t were reversed so far" in e.value.message
    assert "more than the 30 t left" in e.value.message


def test_a_reversal_cancels_an_exchange_order_holding_the_credits(world: Database) -> None:
    issue(world, "BC1", "1", 1_000, "DEV-MAIN")
    x = Exchange(world, japan_calendar())
    spec = InstrumentSpec(
        "JC-BC",
        "J-Credit biochar",
        "J-クレジット バイオ炭",
        Eligibility(schemes=("JC",), categories=("AGRI_BIOCHAR",)),
        mode="continuous",
        reference_price=20_000,
    )
    x.define_instrument(SYSTEM, spec)
    x.session(SYSTEM, "JC-BC", "open")
    x.start()
    try:
        order = x.place(
            Actor("DEV", frozenset({Role.TRADER})),
            NewOrder("JC-BC", "sell", 900, 25_000, account_id="DEV-MAIN"),
        )
        rev = reversals.report(
            world, SYSTEM, reversals.NewReversal("BC1", 400, "fire", "2026-08-14")
        )
    finally:
        x.stop()
    assert rev.released == [order.id]
    assert (rev.from_project_buffer, rev.from_holders) == (100, 300)
    with world.read() as conn:
        status = conn.execute(
            select(t.orders.c.status).where(t.orders.c.id == order.id)
        ).scalar_one()
    assert status == "cancelled"
    assert held(world, "DEV-MAIN") == 600


def test_a_reversal_needs_a_removal_project_and_good_input(world: Database) -> None:
    with pytest.raises(InvalidInput):
        reversals.report(world, SYSTEM, reversals.NewReversal("BC1", 10, "aliens", "2026-08-14"))
    with pytest.raises(InvalidInput):
        reversals.report(world, SYSTEM, reversals.NewReversal("BC1", 10, "fire", "14/08/2026"))


def test_a_retirements_certificate_shows_the_reversal_and_its_compensation(
    world: Database,
) -> None:
    from tanso.services.compliance import certificates
    from tanso.web.documents import certificate as document

    issue(world, "BC1", "1", 1_000, "DEV-MAIN")
    retired = registry.retire(
        world,
        Actor("DEV", frozenset({Role.TRADER})),
        RetirementRequest("DEV-MAIN", Selection(quantity=50), ["offset_scope3"]),
    )
    rev = reversals.report(world, SYSTEM, reversals.NewReversal("BC1", 120, "fire", "2026-08-14"))
    cert = certificates.certificate(world, retired.id)
    assert [r.id for r in cert.reversals] == [rev.id]
    assert cert.quantity == 50  # the retirement stands
    html_en = document.to_html(cert, "en")
    html_ja = document.to_html(cert, "ja")
    assert rev.id in html_en and "100 t from the project&#39;s buffer" in html_en
    assert "火災" in html_ja and "20 t 未無効化のクレジットから" in html_ja
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"],
        input=document.to_pdf(cert, "ja"),
        capture_output=True,
        check=True,
    ).stdout.decode()
    flat = "".join(text.split())  # table cells wrap
    assert rev.id in flat and "火災" in flat and "20t未無効化のクレジットから" in flat


def test_the_public_page_shows_profiles_pools_and_reversal_notices(world: Database) -> None:
    from fastapi.testclient import TestClient

    from tanso.api.app import create_app

    issue(world, "BC1", "1", 1_000, "DEV-MAIN")
    rev = reversals.report(
        world, SYSTEM, reversals.NewReversal("BC1", 30, "fire", "2026-08-14", "Kiln fire")
    )
    with TestClient(create_app(world)) as c:
        en = c.get("/removals")
        ja = c.get("/ja/removals")
        api = c.get("/v1/removals/projects/BC1").json()
    assert en.status_code == ja.status_code == 200
    assert rev.id in en.text and "Kiln fire" in en.text and "Biochar" in en.text
    assert "バイオ炭" in ja.text and "火災" in ja.text and "反転のお知らせ" in ja.text
    assert (api["buffered"], api["buffer_left"]) == (100, 70)
    assert api["reversals"][0]["from_project_buffer"] == 30


def test_credits_deposited_from_another_registry_keep_that_registrys_buffer(
    world: Database,
) -> None:
    receipt = registry.deposit(
        world,
        SYSTEM,
        NewIssuance("BC1", "RM", "9", 2025, 300, "DEV-MAIN"),
        "Verra",
        "VCU-1-300",
    )
    assert receipt.buffer_quantity is None
    assert held(world, "DEV-MAIN") == 300
    assert held(world, "SYS-BUFFER-JC") == 0


def test_the_operators_journal_reads_buffer_and_reversal_entries_as_sentences(
    world: Database,
) -> None:
    from tanso.store import repo
    from tanso.web.i18n import texts
    from tanso.web.operator.journal_entries import describe

    issue(world, "BC1", "1", 1_000, "DEV-MAIN")
    rev = reversals.report(world, SYSTEM, reversals.NewReversal("BC1", 150, "fire", "2026-08-14"))
    with world.read() as conn:
        entries = {e.kind: e for e in repo.journal_entries(conn)}
    en, ja = texts("en", "operator"), texts("ja", "operator")
    buffered = entries["removals.buffered"]
    assert describe(buffered.kind, buffered.actor, buffered.payload, en, "en") == (
        "100 t of a removal issuance put in the JC buffer pool (JC-RM-BC1-1-901-1000)"
    )
    reversal = entries["removals.reversal"]
    text = describe(reversal.kind, reversal.actor, reversal.payload, ja, "ja")
    assert rev.id in text and "バッファー 100 t" in text and "未無効化クレジット 50 t" in text
