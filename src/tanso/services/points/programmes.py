"""Points programmes: registration by the operator, the programme's methodology versions, and
what the programme (and its members, through it) may read: totals, batches, balances, history.

A programme is run by a participant with the ``points_programme`` role; only that participant
(and the operator) sees its batches and members. Its name, methodology and totals are public.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, desc, func, select, tuple_

from tanso.domain import points
from tanso.domain.errors import Conflict, InvalidInput, NotFound
from tanso.domain.participants import Role, Scope, parse_roles
from tanso.domain.registry import AccountKind
from tanso.services.common import (
    Actor,
    Database,
    Idem,
    execute,
    loader,
    omitted,
    require,
    require_active,
    require_scope,
)
from tanso.services.compliance.usage import local_date
from tanso.store import repo
from tanso.store import schema as t
from tanso.store import schema_points as p
from tanso.store.db import Tx

_ID = re.compile(r"PP-[A-Z0-9][A-Z0-9-]{1,30}")


@dataclass(frozen=True, slots=True)
class Programme:
    id: str
    participant_id: str
    runner_en: str
    """Who runs it: the participant's name (public, as a programme names its runner)."""
    runner_ja: str
    name_en: str
    name_ja: str
    project_id: str | None
    status: str
    events: int
    earned_grams: int
    verified_grams: int
    issued_grams: int
    carry_grams: int
    """The fraction of a tonne (grams) the next pool takes in."""
    members: int
    created_at: str
    methodologies: list[dict[str, Any]] = field(default_factory=list)
    holding_account: str | None = omitted()
    """The account its retirements come from: shown to the programme and the operator only."""


def _view(conn: Connection, row: Any, private: bool = False) -> Programme:
    c = p.points_methodologies.c
    versions = conn.execute(
        select(p.points_methodologies).where(c.programme_id == row.id).order_by(c.version)
    ).all()
    members = conn.execute(
        select(func.count())
        .select_from(p.points_balances)
        .where(p.points_balances.c.programme_id == row.id)
    ).scalar_one()
    who = repo.get_participant(conn, row.participant_id)
    return Programme(
        id=row.id,
        participant_id=row.participant_id,
        runner_en=who.name_en if who else row.participant_id,
        runner_ja=who.name_ja if who else row.participant_id,
        name_en=row.name_en,
        name_ja=row.name_ja,
        holding_account=row.holding_account if private else None,
        project_id=row.project_id,
        status=row.status,
        events=int(row.events),
        earned_grams=int(row.earned_grams),
        verified_grams=int(row.verified_grams),
        issued_grams=int(row.issued_grams),
        carry_grams=int(row.carry_grams),
        members=int(members),
        created_at=row.created_at,
        methodologies=[json.loads(v.body) for v in versions],
    )


def get_row(conn: Connection, programme_id: str) -> Any:
    row = conn.execute(
        select(p.points_programmes).where(p.points_programmes.c.id == programme_id)
    ).first()
    if row is None:
        raise NotFound("programme_not_found", f"There is no points programme {programme_id}.")
    return row


def own_row(conn: Connection, actor: Actor, programme_id: str) -> Any:
    """The programme if the actor runs it (or is the operator); someone else's answers like a
    missing one."""
    row = conn.execute(
        select(p.points_programmes).where(p.points_programmes.c.id == programme_id)
    ).first()
    if row is None or not (row.participant_id == actor.participant_id or actor.is_operator()):
        raise NotFound("programme_not_found", f"There is no points programme {programme_id}.")
    return row


def acting_row(tx: Tx, actor: Actor, programme_id: str) -> Any:
    """The programme the actor runs, for a change: its own participant, active, with the
    points scope (the operator reads but does not act for a programme)."""
    require_scope(actor, Scope.POINTS, "act for a points programme")
    row = own_row(tx.conn, actor, programme_id)
    if row.participant_id != actor.participant_id and not actor.is_system:
        raise NotFound("programme_not_found", f"There is no points programme {programme_id}.")
    require_active(tx.conn, Actor(row.participant_id))
    if row.status != "active":
        raise Conflict("programme_not_active", f"Points programme {programme_id} is {row.status}.")
    return row


def lock(conn: Connection, programme_id: str) -> None:
    """Hold the programme's row until the transaction ends (PostgreSQL; SQLite has one writer
    anyway): its batches and methodology versions are decided one at a time, even while a
    batch writes its events before it takes the journal head."""
    conn.execute(
        select(p.points_programmes.c.id)
        .where(p.points_programmes.c.id == programme_id)
        .with_for_update()
    )


def versions(conn: Connection, programme_id: str) -> list[points.Methodology]:
    c = p.points_methodologies.c
    rows = conn.execute(
        select(c.version, c.body).where(c.programme_id == programme_id).order_by(c.version)
    ).all()
    return [points.parse_methodology(json.loads(r.body), int(r.version)) for r in rows]


# ---------------------------------------------------------------- registration


@dataclass(frozen=True, slots=True)
class NewProgramme:
    id: str
    participant_id: str
    name_en: str
    name_ja: str
    account_id: str | None = None
    """The holding account its retirements come from (default: the participant's first)."""
    project_id: str | None = None
    """The registered project its verified reductions may be issued under, if any."""


def register(db: Database, actor: Actor, n: NewProgramme, idem: Idem | None = None) -> Programme:
    """Register a points programme run by a participant (registry operator); the participant
    gains the ``points_programme`` role."""
    require(actor, Role.REGISTRY_OPERATOR, "register points programmes")
    if not _ID.fullmatch(n.id):
        raise InvalidInput(
            "invalid_programme_id",
            "A programme id is PP- followed by 2 to 31 capital letters, digits or hyphens, "
            "e.g. PP-ECORIDE.",
        )
    for name, value in (("name_en", n.name_en), ("name_ja", n.name_ja)):
        if not value.strip() or len(value) > 200:
            raise InvalidInput("invalid_name", f"{name} is 1 to 200 characters.")

    def work(tx: Tx) -> Programme:
        conn = tx.conn
        who = repo.get_participant(conn, n.participant_id)
        if who is None:
            raise NotFound("participant_not_found", f"There is no participant {n.participant_id}.")
        require_active(conn, Actor(n.participant_id))
        if conn.execute(
            select(p.points_programmes.c.id).where(p.points_programmes.c.id == n.id)
        ).first():
            raise Conflict("programme_exists", f"Points programme {n.id} already exists.")
        account = _account(conn, n.participant_id, n.account_id)
        if n.project_id is not None and repo.get_project(conn, n.project_id) is None:
            raise NotFound("project_not_found", f"There is no project {n.project_id}.")
        roles = parse_roles([r for r in who.roles.split(",") if r])
        if Role.POINTS_PROGRAMME not in roles:
            roles.append(Role.POINTS_PROGRAMME)
            repo.update_participant(conn, n.participant_id, roles=",".join(r.value for r in roles))
        repo.insert_row(
            conn,
            p.points_programmes,
            id=n.id,
            participant_id=n.participant_id,
            name_en=n.name_en.strip(),
            name_ja=n.name_ja.strip(),
            holding_account=account,
            project_id=n.project_id,
            status="active",
            events=0,
            earned_grams=0,
            verified_grams=0,
            issued_grams=0,
            carry_grams=0,
            created_at=tx.at,
            journal_seq=tx.next_seq(),
        )
        tx.record(
            "points.programme_registered",
            actor.label,
            {
                "programme": n.id,
                "participant": n.participant_id,
                "name_en": n.name_en.strip(),
                "name_ja": n.name_ja.strip(),
                "holding_account": account,
                "project": n.project_id,
            },
        )
        return _view(conn, get_row(conn, n.id), private=True)

    return execute(db, actor, idem, work, 201, loader(Programme))


def _account(conn: Connection, pid: str, account_id: str | None) -> str:
    if account_id is not None:
        row = repo.get_account(conn, account_id)
        if row is None or row.participant_id != pid or row.kind != AccountKind.HOLDING.value:
            raise NotFound("account_not_found", f"{pid} has no holding account {account_id}.")
        return account_id
    c = t.accounts.c
    row = conn.execute(
        select(c.id)
        .where(c.participant_id == pid, c.kind == AccountKind.HOLDING.value)
        .order_by(c.created_at, c.id)
    ).first()
    if row is None:
        raise Conflict("no_holding_account", f"{pid} has no holding account to retire from.")
    return str(row.id)


def publish_methodology(
    db: Database, actor: Actor, programme_id: str, body: dict[str, Any], idem: Idem | None = None
) -> dict[str, Any]:
    """Publish the next version of a programme's methodology. It rates events from its
    ``effective_from`` on, so it is refused if an event on or after that date was already
    accepted: an accepted event is never re-rated."""

    def work(tx: Tx) -> dict[str, Any]:
        conn = tx.conn
        row = acting_row(tx, actor, programme_id)
        lock(conn, row.id)
        c = p.points_methodologies.c
        last = conn.execute(
            select(func.max(c.version)).where(c.programme_id == row.id)
        ).scalar_one()
        version = int(last or 0) + 1
        m = points.parse_methodology(body, version)
        e = p.points_events.c
        later = conn.execute(
            select(func.max(e.occurred_on)).where(
                e.programme_id == row.id, e.occurred_on >= m.effective_from.isoformat()
            )
        ).scalar_one()
        if later is not None:
            raise Conflict(
                "methodology_would_rerate",
                f"Events up to {later} are already accepted under the methodology in force; "
                f"a new version takes effect after {later}, not from {m.effective_from}.",
            )
        stored = points.methodology_body(m)
        repo.insert_row(
            conn,
            p.points_methodologies,
            programme_id=row.id,
            version=version,
            effective_from=m.effective_from.isoformat(),
            source=m.source,
            body=json.dumps(stored, ensure_ascii=False, sort_keys=True),
            published_at=tx.at,
            journal_seq=tx.next_seq(),
        )
        tx.record("points.methodology_published", actor.label, {"programme": row.id, **stored})
        return stored

    return execute(db, actor, idem, work, 201)


# ---------------------------------------------------------------- reading


def list_programmes(db: Database) -> list[Programme]:
    with db.read() as conn:
        rows = conn.execute(select(p.points_programmes).order_by(p.points_programmes.c.id)).all()
        return [_view(conn, r) for r in rows]


def get_programme(db: Database, programme_id: str) -> Programme:
    """A programme as the public sees it: names, methodology versions and totals."""
    with db.read() as conn:
        return _view(conn, get_row(conn, programme_id))


@dataclass(frozen=True, slots=True)
class Batch:
    id: str
    programme_id: str
    source: str
    lines: int
    events: int
    duplicates: int
    capped: int
    grams: int
    first_on: str | None
    last_on: str | None
    content_hash: str
    versions: list[int]
    verification: str
    verified_by: str | None
    verified_at: str | None
    findings: str
    received_at: str
    journal_seq: int


def batch_view(row: Any) -> Batch:
    return Batch(
        id=row.id,
        programme_id=row.programme_id,
        source=row.source,
        lines=int(row.lines),
        events=int(row.events),
        duplicates=int(row.duplicates),
        capped=int(row.capped),
        grams=int(row.grams),
        first_on=row.first_on,
        last_on=row.last_on,
        content_hash=row.content_hash,
        versions=[int(v) for v in row.versions.split(",") if v],
        verification=row.verification,
        verified_by=row.verified_by,
        verified_at=row.verified_at,
        findings=row.findings,
        received_at=row.received_at,
        journal_seq=int(row.journal_seq),
    )


def _may_see_batches(conn: Connection, actor: Actor, programme_id: str) -> Any:
    """The programme's batches are seen by the programme, the operator and verification
    bodies (who verify them)."""
    if actor.has(Role.VERIFICATION_BODY):
        return get_row(conn, programme_id)
    return own_row(conn, actor, programme_id)


def list_batches(
    db: Database,
    actor: Actor,
    programme_id: str,
    verification: str | None = None,
    limit: int = 100,
) -> list[Batch]:
    with db.read() as conn:
        _may_see_batches(conn, actor, programme_id)
        c = p.points_batches.c
        q = select(p.points_batches).where(c.programme_id == programme_id)
        if verification is not None:
            q = q.where(c.verification == verification)
        rows = conn.execute(q.order_by(desc(c.journal_seq)).limit(limit)).all()
        return [batch_view(r) for r in rows]


def get_batch(db: Database, actor: Actor, programme_id: str, batch_id: str) -> Batch:
    with db.read() as conn:
        _may_see_batches(conn, actor, programme_id)
        c = p.points_batches.c
        row = conn.execute(
            select(p.points_batches).where(c.programme_id == programme_id, c.id == batch_id)
        ).first()
        if row is None:
            raise NotFound("batch_not_found", f"{programme_id} has no batch {batch_id}.")
        return batch_view(row)


@dataclass(frozen=True, slots=True)
class MemberEvent:
    event_id: str
    action: str
    quantity: int
    occurred_on: str
    grams: int
    version: int
    batch_id: str


@dataclass(frozen=True, slots=True)
class MemberPledge:
    pool_id: str
    pool_name: str
    grams: int
    pool_status: str
    pledged_at: str


@dataclass(frozen=True, slots=True)
class MemberRetirement:
    retirement_id: str
    quantity: int
    paid_with: str
    grams: int
    retired_at: str


@dataclass(frozen=True, slots=True)
class Member:
    """A member's points (grams of CO2) and history, as the programme (and the member through
    it) sees them: ``available`` = earned − pledged − spent."""

    programme_id: str
    member: str
    events: int
    earned_grams: int
    pledged_grams: int
    spent_grams: int
    available_grams: int
    last_on: str | None
    history: list[MemberEvent]
    pledges: list[MemberPledge]
    retirements: list[MemberRetirement]
    more_before: str | None = None
    """Pass as ``before`` to read older events."""


def balance_row(conn: Connection, programme_id: str, member: str) -> Any:
    c = p.points_balances.c
    return conn.execute(
        select(p.points_balances).where(c.programme_id == programme_id, c.member == member)
    ).first()


def get_member(
    db: Database,
    actor: Actor,
    programme_id: str,
    member: str,
    limit: int = 50,
    before: str | None = None,
) -> Member:
    """A member's balance and history (latest events first; ``before`` an event's
    ``occurred_on/event_id`` cursor). A member the programme has never credited answers 404."""
    points.check_member(member)
    if not 1 <= limit <= 500:
        raise InvalidInput("invalid_limit", "limit is 1 to 500.")
    with db.read() as conn:
        row = own_row(conn, actor, programme_id)
        bal = balance_row(conn, row.id, member)
        if bal is None:
            raise NotFound(
                "member_not_found", f"{programme_id} has credited no events to this member."
            )
        e = p.points_events.c
        q = select(p.points_events).where(e.programme_id == row.id, e.member == member)
        if before:
            on, _, eid = before.partition("/")
            q = q.where(tuple_(e.occurred_on, e.event_id) < (on, eid))
        events = conn.execute(
            q.order_by(desc(e.occurred_on), desc(e.event_id)).limit(limit + 1)
        ).all()
        more = None
        if len(events) > limit:
            events = events[:limit]
            more = f"{events[-1].occurred_on}/{events[-1].event_id}"
        pl, pool = p.points_pledges.c, p.points_pools.c
        pledges = conn.execute(
            select(pl.pool_id, pool.name, pl.grams, pool.status, pl.pledged_at)
            .join(p.points_pools, pool.id == pl.pool_id)
            .where(pool.programme_id == row.id, pl.member == member)
            .order_by(desc(pl.pledged_at))
        ).all()
        mr = p.points_member_retirements.c
        retirements = conn.execute(
            select(p.points_member_retirements)
            .where(mr.programme_id == row.id, mr.member == member)
            .order_by(desc(mr.retired_at))
        ).all()
        return Member(
            programme_id=row.id,
            member=member,
            events=int(bal.events),
            earned_grams=int(bal.earned_grams),
            pledged_grams=int(bal.pledged_grams),
            spent_grams=int(bal.spent_grams),
            available_grams=int(bal.earned_grams - bal.pledged_grams - bal.spent_grams),
            last_on=bal.last_on,
            history=[
                MemberEvent(
                    r.event_id,
                    r.action,
                    int(r.quantity),
                    r.occurred_on,
                    int(r.grams),
                    int(r.version),
                    r.batch_id,
                )
                for r in events
            ],
            pledges=[
                MemberPledge(r.pool_id, r.name, int(r.grams), r.status, r.pledged_at)
                for r in pledges
            ],
            retirements=[
                MemberRetirement(
                    r.retirement_id, int(r.quantity), r.paid_with, int(r.grams), r.retired_at
                )
                for r in retirements
            ],
            more_before=more,
        )


def today(db: Database) -> dt.date:
    """The business date in Japan (events may not be dated after it)."""
    return local_date(db.clock())
