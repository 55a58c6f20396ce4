"""Settlement: delivery versus payment on T+5, idempotent runs, failures and their resolution."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from tanso.domain.errors import TansoError
from tanso.domain.fees import FeeSchedule
from tanso.domain.instruments import Eligibility, InstrumentSpec
from tanso.services.clearing import settlement
from tanso.services.common import SYSTEM
from tanso.services.ledger import audit, participants, registry
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange, NewOrder
from tanso.store import schema as t
from tanso.store.db import Database
from tests.conftest import add_issuance, add_participant, fund

TRADE_DAY = dt.date(2026, 1, 5)
DUE = dt.date(2026, 1, 13)  # T+5: Jan 12 is 成人の日


@pytest.fixture
def traded(db: Database) -> dict[str, Any]:
    x = Exchange(db, japan_calendar())
    seller, buyer = add_participant(db, "SELLER"), add_participant(db, "BUYER")
    issuance = add_issuance(db, "SELLER-MAIN", 5_000, category="ENERGY_SAVING")
    fund(db, "BUYER", 100_000_000)
    x.define_instrument(
        SYSTEM,
        InstrumentSpec(
            "ES",
            "Energy saving",
            "省エネ",
            Eligibility(categories=("ENERGY_SAVING",)),
            reference_price=2_000,
        ),
    )
    x.session(SYSTEM, "ES", "open")
    return {"x": x, "seller": seller, "buyer": buyer, "issuance": issuance, "db": db}


def _trade(m: dict[str, Any], quantity: int = 300, price: int = 2_000) -> str:
    x: Exchange = m["x"]
    x.place(m["buyer"], NewOrder("ES", "buy", quantity, price))
    x.place(m["seller"], NewOrder("ES", "sell", quantity, price))
    result = x.session(SYSTEM, "ES", "auction")
    return result.trades[0].id


def _cash(db: Database, pid: str) -> tuple[int, int]:
    with db.read() as conn:
        row = conn.execute(
            select(t.cash_accounts).where(t.cash_accounts.c.id == f"CASH-{pid}-JPY")
        ).one()
    return row.balance, row.reserved


def _held(db: Database, account: str) -> int:
    return registry.holdings(db, SYSTEM, account).totals.status.get("held", 0)


def test_a_trade_settles_on_its_date_with_both_legs(traded: dict[str, Any]) -> None:
    db = traded["db"]
    trade_id = _trade(traded)
    assert settlement.run(db, SYSTEM, DUE - dt.timedelta(days=1), early=True).settled == 0
    out = settlement.run(db, SYSTEM, DUE, early=True)
    assert (out.settled, out.failed) == (1, 0)
    assert _held(db, "BUYER-MAIN") == 300
    assert _cash(db, "BUYER") == (100_000_000 - 600_000, 0)
    assert _cash(db, "SELLER") == (600_000, 0)
    mine = settlement.obligations(db, traded["buyer"])
    assert mine[0].deal_id == trade_id and mine[0].status == "settled"
    # the buyer sees exactly which serials it received for the trade
    held = {b.serials for b in registry.holdings(db, traded["buyer"], "BUYER-MAIN").blocks}
    assert set(mine[0].serials_received or ()) == held
    assert audit.verify(db).ok


def test_running_the_same_date_twice_settles_nothing_twice(traded: dict[str, Any]) -> None:
    db = traded["db"]
    _trade(traded)
    settlement.run(db, SYSTEM, DUE, early=True)
    again = settlement.run(db, SYSTEM, DUE, early=True)
    assert (again.settled, again.failed) == (0, 0)
    assert _held(db, "BUYER-MAIN") == 300
    assert _cash(db, "SELLER") == (600_000, 0)


def test_a_suspended_seller_fails_the_obligation_and_nothing_moves(traded: dict[str, Any]) -> None:
    db = traded["db"]
    trade_id = _trade(traded)
    participants.set_status(db, SYSTEM, "SELLER", "suspended")
    out = settlement.run(db, SYSTEM, DUE, early=True)
    assert (out.settled, out.failed) == (0, 1)
    assert out.failures[0].reason == "seller_not_active"
    assert _held(db, "BUYER-MAIN") == 0
    assert _cash(db, "BUYER") == (100_000_000, 600_000)
    ob = settlement.obligations(db, traded["buyer"])[0]
    assert ob.status == "failed" and "seller_not_active" in (ob.reason or "")
    # the operator cannot settle it while the seller is suspended
    with pytest.raises(TansoError) as err:
        settlement.resolve(db, SYSTEM, trade_id, "settle")
    assert err.value.code == "seller_not_active"
    participants.set_status(db, SYSTEM, "SELLER", "active")
    settlement.set_fees(db, SYSTEM, "ES", "sell", FeeSchedule(late_charge=5_000))
    done = settlement.resolve(db, SYSTEM, trade_id, "settle")
    assert done.late_charge == 5_000
    assert _held(db, "BUYER-MAIN") == 300
    assert _cash(db, "SELLER") == (600_000 - 5_000, 0)
    assert audit.verify(db).ok


def test_cancelling_a_failed_trade_releases_both_reservations(traded: dict[str, Any]) -> None:
    db = traded["db"]
    trade_id = _trade(traded)
    participants.set_status(db, SYSTEM, "BUYER", "suspended")
    settlement.run(db, SYSTEM, DUE, early=True)
    settlement.resolve(db, SYSTEM, trade_id, "cancel")
    assert _cash(db, "BUYER") == (100_000_000, 0)
    assert _held(db, "SELLER-MAIN") == 5_000
    assert settlement.obligations(db, SYSTEM)[0].status == "cancelled"
    assert audit.verify(db).ok


def test_frozen_credits_fail_settlement_until_unfrozen(traded: dict[str, Any]) -> None:
    db = traded["db"]
    _trade(traded)
    issuance = traded["issuance"]
    registry.freeze(db, SYSTEM, f"{issuance}-1-5000", True, "dispute")
    out = settlement.run(db, SYSTEM, DUE, early=True)
    assert out.failures[0].reason == "credits_frozen"
    registry.freeze(db, SYSTEM, f"{issuance}-1-5000", False, "dispute resolved")
    trade_id = out.failures[0].deal_id
    settlement.resolve(db, SYSTEM, trade_id, "settle")
    assert _held(db, "BUYER-MAIN") == 300
    assert audit.verify(db).ok


def test_fees_go_to_the_operator_and_the_report_reconciles(traded: dict[str, Any]) -> None:
    db = traded["db"]
    settlement.set_fees(db, SYSTEM, "*", "buy", FeeSchedule(per_tonne=2, bps=10))
    settlement.set_fees(db, SYSTEM, "ES", "sell", FeeSchedule(per_trade=500))
    _trade(traded, quantity=300, price=2_000)
    value = 600_000
    buyer_fee = 300 * 2 + value * 10 // 10_000
    settlement.run(db, SYSTEM, DUE, early=True)
    assert _cash(db, "BUYER") == (100_000_000 - value - buyer_fee, 0)
    assert _cash(db, "SELLER") == (value - 500, 0)
    assert _cash(db, "OPERATOR") == (buyer_fee + 500, 0)
    rep = settlement.report(db, SYSTEM, DUE)
    assert rep.reconciles and rep.cash_moved == value + buyer_fee + 500
    assert rep.credits_moved == rep.quantity_traded == 300
    assert "reconciles,True" in settlement.report_csv(rep).replace(" ", "")
    assert audit.verify(db).ok


def test_a_buy_order_reserves_its_maximum_fee(traded: dict[str, Any]) -> None:
    db = traded["db"]
    settlement.set_fees(db, SYSTEM, "ES", "buy", FeeSchedule(per_tonne=3, bps=25, per_trade=100))
    traded["x"].place(traded["buyer"], NewOrder("ES", "buy", 10, 2_001))
    cap = 10 * 3 + -(-(2_001 * 10 * 25) // 10_000) + 100 * 10
    assert _cash(db, "BUYER") == (100_000_000, 2_001 * 10 + cap)


def test_only_the_operator_runs_settlement(traded: dict[str, Any]) -> None:
    with pytest.raises(TansoError) as err:
        settlement.run(traded["db"], traded["buyer"], DUE, early=True)
    assert err.value.code == "role_required"


def test_cash_movements_never_name_the_counterparty_of_a_trade(traded: dict[str, Any]) -> None:
    from tanso.services.ledger import cash

    db = traded["db"]
    _trade(traded)
    settlement.run(db, SYSTEM, DUE, early=True)
    for actor, pid in ((traded["buyer"], "BUYER"), (traded["seller"], "SELLER")):
        moves = cash.movements(db, actor, f"CASH-{pid}-JPY")
        assert "trade counterparty" in {m.counterparty for m in moves}
        assert not any("SELLER" in str(m) for m in moves) or pid == "SELLER"
        assert not any("BUYER" in str(m) for m in moves) or pid == "BUYER"
