"""The API key cache: who a verified API key acts as, so that a known key reads nothing.

Owns, per Database, a bounded LRU from (key id, SHA-256 of the secret that was verified, the
participant acted for) to the Actor that authentication built. A wrong secret hashes to another
entry and is never answered from here: it goes to the database, whose stored hash is compared in
constant time. Only successes are kept; an unknown key, a wrong secret or a refused mandate is
looked up again each time (one indexed read).

It must never answer for a key, participant or mandate that a committed change has altered. The
changes that alter an Actor are journaled (``INVALIDATING``); every write transaction's committed
entries reach ``invalidate`` through the database's after-commit hook, before the write returns to
its caller, so the next request after a revocation commits is refused. A process that did not
make the change follows the journal instead (``catch_up``, run each second by the server). A
lookup racing a change cannot store the old answer: ``put`` keeps an Actor only if no
invalidation happened since its lookup began (``generation``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from sqlalchemy import select

from tanso.services.common import Actor
from tanso.store import schema as t
from tanso.store.db import Database, loads

DEFAULT_SIZE = 10_000

INVALIDATING = frozenset(
    {
        "api_key.revoked",  # the key stops working
        "participant.status_changed",  # suspension, reinstatement (checked at each write too)
        "participant.roles_changed",  # the key's roles and scopes are bounded by its owner's
        "broker.authorised",  # a mandate granted, widened or narrowed
        "broker.revoked",  # a mandate withdrawn
    }
)
"""The journal entry kinds after which a cached Actor may be wrong."""

CacheKey = tuple[str, str, str]
"""(key id, hex SHA-256 of the verified secret, participant acted for or "")."""


class Entry(Protocol):
    """A journal entry as committed or as read back: its kind and payload."""

    @property
    def kind(self) -> str: ...

    @property
    def payload(self) -> Mapping[str, Any]: ...


class ActorCache:
    """A bounded LRU of verified keys' Actors, dropped by the journal entries that alter them."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self.size = size
        self.generation = 0
        """Bumped by every invalidation: a lookup that began before it stores nothing."""
        self.seen_seq: int | None = None
        """The journal entry ``catch_up`` read up to (None: not yet followed)."""
        self._entries: OrderedDict[CacheKey, Actor] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: CacheKey) -> Actor | None:
        with self._lock:
            actor = self._entries.get(key)
            if actor is not None:
                self._entries.move_to_end(key)
            return actor

    def put(self, key: CacheKey, actor: Actor, generation: int) -> None:
        """Keep ``actor`` unless the cache was invalidated since ``generation`` was read."""
        with self._lock:
            if self.size <= 0 or generation != self.generation:
                return
            self._entries[key] = actor
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self.generation += 1
            self._entries.clear()

    def invalidate(self, entries: Iterable[Entry]) -> None:
        """Drop what the journal entries made stale: the revoked key's Actors, and every Actor
        acting as or for a participant whose status, roles or mandates changed."""
        keys: set[str] = set()
        parties: set[str] = set()
        for e in entries:
            if e.kind not in INVALIDATING:
                continue
            p = e.payload
            try:
                if e.kind == "api_key.revoked":
                    keys.add(str(p["key_id"]))
                elif e.kind.startswith("participant."):
                    parties.add(str(p["participant"]))
                else:
                    parties.update((str(p["client"]), str(p["broker"])))
            except (KeyError, TypeError):
                self.clear()  # a payload of another shape: drop everything rather than guess
                return
        if not keys and not parties:
            return
        with self._lock:
            self.generation += 1
            stale = [
                k
                for k, actor in self._entries.items()
                if k[0] in keys or actor.participant_id in parties or actor.agent_id in parties
            ]
            for k in stale:
                del self._entries[k]


def of(db: Database) -> ActorCache:
    """The database's cache, listening to its commits from the moment it exists."""

    def make() -> ActorCache:
        cache = ActorCache()
        db.after_commit.append(cache.invalidate)
        return cache

    return db.part("actor_cache", make)


def configure(db: Database, size: int) -> None:
    """Bound the database's cache to ``size`` Actors (0: no cache)."""
    cache = of(db)
    with cache._lock:
        cache.size = size
    if size <= 0:
        cache.clear()


class _Read:
    __slots__ = ("kind", "payload")

    def __init__(self, kind: str, payload: Mapping[str, Any]) -> None:
        self.kind, self.payload = kind, payload


def catch_up(db: Database) -> int:
    """Apply the invalidating journal entries committed since the last call, by this process or
    another; returns how many there were. The first call has no starting point: it clears."""
    cache = of(db)
    j, head = t.journal.c, t.journal_head.c
    with db.read() as conn:
        seq = conn.execute(select(head.seq).where(head.id == 1)).scalar() or 0
        after = cache.seen_seq
        rows = (
            conn.execute(
                select(j.kind, j.payload)
                .where(j.seq > after, j.seq <= seq, j.kind.in_(sorted(INVALIDATING)))
                .order_by(j.seq)
            ).all()
            if after is not None and seq > after
            else []
        )
    if after is None:
        cache.clear()
    else:
        cache.invalidate(_Read(r.kind, loads(r.payload) or {}) for r in rows)
    cache.seen_seq = seq
    return len(rows)
