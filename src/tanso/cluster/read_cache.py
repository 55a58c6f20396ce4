"""Public reads on a gateway: answered from memory between commits, from a read replica if set.

Prices, bars, indices, reports, listings and the public page are the same for every visitor
until the next commit. A gateway keeps each public answer it rendered (`PublicCache`), tagged
with the journal head it was rendered at, and answers the same request again from memory for as
long as that head is still the last commit it knows of (`Head`). It learns of commits

- at once from the leading engine's notice on ``tanso.head`` (one small message per batch);
- after a change it forwarded, before it answers that change (cluster/link.py);
- and at least once a second from the journal itself (the gateway's background tick), which
  also covers a writer outside the engine, such as an operator's command-line change.

While it knows no head (no connection to NATS yet), every request is rendered. Only requests
without credentials are cached: with an API key, a session cookie or a key in the query, the
answer is rendered for its caller. Only 200 answers that set no cookie but the language one.

With ``TANSO_READ_DATABASE_URL`` (a PostgreSQL read replica), the public reads that the cache
covers are rendered from the replica. An answer rendered from a replica that lags the head is
sent but not kept, so the cache never serves what the primary has already superseded.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tanso.store.db import Database

HEAD = "tanso.head"
"""The engine's notice of its last committed journal sequence (the payload: the number)."""
DEFAULT_ENTRIES = 2_000
MAX_BODY = 1 << 20
"""The largest answer kept (bytes); larger ones are rendered each time."""
PUBLIC_PAGES = ("/", "/en", "/ja")
PROBES = frozenset({"/healthz", "/readyz", "/metrics"})
"""Answered fresh each time: they report on this process, not on the market."""
PERSONAL_HEADERS = (b"authorization", b"x-api-key")
LANG_COOKIE = b"tanso_lang="


class Head:
    """The last committed journal sequence this gateway knows of (None: unknown, while it does
    not hear the engine's notices)."""

    def __init__(self) -> None:
        self.seq: int | None = None
        self._listening = False
        self._lock = threading.Lock()

    def listen(self, seq: int) -> None:
        """The notices are heard from now on, and ``seq`` was read after that began."""
        with self._lock:
            self._listening = True
            self.seq = max(seq, self.seq or 0)

    def advance(self, seq: int) -> None:
        with self._lock:
            if self._listening and (self.seq is None or seq > self.seq):
                self.seq = seq

    def lose(self) -> None:
        """The notices may have stopped (NATS lost): render everything until told again."""
        with self._lock:
            self._listening = False
            self.seq = None


def public_routes(app: Any) -> Callable[[Scope], bool]:
    """Whether a GET request is for a public route (tagged "public", or the public page)."""
    from tanso.api.scope_table import route_matcher

    def public(method: str, path: str, route: Any) -> bool:
        tagged = "public" in (route.tags or []) or path in PUBLIC_PAGES
        return method == "GET" and path not in PROBES and tagged

    return route_matcher(app, public)


@dataclass
class _Answer:
    seq: int
    start: Message
    body: bytes
    route: Any
    """The route that rendered it (the access log and metrics name a kept answer by it)."""


class Answers:
    """The kept answers (least recently used first out) and how often they served."""

    def __init__(self, entries: int = DEFAULT_ENTRIES) -> None:
        self.entries = entries
        self.kept: OrderedDict[tuple[Any, ...], _Answer] = OrderedDict()
        self.lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple[Any, ...], seq: int) -> _Answer | None:
        with self.lock:
            answer = self.kept.get(key)
            if answer is None or answer.seq != seq:
                self.misses += 1
                return None
            self.kept.move_to_end(key)
            self.hits += 1
            return answer

    def keep(self, key: tuple[Any, ...], answer: _Answer) -> None:
        with self.lock:
            self.kept[key] = answer
            self.kept.move_to_end(key)
            while len(self.kept) > self.entries:
                self.kept.popitem(last=False)


class PublicCache:
    """ASGI layer of a gateway: public GET answers from memory while no commit happened."""

    def __init__(
        self,
        app: ASGIApp,
        head: Head,
        public: Callable[[Scope], bool],
        answers: Answers,
        read_db: Database | None = None,
    ) -> None:
        self.app = app
        self.head = head
        self.public = public
        self.answers = answers
        self.read_db = read_db

    def _key(self, scope: Scope) -> tuple[Any, ...] | None:
        """The request's identity for the cache, or None when it is not cacheable."""
        if scope["type"] != "http" or scope["method"] != "GET":
            return None
        language = cookie = b""
        for name, value in scope["headers"]:
            if name in PERSONAL_HEADERS:
                return None
            if name == b"cookie":
                # a session cookie makes the answer the caller's; the language cookie does not
                parts = [p.strip() for p in value.split(b";") if p.strip()]
                if any(not p.startswith(LANG_COOKIE) for p in parts):
                    return None
                cookie = value
            elif name == b"accept-language":
                language = value
        query = scope.get("query_string", b"")
        if b"key=" in query or not self.public(scope):
            return None
        return (scope["path"], query, language, cookie)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = self._key(scope)
        known = self.head.seq
        if key is None or known is None:
            await self.app(scope, receive, send)
            return
        hit = self.answers.get(key, known)
        if hit is not None:
            scope["route"] = hit.route
            # a copy: the layers outside add their own headers (a request id) to what they send
            await send({**hit.start, "headers": list(hit.start["headers"])})
            await send({"type": "http.response.body", "body": hit.body})
            return
        seq = known
        if self.read_db is not None:  # render from the replica, at the replica's own head
            seq = await asyncio.to_thread(self.read_db.journal_seq)
            scope.setdefault("state", {})["read_db"] = self.read_db
        start: Message | None = None
        body = bytearray()
        keep = True

        async def capture(message: Message) -> None:
            nonlocal start, keep
            if message["type"] == "http.response.start":
                start = {**message, "headers": list(message.get("headers", []))}
                keep = message["status"] == 200 and all(
                    name != b"set-cookie" or value.startswith(LANG_COOKIE)
                    for name, value in message.get("headers", [])
                )
            elif message["type"] == "http.response.body" and keep:
                body.extend(message.get("body", b""))
                keep = len(body) <= MAX_BODY
            await send(message)

        await self.app(scope, receive, capture)
        if keep and start is not None and seq >= known:
            self.answers.keep(key, _Answer(known, start, bytes(body), scope.get("route")))
