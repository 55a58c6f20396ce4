"""One engine writes; another waits as a hot standby (PostgreSQL advisory lock).

Every `tanso engine` process tries to take a session-level advisory lock on a connection it keeps
open. The one that holds it is the leader: it runs the sequencer, answers the gateways and
publishes the stream. The others are standbys: they follow the journal as it grows (their books
stay current) and try the lock again every `POLL_SECONDS`. When the leader dies its connection
closes, PostgreSQL releases the lock, and a standby takes it, follows the last entries, checks
its books against the stored open orders and starts: within seconds, with no election of our
own. A leader that loses its lock connection (the database restarted, the network cut) stops
writing at once and exits, to come back as a standby: two writers can never both believe they
lead.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, text

from tanso.store.db import Database

log = logging.getLogger("tanso.cluster")

LOCK_KEY = "hashtext('tanso engine ' || current_database() || '.' || current_schema())"
"""One lock per Tanso database (a schema of its own counts as one: the tests and benchmarks)."""
POLL_SECONDS = 0.5


@dataclass
class Leadership:
    db: Database
    poll: float = POLL_SECONDS
    _conn: Connection | None = field(default=None, init=False)

    @property
    def leading(self) -> bool:
        return self._conn is not None

    def _try(self) -> bool:
        conn = self.db.engine.connect()
        try:
            got = bool(conn.execute(text(f"SELECT pg_try_advisory_lock({LOCK_KEY})")).scalar())
            conn.commit()
        except Exception:
            conn.close()
            raise
        if got:
            self._conn = conn
        else:
            conn.close()
        return got

    async def acquire(self, while_waiting: Callable[[], Any]) -> None:
        """Wait until this process leads; meanwhile call ``while_waiting`` (in a thread) after
        each refused try."""
        while not await asyncio.to_thread(self._try):
            await asyncio.to_thread(while_waiting)
            await asyncio.sleep(self.poll)

    def _still_held(self) -> bool:
        conn = self._conn
        if conn is None:
            return False
        try:
            conn.execute(text("SELECT 1"))
            conn.commit()
            return True
        except Exception:
            return False

    async def watch(self, lost: Callable[[], Awaitable[None]]) -> None:
        """While leading, check the lock's connection every poll; if it is gone, call
        ``lost``."""
        while await asyncio.to_thread(self._still_held):
            await asyncio.sleep(self.poll)
        log.critical("the engine lost its leadership lock: it stops writing and exits")
        await lost()

    def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.execute(text(f"SELECT pg_advisory_unlock({LOCK_KEY})"))
                conn.commit()
            finally:
                conn.close()


def exit_process() -> None:
    """Stop this process as its supervisor expects (SIGTERM: a clean shutdown)."""
    os.kill(os.getpid(), signal.SIGTERM)


@dataclass
class EngineRole:
    """What `tanso engine` runs: standby until it leads, then the writer (see the module)."""

    exchange: Any
    scheduler: Any
    link: Any
    leadership: Leadership
    background: bool
    _task: asyncio.Task[None] | None = field(default=None, init=False)
    leads: threading.Event = field(default_factory=threading.Event, init=False)
    """Set once this engine writes (tests and the failover benchmark wait on it)."""

    @property
    def state(self) -> str:
        return "leader" if self.leadership.leading else "standby"

    async def start(self) -> None:
        """Lead at once if no other engine does (a failure to start then is raised here);
        otherwise wait as a standby in the background."""
        if await asyncio.to_thread(self.leadership._try):
            await self._lead()
            self._task = asyncio.create_task(self.leadership.watch(self._lost))
        else:
            log.info("another engine leads: this one is a standby, following the journal")
            self._task = asyncio.create_task(self._standby())

    async def _standby(self) -> None:
        await self.leadership.acquire(self.exchange.follow)
        log.warning("this engine takes over as the leader")
        await self._lead()
        await self.leadership.watch(self._lost)

    async def _lead(self) -> None:
        try:
            await asyncio.to_thread(self.exchange.take_over)
            if self.background:
                self.scheduler.start()
            await self.link.start()
            self.leads.set()
        except BaseException:
            self.scheduler.stop()
            self.exchange.stop()
            self.leadership.release()
            raise

    async def _lost(self) -> None:
        await self._stop_writing()
        exit_process()

    async def _stop_writing(self) -> None:
        await self.link.stop()
        self.scheduler.stop()
        self.exchange.stop()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self.leadership.leading:
            await self._stop_writing()
            self.leadership.release()
