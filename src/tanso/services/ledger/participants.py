"""Participants, their API keys, broker authorisations and holding accounts."""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

import pycountry
from sqlalchemy import Connection

from tanso.domain.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated
from tanso.domain.participants import (
    DEFAULT_MANDATE,
    HOME_COUNTRY,
    MANDATE_SCOPES,
    ParticipantKind,
    ParticipantStatus,
    Role,
    Scope,
    parse_roles,
    parse_scopes,
    require_identity,
    scope_names,
    scopes_for_roles,
    validate_corporate_number,
    validate_country,
    validate_lei,
)
from tanso.domain.participants import OPERATOR_PARTICIPANT as OPERATOR_PARTICIPANT
from tanso.domain.registry import SYSTEM_ACCOUNTS, AccountKind
from tanso.services.access import access_log, actor_cache
from tanso.services.common import (
    SYSTEM,
    Actor,
    Idem,
    execute,
    from_row,
    loader,
    new_id,
    omitted,
    plain,
    require_active,
    require_operator,
    require_scope,
)
from tanso.services.operations import suspension
from tanso.store import repo
from tanso.store import schema as t
from tanso.store.db import Database, Tx

ID_RE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{1,31}$")


@dataclass(frozen=True, slots=True)
class NewParticipant:
    name_ja: str
    name_en: str
    kind: str
    roles: list[str]
    corporate_number: str | None = None
    gx_league: bool = False
    id: str | None = None
    corporate_group: str | None = None
    lei: str | None = None
    """LEI (ISO 17442): how a corporation from abroad identifies itself."""
    country: str = HOME_COUNTRY
    """Where it is registered (ISO 3166-1 alpha-2)."""
    name_local: str | None = None
    """Its name in its own script, when that is neither English nor Japanese."""


@dataclass(frozen=True, slots=True)
class Participant:
    """A participant (参加者): an organisation with its roles and status."""

    id: str
    name_ja: str
    name_en: str
    kind: str
    corporate_number: str | None
    roles: list[str]
    gx_league: bool
    corporate_group: str | None
    """The declared corporate group or beneficial owner (surveillance treats a group as one)."""
    status: str
    created_at: str
    lei: str | None
    """Legal Entity Identifier (ISO 17442), 20 characters; a foreign corporation's identity."""
    country: str
    """Where the participant is registered: ISO 3166-1 alpha-2, JP for a Japanese one."""
    name_local: str | None
    """The name in its own script (e.g. Chinese or Thai) beside name_en and name_ja."""


@dataclass(frozen=True, slots=True)
class RegisteredParticipant(Participant):
    """A participant just registered, with the holding accounts opened for it."""

    accounts: list[str]


MAIN_ACCOUNT_NAME = "Main holding account"
"""The name of the holding account every participant is opened with (pages show it in their
language: the `account_name` filter of tanso.web)."""


def participant_view(row: Any) -> Participant:
    return Participant(
        id=row.id,
        name_ja=row.name_ja,
        name_en=row.name_en,
        kind=row.kind,
        corporate_number=row.corporate_number,
        roles=row.roles.split(",") if row.roles else [],
        gx_league=bool(row.gx_league),
        status=row.status,
        created_at=row.created_at,
        corporate_group=row.corporate_group,
        lei=row.lei,
        country=row.country,
        name_local=row.name_local,
    )


@dataclass(frozen=True, slots=True)
class Account:
    """A holding account (保有口座), or for the operator one of the system accounts."""

    id: str
    participant_id: str
    kind: str
    name: str
    created_at: str


def account_view(row: Any) -> Account:
    return from_row(Account, row)


@functools.cache
def countries() -> frozenset[str]:
    """The ISO 3166-1 alpha-2 codes in force (pycountry's copy of the ISO list)."""
    return frozenset(c.alpha_2 for c in pycountry.countries)


def _cash_id(pid: str, currency: str) -> str:
    return f"CASH-{pid}-{currency}"


def create_participant(
    db: Database, actor: Actor, p: NewParticipant, idem: Idem | None = None
) -> RegisteredParticipant:
    """Register a participant (pending until approved) with one holding and one JPY cash account."""
    require_operator(actor, "register participants")
    try:
        kind = ParticipantKind(p.kind)
    except ValueError:
        known = ", ".join(k.value for k in ParticipantKind)
        raise InvalidInput(
            "invalid_participant_kind",
            f"Kind {p.kind!r} is not allowed; participants are organisations: {known}.",
        ) from None
    roles = parse_roles(p.roles)
    country = validate_country(p.country, countries())
    number = validate_corporate_number(p.corporate_number) if p.corporate_number else None
    lei = validate_lei(p.lei) if p.lei else None
    require_identity(kind, country, number, lei)
    name_local = p.name_local or None
    if name_local is not None and (not name_local.strip() or len(name_local) > 200):
        raise InvalidInput("invalid_name", "name_local must be 1 to 200 characters.")
    pid = p.id or new_id("P", 4)
    if not ID_RE.fullmatch(pid):
        raise InvalidInput(
            "invalid_id", "A participant id is 2 to 32 upper-case letters, digits, '-' or '_'."
        )
    for name, value in (("name_ja", p.name_ja), ("name_en", p.name_en)):
        if not value.strip() or len(value) > 200:
            raise InvalidInput("invalid_name", f"{name} must be 1 to 200 characters.")

    def work(tx: Tx) -> RegisteredParticipant:
        conn = tx.conn
        if repo.get_participant(conn, pid) is not None:
            raise Conflict("participant_exists", f"Participant {pid} already exists.")
        if number and repo.corporate_number_taken(conn, number):
            raise Conflict(
                "corporate_number_taken", f"Corporate number {number} is already registered."
            )
        if lei and repo.lei_taken(conn, lei):
            raise Conflict("lei_taken", f"LEI {lei} is already registered.")
        repo.insert_row(
            conn,
            t.participants,
            id=pid,
            name_ja=p.name_ja,
            name_en=p.name_en,
            kind=kind.value,
            corporate_number=number,
            roles=",".join(r.value for r in roles),
            gx_league=p.gx_league,
            corporate_group=_group(p.corporate_group),
            status=ParticipantStatus.PENDING.value,
            created_at=tx.at,
            lei=lei,
            country=country,
            name_local=name_local,
        )
        account_id = f"{pid}-MAIN"
        repo.insert_row(
            conn,
            t.accounts,
            id=account_id,
            participant_id=pid,
            kind=AccountKind.HOLDING.value,
            name=MAIN_ACCOUNT_NAME,
            created_at=tx.at,
        )
        cash_id = _cash_id(pid, "JPY")
        repo.ensure_cash_account(conn, cash_id, pid, "JPY", "participant")
        tx.record(
            "participant.registered",
            actor.label,
            {
                "participant": pid,
                "name_en": p.name_en,
                "name_ja": p.name_ja,
                "kind": kind.value,
                "corporate_number": number,
                "roles": [r.value for r in roles],
                "gx_league": p.gx_league,
                "corporate_group": _group(p.corporate_group),
                "lei": lei,
                "country": country,
                "name_local": name_local,
                "account": account_id,
                "cash_account": cash_id,
            },
        )
        view = participant_view(repo.get_participant(conn, pid))
        return RegisteredParticipant(**plain(view), accounts=[account_id])

    return execute(db, actor, idem, work, 201, load=loader(RegisteredParticipant))


def set_status(
    db: Database, actor: Actor, pid: str, status: str, reason: str = "", idem: Idem | None = None
) -> Participant:
    """Approve (active), suspend or reinstate a participant."""
    require_operator(actor, "approve or suspend participants")
    try:
        new = ParticipantStatus(status)
    except ValueError:
        raise InvalidInput(
            "invalid_status", "Status must be pending, active or suspended."
        ) from None

    def work(tx: Tx) -> Participant:
        row = repo.get_participant(tx.conn, pid)
        if row is None:
            raise NotFound("participant_not_found", f"There is no participant {pid}.")
        if pid == OPERATOR_PARTICIPANT and new != ParticipantStatus.ACTIVE:
            raise Conflict(
                "operator_cannot_be_suspended", "The operator itself cannot be suspended."
            )
        repo.update_participant(tx.conn, pid, status=new.value)
        if new == ParticipantStatus.SUSPENDED and row.status != new.value:
            suspension.withdraw_all(tx, actor, pid)  # exchange orders: Exchange.cancel_all
        tx.record(
            "participant.status_changed",
            actor.label,
            {"participant": pid, "from": row.status, "to": new.value, "reason": reason},
        )
        return participant_view(repo.get_participant(tx.conn, pid))

    return execute(db, actor, idem, work, load=loader(Participant))


def onboard(db: Database, actor: Actor, p: NewParticipant, label: str = "") -> str:
    """Register a participant, approve it and return its first API key (demos, benchmarks)."""
    created = create_participant(db, actor, p)
    set_status(db, actor, created.id, "active", "approved on registration")
    return create_api_key(db, actor, created.id, label).key


def set_roles(
    db: Database, actor: Actor, pid: str, roles: list[str], idem: Idem | None = None
) -> Participant:
    """Replace a participant's roles (operator)."""
    require_operator(actor, "change roles")
    parsed = parse_roles(roles)

    def work(tx: Tx) -> Participant:
        if repo.get_participant(tx.conn, pid) is None:
            raise NotFound("participant_not_found", f"There is no participant {pid}.")
        repo.update_participant(tx.conn, pid, roles=",".join(r.value for r in parsed))
        tx.record(
            "participant.roles_changed",
            actor.label,
            {"participant": pid, "roles": [r.value for r in parsed]},
        )
        return participant_view(repo.get_participant(tx.conn, pid))

    return execute(db, actor, idem, work, load=loader(Participant))


GROUP_RE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{1,39}$")


def _group(group: str | None) -> str | None:
    """A corporate group's id: like a participant id (e.g. the parent company's); none when
    empty."""
    if group is None or group == "":
        return None
    if not GROUP_RE.match(group):
        raise InvalidInput(
            "invalid_corporate_group",
            "A corporate group is 2 to 40 upper-case letters, digits, '-' or '_' "
            f"(e.g. the parent company's participant id); {group[:50]!r} is not.",
        )
    return group


UNCHANGED: Any = object()


def set_attributes(
    db: Database,
    actor: Actor,
    pid: str,
    *,
    gx_league: bool | None = None,
    corporate_group: str | None = UNCHANGED,
    idem: Idem | None = None,
) -> Participant:
    """Record a participant's GX League membership and corporate group (operator): membership
    decides who may trade a GX-League-only instrument; the group, which participants
    surveillance treats as one owner."""
    require_operator(actor, "change a participant's attributes")
    values: dict[str, Any] = {}
    if gx_league is not None:
        values["gx_league"] = gx_league
    if corporate_group is not UNCHANGED:
        values["corporate_group"] = _group(corporate_group)
    if not values:
        raise InvalidInput(
            "nothing_to_change", "Give gx_league, corporate_group or both to change them."
        )

    def work(tx: Tx) -> Participant:
        if repo.get_participant(tx.conn, pid) is None:
            raise NotFound("participant_not_found", f"There is no participant {pid}.")
        repo.update_participant(tx.conn, pid, **values)
        tx.record("participant.attributes_changed", actor.label, {"participant": pid, **values})
        return participant_view(repo.get_participant(tx.conn, pid))

    return execute(db, actor, idem, work, load=loader(Participant), sequenced=True)


def visible_participant(conn: Connection, actor: Actor, pid: str) -> Any:
    row = repo.get_participant(conn, pid)
    if row is None or not (actor.is_operator() or pid in (actor.participant_id, actor.agent_id)):
        raise NotFound("participant_not_found", f"There is no participant {pid} that you can see.")
    return row


def get_participant(db: Database, actor: Actor, pid: str) -> Participant:
    with db.read() as conn:
        return participant_view(visible_participant(conn, actor, pid))


def list_participants(db: Database, actor: Actor) -> list[Participant]:
    with db.read() as conn:
        only = None if actor.is_operator() else actor.participant_id
        return [participant_view(r) for r in repo.list_participants(conn, only)]


# ---------------------------------------------------------------- API keys

KEY_RE = re.compile(r"^tk_([0-9a-f]{16})_([A-Za-z0-9_-]{20,64})$")


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An API key as listed: never its secret; ``revoked_at`` is null while it is in use."""

    id: str
    participant_id: str
    roles: list[str]
    scopes: list[str]
    label: str
    created_at: str
    revoked_at: str | None


@dataclass(frozen=True, slots=True)
class NewApiKey:
    """A key just created: ``key`` (id and secret) is shown only this once."""

    id: str
    participant_id: str
    roles: list[str]
    scopes: list[str]
    label: str
    created_at: str
    key: str


@dataclass(frozen=True, slots=True)
class ApiKeyRevocation:
    id: str
    revoked: bool


def _hash_secret(secret: str) -> str:
    # API key secrets are 256 random bits: a plain SHA-256 cannot be brute-forced.
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_key(
    db: Database,
    actor: Actor,
    pid: str,
    label: str = "",
    roles: list[str] | None = None,
    idem: Idem | None = None,
    scopes: list[str] | None = None,
) -> NewApiKey:
    """Create an API key for a participant; the secret is shown once and stored only hashed.

    A participant's key makes keys for its own participant only with ``manage``, and only with
    roles and scopes it holds itself (by default: all of its own). The operator (``operate``)
    makes keys for any participant within that participant's roles, which it sets anyway.
    """
    if not actor.is_operator() and actor.participant_id != pid:
        raise NotFound("participant_not_found", f"There is no participant {pid} that you can see.")
    if actor.agent_id:
        raise Forbidden(
            "broker_cannot_manage_keys", "A broker cannot manage its client's API keys."
        )
    require_scope(actor, Scope.MANAGE, "create API keys")
    for_other = pid != actor.participant_id and not actor.is_system
    if for_other:
        require_scope(actor, Scope.OPERATE, "create API keys for another participant")
    if len(label) > 200:
        raise InvalidInput("invalid_label", "A key label may be at most 200 characters.")
    asked_roles = parse_roles(roles) if roles is not None else None
    asked_scopes = parse_scopes(scopes) if scopes is not None else None
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)

    def work(tx: Tx) -> NewApiKey:
        row = repo.get_participant(tx.conn, pid)
        if row is None:
            raise NotFound("participant_not_found", f"There is no participant {pid}.")
        suspension.refuse_changes(tx.conn, pid)
        held = parse_roles(row.roles.split(",") if row.roles else [])
        # a participant's own key bounds what it makes: no key is wider than its maker
        own_roles = held if actor.is_system or for_other else [r for r in held if actor.has(r)]
        wanted = asked_roles if asked_roles is not None else own_roles
        if not set(wanted) <= set(held):
            raise InvalidInput("role_not_held", "A key can carry only roles its participant holds.")
        if not set(wanted) <= set(own_roles):
            raise Forbidden(
                "role_not_held_by_caller",
                "A key can give a new key only roles it holds itself.",
            )
        allowed = scopes_for_roles(wanted)
        own_scopes = allowed if actor.is_system or for_other else actor.granted & allowed
        granted = set(asked_scopes) if asked_scopes is not None else own_scopes
        if not granted <= allowed:
            missing = ", ".join(scope_names(granted - allowed))
            raise InvalidInput(
                "scope_not_allowed",
                f"The key's roles do not allow the scopes {missing} (trade needs trader, broker "
                "or market_maker; operate needs an operator role; verify needs "
                "verification_body).",
            )
        if not granted <= own_scopes:
            missing = ", ".join(scope_names(granted - own_scopes))
            raise Forbidden(
                "scope_not_held",
                f"A key can give a new key only scopes it holds itself; it lacks {missing}.",
            )
        role_list = [r.value for r in wanted]
        scope_list = scope_names(granted)
        repo.insert_row(
            tx.conn,
            t.api_keys,
            id=key_id,
            participant_id=pid,
            secret_hash=_hash_secret(secret),
            roles=",".join(role_list),
            scopes=",".join(scope_list),
            label=label,
            created_at=tx.at,
        )
        tx.record(
            "api_key.created",
            actor.label,
            {
                "participant": pid,
                "key_id": key_id,
                "roles": role_list,
                "scopes": scope_list,
                "label": label,
            },
        )
        return NewApiKey(
            id=key_id,
            participant_id=pid,
            roles=role_list,
            scopes=scope_list,
            label=label,
            created_at=tx.at,
            key=f"tk_{key_id}_{secret}",
        )

    # no Idempotency-Key: the secret is never stored, so it is never replayed
    return execute(db, actor, None, work, 201)


def list_api_keys(db: Database, actor: Actor, pid: str) -> list[ApiKey]:
    with db.read() as conn:
        visible_participant(conn, actor, pid)
        return [
            ApiKey(
                id=r.id,
                participant_id=r.participant_id,
                roles=_names(r.roles),
                scopes=_names(r.scopes),
                label=r.label,
                created_at=r.created_at,
                revoked_at=r.revoked_at,
            )
            for r in repo.list_api_keys(conn, pid)
        ]


def _names(text: str | None) -> list[str]:
    return [x for x in (text or "").split(",") if x]


def revoke_api_key(db: Database, actor: Actor, pid: str, key_id: str) -> ApiKeyRevocation:
    """Revoke one of the participant's API keys (``manage``; never a broker for its client)."""
    if actor.agent_id:
        raise Forbidden(
            "broker_cannot_manage_keys", "A broker cannot manage its client's API keys."
        )
    require_scope(actor, Scope.MANAGE, "revoke API keys")

    def work(tx: Tx) -> ApiKeyRevocation:
        visible_participant(tx.conn, actor, pid)
        row = repo.get_api_key(tx.conn, key_id)
        if row is None or row.participant_id != pid:
            raise NotFound("api_key_not_found", f"There is no API key {key_id}.")
        if row.revoked_at is None:
            repo.revoke_api_key(tx.conn, key_id, tx.at)
        tx.record("api_key.revoked", actor.label, {"participant": pid, "key_id": key_id})
        return ApiKeyRevocation(id=key_id, revoked=True)

    return execute(db, actor, None, work)


def authenticate(db: Database, token: str | None, on_behalf_of: str | None = None) -> Actor:
    """The actor for an API key (and, for a broker, the client it names); else 401.

    A key verified before answers from the cache (actor_cache) without reading the database;
    a change that alters its answer drops it when that change commits."""
    known = remembered_actor(db, token, on_behalf_of)
    if known is not None:
        return known
    assert token is not None
    key_id, secret = _key_parts(db, token)
    digest = _hash_secret(secret)
    cache = actor_cache.of(db)
    generation = cache.generation  # before reading: a change from now on discards the answer
    try:
        actor = _actor_for_key(db, key_id, digest, on_behalf_of)
    except Unauthenticated:
        access_log.note_key_use(db, key_id, None, "refused", "unknown, revoked or wrong secret")
        raise
    except _Refused as r:
        access_log.note_key_use(db, key_id, r.owner, "refused", r.error.code)
        raise r.error from None
    cache.put((key_id, digest, on_behalf_of or ""), actor, generation)
    access_log.note_key_use(db, key_id, actor.agent_id or actor.participant_id, "ok")
    return actor


def remembered_actor(db: Database, token: str | None, on_behalf_of: str | None) -> Actor | None:
    """The actor of a key verified before, from memory (no I/O: an async route may call it);
    None if the key must be checked against the database; 401 for a missing or malformed key."""
    if not token:
        raise Unauthenticated(
            "missing_api_key", "This request needs an API key (Authorization: Bearer ...)."
        )
    key_id, secret = _key_parts(db, token)
    actor = actor_cache.of(db).get((key_id, _hash_secret(secret), on_behalf_of or ""))
    if actor is not None:
        access_log.note_key_use(db, key_id, actor.agent_id or actor.participant_id, "ok")
    return actor


def _key_parts(db: Database, token: str) -> tuple[str, str]:
    m = KEY_RE.fullmatch(token)
    if not m:
        access_log.note_key_use(db, "(malformed)", None, "refused", "malformed key")
        raise Unauthenticated("invalid_api_key", "The API key is not valid.")
    key_id, secret = m.groups()
    return key_id, secret


class _Refused(Exception):
    """A verified key refused what it asked (a broker's mandate): the error, and whose key."""

    def __init__(self, owner: str, error: Forbidden) -> None:
        super().__init__(error.code)
        self.owner, self.error = owner, error


def _actor_for_key(db: Database, key_id: str, digest: str, on_behalf_of: str | None) -> Actor:
    """The Actor of key ``key_id`` whose secret hashes to ``digest``, read from the database."""
    with db.read() as conn:
        row = repo.get_api_key(conn, key_id)
        if (
            row is None
            or row.revoked_at is not None
            or not hmac.compare_digest(row.secret_hash, digest)
        ):
            raise Unauthenticated("invalid_api_key", "The API key is not valid.")
        owner = repo.get_participant(conn, row.participant_id)
        assert owner is not None
        held = set(owner.roles.split(",")) if owner.roles else set()
        roles = frozenset(Role(r) for r in row.roles.split(",") if r and r in held)
        scopes = frozenset(Scope(x) for x in _names(row.scopes)) & scopes_for_roles(roles)
        if not on_behalf_of or on_behalf_of == owner.id:
            return Actor(owner.id, roles, key_id=key_id, scopes=scopes)
        if Role.BROKER not in roles:
            raise _Refused(
                owner.id,
                Forbidden(
                    "not_a_broker", "Only a broker may act on behalf of another participant."
                ),
            )
        auth = repo.get_broker_authorisation(conn, on_behalf_of, owner.id)
        client = repo.get_participant(conn, on_behalf_of)
        if auth is None or auth.revoked_at is not None or client is None:
            raise _Refused(
                owner.id,
                Forbidden(
                    "broker_not_authorised",
                    f"Participant {on_behalf_of} has not authorised {owner.id} to act for it.",
                ),
            )
        client_roles = {Role(r) for r in client.roles.split(",") if r}
        acting = frozenset(client_roles & {Role.TRADER})
        # the broker's key bounds it, and so does the client's mandate; it reads what it acts on
        mandate = frozenset(Scope(x) for x in _names(auth.scopes)) & MANDATE_SCOPES
        granted = scopes & (mandate | {Scope.READ})
        return Actor(client.id, acting, agent_id=owner.id, key_id=key_id, scopes=granted)


# ---------------------------------------------------------------- brokers


@dataclass(frozen=True, slots=True)
class BrokerChange:
    """A broker authorised (``authorised``, within ``scopes``) or no longer authorised to act
    for the client."""

    client_id: str
    broker_id: str
    authorised: bool
    scopes: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class BrokerAuthorisation:
    """A broker allowed to act for the client participant within ``scopes`` (its mandate);
    ``revoked_at`` once withdrawn."""

    client_id: str
    broker_id: str
    scopes: list[str]
    granted_at: str
    revoked_at: str | None


def authorise_broker(
    db: Database,
    actor: Actor,
    client: str,
    broker: str,
    grant: bool,
    idem: Idem | None = None,
    scopes: list[str] | None = None,
) -> BrokerChange:
    """A client authorises (or stops authorising) a broker to act for it, within a mandate:
    ``trade`` by default; ``transfer`` and ``retire`` only if granted; never ``manage``."""
    if actor.agent_id or (actor.participant_id != client and not actor.is_operator()):
        raise Forbidden("client_only", "Only the client itself may authorise a broker.")
    require_scope(actor, Scope.MANAGE, "authorise brokers")
    mandate = set(parse_scopes(scopes)) if scopes is not None else set(DEFAULT_MANDATE)
    if grant and not mandate:
        raise InvalidInput("empty_mandate", "A mandate grants at least one scope.")
    if grant and not mandate <= MANDATE_SCOPES:
        raise InvalidInput(
            "scope_not_delegable",
            "A broker's mandate may grant trade, transfer and retire, never "
            f"{', '.join(scope_names(mandate - MANDATE_SCOPES))}.",
        )
    if grant and actor.participant_id == client and not actor.is_system:
        lacking = mandate - actor.granted
        if lacking:
            raise Forbidden(
                "scope_not_held",
                f"A mandate can grant only scopes the caller holds; it lacks "
                f"{', '.join(scope_names(lacking))}.",
            )
    names = scope_names(mandate) if grant else []

    def work(tx: Tx) -> BrokerChange:
        if repo.get_participant(tx.conn, client) is None:
            raise NotFound("participant_not_found", f"There is no participant {client}.")
        b = repo.get_participant(tx.conn, broker)
        if b is None or Role.BROKER.value not in b.roles.split(","):
            raise NotFound("broker_not_found", f"There is no broker {broker}.")
        for party in (client, broker) if grant else ():
            suspension.refuse_changes(tx.conn, party)
        repo.set_broker_authorisation(tx.conn, client, broker, tx.at, grant, ",".join(names))
        payload: dict[str, Any] = {"client": client, "broker": broker}
        if grant:
            payload["scopes"] = names
        tx.record("broker.authorised" if grant else "broker.revoked", actor.label, payload)
        return BrokerChange(client_id=client, broker_id=broker, authorised=grant, scopes=names)

    return execute(db, actor, idem, work, load=loader(BrokerChange))


def list_broker_authorisations(db: Database, actor: Actor, pid: str) -> list[BrokerAuthorisation]:
    with db.read() as conn:
        visible_participant(conn, actor, pid)
        return [
            BrokerAuthorisation(
                client_id=r.client_id,
                broker_id=r.broker_id,
                scopes=_names(r.scopes),
                granted_at=r.granted_at,
                revoked_at=r.revoked_at,
            )
            for r in repo.list_broker_authorisations(conn, pid)
        ]


# ---------------------------------------------------------------- accounts


def open_account(
    db: Database, actor: Actor, name: str, pid: str | None = None, idem: Idem | None = None
) -> Account:
    """Open another holding account (保有口座), for example for a department."""
    if actor.agent_id:
        raise Forbidden(
            "broker_cannot_manage_accounts", "A broker cannot open accounts for its client."
        )
    owner = pid or actor.participant_id
    if owner != actor.participant_id and not actor.is_operator():
        raise NotFound(
            "participant_not_found", f"There is no participant {owner} that you can see."
        )
    if not name.strip() or len(name) > 200:
        raise InvalidInput("invalid_name", "An account name must be 1 to 200 characters.")

    def work(tx: Tx) -> Account:
        if repo.get_participant(tx.conn, owner) is None:
            raise NotFound("participant_not_found", f"There is no participant {owner}.")
        require_active(tx.conn, Actor(owner) if not actor.is_system else actor)
        account_id = f"{owner}-{tx.next_seq():06d}"
        repo.insert_row(
            tx.conn,
            t.accounts,
            id=account_id,
            participant_id=owner,
            kind=AccountKind.HOLDING.value,
            name=name,
            created_at=tx.at,
        )
        tx.record(
            "account.opened",
            actor.label,
            {"participant": owner, "account": account_id, "name": name},
        )
        return account_view(repo.get_account(tx.conn, account_id))

    return execute(db, actor, idem, work, 201, load=loader(Account))


def list_accounts(db: Database, actor: Actor, pid: str | None = None) -> list[Account]:
    with db.read() as conn:
        if actor.is_operator() and pid is None:
            return [account_view(r) for r in repo.list_accounts(conn, None)]
        owner = pid or actor.participant_id
        visible_participant(conn, actor, owner)
        return [account_view(r) for r in repo.list_accounts(conn, owner)]


def ensure_operator(tx: Tx) -> None:
    """Create the operator participant and the system accounts if they are missing."""
    conn = tx.conn
    if repo.get_participant(conn, OPERATOR_PARTICIPANT) is None:
        repo.insert_row(
            conn,
            t.participants,
            id=OPERATOR_PARTICIPANT,
            name_ja="運営者",
            name_en="Operator",
            kind=ParticipantKind.ASSOCIATION.value,
            corporate_number=None,
            roles=",".join(
                r.value
                for r in (Role.REGISTRY_OPERATOR, Role.EXCHANGE_OPERATOR, Role.SCHEME_ADMINISTRATOR)
            ),
            gx_league=False,
            status=ParticipantStatus.ACTIVE.value,
            created_at=tx.at,
        )
    names = {
        AccountKind.RETIREMENT: "Retirement account (無効化口座)",
        AccountKind.CANCELLATION: "Cancellation account (取消口座)",
        AccountKind.ESCROW: "Exchange custody (escrow)",
        AccountKind.EXTERNAL: "Credits held in external registries",
    }
    for kind, account_id in SYSTEM_ACCOUNTS.items():
        if repo.get_account(conn, account_id) is None:
            repo.insert_row(
                conn,
                t.accounts,
                id=account_id,
                participant_id=OPERATOR_PARTICIPANT,
                kind=kind.value,
                name=names[kind],
                created_at=tx.at,
            )


@dataclass(frozen=True, slots=True)
class Bootstrap:
    """Whether the first run created the operator; its first API key when it did."""

    created: bool
    operator_key: str | None = omitted()


def bootstrap(db: Database) -> Bootstrap:
    """Create the operator, its system accounts and its first API key (first run only)."""

    def work(tx: Tx) -> dict[str, Any]:
        ensure_operator(tx)
        tx.record("system.bootstrapped", SYSTEM.label, {"operator": OPERATOR_PARTICIPANT})
        return {}

    with db.read() as conn:
        if repo.get_participant(conn, OPERATOR_PARTICIPANT) is not None:
            return Bootstrap(created=False)
    execute(db, SYSTEM, None, work)
    key = create_api_key(db, SYSTEM, OPERATOR_PARTICIPANT, label="operator (created by init)")
    return Bootstrap(created=True, operator_key=key.key)
