"""What the public pages show of the project cycle (docs/project-cycle.md): a registered
project's methodology, developer, validation, documents, verified monitoring reports with their
parameters and evidence, and what each of its issuances rests on; the plans in the pipeline; one
plan with its comments and validation; the methodologies with their versions.

Read only, and only what is public: a draft plan is never shown, a report only once verified,
evidence only of a public plan or a verified report. Participants appear by their names as
developer, validation or verification body, or commenter, never as holders.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

from tanso.domain import methodologies as md
from tanso.domain.errors import NotFound
from tanso.domain.project_cycle import PlanState, ReportState, RequestState, is_public
from tanso.services.cycle import evidence, plans
from tanso.services.cycle import methodologies as meth
from tanso.store import repo
from tanso.store import schema as t
from tanso.store.db import Database, loads
from tanso.store.schema_cycle import (
    issuance_requests,
    monitoring_reports,
    plan_comments,
    project_plans,
    verifications,
)

P, R, Q, C = project_plans.c, monitoring_reports.c, issuance_requests.c, plan_comments.c
V = verifications.c
PIPELINE_STATES = (
    PlanState.SUBMITTED,
    PlanState.UNDER_VALIDATION,
    PlanState.REJECTED,
    PlanState.WITHDRAWN,
)
"""The states of a plan not (or not yet) registered that the pipeline page lists."""
PLANS_SHOWN = 500
SERIES_SHOWN = 12
"""Points of a measurement series written out on a page; the rest are in its CSV."""


@dataclass(frozen=True, slots=True)
class Party:
    """A participant in a cycle role, by name (the id is the registry's code for it)."""

    id: str
    name_en: str
    name_ja: str


@dataclass(frozen=True, slots=True)
class MethodologyRef:
    """The methodology version a plan applies."""

    id: str
    version: str
    title_en: str
    title_ja: str
    formula: str
    buffer_rate_bp: int
    credit_type: str


@dataclass(frozen=True, slots=True)
class ParameterLine:
    """One parameter of a report as published: a value, or a measurement series with its
    count and sum (its first points written out, all of them in its CSV)."""

    name: str
    kind: str
    unit: str
    label_en: str
    label_ja: str
    value: str
    count: int
    total: str
    points: list[str]


@dataclass(frozen=True, slots=True)
class RequestLine:
    """The approved issuance request of a report and the issuance it made."""

    id: str
    verified_tonnes: int
    buffer_rate_bp: int
    buffer_tonnes: int
    quantity: int
    issuance_id: str | None
    decided_at: str | None


@dataclass(frozen=True, slots=True)
class ReportLine:
    """A verified monitoring report: period, parameters, the tonnes its formula makes of them
    (claimed, and recomputed here), the verification, its evidence and its issuance."""

    id: str
    number: int
    period_start: str
    period_end: str
    methodology_id: str
    methodology_version: str
    formula: str
    parameters: list[ParameterLine]
    claimed_tonnes: int
    recomputed_tonnes: int
    verified_tonnes: int
    verifier: Party
    findings: str
    statement: str
    verified_at: str
    evidence: list[evidence.Evidence]
    request: RequestLine | None
    corrected: list[ParameterLine] | None = None
    """The parameters as the verification body corrected them, where it did."""
    corrected_tonnes: int | None = None
    """What the formula makes of the corrected parameters: the verified tonnes."""


@dataclass(frozen=True, slots=True)
class IssuanceBasis:
    """What an issuance of the project rests on: ``request`` (an approved request, from a
    verified report), ``issued`` (a direct issuance by the registry operator) or ``deposited``
    (credits brought in from another registry)."""

    issuance_id: str
    kind: str
    request_id: str | None = None
    report_id: str | None = None
    report_number: int | None = None
    external_registry: str | None = None
    external_ref: str | None = None


@dataclass(frozen=True, slots=True)
class ValidationLine:
    """A validation body's opinion on a plan."""

    validator: Party
    opinion: str
    findings: str
    statement: str
    at: str


@dataclass(frozen=True, slots=True)
class CommentLine:
    id: str
    author: Party
    body: str
    at: str


@dataclass(frozen=True, slots=True)
class PlanLine:
    """A plan as the pipeline lists it."""

    id: str
    state: str
    scheme: str
    name: str
    name_ja: str
    methodology: MethodologyRef
    developer: Party
    validator: Party | None
    comment_until: str | None
    updated_at: str


@dataclass(frozen=True, slots=True)
class PlanPage:
    """A public plan: what its developer proposed, its documents, comments and validation."""

    line: PlanLine
    description: str
    category: str
    country: str
    region: str
    mechanism: str
    expected_tonnes_per_year: int
    documents: list[evidence.Evidence]
    comments: list[CommentLine]
    validation: ValidationLine | None
    reason: str | None
    registered: bool


@dataclass(frozen=True, slots=True)
class ProjectCycle:
    """The cycle of a project registered through it, for its public page."""

    plan: PlanPage
    reports: list[ReportLine]
    bases: dict[str, IssuanceBasis]
    """What each of the project's issuances rests on, by issuance id."""


def _party(conn: Connection, participant_id: str) -> Party:
    row = repo.get_participant(conn, participant_id)
    if row is None:
        return Party(participant_id, participant_id, participant_id)
    return Party(row.id, row.name_en, row.name_ja)


def _methodology(conn: Connection, mid: str, version: str) -> MethodologyRef:
    m = meth.methodology(conn, mid, version)
    return MethodologyRef(
        m.id, m.version, m.title_en, m.title_ja, m.formula, m.buffer_rate_bp, m.credit_type
    )


def _line(conn: Connection, row: Any) -> PlanLine:
    project = loads(row.project)
    return PlanLine(
        id=row.id,
        state=row.state,
        scheme=row.scheme,
        name=project["name"],
        name_ja=project["name_ja"],
        methodology=_methodology(conn, row.methodology_id, row.methodology_version),
        developer=_party(conn, row.developer_id),
        validator=_party(conn, row.validator_id) if row.validator_id else None,
        comment_until=row.comment_until,
        updated_at=row.updated_at,
    )


def _public_plan(conn: Connection, plan_id: str) -> Any:
    row = conn.execute(select(project_plans).where(P.id == plan_id)).first()
    if row is None or not is_public(row.validator_id):
        raise NotFound("plan_not_found", f"There is no public project plan {plan_id}.")
    return row


def _plan_page(conn: Connection, row: Any) -> PlanPage:
    project = loads(row.project)
    validation = loads(row.validation) if row.validation else None
    comments = conn.execute(
        select(plan_comments).where(C.plan_id == row.id).order_by(C.journal_seq)
    ).all()
    return PlanPage(
        line=_line(conn, row),
        description=row.description,
        category=project["category"],
        country=project["country"],
        region=project["region"],
        mechanism=project["mechanism"],
        expected_tonnes_per_year=row.expected_tonnes_per_year,
        documents=evidence.list_for(conn, "plan", row.id),
        comments=[
            CommentLine(c.id, _party(conn, c.participant_id), c.body, c.at) for c in comments
        ],
        validation=None
        if validation is None
        else ValidationLine(
            validator=_party(conn, validation["validator_id"]),
            opinion=validation["opinion"],
            findings=validation["findings"],
            statement=validation["statement"],
            at=validation["at"],
        ),
        reason=row.reason,
        registered=row.state in (PlanState.REGISTERED, PlanState.INACTIVE),
    )


def _parameters(m: md.Methodology, given: dict[str, Any]) -> list[ParameterLine]:
    out = []
    for p in m.parameters:
        value = given.get(p.name)
        if isinstance(value, list):
            total = sum((Decimal(v) for v in value), Decimal(0))
            out.append(
                ParameterLine(
                    p.name,
                    p.kind,
                    p.unit,
                    p.label_en,
                    p.label_ja,
                    value="",
                    count=len(value),
                    total=str(total),
                    points=[str(v) for v in value[:SERIES_SHOWN]],
                )
            )
        else:
            text = "" if value is None else str(value)
            out.append(
                ParameterLine(p.name, p.kind, p.unit, p.label_en, p.label_ja, text, 1, text, [text])
            )
    return out


def _reports(conn: Connection, project_id: str) -> list[ReportLine]:
    """The project's verified reports, by number; an unverified one is not public."""
    rows = conn.execute(
        select(monitoring_reports)
        .where(R.project_id == project_id, R.state == ReportState.VERIFIED.value)
        .order_by(R.number)
    ).all()
    requests = {
        q.report_id: q
        for q in conn.execute(
            select(issuance_requests).where(
                Q.project_id == project_id, Q.state == RequestState.APPROVED.value
            )
        )
    }
    out = []
    for row in rows:
        m = meth.methodology(conn, row.methodology_id, row.methodology_version)
        given = loads(row.parameters)
        ver = conn.execute(select(verifications).where(V.report_id == row.id)).one()
        fixed = loads(ver.parameters) if ver.parameters else None
        q = requests.get(row.id)
        out.append(
            ReportLine(
                id=row.id,
                number=row.number,
                period_start=row.period_start,
                period_end=row.period_end,
                methodology_id=m.id,
                methodology_version=m.version,
                formula=m.formula,
                parameters=_parameters(m, given),
                claimed_tonnes=row.claimed_tonnes,
                recomputed_tonnes=md.tonnes(m, given),
                verified_tonnes=ver.verified_tonnes,
                verifier=_party(conn, ver.verifier_id),
                findings=ver.findings,
                statement=ver.statement,
                verified_at=ver.at,
                evidence=evidence.list_for(conn, "report", row.id),
                request=None
                if q is None
                else RequestLine(
                    q.id,
                    q.verified_tonnes,
                    q.buffer_rate_bp,
                    q.buffer_tonnes,
                    q.quantity,
                    q.issuance_id,
                    q.decided_at,
                ),
                corrected=None if fixed is None else _parameters(m, fixed),
                corrected_tonnes=None if fixed is None else md.tonnes(m, fixed),
            )
        )
    return out


def _bases(conn: Connection, project_id: str) -> dict[str, IssuanceBasis]:
    i = t.issuances.c
    approved = {
        q.issuance_id: q
        for q in conn.execute(
            select(Q.id, Q.issuance_id, Q.report_id, R.number)
            .select_from(issuance_requests.join(monitoring_reports, R.id == Q.report_id))
            .where(Q.project_id == project_id, Q.state == RequestState.APPROVED.value)
        )
    }
    out = {}
    for row in conn.execute(
        select(i.id, i.origin, i.external_registry, i.external_ref).where(
            i.project_id == project_id
        )
    ):
        q = approved.get(row.id)
        if q is not None:
            basis = IssuanceBasis(row.id, "request", q.id, q.report_id, q.number)
        elif row.origin == "deposited":
            basis = IssuanceBasis(
                row.id,
                "deposited",
                external_registry=row.external_registry,
                external_ref=row.external_ref,
            )
        else:
            basis = IssuanceBasis(row.id, "issued")
        out[row.id] = basis
    return out


def project_cycle(db: Database, project_id: str) -> ProjectCycle | None:
    """A registered project's cycle for its public page; None for a project registered
    directly (without a plan here)."""
    with db.read() as conn:
        row = plans.plan_of(conn, project_id)
        if row is None or row.state not in (PlanState.REGISTERED, PlanState.INACTIVE):
            return None
        return ProjectCycle(
            plan=_plan_page(conn, row),
            reports=_reports(conn, project_id),
            bases=_bases(conn, project_id),
        )


def public_plan_state(db: Database, plan_id: str) -> str | None:
    """The state of a public plan with this id, or None (no plan, or a draft)."""
    with db.read() as conn:
        row = conn.execute(select(P.state, P.validator_id).where(P.id == plan_id)).first()
    return row.state if row is not None and is_public(row.validator_id) else None


def pipeline(db: Database, state: str = "") -> list[PlanLine]:
    """The plans not registered: submitted, under validation, rejected or withdrawn (newest
    step first); ``state`` narrows to one of them."""
    states = [s.value for s in PIPELINE_STATES if not state or s.value == state]
    with db.read() as conn:
        rows = conn.execute(
            select(project_plans)
            .where(P.state.in_(states))
            .order_by(P.journal_seq.desc())
            .limit(PLANS_SHOWN)
        ).all()
        return [_line(conn, r) for r in rows]


def plan_page(db: Database, plan_id: str) -> PlanPage:
    """A public plan with its documents, comments and validation; a draft is not found."""
    with db.read() as conn:
        return _plan_page(conn, _public_plan(conn, plan_id))


def series(
    db: Database, project_id: str, report_id: str, name: str
) -> tuple[md.Parameter, list[str]]:
    """A verified report's measurement series (its parameter and values, as stored), for its
    CSV; anything else is not found."""
    with db.read() as conn:
        row = conn.execute(
            select(monitoring_reports).where(R.id == report_id, R.project_id == project_id)
        ).first()
        if row is None or row.state != ReportState.VERIFIED:
            raise NotFound(
                "report_not_found", f"There is no verified report {report_id} of {project_id}."
            )
        m = meth.methodology(conn, row.methodology_id, row.methodology_version)
    values = loads(row.parameters).get(name)
    found = [p for p in m.parameters if p.name == name and p.kind == "series"]
    if not found or not isinstance(values, list):
        raise NotFound(
            "series_not_found", f"Report {report_id} has no measurement series {name[:60]!r}."
        )
    return found[0], [str(v) for v in values]


@dataclass(frozen=True, slots=True)
class MethodologyLine:
    """A methodology on the list: its latest version and how many there are."""

    latest: meth.MethodologyView
    versions: int


def methodology_list(db: Database) -> list[MethodologyLine]:
    """Every methodology by scheme and id, with its latest version."""
    by_id: dict[str, list[meth.MethodologyView]] = {}
    for v in meth.list_methodologies(db):
        by_id.setdefault(v.id, []).append(v)
    return [MethodologyLine(vs[-1], len(vs)) for vs in by_id.values()]


def methodology_projects(db: Database, mid: str) -> list[PlanLine]:
    """The public plans (registered or not) that apply a methodology, newest step first."""
    with db.read() as conn:
        rows = conn.execute(
            select(project_plans)
            .where(P.methodology_id == mid, P.validator_id.is_not(None))
            .order_by(P.journal_seq.desc())
            .limit(PLANS_SHOWN)
        ).all()
        return [_line(conn, r) for r in rows]
