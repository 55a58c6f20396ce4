"""The live market-data stream: committed exchange entries fanned out to WebSocket subscribers.

Owns the ring buffer of recent public messages, each subscriber's bounded queue, resume (from the
ring buffer, and from the journal for anything older) and the live-only extras (day bars, book
depth). A message's ``seq`` is the journal sequence of the committed entry it comes from, and all
of one entry's public events travel in one message, so "everything after seq N" is well defined
and the same whether it is sent live, from the buffer or rebuilt from the journal.

It must never block the sequencer: ``Feed.publish`` runs in the sequencer thread right after a
commit and only hands the entries to the event loop. It must never name a participant: events
come from ``marketdata.public_events`` and the aggregated book depth only.
See docs/stream.md for the protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from tanso.domain import json_depth
from tanso.domain.errors import TansoError
from tanso.domain.journal import read_payload
from tanso.domain.participants import Scope
from tanso.services.common import SYSTEM, Actor, plain, require_scope
from tanso.services.ledger import participants
from tanso.services.marketdata import events as marketdata
from tanso.services.trading.exchange import Exchange
from tanso.store import repo
from tanso.store.db import Database

log = logging.getLogger("tanso.stream")

CHANNELS = ("trades", "auctions", "sessions", "bars", "index", "book")
LIVE_ONLY = frozenset({"bars", "book"})
"""Channels computed from current state after a commit: never replayed on resume."""
ANY = "*"
"""An instrument pattern that matches every instrument."""

DEFAULT_BUFFER = 10_000
DEFAULT_QUEUE = 1_000
JOURNAL_PAGE = 1_000
MAX_PAIRS = 1_000
MAX_TEXT = 65_536
BOOK_DEPTH = 10

# Close codes (4000-4999 are the application's; see docs/stream.md).
LAGGING = 4001
"""The subscriber fell too far behind; reconnect and resume with its last seq."""
INVALID_KEY = 4401
"""The API key given when connecting is not valid."""
POLICY_VIOLATION = 1008
"""RFC 6455: a message the server will not read (JSON nested deeper than the limit)."""
MESSAGE_TOO_BIG = 1009
"""RFC 6455: a message larger than the limit."""


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class Message:
    """The public events of one committed entry, as subscribers receive them."""

    seq: int
    at: str
    events: tuple[dict[str, Any], ...]
    text: str = ""
    parts: dict[tuple[int, ...], str] = field(default_factory=dict, compare=False)
    """The text of a selection of the events (by index), encoded for the first subscriber that
    wants just those and reused for every other one."""

    @staticmethod
    def of(seq: int, at: str, events: Iterable[dict[str, Any]]) -> Message:
        evs = tuple(events)
        return Message(seq, at, evs, _dumps({"seq": seq, "at": at, "events": list(evs)}))

    def text_of(self, chosen: tuple[int, ...]) -> tuple[str, bool]:
        """The message with only the chosen events, and whether it was encoded just now."""
        if len(chosen) == len(self.events):
            return self.text, False
        text = self.parts.get(chosen)
        if text is not None:
            return text, False
        events = [self.events[i] for i in chosen]
        text = self.parts[chosen] = _dumps({"seq": self.seq, "at": self.at, "events": events})
        return text, True


def message_of_entry(entry: dict[str, Any]) -> Message:
    """One committed exchange journal entry as a stream message (maybe without events)."""
    return Message.of(entry["seq"], entry["at"], marketdata.public_events(entry))


def error(code: str, message: str) -> str:
    return _dumps({"error": {"code": code, "message": message}})


class StreamError(TansoError):
    """A subscriber's message that the stream refuses; answered with an error message."""


@dataclass(frozen=True, slots=True)
class _CatchUp:
    since: int
    floor: int
    recent: tuple[Message, ...]


_CLOSE = object()

Send = Callable[[str], Awaitable[None]]
Close = Callable[[int, str], Awaitable[None]]


@dataclass(eq=False)
class Subscriber:
    """One WebSocket connection: what it subscribed to, its bounded queue, and its sender."""

    feed: Feed
    send: Send
    close: Close
    queue_size: int
    actor: Actor | None = None
    pairs: set[tuple[str, str]] = field(default_factory=set)
    last_sent: int = 0
    subscribed: bool = False
    closed: bool = False
    queue: asyncio.Queue[Any] = field(init=False)
    _send_lock: asyncio.Lock = field(init=False, default_factory=asyncio.Lock)
    _runner: asyncio.Task[None] | None = None

    def __post_init__(self) -> None:
        self.queue = asyncio.Queue(self.queue_size)

    # ------------------------------------------------------------------ filtering

    def wants(self, event: dict[str, Any]) -> bool:
        channel = event.get("channel", "")
        return (event.get("instrument", ""), channel) in self.pairs or (
            ANY,
            channel,
        ) in self.pairs

    def wants_any(self, msg: Message) -> bool:
        return any(self.wants(e) for e in msg.events)

    def text_for(self, msg: Message) -> str | None:
        """The message filtered to this subscription, or None when nothing in it is wanted.
        Encoded once per message and selection of its events, however many subscribers get it."""
        chosen = tuple(i for i, e in enumerate(msg.events) if self.wants(e))
        if not chosen:
            return None
        text, encoded = msg.text_of(chosen)
        if encoded:
            self.feed.encoded += 1
        return text

    # ------------------------------------------------------------------ sending

    async def _write(self, text: str) -> None:
        async with self._send_lock:
            await self.send(text)

    async def reply(self, value: dict[str, Any]) -> None:
        await self._write(_dumps(value))

    async def _deliver(self, msg: Message) -> None:
        if msg.seq <= self.last_sent:
            return  # already sent (resume overlaps live): exactly once
        text = self.text_for(msg)
        if text is None:
            return
        await self._write(text)
        self.last_sent = msg.seq
        self.feed.sent += 1

    def offer(self, msg: Message) -> None:
        """Queue a live message (in the event loop); a full queue disconnects the subscriber."""
        if self.closed or not self.wants_any(msg):
            return
        try:
            self.queue.put_nowait(msg)
        except asyncio.QueueFull:
            self.feed.lagging += 1
            self.drop(LAGGING, f"too slow: reconnect and resume with since={self.last_sent}")

    def drop(self, code: int, reason: str) -> None:
        """Stop sending and close the connection with a code and reason."""
        if self.closed:
            return
        self.closed = True
        self.feed.subscribers.discard(self)
        if self._runner is not None:
            self._runner.cancel()
        task = asyncio.ensure_future(self._close(code, reason))
        self.feed._tasks.add(task)
        task.add_done_callback(self.feed._tasks.discard)

    async def _close(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.close(code, reason), 10)

    async def refuse(self, code: int, reason: str) -> None:
        """Close the connection now, with a log line: the client sent what it must not."""
        log.warning("stream connection closed with %d: %s", code, reason)
        if self.closed:
            return
        self.closed = True
        self.feed.subscribers.discard(self)
        if self._runner is not None:
            self._runner.cancel()
        await self._close(code, reason)

    def start(self) -> None:
        self._runner = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        """The connection is gone: forget the subscriber and stop its sender."""
        self.closed = True
        self.feed.subscribers.discard(self)
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(BaseException):
                await self._runner

    async def _run(self) -> None:
        try:
            while True:
                item = await self.queue.get()
                if item is _CLOSE:
                    return
                if isinstance(item, _CatchUp):
                    await self._catch_up(item)
                else:
                    await self._deliver(item)
        except asyncio.CancelledError:
            raise
        except Exception:  # the connection broke while sending: the reader will see it
            log.debug("stream sender stopped", exc_info=True)
            self.closed = True
            self.feed.subscribers.discard(self)

    async def _catch_up(self, c: _CatchUp) -> None:
        """Everything after ``since``: the journal up to the buffer's floor, then the buffer;
        live messages wait in the queue meanwhile and those already sent are dropped."""
        after = c.since
        while after < c.floor:
            msgs, after = await asyncio.to_thread(self.feed.journal_page, after, c.floor)
            for m in msgs:
                await self._deliver(m)
        for m in c.recent:
            await self._deliver(m)

    # ------------------------------------------------------------------ the protocol

    async def handle_text(self, text: str) -> None:
        """Act on one client message; refusals are answered with an error message, and a
        message too large or nested too deep closes the connection (1009, 1008)."""
        data = text.encode("utf-8", "surrogatepass")
        if len(data) > self.feed.max_message:
            await self.refuse(
                MESSAGE_TOO_BIG, f"a message is at most {self.feed.max_message} bytes"
            )
            return
        if json_depth.too_deep(data, self.feed.max_depth):
            await self.refuse(
                POLICY_VIOLATION, f"a message may nest at most {self.feed.max_depth} deep"
            )
            return
        try:
            try:
                msg = json.loads(text)
            except ValueError:
                raise StreamError("invalid_json", "A message is one JSON object.") from None
            if not isinstance(msg, dict):
                raise StreamError("invalid_message", "A message is one JSON object.")
            op = msg.get("op")
            if op == "subscribe":
                await self._subscribe(msg)
            elif op == "unsubscribe":
                await self._unsubscribe(msg)
            elif op == "auth":
                await self._auth(msg)
            elif op == "ping":
                await self.reply({"type": "pong", "head": self.feed.dispatched})
            else:
                raise StreamError("unknown_op", "op is one of subscribe, unsubscribe, auth, ping.")
        except TansoError as e:
            await self._write(error(e.code, e.message))

    async def authenticate(self, key: str) -> Actor:
        """Check an API key; a participant's connection may then subscribe to book depth."""
        actor = await asyncio.to_thread(participants.authenticate, self.feed.db, key)
        require_scope(actor, Scope.READ, "read book depth")
        self.actor = actor
        return actor

    async def _auth(self, msg: dict[str, Any]) -> None:
        key = msg.get("key")
        if not isinstance(key, str):
            raise StreamError("invalid_message", "auth needs a key (a string).")
        actor = await self.authenticate(key)
        await self.reply({"type": "authenticated", "participant": actor.participant_id})

    def _pairs(self, msg: dict[str, Any]) -> set[tuple[str, str]]:
        instruments, channels = msg.get("instruments"), msg.get("channels")
        if (
            not isinstance(instruments, list)
            or not instruments
            or not all(isinstance(i, str) and 0 < len(i) <= 40 for i in instruments)
        ):
            raise StreamError(
                "invalid_instruments", 'instruments is a list of instrument ids, or ["*"].'
            )
        if (
            not isinstance(channels, list)
            or not channels
            or any(c not in CHANNELS for c in channels)
        ):
            raise StreamError("invalid_channels", f"channels is a list of: {', '.join(CHANNELS)}.")
        known = self.feed.instruments()
        if known is not None:
            unknown = sorted(i for i in instruments if i != ANY and i not in known)
            if unknown:
                raise StreamError("unknown_instrument", f"There is no instrument {unknown[0]}.")
        pairs = {(i, c) for i in instruments for c in channels}
        if len(pairs | self.pairs) > MAX_PAIRS:
            raise StreamError("too_many_subscriptions", f"At most {MAX_PAIRS} pairs.")
        return pairs

    async def _subscribe(self, msg: dict[str, Any]) -> None:
        pairs = self._pairs(msg)
        if "book" in msg["channels"] and self.actor is None:
            raise StreamError(
                "book_requires_api_key",
                "Book depth is for participants: connect with ?key= or send an auth message.",
            )
        since = msg.get("since")
        if since is not None:
            if isinstance(since, bool) or not isinstance(since, int) or since < 0:
                raise StreamError("invalid_since", "since is a seq: a whole number, 0 or more.")
            if self.subscribed:
                raise StreamError(
                    "since_on_first_subscribe_only",
                    "since resumes a connection: send it with the first subscribe only.",
                )
        self.pairs |= pairs
        first = not self.subscribed
        self.subscribed = True
        head = self.feed.register(self, since)
        await self.reply(
            {
                "type": "subscribed",
                "subscriptions": sorted([list(p) for p in self.pairs]),
                "head": head,
                **({"since": since} if since is not None else {}),
            }
        )
        if first:
            self.start()

    async def _unsubscribe(self, msg: dict[str, Any]) -> None:
        self.pairs -= self._pairs(msg)
        await self.reply(
            {"type": "unsubscribed", "subscriptions": sorted([list(p) for p in self.pairs])}
        )


class Feed:
    """Fans committed exchange entries out to subscribers; keeps recent ones for resume."""

    def __init__(
        self,
        db: Database,
        exchange: Exchange | None = None,
        *,
        buffer_size: int | None = None,
        queue_size: int | None = None,
        max_message: int = MAX_TEXT,
        max_depth: int = json_depth.DEFAULT_LIMIT,
    ) -> None:
        self.db = db
        self.exchange = exchange
        self.buffer_size = buffer_size or DEFAULT_BUFFER
        self.queue_size = queue_size or DEFAULT_QUEUE
        self.max_message = max_message
        """The largest client message (bytes, UTF-8); a larger one closes with 1009."""
        self.max_depth = max_depth
        """The deepest nesting of a client message; a deeper one closes with 1008."""
        self.floor = db.journal_seq()
        """Every exchange entry after ``floor`` that has public events is in the buffer."""
        self.dispatched = self.floor
        """The last seq handed to subscribers: anything later reaches them live."""
        self.buffer: deque[Message] = deque()
        self.subscribers: set[Subscriber] = set()
        self._lock = threading.Lock()
        self._pending: list[dict[str, Any]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._woken = False
        self._tasks: set[asyncio.Future[Any]] = set()
        self._last_book: dict[str, dict[str, Any]] = {}
        self._published_book: dict[str, dict[str, Any]] = {}
        self.encoded = 0
        """Messages encoded to JSON for subscribers: once per message (and per selection of its
        events that a subscriber wants), never once per subscriber."""
        self.sent = 0
        """Messages sent to subscribers, live and on resume."""
        self.lagging = 0
        """Subscribers disconnected because their queue was full (too slow to keep up)."""
        self.book_of: Callable[[str, int], Awaitable[dict[str, Any]]] | None = None
        """Where book depth comes from when the books are in another process (a gateway's
        feed asks the engine: cluster/market_data.py); None: this process's exchange."""

    # ------------------------------------------------------------------ the sequencer's side

    def publish(self, entries: list[dict[str, Any]]) -> None:
        """Take committed entries (sequencer thread): hand them to the event loop, nothing more."""
        if not entries:
            return
        with self._lock:
            loop = self._loop
            if loop is None:  # nobody can be subscribed yet: just keep them for resume
                for entry in entries:
                    self._remember(message_of_entry(entry))
                self.dispatched = entries[-1]["seq"]
                return
            self._pending += entries
            if self._woken:
                return
            self._woken = True
        try:
            loop.call_soon_threadsafe(self._set_wake)
        except RuntimeError:  # that loop has closed (a test client's): keep entries for resume
            with self._lock:
                self._loop = None
                pending, self._pending = self._pending, []
                self._woken = False
                for entry in pending:
                    self._remember(message_of_entry(entry))
                if pending:
                    self.dispatched = pending[-1]["seq"]

    def _set_wake(self) -> None:
        if self._wake is not None:
            self._wake.set()

    # ------------------------------------------------------------------ the event loop's side

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Deliver in this event loop from now on (the server's; called by each connection)."""
        with self._lock:
            if self._loop is loop:
                return
            self._loop = loop
            self._wake = asyncio.Event()
            self._woken = bool(self._pending)
            if self._pending:
                self._wake.set()
            self.subscribers = set()
        task = loop.create_task(self._dispatcher())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def subscriber(self, send: Send, close: Close, *, queue_size: int | None = None) -> Subscriber:
        return Subscriber(self, send, close, queue_size or self.queue_size)

    def register(self, sub: Subscriber, since: int | None) -> int:
        """Start live delivery to a subscriber (and catch-up after ``since``); returns the
        head: the last seq it would otherwise have had to ask for."""
        if since is not None:
            recent = tuple(m for m in self.buffer if m.seq > since)
            sub.queue.put_nowait(_CatchUp(since, self.floor, recent))
        self.subscribers.add(sub)
        return self.dispatched

    def instruments(self) -> set[str] | None:
        if self.exchange is None:
            return None
        return set(self.exchange.engine.markets)

    def _remember(self, msg: Message) -> None:
        if not msg.events:
            return
        self.buffer.append(msg)
        while len(self.buffer) > self.buffer_size:
            self.floor = self.buffer.popleft().seq

    async def _dispatcher(self) -> None:
        wake = self._wake
        assert wake is not None
        loop = asyncio.get_running_loop()
        while self._loop is loop:
            await wake.wait()
            wake.clear()
            with self._lock:
                entries, self._pending = self._pending, []
                self._woken = False
            if not entries:
                continue
            try:
                await self._dispatch(entries)
            except Exception:
                log.exception("stream dispatch failed")
            self.dispatched = entries[-1]["seq"]

    async def _dispatch(self, entries: list[dict[str, Any]]) -> None:
        messages = [message_of_entry(e) for e in entries]
        for m in messages:
            self._remember(m)
        extras = await self._extras(entries, messages)
        for m in messages:
            extra = extras.get(m.seq)
            if extra:
                m = Message.of(m.seq, m.at, [*m.events, *extra])
            if not m.events:
                continue
            self.encoded += 1
            for sub in list(self.subscribers):
                sub.offer(m)

    def _wanted(self, channel: str) -> set[str]:
        out: set[str] = set()
        for sub in self.subscribers:
            out |= {i for i, c in sub.pairs if c == channel}
        return out

    async def _extras(
        self, entries: list[dict[str, Any]], messages: list[Message]
    ) -> dict[int, list[dict[str, Any]]]:
        """Live-only events: those the engine computed and sent with its entries (a gateway's
        feed: cluster/market_data.py), else computed here for what subscribers want."""
        extras = {e["seq"]: list(e["live"]) for e in entries if e.get("live")}
        rest = [(e, m) for e, m in zip(entries, messages, strict=True) if "live" not in e]
        if rest:
            computed = await self.live_extras(
                [e for e, _ in rest],
                [m for _, m in rest],
                self._wanted("bars"),
                self._wanted("book"),
                self._last_book,
            )
            extras |= computed
        return extras

    async def extras_for_every_instrument(
        self, entries: list[dict[str, Any]]
    ) -> dict[int, list[dict[str, Any]]]:
        """The live-only events of a committed batch for every instrument, whoever subscribes:
        what the engine publishes with its entries, computed once for every gateway."""
        messages = [message_of_entry(e) for e in entries]
        return await self.live_extras(entries, messages, {ANY}, {ANY}, self._published_book)

    async def live_extras(
        self,
        entries: list[dict[str, Any]],
        messages: list[Message],
        bar_subs: set[str],
        book_subs: set[str],
        last_book: dict[str, dict[str, Any]],
    ) -> dict[int, list[dict[str, Any]]]:
        """The day bar after trades, the book after entries touching it (when it changed since
        ``last_book``); each attached to the last entry of the batch that touched its
        instrument, for the instruments in ``bar_subs`` and ``book_subs`` (``*``: all)."""
        extras: dict[int, list[dict[str, Any]]] = {}
        if bar_subs:
            traded: dict[str, int] = {}
            for m in messages:
                for e in m.events:
                    if e["channel"] == "trades":
                        traded[e["instrument"]] = m.seq
            for inst, seq in traded.items():
                if inst in bar_subs or ANY in bar_subs:
                    rows = await asyncio.to_thread(
                        marketdata.bars, self.db, inst, "1d", None, None, 1
                    )
                    if rows:
                        extras.setdefault(seq, []).append({"channel": "bars", **rows[-1]})
        if book_subs and (self.exchange is not None or self.book_of is not None):
            every = self.instruments() or set()
            wanted = every if ANY in book_subs else book_subs & every
            touched: dict[str, int] = {}
            for entry in entries:
                command = entry["payload"].get("command", {})
                inst = command.get("instrument")
                for i in [inst] if isinstance(inst, str) else sorted(wanted):
                    touched[i] = entry["seq"]  # cancel and amend name no instrument: all
            for inst, seq in touched.items():
                if inst not in wanted:
                    continue
                if self.book_of is not None:
                    book = await self.book_of(inst, BOOK_DEPTH)
                else:
                    assert self.exchange is not None
                    book = plain(
                        await asyncio.to_thread(self.exchange.book, SYSTEM, inst, BOOK_DEPTH)
                    )
                if last_book.get(inst) == book:
                    continue
                last_book[inst] = book
                extras.setdefault(seq, []).append({"channel": "book", **book})
        return extras

    # ------------------------------------------------------------------ resume from the journal

    def journal_page(self, after: int, upto: int) -> tuple[list[Message], int]:
        """Messages of the exchange entries after ``after`` up to ``upto`` (one page), and the
        last seq looked at."""
        out: list[Message] = []
        last = upto
        with self.db.read() as conn:
            n = 0
            for row in repo.journal_entries(conn, after, JOURNAL_PAGE):
                n += 1
                if row.seq > upto:
                    break
                last = row.seq
                if row.kind.startswith("exchange."):
                    entry = {
                        "seq": row.seq,
                        "at": row.at,
                        "kind": row.kind,
                        "payload": read_payload(row.payload),
                    }
                    m = message_of_entry(entry)
                    if m.events:
                        out.append(m)
            if n == JOURNAL_PAGE and last < upto:
                return out, last
        return out, upto
