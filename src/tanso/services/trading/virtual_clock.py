"""A virtual business clock (the demo's, or a test venue's): simulated business days on the
Japanese calendar, at real session times, running faster than the wall clock.

Inside the demo's business hours of a business day (08:00-16:30 Japan time) virtual time runs
``speed`` times as fast as the wall clock; at the end of the day it jumps to 08:00 of the next
business day, so every moment it shows is on a trading day and the scheduler opens, auctions
and closes each instrument at the times of its session plan (11:30 and 15:00; GX 超過削減枠 on
Fridays at 15:00). Every page labels it (docs/demo-clock.md).

A clock is fixed by its anchor: the virtual moment it showed at a wall-clock time (seconds since
the epoch) and its speed; processes given the same anchor (`TANSO_VIRTUAL_CLOCK`: the engines
and gateways of the cluster demo) tell the same time.
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
from tanso.settings import Settings
from tanso.store import schema as t
from tanso.store.db import Database

DAY_OPENS = dt.time(8, 0)
DAY_ENDS = dt.time(16, 30)
"""The demo's business hours: the first order window opens at 08:00, settlement runs at 16:00."""

SPEED = 60.0
"""Virtual seconds per wall-clock second by default: a business day in about 8.5 minutes."""


class VirtualClock:
    """Virtual time from ``start`` (moved to the next business hours if outside them) at the wall
    time ``since`` (now if None), advancing ``speed`` times as fast as ``wall`` (seconds) inside
    business hours only.

    Called, it answers the time as the database clock writes it (ISO-8601 UTC, microseconds,
    ``Z``), never the same or an earlier one twice, so the journal's timestamps keep in order."""

    demo = True

    def __init__(
        self,
        start: dt.datetime,
        calendar: TradingCalendar,
        *,
        speed: float = SPEED,
        wall: Callable[[], float] = time.time,
        since: float | None = None,
    ) -> None:
        if speed <= 0:
            raise ValueError("the demo clock's speed must be positive")
        self.calendar = calendar
        self.speed = speed
        self._wall = wall
        self._wall0 = wall() if since is None else since
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
"""The settlement run each business day on a virtual clock (the demo's history's too)."""


def anchor(db: Database) -> str:
    """A new clock's anchor (``TANSO_VIRTUAL_CLOCK``): just after the last journal entry, now
    (the demo's data ends on its first live morning; a restart carries on from where the market
    stopped)."""
    with db.read() as conn:
        last = conn.execute(select(func.max(t.journal.c.at))).scalar_one()
    start = dt.datetime.fromisoformat(last.replace("Z", "+00:00")) if last else dt.datetime.now(JST)
    return f"{(start + dt.timedelta(seconds=1)).isoformat()}@{time.time():.3f}"


def install(db: Database, anchored: str, speed: float = SPEED) -> VirtualClock:
    """Make the clock of ``anchored`` (``start@since``) the database's business clock; security
    times (portal sessions, login locks) stay on the wall clock."""
    start, _, since = anchored.partition("@")
    try:
        moment = dt.datetime.fromisoformat(start)
        wall0 = float(since)
    except ValueError:
        raise ValueError(
            f"TANSO_VIRTUAL_CLOCK must be <ISO time>@<epoch seconds>, not {anchored!r}"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=JST)
    clock = VirtualClock(moment, japan_calendar(), speed=speed, since=wall0)
    if db.wall is None:
        db.wall = db.clock
    db.clock = clock
    return clock


def sessions_of(settings: Settings, clock: VirtualClock | None) -> tuple[bool, dt.time | None]:
    """Whether the scheduler runs sessions, and the daily settlement time: on a virtual clock
    always, settling at 16:00 unless the settings name a time."""
    if clock is None:
        return settings.sessions, settings.settlement_time
    return True, settings.settlement_time or SETTLEMENT
