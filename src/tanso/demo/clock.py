"""The demo's business clock: simulated business days on the Japanese calendar, at real session
times, running faster than the wall clock.

Inside the demo's business hours of a business day (08:00-16:30 Japan time) virtual time runs
``speed`` times as fast as the wall clock; at the end of the day it jumps to 08:00 of the next
business day, so every moment it shows is on a trading day and the scheduler opens, auctions
and closes each instrument at the times of its session plan (11:30 and 15:00; GX 超過削減枠 on
Fridays at 15:00). It is visibly the demo's: the pages label it (docs/demo-clock.md).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable

from sqlalchemy import func, select

from tanso.domain.calendar import TradingCalendar
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.instruments import JST
from tanso.store import schema as t
from tanso.store.db import Database

DAY_OPENS = dt.time(8, 0)
DAY_ENDS = dt.time(16, 30)
"""The demo's business hours: the first order window opens at 08:00, settlement runs at 16:00."""

SPEED = 60.0
"""Virtual seconds per wall-clock second by default: a business day in about 8.5 minutes."""


class VirtualClock:
    """Virtual time from ``start`` (moved to the next business hours if outside them), advancing
    ``speed`` times as fast as ``wall`` (seconds, monotonic) inside business hours only.

    Called, it answers the time as the database clock writes it (ISO-8601 UTC, microseconds,
    ``Z``), never the same or an earlier one twice, so the journal's timestamps keep in order."""

    demo = True

    def __init__(
        self,
        start: dt.datetime,
        calendar: TradingCalendar,
        *,
        speed: float = SPEED,
        wall: Callable[[], float] = time.monotonic,
    ) -> None:
        if speed <= 0:
            raise ValueError("the demo clock's speed must be positive")
        self.calendar = calendar
        self.speed = speed
        self._wall = wall
        self._wall0 = wall()
        self._start = self.business_moment(start)
        self._last: dt.datetime | None = None
        self._lock = threading.Lock()

    def business_moment(self, moment: dt.datetime) -> dt.datetime:
        """``moment`` if it is inside business hours, else the next opening (08:00 JST)."""
        local = moment.astimezone(JST)
        day = local.date()
        if self._business(day) and DAY_OPENS <= local.time() < DAY_ENDS:
            return local
        if not (self._business(day) and local.time() < DAY_OPENS):
            day = self._next_business_day(day)
        return dt.datetime.combine(day, DAY_OPENS, JST)

    def now(self) -> dt.datetime:
        """The virtual time now (Japan time)."""
        elapsed = dt.timedelta(seconds=(self._wall() - self._wall0) * self.speed)
        return self.advance(self._start, elapsed)

    def advance(self, moment: dt.datetime, elapsed: dt.timedelta) -> dt.datetime:
        """The virtual time ``elapsed`` of business hours after ``moment`` (inside them)."""
        at = self.business_moment(moment)
        while True:
            end = dt.datetime.combine(at.date(), DAY_ENDS, JST)
            if elapsed < end - at:
                return at + elapsed
            elapsed -= end - at
            at = dt.datetime.combine(self._next_business_day(at.date()), DAY_OPENS, JST)

    def __call__(self) -> str:
        with self._lock:
            moment = self.now().astimezone(dt.UTC)
            if self._last is not None and moment <= self._last:
                moment = self._last + dt.timedelta(microseconds=1)
            self._last = moment
        return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")

    def _business(self, day: dt.date) -> bool:
        return self.calendar.is_business_day(day)

    def _next_business_day(self, day: dt.date) -> dt.date:
        day += dt.timedelta(days=1)
        while not self._business(day):
            day += dt.timedelta(days=1)
        return day


def live_day(today: dt.date, calendar: TradingCalendar) -> dt.date:
    """The demo's first live business day: today if it is one, else the next one."""
    while not calendar.is_business_day(today):
        today += dt.timedelta(days=1)
    return today


SETTLEMENT = dt.time(16, 0)
"""The demo's settlement run each business day (the history's too)."""


def resume(db: Database, speed: float = SPEED) -> VirtualClock:
    """The demo clock, made the database's business clock, from just after the last journal
    entry (the demo's data ends on its first live morning; a restart carries on from where the
    market stopped). Security times (portal sessions, login locks) stay on the wall clock."""
    with db.read() as conn:
        last = conn.execute(select(func.max(t.journal.c.at))).scalar_one()
    start = dt.datetime.fromisoformat(last.replace("Z", "+00:00")) if last else dt.datetime.now(JST)
    clock = VirtualClock(start + dt.timedelta(seconds=1), japan_calendar(), speed=speed)
    db.wall = db.clock
    db.clock = clock
    return clock
