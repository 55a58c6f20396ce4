"""The project cycle in the participant portal (issue 23, docs/project-cycle.md), in English and
Japanese:

- ``/portal/projects``: the user's participant's project plans (プロジェクト計画書), drafts
  included, with their states, and a form to draft one under a stored methodology version;
- ``/portal/projects/{plan_id}``: a plan with its documents, validation and comments; for its
  developer: submit it naming an accredited validation body, withdraw it, attach documents and,
  once registered, submit monitoring reports (a form made from the methodology's parameters) and
  see its issuance requests; for its validation body: start validation, give the opinion;
- ``/portal/projects/{plan_id}/reports/{report_id}``: a monitoring report (モニタリング報告書)
  with its parameters, formula, claimed tonnes and evidence; its developer attaches evidence and
  requests issuance (発行申請) of a verified report into one of its holding accounts; its
  verification body sees the figure recomputed and verifies (検証) it;
- ``/portal/projects/verifications``: a verification body's work: plans to validate (妥当性確認),
  reports to verify (the operator's users may read it).

Acting as a developer needs the ``manage`` scope (an administrator user), as the API does;
acting as a body needs the ``verification_body`` role and the ``verify`` scope. A draft is its
developer's own and another's answers like a missing plan; the services decide every step and
refuse what the actor may not do, and a refusal is shown next to its form with the service's
words and the HTTP status of the one table.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from tanso.domain import methodologies as md
from tanso.domain.errors import InvalidInput, NotFound, TansoError
from tanso.domain.participants import Role, Scope
from tanso.domain.project_cycle import PlanState, ReportState
from tanso.domain.removals import buffer_share
from tanso.http_status import status_of
from tanso.services.access.users import PortalUser
from tanso.services.cycle import accreditation, evidence, issuance_requests, monitoring, plans
from tanso.services.cycle import methodologies as meth
from tanso.services.ledger import taxonomy
from tanso.web import kit
from tanso.web.i18n import texts
from tanso.web.kit import CurrentUser, Form, Upload
from tanso.web.portal.disputes import FileName

router = APIRouter(prefix="/portal/projects", route_class=kit.ScreenRoute, include_in_schema=False)

BASE = "/portal/projects"
MEDIA_OF_SUFFIX = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "tif": "image/tiff",
    "tiff": "image/tiff",
    "txt": "text/plain",
    "csv": "text/csv",
    "json": "application/json",
    "geojson": "application/geo+json",
}
SERIES_SEPARATORS = re.compile(r"[\s,;]+")
PLAN_FIELDS = (
    "id",
    "name",
    "name_ja",
    "category",
    "country",
    "region",
    "nature",
    "methodology",
    "description",
    "expected_tonnes_per_year",
)
FIELD_OF_CODE = {
    "invalid_project_id": "id",
    "project_exists": "id",
    "invalid_name": "name",
    "name_required": "name",
    "category_not_found": "category",
    "invalid_country": "country",
    "invalid_nature": "nature",
    "methodology_not_found": "methodology",
    "methodology_not_in_force": "methodology",
    "description_required": "description",
    "invalid_quantity": "expected_tonnes_per_year",
}


# ---------------------------------------------------------------- who may act


def develops(request: Request, user: CurrentUser) -> PortalUser:
    """The logged-in user, if it may act as its participant's project developer: the
    ``manage`` scope (an administrator user), as the API asks (else 403)."""
    if not user.actor.may(Scope.MANAGE):
        raise kit.Refused(kit.forbidden(request, user, "no_permission"))
    return user


def may_verify(user: PortalUser) -> bool:
    return user.actor.has(Role.VERIFICATION_BODY) and user.actor.may(Scope.VERIFY)


def verifies(request: Request, user: CurrentUser) -> PortalUser:
    """The logged-in user, if it acts for a verification body with the ``verify`` scope."""
    if not may_verify(user):
        raise kit.Refused(kit.forbidden(request, user, "no_permission"))
    return user


def reads_work(request: Request, user: CurrentUser) -> PortalUser:
    """The logged-in user, if it acts for a verification body or the operator (else 403)."""
    if not (user.actor.has(Role.VERIFICATION_BODY) or user.is_operator):
        raise kit.Refused(kit.forbidden(request, user, "no_permission"))
    return user


Developer = Annotated[PortalUser, Depends(develops)]
Body = Annotated[PortalUser, Depends(verifies)]
WorkReader = Annotated[PortalUser, Depends(reads_work)]


# ---------------------------------------------------------------- shared parts


def cycle_texts(request: Request) -> Mapping[str, str]:
    """The texts of the project cycle's screens (context ``cycle``)."""
    return texts(kit.lang_of(request), "cycle")


def today(request: Request) -> str:
    """The business date (the clock's day, as the services take it)."""
    return kit.db(request).clock()[:10]


def methodology_view(request: Request, mid: str, version: str) -> meth.MethodologyView | None:
    found = meth.list_methodologies(kit.db(request), mid=mid)
    return next((m for m in found if m.version == version), None)


def recomputed(m: meth.MethodologyView, parameters: Mapping[str, Any]) -> int | None:
    """A report's tonnes recomputed here from its parameters by its methodology's formula."""
    try:
        return md.tonnes(md.from_data(asdict(m)), parameters)
    except InvalidInput:
        return None


def accredited_bodies(request: Request, scheme: str, sector: str, *, but: str = "") -> list[str]:
    """The bodies with an accreditation in force today for the scheme and sector (the service
    checks again, with the conflicts of interest)."""
    on = today(request)
    found = {
        a.participant_id
        for a in accreditation.list_accreditations(kit.db(request))
        if a.scheme == scheme
        and a.sector == sector
        and a.revoked_at is None
        and a.valid_from <= on
        and (a.valid_to is None or on <= a.valid_to)
        and a.participant_id != but
    }
    return sorted(found)


def media_of(name: str) -> str:
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return MEDIA_OF_SUFFIX.get(suffix, "application/octet-stream")


def series_of(text: str) -> list[str]:
    """A measurement series typed as numbers one a line, or separated by commas."""
    return [x for x in SERIES_SEPARATORS.split(text.strip()) if x]


def download(found: tuple[evidence.Evidence, bytes]) -> Response:
    """An evidence file, as an attachment under its own name."""
    ev, content = found
    return kit.evidence_file(ev.id, ev.file_name, ev.media_type, ev.sha256, content)


# ---------------------------------------------------------------- my plans


def _list_page(request: Request, user: PortalUser, status: int = 200, **context: Any) -> Response:
    db = kit.db(request)
    on = today(request)
    return kit.page(
        request,
        "portal_cycle.html",
        user,
        status,
        c=cycle_texts(request),
        plans=plans.list_plans(db, developer_id=user.participant_id, include_drafts=True),
        methodologies=[
            m
            for m in meth.list_methodologies(db)
            if m.valid_from <= on and (m.valid_to is None or on <= m.valid_to)
        ],
        categories=taxonomy.list_categories(db),
        may_develop=user.actor.may(Scope.MANAGE),
        body=user.actor.has(Role.VERIFICATION_BODY) or user.is_operator,
        **context,
    )


@router.get("", response_class=HTMLResponse)
def list_screen(request: Request, user: CurrentUser) -> Response:
    """The participant's plans (drafts too) and the form to draft one."""
    return _list_page(request, user)


def _plan_of_form(
    request: Request, form: Mapping[str, str]
) -> tuple[dict[str, str], dict[str, str], plans.NewPlan | None]:
    """A plan's fields from the form (the methodology as ``ID|VERSION``): the values as typed,
    the errors of missing or malformed ones, and the plan when there are none."""
    t = kit.labels(request)
    values = {k: form.get(k, "").strip() for k in PLAN_FIELDS}
    values["description"] = form.get("description", "")
    errors = {
        k: t["required"]
        for k in ("name", "category", "country", "methodology", "description")
        if not values[k].strip()
    }
    expected = kit.required_int(values, "expected_tonnes_per_year", t, errors)
    mid, _, version = values["methodology"].partition("|")
    if errors:
        return values, errors | {"_form": t["error"]}, None
    new = plans.NewPlan(
        name=values["name"],
        category=values["category"],
        country=values["country"].upper(),
        methodology_id=mid,
        methodology_version=version,
        description=values["description"],
        expected_tonnes_per_year=expected,
        id=values["id"].upper(),
        name_ja=values["name_ja"],
        region=values["region"],
        nature=values["nature"] or "technology",
    )
    return values, {}, new


@router.post("")
def draft(request: Request, user: Developer, form: Form) -> Response:
    """Draft a plan."""
    values, errors, new = _plan_of_form(request, form)
    if new is None:
        return _list_page(request, user, 422, values=values, errors=errors)
    try:
        out = plans.create(kit.db(request), user.actor, new)
    except TansoError as e:
        where = FIELD_OF_CODE.get(e.code, "_form")
        return _list_page(request, user, status_of(e), values=values, errors={where: e.message})
    return _plan_page(
        request, user, out.id, notice=cycle_texts(request)["drafted"].format(id=out.id)
    )


@router.post("/{plan_id}/revise")
def revise(request: Request, user: Developer, plan_id: str, form: Form) -> Response:
    """Revise a draft: every field but its id."""
    values, errors, new = _plan_of_form(request, form)
    if new is None:
        return _plan_page(request, user, plan_id, 422, values=values, errors=errors)
    try:
        out = plans.revise(kit.db(request), user.actor, plan_id, replace(new, id=""))
    except NotFound:
        return kit.not_found(request, user)
    except TansoError as e:
        where = FIELD_OF_CODE.get(e.code, "_form")
        return _plan_page(
            request, user, plan_id, status_of(e), values=values, errors={where: e.message}
        )
    return _plan_page(
        request, user, out.id, notice=cycle_texts(request)["revised"].format(id=out.id)
    )


# ---------------------------------------------------------------- a verification body's work


@router.get("/verifications", response_class=HTMLResponse)
def work_screen(request: Request, user: WorkReader) -> Response:
    """Plans the body is named to validate and reports it is named to verify (the operator's
    users: every body's)."""
    db = kit.db(request)
    mine = None if user.is_operator else user.participant_id
    open_states = (PlanState.SUBMITTED, PlanState.UNDER_VALIDATION)
    named = plans.list_plans(db, validator_id=mine)
    reports = monitoring.list_reports(db, user.actor, verifier_id=mine)
    return kit.page(
        request,
        "portal_cycle_work.html",
        user,
        c=cycle_texts(request),
        plans=[p for p in named if p.state in open_states and p.validation is None],
        reports=[r for r in reports if r.state == ReportState.SUBMITTED],
        validated=[p for p in named if p.validation is not None],
        verified=[r for r in reports if r.verification is not None],
        may_verify=may_verify(user),
    )


# ---------------------------------------------------------------- a plan


def _plan_page(
    request: Request, user: PortalUser, plan_id: str, status: int = 200, **context: Any
) -> Response:
    db = kit.db(request)
    try:
        x = plans.get(db, user.actor, plan_id)
    except NotFound:
        return kit.not_found(request, user)
    m = methodology_view(request, x.methodology_id, x.methodology_version)
    developer = x.developer_id == user.participant_id and user.actor.may(Scope.MANAGE)
    validator = x.validator_id == user.participant_id and may_verify(user)
    registered = x.state in (PlanState.REGISTERED, PlanState.INACTIVE)
    bodies: list[str] = []
    if developer and m is not None and x.state in (PlanState.DRAFT, PlanState.REGISTERED):
        bodies = accredited_bodies(request, m.scheme, m.sector, but=x.developer_id)
    revising: dict[str, Any] = {}
    if developer and x.state == PlanState.DRAFT:
        on = today(request)
        revising = {
            "methodologies": [
                v
                for v in meth.list_methodologies(db)
                if v.valid_from <= on and (v.valid_to is None or on <= v.valid_to)
            ],
            "categories": taxonomy.list_categories(db),
        }
        context.setdefault(
            "values",
            {
                "methodology": f"{x.methodology_id}|{x.methodology_version}",
                "name": x.name,
                "name_ja": x.name_ja,
                "region": x.region,
                "category": x.category,
                "country": x.country,
                "nature": x.nature,
                "expected_tonnes_per_year": str(x.expected_tonnes_per_year),
                "description": x.description,
            },
        )
    return kit.page(
        request,
        "portal_cycle_plan.html",
        user,
        status,
        c=cycle_texts(request),
        x=x,
        m=m,
        **revising,
        developer=developer,
        validator=validator,
        may_manage=user.actor.may(Scope.MANAGE),
        bodies=bodies,
        reports=monitoring.list_reports(db, user.actor, project_id=plan_id) if registered else [],
        requests=issuance_requests.list_requests(db, kit.reader(user), project_id=plan_id)
        if registered
        else [],
        kinds=evidence.EVIDENCE_KINDS,
        base=f"{BASE}/{plan_id}",
        **context,
    )


@router.get("/{plan_id}", response_class=HTMLResponse)
def plan_screen(request: Request, user: CurrentUser, plan_id: str) -> Response:
    return _plan_page(request, user, plan_id)


def _act(
    request: Request,
    user: PortalUser,
    plan_id: str,
    which: str,
    call: Callable[[], Any],
    done: str,
    values: Mapping[str, str] | None = None,
) -> Response:
    """Take one step of a plan and show the plan again: with the notice ``done``, or with the
    service's refusal next to the form ``which``."""
    try:
        out = call()
    except TansoError as e:
        if isinstance(e, NotFound) and e.code == "plan_not_found":
            return kit.not_found(request, user)
        return _plan_page(
            request, user, plan_id, status_of(e), errors={which: e.message}, values=values or {}
        )
    notice = cycle_texts(request)[done].format(id=getattr(out, "id", plan_id))
    return _plan_page(request, user, plan_id, notice=notice)


@router.post("/{plan_id}/submit")
def submit(request: Request, user: Developer, plan_id: str, form: Form) -> Response:
    validator = form.get("validator_id", "").strip()[:40]
    db = kit.db(request)
    return _act(
        request,
        user,
        plan_id,
        "submit",
        lambda: plans.submit(db, user.actor, plan_id, validator),
        "submitted",
    )


@router.post("/{plan_id}/withdraw")
def withdraw(request: Request, user: Developer, plan_id: str, form: Form) -> Response:
    reason = form.get("reason", "")
    db = kit.db(request)
    return _act(
        request,
        user,
        plan_id,
        "withdraw",
        lambda: plans.withdraw(db, user.actor, plan_id, reason),
        "withdrawn",
    )


@router.post("/{plan_id}/comments")
def comment(request: Request, user: Developer, plan_id: str, form: Form) -> Response:
    text = form.get("comment", "")
    db = kit.db(request)
    return _act(
        request,
        user,
        plan_id,
        "comment",
        lambda: plans.comment(db, user.actor, plan_id, text),
        "commented",
    )


@router.post("/{plan_id}/evidence")
def attach_document(
    request: Request,
    user: Developer,
    plan_id: str,
    form: Form,
    upload: Upload,
    file_name: FileName,
) -> Response:
    """Attach the chosen file (multipart, part ``file``; its type from its name's suffix)."""
    name, kind = file_name.strip(), form.get("kind", "document")
    db = kit.db(request)
    return _act(
        request,
        user,
        plan_id,
        "attach",
        lambda: plans.attach(db, user.actor, plan_id, kind, name, media_of(name), upload or b""),
        "attached",
    )


@router.get("/{plan_id}/evidence/{evidence_id}")
def document(request: Request, user: CurrentUser, plan_id: str, evidence_id: str) -> Response:
    """A plan's document: to anyone once the plan is public, to its parties before."""
    try:
        return download(plans.document(kit.db(request), user.actor, plan_id, evidence_id))
    except NotFound:
        return kit.not_found(request, user)


@router.post("/{plan_id}/start-validation")
def start_validation(request: Request, user: Body, plan_id: str, form: Form) -> Response:
    db = kit.db(request)
    return _act(
        request,
        user,
        plan_id,
        "validation",
        lambda: plans.start_validation(db, user.actor, plan_id),
        "validation_started",
    )


@router.post("/{plan_id}/validation")
def validate(request: Request, user: Body, plan_id: str, form: Form) -> Response:
    opinion, findings, statement = (form.get(k, "") for k in ("opinion", "findings", "statement"))
    db = kit.db(request)
    return _act(
        request,
        user,
        plan_id,
        "validation",
        lambda: plans.validate(db, user.actor, plan_id, opinion, findings, statement),
        "validated",
        values=form,
    )


@router.post("/{plan_id}/reports")
def submit_report(request: Request, user: Developer, plan_id: str, form: Form) -> Response:
    """Submit a monitoring report: a field per value, a list of numbers per series."""
    try:
        x = plans.get(kit.db(request), user.actor, plan_id)
    except NotFound:
        return kit.not_found(request, user)
    m = methodology_view(request, x.methodology_id, x.methodology_version)
    parameters: dict[str, Any] = {}
    for p in m.parameters if m is not None else []:
        given = form.get(f"p_{p.name}", "")
        parameters[p.name] = series_of(given) if p.kind == "series" else given.strip()
    new = monitoring.NewReport(
        period_start=form.get("period_start", "").strip(),
        period_end=form.get("period_end", "").strip(),
        verifier_id=form.get("verifier_id", "").strip()[:40],
        parameters=parameters,
    )
    db = kit.db(request)
    try:
        out = monitoring.submit(db, user.actor, plan_id, new)
    except TansoError as e:
        return _plan_page(
            request, user, plan_id, status_of(e), errors={"report": e.message}, values=form
        )
    notice = cycle_texts(request)["reported"].format(
        number=out.number, tonnes=f"{out.claimed_tonnes:,}"
    )
    return _report_page(request, user, plan_id, out.id, notice=notice)


# ---------------------------------------------------------------- a monitoring report


def _report_page(
    request: Request,
    user: PortalUser,
    plan_id: str,
    report_id: str,
    status: int = 200,
    **context: Any,
) -> Response:
    db = kit.db(request)
    try:
        x = plans.get(db, user.actor, plan_id)
        r = monitoring.get(db, user.actor, report_id)
    except NotFound:
        return kit.not_found(request, user)
    if r.project_id != x.id:
        return kit.not_found(request, user)
    m = methodology_view(request, r.methodology_id, r.methodology_version)
    developer = r.developer_id == user.participant_id and user.actor.may(Scope.MANAGE)
    verifier = r.verifier_id == user.participant_id and may_verify(user)
    mine = issuance_requests.list_requests(db, kit.reader(user), project_id=plan_id)
    request_of = next((q for q in mine if q.report_id == r.id), None)
    verified = r.verification.verified_tonnes if r.verification is not None else 0
    rate = m.buffer_rate_bp if m is not None else 0
    return kit.page(
        request,
        "portal_cycle_report.html",
        user,
        status,
        c=cycle_texts(request),
        x=x,
        r=r,
        m=m,
        recomputed=recomputed(m, r.parameters) if m is not None else None,
        developer=developer,
        verifier=verifier,
        request_of=request_of,
        buffer_rate_bp=rate,
        buffer_tonnes=buffer_share(verified, rate) if verified else 0,
        accounts=kit.own_accounts(db, user) if developer else [],
        kinds=evidence.EVIDENCE_KINDS,
        base=f"{BASE}/{plan_id}/reports/{report_id}",
        **context,
    )


@router.get("/{plan_id}/reports/{report_id}", response_class=HTMLResponse)
def report_screen(request: Request, user: CurrentUser, plan_id: str, report_id: str) -> Response:
    return _report_page(request, user, plan_id, report_id)


def _report_act(
    request: Request,
    user: PortalUser,
    plan_id: str,
    report_id: str,
    which: str,
    call: Callable[[], Any],
    done: Callable[[Any], str],
    values: Mapping[str, str] | None = None,
) -> Response:
    try:
        out = call()
    except TansoError as e:
        if isinstance(e, NotFound) and e.code == "report_not_found":
            return kit.not_found(request, user)
        return _report_page(
            request,
            user,
            plan_id,
            report_id,
            status_of(e),
            errors={which: e.message},
            values=values or {},
        )
    return _report_page(request, user, plan_id, report_id, notice=done(out))


def _same_project(request: Request, user: PortalUser, plan_id: str, report_id: str) -> bool:
    try:
        return monitoring.get(kit.db(request), user.actor, report_id).project_id == plan_id
    except NotFound:
        return False


@router.post("/{plan_id}/reports/{report_id}/evidence")
def attach_evidence(
    request: Request,
    user: Developer,
    plan_id: str,
    report_id: str,
    form: Form,
    upload: Upload,
    file_name: FileName,
) -> Response:
    if not _same_project(request, user, plan_id, report_id):
        return kit.not_found(request, user)
    name, kind = file_name.strip(), form.get("kind", "document")
    db = kit.db(request)
    c = cycle_texts(request)
    return _report_act(
        request,
        user,
        plan_id,
        report_id,
        "attach",
        lambda: monitoring.attach(
            db, user.actor, report_id, kind, name, media_of(name), upload or b""
        ),
        lambda out: c["attached"].format(id=out.id),
    )


@router.get("/{plan_id}/reports/{report_id}/evidence/{evidence_id}")
def report_file(
    request: Request, user: CurrentUser, plan_id: str, report_id: str, evidence_id: str
) -> Response:
    """A report's evidence: to anyone once verified, to its parties before."""
    if not _same_project(request, user, plan_id, report_id):
        return kit.not_found(request, user)
    try:
        return download(monitoring.file(kit.db(request), user.actor, report_id, evidence_id))
    except NotFound:
        return kit.not_found(request, user)


def _corrected(
    request: Request, user: PortalUser, report_id: str, form: Mapping[str, str]
) -> dict[str, Any]:
    """The parameters as the body corrected them in the form (``v_<name>``), read by the
    report's methodology as a report's are: a series a number a line or comma-separated."""
    r = monitoring.get(kit.db(request), user.actor, report_id)
    m = methodology_view(request, r.methodology_id, r.methodology_version)
    out: dict[str, Any] = {}
    for p in m.parameters if m is not None else []:
        given = form.get(f"v_{p.name}", "")
        out[p.name] = series_of(given) if p.kind == "series" else given.strip()
    return out


@router.post("/{plan_id}/reports/{report_id}/verification")
def verify(request: Request, user: Body, plan_id: str, report_id: str, form: Form) -> Response:
    """Verify the report: tonnes no more than claimed, findings, a statement."""
    if not _same_project(request, user, plan_id, report_id):
        return kit.not_found(request, user)
    t = kit.labels(request)
    errors: dict[str, str] = {}
    tonnes = kit.required_int(form, "verified_tonnes", t, errors)
    if errors:
        return _report_page(
            request,
            user,
            plan_id,
            report_id,
            422,
            errors={"verify": t["whole_number"]},
            values=form,
        )
    db = kit.db(request)
    c = cycle_texts(request)
    corrected = _corrected(request, user, report_id, form) if form.get("correct") else None
    return _report_act(
        request,
        user,
        plan_id,
        report_id,
        "verify",
        lambda: monitoring.verify(
            db,
            user.actor,
            report_id,
            tonnes,
            form.get("findings", ""),
            form.get("statement", ""),
            None,
            corrected,
        ),
        lambda out: c["verified"].format(tonnes=f"{tonnes:,}"),
        values=form,
    )


@router.post("/{plan_id}/reports/{report_id}/request")
def request_issuance(
    request: Request, user: Developer, plan_id: str, report_id: str, form: Form
) -> Response:
    """Ask for the verified report's credits into one of the participant's holding accounts."""
    if not _same_project(request, user, plan_id, report_id):
        return kit.not_found(request, user)
    account = form.get("account", "").strip()[:64]
    db = kit.db(request)
    c = cycle_texts(request)
    return _report_act(
        request,
        user,
        plan_id,
        report_id,
        "request",
        lambda: issuance_requests.request(db, user.actor, report_id, account),
        lambda out: c["requested"].format(id=out.id, quantity=f"{out.quantity:,}"),
        values=form,
    )
