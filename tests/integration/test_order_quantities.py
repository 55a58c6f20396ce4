"""An order's quantities add up (issue 18, defect 1): quantity = filled + cancelled + remaining,
and filled is what its trades that stand hold. A cancelled or expired order used to report its
whole unfilled quantity as filled."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tanso.domain.errors import TansoError
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange, NewOrder, own_orders
from tanso.store import schema as t
from tanso.store.db import Database
from tests.conftest import add_issuance, add_participant, energy_saving, fund, open_market


@pytest.fixture
def market(db: Database) -> dict[str, Any]:
    x = Exchange(db, japan_calendar())
    seller, buyer = add_participant(db, "SELLER"), add_participant(db, "BUYER")
    add_issuance(db, "SELLER-MAIN", 100_000, vintage=2020, category="ENERGY_SAVING")
    fund(db, "BUYER", 10**10)
    open_market(x, energy_saving("continuous"))
    return {"db": db, "x": x, "seller": seller, "buyer": buyer}


def test_a_cancelled_order_says_it_filled_nothing(market: dict[str, Any]) -> None:
    x, buyer = market["x"], market["buyer"]
    placed = x.place(buyer, NewOrder("JC-ES", "buy", 10, 1_900))
    cancelled = x.cancel(buyer, placed.id)
    assert (cancelled.status, cancelled.filled, cancelled.cancelled, cancelled.remaining) == (
        "cancelled",
        0,
        10,
        0,
    )


def test_a_partly_filled_order_then_cancelled_keeps_what_it_filled(market: dict[str, Any]) -> None:
    x, buyer, seller = market["x"], market["buyer"], market["seller"]
    resting = x.place(buyer, NewOrder("JC-ES", "buy", 10, 2_000))
    x.place(seller, NewOrder("JC-ES", "sell", 4, 2_000))
    after = x.cancel(buyer, resting.id)
    assert (after.filled, after.cancelled, after.remaining, after.quantity) == (4, 6, 0, 10)
    ioc = x.place(buyer, NewOrder("JC-ES", "buy", 10, 2_000, tif="ioc"))
    assert (ioc.filled, ioc.cancelled, ioc.remaining) == (0, 10, 0)  # nothing to meet it


ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(["buy", "sell", "cancel", "amend", "ioc"]),
        st.integers(1, 30),
        st.integers(-2, 2),
    ),
    max_size=25,
)


@settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=ACTIONS)
def test_quantities_always_add_up_to_the_trades_that_stand(
    market: dict[str, Any], actions: list[tuple[str, int, int]]
) -> None:
    db, x = market["db"], market["x"]
    mine: list[tuple[Any, str]] = []
    for kind, quantity, steps in actions:
        price = 2_000 + steps * 10
        try:
            if kind in ("buy", "sell", "ioc"):
                who = market["seller"] if kind == "sell" else market["buyer"]
                side = "sell" if kind == "sell" else "buy"
                tif = "ioc" if kind == "ioc" else "day"
                mine.append(
                    (who, x.place(who, NewOrder("JC-ES", side, quantity, price, tif=tif)).id)
                )
            elif kind == "cancel" and mine:
                who, oid = mine[quantity % len(mine)]
                x.cancel(who, oid)
            elif kind == "amend" and mine:
                who, oid = mine[quantity % len(mine)]
                x.amend(who, oid, quantity=quantity)
        except TansoError:
            pass  # an order gone already: nothing changed
    tr = t.trades.c
    with db.read() as conn:
        traded: dict[str, int] = {}
        for side in (tr.buy_order_id, tr.sell_order_id):
            q = select(side, func.sum(tr.quantity)).where(tr.busted.is_(False)).group_by(side)
            for oid, n in conn.execute(q):
                traded[oid] = traded.get(oid, 0) + int(n)
    for who in (market["buyer"], market["seller"]):
        for o in own_orders(db, who, limit=1_000):
            assert o.quantity == o.filled + o.cancelled + o.remaining, o
            assert o.filled == traded.get(o.id, 0), o
            assert min(o.filled, o.cancelled, o.remaining) >= 0, o


def test_a_refused_order_says_the_figures_its_sender_needs(market: dict[str, Any]) -> None:
    """Issue 18, defect 9: a price outside the limits names today's limits; a sell without the
    credits says how many the account holds; an off-tick price names the tick."""
    x, buyer, seller = market["x"], market["buyer"], market["seller"]
    with pytest.raises(TansoError) as outside:
        x.place(buyer, NewOrder("JC-ES", "buy", 10, 9_000))
    lower, upper = x.engine.limits("JC-ES")
    assert outside.value.code == "outside_price_limit"
    assert (
        f"¥{lower:,} to ¥{upper:,}" in outside.value.message and "¥9,000" in outside.value.message
    )
    with pytest.raises(TansoError) as short:
        x.place(seller, NewOrder("JC-ES", "sell", 200_000, 2_000))
    assert short.value.code == "insufficient_credits"
    assert "holds 100,000 eligible credits but 200,000 were asked for" in short.value.message
    resting = x.place(buyer, NewOrder("JC-ES", "buy", 10, 1_900))
    with pytest.raises(TansoError) as amended:
        x.amend(buyer, resting.id, price=9_000)
    assert f"¥{lower:,} to ¥{upper:,}" in amended.value.message
