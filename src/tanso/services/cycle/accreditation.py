"""Accreditations of validation and verification bodies (認定), per scheme and sector.

The registry operator accredits a participant with the ``verification_body`` role for a scheme
(``JC``, ``VCS``, ... or ``FOOTPRINT`` for product and cargo declarations) and a sector, from
a date and optionally to one, and may revoke it with a reason. A body validates or verifies
only where an accreditation in force on that day covers the work; conflicts of interest are
rules too: a body never verifies its own or its corporate group's project.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from tanso.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from tanso.domain.participants import Role
from tanso.services.common import (
    Actor,
    Idem,
    execute,
    from_row,
    loader,
    new_id,
    omitted,
    plain,
    require,
)
from tanso.services.cycle import footprint
from tanso.store import repo
from tanso.store import schema as t
from tanso.store.db import Database, Tx
from tanso.store.schema_cycle import accreditations, methodologies

A = accreditations.c
CODE_MAX = 24


@dataclass(frozen=True, slots=True)
class Accreditation:
    """A body's accreditation for a scheme and sector, valid from and (if set) to a date."""

    id: str
    participant_id: str
    scheme: str
    sector: str
    valid_from: str
    granted_at: str
    journal_seq: int
    valid_to: str | None = omitted()
    revoked_at: str | None = omitted()
    revocation_reason: str | None = omitted()


FOOTPRINT = "FOOTPRINT"
"""The scheme of product and cargo declarations; its sectors are the declared units' kinds."""


def sectors(conn: Connection, scheme: str) -> list[str]:
    """The sectors a body may be accredited for in a scheme: those of its methodologies, or
    for ``FOOTPRINT`` the kinds of declared units."""
    if scheme == FOOTPRINT:
        return sorted(footprint.kinds())
    m = methodologies.c
    found = conn.execute(select(m.sector).where(m.scheme == scheme).distinct()).scalars()
    return sorted(found)


def _known_scope(conn: Connection, scheme: str, sector: str) -> None:
    if scheme != FOOTPRINT and repo.get_by_code(conn, t.schemes, scheme) is None:
        raise NotFound(
            "scheme_not_found",
            f"There is no scheme {scheme}; a scheme is a code such as JC or VCS, or {FOOTPRINT} "
            "for product and cargo declarations.",
        )
    known = sectors(conn, scheme)
    if sector not in known:
        raise InvalidInput(
            "unknown_sector",
            f"Scheme {scheme} has the sectors {', '.join(known) or '(none: add a methodology)'};"
            f" not {sector!r}.",
        )


def _roles(row: Any) -> list[str]:
    return row.roles.split(",") if row.roles else []


def _date(value: str, name: str) -> str:
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise InvalidInput("invalid_date", f"{name} is a date such as 2026-04-01.") from None


def _code(value: str, name: str) -> str:
    if not value or len(value) > CODE_MAX or not value.replace("_", "").isalnum():
        raise InvalidInput(
            f"invalid_{name}", f"{name} is 1 to {CODE_MAX} letters, digits or underscores."
        )
    return value


def grant(
    db: Database,
    actor: Actor,
    participant_id: str,
    scheme: str,
    sector: str,
    valid_from: str,
    valid_to: str | None = None,
    idem: Idem | None = None,
) -> Accreditation:
    """Accredit a verification body for a scheme and sector (registry operator)."""
    require(actor, Role.REGISTRY_OPERATOR, "accredit validation and verification bodies")
    _code(scheme, "scheme")
    _code(sector, "sector")
    start = _date(valid_from, "valid_from")
    end = _date(valid_to, "valid_to") if valid_to else None
    if end is not None and end < start:
        raise InvalidInput("invalid_period", f"valid_to ({end}) is before valid_from ({start}).")

    def work(tx: Tx) -> Accreditation:
        conn = tx.conn
        row = repo.get_participant(conn, participant_id)
        if row is None:
            raise NotFound("participant_not_found", f"There is no participant {participant_id}.")
        _known_scope(conn, scheme, sector)
        overlapping = [
            r.id
            for r in conn.execute(
                select(A.id, A.valid_from, A.valid_to).where(
                    A.participant_id == participant_id,
                    A.scheme == scheme,
                    A.sector == sector,
                    A.revoked_at.is_(None),
                )
            )
            if (end is None or r.valid_from <= end) and (r.valid_to is None or start <= r.valid_to)
        ]
        if overlapping:
            raise Conflict(
                "accreditation_exists",
                f"{participant_id} is accredited for {scheme} {sector} in that period already "
                f"({overlapping[0]}); revoke it first to change the dates.",
            )
        if Role.VERIFICATION_BODY.value not in _roles(row):
            raise Conflict(
                "not_a_verification_body",
                f"Participant {participant_id} does not have the verification_body role; "
                "give it the role before accrediting it.",
            )
        view = Accreditation(
            id=new_id("ACR"),
            participant_id=participant_id,
            scheme=scheme,
            sector=sector,
            valid_from=start,
            granted_at=tx.at,
            journal_seq=tx.next_seq(),
            valid_to=end,
        )
        conn.execute(accreditations.insert().values(**plain(view)))
        tx.record("cycle.accredited", actor.label, plain(view))
        return view

    return execute(db, actor, idem, work, 201, loader(Accreditation))


def revoke(
    db: Database, actor: Actor, accreditation_id: str, reason: str, idem: Idem | None = None
) -> Accreditation:
    """Revoke an accreditation with the reason (registry operator); work done under it before
    stays as it was."""
    require(actor, Role.REGISTRY_OPERATOR, "revoke accreditations")
    if not reason.strip():
        raise InvalidInput("reason_required", "A revocation states its reason.")

    def work(tx: Tx) -> Accreditation:
        conn = tx.conn
        row = conn.execute(select(accreditations).where(A.id == accreditation_id)).first()
        if row is None:
            raise NotFound(
                "accreditation_not_found", f"There is no accreditation {accreditation_id}."
            )
        if row.revoked_at is not None:
            raise Conflict(
                "accreditation_revoked",
                f"Accreditation {accreditation_id} was revoked at {row.revoked_at}.",
            )
        conn.execute(
            accreditations.update()
            .where(A.id == accreditation_id)
            .values(revoked_at=tx.at, revocation_reason=reason)
        )
        view = _view(conn.execute(select(accreditations).where(A.id == accreditation_id)).one())
        tx.record("cycle.accreditation_revoked", actor.label, plain(view))
        return view

    return execute(db, actor, idem, work, 200, loader(Accreditation))


def _view(row: Any) -> Accreditation:
    return from_row(
        Accreditation,
        row,
        valid_to=row.valid_to,
        revoked_at=row.revoked_at,
        revocation_reason=row.revocation_reason,
    )


def list_accreditations(db: Database, participant_id: str | None = None) -> list[Accreditation]:
    """Every accreditation, revoked ones included (public: who may validate and verify what)."""
    query = select(accreditations).order_by(A.participant_id, A.scheme, A.sector, A.valid_from)
    if participant_id is not None:
        query = query.where(A.participant_id == participant_id)
    with db.read() as conn:
        return [_view(r) for r in conn.execute(query)]


def accredited(conn: Connection, participant_id: str, scheme: str, sector: str, on: str) -> bool:
    """Whether the participant is a verification body accredited for the scheme and sector on
    the day ``on``."""
    row = repo.get_participant(conn, participant_id)
    if row is None or Role.VERIFICATION_BODY.value not in _roles(row):
        return False
    rows = conn.execute(
        select(A.valid_from, A.valid_to).where(
            A.participant_id == participant_id,
            A.scheme == scheme,
            A.sector == sector,
            A.revoked_at.is_(None),
        )
    ).all()
    return any(r.valid_from <= on and (r.valid_to is None or on <= r.valid_to) for r in rows)


def require_accredited(
    conn: Connection, participant_id: str, scheme: str, sector: str, on: str
) -> None:
    """Refuse (403 ``not_accredited``) unless the body is accredited for the work on ``on``."""
    if not accredited(conn, participant_id, scheme, sector, on):
        raise Forbidden(
            "not_accredited",
            f"Participant {participant_id} holds no accreditation in force on {on} for "
            f"scheme {scheme}, sector {sector}.",
        )


def same_group(conn: Connection, a: str, b: str) -> bool:
    """Whether two participants are one, or of one corporate group (a conflict of interest)."""
    if a == b:
        return True
    ra, rb = repo.get_participant(conn, a), repo.get_participant(conn, b)
    if ra is None or rb is None:
        return False
    return bool(ra.corporate_group) and ra.corporate_group == rb.corporate_group
