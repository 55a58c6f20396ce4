"""The exchange engine: sessions, validation, ザラバ matching, call auctions and their rules."""

from __future__ import annotations

from typing import Any, cast

from hypothesis import given, settings
from hypothesis import strategies as st

from tanso.domain.exchange import (
    Accepted,
    AmendOrder,
    Cancelled,
    CancelOrder,
    CloseSession,
    Command,
    DefineInstrument,
    Engine,
    Halt,
    OpenSession,
    PlaceOrder,
    PreClose,
    PreTradeRequest,
    Rejected,
    Resume,
    RunAuction,
    Trade,
    price_limits,
)


def engine(mode: str = "call", **kw: Any) -> Engine:
    e = Engine()
    e.handle(DefineInstrument("X", mode, kw.pop("tick", 1), kw.pop("lot", 1), 500, **kw))
    return e


def opened(mode: str = "call", **kw: Any) -> Engine:
    e = engine(mode, **kw)
    e.handle(OpenSession("X"))
    return e


def order(
    e: Engine,
    oid: str,
    who: str,
    side: str,
    price: int | None,
    quantity: int,
    tif: str = "day",
) -> list[dict[str, Any]]:
    kind = "market" if price is None else "limit"
    return [
        ev.to_json() for ev in e.handle(PlaceOrder(oid, "X", who, side, kind, price, quantity, tif))
    ]


def run(e: Engine, cmd: Command) -> list[dict[str, Any]]:
    return [ev.to_json() for ev in e.handle(cmd)]


def trades(events: list[dict[str, Any]]) -> list[tuple[str, str, int, int]]:
    return [
        (ev["buy"], ev["sell"], ev["price"], ev["quantity"])
        for ev in events
        if ev["event"] == "trade"
    ]


def reasons(events: list[dict[str, Any]]) -> list[str]:
    return [ev["reason"] for ev in events if ev["event"] in ("rejected", "cancelled")]


# ---------------------------------------------------------------------- call auctions


def test_call_auction_worked_example_trades_3000_at_499() -> None:
    e = opened(market_orders=True)
    order(e, "ms", "A", "sell", None, 1_000)
    order(e, "mb", "B", "buy", None, 2_000)
    order(e, "s1", "C", "sell", 500, 5_000)
    order(e, "s2", "D", "sell", 499, 2_000)
    order(e, "b1", "E", "buy", 499, 1_000)
    order(e, "b2", "F", "buy", 498, 5_000)
    events = run(e, RunAuction("X"))
    assert events[0] == {
        "event": "auction",
        "instrument": "X",
        "price": 499,
        "volume": 3_000,
        "kind": "call",
        "reference_price": 499,
    }
    assert sum(q for *_, q in trades(events)) == 3_000
    assert {p for _, _, p, _ in trades(events)} == {499}
    snap = e.book_snapshot("X")
    assert snap["reference_price"] == 499
    assert [lv[0] for lv in snap["bids"]] == [498] and [lv[0] for lv in snap["asks"]] == [500]


def test_call_auction_without_a_trade_keeps_the_reference_price() -> None:
    e = opened()
    order(e, "b", "A", "buy", 490, 10)
    order(e, "s", "B", "sell", 510, 10)
    events = run(e, RunAuction("X"))
    assert events == [
        {
            "event": "auction",
            "instrument": "X",
            "price": None,
            "volume": 0,
            "kind": "call",
            "reference_price": 500,
        }
    ]


def test_call_mode_orders_do_not_trade_before_the_auction() -> None:
    e = opened()
    order(e, "s", "A", "sell", 500, 10)
    assert order(e, "b", "B", "buy", 510, 10) == [{"event": "accepted", "id": "b"}]


def test_call_auction_shares_the_clearing_level_larger_participant_first() -> None:
    e = opened()
    order(e, "b1", "SMALL", "buy", 500, 1)
    order(e, "b2", "BIG", "buy", 500, 3)
    order(e, "s1", "S", "sell", 500, 2)
    ts = trades(run(e, RunAuction("X")))
    filled = {b: sum(q for bb, _, _, q in ts if bb == b) for b in ("b1", "b2")}
    assert filled == {"b1": 1, "b2": 1}


def test_call_auction_better_priced_orders_fill_completely() -> None:
    e = opened()
    order(e, "b1", "A", "buy", 505, 7)
    order(e, "b2", "B", "buy", 500, 10)
    order(e, "s1", "C", "sell", 500, 12)
    ts = trades(run(e, RunAuction("X")))
    assert sum(q for b, _, _, q in ts if b == "b1") == 7
    assert sum(q for b, _, _, q in ts if b == "b2") == 5


def test_price_limits_follow_the_new_reference_price_after_an_auction() -> None:
    e = opened(price_limit_pct=10)
    order(e, "b", "A", "buy", 540, 10)
    order(e, "s", "B", "sell", 540, 10)
    run(e, RunAuction("X"))
    assert e.limits("X") == price_limits(540, 10, 1) == (486, 594)
    assert reasons(order(e, "late", "A", "buy", 595, 1)) == ["outside_price_limit"]


def test_orders_left_outside_new_price_limits_are_cancelled() -> None:
    e = opened(price_limit_pct=10)
    order(e, "low", "A", "buy", 455, 10, tif="gtc")
    order(e, "b", "A", "buy", 545, 10)
    order(e, "s", "B", "sell", 545, 10)
    events = run(e, RunAuction("X"))
    assert {
        "event": "cancelled",
        "id": "low",
        "quantity": 10,
        "reason": "outside_price_limit",
    } in events


def test_price_limit_is_at_least_one_tick_and_rounded_inwards() -> None:
    assert price_limits(500, 90, 1) == (50, 950)
    assert price_limits(500, 9, 20) == (460, 540)  # ±45 rounds in to ±40
    assert price_limits(100, 0, 5) == (95, 105)
    assert price_limits(10, 90, 5) == (5, 15)


def test_ioc_waits_for_the_call_auction_and_its_remainder_is_cancelled() -> None:
    e = opened()
    order(e, "b", "A", "buy", 500, 10, tif="ioc")
    order(e, "s", "B", "sell", 500, 4)
    events = run(e, RunAuction("X"))
    assert trades(events) == [("b", "s", 500, 4)]
    assert {"event": "cancelled", "id": "b", "quantity": 6, "reason": "unfilled"} in events


def test_fok_that_cannot_fill_in_full_at_the_auction_is_cancelled_before_clearing() -> None:
    e = opened()
    order(e, "fok", "A", "buy", 500, 10, tif="fok")
    order(e, "b", "B", "buy", 499, 3)
    order(e, "s", "C", "sell", 499, 4)
    events = run(e, RunAuction("X"))
    assert events[0]["event"] == "cancelled" and events[0]["id"] == "fok"
    assert trades(events) == [("b", "s", 499, 3)]


def test_call_auction_self_trade_prevention_cancels_the_newer_crossing_order() -> None:
    e = opened()
    order(e, "a_buy", "A", "buy", 505, 10)
    order(e, "b_sell", "B", "sell", 500, 5)
    order(e, "a_sell", "A", "sell", 500, 10)  # newer and crosses A's own buy
    events = run(e, RunAuction("X"))
    assert {"event": "cancelled", "id": "a_sell", "quantity": 10, "reason": "self_trade"} in events
    for ev in events:
        if ev["event"] == "trade":
            assert ev["buyer"] != ev["seller"]


# ---------------------------------------------------------------------- continuous trading


def test_continuous_orders_before_open_wait_for_the_opening_auction() -> None:
    e = engine("continuous")
    order(e, "b", "A", "buy", 505, 10)
    assert order(e, "s", "B", "sell", 495, 10) == [{"event": "accepted", "id": "s"}]
    events = run(e, OpenSession("X"))
    assert events[0]["kind"] == "opening" and events[0]["price"] is not None
    assert trades(events) == [("b", "s", events[0]["price"], 10)]
    assert events[-1] == {"event": "session", "instrument": "X", "state": "open"}


def test_continuous_incoming_order_trades_at_the_resting_price() -> None:
    e = opened("continuous")
    order(e, "s", "A", "sell", 500, 10)
    assert trades(order(e, "b", "B", "buy", 510, 4)) == [("b", "s", 500, 4)]


def test_continuous_price_then_time_priority() -> None:
    e = opened("continuous")
    order(e, "s1", "A", "sell", 501, 5)
    order(e, "s2", "B", "sell", 500, 5)
    order(e, "s3", "C", "sell", 500, 5)
    ts = trades(order(e, "b", "D", "buy", 501, 12))
    assert ts == [("b", "s2", 500, 5), ("b", "s3", 500, 5), ("b", "s1", 501, 2)]


def test_continuous_remainder_of_a_limit_order_rests() -> None:
    e = opened("continuous")
    order(e, "s", "A", "sell", 500, 5)
    order(e, "b", "B", "buy", 500, 8)
    assert e.book_snapshot("X")["bids"] == [[500, 3, [["b", "B", 3, "day"]]]]


def test_ioc_trades_what_it_can_and_cancels_the_rest() -> None:
    e = opened("continuous")
    order(e, "s", "A", "sell", 500, 5)
    events = order(e, "b", "B", "buy", 500, 8, tif="ioc")
    assert trades(events) == [("b", "s", 500, 5)]
    assert events[-1] == {"event": "cancelled", "id": "b", "quantity": 3, "reason": "unfilled"}
    assert e.book_snapshot("X")["bids"] == []


def test_fok_fills_entirely_or_not_at_all() -> None:
    e = opened("continuous")
    order(e, "s", "A", "sell", 500, 5)
    events = order(e, "b1", "B", "buy", 500, 8, tif="fok")
    assert trades(events) == [] and reasons(events) == ["unfilled"]
    assert trades(order(e, "b2", "B", "buy", 500, 5, tif="fok")) == [("b2", "s", 500, 5)]


def test_continuous_self_trade_prevention_cancels_the_incoming_order() -> None:
    e = opened("continuous")
    order(e, "s1", "B", "sell", 500, 5)
    order(e, "s2", "A", "sell", 500, 5)
    order(e, "s3", "B", "sell", 500, 5)
    events = order(e, "b", "A", "buy", 500, 15)
    assert trades(events) == [("b", "s1", 500, 5)]
    assert events[-1] == {"event": "cancelled", "id": "b", "quantity": 10, "reason": "self_trade"}
    assert [o[0] for o in e.book_snapshot("X")["asks"][0][2]] == ["s2", "s3"]


def test_market_order_in_continuous_trading_never_rests() -> None:
    e = opened("continuous", market_orders=True)
    order(e, "s", "A", "sell", 500, 5)
    events = order(e, "b", "B", "buy", None, 8)
    assert trades(events) == [("b", "s", 500, 5)] and reasons(events) == ["unfilled"]


def test_closing_auction_runs_over_orders_entered_in_pre_close() -> None:
    e = opened("continuous")
    run(e, PreClose("X"))
    order(e, "b", "A", "buy", 505, 10)
    order(e, "s", "B", "sell", 500, 10)
    events = run(e, CloseSession("X"))
    assert events[0]["kind"] == "closing" and events[0]["volume"] == 10
    assert events[-1]["state"] == "closed"


def test_continuous_trades_set_last_price_but_not_reference_price() -> None:
    e = opened("continuous")
    order(e, "s", "A", "sell", 520, 5)
    order(e, "b", "B", "buy", 520, 5)
    snap = e.book_snapshot("X")
    assert snap["last_price"] == 520 and snap["reference_price"] == 500


# ---------------------------------------------------------------------- amend and cancel


def test_amend_quantity_down_keeps_time_priority() -> None:
    e = opened("continuous")
    order(e, "s1", "A", "sell", 500, 10)
    order(e, "s2", "B", "sell", 500, 10)
    assert run(e, AmendOrder("s1", quantity=6))[0]["kept_priority"] is True
    assert trades(order(e, "b", "C", "buy", 500, 6)) == [("b", "s1", 500, 6)]


def test_amend_quantity_up_loses_time_priority() -> None:
    e = opened("continuous")
    order(e, "s1", "A", "sell", 500, 10)
    order(e, "s2", "B", "sell", 500, 10)
    assert run(e, AmendOrder("s1", quantity=12))[0]["kept_priority"] is False
    assert trades(order(e, "b", "C", "buy", 500, 6)) == [("b", "s2", 500, 6)]


def test_amend_price_loses_time_priority_and_can_trade_at_once() -> None:
    e = opened("continuous")
    order(e, "s1", "A", "sell", 501, 10)
    order(e, "b1", "B", "buy", 499, 10)
    events = run(e, AmendOrder("b1", price=501))
    assert events[0]["event"] == "amended" and trades(events) == [("b1", "s1", 501, 10)]


def test_amend_to_an_off_tick_price_is_rejected() -> None:
    e = opened(tick=5)
    order(e, "b", "A", "buy", 495, 10)
    assert reasons(run(e, AmendOrder("b", price=497))) == ["off_tick"]


def test_cancel_returns_the_open_quantity_and_unknown_ids_are_rejected() -> None:
    e = opened()
    order(e, "b", "A", "buy", 495, 10)
    assert run(e, CancelOrder("b")) == [
        {"event": "cancelled", "id": "b", "quantity": 10, "reason": "cancelled"}
    ]
    assert reasons(run(e, CancelOrder("b"))) == ["unknown_order"]
    assert reasons(run(e, AmendOrder("zz", quantity=1))) == ["unknown_order"]


# ---------------------------------------------------------------------- validation, sessions


def test_rejections_carry_their_reason_codes() -> None:
    e = opened(tick=5, lot=10)
    assert reasons(order(e, "a", "A", "buy", 497, 10)) == ["off_tick"]
    assert reasons(order(e, "b", "A", "buy", 495, 15)) == ["not_whole_lot"]
    assert reasons(order(e, "c", "A", "buy", 2_000, 10)) == ["outside_price_limit"]
    assert reasons(order(e, "d", "A", "buy", None, 10)) == ["market_orders_not_allowed"]
    assert reasons(order(e, "e", "A", "buy", 495, 0)) == ["invalid_quantity"]
    assert reasons(order(e, "f", "A", "buy", -5, 10)) == ["invalid_price"]
    order(e, "g", "A", "buy", 495, 10)
    assert reasons(order(e, "g", "A", "buy", 495, 10)) == ["duplicate_order_id"]
    bad = e.handle(PlaceOrder("h", "NOPE", "A", "buy", "limit", 495, 10, "day"))
    assert [ev.to_json()["reason"] for ev in bad] == ["unknown_instrument"]


def test_call_mode_refuses_orders_when_closed_or_halted() -> None:
    e = engine()
    assert reasons(order(e, "a", "A", "buy", 500, 1)) == ["market_closed"]
    run(e, OpenSession("X"))
    run(e, Halt("X"))
    assert reasons(order(e, "b", "A", "buy", 500, 1)) == ["halted"]
    assert reasons(run(e, RunAuction("X"))) == ["halted"]
    run(e, Resume("X"))
    assert order(e, "c", "A", "buy", 500, 1) == [{"event": "accepted", "id": "c"}]


def test_day_orders_expire_at_close_and_gtc_orders_persist() -> None:
    e = opened()
    order(e, "day", "A", "buy", 495, 10)
    order(e, "gtc", "A", "buy", 494, 10, tif="gtc")
    events = run(e, CloseSession("X"))
    assert {"event": "cancelled", "id": "day", "quantity": 10, "reason": "expired"} in events
    assert [lv[0] for lv in e.book_snapshot("X")["bids"]] == [494]


def test_pre_trade_check_can_refuse_an_order() -> None:
    seen: list[PreTradeRequest] = []

    def check(req: PreTradeRequest) -> str | None:
        seen.append(req)
        return "insufficient_cash" if req.quantity > 5 else None

    e = Engine(pre_trade=check)
    e.handle(DefineInstrument("X", "call", 1, 1, 500))
    e.handle(OpenSession("X"))
    assert reasons(order(e, "a", "A", "buy", 500, 6)) == ["insufficient_cash"]
    assert order(e, "b", "A", "buy", 500, 5) == [{"event": "accepted", "id": "b"}]
    assert seen[-1].unit_price == 500


# ---------------------------------------------------------------------- properties

command_step = st.tuples(
    st.sampled_from(["order", "order", "order", "cancel", "amend", "auction", "close", "open"]),
    st.integers(0, 30),  # order id number
    st.sampled_from("ABCD"),
    st.sampled_from(["buy", "sell"]),
    st.integers(-6, 6),  # price offset in ticks
    st.integers(1, 5),  # lots
    st.sampled_from(["day", "gtc", "ioc", "fok", "day"]),
    st.booleans(),  # market order
)


def _commands(mode: str, steps: list[tuple[Any, ...]]) -> list[Command]:
    cmds: list[Command] = [
        DefineInstrument("X", mode, 5, 10, 500, price_limit_pct=2, market_orders=True),
        OpenSession("X"),
    ]
    for op, n, who, side, off, lots, tif, market in steps:
        if op == "order":
            price = None if market else 500 + off * 5
            kind = "market" if market else "limit"
            cmds.append(PlaceOrder(f"o{n}", "X", who, side, kind, price, lots * 10, tif))
        elif op == "cancel":
            cmds.append(CancelOrder(f"o{n}"))
        elif op == "amend":
            cmds.append(
                AmendOrder(f"o{n}", quantity=lots * 10, price=500 + off * 5 if n % 2 else None)
            )
        elif op == "auction":
            cmds.append(RunAuction("X"))
        elif op == "close":
            cmds.append(CloseSession("X"))
        else:
            cmds.append(OpenSession("X"))
    return cmds


@settings(max_examples=150, deadline=None)
@given(mode=st.sampled_from(["call", "continuous"]), steps=st.lists(command_step, max_size=60))
def test_random_sessions_keep_every_market_rule(mode: str, steps: list[tuple[Any, ...]]) -> None:
    e = Engine()
    placed: dict[str, tuple[str, str]] = {}
    open_quantity: dict[str, int] = {}
    for cmd in _commands(mode, steps):
        lower, upper = e.limits("X") if "X" in e.markets else (0, 0)
        for ev in e.handle(cmd):
            d = ev.to_json()
            if d["event"] == "accepted" and isinstance(cmd, PlaceOrder):
                placed[cmd.id] = (cmd.participant, cmd.side)
                open_quantity[cmd.id] = cmd.quantity
            elif d["event"] == "amended":
                open_quantity[d["id"]] = d["quantity"]
            elif d["event"] == "trade":
                # Never off tick, never outside the limits in force, never with oneself.
                assert d["price"] % 5 == 0
                assert lower <= d["price"] <= upper
                assert d["buyer"] != d["seller"]
                assert placed[d["buy"]][1] == "buy" and placed[d["sell"]][1] == "sell"
                for oid in (d["buy"], d["sell"]):
                    open_quantity[oid] -= d["quantity"]
                    # Allocation never exceeds what an order had open.
                    assert open_quantity[oid] >= 0
            elif d["event"] == "auction" and d["price"] is not None:
                lower, upper = e.limits("X")
    snap = e.book_snapshot("X")
    for side in ("bids", "asks"):
        for _price, quantity, orders in snap[side]:
            assert quantity == sum(o[2] for o in orders) > 0
            for o in orders:
                assert open_quantity[o[0]] == o[2]
    if mode == "continuous" and snap["phase"] == "open" and snap["bids"] and snap["asks"]:
        assert snap["bids"][0][0] < snap["asks"][0][0]  # ザラバ never leaves the book crossed


@settings(max_examples=60, deadline=None)
@given(mode=st.sampled_from(["call", "continuous"]), steps=st.lists(command_step, max_size=60))
def test_replaying_the_same_commands_rebuilds_identical_events_and_books(
    mode: str, steps: list[tuple[Any, ...]]
) -> None:
    cmds = _commands(mode, steps)
    first, second = Engine(), Engine()
    a = [ev for c in cmds for ev in first.handle(c)]
    b = [ev for c in cmds for ev in second.handle(c)]
    assert a == b
    assert first.snapshot() == second.snapshot()


def test_events_are_values_equal_by_type_and_fields() -> None:
    t = Trade("X", 500, 5, "b", "s", "B", "S")
    assert t == Trade("X", 500, 5, "b", "s", "B", "S")
    assert hash(t) == hash(Trade("X", 500, 5, "b", "s", "B", "S"))
    assert t != Trade("X", 500, 4, "b", "s", "B", "S")
    assert Accepted("a") != Rejected("a", "x") and Accepted("a") != Cancelled("a", 1, "x")
    assert repr(Cancelled("a", 1, "expired")) == "Cancelled(id='a', quantity=1, reason='expired')"
    assert list(t.to_json()) == [
        "event", "instrument", "price", "quantity", "buy", "sell", "buyer", "seller"
    ]  # fmt: skip


def test_a_command_with_a_value_of_the_wrong_type_is_rejected_not_raised() -> None:
    # The compiled engine (make engine-compiled) must answer as the pure one does.
    e = opened("continuous")
    e.handle(PlaceOrder("ok", "X", "P", "buy", "limit", 500, 1))
    # Called through Any: these are exactly the values the type hints forbid.
    place: Any = PlaceOrder
    amend: Any = AmendOrder
    bad: list[tuple[Any, str]] = [
        (place("a", "X", "P", "buy", "limit", 500, 1.5), "invalid_quantity"),
        (place("b", "X", "P", "buy", "limit", "500", 1), "invalid_price"),
        (place(1, "X", "P", "buy", "limit", 500, 1), "invalid_order"),
        (place("c", "X", None, "buy", "limit", 500, 1), "invalid_order"),
        (place("d", 5, "P", "buy", "limit", 500, 1), "unknown_instrument"),
        (amend("ok", quantity="2"), "invalid_quantity"),
        (amend("ok", price=500.0), "invalid_price"),
        (CancelOrder(cast(str, 3)), "unknown_order"),
        (OpenSession(cast(str, 3)), "unknown_instrument"),
        (DefineInstrument("Y", "call", cast(int, 1.0), 1, 100), "invalid_instrument"),
    ]
    for command, reason in bad:
        [event] = e.handle(command)
        assert isinstance(event, Rejected) and event.reason == reason, command
