"""The session scheduler: opens markets, runs call auctions and closes markets on time.

It reads the clock it is given (the server's, or the demo's accelerated one) and asks the pure
`due_actions` what each instrument needs now; what it does goes through the exchange like any
operator command, so it is journaled and survives a restart without running anything twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from tanso.domain.calendar import TradingCalendar
from tanso.domain.errors import TansoError
from tanso.domain.sessions import SessionPlan, due_actions
from tanso.services import disputes
from tanso.services.clearing import settlement
from tanso.services.common import SYSTEM
from tanso.services.marketdata import indices
from tanso.services.trading.exchange import Exchange
from tanso.services.venues import marketplace, sealed_auctions
from tanso.store import repo
from tanso.store import schema as t
from tanso.store.db import Database, loads

log = logging.getLogger("tanso.sessions")

SWEEP_EVERY = dt.timedelta(minutes=1)


class Scheduler:
    """Runs each instrument's session plan against a clock."""

    def __init__(
        self,
        db: Database,
        exchange: Exchange,
        calendar: TradingCalendar,
        now: Callable[[], dt.datetime],
        *,
        sessions: bool = True,
        settlement_time: dt.time | None = None,
    ) -> None:
        self.sessions = sessions
        self.settlement_time = settlement_time
        self.db = db
        self.exchange = exchange
        self.calendar = calendar
        self.now = now
        self._last_sweep: dt.datetime | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> list[tuple[str, str]]:
        """Do whatever is due now; returns (instrument, action) pairs done."""
        done: list[tuple[str, str]] = []
        if self.settlement_time is not None:
            done += self._settle_if_due()
        done += self._off_exchange()
        if not self.sessions:
            return done
        with self.db.read() as conn:
            rows = repo.list_table(conn, t.instruments, t.instruments.c.id)
        closing: list[str] = []
        today: dt.date | None = None
        for row in rows:
            plan = SessionPlan.from_dict(loads(row.sessions) or {})
            local = self.now().astimezone(ZoneInfo(plan.timezone))
            actions = due_actions(
                plan,
                local,
                self.calendar,
                mode=row.mode,
                state=row.state,
                auctions_today=self._auctions_on(row.id, local.date()),
            )
            for action in actions:
                if action == "close":
                    closing.append(row.id)  # after every instrument's auctions, see below
                    today = local.date()
                    continue
                self._do(row.id, action, done)
        if closing and today is not None and self.calendar.is_business_day(today):
            # indices read the day's trades and the book at the close, before day orders expire
            try:
                indices.compute(self.db, self.exchange, today)
                done.append(("indices", today.isoformat()))
            except TansoError as e:
                log.warning("indices %s: %s", today, e.message)
        for instrument in closing:
            self._do(instrument, "close", done)
        return done

    def _do(self, instrument: str, action: str, done: list[tuple[str, str]]) -> None:
        try:
            self.exchange.session(SYSTEM, instrument, action)
            done.append((instrument, action))
        except TansoError as e:
            log.warning("%s %s: %s", instrument, action, e.message)

    def _settle_if_due(self) -> list[tuple[str, str]]:
        """Run settlement once each business day at the configured time (JST)."""
        assert self.settlement_time is not None
        local = self.now().astimezone(ZoneInfo("Asia/Tokyo"))
        day = local.date()
        if not self.calendar.is_business_day(day) or local.time() < self.settlement_time:
            return []
        r = t.settlement_runs.c
        with self.db.read() as conn:
            ran = conn.execute(select(func.count()).where(r.date == day.isoformat())).scalar_one()
        if ran:
            return []
        out = settlement.run(self.db, SYSTEM, day)
        log.info("settlement %s: %s settled, %s failed", day, out.settled, out.failed)
        return [("settlement", day.isoformat())]

    def _off_exchange(self) -> list[tuple[str, str]]:
        """Once a minute of the clock: clear the sealed-bid auctions past their close, and give
        back the credits of expired marketplace listings and offers."""
        now = self.now()
        if self._last_sweep is not None and now - self._last_sweep < SWEEP_EVERY:
            return []
        self._last_sweep = now
        done = [(out.id, "sealed_clear") for out in sealed_auctions.clear_due(self.db, SYSTEM)]
        swept = marketplace.sweep(self.db, SYSTEM)
        if swept.listings or swept.offers:
            done.append(("marketplace", "sweep"))
        reminded = disputes.remind_due(self.db, SYSTEM)
        if reminded.reminders or reminded.lapsed:
            done.append(("disputes", "remind"))
        return done

    def _auctions_on(self, instrument: str, day: dt.date) -> int:
        a = t.auctions.c
        q = select(func.count()).where(
            a.instrument_id == instrument, a.trade_date == day.isoformat()
        )
        with self.db.read() as conn:
            return int(conn.execute(q).scalar_one())

    def start(self, interval: float = 1.0) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._loop, args=(interval,), name="tanso-sessions", daemon=True
            )
            self._thread.start()

    def _loop(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                self.tick()
            except Exception:  # keep the market's clock running; the error is in the log
                log.exception("session tick failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
