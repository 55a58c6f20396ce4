"""What every use case shares: who is acting, idempotent execution, and access checks."""

from __future__ import annotations

import dataclasses
import json
import secrets
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, Union, cast, get_args, get_origin, get_type_hints

from sqlalchemy import Connection

from tanso.domain.errors import Conflict, Forbidden, NotFound
from tanso.domain.participants import (
    ALL_SCOPES,
    OPERATOR_ROLES,
    ParticipantStatus,
    Role,
    Scope,
    scopes_for_roles,
)
from tanso.store import repo
from tanso.store.db import Database as Database
from tanso.store.db import Tx

SYSTEM_ID = "SYSTEM"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting: the participant whose authority is used, its roles, its scopes and any
    broker agent. ``scopes`` None means every scope the roles allow (the command line, jobs)."""

    participant_id: str
    roles: frozenset[Role] = field(default_factory=frozenset)
    agent_id: str | None = None
    key_id: str | None = None
    user_id: str | None = None
    scopes: frozenset[Scope] | None = None

    @property
    def is_system(self) -> bool:
        return self.participant_id == SYSTEM_ID

    @property
    def label(self) -> str:
        """How the journal names the actor: ``CLIENT`` or ``BROKER for CLIENT``, followed by
        ``(user U-…)`` when a portal user acts (so the journal names the person)."""
        who = self.participant_id
        if self.agent_id:
            who = f"{self.agent_id} for {self.participant_id}"
        if self.user_id:
            who = f"{who} (user {self.user_id})"
        return who

    def has(self, role: Role) -> bool:
        return self.is_system or role in self.roles

    @property
    def granted(self) -> frozenset[Scope]:
        """The scopes the actor holds: its own, never beyond what its roles allow."""
        if self.is_system:
            return ALL_SCOPES
        allowed = scopes_for_roles(self.roles)
        return allowed if self.scopes is None else self.scopes & allowed

    def may(self, scope: Scope) -> bool:
        return scope in self.granted

    def is_operator(self) -> bool:
        return self.is_system or bool(self.roles & OPERATOR_ROLES)


SYSTEM = Actor(SYSTEM_ID, frozenset(Role))
"""The command line and the server's own jobs act as the system."""


@dataclass(frozen=True, slots=True)
class JournalRef:
    """The journal entry that recorded something, or the journal's head, by its number and
    hash (``hash`` None if it cannot be read, or no entry is there)."""

    seq: int
    hash: str | None


@dataclass(frozen=True, slots=True)
class Idem:
    """An Idempotency-Key and the fingerprint of the request it came with."""

    key: str
    fingerprint: str
    fresh: bool = False
    """A command id just made up by a gateway (never sent before): the sequencer records it
    without first looking for it."""


class _Replay:
    """The stored answer of a request already applied under the same Idempotency-Key."""

    def __init__(self, body: Any) -> None:
        self.body = body


T = TypeVar("T")

_OMIT = "omit_when_none"


def omitted() -> Any:
    """A field of an answer that is left out (not answered as null) while it is None: the
    answer carries it only in the cases where the use case has it to give."""
    return field(default=None, metadata={_OMIT: True})


def plain(value: Any) -> Any:
    """An answer as JSON-ready values: dataclasses become dicts (without their omitted fields
    that are None), recursively through lists, tuples and dicts."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            v = getattr(value, f.name)
            if v is None and f.metadata.get(_OMIT):
                continue
            out[f.name] = plain(v)
        return out
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def loader(cls: type[T]) -> Callable[[Any], T]:
    """Rebuild a use case's dataclass (nested ones and lists of them too) from its ``plain``
    form: how a stored idempotent answer is answered again."""
    return lambda data: cast(T, _build(cls, data))


def _build(tp: Any, data: Any) -> Any:
    if isinstance(tp, type) and dataclasses.is_dataclass(tp) and isinstance(data, dict):
        hints = get_type_hints(tp)
        return tp(**{k: _build(hints[k], v) for k, v in data.items() if k in hints})
    origin = get_origin(tp)
    if origin is list and isinstance(data, list):
        (item,) = get_args(tp)
        return [_build(item, v) for v in data]
    if origin in (Union, types.UnionType):
        for arg in get_args(tp):
            if isinstance(arg, type) and dataclasses.is_dataclass(arg) and isinstance(data, dict):
                return _build(arg, data)
    return data


_REQUIRED: dict[Any, tuple[str, ...]] = {}


def _required(cls: Any) -> tuple[str, ...]:
    """The names of a dataclass's fields that have no default."""
    names = _REQUIRED.get(cls)
    if names is None:
        names = _REQUIRED[cls] = tuple(
            f.name
            for f in dataclasses.fields(cls)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        )
    return names


def from_row(cls: type[T], row: Any, **values: Any) -> T:
    """``cls`` from the columns of ``row`` (a database row, or a dataclass) named as its fields
    without a default; ``values`` give the others, and those the row holds otherwise. A field
    with a default (an omitted one) comes from ``values`` only, never from a column that
    happens to share its name."""
    if dataclasses.is_dataclass(row):
        found = {f.name: getattr(row, f.name) for f in dataclasses.fields(row)}
    else:
        found = row._mapping
    taken = {n: found[n] for n in _required(cls) if n not in values}
    return cls(**taken, **values)


def execute(
    db: Database,
    actor: Actor,
    idem: Idem | None,
    work: Callable[[Tx], T],
    status: int = 200,
    load: Callable[[Any], T] | None = None,
    *,
    sequenced: bool = False,
    in_memory: bool = False,
) -> T:
    """Run ``work`` in one write transaction; with an Idempotency-Key, at most once.

    The key is checked and stored inside the same transaction as the change, so two requests
    with one key can never both apply. A key reused with a different request is refused. The
    answer is stored as JSON; ``load`` turns a stored answer back into the use case's value.

    ``sequenced``: while the exchange's sequencer runs (``db.sequencer``), the work joins its
    next batch, one writer and one commit for many changes, instead of a transaction of its
    own. Such work checks everything before it writes (a refusal then undoes nothing).
    ``in_memory``: the work reads and moves credits only through `blocks.take` and
    `blocks.move`, so the sequencer may keep its memory of cash and credits (``tx.ledger``)
    through it instead of writing it out and forgetting it.
    """

    def unit(tx: Tx) -> T | _Replay:
        if idem is not None:
            stored = repo.get_idempotency(tx.conn, actor.participant_id, idem.key)
            if stored is not None:
                if stored.fingerprint != idem.fingerprint:
                    raise Conflict(
                        "idempotency_key_reused",
                        "This Idempotency-Key was already used with a different request.",
                    )
                return _Replay(json.loads(stored.response))
        body = work(tx)
        if idem is not None:
            repo.store_idempotency(
                tx.conn,
                actor.participant_id,
                idem.key,
                idem.fingerprint,
                status,
                plain(body),
                tx.at,
            )
        return body

    if sequenced and db.sequencer is not None:
        outcome = db.sequencer(actor, unit, in_memory)
    else:
        with db.write() as tx:
            outcome = unit(tx)
            if isinstance(outcome, _Replay):
                tx.allow_empty = True  # a replay changes nothing
    if isinstance(outcome, _Replay):
        return load(outcome.body) if load is not None else cast(T, outcome.body)
    return cast(T, outcome)


def require(actor: Actor, role: Role, what: str) -> None:
    """Refuse unless the actor holds ``role``."""
    if not actor.has(role):
        raise Forbidden(
            "role_required", f"Only a participant with the {role.value} role may {what}."
        )


def require_scope(actor: Actor, scope: Scope, what: str) -> None:
    """Refuse unless the actor holds ``scope``."""
    if not actor.may(scope):
        raise Forbidden(
            "scope_missing", f"This needs the {scope.value} scope, to {what}; the caller lacks it."
        )


def require_operator(actor: Actor, what: str) -> None:
    if not actor.is_operator():
        raise Forbidden("operator_only", f"Only the operator may {what}.")


def require_active(conn: Connection, actor: Actor) -> None:
    """Only active participants act; a broker and its client must both be active."""
    if actor.is_system:
        return
    for pid in filter(None, (actor.participant_id, actor.agent_id)):
        row = repo.get_participant(conn, pid)
        if row is None or row.status != ParticipantStatus.ACTIVE:
            status = row.status if row else "unknown"
            raise Forbidden(
                "participant_not_active",
                f"Participant {pid} is {status}; only active participants may act.",
            )


def own_account(conn: Connection, actor: Actor, account_id: str, *, write: bool) -> Any:
    """The account if the actor may see it (write: move from it), else not found.

    Someone else's account answers exactly like a missing one, so ids reveal nothing.
    """
    row = repo.get_account(conn, account_id)
    visible = row is not None and (
        row.participant_id == actor.participant_id
        or actor.is_system
        or (not write and actor.is_operator())
    )
    if not visible:
        raise NotFound("account_not_found", f"There is no account {account_id} that you can use.")
    return row


def new_id(prefix: str, nbytes: int = 6) -> str:
    """A random identifier such as ``AC-1F3A9C0B2D4E`` (randomness stays out of the domain)."""
    return f"{prefix}-{secrets.token_hex(nbytes).upper()}"
