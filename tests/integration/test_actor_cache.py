"""The API key cache: a key seen before reads nothing, and every change that alters what a key
may do (revocation, suspension, roles, a broker's mandate) holds from the very next request."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event

from tanso.domain.errors import Conflict, Forbidden, TansoError, Unauthenticated
from tanso.domain.participants import Role, Scope
from tanso.services.access import actor_cache
from tanso.services.common import SYSTEM, Actor
from tanso.services.ledger import participants
from tanso.store.db import Committed, Database
from tests.conftest import add_participant

pytestmark = pytest.mark.fast_backends("sqlite", "postgres")


@contextmanager
def statements(db: Database) -> Iterator[Counter[str]]:
    """Count the SQL statements run on ``db`` by their first word (SELECT, INSERT, BEGIN...)."""
    seen: Counter[str] = Counter()

    def count(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        seen[statement.split(None, 1)[0].upper()] += 1

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def cached(db: Database, key: str, on_behalf_of: str | None = None) -> Actor:
    """Authenticate twice and check that the second time read nothing: the key is cached."""
    first = participants.authenticate(db, key, on_behalf_of)
    with statements(db) as seen:
        again = participants.authenticate(db, key, on_behalf_of)
    assert sum(seen.values()) == 0, seen
    assert again == first
    return again


def broker_and_client(db: Database, tag: str, scopes: list[str] | None = None) -> str:
    add_participant(db, f"{tag}B", ["broker", "trader"])
    add_participant(db, f"{tag}C")
    participants.authorise_broker(db, SYSTEM, f"{tag}C", f"{tag}B", True, scopes=scopes)
    return participants.create_api_key(db, SYSTEM, f"{tag}B").key


def test_a_second_request_with_the_same_key_reads_nothing(db: Database) -> None:
    add_participant(db, "CACHE")
    key = participants.create_api_key(db, SYSTEM, "CACHE").key
    with statements(db) as first:
        participants.authenticate(db, key)
    assert first["SELECT"] >= 2  # the key and its participant
    assert first["INSERT"] == 0  # the access log row waits in its buffer
    assert cached(db, key).participant_id == "CACHE"
    broker_key = broker_and_client(db, "CAOB")
    actor = cached(db, broker_key, "CAOBC")
    assert (actor.participant_id, actor.agent_id) == ("CAOBC", "CAOBB")


def test_a_wrong_secret_never_answers_from_the_cache(db: Database) -> None:
    add_participant(db, "CAWS")
    key = participants.create_api_key(db, SYSTEM, "CAWS")
    cached(db, key.key)
    wrong = f"tk_{key.id}_{'B' * 43}"
    for _ in range(2):
        with statements(db) as seen, pytest.raises(Unauthenticated):
            participants.authenticate(db, wrong)
        assert seen["SELECT"] == 1  # refused against the stored hash, each time
    unknown = f"tk_{'0' * 16}_{'C' * 43}"
    with pytest.raises(Unauthenticated):
        participants.authenticate(db, unknown)


def test_a_revoked_key_is_refused_at_its_next_request(db: Database) -> None:
    add_participant(db, "CARV")
    key = participants.create_api_key(db, SYSTEM, "CARV")
    other = participants.create_api_key(db, SYSTEM, "CARV").key
    cached(db, key.key)
    cached(db, other)
    participants.revoke_api_key(db, SYSTEM, "CARV", key.id)
    with pytest.raises(Unauthenticated):
        participants.authenticate(db, key.key)
    # only the revoked key's entry went: the participant's other key still reads nothing
    cached(db, other)


def test_a_suspended_participant_is_refused_at_its_next_change(db: Database) -> None:
    add_participant(db, "CASU")
    key = participants.create_api_key(db, SYSTEM, "CASU").key
    actor = cached(db, key)
    participants.set_status(db, SYSTEM, "CASU", "suspended", "KYC")
    with statements(db) as seen:
        actor = participants.authenticate(db, key)
    assert seen["SELECT"] >= 2  # the suspension dropped the entry: read again
    with pytest.raises(Conflict, match="suspended"):
        participants.create_api_key(db, actor, "CASU")
    with pytest.raises(Forbidden, match="only active participants may act"):
        participants.open_account(db, actor, "second")


def test_changed_roles_narrow_the_key_at_its_next_request(db: Database) -> None:
    add_participant(db, "CARO", ["trader", "market_maker"])
    key = participants.create_api_key(db, SYSTEM, "CARO").key
    assert Role.MARKET_MAKER in cached(db, key).roles
    participants.set_roles(db, SYSTEM, "CARO", ["trader"])
    actor = participants.authenticate(db, key)
    assert actor.roles == frozenset({Role.TRADER})


def test_a_revoked_mandate_refuses_the_broker_at_its_next_request(db: Database) -> None:
    key = broker_and_client(db, "CAMR")
    cached(db, key, "CAMRC")
    own = cached(db, key)  # the broker acting for itself
    participants.authorise_broker(db, SYSTEM, "CAMRC", "CAMRB", False)
    with pytest.raises(Forbidden, match="has not authorised"):
        participants.authenticate(db, key, "CAMRC")
    assert participants.authenticate(db, key) == own


def test_a_narrowed_mandate_narrows_the_broker_at_its_next_request(db: Database) -> None:
    key = broker_and_client(db, "CAMN", ["trade", "transfer", "retire"])
    assert cached(db, key, "CAMNC").may(Scope.TRANSFER)
    participants.authorise_broker(db, SYSTEM, "CAMNC", "CAMNB", True, scopes=["trade"])
    actor = participants.authenticate(db, key, "CAMNC")
    assert actor.may(Scope.TRADE) and not actor.may(Scope.TRANSFER)
    assert not actor.may(Scope.RETIRE)


def test_a_lookup_that_raced_a_change_does_not_store_its_answer() -> None:
    cache = actor_cache.ActorCache()
    key = ("k1", "h", "")
    generation = cache.generation  # a lookup starts reading...
    cache.invalidate([Committed(7, "api_key.revoked", {"participant": "P", "key_id": "k1"})])
    cache.put(key, Actor("P"), generation)  # ...and ends after the revocation committed
    assert cache.get(key) is None
    cache.put(key, Actor("P"), cache.generation)
    assert cache.get(key) == Actor("P")


def test_the_cache_is_bounded_and_evicts_the_least_recently_used() -> None:
    cache = actor_cache.ActorCache(size=2)
    for k in ("a", "b"):
        cache.put((k, "h", ""), Actor(k.upper()), cache.generation)
    assert cache.get(("a", "h", "")) is not None  # a is now the most recent
    cache.put(("c", "h", ""), Actor("C"), cache.generation)
    assert cache.get(("b", "h", "")) is None and len(cache) == 2


def test_an_entry_of_an_unexpected_shape_clears_everything() -> None:
    cache = actor_cache.ActorCache()
    cache.put(("a", "h", ""), Actor("A"), cache.generation)
    cache.invalidate([Committed(1, "participant.roles_changed", {"who": "A"})])
    assert len(cache) == 0


def test_another_process_revoking_a_key_is_followed_through_the_journal(db: Database) -> None:
    add_participant(db, "CAXP")
    key = participants.create_api_key(db, SYSTEM, "CAXP")
    actor_cache.catch_up(db)  # the server's tick: from here on it follows the journal
    cached(db, key.key)
    # another process (its own Database on the same database) revokes the key
    other = Database(db.url, db.clock)
    other.engine = db.engine  # same connections (and PostgreSQL schema); its own hooks
    participants.revoke_api_key(other, SYSTEM, "CAXP", key.id)
    cached(db, key.key)  # this process has not heard yet
    assert actor_cache.catch_up(db) == 1
    with pytest.raises(Unauthenticated):
        participants.authenticate(db, key.key)


def test_the_cache_can_be_turned_off(db: Database) -> None:
    add_participant(db, "CAOFF")
    key = participants.create_api_key(db, SYSTEM, "CAOFF").key
    actor_cache.configure(db, 0)
    participants.authenticate(db, key)
    with statements(db) as seen:
        participants.authenticate(db, key)
    assert seen["SELECT"] >= 2


# ---------------------------------------------------------------- property

_runs = itertools.count()

step = st.tuples(
    st.sampled_from(
        ["revoke", "suspend", "reinstate", "roles", "grant", "narrow", "withdraw", "new_key"]
    ),
    st.integers(0, 2),
)


def _answer(db: Database, key: str, on_behalf_of: str | None, *, cached: bool) -> object:
    """What authenticating gives: the Actor, or the refusal's code."""
    try:
        if cached:
            return participants.authenticate(db, key, on_behalf_of)
        m = participants.KEY_RE.fullmatch(key)
        assert m is not None
        digest = participants._hash_secret(m.group(2))
        return participants._actor_for_key(db, m.group(1), digest, on_behalf_of)
    except participants._Refused as r:
        return r.error.code
    except TansoError as e:
        return e.code


@settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(step, min_size=1, max_size=10))
def test_cached_and_uncached_authentication_always_agree(
    db: Database, steps: list[tuple[str, int]]
) -> None:
    run = next(_runs)
    broker, clients = f"PB{run}", [f"PC{run}X", f"PC{run}Y"]
    add_participant(db, broker, ["broker", "trader"])
    for c in clients:
        add_participant(db, c)
        participants.authorise_broker(db, SYSTEM, c, broker, True, scopes=["trade", "transfer"])
    keys = [participants.create_api_key(db, SYSTEM, p) for p in (broker, *clients)]
    parties = [broker, *clients]

    def check() -> None:
        for k in keys:
            for on_behalf_of in (None, *clients):
                want = _answer(db, k.key, on_behalf_of, cached=False)
                for _ in range(2):  # the second answer comes from the cache when there is one
                    assert _answer(db, k.key, on_behalf_of, cached=True) == want

    check()
    for kind, i in steps:
        who = parties[i]
        try:
            if kind == "revoke":
                k = keys[i]
                participants.revoke_api_key(db, SYSTEM, k.participant_id, k.id)
            elif kind in ("suspend", "reinstate"):
                status = "suspended" if kind == "suspend" else "active"
                participants.set_status(db, SYSTEM, who, status)
            elif kind == "roles":
                roles = ["trader"] if who == broker else ["trader", "market_maker"]
                participants.set_roles(db, SYSTEM, who, roles)
            elif kind in ("grant", "narrow", "withdraw"):
                client = clients[i % 2]
                scopes = ["trade", "transfer", "retire"] if kind == "grant" else ["trade"]
                participants.authorise_broker(
                    db, SYSTEM, client, broker, kind != "withdraw", scopes=scopes
                )
            else:
                keys[i] = participants.create_api_key(db, SYSTEM, who)
        except TansoError:
            pass  # refused (a suspended participant's key or mandate): changes nothing
        check()
