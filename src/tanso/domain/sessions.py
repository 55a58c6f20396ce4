"""Trading sessions as data: when orders are accepted and when call auctions run.

An instrument's plan (TSE's by default: orders 08:00-11:29 and 12:30-14:59, call auctions at
11:30 and 15:00, Japanese business days) is read here against a local time; nothing reads a
clock. The scheduler in the service layer asks `due_actions` what to do now.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from tanso.domain.calendar import TradingCalendar


@dataclass(frozen=True, slots=True)
class SessionPlan:
    """Order acceptance windows and auction times of one instrument, in its time zone."""

    timezone: str
    accept: tuple[tuple[dt.time, dt.time], ...]
    auctions: tuple[dt.time, ...]
    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SessionPlan:
        def t(s: str) -> dt.time:
            return dt.time.fromisoformat(s)

        return cls(
            timezone=d.get("timezone", "Asia/Tokyo"),
            accept=tuple((t(a), t(b)) for a, b in d.get("accept", [])),
            auctions=tuple(t(x) for x in d.get("auctions", [])),
            weekdays=tuple(d.get("weekdays", (0, 1, 2, 3, 4))),
        )

    def trading_day(self, local: dt.datetime, calendar: TradingCalendar) -> bool:
        return local.weekday() in self.weekdays and calendar.is_business_day(local.date())

    def accepting(self, local: dt.datetime, calendar: TradingCalendar) -> bool:
        """Whether an order may be entered at this local time (window ends are inclusive
        to the minute: 11:29 means up to 11:29:59)."""
        if not self.trading_day(local, calendar):
            return False
        now = local.time()
        return any(a <= now < _end_of_minute(b) for a, b in self.accept)


def _end_of_minute(t: dt.time) -> dt.time:
    if t.minute == 59 and t.hour == 23:
        return dt.time.max
    minute = (t.hour * 60 + t.minute + 1) % (24 * 60)
    return dt.time(minute // 60, minute % 60)


def due_actions(
    plan: SessionPlan,
    local: dt.datetime,
    calendar: TradingCalendar,
    *,
    mode: str,
    state: str,
    auctions_today: int,
) -> list[str]:
    """What the scheduler should do now: "open", "auction", "pre_close" or "close", in order.

    Call mode: open at the first window, one auction at each auction time not yet run today,
    close after the last. Continuous mode: open (the opening auction) at the first window,
    close (the closing auction) at the last auction time.
    """
    if not plan.accept:
        return []
    if not plan.trading_day(local, calendar):
        return ["close"] if state == "open" else []
    now = local.time()
    first_open = plan.accept[0][0]
    last = plan.auctions[-1] if plan.auctions else _end_of_minute(plan.accept[-1][1])
    actions: list[str] = []
    if mode == "continuous":
        if first_open <= now < last and state == "closed":
            actions.append("open")
        elif now >= last and state in ("open", "pre_close"):
            actions.append("close")
        return actions
    done = auctions_today
    opened = state in ("open", "halted")
    if first_open <= now < last and not opened and done < len(plan.auctions):
        actions.append("open")
        opened = True
    for k, slot in enumerate(plan.auctions):
        if now >= slot and done <= k and (opened or state == "open"):
            actions.append("auction")
            done += 1
    if now >= last and done >= len(plan.auctions) and (opened or state == "open"):
        actions.append("close")
    return actions
