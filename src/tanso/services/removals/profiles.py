"""A removal project's profile (pathway, storage, permanence, reversal risk, monitoring, buffer
rate) set by the registry operator, and the public view of a project's removal record: its
profile, what its issuances put in the buffer pool and the reversals reported for it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, select

from tanso.domain.errors import Conflict, NotFound
from tanso.domain.participants import OPERATOR_PARTICIPANT, Role
from tanso.domain.registry import AccountKind
from tanso.domain.removals import Profile
from tanso.services.common import Actor, Idem, execute, from_row, loader, plain, require
from tanso.store import repo
from tanso.store import schema as t
from tanso.store.db import Database, Tx
from tanso.store.schema_removals import buffer_contributions, removal_profiles, reversals

P = removal_profiles.c


@dataclass(frozen=True, slots=True)
class RemovalProfile:
    """A removal project's class, as the registry records it."""

    project_id: str
    pathway: str
    storage: str
    permanence_years: int
    reversal_risk: str
    monitoring_years: int
    buffer_rate_bp: int
    source: str
    set_at: str
    developer_id: str | None
    """The participant named as the project's developer: it may list forward volumes."""
    durable: bool = False


def _view(row: Any) -> RemovalProfile:
    return from_row(RemovalProfile, row, durable=_profile(row).durable)


def _profile(row: Any) -> Profile:
    return Profile(
        row.pathway,
        row.storage,
        row.permanence_years,
        row.reversal_risk,
        row.monitoring_years,
        row.buffer_rate_bp,
        row.source,
    )


def profile_row(conn: Connection, project_id: str) -> Any:
    return conn.execute(select(removal_profiles).where(P.project_id == project_id)).first()


def set_profile(
    db: Database,
    actor: Actor,
    project_id: str,
    p: Profile,
    idem: Idem | None = None,
    developer_id: str | None = None,
) -> RemovalProfile:
    """Record (or change) a removal project's profile (registry operator). A project whose
    credits are removals only: its mechanism is ``removal``. A change applies to issuances
    from then on; what earlier issuances put in the buffer stays. ``developer_id`` names the
    participant that develops the project (it may list forward volumes before any issuance)."""
    require(actor, Role.REGISTRY_OPERATOR, "record a removal project's profile")
    p.check()

    def work(tx: Tx) -> RemovalProfile:
        conn = tx.conn
        project = repo.get_project(conn, project_id)
        if project is None:
            raise NotFound("project_not_found", f"There is no project {project_id}.")
        if project.mechanism != "removal":
            raise Conflict(
                "not_a_removal_project",
                f"Project {project_id} reduces emissions ({project.mechanism}); only a removal "
                "project has a removal profile.",
            )
        if developer_id is not None and repo.get_participant(conn, developer_id) is None:
            raise NotFound(
                "participant_not_found", f"There is no participant {developer_id} to name."
            )
        values = {
            "pathway": p.pathway,
            "storage": p.storage,
            "permanence_years": p.permanence_years,
            "reversal_risk": p.reversal_risk,
            "monitoring_years": p.monitoring_years,
            "buffer_rate_bp": p.buffer_rate_bp,
            "source": p.source,
            "developer_id": developer_id,
            "set_at": tx.at,
            "journal_seq": tx.next_seq(),
        }
        if profile_row(conn, project_id) is None:
            conn.execute(removal_profiles.insert().values(project_id=project_id, **values))
        else:
            conn.execute(
                removal_profiles.update().where(P.project_id == project_id).values(**values)
            )
        view = _view(profile_row(conn, project_id))
        tx.record("removals.profile_set", actor.label, plain(view))
        return view

    return execute(db, actor, idem, work, 200, loader(RemovalProfile))


def get_profile(db: Database, project_id: str) -> RemovalProfile:
    with db.read() as conn:
        row = profile_row(conn, project_id)
    if row is None:
        raise NotFound("removal_profile_not_found", f"Project {project_id} has no removal profile.")
    return _view(row)


def list_profiles(db: Database) -> list[RemovalProfile]:
    with db.read() as conn:
        rows = conn.execute(select(removal_profiles).order_by(P.project_id)).all()
    return [_view(r) for r in rows]


def buffer_account_id(scheme: str) -> str:
    return f"SYS-BUFFER-{scheme}"


def ensure_buffer_account(tx: Tx, scheme: str) -> str:
    """The scheme's buffer pool account, opened on its first contribution."""
    account_id = buffer_account_id(scheme)
    if repo.get_account(tx.conn, account_id) is None:
        repo.insert_row(
            tx.conn,
            t.accounts,
            id=account_id,
            participant_id=OPERATOR_PARTICIPANT,
            kind=AccountKind.BUFFER.value,
            name=f"Buffer pool of {scheme}",
            created_at=tx.at,
        )
    return account_id


# ---------------------------------------------------------------- public record


@dataclass(frozen=True, slots=True)
class Contribution:
    issuance_id: str
    serials: str
    quantity: int
    rate_bp: int


@dataclass(frozen=True, slots=True)
class ReversalView:
    id: str
    project_id: str
    scheme: str
    quantity: int
    cause: str
    occurred_on: str
    description: str
    from_project_buffer: int
    from_holders: int
    from_pool: int
    uncompensated: int
    cancelled: list[str]
    released: list[str]
    reported_at: str
    journal_seq: int


def reversal_view(row: Any) -> ReversalView:
    return ReversalView(
        **(
            dict(row._mapping)
            | {"cancelled": json.loads(row.cancelled), "released": json.loads(row.released)}
        )
    )


@dataclass(frozen=True, slots=True)
class ProjectRecord:
    """A removal project's public record."""

    project_id: str
    profile: RemovalProfile | None
    buffered: int
    """Tonnes its issuances put in the buffer pool."""
    buffer_left: int
    """Of those, still in the pool (not cancelled for a reversal)."""
    contributions: list[Contribution] = field(default_factory=list)
    reversals: list[ReversalView] = field(default_factory=list)


def _in_pool(conn: Connection, account_id: str, project_id: str | None) -> int:
    b, i = t.blocks.c, t.issuances.c
    q = select(func.coalesce(func.sum(b.serial_end - b.serial_start + 1), 0)).where(
        b.account_id == account_id, b.status == "held"
    )
    if project_id is not None:
        q = q.where(b.issuance_id.in_(select(i.id).where(i.project_id == project_id)))
    return int(conn.execute(q).scalar_one())


def project_record(db: Database, project_id: str) -> ProjectRecord:
    with db.read() as conn:
        project = repo.get_project(conn, project_id)
        if project is None:
            raise NotFound("project_not_found", f"There is no project {project_id}.")
        prof = profile_row(conn, project_id)
        C = buffer_contributions.c
        contribs = conn.execute(
            select(buffer_contributions).where(C.project_id == project_id).order_by(C.journal_seq)
        ).all()
        revs = conn.execute(
            select(reversals)
            .where(reversals.c.project_id == project_id)
            .order_by(reversals.c.journal_seq)
        ).all()
        left = _in_pool(conn, buffer_account_id(project.scheme), project_id)
    return ProjectRecord(
        project_id=project_id,
        profile=_view(prof) if prof is not None else None,
        buffered=sum(c.quantity for c in contribs),
        buffer_left=left,
        contributions=[
            Contribution(
                c.issuance_id,
                f"{c.issuance_id}-{c.serial_start}-{c.serial_end}",
                c.quantity,
                c.rate_bp,
            )
            for c in contribs
        ],
        reversals=[reversal_view(r) for r in revs],
    )


@dataclass(frozen=True, slots=True)
class Pool:
    """A scheme's buffer pool: contributed, cancelled for reversals, and left."""

    scheme: str
    account_id: str
    contributed: int
    left: int
    cancelled: int
    projects: int


def pools(db: Database) -> list[Pool]:
    C = buffer_contributions.c
    with db.read() as conn:
        rows = conn.execute(
            select(
                C.scheme,
                func.sum(C.quantity).label("q"),
                func.count(func.distinct(C.project_id)).label("n"),
            )
            .group_by(C.scheme)
            .order_by(C.scheme)
        ).all()
        out = []
        for r in rows:
            account = buffer_account_id(r.scheme)
            left = _in_pool(conn, account, None)
            out.append(Pool(r.scheme, account, int(r.q), left, int(r.q) - left, int(r.n)))
    return out


def list_reversals(db: Database, limit: int = 200) -> list[ReversalView]:
    with db.read() as conn:
        rows = conn.execute(
            select(reversals).order_by(reversals.c.journal_seq.desc()).limit(limit)
        ).all()
    return [reversal_view(r) for r in rows]


def of_issuances(conn: Connection, issuance_ids: list[str]) -> list[ReversalView]:
    """The reversals of the projects of these issuances (a certificate shows them)."""
    i = t.issuances.c
    projects = select(i.project_id).where(i.id.in_(issuance_ids))
    rows = conn.execute(
        select(reversals)
        .where(reversals.c.project_id.in_(projects))
        .order_by(reversals.c.journal_seq)
    ).all()
    return [reversal_view(r) for r in rows]
