"""Forward offtake contracts (issue 21 §2) on both databases: a quote answered and signed, each
issuance of the project delivered by DvP in priority order, a buyer short of cash, each price
and shortfall rule, parties-only contracts, the public forward demand, and the audit still
folding after every step."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from tanso.domain import offtake as ot
from tanso.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from tanso.domain.removals import Profile
from tanso.services.common import SYSTEM, Actor
from tanso.services.ledger import audit, cash, registry, taxonomy
from tanso.services.ledger.blocks import Selection
from tanso.services.ledger.registry import NewIssuance
from tanso.services.notices import list_notices
from tanso.services.removals import offtake, profiles
from tanso.store import schema as t
from tanso.store.db import Database
from tests.conftest import add_participant, fund

pytestmark = pytest.mark.fast_backends("sqlite", "postgres")

DACCS = Profile("daccs", "geological", 10_000, "none", 30, 0, "Illustrative: no reversal risk")
BIOCHAR = Profile("biochar", "product", 100, "medium", 100, 1_000, "Illustrative: 10% buffer")
FIXED = ot.PriceRule("fixed", price=50_000)


PILOT_VINTAGE = 2020


def removal_project(db: Database, pid: str, profile: Profile, dev: Actor) -> None:
    """A removal project whose developer is DEV: a pilot round issued into DEV-MAIN (what makes
    DEV its developer), then passed on to OTHER so that DEV's account starts empty."""
    taxonomy.register_project(
        db,
        SYSTEM,
        taxonomy.NewProject(pid, "JC", f"{pid} removals", "OTHER", "JP", mechanism="removal"),
    )
    profiles.set_profile(db, SYSTEM, pid, profile)
    pilot = issue(db, pid, "90", 10, PILOT_VINTAGE)
    registry.transfer(
        db, dev, "DEV-MAIN", "OTHER-MAIN", Selection(quantity=10 - (pilot.buffer_quantity or 0))
    )


def issue(db: Database, project: str, rnd: str, quantity: int, vintage: int) -> Any:
    return registry.issue(
        db, SYSTEM, NewIssuance(project, "RM", rnd, vintage, quantity, "DEV-MAIN")
    )


def held(db: Database, account: str) -> int:
    b = t.blocks.c
    with db.read() as conn:
        q = select(func.coalesce(func.sum(b.serial_end - b.serial_start + 1), 0)).where(
            b.account_id == account, b.status == "held"
        )
        return int(conn.execute(q).scalar_one())


def money(db: Database, pid: str) -> tuple[int, int]:
    rows = [r for r in cash.balances(db, SYSTEM, pid) if r.currency == "JPY"]
    return (rows[0].balance, rows[0].reserved) if rows else (0, 0)


@pytest.fixture
def world(db: Database) -> Iterator[dict[str, Any]]:
    actors = {pid: add_participant(db, pid) for pid in ("DEV", "MAKER", "STEEL", "OTHER")}
    removal_project(db, "DAC1", DACCS, actors["DEV"])
    fund(db, "MAKER", 100_000_000)
    fund(db, "STEEL", 100_000_000)
    yield {"db": db, **actors}
    report = audit.verify(db)
    assert report.ok, report.problems


def contract(
    w: dict[str, Any],
    buyer: str,
    vintages: dict[int, int],
    rule: ot.PriceRule = FIXED,
    shortfall: str = "carry_forward",
    prepaid: int = 0,
    mode: str = "escrow",
    priority: int = 100,
    project: str = "DAC1",
) -> offtake.Contract:
    db, dev = w["db"], w["DEV"]
    listing = offtake.create_listing(
        db, dev, offtake.NewListing(project, "DEV-MAIN", dict(vintages), rule, "forward DAC")
    )
    quote = offtake.request_quote(db, w[buyer], listing.id, f"{buyer}-MAIN", vintages, "hello")
    proposed = offtake.propose_terms(
        db, dev, quote.id, offtake.Terms(rule, shortfall, prepaid, mode, priority)
    )
    assert proposed.terms_version
    return offtake.sign(db, w[buyer], quote.id, proposed.terms_version)


def test_a_signed_contract_is_delivered_on_issuance_in_priority_order_by_dvp(
    world: dict[str, Any],
) -> None:
    db = world["db"]
    first = contract(world, "MAKER", {2027: 100}, prepaid=10_000, priority=100)
    second = contract(world, "STEEL", {2027: 100}, priority=1)
    # escrow: 100 t x 10,000 yen held from MAKER's cash at signing
    assert money(db, "MAKER") == (100_000_000, 1_000_000)
    receipt = issue(db, "DAC1", "1", 150, 2027)
    assert receipt.delivered == 150
    # STEEL signed later but has priority 1: it takes its 100 t first, MAKER the 50 t left
    assert held(db, "STEEL-MAIN") == 100 and held(db, "MAKER-MAIN") == 50
    assert held(db, "DEV-MAIN") == 0
    assert money(db, "STEEL") == (100_000_000 - 5_000_000, 0)
    # MAKER pays 50 x (50,000 - 10,000) and 50 x 10,000 of its prepayment is released
    assert money(db, "MAKER") == (100_000_000 - 2_500_000, 500_000)
    assert money(db, "DEV") == (7_500_000, 0)
    maker = offtake.get_contract(db, world["MAKER"], first.id)
    (row,) = maker.schedule
    assert (row.delivered, row.outstanding, row.paid, row.prepaid_released) == (
        50,
        50,
        2_000_000,
        500_000,
    )
    assert [e.kind for e in maker.events] == ["signed", "delivery"]
    steel = offtake.get_contract(db, world["STEEL"], second.id)
    assert steel.status == "completed" and steel.schedule[0].status == "closed"
    kinds = {n.kind for n in list_notices(db, world["MAKER"])}
    assert {"offtake_signed", "offtake_delivered", "offtake_terms_proposed"} <= kinds
    # never more than contracted: a second issuance delivers only MAKER's 50 t left
    issue(db, "DAC1", "2", 80, 2027)
    assert held(db, "MAKER-MAIN") == 100 and held(db, "DEV-MAIN") == 30
    assert money(db, "MAKER")[1] == 0
    assert offtake.get_contract(db, world["MAKER"], first.id).status == "completed"


def test_a_buyer_short_of_cash_gets_no_delivery_and_a_payment_failure(
    world: dict[str, Any],
) -> None:
    db = world["db"]
    poor = add_participant(db, "POOR")
    world["POOR"] = poor
    fund(db, "POOR", 1_000_000)
    c = contract(world, "POOR", {2027: 100})
    receipt = issue(db, "DAC1", "1", 100, 2027)
    assert receipt.delivered is None
    assert held(db, "POOR-MAIN") == 0 and held(db, "DEV-MAIN") == 100
    assert money(db, "POOR") == (1_000_000, 0)
    view = offtake.get_contract(db, poor, c.id)
    assert view.schedule[0].failures == 1 and view.schedule[0].outstanding == 100
    assert view.events[-1].kind == "payment_failed"
    assert view.events[-1].detail == "insufficient_cash"
    assert "offtake_payment_failed" in {n.kind for n in list_notices(db, world["DEV"])}
    # the developer delivers again once the buyer has the cash; refused with the numbers before
    with pytest.raises(Conflict) as e:
        offtake.deliver(db, world["DEV"], c.id, 2027, 100)
    assert e.value.code == "insufficient_cash" and "5,000,000" in e.value.message
    fund(db, "POOR", 4_000_000)
    out = offtake.deliver(db, world["DEV"], c.id, 2027, 100)
    assert (out.quantity, out.amount) == (100, 5_000_000)
    assert held(db, "POOR-MAIN") == 100 and money(db, "POOR") == (0, 0)
    with pytest.raises(Conflict) as e:
        offtake.deliver(db, world["DEV"], c.id, 2027, 1)
    assert e.value.code == "contract_not_active"


def test_carry_forward_adds_the_shortfall_to_the_next_vintage(world: dict[str, Any]) -> None:
    db, dev = world["db"], world["DEV"]
    c = contract(world, "MAKER", {2027: 100, 2028: 100}, prepaid=1_000)
    issue(db, "DAC1", "1", 60, 2027)
    closed = offtake.close_vintage(db, dev, c.id, 2027)
    assert (closed.shortfall, closed.carried, closed.carried_to) == (40, 40, 2028)
    issue(db, "DAC1", "2", 200, 2028)
    view = offtake.get_contract(db, world["MAKER"], c.id)
    assert [(r.vintage, r.carried_in, r.delivered, r.status) for r in view.schedule] == [
        (2027, 0, 60, "closed"),
        (2028, 40, 140, "closed"),
    ]
    assert held(db, "MAKER-MAIN") == 200 and held(db, "DEV-MAIN") == 60
    assert view.status == "completed" and money(db, "MAKER")[1] == 0
    with pytest.raises(Conflict) as e:
        offtake.close_vintage(db, dev, c.id, 2027)
    assert e.value.code == "contract_not_active"


def test_carry_forward_past_the_last_vintage_refunds_the_prepayment(
    world: dict[str, Any],
) -> None:
    db = world["db"]
    c = contract(world, "MAKER", {2027: 100}, prepaid=2_000)
    issue(db, "DAC1", "1", 70, 2027)
    closed = offtake.close_vintage(db, world["DEV"], c.id, 2027)
    assert (closed.carried, closed.refund) == (0, 30 * 2_000)
    assert money(db, "MAKER") == (100_000_000 - 70 * 50_000, 0)


def test_replacement_is_delivered_from_removal_credits_of_the_same_class(
    world: dict[str, Any],
) -> None:
    db, dev = world["db"], world["DEV"]
    removal_project(db, "BC2", BIOCHAR, dev)
    c = contract(world, "STEEL", {2027: 100}, shortfall="replacement")
    issue(db, "DAC1", "1", 70, 2027)
    closed = offtake.close_vintage(db, dev, c.id, 2027)
    assert closed.replacement == 30
    with pytest.raises(Conflict) as e:
        offtake.deliver(db, dev, c.id, 2027, 30)
    assert e.value.code == "insufficient_credits"
    issue(db, "BC2", "1", 50, 2026)  # 5 t to the buffer pool, 45 t to DEV
    # biochar in products (100 years) does not replace DACCS in geological storage
    with pytest.raises(Conflict) as e:
        offtake.deliver(db, dev, c.id, 2027, 30)
    assert e.value.code == "not_same_class" and "45 t of other removals" in e.value.message
    removal_project(db, "DAC2", DACCS, dev)
    issue(db, "DAC2", "1", 50, 2026)  # geological, 10,000 years: the same class
    with pytest.raises(Conflict) as e:
        offtake.deliver(db, dev, c.id, 2027, 31)
    assert e.value.code == "more_than_due"
    out = offtake.deliver(db, dev, c.id, 2027, 30)
    assert (out.quantity, out.amount) == (30, 1_500_000)
    assert held(db, "STEEL-MAIN") == 100 and held(db, "DEV-MAIN") == 45 + 20
    view = offtake.get_contract(db, world["STEEL"], c.id)
    assert (view.schedule[0].replaced, view.status) == (30, "completed")


def test_refund_returns_the_prepayment_for_the_tonnes_not_delivered(
    world: dict[str, Any],
) -> None:
    db, dev = world["db"], world["DEV"]
    escrowed = contract(world, "MAKER", {2027: 100}, shortfall="refund", prepaid=5_000)
    paid = contract(
        world, "STEEL", {2027: 100}, shortfall="refund", prepaid=5_000, mode="milestones"
    )
    # milestones: the prepayment went to the developer at signing
    assert money(db, "DEV") == (500_000, 0)
    assert money(db, "MAKER") == (100_000_000, 500_000)
    issue(db, "DAC1", "1", 100, 2027)  # equal priority: the contract signed first
    assert held(db, "MAKER-MAIN") == 100 and held(db, "STEEL-MAIN") == 0
    assert offtake.close_vintage(db, dev, paid.id, 2027).refund == 500_000
    assert money(db, "STEEL") == (100_000_000, 0)
    assert offtake.get_contract(db, dev, escrowed.id).status == "completed"
    assert money(db, "MAKER") == (100_000_000 - 100 * 50_000, 0)


def test_a_milestone_refund_needs_the_developers_cash(world: dict[str, Any]) -> None:
    db, dev = world["db"], world["DEV"]
    c = contract(world, "STEEL", {2027: 10}, shortfall="refund", prepaid=1_000, mode="milestones")
    cash.withdraw(db, SYSTEM, "DEV", "JPY", 10_000, "bank-out")
    with pytest.raises(Conflict) as e:
        offtake.close_vintage(db, dev, c.id, 2027)
    assert e.value.code == "insufficient_cash" and "10,000" in e.value.message


def test_an_indexed_price_reads_the_index_at_delivery(world: dict[str, Any]) -> None:
    db = world["db"]
    rule = ot.PriceRule("indexed", multiplier_bp=15_000, premium=100, floor=3_000, index="TANSO-X")
    with pytest.raises(InvalidInput) as e:
        contract(world, "MAKER", {2027: 10}, rule=rule)
    assert e.value.code == "unknown_index"
    with db.engine.begin() as conn:
        conn.execute(
            t.index_values.insert().values(
                index_id="TANSO-X",
                date="2025-12-30",
                value=2_001,
                rule="vwap",
                volume=1,
                detail="{}",
                journal_seq=0,
                at="2025-12-30T06:00:00+00:00",
            )
        )
    c = contract(world, "MAKER", {2027: 10}, rule=rule)
    issue(db, "DAC1", "1", 10, 2027)
    # 2,001 x 1.5 = 3,001.5 -> 3,002, + 100 premium = 3,102 per tonne
    (ev,) = [
        e for e in offtake.get_contract(db, world["MAKER"], c.id).events if e.kind == "delivery"
    ]
    assert (ev.unit_price, ev.amount) == (3_102, 31_020)


def test_a_price_without_its_index_value_is_a_payment_failure(world: dict[str, Any]) -> None:
    db = world["db"]
    with db.engine.begin() as conn:
        conn.execute(
            t.index_values.insert().values(
                index_id="TANSO-LATER",
                date="2030-01-01",
                value=1,
                rule="vwap",
                volume=1,
                detail="{}",
                journal_seq=0,
                at="2030-01-01T06:00:00+00:00",
            )
        )
    rule = ot.PriceRule("floor_cap", floor=1_000, cap=9_000, index="TANSO-LATER")
    c = contract(world, "MAKER", {2027: 10}, rule=rule)
    issue(db, "DAC1", "1", 10, 2027)
    view = offtake.get_contract(db, world["MAKER"], c.id)
    assert view.events[-1].detail == "no_reference_price" and held(db, "MAKER-MAIN") == 0


def test_the_buffer_share_is_never_delivered(world: dict[str, Any]) -> None:
    db = world["db"]
    removal_project(db, "BC1", BIOCHAR, world["DEV"])
    contract(world, "MAKER", {2027: 100}, project="BC1")
    receipt = issue(db, "BC1", "1", 100, 2027)
    assert (receipt.buffer_quantity, receipt.delivered) == (10, 90)
    # the pilot round put 1 t of its 10 t in the pool too
    assert held(db, "MAKER-MAIN") == 90 and held(db, "SYS-BUFFER-JC") == 10 + 1


def test_contracts_and_quotes_are_for_their_parties_only(world: dict[str, Any]) -> None:
    db, other = world["db"], world["OTHER"]
    c = contract(world, "MAKER", {2027: 100})
    with pytest.raises(NotFound):
        offtake.get_contract(db, other, c.id)
    with pytest.raises(NotFound):
        offtake.get_quote(db, other, c.quote_id)
    with pytest.raises(NotFound):
        offtake.close_vintage(db, other, c.id, 2027)
    with pytest.raises(Forbidden):
        offtake.close_vintage(db, world["MAKER"], c.id, 2027)
    assert offtake.list_contracts(db, other) == []
    assert [x.id for x in offtake.list_contracts(db, world["DEV"])] == [c.id]
    listing = offtake.get_listing(db, c.listing_id)
    assert listing.seller_account is None and listing.available == {"2027": 0}
    assert listing.removal.pathway == "daccs"


def test_a_listing_is_for_removal_projects_and_quotes_within_what_is_available(
    world: dict[str, Any],
) -> None:
    db, dev = world["db"], world["DEV"]
    taxonomy.register_project(
        db, SYSTEM, taxonomy.NewProject("ES1", "JC", "Lights", "ENERGY_SAVING", "JP")
    )
    with pytest.raises(Conflict) as e:
        offtake.create_listing(db, dev, offtake.NewListing("ES1", "DEV-MAIN", {2027: 1}, FIXED))
    assert e.value.code == "not_a_removal_project"
    with pytest.raises(NotFound):
        offtake.create_listing(db, dev, offtake.NewListing("DAC1", "MAKER-MAIN", {2027: 1}, FIXED))
    listing = offtake.create_listing(
        db, dev, offtake.NewListing("DAC1", "DEV-MAIN", {2027: 100}, FIXED)
    )
    with pytest.raises(Conflict) as e:
        offtake.request_quote(db, world["MAKER"], listing.id, "MAKER-MAIN", {2027: 101})
    assert e.value.code == "more_than_available" and "100 t" in e.value.message
    with pytest.raises(Conflict):
        offtake.request_quote(db, dev, listing.id, "DEV-MAIN", {2027: 1})
    a = offtake.request_quote(db, world["MAKER"], listing.id, "MAKER-MAIN", {2027: 80})
    b = offtake.request_quote(db, world["STEEL"], listing.id, "STEEL-MAIN", {2027: 80})
    with pytest.raises(Conflict) as e:
        offtake.sign(db, world["MAKER"], a.id, "")
    assert e.value.code == "no_terms"
    terms = offtake.Terms(FIXED, "refund")
    va = offtake.propose_terms(db, dev, a.id, terms).terms_version or ""
    vb = offtake.propose_terms(db, dev, b.id, terms).terms_version or ""
    offtake.sign(db, world["MAKER"], a.id, va)
    with pytest.raises(Conflict) as e:
        offtake.sign(db, world["STEEL"], b.id, vb)
    assert e.value.code == "more_than_available"


def test_forward_demand_is_aggregated_per_pathway_and_vintage(world: dict[str, Any]) -> None:
    db = world["db"]
    contract(world, "MAKER", {2027: 100, 2028: 50})
    contract(world, "STEEL", {2027: 40})
    issue(db, "DAC1", "1", 120, 2027)
    demand = offtake.forward_demand(db)
    assert [
        (r.pathway, r.vintage, r.contracted, r.delivered, r.outstanding, r.contracts)
        for r in demand.rows
    ] == [
        ("daccs", 2027, 140, 120, 20, 2),
        ("daccs", 2028, 50, 0, 50, 1),
    ]
    assert (demand.contracts, demand.contracted, demand.outstanding) == (2, 190, 70)


def test_every_tanso_index_can_price_a_contract(world: dict[str, Any]) -> None:
    from tanso.services.marketdata import indices

    with world["db"].read() as conn:
        defined = {d.id for d in indices.definitions(conn)}
        assert defined and defined <= offtake._index_ids(conn)


# ---------------------------------------------------------------- the review's defects (issue 21)


def index_value(db: Database, index: str, day: str, value: int, rule: str = "vwap") -> None:
    with db.engine.begin() as conn:
        conn.execute(
            t.index_values.insert().values(
                index_id=index,
                date=day,
                value=value,
                rule=rule,
                volume=0 if rule == "none" else 1,
                detail="{}",
                journal_seq=0,
                at=f"{day}T06:00:00+00:00",
            )
        )


def test_only_the_developer_lists_a_projects_forward_volumes(world: dict[str, Any]) -> None:
    db, other = world["db"], world["OTHER"]
    # OTHER holds DAC1 credits, but by transfer: the registry never issued DAC1 into its account
    assert held(db, "OTHER-MAIN") == 10
    with pytest.raises(Forbidden) as e:
        offtake.create_listing(
            db, other, offtake.NewListing("DAC1", "OTHER-MAIN", {2027: 100}, FIXED)
        )
    assert e.value.code == "not_the_developer" and "OTHER-MAIN" in e.value.message
    removal_project(db, "DAC2", DACCS, world["DEV"])
    with pytest.raises(Forbidden):  # DEV is DAC1's developer, but its account is not MAKER's
        offtake.create_listing(
            db, world["MAKER"], offtake.NewListing("DAC2", "MAKER-MAIN", {2027: 1}, FIXED)
        )
    listing = offtake.create_listing(
        db, world["DEV"], offtake.NewListing("DAC2", "DEV-MAIN", {2027: 1}, FIXED)
    )
    assert listing.seller_account == "DEV-MAIN"


def test_signing_names_the_terms_read_and_refuses_changed_ones(world: dict[str, Any]) -> None:
    db, dev, maker = world["db"], world["DEV"], world["MAKER"]
    listing = offtake.create_listing(
        db, dev, offtake.NewListing("DAC1", "DEV-MAIN", {2027: 100}, FIXED)
    )
    quote = offtake.request_quote(db, maker, listing.id, "MAKER-MAIN", {2027: 10})
    read = offtake.propose_terms(db, dev, quote.id, offtake.Terms(FIXED, "refund"))
    assert offtake.get_quote(db, maker, quote.id).terms_version == read.terms_version
    dearer = ot.PriceRule("fixed", price=90_000)
    now = offtake.propose_terms(db, dev, quote.id, offtake.Terms(dearer, "refund"))
    assert now.terms_version != read.terms_version
    with pytest.raises(Conflict) as e:
        offtake.sign(db, maker, quote.id, read.terms_version or "")
    assert e.value.code == "terms_changed"
    assert offtake.list_contracts(db, maker) == []
    signed = offtake.sign(db, maker, quote.id, now.terms_version or "")
    assert signed.price_rule["price"] == 90_000


@pytest.mark.parametrize(
    ("rule", "prepaid", "numbers"),
    [
        (ot.PriceRule("fixed", price=50_000), 50_001, ("50,001", "50,000")),
        (
            ot.PriceRule("floor_cap", floor=3_000, cap=9_000, index="TANSO-JCREDIT"),
            3_001,
            ("3,001", "3,000"),
        ),
        (ot.PriceRule("indexed", index="TANSO-JCREDIT"), 1, ("1",)),
        (ot.PriceRule("indexed", floor=2_000, index="TANSO-JCREDIT"), 2_001, ("2,001", "2,000")),
    ],
)
def test_a_prepayment_above_the_lowest_price_is_refused(
    world: dict[str, Any], rule: ot.PriceRule, prepaid: int, numbers: tuple[str, ...]
) -> None:
    with pytest.raises(InvalidInput) as e:
        contract(world, "MAKER", {2027: 10}, rule=rule, prepaid=prepaid)
    assert e.value.code == "prepayment_above_price"
    assert all(n in e.value.message for n in numbers), e.value.message
    # at the lowest price itself it is accepted
    ok = contract(world, "MAKER", {2027: 10}, rule=rule, prepaid=rule.price or rule.floor or 0)
    assert ok.prepaid_per_tonne == (rule.price or rule.floor or 0)


def test_a_prepayment_beyond_what_an_escrow_holds_is_refused_with_the_terms(
    world: dict[str, Any],
) -> None:
    db, dev = world["db"], world["DEV"]
    big = ot.PriceRule("fixed", price=10**9)
    listing = offtake.create_listing(
        db, dev, offtake.NewListing("DAC1", "DEV-MAIN", {y: 10**9 for y in range(2027, 2040)}, big)
    )
    wanted = {y: 10**9 for y in range(2027, 2040)}
    quote = offtake.request_quote(db, world["MAKER"], listing.id, "MAKER-MAIN", wanted)
    with pytest.raises(InvalidInput) as e:
        offtake.propose_terms(db, dev, quote.id, offtake.Terms(big, "refund", 10**9))
    assert e.value.code == "prepayment_too_large"


def test_an_index_day_without_a_value_prices_nothing(world: dict[str, Any]) -> None:
    db = world["db"]
    index_value(db, "TANSO-Z", "2025-12-30", 0, rule="none")  # no trades: no value that day
    rule = ot.PriceRule("floor_cap", floor=0, cap=9_000, index="TANSO-Z")
    c = contract(world, "MAKER", {2027: 10}, rule=rule)
    issue(db, "DAC1", "1", 10, 2027)
    view = offtake.get_contract(db, world["MAKER"], c.id)
    assert view.events[-1].detail == "no_reference_price" and held(db, "MAKER-MAIN") == 0


def test_a_price_below_one_yen_is_never_delivered(world: dict[str, Any]) -> None:
    db, dev = world["db"], world["DEV"]
    index_value(db, "TANSO-Z", "2025-12-30", 0)
    rule = ot.PriceRule("floor_cap", floor=0, cap=9_000, index="TANSO-Z")
    c = contract(world, "MAKER", {2027: 10}, rule=rule)
    issue(db, "DAC1", "1", 10, 2027)
    view = offtake.get_contract(db, world["MAKER"], c.id)
    assert view.events[-1].kind == "payment_failed"
    assert view.events[-1].detail == "price_below_one" and held(db, "MAKER-MAIN") == 0
    with pytest.raises(InvalidInput) as e:
        offtake.deliver(db, dev, c.id, 2027, 10)
    assert e.value.code == "price_below_one" and "0 yen" in e.value.message


def test_an_indexed_price_with_a_negative_premium_needs_a_floor(world: dict[str, Any]) -> None:
    cheap = ot.PriceRule("indexed", premium=-500, index="TANSO-JCREDIT")
    with pytest.raises(InvalidInput) as e:
        contract(world, "MAKER", {2027: 10}, rule=cheap)
    assert e.value.code == "invalid_price_rule" and "-500" in e.value.message
    floored = ot.PriceRule("indexed", premium=-500, floor=1, index="TANSO-JCREDIT")
    assert contract(world, "MAKER", {2027: 10}, rule=floored).status == "active"


@pytest.mark.parametrize("vintage", [99999999999999999999, 1999, 2101, -1])
def test_a_vintage_out_of_range_is_refused_before_any_query(
    world: dict[str, Any], vintage: int
) -> None:
    db, dev = world["db"], world["DEV"]
    c = contract(world, "MAKER", {2027: 10})
    with pytest.raises(InvalidInput) as e:
        offtake.deliver(db, dev, c.id, vintage, 1)
    assert e.value.code == "invalid_vintage"
    with pytest.raises(InvalidInput) as e:
        offtake.close_vintage(db, dev, c.id, vintage)
    assert e.value.code == "invalid_vintage"


def test_the_buyer_closes_a_vintage_once_it_has_lapsed(world: dict[str, Any]) -> None:
    db, maker = world["db"], world["MAKER"]
    # the clock reads 2026-01-05: vintage 2024 lapsed on 2025-12-31, 2025 lapses on 2026-12-31
    c = contract(world, "MAKER", {2024: 10, 2025: 10}, shortfall="refund", prepaid=1_000)
    assert money(db, "MAKER") == (100_000_000, 20_000)
    with pytest.raises(Forbidden) as e:
        offtake.close_vintage(db, maker, c.id, 2025)
    assert e.value.code == "developer_only" and "2027-01-01" in e.value.message
    closed = offtake.close_vintage(db, maker, c.id, 2024)
    assert (closed.shortfall, closed.refund) == (10, 10_000)
    assert money(db, "MAKER") == (100_000_000, 10_000)
    with pytest.raises(NotFound):  # still nobody else's
        offtake.close_vintage(db, world["OTHER"], c.id, 2024)
    offtake.close_vintage(db, world["DEV"], c.id, 2025)
    assert offtake.get_contract(db, maker, c.id).status == "completed"
    assert money(db, "MAKER") == (100_000_000, 0)


def test_a_milestone_refund_names_the_contract_on_the_cash_movement(
    world: dict[str, Any],
) -> None:
    db = world["db"]
    c = contract(world, "STEEL", {2027: 10}, shortfall="refund", prepaid=1_000, mode="milestones")
    offtake.close_vintage(db, world["DEV"], c.id, 2027)
    m = t.cash_entries.c
    with db.read() as conn:
        refs = conn.execute(select(m.external_ref).where(m.memo.like(f"%{c.id} refund"))).all()
    assert [r.external_ref for r in refs] == [c.id]


def test_the_developer_named_on_the_profile_lists_before_any_issuance(
    world: dict[str, Any],
) -> None:
    db = world["db"]
    taxonomy.register_project(
        db,
        SYSTEM,
        taxonomy.NewProject("DAC3", "JC", "DAC3 removals", "OTHER", "JP", mechanism="removal"),
    )
    profiles.set_profile(db, SYSTEM, "DAC3", DACCS, developer_id="DEV")
    with pytest.raises(Forbidden):  # not the named developer, and never issued into
        offtake.create_listing(
            db, world["OTHER"], offtake.NewListing("DAC3", "OTHER-MAIN", {2028: 5}, FIXED)
        )
    listing = offtake.create_listing(
        db, world["DEV"], offtake.NewListing("DAC3", "DEV-MAIN", {2028: 5, 2029: 5}, FIXED)
    )
    assert listing.available == {"2028": 5, "2029": 5}
    with pytest.raises(NotFound):
        profiles.set_profile(db, SYSTEM, "DAC3", DACCS, developer_id="NOBODY")


def test_the_operators_journal_reads_offtake_entries_as_sentences(world: dict[str, Any]) -> None:
    from tanso.store import repo
    from tanso.web.i18n import texts
    from tanso.web.operator.journal_entries import describe

    db = world["db"]
    signed = contract(world, "MAKER", {2027: 100, 2028: 200}, prepaid=10_000)
    issue(db, "DAC1", "1", 60, 2027)
    with db.read() as conn:
        entries = {e.kind: e for e in repo.journal_entries(conn)}
    en, ja = texts("en", "operator"), texts("ja", "operator")
    e = entries["offtake.signed"]
    assert describe(e.kind, e.actor, e.payload, en, "en") == (
        f"Forward contract {signed.id} signed by {e.actor}: 300 t of project DAC1, "
        "vintages 2027 to 2028"
    )
    e = entries["offtake.delivered"]
    text = describe(e.kind, e.actor, e.payload, ja, "ja")
    # 60 t at 50,000 yen: 600,000 from the escrow and 2,400,000 paid at delivery
    assert f"契約 {signed.id}" in text and "60 t" in text and "3,000,000" in text
