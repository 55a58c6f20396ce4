"""Monitoring reports and their verification (docs/project-cycle.md).

The developer of a registered, active project reports a period: the parameters its
methodology version asks for (values and measurement series, as decimal strings), from which
the formula computes the tonnes claimed, and the verification body it has chosen. The body
must be accredited for the scheme and sector, not of the developer's group, and not the
project's validator where the scheme forbids it. Evidence (documents, sensor or satellite
data) is attached until verification. The body verifies once: a quantity no more than the
claim, its findings and statement. From then on the report, its parameters and its evidence
are public, so that anyone can recompute the figure.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select

from tanso.domain import methodologies as md
from tanso.domain import project_cycle as pc
from tanso.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from tanso.domain.participants import Role
from tanso.domain.project_cycle import PlanState, ReportState
from tanso.services import notices
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
    require_active,
)
from tanso.services.cycle import accreditation, evidence, plans
from tanso.services.cycle import methodologies as meth
from tanso.services.cycle.evidence import Evidence
from tanso.store import schema as t
from tanso.store.db import Database, Tx, dumps, loads
from tanso.store.schema_cycle import monitoring_reports, verifications

R, V = monitoring_reports.c, verifications.c
MAX_PERIOD_DAYS = 5 * 366


@dataclass(frozen=True, slots=True)
class NewReport:
    period_start: str
    period_end: str
    verifier_id: str
    parameters: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Verification:
    """A verification body's verification of a report: tonnes verified, findings, statement;
    ``parameters`` as the body corrected them, where it did (their formula gives the verified
    tonnes)."""

    report_id: str
    verifier_id: str
    verified_tonnes: int
    findings: str
    statement: str
    at: str
    journal_seq: int
    parameters: dict[str, Any] | None = omitted()  # noqa: RUF009


@dataclass(frozen=True, slots=True)
class Report:
    """A monitoring report with the parameters it gave and the tonnes they compute to."""

    id: str
    project_id: str
    number: int
    state: str
    developer_id: str
    verifier_id: str
    methodology_id: str
    methodology_version: str
    formula: str
    period_start: str
    period_end: str
    parameters: dict[str, Any]
    claimed_tonnes: int
    submitted_at: str
    journal_seq: int
    verification: Verification | None = omitted()  # noqa: RUF009
    evidence: list[Evidence] | None = omitted()  # noqa: RUF009


def _date(value: str, name: str) -> str:
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise InvalidInput("invalid_date", f"{name} is a date such as 2026-03-31.") from None


def _view(conn: Connection, row: Any) -> Report:
    m = meth.methodology(conn, row.methodology_id, row.methodology_version)
    ver = conn.execute(select(verifications).where(V.report_id == row.id)).first()
    return Report(
        id=row.id,
        project_id=row.project_id,
        number=row.number,
        state=row.state,
        developer_id=row.developer_id,
        verifier_id=row.verifier_id,
        methodology_id=row.methodology_id,
        methodology_version=row.methodology_version,
        formula=m.formula,
        period_start=row.period_start,
        period_end=row.period_end,
        parameters=loads(row.parameters),
        claimed_tonnes=row.claimed_tonnes,
        submitted_at=row.submitted_at,
        journal_seq=row.journal_seq,
        verification=None
        if ver is None
        else from_row(
            Verification, ver, parameters=loads(ver.parameters) if ver.parameters else None
        ),
        evidence=evidence.list_for(conn, "report", row.id),
    )


def _row(conn: Connection, report_id: str) -> Any:
    row = conn.execute(select(monitoring_reports).where(R.id == report_id)).first()
    if row is None:
        raise NotFound("report_not_found", f"There is no monitoring report {report_id}.")
    return row


def party(row: Any, actor: Actor | None) -> bool:
    """The developer, the report's verification body and the operator are its parties."""
    return actor is not None and (
        actor.is_operator() or actor.participant_id in (row.developer_id, row.verifier_id)
    )


def _visible(conn: Connection, actor: Actor | None, report_id: str) -> Any:
    row = conn.execute(select(monitoring_reports).where(R.id == report_id)).first()
    if row is None or not (row.state == ReportState.VERIFIED or party(row, actor)):
        raise NotFound(
            "report_not_found", f"There is no monitoring report {report_id} that you can see."
        )
    return row


def check_verifier(
    conn: Connection, plan: Any, m: md.Methodology, verifier_id: str, on: str
) -> None:
    """Refuse a verification body that may not verify the project's report: not accredited
    on ``on`` for the scheme and sector, of the developer's group, or the project's validator
    where the scheme forbids that."""
    accreditation.require_accredited(conn, verifier_id, m.scheme, m.sector, on)
    if accreditation.same_group(conn, verifier_id, plan.developer_id):
        raise Forbidden(
            "conflict_of_interest",
            f"{verifier_id} is the developer of project {plan.id} or of its corporate group; "
            "it cannot verify the project's reports.",
        )
    if verifier_id == plan.validator_id and not meth.cycle_rules(plan.scheme).validator_may_verify:
        raise Forbidden(
            "validator_may_not_verify",
            f"{verifier_id} validated project {plan.id}; the {plan.scheme} scheme's rules "
            "have another body verify its reports.",
        )


def submit(
    db: Database, actor: Actor, project_id: str, r: NewReport, idem: Idem | None = None
) -> Report:
    """Submit a monitoring report for a period of a registered, active project (its
    developer); its tonnes are the methodology's formula of its parameters."""
    start, end = _date(r.period_start, "period_start"), _date(r.period_end, "period_end")
    if end < start:
        raise InvalidInput(
            "invalid_period", f"period_end ({end}) is before period_start ({start})."
        )
    days = (dt.date.fromisoformat(end) - dt.date.fromisoformat(start)).days + 1
    if days > MAX_PERIOD_DAYS:
        raise InvalidInput(
            "invalid_period", f"A monitoring period is at most 5 years; this one has {days} days."
        )

    def work(tx: Tx) -> Report:
        conn = tx.conn
        require_active(conn, actor)
        plan = plans.plan_of(conn, project_id)
        if plan is None or plan.state not in (PlanState.REGISTERED, PlanState.INACTIVE):
            raise NotFound(
                "project_not_found",
                f"There is no project {project_id} registered through the project cycle.",
            )
        if plan.developer_id != actor.participant_id:
            raise Forbidden(
                "not_project_developer",
                f"Only the developer of project {project_id} submits its monitoring reports.",
            )
        if plan.state == PlanState.INACTIVE:
            raise Conflict("project_inactive", f"Project {project_id} is inactive: {plan.reason}")
        today = tx.at[:10]
        if end > today:
            raise InvalidInput("period_not_over", f"The period ends {end}, after today ({today}).")
        m = meth.methodology(conn, plan.methodology_id, plan.methodology_version)
        check_verifier(conn, plan, m, r.verifier_id, today)
        overlap = conn.execute(
            select(R.id, R.period_start, R.period_end).where(
                R.project_id == project_id, R.period_start <= end, R.period_end >= start
            )
        ).first()
        if overlap is not None:
            raise Conflict(
                "period_overlaps",
                f"Report {overlap.id} of project {project_id} covers {overlap.period_start} "
                f"to {overlap.period_end}; a period is reported once.",
            )
        params = md.canonical(md.parse(m, r.parameters))
        claimed = md.tonnes(m, params)
        number = (
            conn.execute(
                select(func.coalesce(func.max(R.number), 0)).where(R.project_id == project_id)
            ).scalar_one()
            + 1
        )
        rid = new_id("MR")
        conn.execute(
            monitoring_reports.insert().values(
                id=rid,
                project_id=project_id,
                number=number,
                state=ReportState.SUBMITTED.value,
                developer_id=actor.participant_id,
                verifier_id=r.verifier_id,
                methodology_id=m.id,
                methodology_version=m.version,
                period_start=start,
                period_end=end,
                parameters=dumps(params),
                claimed_tonnes=claimed,
                submitted_at=tx.at,
                journal_seq=tx.next_seq(),
            )
        )
        view = _view(conn, _row(conn, rid))
        tx.record("cycle.report_submitted", actor.label, plain(view))
        notices.notify(
            tx,
            r.verifier_id,
            "cycle_report_submitted",
            rid,
            project=project_id,
            claimed=claimed,
        )
        return view

    return execute(db, actor, idem, work, 201, loader(Report))


def attach(
    db: Database,
    actor: Actor,
    report_id: str,
    kind: str,
    file_name: str,
    media_type: str,
    content: bytes,
    idem: Idem | None = None,
) -> evidence.Evidence:
    """Attach evidence to a report before its verification (its developer)."""

    def may(tx: Tx) -> None:
        row = _visible(tx.conn, actor, report_id)
        if row.developer_id != actor.participant_id:
            raise Forbidden(
                "not_project_developer", f"Only the developer attaches evidence to {report_id}."
            )
        if row.state != ReportState.SUBMITTED:
            raise Conflict(
                "report_verified", f"Report {report_id} is verified; its evidence is closed."
            )

    file = (kind, file_name, media_type, content)
    return evidence.add(db, actor, "report", report_id, *file, may, idem)


def verify(
    db: Database,
    actor: Actor,
    report_id: str,
    verified_tonnes: int,
    findings: str,
    statement: str,
    idem: Idem | None = None,
    parameters: dict[str, Any] | None = None,
) -> Report:
    """Verify a report (its verification body, once): tonnes no more than claimed. Where the
    body corrects the parameters, it gives them, and the verified tonnes must be what the
    methodology's formula makes of them, so that anyone can recompute the verified figure."""
    require(actor, Role.VERIFICATION_BODY, "verify monitoring reports")
    findings = pc.text(findings, "findings", required=False)
    statement = pc.text(statement, "statement")
    if verified_tonnes < 0:
        raise InvalidInput("invalid_quantity", "verified_tonnes is a whole number, 0 or more.")

    def work(tx: Tx) -> Report:
        conn = tx.conn
        require_active(conn, actor)
        row = _row(conn, report_id)
        if row.verifier_id != actor.participant_id:
            raise Forbidden(
                "not_report_verifier",
                f"Only the verification body the developer named for {report_id} verifies it.",
            )
        if row.state != ReportState.SUBMITTED:
            raise Conflict("report_already_verified", f"Report {report_id} is verified already.")
        if verified_tonnes > row.claimed_tonnes:
            raise InvalidInput(
                "verified_exceeds_claimed",
                f"Report {report_id} claims {row.claimed_tonnes:,} t; a verification confirms "
                f"at most that, not {verified_tonnes:,} t.",
            )
        plan = plans.plan_of(conn, row.project_id)
        m = meth.methodology(conn, row.methodology_id, row.methodology_version)
        check_verifier(conn, plan, m, actor.participant_id, tx.at[:10])
        corrected = None
        if parameters is not None:
            corrected = md.canonical(md.parse(m, parameters))
            computed = md.tonnes(m, corrected)
            if computed != verified_tonnes:
                raise InvalidInput(
                    "verified_not_computed",
                    f"The corrected parameters make {computed:,} t by the formula of {m.id} "
                    f"{m.version}; the verified tonnes are that figure, not {verified_tonnes:,}.",
                )
        seq = tx.next_seq()
        conn.execute(
            verifications.insert().values(
                report_id=report_id,
                verifier_id=actor.participant_id,
                verified_tonnes=verified_tonnes,
                parameters=None if corrected is None else dumps(corrected),
                findings=findings,
                statement=statement,
                at=tx.at,
                journal_seq=seq,
            )
        )
        conn.execute(
            monitoring_reports.update()
            .where(R.id == report_id, R.state == ReportState.SUBMITTED.value)
            .values(state=ReportState.VERIFIED.value)
        )
        view = _view(conn, _row(conn, report_id))
        tx.record("cycle.report_verified", actor.label, plain(view))
        notices.notify(
            tx,
            row.developer_id,
            "cycle_report_verified",
            report_id,
            project=row.project_id,
            verified=verified_tonnes,
            claimed=row.claimed_tonnes,
        )
        return view

    return execute(db, actor, idem, work, 201, loader(Report))


def get(db: Database, actor: Actor | None, report_id: str) -> Report:
    """A report: public once verified, before that to its parties only."""
    with db.read() as conn:
        return _view(conn, _visible(conn, actor, report_id))


def file(
    db: Database, actor: Actor | None, report_id: str, evidence_id: str
) -> tuple[evidence.Evidence, bytes]:
    """A report's evidence file: to anyone once verified, to its parties before."""
    with db.read() as conn:
        try:
            _visible(conn, actor, report_id)
        except NotFound:
            raise NotFound(
                "evidence_not_found", f"There is no evidence {evidence_id} that you can see."
            ) from None
        return evidence.content_of(conn, "report", report_id, evidence_id)


def list_reports(
    db: Database,
    actor: Actor | None,
    *,
    project_id: str | None = None,
    verifier_id: str | None = None,
    developer_id: str | None = None,
) -> list[Report]:
    """Reports the caller may see (verified ones, and its own as a party), by project and
    number."""
    query = select(monitoring_reports).order_by(R.project_id, R.number)
    if project_id is not None:
        query = query.where(R.project_id == project_id)
    if verifier_id is not None:
        query = query.where(R.verifier_id == verifier_id)
    if developer_id is not None:
        query = query.where(R.developer_id == developer_id)
    with db.read() as conn:
        if project_id is not None and plans.plan_of(conn, project_id) is None:
            if conn.execute(select(t.projects.c.id).where(t.projects.c.id == project_id)).first():
                return []  # registered directly: it has no monitoring reports here
            raise NotFound("project_not_found", f"There is no project {project_id}.")
        return [
            _view(conn, r)
            for r in conn.execute(query)
            if r.state == ReportState.VERIFIED or party(r, actor)
        ]


def recompute(conn: Connection, row: Any, parameters: str | None = None) -> int:
    """A stored report's tonnes recomputed by its methodology version's formula from its
    stored parameters, or from ``parameters`` (a verification's corrected ones, as stored):
    the check `tanso cycle check` and the tests make."""
    m = meth.methodology(conn, row.methodology_id, row.methodology_version)
    return md.tonnes(m, loads(parameters or row.parameters))
