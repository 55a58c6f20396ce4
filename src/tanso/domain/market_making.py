"""Market-maker programmes (マーケットメイカー制度) and their compliance, as pure functions.

A programme (JPX's FY2025 one: 省エネ and 再エネ(電力), 13:00-15:00 on trading days, spread at most
¥200, at least 500 t or 1,000 t a side) asks each appointed market maker to quote both sides of its
instrument for a share of each day's window. Compliance is read from the book itself: `Presence`
folds the journal's exchange entries in order, keeps every resting order (who, which side, price,
quantity left), and after each entry that touches a programme's instrument decides for each of
its market makers whether it quotes: a bid and an ask level of its own, each holding at least the
minimum quantity, no more than the maximum spread apart. The times it starts and stops quoting are
the intervals from which a day's presence is measured.

The same fold serves both ways of asking: advanced entry by entry as the journal grows (what the
service keeps) or run over the whole journal anew (the check), and the two must agree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from tanso.domain.errors import InvalidInput

Key = tuple[str, str]
"""(programme id, participant id)."""


@dataclass(frozen=True, slots=True)
class Programme:
    """One instrument's programme for a period, as the operator defined it."""

    id: str
    instrument: str
    name_en: str
    name_ja: str
    starts: dt.date
    ends: dt.date
    window_from: dt.time
    window_to: dt.time
    timezone: str
    max_spread: int
    min_quantity: int
    min_presence_pct: int
    incentive_per_day: int

    def __post_init__(self) -> None:
        if self.ends < self.starts:
            raise InvalidInput(
                "invalid_programme",
                f"The programme ends ({self.ends}) before it starts ({self.starts}).",
            )
        if self.window_to <= self.window_from:
            raise InvalidInput(
                "invalid_programme",
                f"The quoting window ends ({self.window_to:%H:%M}) before it starts "
                f"({self.window_from:%H:%M}).",
            )
        for name, value, lo, hi in (
            ("max_spread", self.max_spread, 1, 10**9),
            ("min_quantity", self.min_quantity, 1, 10**9),
            ("min_presence_pct", self.min_presence_pct, 1, 100),
            ("incentive_per_day", self.incentive_per_day, 0, 10**10),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
                raise InvalidInput(
                    "invalid_programme",
                    f"{name} is a whole number from {lo} to {hi}; got {value!r}.",
                )

    def window(self, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
        """The day's quoting window, in UTC."""
        tz = ZoneInfo(self.timezone)
        start = dt.datetime.combine(day, self.window_from, tz).astimezone(dt.UTC)
        end = dt.datetime.combine(day, self.window_to, tz).astimezone(dt.UTC)
        return start, end

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "instrument": self.instrument,
            "name_en": self.name_en,
            "name_ja": self.name_ja,
            "starts": self.starts.isoformat(),
            "ends": self.ends.isoformat(),
            "window_from": f"{self.window_from:%H:%M}",
            "window_to": f"{self.window_to:%H:%M}",
            "timezone": self.timezone,
            "max_spread": self.max_spread,
            "min_quantity": self.min_quantity,
            "min_presence_pct": self.min_presence_pct,
            "incentive_per_day": self.incentive_per_day,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Programme:
        try:
            return cls(
                id=d["id"],
                instrument=d["instrument"],
                name_en=d["name_en"],
                name_ja=d["name_ja"],
                starts=dt.date.fromisoformat(d["starts"]),
                ends=dt.date.fromisoformat(d["ends"]),
                window_from=dt.time.fromisoformat(d["window_from"]),
                window_to=dt.time.fromisoformat(d["window_to"]),
                timezone=d["timezone"],
                max_spread=d["max_spread"],
                min_quantity=d["min_quantity"],
                min_presence_pct=d["min_presence_pct"],
                incentive_per_day=d["incentive_per_day"],
            )
        except (KeyError, ValueError) as e:
            raise InvalidInput(
                "invalid_programme", f"A programme field is missing or malformed: {e}."
            ) from e


@dataclass(slots=True)
class _Resting:
    participant: str
    instrument: str
    side: str
    price: int | None
    remaining: int


def parse_at(at: str) -> dt.datetime:
    return dt.datetime.fromisoformat(at.replace("Z", "+00:00"))


@dataclass
class Presence:
    """The fold: resting orders, programmes, appointments and each market maker's quoting
    intervals, as of the last journal entry folded (``seq``)."""

    seq: int = 0
    programmes: dict[str, Programme] = field(default_factory=dict)
    appointed: dict[Key, tuple[dt.datetime, dt.datetime | None]] = field(default_factory=dict)
    orders: dict[str, _Resting] = field(default_factory=dict)
    since: dict[Key, dt.datetime] = field(default_factory=dict)
    """Market makers quoting now, and since when."""
    intervals: dict[Key, list[tuple[dt.datetime, dt.datetime]]] = field(default_factory=dict)
    """Closed intervals of quoting, in order."""
    last_at: dt.datetime | None = None

    # ---------------------------------------------------------------- folding

    def fold(self, seq: int, at: str, kind: str, payload: dict[str, Any]) -> None:
        """Fold one journal entry (entries of other kinds are ignored)."""
        if seq <= self.seq:
            return
        self.seq = seq
        if not (kind.startswith("exchange.") or kind.startswith("market_maker.")):
            return
        when = parse_at(at)
        self.last_at = when
        touched: set[str] = set()
        if kind == "market_maker.programme_defined":
            p = Programme.from_json(payload["programme"])
            self.programmes[p.id] = p
            touched.add(p.instrument)
        elif kind == "market_maker.appointed":
            key = (payload["programme"], payload["participant"])
            self.appointed[key] = (when, None)
            touched.add(self.programmes[key[0]].instrument)
        elif kind == "market_maker.appointment_ended":
            key = (payload["programme"], payload["participant"])
            start, _ = self.appointed[key]
            self.appointed[key] = (start, when)
            touched.add(self.programmes[key[0]].instrument)
        else:
            touched = self._fold_exchange(payload)
        if touched:
            self._evaluate(touched, when)

    def _fold_exchange(self, payload: dict[str, Any]) -> set[str]:
        touched: set[str] = set()
        command = payload.get("command") or {}
        if command.get("command") == "PlaceOrder":
            oid = command.get("id")
            if isinstance(oid, str):
                self.orders[oid] = _Resting(
                    command["participant"],
                    command["instrument"],
                    command["side"],
                    command.get("price"),
                    int(command.get("quantity") or 0),
                )
                touched.add(command["instrument"])
        for e in payload.get("events") or ():
            name = e.get("event")
            if name == "trade":
                touched.add(e["instrument"])
                for oid in (e["buy"], e["sell"]):
                    o = self.orders.get(oid)
                    if o is not None:
                        o.remaining -= e["quantity"]
                        if o.remaining <= 0:
                            del self.orders[oid]
            elif name == "cancelled" or (
                name == "rejected"
                and e.get("id") == command.get("id")
                and command.get("command") == "PlaceOrder"
            ):
                o = self.orders.pop(e.get("id") or "", None)
                if o is not None:
                    touched.add(o.instrument)
            elif name == "amended":
                o = self.orders.get(e["id"])
                if o is not None:
                    o.price, o.remaining = e["price"], e["quantity"]
                    touched.add(o.instrument)
        return touched

    def _evaluate(self, instruments: set[str], when: dt.datetime) -> None:
        for key, (start, end) in self.appointed.items():
            programme = self.programmes[key[0]]
            if programme.instrument not in instruments:
                continue
            quoting = end is None and when >= start and self.quotes(programme, key[1])
            since = self.since.get(key)
            if quoting and since is None:
                self.since[key] = when
            elif not quoting and since is not None:
                del self.since[key]
                if when > since:
                    self.intervals.setdefault(key, []).append((since, when))

    def quotes(self, programme: Programme, participant: str) -> bool:
        """Whether the participant quotes both sides within the programme's spread and size."""
        bids: dict[int, int] = {}
        asks: dict[int, int] = {}
        for o in self.orders.values():
            if o.participant == participant and o.instrument == programme.instrument and o.price:
                levels = bids if o.side == "buy" else asks
                levels[o.price] = levels.get(o.price, 0) + o.remaining
        bid = max((p for p, q in bids.items() if q >= programme.min_quantity), default=None)
        ask = min((p for p, q in asks.items() if q >= programme.min_quantity), default=None)
        return bid is not None and ask is not None and 0 <= ask - bid <= programme.max_spread

    # ---------------------------------------------------------------- reading

    def quoting_intervals(
        self, key: Key, until: dt.datetime
    ) -> list[tuple[dt.datetime, dt.datetime]]:
        """The closed intervals, and the open one (if quoting now) up to ``until``."""
        out = list(self.intervals.get(key, ()))
        since = self.since.get(key)
        if since is not None and until > since:
            out.append((since, until))
        return out


@dataclass(frozen=True, slots=True)
class DayCompliance:
    """One trading day of one market maker under one programme."""

    day: str
    window_seconds: int
    quoting_seconds: int
    presence_pct: float
    compliant: bool


def day_compliance(
    programme: Programme,
    intervals: Iterable[tuple[dt.datetime, dt.datetime]],
    day: dt.date,
    appointed: tuple[dt.datetime, dt.datetime | None],
    now: dt.datetime,
) -> DayCompliance | None:
    """A day's presence: the share of its window (up to ``now``, and while appointed) in which
    the market maker quoted; None for a day with no window to measure (not appointed then, or not
    begun)."""
    start, end = programme.window(day)
    lo = max(start, appointed[0])
    hi = min(end, now, appointed[1] or end)
    if hi <= lo:
        return None
    window = int((end - start).total_seconds())
    quoted = sum(
        max(0.0, (min(b, hi) - max(a, lo)).total_seconds())
        for a, b in intervals
        if b > lo and a < hi
    )
    seconds = round(quoted)
    pct = round(100 * seconds / window, 2)
    return DayCompliance(
        day=day.isoformat(),
        window_seconds=window,
        quoting_seconds=seconds,
        presence_pct=pct,
        compliant=pct >= programme.min_presence_pct,
    )
