"""The demo's business clock (issue 18 defect 4): virtual time that only ever shows business
hours of Japanese business days, runs at its speed, and never goes back."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.instruments import JST
from tanso.services.trading.virtual_clock import DAY_ENDS, DAY_OPENS, VirtualClock, live_day

CALENDAR = japan_calendar()


class Wall:
    """A wall clock the test moves."""

    def __init__(self) -> None:
        self.t = 1_000.0

    def __call__(self) -> float:
        return self.t


def clock_at(start: dt.datetime, speed: float = 60.0) -> tuple[VirtualClock, Wall]:
    wall = Wall()
    return VirtualClock(start, CALENDAR, speed=speed, wall=wall), wall


starts = st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2027, 12, 1)).map(
    lambda d: d.replace(tzinfo=JST)
)


@given(starts, st.lists(st.floats(min_value=0, max_value=20_000), min_size=1, max_size=20))
def test_every_moment_is_inside_business_hours_and_time_never_goes_back(
    start: dt.datetime, steps: list[float]
) -> None:
    clock, wall = clock_at(start)
    seen: list[str] = []
    for step in steps:
        wall.t += step
        now = clock.now()
        assert CALENDAR.is_business_day(now.date())
        assert DAY_OPENS <= now.time() < DAY_ENDS
        seen.append(clock())
    assert seen == sorted(seen) and len(set(seen)) == len(seen)


def test_a_saturday_start_opens_on_monday_and_runs_at_its_speed() -> None:
    clock, wall = clock_at(dt.datetime(2026, 12, 5, 14, 0, tzinfo=JST))  # a Saturday
    assert clock.now() == dt.datetime(2026, 12, 7, 8, 0, tzinfo=JST)
    wall.t += 3.5 * 60  # three and a half wall-clock minutes at 60x: 3.5 hours
    assert clock.now() == dt.datetime(2026, 12, 7, 11, 30, tzinfo=JST)


def test_the_end_of_a_day_jumps_to_the_next_business_days_opening() -> None:
    # Friday 2026-12-25 16:00, then half an hour: past 16:30, so Monday 12-28 08:00 + 0:30
    clock, wall = clock_at(dt.datetime(2026, 12, 25, 16, 0, tzinfo=JST))
    wall.t += 60
    assert clock.now() == dt.datetime(2026, 12, 28, 8, 30, tzinfo=JST)


def test_new_years_holidays_are_not_business_days() -> None:
    clock, _ = clock_at(dt.datetime(2026, 12, 31, 9, 0, tzinfo=JST))
    assert clock.now().date() == dt.date(2027, 1, 4)
    assert live_day(dt.date(2027, 1, 1), CALENDAR) == dt.date(2027, 1, 4)
    assert live_day(dt.date(2026, 12, 7), CALENDAR) == dt.date(2026, 12, 7)


def test_the_clock_answers_in_the_databases_format() -> None:
    clock, _ = clock_at(dt.datetime(2026, 12, 7, 9, 0, tzinfo=JST))
    assert clock() == "2026-12-07T00:00:00.000000Z"
    assert clock() == "2026-12-07T00:00:00.000001Z"  # never the same time twice
