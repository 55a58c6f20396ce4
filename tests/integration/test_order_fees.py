"""Fees fixed when an order is accepted: a resting order pays the fees it reserved at entry, a
fee schedule change applies to new orders only, and no refusal names the other side."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from tanso.domain.errors import Conflict
from tanso.domain.fees import FeeSchedule
from tanso.services.clearing import escrow, settlement
from tanso.services.common import SYSTEM
from tanso.services.ledger import audit
from tanso.services.trading.exchange import Exchange, NewOrder
from tanso.store import schema as t
from tanso.store.db import Database
from tests.integration.test_exchange_service import _cash
from tests.integration.test_exchange_service import market as market  # the fixture

pytestmark = pytest.mark.fast_backends(
    "sqlite", "postgres"
)  # cheap: both databases in the fast tier


def _obligation(db: Database) -> Any:
    with db.read() as conn:
        return conn.execute(select(t.settlement_obligations)).one()


def test_a_fee_raised_after_a_buy_rests_does_not_block_the_price_level(
    market: dict[str, Any],
) -> None:
    x: Exchange = market["x"]
    db: Database = market["db"]
    settlement.set_fees(db, SYSTEM, "*", "buy", FeeSchedule(per_tonne=2))
    buy = x.place(market["buyer"], NewOrder("JC-ES", "buy", 500, 2_000))
    assert _cash(db, "BUYER")[1] == 500 * 2_000 + 1_000
    # the operator raises the fee beyond the buyer's free cash: the resting buy keeps the fee
    # it reserved (before, every crossing sell failed with 409 naming the buyer's cash account)
    settlement.set_fees(db, SYSTEM, "*", "buy", FeeSchedule(per_tonne=200_000))
    settlement.set_fees(db, SYSTEM, "*", "sell", FeeSchedule(per_trade=7))
    x.place(market["seller"], NewOrder("JC-ES", "sell", 500, 2_000))
    result = x.session(SYSTEM, "JC-ES", "auction")
    assert (result.auctions[0].price, result.auctions[0].volume) == (2_000, 500)
    ob = _obligation(db)
    assert (ob.buyer_fee, ob.seller_fee) == (1_000, 7)  # the sell's fee is the new one
    assert _cash(db, "BUYER") == (50_000_000, 500 * 2_000 + 1_000)
    with db.read() as conn:
        fees = conn.execute(select(t.orders.c.fees).where(t.orders.c.id == buy.id)).scalar_one()
    assert json.loads(fees) == {"per_tonne": 2, "bps": 0, "per_trade": 0}
    assert audit.verify(db).ok


def test_a_new_buy_order_reserves_the_fee_in_force_when_it_is_accepted(
    market: dict[str, Any],
) -> None:
    x: Exchange = market["x"]
    db: Database = market["db"]
    first = x.place(market["buyer"], NewOrder("JC-ES", "buy", 100, 2_000))
    settlement.set_fees(db, SYSTEM, "JC-ES", "buy", FeeSchedule(per_tonne=3))
    x.place(market["buyer"], NewOrder("JC-ES", "buy", 100, 2_000))
    assert _cash(db, "BUYER")[1] == 100 * 2_000 + (100 * 2_000 + 300)
    # an amendment keeps the order's fees: a larger quantity reserves no fee for the first
    x.amend(market["buyer"], first.id, quantity=50)
    assert _cash(db, "BUYER")[1] == 50 * 2_000 + (100 * 2_000 + 300)
    x.place(market["seller"], NewOrder("JC-ES", "sell", 150, 2_000))
    assert x.session(SYSTEM, "JC-ES", "auction").auctions[0].volume == 150
    with db.read() as conn:
        fees = [
            r.buyer_fee
            for r in conn.execute(
                select(t.settlement_obligations).order_by(t.settlement_obligations.c.deal_id)
            )
        ]
    assert sorted(fees) == [0, 300]
    assert _cash(db, "BUYER")[1] == 50 * 2_000 + 100 * 2_000 + 300
    assert audit.verify(db).ok


def test_a_match_that_cannot_take_its_holds_names_no_counterparty(
    market: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defence in depth: were a buy's hold short at the match, the seller is told nothing about
    the buyer (no cash account, no participant)."""
    x: Exchange = market["x"]
    x.place(market["buyer"], NewOrder("JC-ES", "buy", 10, 2_000))

    def short(*_a: Any, **_k: Any) -> Any:
        raise Conflict("insufficient_cash", "Cash account CASH-BUYER-JPY does not have 1 JPY.")

    x.place(market["seller"], NewOrder("JC-ES", "sell", 10, 2_000))
    monkeypatch.setattr(escrow, "open_deal", short)
    with pytest.raises(Conflict) as err:
        x.session(SYSTEM, "JC-ES", "auction")
    assert "BUYER" not in str(err.value) and "CASH-" not in str(err.value)
    assert err.value.code == "trade_not_possible"
