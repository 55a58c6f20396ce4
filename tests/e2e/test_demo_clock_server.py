"""The server on the demo clock (issue 18 defects 4 and 5): the scheduler and every date rule
read the database's business clock, the pages label it, and portal sessions keep to the wall
clock."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient

from tanso.api.app import create_app
from tanso.domain.instruments import Eligibility, InstrumentSpec
from tanso.services.common import SYSTEM
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange
from tanso.services.trading.instruments import JST
from tanso.services.trading.virtual_clock import VirtualClock
from tanso.settings import utc_now
from tanso.store.db import Database
from tests.e2e.test_portal import PASSWORD, login
from tests.unit.test_demo_clock import Wall


def on_demo_clock(db: Database, start: dt.datetime, speed: float = 60.0) -> Wall:
    wall = Wall()
    db.wall = utc_now
    db.clock = VirtualClock(start, japan_calendar(), speed=speed, wall=wall)
    return wall


pytestmark = pytest.mark.single_process("the demo runs on one process (tanso serve --simulate)")


def test_the_scheduler_runs_the_1130_auction_on_the_demo_clock(db: Database) -> None:
    from tests.e2e.test_portal import prepare

    prepare(db)
    Exchange(db, japan_calendar()).define_instrument(
        SYSTEM,
        InstrumentSpec(
            "RE",
            "Renewable",
            "再エネ",
            Eligibility(categories=("RE_POWER",)),
            reference_price=3_000,
        ),
    )
    wall = on_demo_clock(db, dt.datetime(2026, 12, 4, 16, 29, tzinfo=JST))  # a Friday
    with TestClient(create_app(db, sessions=True)) as http:
        scheduler = http.app.state.scheduler  # type: ignore[attr-defined]
        assert ("RE", "open") not in scheduler.tick()  # Friday 16:29: closed
        wall.t += 2  # two wall seconds at 60x: past the weekend, Monday 08:01
        assert ("RE", "open") in scheduler.tick()
        wall.t += 209 * 60 / 60  # 11:30
        assert ("RE", "auction") in scheduler.tick()
        wall.t += 210 * 60 / 60  # 15:00: the second auction, the indices and the close
        done = scheduler.tick()
        assert ("RE", "auction") in done and ("RE", "close") in done
        assert ("indices", "2026-12-07") in done
        assert http.get("/v1/instruments/RE").json()["state"] == "closed"


def test_every_page_labels_the_demo_clock_in_its_language(db: Database) -> None:
    on_demo_clock(db, dt.datetime(2026, 12, 5, 12, 0, tzinfo=JST))  # Saturday: Monday 08:00
    with TestClient(create_app(db, demo_clock=db.clock)) as http:  # type: ignore[arg-type]
        assert "Demo clock: Mon 7 Dec 2026, 08:00 JST" in http.get("/en").text
        assert "デモ用の時計：2026年12月7日（月）8:00" in http.get("/ja").text
        assert "data-demo-clock" in http.get("/portal/login").text
    with TestClient(create_app(db)) as http:  # the wall clock: no label
        assert "Demo clock" not in http.get("/en").text


def test_a_portal_session_lasts_on_the_wall_clock_not_the_demo_clock(db: Database) -> None:
    from tests.e2e.test_portal import prepare

    prepare(db)
    wall = on_demo_clock(db, dt.datetime(2026, 12, 7, 9, 0, tzinfo=JST), speed=3_600)
    with TestClient(create_app(db), follow_redirects=False) as http:
        assert login(http, "trader@alpha.example.jp", PASSWORD).status_code == 303
        wall.t += 10 * 60  # ten wall minutes: days of the demo clock, well past 8 hours
        assert db.clock() > "2026-12-08"  # the demo clock ran on for days
        page = http.get("/portal/orders")
        assert page.status_code == 200, page.headers


def test_processes_given_the_same_anchor_tell_the_same_time(db: Database) -> None:
    """The cluster demo's engines and gateways share TANSO_VIRTUAL_CLOCK: one market time."""
    from tanso.services.trading import virtual_clock

    anchored = virtual_clock.anchor(db)  # just after the last entry (the bootstrap's), now
    assert "@" in anchored
    other = Database(db.url, utc_now)
    try:
        first = virtual_clock.install(db, anchored)
        second = virtual_clock.install(other, anchored)
        assert abs((first.now() - second.now()).total_seconds()) < 60  # the same wall clock
        assert db.wall is not None and other.wall is not None  # security times on the wall
    finally:
        other.dispose()
    with pytest.raises(ValueError, match="TANSO_VIRTUAL_CLOCK"):
        virtual_clock.install(db, "yesterday")
