"""売買審査: market surveillance rules, evaluated over the exchange's journal entries.

The rules are data (``src/tanso/data/surveillance-rules.json``: each rule's id, whether it is
enabled, its severity and its thresholds), loaded and checked by `load_rules`. `Monitor` reads the
exchange's committed journal entries in journal order, one at a time, and answers the findings
each one completes. It keeps its own copy of the books by replaying each entry's command through
a fresh matching engine with the pre-trade answer the entry recorded (as recovery does), so that a
finding can show the book before and after, and the price limits and reference prices in force.

The same `Monitor` serves the online path (a worker fed the entries each batch commits) and the
batch scan over any range of history (fed the stored entries): the same entries give the same
findings, with the same keys, in the same order. A finding's key names its rule and its subject
(a trade, or a participant, instrument and day), so a finding raised once is never raised again.

Pure: no clock, no I/O, standard library and the domain only. It never changes a market.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from zoneinfo import ZoneInfo

from tanso.domain import exchange as ex
from tanso.domain.errors import InvalidInput
from tanso.domain.itayose import clearing_price

JST: Final = ZoneInfo("Asia/Tokyo")
BOOK_DEPTH: Final = 5
"""Price levels of each side shown as a finding's book before and after."""

WASH_TRADE: Final = "wash_trade"
SPOOFING: Final = "spoofing"
MARKING_CLOSE: Final = "marking_close"
PRICE_LIMIT_HITS: Final = "price_limit_hits"
CONCENTRATION: Final = "concentration"
STP_CANCELS: Final = "stp_cancels"

SEVERITIES: Final = ("low", "medium", "high")
THRESHOLDS: Final[dict[str, dict[str, tuple[int, int]]]] = {
    # rule: threshold -> (lowest, highest) allowed
    WASH_TRADE: {"min_quantity": (1, 10**12)},
    SPOOFING: {
        "min_quantity": (1, 10**12),
        "window_minutes": (1, 24 * 60),
        "min_occurrences": (1, 10_000),
        "lookback_days": (1, 366),
    },
    MARKING_CLOSE: {
        "closing_from_minute": (0, 24 * 60 - 1),  # JST minutes after midnight: 870 is 14:30
        "late_minutes": (1, 24 * 60),
        "min_move_bp": (1, 100_000),  # basis points of the reference price
    },
    PRICE_LIMIT_HITS: {"min_hits": (1, 10_000)},
    CONCENTRATION: {"min_share_pct": (1, 100), "min_volume": (1, 10**12)},
    STP_CANCELS: {"min_cancels": (1, 10_000)},
}
RULE_IDS: Final = tuple(THRESHOLDS)


# ====================================================================== rules as data


@dataclass(frozen=True, slots=True)
class Rule:
    """One detection rule: enabled or not, how severe its alerts are, and its thresholds."""

    id: str
    enabled: bool
    severity: str
    thresholds: Mapping[str, int]

    def __getitem__(self, name: str) -> int:
        return self.thresholds[name]


@dataclass(frozen=True, slots=True)
class Rules:
    """The rule set, by rule id; every known rule is present (a disabled one never fires)."""

    by_id: Mapping[str, Rule]

    def on(self, rule_id: str) -> Rule | None:
        """The rule if it is enabled, else None."""
        rule = self.by_id.get(rule_id)
        return rule if rule is not None and rule.enabled else None


def load_rules(text: str) -> Rules:
    """Parse and check the rules file: every rule known, every threshold an integer in range."""
    try:
        data = json.loads(text)
    except ValueError as e:
        raise InvalidInput("invalid_rules", f"The surveillance rules are not JSON: {e}.") from e
    items = data.get("rules") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise InvalidInput("invalid_rules", "The surveillance rules need a list under 'rules'.")
    found: dict[str, Rule] = {}
    for item in items:
        found_rule = _rule(item)
        if found_rule.id in found:
            raise InvalidInput("invalid_rules", f"Rule {found_rule.id} is given twice.")
        found[found_rule.id] = found_rule
    missing = [r for r in RULE_IDS if r not in found]
    if missing:
        raise InvalidInput("invalid_rules", f"Rules missing from the file: {', '.join(missing)}.")
    return Rules(found)


def _rule(item: Any) -> Rule:
    if not isinstance(item, dict):
        raise InvalidInput("invalid_rules", "Each rule is an object.")
    rule_id = item.get("id")
    if rule_id not in THRESHOLDS:
        raise InvalidInput("invalid_rules", f"Unknown rule {rule_id!r}; known: {RULE_IDS}.")
    enabled, severity = item.get("enabled"), item.get("severity")
    if not isinstance(enabled, bool):
        raise InvalidInput("invalid_rules", f"Rule {rule_id}: 'enabled' is true or false.")
    if severity not in SEVERITIES:
        raise InvalidInput("invalid_rules", f"Rule {rule_id}: severity is one of {SEVERITIES}.")
    given = item.get("thresholds")
    if not isinstance(given, dict):
        raise InvalidInput("invalid_rules", f"Rule {rule_id}: 'thresholds' is an object.")
    wanted = THRESHOLDS[rule_id]
    if set(given) != set(wanted):
        raise InvalidInput(
            "invalid_rules", f"Rule {rule_id}: thresholds are exactly {sorted(wanted)}."
        )
    for name, (lo, hi) in wanted.items():
        value = given[name]
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise InvalidInput(
                "invalid_rules",
                f"Rule {rule_id}: {name} is a whole number from {lo} to {hi}, not {value!r}.",
            )
    return Rule(rule_id, enabled, severity, dict(given))


# ====================================================================== entries and findings


@dataclass(frozen=True, slots=True)
class Entry:
    """A committed journal entry as surveillance reads it."""

    seq: int
    at: str
    kind: str
    payload: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Finding:
    """A rule's finding: what an alert is raised from. ``key`` is unique per rule and subject."""

    rule: str
    severity: str
    key: str
    participants: tuple[str, ...]
    instrument: str | None
    trade_date: str
    seq: int
    """The journal entry that completed the pattern."""
    at: str
    evidence: dict[str, Any]


def moment(at: str) -> dt.datetime:
    """A journal timestamp (UTC ISO-8601) as an aware datetime."""
    return dt.datetime.fromisoformat(at.replace("Z", "+00:00"))


def trade_date_of(at: str) -> dt.date:
    """The trading day of a timestamp: its date in Japan."""
    return moment(at).astimezone(JST).date()


def minute_of_day(at: str) -> int:
    """A journal timestamp's time of day in Japan, in minutes after midnight (15:00 is 900)."""
    local = moment(at).astimezone(JST)
    return local.hour * 60 + local.minute


def _command(d: Mapping[str, Any]) -> Any:
    """The engine command a journal entry records, or None for one the engine does not have."""
    kind = ex.COMMAND_TYPES.get(d.get("command", ""))
    return kind(**{k: v for k, v in d.items() if k != "command"}) if kind else None


@dataclass(slots=True)
class _Order:
    """What surveillance remembers of a live order."""

    id: str
    participant: str
    instrument: str
    side: str
    price: int | None
    remaining: int
    quantity: int
    entered_at: str
    """When the order was placed, or last amended to a new price or a larger quantity."""
    filled: int = 0


@dataclass(slots=True)
class _Day:
    """Per-day counters of one participant (and instrument)."""

    date: str
    items: list[dict[str, Any]] = field(default_factory=list)


def book_view(market: ex.Market | None, depth: int = BOOK_DEPTH) -> dict[str, Any]:
    """A market's book as evidence: the best ``depth`` levels of each side (price, quantity,
    orders) and the quantity of market orders waiting."""
    if market is None:
        return {"bids": [], "asks": [], "market_buy": 0, "market_sell": 0}
    book = market.book

    def side(levels: list[Any]) -> list[dict[str, int]]:
        return [
            {"price": lv.price, "quantity": lv.quantity, "orders": lv.count}
            for lv in levels[:depth]
        ]

    return {
        "bids": side(book.bid_levels()),
        "asks": side(book.ask_levels()),
        "market_buy": sum(o.quantity for o in book.market_buys.values()),
        "market_sell": sum(o.quantity for o in book.market_sells.values()),
    }


# ====================================================================== the monitor


class Monitor:
    """Reads exchange journal entries in order and answers the findings of the enabled rules.

    ``owners`` maps a participant to its declared corporate group (beneficial owner); two
    participants of one group count as one owner for wash trades and concentration."""

    def __init__(self, rules: Rules, owners: Mapping[str, str] | None = None) -> None:
        self.rules = rules
        self.owners: Mapping[str, str] = owners or {}
        self.engine = ex.Engine(pre_trade=self._recorded)
        self.last_seq = 0
        """The last journal entry read."""
        self._pretrade: dict[str, str | None] = {}
        self._orders: dict[str, _Order] = {}
        # spoofing: cancellations waiting for their instrument's next auction, and occurrences
        self._cancels: dict[str, list[dict[str, Any]]] = {}
        self._spoofs: dict[tuple[str, str], deque[dict[str, Any]]] = {}
        # per day: price-limit hits by (participant, instrument), STP cancels by participant
        self._hits: dict[tuple[str, str], _Day] = {}
        self._stp: dict[str, _Day] = {}
        # marking the close: the day's auction prices and the last close before the day
        self._day_prices: dict[str, tuple[str, list[tuple[int, int]]]] = {}
        self._prev_close: dict[str, int] = {}

    def _recorded(self, req: ex.PreTradeRequest) -> str | None:
        return self._pretrade.get(req.order_id)

    def owner(self, participant: str) -> str:
        """Who a participant trades for: its corporate group if it declared one, else itself."""
        group = self.owners.get(participant)
        return f"group:{group}" if group else participant

    def feed_all(self, entries: Iterable[Entry]) -> list[Finding]:
        """`feed` each entry in turn; every finding, in order."""
        found: list[Finding] = []
        for e in entries:
            found += self.feed(e)
        return found

    def feed(self, entry: Entry) -> list[Finding]:
        """Read one committed journal entry (any kind; only the exchange's are looked at)."""
        if entry.seq <= self.last_seq:
            return []  # read already: the online path may hear an entry its catch-up read
        self.last_seq = entry.seq
        payload = entry.payload
        if not entry.kind.startswith("exchange.") or "command" not in payload:
            return []  # not the exchange's, or a bust (it changes no book)
        command = _command(payload["command"])
        if command is None:
            return []  # a command this version does not know: nothing to judge it by
        events: list[dict[str, Any]] = list(payload.get("events", ()))
        instrument = getattr(command, "instrument", None)
        if isinstance(command, ex.CancelOrder | ex.AmendOrder):
            known = self._orders.get(command.id)
            instrument = known.instrument if known else None
        market = self.engine.markets.get(instrument) if instrument else None
        before = _MarketBefore.of(market) if market is not None else None
        book_before = (
            book_view(market)
            if market is not None
            and (isinstance(command, ex.RunAuction) or any(e["event"] == "trade" for e in events))
            else None
        )
        auction_orders = (
            {o.id: _Resting.of(o) for o in market.book.orders.values() if o.active}
            if market is not None and isinstance(command, ex.RunAuction)
            else {}
        )
        self._pretrade.clear()
        if payload.get("pretrade_order"):
            self._pretrade[payload["pretrade_order"]] = payload.get("pretrade")
        self.engine.handle(command)
        market = self.engine.markets.get(instrument) if instrument else market
        ctx = _Ctx(entry, command, events, before, book_before, market, auction_orders)
        return self._evaluate(ctx)

    # ------------------------------------------------------------------ per entry

    def _evaluate(self, c: _Ctx) -> list[Finding]:
        found: list[Finding] = []
        entry, command = c.entry, c.command
        if isinstance(command, ex.PlaceOrder):
            found += self._placed(c)
        elif isinstance(command, ex.AmendOrder):
            found += self._amended(c)
        trades: list[tuple[str, dict[str, Any]]] = []
        n = 0
        for e in c.events:
            if e["event"] == "trade":
                n += 1
                trades.append((f"T{entry.seq}-{n}", e))
        auction = next((e for e in c.events if e["event"] == "auction"), None)
        if auction is not None:
            # the auction's rules see the orders as they stood before the auction
            found += self._auction(c, auction, trades)
        for trade_id, e in trades:
            found += self._trade(c, trade_id, e)
        for e in c.events:
            if e["event"] == "cancelled":
                found += self._cancelled(c, e)
        return found

    def _placed(self, c: _Ctx) -> list[Finding]:
        cmd: ex.PlaceOrder = c.command
        accepted = any(e["event"] == "accepted" and e["id"] == cmd.id for e in c.events)
        rejected = next(
            (e for e in c.events if e["event"] == "rejected" and e.get("id") == cmd.id), None
        )
        if accepted:
            self._orders[cmd.id] = _Order(
                cmd.id,
                cmd.participant,
                cmd.instrument,
                cmd.side,
                cmd.price,
                cmd.quantity,
                cmd.quantity,
                c.entry.at,
            )
        hit = None
        if rejected is not None and rejected["reason"] == ex.OUTSIDE_PRICE_LIMIT:
            hit = "rejected_outside_limit"
        elif accepted and c.before is not None and cmd.price is not None:
            if cmd.side == "buy" and cmd.price >= c.before.upper:
                hit = "at_upper_limit"
            elif cmd.side == "sell" and cmd.price <= c.before.lower:
                hit = "at_lower_limit"
        if hit is None:
            return []
        return self._limit_hit(c, cmd.participant, cmd.instrument, cmd.id, cmd.side, cmd.price, hit)

    def _amended(self, c: _Ctx) -> list[Finding]:
        cmd: ex.AmendOrder = c.command
        order = self._orders.get(cmd.id)
        if order is None:
            return []
        found: list[Finding] = []
        for e in c.events:
            if e["event"] == "amended" and e["id"] == cmd.id:
                if not e["kept_priority"]:
                    order.entered_at = c.entry.at
                order.quantity += e["quantity"] - order.remaining
                order.price, order.remaining = e["price"], e["quantity"]
            elif (
                e["event"] == "rejected"
                and e.get("id") == cmd.id
                and e["reason"] == ex.OUTSIDE_PRICE_LIMIT
            ):
                found += self._limit_hit(
                    c,
                    order.participant,
                    order.instrument,
                    order.id,
                    order.side,
                    cmd.price,
                    "rejected_outside_limit",
                )
        return found

    def _trade(self, c: _Ctx, trade_id: str, e: dict[str, Any]) -> list[Finding]:
        for oid in (e["buy"], e["sell"]):
            order = self._orders.get(oid)
            if order is not None:
                order.filled += e["quantity"]
                order.remaining -= e["quantity"]
                if order.remaining <= 0:
                    del self._orders[oid]
        rule = self.rules.on(WASH_TRADE)
        buyer, seller = e["buyer"], e["seller"]
        if rule is None or self.owner(buyer) != self.owner(seller):
            return []
        if e["quantity"] < rule["min_quantity"]:
            return []
        group = self.owners.get(buyer) if buyer != seller else None
        return [
            self._finding(
                rule,
                trade_id,
                c,
                (buyer, seller),
                e["instrument"],
                {
                    "trade_id": trade_id,
                    "price": e["price"],
                    "quantity": e["quantity"],
                    "buy_order": e["buy"],
                    "sell_order": e["sell"],
                    "buyer": buyer,
                    "seller": seller,
                    "same_participant": buyer == seller,
                    "corporate_group": group,
                    "auction": isinstance(c.command, ex.RunAuction),
                    "order_ids": [e["buy"], e["sell"]],
                    "trade_ids": [trade_id],
                    "book_before": c.book_before,
                    "book_after": book_view(c.market),
                },
            )
        ]

    def _cancelled(self, c: _Ctx, e: dict[str, Any]) -> list[Finding]:
        order = self._orders.get(e["id"])
        if order is None:
            return []
        order.remaining -= e["quantity"]
        if order.remaining <= 0:
            del self._orders[order.id]
        if e["reason"] == ex.BY_PARTICIPANT:
            spoof = self.rules.on(SPOOFING)
            if spoof is not None and order.filled == 0 and order.quantity >= spoof["min_quantity"]:
                self._cancels.setdefault(order.instrument, []).append(
                    {
                        "order_id": order.id,
                        "participant": order.participant,
                        "side": order.side,
                        "price": order.price,
                        "quantity": order.quantity,
                        "entered_at": order.entered_at,
                        "cancelled_at": c.entry.at,
                        "seq": c.entry.seq,
                    }
                )
            return []
        if e["reason"] != ex.SELF_TRADE:
            return []
        rule = self.rules.on(STP_CANCELS)
        if rule is None:
            return []
        day = trade_date_of(c.entry.at).isoformat()
        counter = self._stp.get(order.participant)
        if counter is None or counter.date != day:
            counter = self._stp[order.participant] = _Day(day)
        counter.items.append(
            {
                "order_id": order.id,
                "instrument": order.instrument,
                "quantity": e["quantity"],
                "at": c.entry.at,
                "seq": c.entry.seq,
            }
        )
        if len(counter.items) != rule["min_cancels"]:
            return []  # once a day, when the count reaches the threshold
        return [
            self._finding(
                rule,
                f"{order.participant}:{day}",
                c,
                (order.participant,),
                None,
                {
                    "cancels": len(counter.items),
                    "min_cancels": rule["min_cancels"],
                    "orders": list(counter.items),
                    "order_ids": [i["order_id"] for i in counter.items],
                    "trade_ids": [],
                },
            )
        ]

    def _limit_hit(
        self,
        c: _Ctx,
        participant: str,
        instrument: str,
        order_id: str,
        side: str,
        price: int | None,
        how: str,
    ) -> list[Finding]:
        rule = self.rules.on(PRICE_LIMIT_HITS)
        if rule is None:
            return []
        day = trade_date_of(c.entry.at).isoformat()
        counter = self._hits.get((participant, instrument))
        if counter is None or counter.date != day:
            counter = self._hits[(participant, instrument)] = _Day(day)
        counter.items.append(
            {
                "order_id": order_id,
                "side": side,
                "price": price,
                "hit": how,
                "lower_limit": c.before.lower if c.before else None,
                "upper_limit": c.before.upper if c.before else None,
                "at": c.entry.at,
                "seq": c.entry.seq,
            }
        )
        if len(counter.items) != rule["min_hits"]:
            return []
        return [
            self._finding(
                rule,
                f"{participant}:{instrument}:{day}",
                c,
                (participant,),
                instrument,
                {
                    "hits": len(counter.items),
                    "min_hits": rule["min_hits"],
                    "orders": list(counter.items),
                    "order_ids": [i["order_id"] for i in counter.items],
                    "trade_ids": [],
                    "book_after": book_view(c.market),
                },
            )
        ]

    # ------------------------------------------------------------------ auctions

    def _auction(
        self, c: _Ctx, auction: dict[str, Any], trades: list[tuple[str, dict[str, Any]]]
    ) -> list[Finding]:
        instrument: str = auction["instrument"]
        found = self._spoofing(c, instrument)
        if auction["price"] is not None:
            found += self._marking_close(c, auction, trades)
            found += self._concentration(c, auction, trades)
            self._note_price(instrument, c.entry.at, auction["price"])
        return found

    def _note_price(self, instrument: str, at: str, price: int) -> None:
        day = trade_date_of(at).isoformat()
        known = self._day_prices.get(instrument)
        if known is None or known[0] != day:
            if known is not None and known[1]:
                self._prev_close[instrument] = known[1][-1][1]
            known = self._day_prices[instrument] = (day, [])
        known[1].append((minute_of_day(at), price))

    def _spoofing(self, c: _Ctx, instrument: str) -> list[Finding]:
        rule = self.rules.on(SPOOFING)
        waiting = self._cancels.pop(instrument, [])
        if rule is None or not waiting:
            return []
        at = moment(c.entry.at)
        window = dt.timedelta(minutes=rule["window_minutes"])
        day = trade_date_of(c.entry.at)
        oldest = day - dt.timedelta(days=rule["lookback_days"] - 1)
        found: list[Finding] = []
        new: dict[str, list[dict[str, Any]]] = {}
        for item in waiting:
            if at - moment(item["cancelled_at"]) <= window:
                new.setdefault(item["participant"], []).append(
                    item | {"auction_at": c.entry.at, "auction_seq": c.entry.seq}
                )
        for participant, items in sorted(new.items()):
            seen = self._spoofs.setdefault((participant, instrument), deque())
            seen.extend(items)
            while seen and trade_date_of(seen[0]["cancelled_at"]) < oldest:
                seen.popleft()
            if len(seen) < rule["min_occurrences"]:
                continue
            found.append(
                self._finding(
                    rule,
                    f"{participant}:{instrument}:{day.isoformat()}",
                    c,
                    (participant,),
                    instrument,
                    {
                        "occurrences": len(seen),
                        "min_occurrences": rule["min_occurrences"],
                        "window_minutes": rule["window_minutes"],
                        "lookback_days": rule["lookback_days"],
                        "orders": list(seen),
                        "order_ids": [i["order_id"] for i in seen],
                        "trade_ids": [],
                        "book_before": c.book_before,
                        "book_after": book_view(c.market),
                    },
                )
            )
        return found

    def _marking_close(
        self, c: _Ctx, auction: dict[str, Any], trades: list[tuple[str, dict[str, Any]]]
    ) -> list[Finding]:
        rule = self.rules.on(MARKING_CLOSE)
        before = c.before
        if rule is None or before is None:
            return []
        minute = minute_of_day(c.entry.at)
        if minute < rule["closing_from_minute"]:
            return []
        instrument, price = auction["instrument"], auction["price"]
        day = trade_date_of(c.entry.at).isoformat()
        reference, basis = self._reference(instrument, day, rule["closing_from_minute"], before)
        move_bp = abs(price - reference) * 10_000 // reference
        if move_bp < rule["min_move_bp"]:
            return []
        side = "buy" if price > reference else "sell"
        since = moment(c.entry.at) - dt.timedelta(minutes=rule["late_minutes"])
        late = [o for o in c.auction_orders.values() if o.side == side and self._late(o.id, since)]
        traded = {e["buy" if side == "buy" else "sell"] for _t, e in trades}
        found: list[Finding] = []
        for participant in sorted({o.participant for o in late}):
            mine = [o for o in late if o.participant == participant]
            if not any(o.id in traded for o in mine):
                continue
            without = self._price_without(c, {o.id for o in mine})
            if without is not None and abs(without - reference) >= abs(price - reference):
                continue  # the price would have been as far without them: they did not move it
            ids = [o.id for o in mine]
            found.append(
                self._finding(
                    rule,
                    f"{participant}:{instrument}:{day}",
                    c,
                    (participant,),
                    instrument,
                    {
                        "auction_price": price,
                        "reference_price": reference,
                        "reference": basis,
                        "move_bp": move_bp,
                        "min_move_bp": rule["min_move_bp"],
                        "price_without_late_orders": without,
                        "late_minutes": rule["late_minutes"],
                        "orders": [
                            {
                                "order_id": o.id,
                                "side": o.side,
                                "price": o.price,
                                "quantity": o.quantity,
                                "entered_at": self._orders[o.id].entered_at
                                if o.id in self._orders
                                else None,
                            }
                            for o in mine
                        ],
                        "order_ids": ids,
                        "trade_ids": [t for t, e in trades if e["buy"] in ids or e["sell"] in ids],
                        "book_before": c.book_before,
                        "book_after": book_view(c.market),
                    },
                )
            )
        return found

    def _late(self, order_id: str, since: dt.datetime) -> bool:
        order = self._orders.get(order_id)
        return order is not None and moment(order.entered_at) >= since

    def _reference(
        self, instrument: str, day: str, closing_from: int, before: _MarketBefore
    ) -> tuple[int, str]:
        """What the closing auction's price is measured against: the day's earlier (11:30)
        auction price, else the previous close, else the reference price (基準値段)."""
        known = self._day_prices.get(instrument)
        if known is not None and known[0] == day:
            earlier = [p for m, p in known[1] if m < closing_from]
            if earlier:
                return earlier[-1], "midday_auction"
            if instrument in self._prev_close:
                return self._prev_close[instrument], "previous_close"
        elif known is not None and known[1]:
            return known[1][-1][1], "previous_close"
        return before.reference, "reference_price"

    @staticmethod
    def _price_without(c: _Ctx, leave_out: set[str]) -> int | None:
        """The auction's price had the orders ``leave_out`` not been in the book."""
        before = c.before
        assert before is not None
        buys: dict[int, int] = {}
        sells: dict[int, int] = {}
        market_buy = market_sell = 0
        for o in c.auction_orders.values():
            if o.id in leave_out:
                continue
            if o.price is None:
                if o.side == "buy":
                    market_buy += o.quantity
                else:
                    market_sell += o.quantity
                continue
            levels = buys if o.side == "buy" else sells
            levels[o.price] = levels.get(o.price, 0) + o.quantity
        return clearing_price(
            list(buys.items()),
            list(sells.items()),
            market_buy,
            market_sell,
            tick=before.tick,
            reference=before.reference,
            lower=before.lower,
            upper=before.upper,
        ).price

    def _concentration(
        self, c: _Ctx, auction: dict[str, Any], trades: list[tuple[str, dict[str, Any]]]
    ) -> list[Finding]:
        rule = self.rules.on(CONCENTRATION)
        volume: int = auction["volume"]
        if rule is None or volume < rule["min_volume"] or not trades:
            return []
        bought: dict[str, int] = {}
        sold: dict[str, int] = {}
        members: dict[str, set[str]] = {}
        for _t, e in trades:
            for who, book in ((e["buyer"], bought), (e["seller"], sold)):
                owner = self.owner(who)
                book[owner] = book.get(owner, 0) + e["quantity"]
                members.setdefault(owner, set()).add(who)
        found: list[Finding] = []
        instrument = auction["instrument"]
        for owner in sorted(members):
            side_volume = max(bought.get(owner, 0), sold.get(owner, 0))
            share = side_volume * 100 // volume
            if share < rule["min_share_pct"]:
                continue
            ids = sorted(members[owner])
            found.append(
                self._finding(
                    rule,
                    f"{instrument}:{c.entry.seq}:{owner}",
                    c,
                    tuple(ids),
                    instrument,
                    {
                        "auction_seq": c.entry.seq,
                        "auction_price": auction["price"],
                        "auction_volume": volume,
                        "bought": bought.get(owner, 0),
                        "sold": sold.get(owner, 0),
                        "share_pct": share,
                        "min_share_pct": rule["min_share_pct"],
                        "corporate_group": self.owners.get(ids[0]) if len(ids) > 1 else None,
                        "order_ids": sorted(
                            {e["buy"] for _t, e in trades if e["buyer"] in ids}
                            | {e["sell"] for _t, e in trades if e["seller"] in ids}
                        ),
                        "trade_ids": [
                            t for t, e in trades if e["buyer"] in ids or e["seller"] in ids
                        ],
                        "book_before": c.book_before,
                        "book_after": book_view(c.market),
                    },
                )
            )
        return found

    # ------------------------------------------------------------------ findings

    @staticmethod
    def _finding(
        rule: Rule,
        subject: str,
        c: _Ctx,
        participants: Iterable[str],
        instrument: str | None,
        evidence: dict[str, Any],
    ) -> Finding:
        return Finding(
            rule=rule.id,
            severity=rule.severity,
            key=f"{rule.id}:{subject}",
            participants=tuple(sorted(set(participants))),
            instrument=instrument,
            trade_date=trade_date_of(c.entry.at).isoformat(),
            seq=c.entry.seq,
            at=c.entry.at,
            evidence={k: v for k, v in evidence.items() if v is not None}
            | {"journal_seq": c.entry.seq},
        )


@dataclass(frozen=True, slots=True)
class _MarketBefore:
    """An instrument's figures just before an entry's command."""

    tick: int
    reference: int
    lower: int
    upper: int

    @staticmethod
    def of(m: ex.Market) -> _MarketBefore:
        return _MarketBefore(m.tick, m.reference, m.lower, m.upper)


@dataclass(frozen=True, slots=True)
class _Resting:
    """An order in the book just before an auction (the engine's own changes as it trades)."""

    id: str
    participant: str
    side: str
    price: int | None
    quantity: int

    @staticmethod
    def of(o: Any) -> _Resting:
        return _Resting(o.id, o.participant, o.side, o.price, o.quantity)


@dataclass(slots=True)
class _Ctx:
    """One entry being evaluated, with what was known before its command."""

    entry: Entry
    command: Any
    events: list[dict[str, Any]]
    before: _MarketBefore | None
    book_before: dict[str, Any] | None
    market: ex.Market | None
    auction_orders: dict[str, _Resting]


def owners_of(groups: Mapping[str, str | None]) -> dict[str, str]:
    """Participants' declared corporate groups, the empty ones left out."""
    return {pid: g.strip() for pid, g in groups.items() if g and g.strip()}
