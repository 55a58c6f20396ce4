"""Benchmark of the matching engine: `.venv/bin/python bench/engine.py`.

1. Order operations per second on a mixed workload shaped like exchange-core's: about 1,000
   resting orders over 750 price levels; passive adds, cancels, amends (half quantity-down, half
   price moves) and aggressive immediate-or-cancel orders; fixed random seed. The same operation
   list goes through our engine and through the order-book packages of the `bench` extra
   (`pip install -e '.[bench]'`), and our throughput is printed as a ratio to each.
2. The time of one call auction (板寄せ) over 10^4, 10^5 and 10^6 resting orders.

Times are the process's CPU time (best of a few runs), so that other work on a shared machine
moves the figures less; an auction also prints its wall time. The engine measured is the one
`tanso.domain` imports: the pure-Python modules, or the mypyc build if `make engine-compiled`
made one (the first line says which). With a build present, the pure engine is measured as well,
in a child process (`--pure`), and printed beside it.

Where a peer lacks an operation it is emulated with the nearest ones it has, and the
emulation counts as the one operation: an amend is cancel + add; an IOC order is a limit order
followed by a cancel of any remainder. Peer log output is silenced, not skipped.
"""

from __future__ import annotations

import gc
import json
import logging
import random
import subprocess
import sys
import time
from bisect import bisect_left, insort
from collections.abc import Callable
from dataclasses import dataclass
from importlib.machinery import SOURCE_SUFFIXES, FileFinder, SourceFileLoader
from pathlib import Path
from typing import Any

SRC = Path(__file__).resolve().parent.parent / "src"


def _pure_only() -> None:
    """Import tanso's modules from their .py files even where a compiled build sits beside them."""

    def hook(path: str) -> FileFinder:
        if not path.startswith(str(SRC)):
            raise ImportError
        return FileFinder(path, (SourceFileLoader, SOURCE_SUFFIXES))

    sys.path_hooks.insert(0, hook)
    sys.path_importer_cache.clear()


if "--pure" in sys.argv:
    _pure_only()

import tanso.domain.exchange as exchange_module  # noqa: E402
from tanso.domain.exchange import (  # noqa: E402
    AmendOrder,
    CancelOrder,
    DefineInstrument,
    Engine,
    OpenSession,
    PlaceOrder,
    RunAuction,
)

SEED = 20231011
OPS = 200_000
MID = 10_000
HALF_RANGE = 375  # 750 price levels
TARGET_RESTING = 1_000


@dataclass(frozen=True, slots=True)
class Op:
    kind: str  # add | ioc | cancel | amend_quantity | amend_price
    id: str
    side: str = "buy"
    price: int = 0
    quantity: int = 0


def make_workload(n: int, seed: int = SEED) -> list[Op]:
    """A fixed operation list; liveness of orders is tracked with our engine as the oracle."""
    rng = random.Random(seed)
    oracle = Engine()
    oracle.handle(DefineInstrument("X", "continuous", 1, 1, MID, 95))
    oracle.handle(OpenSession("X"))
    live: dict[str, tuple[str, int, int]] = {}  # id -> (side, price, quantity)
    live_ids: list[str] = []
    ops: list[Op] = []
    next_id = 0

    def passive_price(side: str) -> int:
        off = rng.randint(1, HALF_RANGE)
        return MID - off if side == "buy" else MID + off - 1

    def pick_live() -> str:
        while True:
            i = rng.randrange(len(live_ids))
            oid = live_ids[i]
            if oid in live:
                return oid
            live_ids[i] = live_ids[-1]
            live_ids.pop()

    while len(ops) < n:
        r = rng.random()
        fill = len(live) < TARGET_RESTING
        if fill or r < 0.35 or not live:
            kind = "add"
        elif r < 0.60:
            kind = "cancel"
        elif r < 0.70:
            kind = "amend_quantity"
        elif r < 0.80:
            kind = "amend_price"
        else:
            kind = "ioc"
        if kind in ("add", "ioc"):
            next_id += 1
            oid = f"o{next_id}"
            side = rng.choice(("buy", "sell"))
            if kind == "add":
                price = passive_price(side)
            else:
                best = oracle.markets["X"].book.best_ask() if side == "buy" else None
                if side == "sell":
                    best = oracle.markets["X"].book.best_bid()
                base = best if best is not None else MID
                price = base + rng.randint(0, 3) * (1 if side == "buy" else -1)
            quantity = rng.randint(1, 100)
            op = Op(kind, oid, side, price, quantity)
            cmd = PlaceOrder(oid, "X", "P" + oid, side, "limit", price, quantity,
                             "ioc" if kind == "ioc" else "gtc")  # fmt: skip
        else:
            oid = pick_live()
            side, price, quantity = live[oid]
            if kind == "cancel":
                op = Op(kind, oid)
                cmd = CancelOrder(oid)
            elif kind == "amend_quantity" and quantity > 1:
                op = Op(kind, oid, side, price, rng.randint(1, quantity - 1))
                cmd = AmendOrder(oid, quantity=op.quantity)
            else:
                # A move that stays passive, so the book keeps its shape.
                op = Op("amend_price", oid, side, passive_price(side), quantity)
                cmd = AmendOrder(oid, price=op.price)
        for ev in oracle.handle(cmd):
            d = ev.to_json()
            e = d["event"]
            if e == "accepted" and op.kind == "add":
                live[op.id] = (op.side, op.price, op.quantity)
                live_ids.append(op.id)
            elif e == "cancelled":
                live.pop(d["id"], None)
            elif e == "amended":
                s, _, _ = live[d["id"]]
                live[d["id"]] = (s, d["price"], d["quantity"])
            elif e == "trade":
                for oid2 in (d["buy"], d["sell"]):
                    if oid2 in live:
                        s, p, q = live[oid2]
                        if q - d["quantity"] <= 0:
                            del live[oid2]
                        else:
                            live[oid2] = (s, p, q - d["quantity"])
        ops.append(op)
    return ops


# ---------------------------------------------------------------------- runners


def run_tanso(ops: list[Op]) -> None:
    e = Engine()
    e.handle(DefineInstrument("X", "continuous", 1, 1, MID, 95))
    e.handle(OpenSession("X"))
    handle = e.handle
    for op in ops:
        k = op.kind
        if k == "add":
            handle(
                PlaceOrder(op.id, "X", "P" + op.id, op.side, "limit", op.price, op.quantity, "gtc")
            )
        elif k == "cancel":
            handle(CancelOrder(op.id))
        elif k == "ioc":
            handle(
                PlaceOrder(op.id, "X", "P" + op.id, op.side, "limit", op.price, op.quantity, "ioc")
            )
        elif k == "amend_quantity":
            handle(AmendOrder(op.id, quantity=op.quantity))
        else:
            handle(AmendOrder(op.id, price=op.price))


def run_limit_order_book(ops: list[Op]) -> None:
    from limit_order_book import LimitOrderBook
    from limit_order_book.library import Library

    lob = LimitOrderBook()
    # Its Python methods only forward to the ctypes functions of its C++ library: calling those
    # directly is the fastest way to drive it (1.6x its methods), so that is what is measured.
    functions, book = Library.functions, lob._book
    limit, cancel, has = functions.limit, functions.cancel, functions.has
    # Its ids are unsigned integers; an amend is a new order, so it gets a new id (it has no
    # amend; its reduce is not exported to Python). Its C++ cancel aborts the process on an
    # unknown id, hence `has` first.
    uids: dict[str, int] = {}
    sides: dict[str, bool] = {}
    next_uid = 0
    for op in ops:
        k = op.kind
        if k in ("add", "ioc"):
            next_uid += 1
            buy = op.side == "buy"
            limit(book, buy, next_uid, op.quantity, op.price)
            if k == "add":
                uids[op.id] = next_uid
                sides[op.id] = buy
            elif has(book, next_uid):
                cancel(book, next_uid)
            continue
        uid = uids.pop(op.id, None)
        if uid is None or not has(book, uid):
            continue
        cancel(book, uid)
        if k == "cancel":
            continue
        next_uid += 1
        limit(book, sides[op.id], next_uid, op.quantity, op.price)
        uids[op.id] = next_uid


def run_cython_orderbook(ops: list[Op]) -> None:
    from cython_orderbook import Order, OrderBook, OrderSide

    book = OrderBook()
    add, cancel = book.add_limit_order, book.cancel_order
    bid, ask = OrderSide.BID, OrderSide.ASK
    ids: dict[str, str] = {}
    sides: dict[str, Any] = {}
    for op in ops:
        k = op.kind
        if k in ("add", "ioc"):
            side = bid if op.side == "buy" else ask
            o = Order(side, op.quantity, op.price)
            add(o)
            if k == "add":
                ids[op.id] = o.order_id
                sides[op.id] = side
            elif o.remaining_quantity:
                cancel(o.order_id)
            continue
        oid = ids.pop(op.id, None)
        if oid is None or not cancel(oid) or k == "cancel":
            continue
        o = Order(sides[op.id], op.quantity, op.price)
        add(o)
        ids[op.id] = o.order_id


def run_plain_python(ops: list[Op]) -> None:
    """The floor of pure Python: a bare price-time book, no checks, no events; what any Python
    engine pays before doing anything an exchange must (the issue's "plain Python book")."""
    # A level is a dict id -> order: insertion order is time priority, cancel is O(1).
    bids: dict[int, dict[str, list[Any]]] = {}
    asks: dict[int, dict[str, list[Any]]] = {}
    bid_keys: list[int] = []  # ascending; best last
    ask_keys: list[int] = []  # -price ascending; best last
    orders: dict[str, list[Any]] = {}  # id -> [id, is_buy, price, quantity]

    def rest(o: list[Any]) -> None:
        price = o[2]
        if o[1]:
            level = bids.get(price)
            if level is None:
                level = bids[price] = {}
                insort(bid_keys, price)
        else:
            level = asks.get(price)
            if level is None:
                level = asks[price] = {}
                insort(ask_keys, -price)
        level[o[0]] = o
        orders[o[0]] = o

    def unrest(o: list[Any]) -> None:
        del orders[o[0]]
        price = o[2]
        levels, keys, key = (bids, bid_keys, price) if o[1] else (asks, ask_keys, -price)
        level = levels[price]
        del level[o[0]]
        if not level:
            del levels[price]
            del keys[bisect_left(keys, key)]

    def cross(o: list[Any]) -> None:
        if o[1]:
            levels, keys, bound = asks, ask_keys, -o[2]
        else:
            levels, keys, bound = bids, bid_keys, o[2]
        quantity = o[3]
        while quantity and keys and keys[-1] >= bound:
            key = keys[-1]
            price = -key if o[1] else key
            level = levels[price]
            while quantity and level:
                rid = next(iter(level))
                r = level[rid]
                if r[3] <= quantity:
                    quantity -= r[3]
                    del level[rid]
                    del orders[rid]
                else:
                    r[3] -= quantity
                    quantity = 0
            if not level:
                del levels[price]
                keys.pop()
        o[3] = quantity

    for op in ops:
        k = op.kind
        if k == "add" or k == "ioc":
            o = [op.id, op.side == "buy", op.price, op.quantity]
            cross(o)
            if k == "add" and o[3]:
                rest(o)
            continue
        o = orders.get(op.id)
        if o is None:
            continue
        if k == "amend_quantity":
            o[3] = op.quantity
            continue
        unrest(o)
        if k == "amend_price":
            o = [op.id, o[1], op.price, o[3]]
            cross(o)
            if o[3]:
                rest(o)


def run_pyorderbook(ops: list[Op]) -> None:
    from pyorderbook import Book, Order, Side

    book = Book()
    handles: dict[str, Any] = {}
    match = book.match
    for op in ops:
        k = op.kind
        if k in ("add", "ioc"):
            o = Order(Side.BID if op.side == "buy" else Side.ASK, "X", op.price, op.quantity)
            match(o)
            if k == "add":
                handles[op.id] = o
            elif o.quantity and o.id in book.order_map:
                book.cancel(o)
            continue
        o = handles.pop(op.id, None)
        if o is None or o.id not in book.order_map:
            continue
        book.cancel(o)
        if k == "cancel":
            continue
        price = op.price
        n = Order(o.side, "X", float(price), op.quantity)
        match(n)
        handles[op.id] = n


def run_lightmatchingengine(ops: list[Op]) -> None:
    from lightmatchingengine.lightmatchingengine import LightMatchingEngine, Side

    lme = LightMatchingEngine()
    ids: dict[str, int] = {}
    for op in ops:
        k = op.kind
        if k in ("add", "ioc"):
            order, _ = lme.add_order(
                "X", op.price, op.quantity, Side.BUY if op.side == "buy" else Side.SELL
            )
            if k == "add":
                ids[op.id] = order.order_id
            elif order.leaves_qty:
                lme.cancel_order(order.order_id, "X")
            continue
        oid = ids.pop(op.id, None)
        if oid is None:
            continue
        old = lme.cancel_order(oid, "X")
        if old is None or k == "cancel":
            continue
        order, _ = lme.add_order("X", op.price, op.quantity, old.side)
        ids[op.id] = order.order_id


def run_fastlob(ops: list[Op]) -> None:
    from fastlob import Orderbook, OrderParams, OrderSide

    lob = Orderbook("X")
    lob.start()
    ids: dict[str, str] = {}
    sides: dict[str, Any] = {}
    try:
        for op in ops:
            k = op.kind
            if k in ("add", "ioc"):
                side = OrderSide.BID if op.side == "buy" else OrderSide.ASK
                res = lob.process(OrderParams(side, op.price, op.quantity))
                if k == "add":
                    ids[op.id] = res.orderid()
                    sides[op.id] = side
                else:
                    lob.cancel(res.orderid())
                continue
            oid = ids.get(op.id)
            if oid is None:
                continue
            if k == "amend_quantity":
                lob.update(oid, op.quantity)
                continue
            lob.cancel(oid)
            if k == "cancel":
                del ids[op.id]
                continue
            res = lob.process(OrderParams(sides[op.id], op.price, op.quantity))
            ids[op.id] = res.orderid()
    finally:
        lob.stop()


def timed(fn: Callable[[list[Op]], None], ops: list[Op], repeat: int = 3) -> float:
    """Best of `repeat` runs, in operations per CPU second."""
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        t0 = time.process_time()
        fn(ops)
        best = min(best, time.process_time() - t0)
    return len(ops) / best


def auction_time(n: int, seed: int = SEED) -> tuple[float, float, int, int | None]:
    """CPU and wall seconds for one call auction over n resting orders (book building not
    timed)."""
    rng = random.Random(seed)
    e = Engine()
    e.handle(DefineInstrument("X", "call", 1, 1, 500, 90))
    e.handle(OpenSession("X"))
    for i in range(n):
        side = "buy" if i % 2 else "sell"
        price = rng.randint(400, 520) if side == "buy" else rng.randint(480, 600)
        e.handle(PlaceOrder(f"o{i}", "X", f"P{i % 500}", side, "limit", price, rng.randint(1, 50)))
    gc.collect()
    # The book is long-lived: freezing it keeps the collector from rescanning a million live
    # orders while the auction allocates its trades (what a long-running server would do too).
    gc.freeze()
    t0, w0 = time.process_time(), time.perf_counter()
    events = e.handle(RunAuction("X"))
    dt, wall = time.process_time() - t0, time.perf_counter() - w0
    gc.unfreeze()
    trades = sum(1 for ev in events if ev.to_json()["event"] == "trade")
    price = next(ev.to_json()["price"] for ev in events if ev.to_json()["event"] == "auction")
    return dt, wall, trades, price


def engine_kind() -> str:
    """Which engine `tanso.domain` imported, and a warning if a build is older than its source."""
    path = Path(exchange_module.__file__ or "")
    if path.suffix == ".py":
        return "pure Python"
    stale = [
        name
        for name in ("book", "exchange", "itayose")
        if (path.parent / f"{name}.py").stat().st_mtime > path.stat().st_mtime
    ]
    warning = (
        f" (STALE: {', '.join(stale)}.py changed since; make engine-compiled)" if stale else ""
    )
    return "compiled with mypyc" + warning


AUCTION_SIZES = (10_000, 100_000, 1_000_000)


def measure_ours(ops: list[Op]) -> dict[str, Any]:
    """Our engine's figures: ops/s on the workload and one auction per size."""
    rate = max(timed(run_tanso, ops), timed(run_tanso, ops))
    return {"rate": rate, "auctions": [auction_time(n) for n in AUCTION_SIZES]}


def main() -> None:
    """Run everything and print a table."""
    logging.disable(logging.WARNING)  # peers log each order; measuring them, not their logs
    ops = make_workload(OPS)
    if "--pure" in sys.argv:  # the child run of a compiled build's benchmark
        print(json.dumps(measure_ours(ops)))
        return
    kinds = {k: sum(1 for o in ops if o.kind == k) for k in ("add", "cancel", "amend_quantity",
                                                              "amend_price", "ioc")}  # fmt: skip
    kind = engine_kind()
    print(f"workload: {len(ops):,} operations {kinds}, seed {SEED}")
    print(f"python {sys.version.split()[0]}; engine: {kind}; times are CPU times")
    ours = {kind: measure_ours(ops)}
    if kind != "pure Python":
        child = subprocess.run(
            [sys.executable, __file__, "--pure"], capture_output=True, text=True, check=True
        )
        ours["pure Python"] = json.loads(child.stdout)
    for name, figures in ours.items():
        print(f"{'tanso, ' + name.split(' (')[0]:<30}{figures['rate']:>12,.0f} ops/s")
    peers: list[tuple[str, Callable[[list[Op]], None], int]] = [
        ("limit-order-book 2.0.0", run_limit_order_book, 3),
        ("cython-orderbook 0.1.2", run_cython_orderbook, 3),
        ("pyorderbook 0.4.9", run_pyorderbook, 3),
        ("fastlob 0.0.24", run_fastlob, 1),
        ("lightmatchingengine", run_lightmatchingengine, 1),
        ("plain Python book", run_plain_python, 3),
    ]
    for name, fn, repeat in peers:
        try:
            rate = timed(fn, ops, repeat)
        except ImportError as e:
            print(f"{name:<30}  not installed or not built ({e}): pip install -e '.[bench]'")
            continue
        ratios = "   ".join(
            f"tanso {k.split(' (')[0]} is {f['rate'] / rate:.2f}x" for k, f in ours.items()
        )
        print(f"{name:<30}{rate:>12,.0f} ops/s   {ratios}")
    print()
    for name, figures in ours.items():
        for n, (dt, wall, trades, price) in zip(AUCTION_SIZES, figures["auctions"], strict=True):
            print(f"call auction, {name.split(' (')[0]:<19}, {n:>9,} resting orders: "
                  f"{dt * 1000:7.1f} ms CPU, {wall * 1000:7.1f} ms wall "
                  f"(price {price}, {trades:,} trades)")  # fmt: skip


if __name__ == "__main__":
    main()
