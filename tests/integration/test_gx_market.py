"""GX-ETS allowance market (issue 19): the allowance instruments, who may buy them, the
price-stability operation (buy at the adjustment reference price, then cancel), the FY2033
auctions and the FY2026 demo, on both databases."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import select

from tanso.demo import gx as demo_gx
from tanso.demo.exchange_days import DemoClock, at_jst, demo_days
from tanso.domain.errors import Conflict, Forbidden, InvalidInput
from tanso.domain.participants import Role
from tanso.services.clearing import settlement
from tanso.services.common import SYSTEM, Actor
from tanso.services.compliance import gx_compliance as gc
from tanso.services.compliance import gx_cycle as gx
from tanso.services.compliance import gx_market
from tanso.services.ledger import audit, participants, registry
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange, NewOrder
from tanso.services.trading.instruments import allowance_instrument, standard_instruments
from tanso.services.venues import sealed_auctions as sa
from tanso.store import schema as t
from tanso.store.db import Database
from tests.conftest import add_participant, fund

ADMIN = Actor("OPERATOR", frozenset({Role.SCHEME_ADMINISTRATOR}))


class StepClock:
    """The database clock, set by the test: each reading a microsecond after the last."""

    def __init__(self, start: str) -> None:
        self.now = dt.datetime.fromisoformat(start)

    def set(self, at: str) -> None:
        self.now = dt.datetime.fromisoformat(at)

    def __call__(self) -> str:
        self.now += dt.timedelta(microseconds=1)
        return self.now.isoformat(timespec="microseconds").replace("+00:00", "Z")


@pytest.fixture
def market(db: Database) -> dict[str, Any]:
    """FY2026 under way: STEEL covered with allowances, GX-ALLOW-2026 listed and open."""
    clock = StepClock("2026-06-01T01:00:00+00:00")
    db.clock = clock
    x = Exchange(db, japan_calendar())
    steel = add_participant(db, "STEEL")
    gx.cover(db, SYSTEM, "STEEL", 2026, ["steel"])
    gx.allocate(db, SYSTEM, "STEEL", 2026, "quantity", {"quantity": 50_000, "reason": "test"})
    x.define_instrument(SYSTEM, allowance_instrument(2026))
    x.session(SYSTEM, "GX-ALLOW-2026", "open")
    return {"db": db, "clock": clock, "x": x, "steel": steel}


def _held(db: Database, account: str) -> dict[str, int]:
    out: dict[str, int] = registry.holdings(db, SYSTEM, account).totals.status
    return out


def _settle_all(db: Database) -> None:
    due = max(o.due_date for o in settlement.obligations(db, SYSTEM, "pending"))
    out = settlement.run(db, SYSTEM, dt.date.fromisoformat(due), early=True)
    assert out.failed == 0


def test_an_allowance_instrument_is_standard_from_fy2026_on(db: Database) -> None:
    db.clock = StepClock("2026-03-31T14:00:00+00:00")  # 23:00 JST, still FY2025
    assert not [s for s in standard_instruments(db) if s.id.startswith("GX-ALLOW-")]
    db.clock = StepClock("2027-04-01T00:00:00+00:00")  # 09:00 JST, FY2027
    allow = {s.id: s for s in standard_instruments(db) if s.id.startswith("GX-ALLOW-")}
    assert list(allow) == ["GX-ALLOW-2026", "GX-ALLOW-2027"]
    spec = allow["GX-ALLOW-2026"]
    e = spec.eligibility
    assert (e.schemes, e.vintage_from, e.vintage_to) == (("GXA",), 2026, 2026)
    assert spec.mode == "call" and spec.settlement_days == 5
    assert spec.reference_price == (1_700 + 4_300) // 2  # the middle of FY2026's band


def test_only_those_the_rules_let_hold_allowances_may_buy_them(market: dict[str, Any]) -> None:
    db, x = market["db"], market["x"]
    participants.create_participant(
        db,
        SYSTEM,
        participants.NewParticipant(
            "町", "Town", "local_government", ["trader"], None, False, "TOWN"
        ),
    )
    participants.set_status(db, SYSTEM, "TOWN", "active")
    fund(db, "TOWN", 10_000_000)
    with pytest.raises(Forbidden) as refused:
        x.place(
            Actor("TOWN", frozenset({Role.TRADER})), NewOrder("GX-ALLOW-2026", "buy", 10, 3_000)
        )
    assert refused.value.code == "allowance_holder_not_permitted"
    assert "domestic_corporation" in refused.value.message
    with db.read() as conn:
        assert (
            conn.execute(select(t.orders).where(t.orders.c.participant_id == "TOWN")).first()
            is None
        )
    buyer = add_participant(db, "TRADING_HOUSE")
    fund(db, "TRADING_HOUSE", 10_000_000)
    assert x.place(buyer, NewOrder("GX-ALLOW-2026", "buy", 10, 3_000)).status == "open"
    # a seller already holds them: selling is never refused for this reason
    sell = NewOrder("GX-ALLOW-2026", "sell", 10, 3_000, account_id="STEEL-GX")
    assert x.place(market["steel"], sell).status == "open"


def test_the_price_stability_operation_buys_at_the_floor_and_cancels_what_it_bought(
    market: dict[str, Any],
) -> None:
    db, x, steel = market["db"], market["x"], market["steel"]
    fund(db, "OPERATOR", 100_000_000)
    x.place(steel, NewOrder("GX-ALLOW-2026", "sell", 1_000, 1_700, account_id="STEEL-GX"))
    with pytest.raises(Forbidden):
        gx_market.buy(db, x, steel, "GX-ALLOW-2026", 600)
    with pytest.raises(InvalidInput):
        gx_market.buy(db, x, ADMIN, "GX-ALLOW-2026", 0)
    bought = gx_market.buy(db, x, ADMIN, "GX-ALLOW-2026", 600)
    assert (bought.kind, bought.price, bought.fiscal_year, bought.status) == (
        "buy",
        1_700,
        2026,
        "open",
    )
    x.session(SYSTEM, "GX-ALLOW-2026", "auction")
    with pytest.raises(Conflict) as unsettled:
        gx_market.cancel(db, ADMIN, 1)  # a buy counts once it settled
    assert unsettled.value.code == "exceeds_bought"
    _settle_all(db)
    assert _held(db, "OPERATOR-GXPS") == {"held": 600}
    done = gx_market.cancel(db, ADMIN, 400)
    assert (done.kind, done.quantity, done.status) == ("cancellation", 400, "cancelled")
    with pytest.raises(Conflict) as more:
        gx_market.cancel(db, ADMIN, 201)
    assert more.value.code == "exceeds_bought"
    # conserved: every allowance issued is held, surrendered or cancelled, nowhere twice
    assert _held(db, "OPERATOR-GXPS") == {"held": 200}
    steel_held = sum(_held(db, "STEEL-GX").values())
    with db.read() as conn:
        b = t.blocks.c
        cancelled = conn.execute(
            select(b.serial_start, b.serial_end).where(
                b.issuance_id.like("GXA-%"), b.status == "cancelled"
            )
        ).all()
    assert sum(e - s + 1 for s, e in cancelled) == 400
    assert steel_held + 200 + 400 == 50_000
    record = gx_market.record(db)
    assert (record.bought, record.cancelled, record.held) == (600, 400, 200)
    assert [(op.kind, op.quantity, op.filled) for op in record.operations] == [
        ("cancellation", 400, 400),
        ("buy", 600, 600),
    ]
    with db.read() as conn:
        j = t.journal.c
        entries = conn.execute(
            select(j.kind, j.payload).where(j.kind.in_(("credits.cancelled", "exchange.order")))
        ).all()
    reasons = [json.loads(p)["reason"] for k, p in entries if k == "credits.cancelled"]
    assert reasons == [gx_market.REASON]
    assert any(gx_market.CLIENT_ORDER_ID in p for k, p in entries if k == "exchange.order")
    assert audit.verify(db).ok


def test_fy2033_allowances_are_auctioned_by_the_administrator_with_a_reserve(
    db: Database,
) -> None:
    clock = StepClock("2033-05-10T00:00:00+00:00")
    db.clock = clock
    with pytest.raises(Conflict) as not_yet:
        gx.allocate(db, ADMIN, "OPERATOR", 2026, "auction", {"quantity": 10_000})
    assert not_yet.value.code == "auctions_not_provided"
    issued = gx.allocate(db, ADMIN, "OPERATOR", 2033, "auction", {"quantity": 10_000})
    assert (issued.account_id, issued.quantity) == ("OPERATOR-GX", 10_000)
    bidders = [add_participant(db, p) for p in ("POWER_A", "POWER_B", "POWER_C")]
    for b in bidders:
        fund(db, b.participant_id, 100_000_000)
    auction = sa.create(
        db,
        ADMIN,
        sa.NewSealedAuction(
            account_id="OPERATOR-GX",
            opens_at="2033-05-10T01:00:00Z",
            closes_at="2033-05-10T03:00:00Z",
            reserve=3_000,
            quantity=10_000,
            lot=100,
            title="GX-ETS FY2033 power-sector allowance auction",
        ),
    )
    clock.set("2033-05-10T02:00:00+00:00")
    a, b, c = bidders
    sa.place_bid(db, a, auction.id, "POWER_A-MAIN", 4_000, 6_000)
    sa.place_bid(db, b, auction.id, "POWER_B-MAIN", 3_500, 3_000)
    sa.place_bid(db, c, auction.id, "POWER_C-MAIN", 2_900, 5_000)  # below the reserve
    participants.create_participant(
        db,
        SYSTEM,
        participants.NewParticipant(
            "村", "Village", "local_government", ["trader"], None, False, "VILLAGE"
        ),
    )
    participants.set_status(db, SYSTEM, "VILLAGE", "active")
    fund(db, "VILLAGE", 100_000_000)
    village = Actor("VILLAGE", frozenset({Role.TRADER}))
    with pytest.raises(Forbidden) as barred:  # it could not receive what it would win
        sa.place_bid(db, village, auction.id, "VILLAGE-MAIN", 4_500, 1_000)
    assert barred.value.code == "allowance_holder_not_permitted"
    clock.set("2033-05-10T04:00:00+00:00")
    cleared = sa.clear_auction(db, SYSTEM, auction.id)
    assert cleared.result is not None
    assert cleared.result.clearing_price == 3_500 and cleared.result.sold == 9_000
    held = {p: _held(db, f"{p}-MAIN").get("held", 0) for p in ("POWER_A", "POWER_B", "POWER_C")}
    assert held == {"POWER_A": 6_000, "POWER_B": 3_000, "POWER_C": 0}
    vintages = registry.holdings(db, SYSTEM, "POWER_A-MAIN").totals.vintage
    assert vintages == {"2033": 6_000}
    assert _held(db, "OPERATOR-GX") == {"held": 1_000}  # unsold stays with the administrator
    assert audit.verify(db).ok


def test_the_demo_covers_ten_entities_one_of_them_short(db: Database) -> None:
    days = demo_days(dt.date(2026, 12, 7))
    clock = DemoClock(at_jst(days[0], 8, 30))
    db.clock = clock
    x = Exchange(db, japan_calendar())
    keys = demo_gx.prepare(db, x, clock, days)
    assert set(keys) == {demo_gx.VERIFIER.id} | {c.participant.id for c in demo_gx.COVERED}
    # the history's buyers lift the standing asks at an ordinary call auction
    buyer = add_participant(db, "TRADING_HOUSE")
    fund(db, "TRADING_HOUSE", 100_000_000)
    clock.set(at_jst(days[1], 9, 0))
    x.place(buyer, NewOrder(demo_gx.INSTRUMENT, "buy", 5_000, 2_900))
    x.session(SYSTEM, demo_gx.INSTRUMENT, "auction")
    line = demo_gx.seed(db, x, keys, clock, days)
    register = gc.register(db, 2026)
    assert len(register) == 10
    unverified = [r.participant_id for r in register if r.verified_emissions is None]
    assert unverified == [demo_gx.PENDING]  # on the verification body's screen
    assert [e.participant_id for e in gx.awaiting_verification(db, SYSTEM)] == unverified
    assert {r.sectors[0] for r in register} >= {
        "steel",
        "cement",
        "paper",
        "chemicals",
        "refining",
        "power",
    }
    verified = [r for r in register if r.verified_emissions is not None]
    assert all(100_000 <= (r.verified_emissions or 0) <= 20_000_000 for r in verified)
    methods = {
        a.method for r in register for a in gx.list_allocations(db, SYSTEM, r.participant_id, 2026)
    }
    assert methods == {"benchmark", "grandfathering"}
    short = {
        r.participant_id: gc.compliance(db, SYSTEM, r.participant_id, 2026).shortfall
        for r in verified
        if r.status != "compliant"
    }
    assert list(short) == [demo_gx.SHORT] and (short[demo_gx.SHORT] or 0) > 0
    assert demo_gx.SHORT in line and "5,000 t" in line
    mixed = next(r for r in register if r.participant_id == demo_gx.MIXED)
    assert mixed.status == "compliant" and mixed.surrendered_credits == demo_gx.MIXED_CREDITS
    assert (
        mixed.ceiling_quantity
        == (
            (mixed.verified_emissions or 0)
            - mixed.surrendered_allowances
            - mixed.surrendered_credits
        )
        > 0
    )
    with db.read() as conn:
        numbers = (
            conn.execute(
                select(t.participants.c.corporate_number).where(t.participants.c.id.in_(list(keys)))
            )
            .scalars()
            .all()
        )
    assert len(set(numbers)) == 11 and all(n and len(n) == 13 for n in numbers)
    assert audit.verify(db).ok
