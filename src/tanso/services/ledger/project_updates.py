"""A project's developer and the updates it publishes on the project's public page
(docs/market-notices.md).

The registry operator names the participant that develops a project (a removal profile's
``developer_id`` counts too, until the operator names another); that participant, and no other,
publishes the project's updates, in English, Japanese or both. An update is never changed or
deleted: the journal keeps each (``projects.developer_named``, ``projects.update_published``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from tanso.domain.errors import Forbidden, NotFound
from tanso.domain.market_notices import UpdateText
from tanso.domain.participants import Role
from tanso.services.common import (
    Actor,
    Idem,
    execute,
    from_row,
    loader,
    new_id,
    plain,
    require,
    require_active,
)
from tanso.store import repo
from tanso.store.db import Database, Tx
from tanso.store.schema_hub import project_developers, project_updates
from tanso.store.schema_removals import removal_profiles

D, U = project_developers.c, project_updates.c


@dataclass(frozen=True, slots=True)
class Developer:
    """The participant named as a project's developer."""

    project_id: str
    participant_id: str
    named_at: str
    journal_seq: int


@dataclass(frozen=True, slots=True)
class ProjectUpdate:
    """An update on a project's page; the fields of a language not written are empty."""

    id: str
    project_id: str
    participant_id: str
    language: str
    title_en: str
    body_en: str
    title_ja: str
    body_ja: str
    published_on: str
    published_at: str
    journal_seq: int


def developer_of(conn: Connection, project_id: str) -> str | None:
    """The participant that develops the project: the one the operator named, else the one
    its removal profile names, else None."""
    named = conn.execute(
        select(D.participant_id).where(D.project_id == project_id)
    ).scalar_one_or_none()
    if named is not None:
        return str(named)
    profiled = conn.execute(
        select(removal_profiles.c.developer_id).where(removal_profiles.c.project_id == project_id)
    ).scalar_one_or_none()
    return None if profiled is None else str(profiled)


def _project(conn: Connection, project_id: str) -> Any:
    project = repo.get_project(conn, project_id)
    if project is None:
        raise NotFound("project_not_found", f"There is no project {project_id}.")
    return project


def name_developer(
    db: Database, actor: Actor, project_id: str, participant_id: str, idem: Idem | None = None
) -> Developer:
    """Name the participant that develops a project (registry operator); naming another
    replaces the one named before."""
    require(actor, Role.REGISTRY_OPERATOR, "name a project's developer")

    def work(tx: Tx) -> Developer:
        conn = tx.conn
        _project(conn, project_id)
        if repo.get_participant(conn, participant_id) is None:
            raise NotFound(
                "participant_not_found", f"There is no participant {participant_id} to name."
            )
        view = Developer(project_id, participant_id, tx.at, tx.next_seq())
        values = plain(view)
        if conn.execute(select(D.project_id).where(D.project_id == project_id)).first() is None:
            conn.execute(project_developers.insert().values(**values))
        else:
            conn.execute(
                project_developers.update().where(D.project_id == project_id).values(**values)
            )
        tx.record("projects.developer_named", actor.label, plain(view))
        return view

    return execute(db, actor, idem, work, 200, loader(Developer))


def publish_update(
    db: Database, actor: Actor, project_id: str, text: UpdateText, idem: Idem | None = None
) -> ProjectUpdate:
    """Publish an update on a project's page (its developer only). Any other participant is
    told the project has no developer it may act for (403), as if it asked for another's
    account; a project that does not exist is 404."""
    text.check()

    def work(tx: Tx) -> ProjectUpdate:
        conn = tx.conn
        require_active(conn, actor)
        _project(conn, project_id)
        if developer_of(conn, project_id) != actor.participant_id:
            raise Forbidden(
                "not_project_developer",
                f"Only the participant named as the developer of project {project_id} may "
                "publish its updates.",
            )
        view = ProjectUpdate(
            id=new_id("PU"),
            project_id=project_id,
            participant_id=actor.participant_id,
            language=text.language,
            title_en=text.title_en,
            body_en=text.body_en,
            title_ja=text.title_ja,
            body_ja=text.body_ja,
            published_on=text.published_on,
            published_at=tx.at,
            journal_seq=tx.next_seq(),
        )
        conn.execute(project_updates.insert().values(**plain(view)))
        tx.record("projects.update_published", actor.label, plain(view))
        return view

    return execute(db, actor, idem, work, 201, loader(ProjectUpdate))


def list_updates(db: Database, project_id: str) -> list[ProjectUpdate]:
    """A project's updates, newest first (by their date, then publication); the project page
    shows them. A project that does not exist: not found."""
    with db.read() as conn:
        _project(conn, project_id)
        rows = conn.execute(
            select(project_updates)
            .where(U.project_id == project_id)
            .order_by(U.published_on.desc(), U.journal_seq.desc())
        ).all()
    return [from_row(ProjectUpdate, r) for r in rows]


def get_developer(db: Database, project_id: str) -> Developer | None:
    """The developer the operator named for a project, or None."""
    with db.read() as conn:
        row = conn.execute(select(project_developers).where(D.project_id == project_id)).first()
    return None if row is None else from_row(Developer, row)
