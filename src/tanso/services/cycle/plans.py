"""Project plans from draft to registration (docs/project-cycle.md).

Each step is taken by the role that may take it, and only from the states that allow it
(``domain.project_cycle``): the developer drafts, submits (naming its validation body) and may
withdraw; the named body starts validation and gives its opinion once the public comment
period is over; the registry operator registers (the ``projects`` row appears, with the plan's
id) or rejects, and may later set the project inactive. Anyone with a key comments during the
comment period. A draft is its developer's own; from its submission on, a plan, its comments,
its validation and its documents are public.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass, field
from typing import Any

import pycountry
from sqlalchemy import Connection, select

from tanso.domain import project_cycle as pc
from tanso.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from tanso.domain.participants import Role
from tanso.domain.project_cycle import PlanState, PlanStep
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
from tanso.services.cycle import accreditation, evidence
from tanso.services.cycle import methodologies as meth
from tanso.services.ledger import taxonomy
from tanso.store import repo
from tanso.store import schema as t
from tanso.store.db import Database, Tx, dumps, loads
from tanso.store.schema_cycle import plan_comments, project_plans
from tanso.store.schema_hub import project_developers

P, C = project_plans.c, plan_comments.c
PLAN_ID = re.compile(r"^[A-Z0-9]{1,16}$")


@dataclass(frozen=True, slots=True)
class NewPlan:
    """A plan as its developer drafts it: the project's attributes and the methodology
    version it applies; ``id`` proposes the project's id (else one is given)."""

    name: str
    category: str
    country: str
    methodology_id: str
    methodology_version: str
    description: str
    expected_tonnes_per_year: int
    id: str = ""
    name_ja: str = ""
    region: str = ""
    nature: str = "technology"
    co_benefits: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Validation:
    """A validation body's opinion on a plan."""

    validator_id: str
    opinion: str
    findings: str
    statement: str
    at: str


@dataclass(frozen=True, slots=True)
class Comment:
    id: str
    plan_id: str
    participant_id: str
    body: str
    at: str
    journal_seq: int


@dataclass(frozen=True, slots=True)
class Plan:
    """A project plan and where it stands in the cycle."""

    id: str
    state: str
    developer_id: str
    scheme: str
    methodology_id: str
    methodology_version: str
    name: str
    name_ja: str
    category: str
    country: str
    region: str
    mechanism: str
    nature: str
    description: str
    expected_tonnes_per_year: int
    created_at: str
    updated_at: str
    journal_seq: int
    validator_id: str | None = omitted()
    comment_until: str | None = omitted()
    validation: Validation | None = omitted()  # noqa: RUF009
    reason: str | None = omitted()
    comments: list[Comment] | None = omitted()  # noqa: RUF009
    documents: list[evidence.Evidence] | None = omitted()  # noqa: RUF009


def _today(tx_at: str) -> str:
    return tx_at[:10]


def _row(conn: Connection, plan_id: str) -> Any:
    row = conn.execute(select(project_plans).where(P.id == plan_id)).first()
    if row is None:
        raise NotFound("plan_not_found", f"There is no project plan {plan_id}.")
    return row


def _visible_row(conn: Connection, actor: Actor | None, plan_id: str) -> Any:
    """A plan the caller may see: a public one, or a draft of its own (the operator sees all);
    another's draft answers exactly like a missing plan."""
    row = conn.execute(select(project_plans).where(P.id == plan_id)).first()
    if row is not None and (
        pc.is_public(row.validator_id)
        or (actor is not None and (actor.is_operator() or row.developer_id == actor.participant_id))
    ):
        return row
    raise NotFound("plan_not_found", f"There is no project plan {plan_id} that you can see.")


def _view(conn: Connection, row: Any, *, detail: bool = False) -> Plan:
    project = loads(row.project)
    validation = loads(row.validation) if row.validation else None
    extra: dict[str, Any] = {}
    if detail:
        comments = conn.execute(
            select(plan_comments).where(C.plan_id == row.id).order_by(C.journal_seq)
        ).all()
        extra["comments"] = [from_row(Comment, c) for c in comments]
        extra["documents"] = evidence.list_for(conn, "plan", row.id)
    return Plan(
        id=row.id,
        state=row.state,
        developer_id=row.developer_id,
        scheme=row.scheme,
        methodology_id=row.methodology_id,
        methodology_version=row.methodology_version,
        name=project["name"],
        name_ja=project["name_ja"],
        category=project["category"],
        country=project["country"],
        region=project["region"],
        mechanism=project["mechanism"],
        nature=project["nature"],
        description=row.description,
        expected_tonnes_per_year=row.expected_tonnes_per_year,
        created_at=row.created_at,
        updated_at=row.updated_at,
        journal_seq=row.journal_seq,
        validator_id=row.validator_id,
        comment_until=row.comment_until,
        validation=Validation(**validation) if validation else None,
        reason=row.reason,
        **extra,
    )


def _set(tx: Tx, actor: Actor, plan_id: str, kind: str, **values: Any) -> Plan:
    """Change a plan, journal it as ``cycle.plan_<kind>`` and answer it as it now is."""
    values |= {"updated_at": tx.at, "journal_seq": tx.next_seq()}
    tx.conn.execute(project_plans.update().where(P.id == plan_id).values(**values))
    view = _view(tx.conn, _row(tx.conn, plan_id), detail=True)
    tx.record(f"cycle.plan_{kind}", actor.label, plain(view))
    return view


def _developer(row: Any, actor: Actor, what: str) -> None:
    if row.developer_id != actor.participant_id:
        raise Forbidden("not_plan_developer", f"Only the developer of plan {row.id} may {what}.")


def _participant(actor: Actor, what: str) -> None:
    """A developer or commenter is a participant of the market, not the operator: the
    operator registers plans and may not be a party to its own decisions."""
    if actor.is_operator():
        raise Forbidden(
            "operator_may_not", f"The operator may not {what}: a participant of the market does."
        )


def _check_plan(p: NewPlan) -> None:
    pc.text(p.name, "name", limit=300)
    pc.text(p.description, "description")
    if p.id and not PLAN_ID.fullmatch(p.id):
        raise InvalidInput(
            "invalid_project_id", "A project id is 1 to 16 upper-case letters and digits."
        )
    if not 0 < p.expected_tonnes_per_year <= 10**12:
        raise InvalidInput(
            "invalid_quantity", "expected_tonnes_per_year is a whole number of tonnes above 0."
        )


def _fields(tx: Tx, actor: Actor, p: NewPlan, plan_id: str) -> dict[str, Any]:
    """A plan's stored fields from what its developer wrote, each checked: the methodology in
    force today, a category it applies to, a real country, the project's attributes."""
    conn = tx.conn
    m = meth.methodology(conn, p.methodology_id, p.methodology_version)
    if not m.in_force(_today(tx.at)):
        raise Conflict(
            "methodology_not_in_force",
            f"Methodology {m.id} {m.version} applies from {m.valid_from}"
            + (f" to {m.valid_to}" if m.valid_to else "")
            + f"; not on {_today(tx.at)}.",
        )
    _category(conn, m, p.category)
    if pycountry.countries.get(alpha_2=p.country) is None:
        raise InvalidInput(
            "invalid_country",
            f"{p.country[:8]!r} is not an ISO 3166-1 country code such as JP or VN.",
        )
    name = p.name.strip()
    developer = repo.get_participant(conn, actor.participant_id)
    project = taxonomy.NewProject(
        id=plan_id,
        scheme=m.scheme,
        name=name,
        category=p.category,
        country=p.country,
        mechanism=m.mechanism,
        nature=p.nature,
        name_ja=p.name_ja.strip() or name,
        region=p.region.strip()[:200],
        developer=developer.name_en if developer is not None else actor.participant_id,
        methodology=f"{m.id} {m.version} {m.title_ja}",
        co_benefits=list(p.co_benefits),
    )
    taxonomy.check_project(project)
    taxonomy.check_project_refs(conn, project)
    return {
        "scheme": m.scheme,
        "methodology_id": m.id,
        "methodology_version": m.version,
        "project": dumps(asdict(project)),
        "description": p.description.strip(),
        "expected_tonnes_per_year": p.expected_tonnes_per_year,
    }


def create(db: Database, actor: Actor, p: NewPlan, idem: Idem | None = None) -> Plan:
    """Draft a project plan (any active participant but the operator, as the project's
    developer)."""
    _participant(actor, "draft project plans")
    _check_plan(p)

    def work(tx: Tx) -> Plan:
        conn = tx.conn
        require_active(conn, actor)
        plan_id = p.id or new_id("PJ", 4).replace("-", "")
        fields = _fields(tx, actor, p, plan_id)
        taken = conn.execute(select(P.id).where(P.id == plan_id)).first() is not None
        if taken or repo.get_project(conn, plan_id) is not None:
            raise Conflict("project_exists", f"Project id {plan_id} is taken; choose another.")
        repo.insert_row(
            conn,
            project_plans,
            id=plan_id,
            state=PlanState.DRAFT.value,
            developer_id=actor.participant_id,
            created_at=tx.at,
            updated_at=tx.at,
            journal_seq=tx.next_seq(),
            **fields,
        )
        view = _view(conn, _row(conn, plan_id), detail=True)
        tx.record("cycle.plan_drafted", actor.label, plain(view))
        return view

    return execute(db, actor, idem, work, 201, loader(Plan))


def revise(db: Database, actor: Actor, plan_id: str, p: NewPlan, idem: Idem | None = None) -> Plan:
    """Revise a draft (its developer): every field but the id, checked as a new draft's; a
    submitted plan is what the validation body and the public read, and no longer changes."""
    _check_plan(p)

    def work(tx: Tx) -> Plan:
        conn = tx.conn
        require_active(conn, actor)
        row = _visible_row(conn, actor, plan_id)
        _developer(row, actor, "revise it")
        if row.state != PlanState.DRAFT:
            raise Conflict(
                "invalid_plan_state",
                f"Plan {plan_id} is {row.state}; only a draft is revised.",
            )
        return _set(tx, actor, plan_id, "revised", **_fields(tx, actor, p, plan_id))

    return execute(db, actor, idem, work, 200, loader(Plan))


def _category(conn: Connection, m: Any, code: str) -> None:
    """Refuse a category the methodology does not apply to (its list, else its scheme's)."""
    row = repo.get_by_code(conn, t.categories, code)
    if row is None:
        raise NotFound("category_not_found", f"There is no category {code}.")
    fits = code in m.categories if m.categories else row.scheme in (None, m.scheme)
    if not fits:
        allowed = ", ".join(m.categories) or f"those of scheme {m.scheme}"
        raise InvalidInput(
            "category_not_of_methodology",
            f"Methodology {m.id} {m.version} applies to projects of category {allowed}, "
            f"not {code}.",
        )


def _methodology_of(conn: Connection, row: Any) -> Any:
    return meth.methodology(conn, row.methodology_id, row.methodology_version)


def submit(
    db: Database, actor: Actor, plan_id: str, validator_id: str, idem: Idem | None = None
) -> Plan:
    """Submit a draft for validation by the named body (its developer); where the scheme has
    one, the public comment period opens today."""

    def work(tx: Tx) -> Plan:
        conn = tx.conn
        require_active(conn, actor)
        row = _visible_row(conn, actor, plan_id)
        _developer(row, actor, "submit it")
        pc.check_step(plan_id, row.state, PlanStep.SUBMIT)
        m = _methodology_of(conn, row)
        today = _today(tx.at)
        accreditation.require_accredited(conn, validator_id, m.scheme, m.sector, today)
        if accreditation.same_group(conn, validator_id, row.developer_id):
            raise Forbidden(
                "conflict_of_interest",
                f"{validator_id} is the developer or of its corporate group; it cannot "
                f"validate plan {plan_id}.",
            )
        days = meth.cycle_rules(row.scheme).comment_days
        until = (dt.date.fromisoformat(today) + dt.timedelta(days=days)).isoformat()
        view = _set(
            tx,
            actor,
            plan_id,
            "submitted",
            state=PlanState.SUBMITTED.value,
            validator_id=validator_id,
            comment_until=until if days else None,
        )
        notices.notify(tx, validator_id, "cycle_plan_submitted", plan_id, name=view.name)
        return view

    return execute(db, actor, idem, work, 200, loader(Plan))


def _validator(row: Any, actor: Actor) -> None:
    if row.validator_id != actor.participant_id:
        raise Forbidden(
            "not_plan_validator",
            f"Only the validation body the developer named for plan {row.id} may validate it.",
        )


def start_validation(db: Database, actor: Actor, plan_id: str, idem: Idem | None = None) -> Plan:
    """The named validation body takes the plan up (still accredited for its sector)."""
    require(actor, Role.VERIFICATION_BODY, "validate project plans")

    def work(tx: Tx) -> Plan:
        conn = tx.conn
        require_active(conn, actor)
        row = _visible_row(conn, actor, plan_id)
        _validator(row, actor)
        pc.check_step(plan_id, row.state, PlanStep.START_VALIDATION)
        m = _methodology_of(conn, row)
        accreditation.require_accredited(
            conn, actor.participant_id, m.scheme, m.sector, _today(tx.at)
        )
        return _set(tx, actor, plan_id, "validation_started", state=PlanState.UNDER_VALIDATION)

    return execute(db, actor, idem, work, 200, loader(Plan))


def validate(
    db: Database,
    actor: Actor,
    plan_id: str,
    opinion: str,
    findings: str,
    statement: str,
    idem: Idem | None = None,
) -> Plan:
    """The validation body's opinion (positive or negative, findings, statement), once, after
    the comment period has ended."""
    require(actor, Role.VERIFICATION_BODY, "validate project plans")
    if opinion not in pc.OPINIONS:
        raise InvalidInput("invalid_opinion", "opinion is 'positive' or 'negative'.")
    findings = pc.text(findings, "findings", required=False)
    statement = pc.text(statement, "statement")

    def work(tx: Tx) -> Plan:
        conn = tx.conn
        require_active(conn, actor)
        row = _visible_row(conn, actor, plan_id)
        _validator(row, actor)
        pc.check_step(plan_id, row.state, PlanStep.VALIDATE)
        if row.validation:
            raise Conflict("plan_already_validated", f"Plan {plan_id} has its validation.")
        today = _today(tx.at)
        if row.comment_until is not None and today <= row.comment_until:
            raise Conflict(
                "comment_period_open",
                f"Plan {plan_id}'s public comment period runs to {row.comment_until}; "
                "the validation opinion comes after it.",
            )
        m = _methodology_of(conn, row)
        accreditation.require_accredited(conn, actor.participant_id, m.scheme, m.sector, today)
        opinion_of = Validation(actor.participant_id, opinion, findings, statement, tx.at)
        view = _set(tx, actor, plan_id, "validated", validation=dumps(asdict(opinion_of)))
        notices.notify(
            tx,
            row.developer_id,
            "cycle_plan_validated",
            plan_id,
            opinion=opinion,
            validator=actor.participant_id,
        )
        return view

    return execute(db, actor, idem, work, 200, loader(Plan))


def register(db: Database, actor: Actor, plan_id: str, idem: Idem | None = None) -> Plan:
    """Register a validated plan (registry operator): the project enters the registry with
    the plan's id, its developer named; a negative or missing validation is refused."""
    require(actor, Role.REGISTRY_OPERATOR, "register projects")

    def work(tx: Tx) -> Plan:
        conn = tx.conn
        row = _row(conn, plan_id)
        pc.check_step(plan_id, row.state, PlanStep.REGISTER)
        validation = loads(row.validation) if row.validation else None
        if validation is None or validation["opinion"] != "positive":
            raise Conflict(
                "validation_not_positive",
                f"Plan {plan_id} has "
                + ("no validation opinion yet" if validation is None else "a negative opinion")
                + "; only a positively validated plan is registered.",
            )
        taxonomy.insert_project(tx, actor.label, taxonomy.NewProject(**loads(row.project)))
        conn.execute(
            project_developers.insert().values(
                project_id=plan_id,
                participant_id=row.developer_id,
                named_at=tx.at,
                journal_seq=tx.next_seq(),
            )
        )
        view = _set(tx, actor, plan_id, "registered", state=PlanState.REGISTERED)
        notices.notify(tx, row.developer_id, "cycle_plan_registered", plan_id)
        return view

    return execute(db, actor, idem, work, 200, loader(Plan))


def reject(db: Database, actor: Actor, plan_id: str, reason: str, idem: Idem | None = None) -> Plan:
    """Reject a submitted plan (registry operator), with the reason."""
    require(actor, Role.REGISTRY_OPERATOR, "reject project plans")
    reason = pc.text(reason, "reason")

    def work(tx: Tx) -> Plan:
        row = _row(tx.conn, plan_id)
        pc.check_step(plan_id, row.state, PlanStep.REJECT)
        view = _set(tx, actor, plan_id, "rejected", state=PlanState.REJECTED, reason=reason)
        notices.notify(tx, row.developer_id, "cycle_plan_rejected", plan_id, reason=reason)
        return view

    return execute(db, actor, idem, work, 200, loader(Plan))


def withdraw(
    db: Database, actor: Actor, plan_id: str, reason: str, idem: Idem | None = None
) -> Plan:
    """Withdraw a plan before its registration (its developer), with the reason."""
    reason = pc.text(reason, "reason")

    def work(tx: Tx) -> Plan:
        row = _visible_row(tx.conn, actor, plan_id)
        _developer(row, actor, "withdraw it")
        pc.check_step(plan_id, row.state, PlanStep.WITHDRAW)
        return _set(tx, actor, plan_id, "withdrawn", state=PlanState.WITHDRAWN, reason=reason)

    return execute(db, actor, idem, work, 200, loader(Plan))


def deactivate(
    db: Database, actor: Actor, project_id: str, reason: str, idem: Idem | None = None
) -> Plan:
    """Set a registered project inactive (registry operator): it submits no more monitoring
    reports and issues nothing more; credits issued before stay as they are."""
    require(actor, Role.REGISTRY_OPERATOR, "set projects inactive")
    reason = pc.text(reason, "reason")

    def work(tx: Tx) -> Plan:
        conn = tx.conn
        if conn.execute(select(P.id).where(P.id == project_id)).first() is None:
            if repo.get_project(conn, project_id) is not None:
                raise Conflict(
                    "not_in_cycle",
                    f"Project {project_id} was registered directly, without a plan here; "
                    "it has no cycle to end.",
                )
            raise NotFound("project_not_found", f"There is no project {project_id}.")
        row = _row(conn, project_id)
        pc.check_step(project_id, row.state, PlanStep.DEACTIVATE)
        return _set(tx, actor, project_id, "deactivated", state=PlanState.INACTIVE, reason=reason)

    return execute(db, actor, idem, work, 200, loader(Plan))


def comment(
    db: Database, actor: Actor, plan_id: str, body: str, idem: Idem | None = None
) -> Comment:
    """A public comment on a submitted plan, during its comment period (any active
    participant)."""
    body = pc.text(body, "comment", limit=2000)
    _participant(actor, "comment on project plans")

    def work(tx: Tx) -> Comment:
        conn = tx.conn
        require_active(conn, actor)
        row = _visible_row(conn, actor, plan_id)
        pc.check_step(plan_id, row.state, PlanStep.COMMENT)
        if row.comment_until is None or _today(tx.at) > row.comment_until:
            raise Conflict(
                "comment_period_closed",
                f"Plan {plan_id} "
                + (
                    "has no public comment period under its scheme."
                    if row.comment_until is None
                    else f"took comments until {row.comment_until}."
                ),
            )
        view = Comment(new_id("CM"), plan_id, actor.participant_id, body, tx.at, tx.next_seq())
        conn.execute(plan_comments.insert().values(**plain(view)))
        tx.record("cycle.plan_commented", actor.label, plain(view))
        return view

    return execute(db, actor, idem, work, 201, loader(Comment))


def attach(
    db: Database,
    actor: Actor,
    plan_id: str,
    kind: str,
    file_name: str,
    media_type: str,
    content: bytes,
    idem: Idem | None = None,
) -> evidence.Evidence:
    """Attach a document to a plan (its developer), before its registration."""

    def may(tx: Tx) -> None:
        row = _visible_row(tx.conn, actor, plan_id)
        _developer(row, actor, "attach its documents")
        pc.check_step(plan_id, row.state, PlanStep.ATTACH)

    file = (kind, file_name, media_type, content)
    return evidence.add(db, actor, "plan", plan_id, *file, may, idem)


def party(row: Any, actor: Actor | None) -> bool:
    """Whether the caller is a party to the plan: its developer, its validation body, the
    operator."""
    return actor is not None and (
        actor.is_operator() or actor.participant_id in (row.developer_id, row.validator_id)
    )


def document(
    db: Database, actor: Actor | None, plan_id: str, evidence_id: str
) -> tuple[evidence.Evidence, bytes]:
    """A plan's document: to anyone once the plan is public, to its parties before."""
    with db.read() as conn:
        row = conn.execute(select(project_plans).where(P.id == plan_id)).first()
        if row is None or not (pc.is_public(row.validator_id) or party(row, actor)):
            raise NotFound(
                "evidence_not_found", f"There is no evidence {evidence_id} that you can see."
            )
        return evidence.content_of(conn, "plan", plan_id, evidence_id)


def get(db: Database, actor: Actor | None, plan_id: str) -> Plan:
    """A plan with its comments and documents: public from its submission, a draft to its
    developer and the operator only."""
    with db.read() as conn:
        return _view(conn, _visible_row(conn, actor, plan_id), detail=True)


def plan_of(conn: Connection, project_id: str) -> Any:
    """A project's plan row, or None (a project registered directly)."""
    return conn.execute(select(project_plans).where(P.id == project_id)).first()


def list_plans(
    db: Database,
    *,
    state: str | None = None,
    developer_id: str | None = None,
    validator_id: str | None = None,
    include_drafts: bool = False,
    limit: int = 200,
) -> list[Plan]:
    """Plans, newest step first; drafts only when asked (a developer's own, the operator's)."""
    query = select(project_plans).order_by(P.journal_seq.desc()).limit(limit)
    if state is not None:
        query = query.where(P.state == state)
    if developer_id is not None:
        query = query.where(P.developer_id == developer_id)
    if validator_id is not None:
        query = query.where(P.validator_id == validator_id)
    if not include_drafts:  # nor a draft withdrawn before its submission
        query = query.where(P.validator_id.is_not(None))
    with db.read() as conn:
        return [_view(conn, r) for r in conn.execute(query)]
