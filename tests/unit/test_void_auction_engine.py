"""The engine's `VoidAuction` command: the book as before a call auction, orders at their old
time priority, the reference price and limits restored; malformed commands change nothing; the
same commands replayed give the same events (`tanso replay`)."""

from __future__ import annotations

import json
from typing import Any

from tanso.domain import exchange as ex
from tanso.replay import run


def _engine() -> ex.Engine:
    e = ex.Engine()
    e.handle(ex.DefineInstrument("X", ex.CALL, 1, 1, 2_000))
    e.handle(ex.OpenSession("X"))
    return e


def _void_of(
    e: ex.Engine, events: list[ex.Event], orders: dict[str, ex.PlaceOrder]
) -> ex.VoidAuction:
    """The command the service builds: every order that traded, its quantity, its old seq."""
    traded: dict[str, int] = {}
    for ev in events:
        if isinstance(ev, ex.Trade):
            traded[ev.buy] = traded.get(ev.buy, 0) + ev.quantity
            traded[ev.sell] = traded.get(ev.sell, 0) + ev.quantity
    seqs = {oid: n for n, oid in enumerate(orders, start=1)}
    restore: list[list[Any]] = [
        [oid, o.participant, o.side, o.price, traded[oid], o.tif, seqs[oid]]
        for oid, o in orders.items()
        if oid in traded
    ]
    return ex.VoidAuction("X", restore, 2_000, None)


def test_a_void_puts_every_order_back_at_its_place_in_the_queue() -> None:
    e = _engine()
    orders = {
        "a": ex.PlaceOrder("a", "X", "A", "sell", "limit", 2_000, 5),
        "b": ex.PlaceOrder("b", "X", "B", "sell", "limit", 2_000, 5),
        "c": ex.PlaceOrder("c", "X", "C", "sell", "limit", 2_000, 5),
        "d": ex.PlaceOrder("d", "X", "D", "buy", "limit", 3_000, 7, ex.GTC),
        "f": ex.PlaceOrder("f", "X", "F", "buy", "limit", 1_990, 2),
    }
    for o in orders.values():
        assert e.handle(o) == [ex.Accepted(o.id)]
    before = e.snapshot()
    events = e.handle(ex.RunAuction("X"))
    auction = next(ev for ev in events if isinstance(ev, ex.AuctionResult))
    assert auction.volume == 7 and e.book_snapshot("X")["reference_price"] == auction.price
    out = e.handle(_void_of(e, events, orders))
    assert out[0] == ex.AuctionVoided("X", 2_000, 200, 3_800)
    assert {ev.id for ev in out if isinstance(ev, ex.Reinstated)} == {
        ev.buy for ev in events if isinstance(ev, ex.Trade)
    } | {ev.sell for ev in events if isinstance(ev, ex.Trade)}
    assert e.snapshot() == before
    # and the next auction matches as the first did: priority is what it was
    assert e.handle(ex.RunAuction("X")) == events


def test_a_reinstated_order_goes_before_orders_entered_after_the_auction() -> None:
    e = _engine()
    orders = {
        "a": ex.PlaceOrder("a", "X", "A", "sell", "limit", 1_990, 5),
        "b": ex.PlaceOrder("b", "X", "B", "buy", "limit", 2_000, 5),
    }
    for o in orders.values():
        e.handle(o)
    events = e.handle(ex.RunAuction("X"))
    assert e.book_snapshot("X")["asks"] == []
    e.handle(ex.PlaceOrder("late", "X", "L", "sell", "limit", 1_990, 3))
    e.handle(_void_of(e, events, orders))
    asks = e.book_snapshot("X")["asks"]
    assert [(lv[0], lv[1], [o[0] for o in lv[2]]) for lv in asks] == [(1_990, 8, ["a", "late"])]


def test_a_malformed_void_changes_nothing() -> None:
    e = _engine()
    e.handle(ex.PlaceOrder("a", "X", "A", "sell", "limit", 2_000, 5))
    before = e.snapshot()
    bad: list[Any] = [
        ex.VoidAuction("Y", [], 2_000, None),
        ex.VoidAuction("X", [], 0, None),
        ex.VoidAuction("X", [["b", "B", "buy", 2_000, 0, "day", 9]], 2_000, None),
        ex.VoidAuction("X", [["b", "B", "up", 2_000, 1, "day", 9]], 2_000, None),
        ex.VoidAuction("X", [["b", "B", "buy", 2_000, 1, "day"]], 2_000, None),
        ex.VoidAuction("X", "nope", 2_000, None),  # type: ignore[arg-type]
        ex.VoidAuction("X", [], 2_000, "1"),  # type: ignore[arg-type]
    ]
    for command in bad:
        assert [type(ev) for ev in e.handle(command)] == [ex.Rejected]
    assert e.snapshot() == before


def test_tanso_replay_applies_a_void_the_same_way_every_time() -> None:
    lines = [
        {"op": "instrument", "id": "X", "mode": "call", "tick": 1, "lot": 1,
         "reference_price": 2_000},
        {"op": "open", "instrument": "X"},
        {"op": "order", "id": "s", "instrument": "X", "participant": "S", "side": "sell",
         "type": "limit", "price": 2_000, "quantity": 4, "tif": "day"},
        {"op": "order", "id": "b", "instrument": "X", "participant": "B", "side": "buy",
         "type": "limit", "price": 3_500, "quantity": 4, "tif": "day"},
        {"op": "auction", "instrument": "X"},
        {"op": "void_auction", "instrument": "X", "reference_price": 2_000,
         "restore": [["s", "S", "sell", 2_000, 4, "day", 1],
                     ["b", "B", "buy", 3_500, 4, "day", 2]]},
        {"op": "auction", "instrument": "X"},
    ]  # fmt: skip
    text = [json.dumps(line) for line in lines]
    events = list(run(text))
    assert events == list(run(text))
    assert [ev["event"] for ev in events].count("reinstated") == 2
    auctions = [ev for ev in events if ev["event"] == "auction"]
    assert auctions[0] == auctions[1]  # the book was put back: the same auction again
