"""The order book of one instrument: price levels with a FIFO queue of orders at each level.

It owns resting orders and the mechanics of continuous matching (price, then time priority;
an incoming order trades at the resting order's price). It never decides whether an order is
allowed (tick, lot, price limit, session): that is the engine's job. Standard library only.

Layout, chosen for speed in pure Python:
- one dict of price -> Level per side, plus one sorted list of price keys per side kept with
  `bisect`, arranged so that the best price is always the *last* element (O(1) to read and pop);
- each Level keeps a deque of orders; a cancelled order is only marked inactive and skipped
  when it reaches the front (lazy deletion), so cancel is O(1) and the deque is compacted when
  dead entries outnumber live ones.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from collections.abc import Iterator
from typing import Final

BUY: Final = "buy"
SELL: Final = "sell"


class Order:
    """An order as the book holds it; `quantity` is the quantity still open."""

    __slots__ = (
        "active",
        "id",
        "instrument",
        "participant",
        "price",
        "quantity",
        "seq",
        "side",
        "tif",
    )

    def __init__(
        self,
        id: str,
        instrument: str,
        participant: str,
        side: str,
        price: int | None,
        quantity: int,
        tif: str,
        seq: int,
    ) -> None:
        self.id = id
        self.instrument = instrument
        self.participant = participant
        self.side = side
        # None is a market order.
        self.price = price
        self.quantity = quantity
        self.tif = tif
        # Time priority: smaller is earlier. Given by the engine, never by a clock.
        self.seq = seq
        self.active = True

    def __repr__(self) -> str:
        return (
            f"Order({self.id!r}, {self.participant!r}, {self.side}, {self.price}, "
            f"{self.quantity}, {self.tif}, seq={self.seq})"
        )


class Level:
    """All resting orders at one price on one side, in time priority."""

    __slots__ = ("count", "orders", "price", "quantity")

    def __init__(self, price: int) -> None:
        self.price = price
        self.orders: deque[Order] = deque()
        self.quantity = 0
        self.count = 0

    def live(self) -> Iterator[Order]:
        """The active orders of the level, earliest first."""
        return (o for o in self.orders if o.active)


class Book:
    """The order book of one instrument."""

    __slots__ = ("ask_keys", "asks", "bid_keys", "bids", "market_buys", "market_sells", "orders")

    def __init__(self) -> None:
        self.bids: dict[int, Level] = {}
        self.asks: dict[int, Level] = {}
        # Best price last in both lists: bids ascending by price, asks ascending by -price.
        self.bid_keys: list[int] = []
        self.ask_keys: list[int] = []
        # Market orders wait here for a call auction; they never rest in continuous trading.
        self.market_buys: dict[str, Order] = {}
        self.market_sells: dict[str, Order] = {}
        self.orders: dict[str, Order] = {}

    # ------------------------------------------------------------------ queries

    def best_bid(self) -> int | None:
        """The highest bid price, or None."""
        return self.bid_keys[-1] if self.bid_keys else None

    def best_ask(self) -> int | None:
        """The lowest ask price, or None."""
        return -self.ask_keys[-1] if self.ask_keys else None

    def bid_levels(self) -> list[Level]:
        """Bid levels, best (highest) first."""
        bids = self.bids
        return [bids[p] for p in reversed(self.bid_keys)]

    def ask_levels(self) -> list[Level]:
        """Ask levels, best (lowest) first."""
        asks = self.asks
        return [asks[-k] for k in reversed(self.ask_keys)]

    def __len__(self) -> int:
        return len(self.orders)

    # ------------------------------------------------------------------ changes

    def add(self, order: Order) -> None:
        """Rest an order at the back of its price level (or in the market-order queue)."""
        price = order.price
        if price is None:
            self.orders[order.id] = order
            (self.market_buys if order.side == BUY else self.market_sells)[order.id] = order
            return
        self.add_limit(order, price, order.side == BUY)

    def add_limit(self, order: Order, price: int, is_buy: bool) -> None:
        """`add` for a limit order whose price and side the caller already holds."""
        self.orders[order.id] = order
        if is_buy:
            level = self.bids.get(price)
            if level is None:
                level = self.bids[price] = Level(price)
                keys = self.bid_keys
                # A new best price is the commonest new level: append, no search.
                if not keys or keys[-1] < price:
                    keys.append(price)
                else:
                    insort(keys, price)
        else:
            level = self.asks.get(price)
            if level is None:
                level = self.asks[price] = Level(price)
                keys = self.ask_keys
                if not keys or keys[-1] < -price:
                    keys.append(-price)
                else:
                    insort(keys, -price)
        level.orders.append(order)
        level.quantity += order.quantity
        level.count += 1

    def remove(self, order: Order) -> None:
        """Take an order out of the book (cancel, expiry, loss of priority)."""
        del self.orders[order.id]
        order.active = False
        price = order.price
        if price is None:
            del (self.market_buys if order.side == BUY else self.market_sells)[order.id]
            return
        if order.side == BUY:
            levels, keys, key = self.bids, self.bid_keys, price
        else:
            levels, keys, key = self.asks, self.ask_keys, -price
        level = levels[price]
        level.quantity -= order.quantity
        level.count -= 1
        if level.count == 0:
            del levels[price]
            if keys[-1] == key:
                keys.pop()
            else:
                del keys[bisect_left(keys, key)]
        elif len(level.orders) > 2 * level.count + 16:
            # Compact: lazy deletion must not let a busy level grow without bound.
            level.orders = deque(o for o in level.orders if o.active)

    def reduce(self, order: Order, quantity: int) -> None:
        """Lower an order's open quantity in place; it keeps its time priority."""
        if order.price is not None:
            levels = self.bids if order.side == BUY else self.asks
            levels[order.price].quantity -= order.quantity - quantity
        order.quantity = quantity

    def fill(self, order: Order, quantity: int) -> None:
        """Record that a resting order traded `quantity`; a filled order leaves the book."""
        if quantity >= order.quantity:
            self.remove(order)
            order.quantity = 0
        else:
            self.reduce(order, order.quantity - quantity)

    def take_level(self, side: str, price: int) -> None:
        """Remove a whole price level every order of which traded in full (call auction)."""
        if side == BUY:
            level = self.bids.pop(price)
            keys, key = self.bid_keys, price
        else:
            level = self.asks.pop(price)
            keys, key = self.ask_keys, -price
        orders = self.orders
        for o in level.orders:
            if o.active:
                o.active = False
                o.quantity = 0
                del orders[o.id]
        del keys[bisect_left(keys, key)]

    def reinstate(self, order: Order) -> None:
        """Put an order back at its place in time priority (its ``seq``), not at the back of its
        level: an order of a voided call auction returns as it was before the auction."""
        self.add(order)
        price = order.price
        if price is None:
            return
        level = (self.bids if order.side == BUY else self.asks)[price]
        orders = level.orders
        if len(orders) > 1 and orders[-2].seq > order.seq:
            level.orders = deque(sorted(orders, key=lambda o: o.seq))

    # ------------------------------------------------------------------ continuous matching

    def fillable(self, side: str, limit: int, participant: str, wanted: int) -> int:
        """How much an incoming order could trade now, up to `wanted` (for fill-or-kill).

        It stops at the first resting order of the same participant, because self-trade
        prevention would cancel the incoming order there.
        """
        got = 0
        if side == BUY:
            levels, keys, sign = self.asks, self.ask_keys, -1
        else:
            levels, keys, sign = self.bids, self.bid_keys, 1
        for i in range(len(keys) - 1, -1, -1):
            price = keys[i] * sign
            if (side == BUY and price > limit) or (side == SELL and price < limit):
                break
            for o in levels[price].orders:
                if not o.active:
                    continue
                if o.participant == participant:
                    return got
                got += o.quantity
                if got >= wanted:
                    return got
        return got

    def match(self, incoming: Order, limit: int) -> tuple[list[tuple[Order, int, int]], bool]:
        """Trade an incoming order against the book up to `limit`, price then time priority.

        Returns the fills as (resting order, quantity, price: the resting order's) and whether
        matching stopped at an order of the same participant (self-trade prevention: the
        caller cancels the incoming remainder). `incoming.quantity` is reduced by what traded.
        """
        fills: list[tuple[Order, int, int]] = []
        quantity = incoming.quantity
        participant = incoming.participant
        if incoming.side == BUY:
            levels, keys = self.asks, self.ask_keys
            bound = -limit  # keys are -price: a key >= -limit is a price <= limit
        else:
            levels, keys = self.bids, self.bid_keys
            bound = limit
        self_trade = False
        while quantity and keys and keys[-1] >= bound:
            key = keys[-1]
            price = key if incoming.side == SELL else -key
            level = levels[price]
            orders = level.orders
            while quantity and orders:
                o = orders[0]
                if not o.active:
                    orders.popleft()
                    continue
                if o.participant == participant:
                    self_trade = True
                    break
                oq = o.quantity
                if oq <= quantity:
                    quantity -= oq
                    orders.popleft()
                    o.active = False
                    level.quantity -= oq
                    level.count -= 1
                    del self.orders[o.id]
                    fills.append((o, oq, price))
                    o.quantity = 0
                else:
                    o.quantity = oq - quantity
                    level.quantity -= quantity
                    fills.append((o, quantity, price))
                    quantity = 0
            if level.count == 0:
                del levels[price]
                keys.pop()
            if self_trade:
                break
        incoming.quantity = quantity
        return fills, self_trade

    # ------------------------------------------------------------------ whole-book views

    def all_orders(self) -> list[Order]:
        """Every resting order, in time priority (seq) order."""
        return sorted(self.orders.values(), key=lambda o: o.seq)

    def snapshot(self) -> dict[str, list[list[object]]]:
        """A canonical, comparable picture of the book: levels best first, orders FIFO."""

        def side(levels: list[Level]) -> list[list[object]]:
            return [
                [
                    lv.price,
                    lv.quantity,
                    [[o.id, o.participant, o.quantity, o.tif] for o in lv.live()],
                ]
                for lv in levels
            ]

        def market(orders: dict[str, Order]) -> list[list[object]]:
            return [[o.id, o.participant, o.quantity, o.tif] for o in orders.values()]

        return {
            "bids": side(self.bid_levels()),
            "asks": side(self.ask_levels()),
            "market_buys": market(self.market_buys),
            "market_sells": market(self.market_sells),
        }
