"""What must hold of the project cycle, checked over the whole database (``tanso cycle
check`` and the tests): every monitoring report's tonnes recompute from its stored parameters
by its methodology version's formula; every issuance rests on an approved request (or was a
direct issuance or deposit, recorded as such) and issued exactly the verified tonnes, the
request's buffer share in the scheme's pool and the rest to the developer's account; no
plan that was withdrawn or rejected has a project, reports or issuances."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from tanso.domain.project_cycle import PlanState, RequestState
from tanso.services.cycle import monitoring
from tanso.store import schema as t
from tanso.store.db import Database
from tanso.store.schema_cycle import (
    issuance_requests,
    monitoring_reports,
    project_plans,
    verifications,
)
from tanso.store.schema_removals import buffer_contributions


@dataclass
class Findings:
    reports: int = 0
    issuances: int = 0
    problems: list[str] = field(default_factory=list)


def check(db: Database) -> Findings:
    """Every rule above, with a sentence per breach."""
    found = Findings()
    q, v = issuance_requests.c, verifications.c
    with db.read() as conn:
        for row in conn.execute(select(monitoring_reports)):
            found.reports += 1
            again = monitoring.recompute(conn, row)
            if again != row.claimed_tonnes:
                found.problems.append(
                    f"report {row.id}: stored {row.claimed_tonnes} t, recomputed {again} t"
                )
        verified = dict(conn.execute(select(v.report_id, v.verified_tonnes)).all())
        corrected = conn.execute(
            select(v.report_id, v.parameters, v.verified_tonnes).where(v.parameters.is_not(None))
        ).all()
        for c in corrected:
            row = conn.execute(
                select(monitoring_reports).where(monitoring_reports.c.id == c.report_id)
            ).one()
            again = monitoring.recompute(conn, row, c.parameters)
            if again != c.verified_tonnes:
                found.problems.append(
                    f"verification of {c.report_id}: {c.verified_tonnes} t verified, its "
                    f"corrected parameters make {again} t"
                )
        buffers = dict(
            conn.execute(
                select(buffer_contributions.c.issuance_id, buffer_contributions.c.quantity)
            ).all()
        )
        issued = dict(conn.execute(select(t.issuances.c.id, t.issuances.c.quantity)).all())
        for r in conn.execute(select(issuance_requests)):
            if r.quantity + r.buffer_tonnes != verified.get(r.report_id):
                found.problems.append(
                    f"request {r.id}: {r.quantity} + {r.buffer_tonnes} t is not the "
                    f"{verified.get(r.report_id)} t verified"
                )
            if r.state != RequestState.APPROVED:
                if r.issuance_id is not None:
                    found.problems.append(f"request {r.id} is {r.state} but names an issuance")
                continue
            found.issuances += 1
            if issued.get(r.issuance_id) != r.verified_tonnes:
                found.problems.append(
                    f"issuance {r.issuance_id}: {issued.get(r.issuance_id)} t issued, "
                    f"{r.verified_tonnes} t verified"
                )
            if buffers.get(r.issuance_id, 0) != r.buffer_tonnes:
                found.problems.append(
                    f"issuance {r.issuance_id}: {buffers.get(r.issuance_id, 0)} t in the pool, "
                    f"the request fixed {r.buffer_tonnes} t"
                )
        closed = [
            p.id
            for p in conn.execute(
                select(project_plans.c.id).where(
                    project_plans.c.state.in_([PlanState.WITHDRAWN.value, PlanState.REJECTED.value])
                )
            )
        ]
        for pid in closed:
            if conn.execute(select(t.projects.c.id).where(t.projects.c.id == pid)).first():
                found.problems.append(f"plan {pid} was closed but its project is registered")
        requested = {r.issuance_id for r in conn.execute(select(q.issuance_id))}
        planned = {p.id for p in conn.execute(select(project_plans.c.id))}
        for i in conn.execute(select(t.issuances.c.id, t.issuances.c.project_id)):
            if i.project_id in planned and i.id not in requested:
                found.problems.append(
                    f"issuance {i.id} of cycle project {i.project_id} rests on no approved request"
                )
    return found
