"""The NATS connections of the two roles (nats-py): the gateway asks, the engine answers.

Each role connects with its own NATS user (``TANSO_NATS_USER`` / ``TANSO_NATS_PASSWORD``), so
that the NATS server's permissions can let a gateway only publish requests on
``tanso.requests`` and an engine only subscribe there (docs/deployment.md has the server's
configuration). Several engines may subscribe: the queue group gives each request to one.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg

from tanso.cluster import commands
from tanso.cluster.link import QUEUE, SUBJECT, Responder
from tanso.cluster.market_data import (
    Consumer,
    ForeignStream,
    Publisher,
    book_requester,
    serve_books,
)
from tanso.cluster.read_cache import HEAD, Head
from tanso.services.access import actor_cache
from tanso.services.common import SYSTEM
from tanso.store.db import Database

log = logging.getLogger("tanso.cluster")

INVALIDATE = "tanso.invalidate"
"""The engine's notice that a committed change altered an API key's caller."""


@dataclass
class NatsSettings:
    url: str
    user: str | None = None
    password: str | None = None
    name: str = "tanso"

    async def connect(self, reconnected: Any = None, disconnected: Any = None) -> Client:
        """Connect; ``reconnected`` and ``disconnected`` (coroutine functions) run after each
        reconnection and loss of the connection."""
        options: dict[str, Any] = {"name": self.name, "max_reconnect_attempts": -1}
        if reconnected is not None:
            options["reconnected_cb"] = reconnected
        if disconnected is not None:
            options["disconnected_cb"] = disconnected
        if self.user:
            options |= {"user": self.user, "password": self.password or ""}
        return await nats.connect(self.url, **options)


@dataclass
class GatewayLink:
    """A gateway's connection: `requester` is what `link.Forward` sends with; the stream's
    entries go to the gateway's feed, which asks the engine for book depth."""

    settings: NatsSettings
    head: Head = field(default_factory=Head)
    """The last commit this gateway knows of: its public read cache's clock (read_cache.py)."""
    _nc: Client | None = field(default=None, init=False)
    _consumer: Consumer | None = field(default=None, init=False)
    _invalidations: Any = field(default=None, init=False)
    _heads: Any = field(default=None, init=False)
    _db: Database | None = field(default=None, init=False)

    @staticmethod
    async def caught_up(db: Database) -> None:
        """Drop the cached callers that committed changes altered (cluster/link.py calls this
        after a forwarded change, and the engine's notices do for everyone else's)."""
        await asyncio.to_thread(actor_cache.catch_up, db)

    async def start(self, feed: Any = None, db: Database | None = None) -> None:
        self._nc = await self.settings.connect(
            reconnected=self._reconnected, disconnected=self._disconnected
        )
        self._db = db
        if db is not None:  # the engine says when a key, a role or a mandate changed

            async def notice(_msg: Msg) -> None:
                await self.caught_up(db)

            async def committed(msg: Msg) -> None:
                self.head.advance(int(msg.data))

            self._invalidations = await self._nc.subscribe(INVALIDATE, cb=notice)
            self._heads = await self._nc.subscribe(HEAD, cb=committed)
            await self._read_head()
        if feed is not None:
            feed.book_of = book_requester(self._nc)
            self._consumer = Consumer(self._nc, feed.publish, feed.dispatched)
            await self._consumer.start()

    async def _read_head(self) -> None:
        """The journal's head, read after subscribing to the notices (none is missed)."""
        if self._db is not None:
            self.head.listen(await asyncio.to_thread(self._db.journal_seq))

    async def _disconnected(self) -> None:
        self.head.lose()  # the notices stop: render public reads until they are heard again

    async def _reconnected(self) -> None:
        """NATS came back (perhaps a new server process): follow the stream again from where
        the feed is, and drop cached callers (a notice may have been lost meanwhile)."""
        if self._consumer is not None:
            await self._consumer.restart()
        if self._db is not None:
            await self.caught_up(self._db)
            await self._read_head()

    async def stop(self) -> None:
        self.head.lose()
        for sub in (self._invalidations, self._heads):
            if sub is not None:
                await sub.unsubscribe()
        self._invalidations = self._heads = None
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None
        if self._nc is not None:
            await self._nc.drain()
            self._nc = None

    def requester(self) -> Any:
        nc = self._nc
        if nc is None or not nc.is_connected:
            return None

        async def request(payload: bytes, headers: dict[str, str], timeout: float) -> Msg:
            return await nc.request(SUBJECT, payload, timeout=timeout, headers=headers)

        return request

    def commander(self) -> Any:
        """A typed command's way to the engine (cluster/commands.py), or None if unconnected."""
        nc = self._nc
        if nc is None or not nc.is_connected:
            return None

        async def request(subject: str, payload: bytes, timeout: float) -> Msg:
            return await nc.request(subject, payload, timeout=timeout)

        return request


@dataclass
class EngineLink:
    """The engine's subscription: every request runs through the `Responder`, concurrently
    (the sequencer batches what arrives together)."""

    settings: NatsSettings
    responder: Responder
    exchange: Any
    db: Database
    feed: Any = None
    """The engine's own feed: it computes the live-only events published with each batch."""
    _nc: Client | None = field(default=None, init=False)
    _sub: Any = field(default=None, init=False)
    _books: Any = field(default=None, init=False)
    _commands: Any = field(default=None, init=False)
    _committed: Any = field(default=None, init=False)
    _publisher: Publisher | None = field(default=None, init=False)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set, init=False)

    async def start(self) -> None:
        self._nc = await self.settings.connect()
        live = self.feed.extras_for_every_instrument if self.feed is not None else None
        self._publisher = Publisher(self._nc, self.db, live)
        try:
            await self._publisher.start()
        except ForeignStream:
            await self._nc.close()
            self._nc = self._publisher = None
            raise
        except Exception as e:
            await self._nc.close()
            self._nc = self._publisher = None
            raise RuntimeError(
                f"the engine cannot use the JetStream stream on {self.settings.url} "
                f"({e!r}): is JetStream enabled, and may NATS user {self.settings.user!r} "
                "use the JetStream API (docs/deployment.md)?"
            ) from e
        self.exchange.listeners.append(self._publisher.committed)
        self._books = await serve_books(
            self._nc, lambda inst, depth: self.exchange.book(SYSTEM, inst, depth)
        )
        loop = asyncio.get_running_loop()
        nc = self._nc

        def committed(entries: Any) -> None:  # any thread, right after a commit
            if not entries:
                return
            head = str(entries[-1].seq).encode()
            invalidating = any(e.kind in actor_cache.INVALIDATING for e in entries)

            async def publish() -> None:
                if invalidating:
                    await nc.publish(INVALIDATE, b"")
                await nc.publish(HEAD, head)  # the gateways' public read caches

            def notify() -> None:
                task = loop.create_task(publish())
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

            loop.call_soon_threadsafe(notify)

        self._committed = committed
        self.db.after_commit.append(committed)
        self._sub = await self._nc.subscribe(SUBJECT, queue=QUEUE, cb=self._arrived)
        self._commands = await self._nc.subscribe(
            commands.SUBJECT, queue=commands.QUEUE, cb=self._command
        )

    async def stop(self) -> None:
        """Take no more requests, answer those that arrived, then close."""
        if self._committed in self.db.after_commit:
            self.db.after_commit.remove(self._committed)
        for sub in (self._sub, self._books, self._commands):
            if sub is not None:
                await sub.unsubscribe()
        self._sub = self._books = self._commands = None
        if self._publisher is not None:
            if self._publisher.committed in self.exchange.listeners:
                self.exchange.listeners.remove(self._publisher.committed)
            await self._publisher.stop()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._nc is not None:
            await self._nc.drain()
            self._nc = None

    @property
    def connected(self) -> bool:
        return self._nc is not None and self._nc.is_connected

    async def _command(self, msg: Msg) -> None:
        task = asyncio.create_task(self._execute(msg))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _execute(self, msg: Msg) -> None:
        answer = await commands.execute(self.exchange, msg.data)
        if self._nc is not None and msg.reply:
            await self._nc.publish(msg.reply, answer)

    async def _arrived(self, msg: Msg) -> None:
        task = asyncio.create_task(self._answer(msg))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, msg: Msg) -> None:
        try:
            body, headers = await self.responder.answer(msg.data, dict(msg.headers or {}))
        except Exception:
            log.exception("the engine could not answer a request")
            return  # the gateway times out: 504, and the caller retries with its key
        nc = self._nc
        if nc is not None and msg.reply:
            await nc.publish(msg.reply, body, headers=headers)
