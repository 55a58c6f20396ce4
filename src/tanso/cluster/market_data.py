"""Committed exchange entries from the engine to every gateway, over NATS JetStream.

The engine publishes each committed exchange journal entry, in journal order, as one message on
``tanso.exchange.<instrument>`` (``_`` for an entry naming no instrument: a cancellation by
order id) in the stream ``TANSO_EXCHANGE``. An entry travels whole because the stream's
protocol (docs/stream.md) numbers messages by journal entry: "everything after seq N" must mean
the same on every gateway, live or resumed. Each gateway's `Feed` derives the public channels
(trades, auctions, sessions, index) from the entries exactly as the single process does.

The live-only channels (the day bar after a trade, book depth after a change: never replayed on
resume) are computed by the engine once per committed batch, for every instrument, and travel
in the message of the entry they follow (``live``), so a gateway neither reads the database nor
asks the engine for them, however many gateways there are. An entry the engine publishes from
the journal (after a failover) has no ``live``: the gateway then reads the bar from the database
and asks the engine for the book (``tanso.book``), as a process of its own would.

Nothing is published twice: the message id is the entry's journal sequence (JetStream drops a
repeat within its duplicate window), and every publish names the previous one
(``Nats-Expected-Last-Msg-Id``), so after any failover, however long, an engine first reads
what the stream last holds and publishes from the journal after it. Nothing is lost: an entry
committed but not yet published when the engine stopped is published by the next engine from
the journal before anything newer.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import api
from nats.js.errors import APIError, NotFoundError

from tanso.domain.errors import NotFound, TansoError
from tanso.domain.journal import read_payload
from tanso.services.common import plain
from tanso.store import repo
from tanso.store.db import Database

log = logging.getLogger("tanso.cluster")

STREAM = "TANSO_EXCHANGE"
SUBJECTS = "tanso.exchange.>"
BOOK_SUBJECT = "tanso.book"
MSG_ID, EXPECTED_LAST = "Nats-Msg-Id", "Nats-Expected-Last-Msg-Id"
RETENTION_SECONDS = 24 * 3600.0
DUPLICATE_WINDOW_SECONDS = 120.0
REPLAY_SECONDS = 60.0
"""A gateway starting reads the stream from this long ago (it skips what its feed has)."""


def subject_of(entry: dict[str, Any]) -> str:
    instrument = entry["payload"].get("command", {}).get("instrument")
    return f"tanso.exchange.{instrument if isinstance(instrument, str) else '_'}"


def _encode(entry: dict[str, Any], live: list[dict[str, Any]] | None = None) -> bytes:
    message = {
        "seq": entry["seq"],
        "at": entry["at"],
        "kind": entry["kind"],
        "payload": entry["payload"],
    }
    if live is not None:  # computed by the engine as the entry committed
        message["live"] = live
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()


async def ensure_stream(nc: Client) -> None:
    js = nc.jetstream()
    try:
        await js.stream_info(STREAM)
    except NotFoundError:
        await js.add_stream(
            name=STREAM,
            subjects=[SUBJECTS],
            max_age=RETENTION_SECONDS,
            duplicate_window=DUPLICATE_WINDOW_SECONDS,
        )


class ForeignStream(RuntimeError):
    """The stream holds entries this database's journal does not: the engine will not start."""


@dataclass
class Publisher:
    """The engine's side: committed entries (handed over by the sequencer thread, in order)
    published to the stream in order, after what the stream already holds."""

    nc: Client
    db: Database
    live: Callable[[list[dict[str, Any]]], Awaitable[dict[int, list[dict[str, Any]]]]] | None = None
    """The live-only events (day bars, book depth) of a committed batch, by entry
    (`Feed.extras_for_every_instrument`): published with the entries, computed once."""
    _queue: asyncio.Queue[list[dict[str, Any]]] = field(default_factory=asyncio.Queue)
    _loop: asyncio.AbstractEventLoop | None = None
    _task: asyncio.Task[None] | None = None
    last: int = 0
    """The journal sequence of the last entry the stream holds."""

    async def start(self) -> None:
        await ensure_stream(self.nc)
        last = await self._stream_last()
        head = await asyncio.to_thread(self.db.journal_seq)
        if last > head:
            raise ForeignStream(
                f"The stream {STREAM} holds journal entries up to {last}, but this database's "
                f"journal ends at {head}: the stream is another database's (or this one was "
                f"restored from an older backup). Remove it (`nats stream rm {STREAM}`) and start "
                "the engine again: it publishes the stream again from the journal."
            )
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def committed(self, entries: list[dict[str, Any]]) -> None:
        """An `Exchange` listener (the sequencer thread): hand the entries to the publisher."""
        loop = self._loop
        if entries and loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._queue.put_nowait, entries)

    async def _run(self) -> None:
        """Publish in order; after any failure (NATS away, another engine published) read
        where the stream stands and publish from the journal after it."""
        while True:
            try:
                await self._catch_up()
                while True:
                    entries = await self._queue.get()
                    live = await self._live(entries)
                    for entry in entries:
                        if entry["seq"] > self.last:
                            await self._publish(entry, live.get(entry["seq"], []))
            except asyncio.CancelledError:
                raise
            except APIError as e:
                log.warning("stream publish refused (%s); reading where it stands", e)
            except Exception as e:
                log.warning("stream publish failed (%r); retrying from the journal", e)
                await asyncio.sleep(0.5)

    async def _live(self, entries: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
        if self.live is None:
            return {}
        try:
            return await self.live(entries)
        except Exception:  # the entries matter more: gateways compute what is missing
            log.exception("live-only events of a batch could not be computed")
            return {}

    async def _stream_last(self) -> int:
        js = self.nc.jetstream()
        info = await js.stream_info(STREAM)
        if not info.state.last_seq:
            return 0
        msg = await js.get_msg(STREAM, info.state.last_seq)
        return int((msg.headers or {}).get(MSG_ID, "0"))

    async def _catch_up(self) -> None:
        """Publish the journal's exchange entries the stream does not hold yet."""
        self.last = await self._stream_last()
        while True:
            entries = await asyncio.to_thread(self._journal_after, self.last)
            if not entries:
                return
            for entry in entries:
                await self._publish(entry)

    def _journal_after(self, after: int) -> list[dict[str, Any]]:
        out = []
        with self.db.read() as conn:
            for row in repo.journal_entries(conn, after, 1_000):
                if row.kind.startswith("exchange."):
                    payload = read_payload(row.payload)
                    out.append({"seq": row.seq, "at": row.at, "kind": row.kind, "payload": payload})
        return out

    async def _publish(
        self, entry: dict[str, Any], live: list[dict[str, Any]] | None = None
    ) -> None:
        headers = {MSG_ID: str(entry["seq"])}
        if self.last:
            headers[EXPECTED_LAST] = str(self.last)
        body = _encode(entry, live)
        await self.nc.jetstream().publish(subject_of(entry), body, headers=headers)
        self.last = entry["seq"]


BookOf = Callable[[str, int], Awaitable[dict[str, Any]]]


async def serve_books(nc: Client, book: Callable[[str, int], Any]) -> Any:
    """The engine answers ``tanso.book`` requests (an instrument and a depth) with the book."""

    async def answer(msg: Msg) -> None:
        try:
            ask = json.loads(msg.data)
            body = plain(await asyncio.to_thread(book, str(ask["instrument"]), int(ask["depth"])))
            data = json.dumps(body).encode()
        except TansoError as e:  # an unknown instrument: its code, for the gateway to answer
            data = json.dumps({"error": e.message, "code": e.code}).encode()
        except Exception as e:
            data = json.dumps({"error": str(e)}).encode()
        await msg.respond(data)

    return await nc.subscribe(BOOK_SUBJECT, queue="tanso-engines", cb=answer)


def book_requester(nc: Client) -> BookOf:
    """A gateway's way to the book depth the engine holds."""

    async def book_of(instrument: str, depth: int) -> dict[str, Any]:
        ask = json.dumps({"instrument": instrument, "depth": depth}).encode()
        reply = await nc.request(BOOK_SUBJECT, ask, timeout=5)
        answer: dict[str, Any] = json.loads(reply.data)
        if answer.get("code") == "instrument_not_found":
            raise NotFound("instrument_not_found", answer["error"])
        if "error" in answer:
            raise RuntimeError(answer["error"])
        return answer

    return book_of


@dataclass
class Consumer:
    """A gateway's side: the stream's entries handed to its feed, each once, in order."""

    nc: Client
    deliver: Callable[[list[dict[str, Any]]], None]
    last: int
    """The last journal sequence the feed has (entries up to it are skipped)."""
    _sub: Any = None
    _retry: asyncio.Task[None] | None = None
    stream_seq: int = 0
    """The stream sequence of the last message delivered (where a restart follows on)."""

    async def start(self) -> None:
        """Follow the stream; until the engine has made it, try again each second."""
        if not await self._subscribe():
            self._retry = asyncio.create_task(self._until_subscribed())

    async def _until_subscribed(self) -> None:
        while not await self._subscribe():
            await asyncio.sleep(1)

    async def restart(self) -> None:
        """Follow the stream again after a reconnection, from the message after the last one
        delivered (entries the feed has are skipped in any case)."""
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
            self._sub = None
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        await self.start()

    async def _subscribe(self) -> bool:
        if self.stream_seq:
            config = api.ConsumerConfig(
                deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE,
                opt_start_seq=self.stream_seq + 1,
            )
        else:
            config = api.ConsumerConfig(
                deliver_policy=api.DeliverPolicy.BY_START_TIME,
                opt_start_time=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=REPLAY_SECONDS),
            )
        try:
            self._sub = await self.nc.jetstream().subscribe(
                SUBJECTS, stream=STREAM, cb=self._arrived, ordered_consumer=True, config=config
            )
        except NotFoundError:
            return False
        return True

    async def stop(self) -> None:
        if self._retry is not None:
            self._retry.cancel()
        if self._sub is not None:
            await self._sub.unsubscribe()
            self._sub = None

    async def _arrived(self, msg: Msg) -> None:
        self.stream_seq = msg.metadata.sequence.stream
        entry = json.loads(msg.data)
        if entry["seq"] <= self.last:
            return
        self.last = entry["seq"]
        self.deliver([entry])
