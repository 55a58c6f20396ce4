"""板寄せ (itayose): the TSE call auction: its clearing price and how quantity is shared out.

Pure functions over aggregated quantities; they know nothing of sessions, books or events.
Standard library only; integers only.

The TSE conditions a clearing price P must meet (JPX rules, as in MISSION.md):
1. all market orders execute;
2. all buy orders priced above P and all sell orders priced below P execute in full;
3. at P itself the whole quantity of one side executes.
Among qualifying prices: the largest volume, then the smallest imbalance, then the highest price
if every remaining imbalance is a buy surplus, the lowest if every one is a sell surplus, else the
price nearest the reference price; if two prices are equally near it, the higher one (our choice).

Candidates are every tick from one tick below the lowest limit price to one tick above the
highest, within the price limits. Rather than walking tick by tick, `clearing_price` evaluates
*segments*: each distinct limit price, each open gap between two neighbouring limit prices, and
the one tick beyond each end. Inside a gap no order has its price, so demand (buys at or above P)
and supply (sells at or below P), and the strict versions of both, are constant over the gap:
every tick in it has the same volume, imbalance and qualification, and only the final tie-break
(highest, lowest, nearest the reference) tells them apart. So the best tick of a gap is its top,
its bottom or the reference clamped into it, and evaluating segments gives exactly the price a
tick-by-tick scan gives (a property test checks this against a brute-force scan). The cost is
O(L) in the number of price levels, independent of the width of the price range.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Clearing:
    """The outcome of the price search: price None means no qualifying price, no trade."""

    price: int | None
    volume: int
    # Demand and supply at the price (market orders included); their difference is the imbalance.
    demand: int = 0
    supply: int = 0


@dataclass(frozen=True, slots=True)
class _Segment:
    lo: int
    hi: int
    demand: int  # market buys + buys priced >= P
    demand_above: int  # market buys + buys priced > P
    supply: int  # market sells + sells priced <= P
    supply_below: int  # market sells + sells priced < P


def qualifies(
    demand: int,
    demand_above: int,
    supply: int,
    supply_below: int,
    market_buy: int,
    market_sell: int,
) -> bool:
    """Whether a price with these cumulative quantities meets the three TSE conditions."""
    volume = min(demand, supply)
    if volume <= 0:
        return False
    # TSE itayose condition 1: every market order executes.
    if volume < market_buy or volume < market_sell:
        return False
    # TSE itayose condition 2: orders priced better than P execute in full.
    if volume < demand_above or volume < supply_below:
        return False
    # TSE itayose condition 3: one side's whole quantity at P executes. With volume defined as
    # min(demand, supply) this always holds; it is kept so the code reads like the rule.
    return volume in (demand, supply)


def clearing_price(
    buys: Sequence[tuple[int, int]],
    sells: Sequence[tuple[int, int]],
    market_buy: int,
    market_sell: int,
    *,
    tick: int,
    reference: int,
    lower: int,
    upper: int,
) -> Clearing:
    """The itayose price and volume for limit levels `buys`/`sells` as (price, total quantity).

    Levels may come in any order but each price at most once per side. `lower`/`upper` are the
    price limits (値幅制限): no price outside them is a candidate.
    """
    segments = _segments(buys, sells, market_buy, market_sell, tick, reference, lower, upper)
    best: list[_Segment] = []
    best_volume = 0
    best_imbalance = 0
    for s in segments:
        if not qualifies(
            s.demand, s.demand_above, s.supply, s.supply_below, market_buy, market_sell
        ):
            continue
        volume = min(s.demand, s.supply)
        imbalance = abs(s.demand - s.supply)
        if volume > best_volume or (volume == best_volume and imbalance < best_imbalance):
            best, best_volume, best_imbalance = [s], volume, imbalance
        elif volume == best_volume and imbalance == best_imbalance:
            best.append(s)
    if not best:
        return Clearing(None, 0)
    if all(s.demand > s.supply for s in best):
        chosen = max(best, key=lambda s: s.hi)
        price = chosen.hi
    elif all(s.supply > s.demand for s in best):
        chosen = min(best, key=lambda s: s.lo)
        price = chosen.lo
    else:
        # Nearest the reference price; equally near: the higher price.
        price, chosen = max(
            ((min(max(reference, s.lo), s.hi), s) for s in best),
            key=lambda ps: (-abs(ps[0] - reference), ps[0]),
        )
    return Clearing(price, best_volume, chosen.demand, chosen.supply)


def _segments(
    buys: Sequence[tuple[int, int]],
    sells: Sequence[tuple[int, int]],
    market_buy: int,
    market_sell: int,
    tick: int,
    reference: int,
    lower: int,
    upper: int,
) -> list[_Segment]:
    """Cut the candidate range into runs of ticks with identical cumulative quantities."""
    buy_at = dict(buys)
    sell_at = dict(sells)
    prices = sorted(buy_at.keys() | sell_at.keys())
    if not prices:
        # Only market orders: the one candidate is the reference price (TSE practice).
        return [_Segment(reference, reference, market_buy, market_buy, market_sell, market_sell)]
    total_buy = sum(buy_at.values())
    raw: list[_Segment] = []
    # Below the lowest limit price: every buy counts, no limit sell does.
    demand = market_buy + total_buy
    supply = market_sell
    first = prices[0] - tick
    raw.append(_Segment(first, first, demand, demand, supply, supply))
    n = len(prices)
    for i, p in enumerate(prices):
        b = buy_at.get(p, 0)
        s = sell_at.get(p, 0)
        demand_above = demand - b
        new_supply = supply + s
        raw.append(_Segment(p, p, demand, demand_above, new_supply, supply))
        demand, supply = demand_above, new_supply
        gap_hi = prices[i + 1] - tick if i + 1 < n else p + tick
        if gap_hi >= p + tick:
            raw.append(_Segment(p + tick, gap_hi, demand, demand, supply, supply))
    out = []
    for seg in raw:
        lo, hi = max(seg.lo, lower), min(seg.hi, upper)
        if lo > hi:
            continue
        if lo != seg.lo or hi != seg.hi:
            seg = _Segment(lo, hi, seg.demand, seg.demand_above, seg.supply, seg.supply_below)
        out.append(seg)
    return out


def share_at_price(orders: Sequence[tuple[str, int]], quantity: int, lot: int) -> list[int]:
    """Share `quantity` among orders at the clearing price, one lot at a time (TSE rule).

    `orders` are (participant, open quantity) in time priority. Participants are served in order of
    their total quantity at this price, largest first, ties to the one whose earliest order is
    earliest; each round gives every participant still short one lot. A participant's share goes
    to its own orders earliest first. Returns the quantity for each order, in the same order.
    The rounds are counted, not simulated: O(n log n) however many lots there are.
    """
    totals: dict[str, int] = {}
    first: dict[str, int] = {}
    for i, (participant, open_quantity) in enumerate(orders):
        totals[participant] = totals.get(participant, 0) + open_quantity
        first.setdefault(participant, i)
    ranked = sorted(totals, key=lambda p: (-totals[p], first[p]))
    caps = [totals[p] // lot for p in ranked]
    lots = min(quantity // lot, sum(caps))
    # Water-filling: after k full rounds participant i holds min(cap_i, k) lots.
    remaining = lots
    active = len(caps)
    level = 0
    for cap in sorted(caps):
        step = cap - level
        if step * active <= remaining:
            remaining -= step * active
            level = cap
            active -= 1
            continue
        level += remaining // active
        remaining %= active
        break
    else:
        remaining = 0
    share: dict[str, int] = {}
    for participant, cap in zip(ranked, caps, strict=True):
        got = min(cap, level)
        # The last, partial round goes to participants in priority order.
        if remaining and cap > level:
            got += 1
            remaining -= 1
        share[participant] = got * lot
    result = []
    for participant, open_quantity in orders:
        take = min(open_quantity, share[participant])
        share[participant] -= take
        result.append(take)
    return result
