"""The project cycle (issue 23, docs/project-cycle.md): methodologies, accreditations, project
plans from draft to registration, monitoring reports, their verification, and issuance
requests. Each step names the scope of the role that takes it: the developer ``manage``, the
validation or verification body ``verify``, the registry operator ``operate``; what is public
(methodologies, accreditations, submitted plans, verified reports and their evidence) needs no
key, and a party's key shows it what is not public yet."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import Field

from tanso.api.deps import (
    DB,
    AnswerRoute,
    CanManage,
    CanOperate,
    CanRead,
    CanVerify,
    IdemKey,
    MaybeCaller,
)
from tanso.api.schemas import Body, answer, many
from tanso.services.cycle import accreditation, evidence, issuance_requests, monitoring, plans
from tanso.services.cycle import methodologies as meth
from tanso.web import kit

router = APIRouter(prefix="/v1", tags=["project cycle"], route_class=AnswerRoute)

Code = Annotated[str, Path(min_length=1, max_length=40)]
PlanId = Annotated[str, Path(min_length=1, max_length=16, description="A plan's (project's) id.")]
ReportId = Annotated[str, Path(min_length=1, max_length=40, description="A report's id.")]
RequestId = Annotated[str, Path(min_length=1, max_length=40)]
EvidenceId = Annotated[str, Path(min_length=1, max_length=40)]
PlanStateName = Literal[
    "draft", "submitted", "under_validation", "registered", "rejected", "withdrawn", "inactive"
]
EvidenceKind = Literal["document", "sensor_data", "satellite_data", "measurement"]

MethodologyOut = answer(meth.MethodologyView, "Methodology")
AccreditationOut = answer(accreditation.Accreditation)
CommentOut = answer(plans.Comment, "PlanComment")
EvidenceOut = answer(evidence.Evidence, "CycleEvidence")
answer(plans.Validation, "PlanValidation")
answer(monitoring.Verification, "ReportVerification")
PlanOut = answer(plans.Plan, "ProjectPlan")
ReportOut = answer(monitoring.Report, "MonitoringReport")
RequestOut = answer(issuance_requests.IssuanceRequest)
Text = Field(min_length=1, max_length=5000)
DateText = Annotated[str, Field(min_length=10, max_length=10, description="A date: 2026-04-01.")]


class ParameterIn(Body):
    name: str = Field(min_length=1, max_length=60)
    kind: Literal["value", "series"]
    unit: str = Field(default="", max_length=40)
    label_en: str = Field(min_length=1, max_length=200)
    label_ja: str = Field(default="", max_length=200)


class MethodologyIn(Body):
    id: str = Field(min_length=1, max_length=40)
    version: str = Field(min_length=1, max_length=16)
    scheme: str = Field(min_length=1, max_length=8)
    sector: str = Field(min_length=1, max_length=24)
    mechanism: Literal["reduction", "removal"]
    credit_type: str = Field(min_length=1, max_length=4)
    title_en: str = Field(min_length=1, max_length=300)
    title_ja: str = Field(default="", max_length=300)
    valid_from: DateText
    valid_to: DateText | None = None
    parameters: list[ParameterIn] = Field(min_length=1, max_length=40)
    formula: str = Field(min_length=1, max_length=1000)
    buffer_rate_bp: int = Field(default=0, ge=0, le=10_000)
    source: str = Field(default="", max_length=1000)
    categories: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="The project categories it applies to (empty: any of its scheme's).",
    )


class AccreditationIn(Body):
    participant_id: str = Field(min_length=1, max_length=40)
    scheme: str = Field(min_length=1, max_length=16, description="JC, VCS, ... or FOOTPRINT.")
    sector: str = Field(min_length=1, max_length=24, description="forestry, energy, lng_cargo ...")
    valid_from: DateText
    valid_to: DateText | None = None


class ReasonIn(Body):
    reason: str = Field(min_length=1, max_length=5000)


class PlanRevisionIn(Body):
    name: str = Field(min_length=1, max_length=300)
    name_ja: str = Field(default="", max_length=300)
    category: str = Field(min_length=1, max_length=40)
    country: str = Field(min_length=2, max_length=2)
    region: str = Field(default="", max_length=200)
    nature: Literal["nature", "technology"] = "technology"
    co_benefits: list[str] = Field(default_factory=list, max_length=20)
    methodology_id: str = Field(min_length=1, max_length=40)
    methodology_version: str = Field(min_length=1, max_length=16)
    description: str = Text
    expected_tonnes_per_year: int = Field(ge=1, le=10**12)


class PlanIn(PlanRevisionIn):
    id: str = Field(default="", max_length=16, description="A proposed project id (A-Z, 0-9).")


class SubmitIn(Body):
    validator_id: str = Field(min_length=1, max_length=40, description="The validation body.")


class ValidationIn(Body):
    opinion: Literal["positive", "negative"]
    findings: str = Field(default="", max_length=5000)
    statement: str = Text


class CommentIn(Body):
    body: str = Field(min_length=1, max_length=2000)


class EvidenceIn(Body):
    kind: EvidenceKind = "document"
    file_name: str = Field(min_length=1, max_length=200)
    media_type: str = Field(min_length=1, max_length=100)
    content_base64: str = Field(min_length=1, max_length=4_100_000)


class ReportIn(Body):
    period_start: DateText
    period_end: DateText
    verifier_id: str = Field(min_length=1, max_length=40)
    parameters: dict[str, str | list[str]] = Field(
        description="Each parameter of the methodology: a decimal string, or a list of them "
        "for a measurement series."
    )


class VerificationIn(Body):
    verified_tonnes: int = Field(ge=0, le=10**12)
    findings: str = Field(default="", max_length=5000)
    statement: str = Text
    parameters: dict[str, str | list[str]] | None = Field(
        default=None,
        description="The parameters as the body corrected them, where it did: the verified "
        "tonnes must then be what the methodology's formula makes of them.",
    )


class RequestIn(Body):
    report_id: str = Field(min_length=1, max_length=40)
    account_id: str = Field(min_length=1, max_length=40)
    quantity: int | None = Field(
        default=None, ge=1, le=10**12, description="If given: verified less the buffer share."
    )


def _file(found: tuple[evidence.Evidence, bytes]) -> Response:
    ev, content = found
    return kit.evidence_file(ev.id, ev.file_name, ev.media_type, ev.sha256, content)


FILE: dict[int | str, dict[str, Any]] = {200: {"content": {"application/octet-stream": {}}}}

# ---------------------------------------------------------------- methodologies, accreditations


@router.get("/methodologies", response_model=many(MethodologyOut), tags=["public"])
def list_methodologies(
    db: DB, scheme: Annotated[str | None, Query(max_length=8)] = None
) -> list[meth.MethodologyView]:
    """Every methodology version: its parameters, formula and buffer rate (public)."""
    return meth.list_methodologies(db, scheme)


@router.get("/methodologies/{methodology_id}", response_model=many(MethodologyOut), tags=["public"])
def methodology_versions(methodology_id: Code, db: DB) -> list[meth.MethodologyView]:
    """A methodology's versions (public)."""
    return meth.versions(db, methodology_id)


@router.post("/methodologies", response_model=MethodologyOut, status_code=201)
def add_methodology(
    body: MethodologyIn, db: DB, actor: CanOperate, idem: IdemKey
) -> meth.MethodologyView:
    """Add a methodology version; its formula is checked by evaluating it (registry
    operator). A stored version never changes."""
    return meth.add(db, actor, body.model_dump(), idem)


@router.get("/accreditations", response_model=many(AccreditationOut), tags=["public"])
def list_accreditations(
    db: DB, participant_id: Annotated[str | None, Query(max_length=40)] = None
) -> list[accreditation.Accreditation]:
    """Who may validate and verify what: every accreditation, revoked ones marked (public)."""
    return accreditation.list_accreditations(db, participant_id)


@router.post("/accreditations", response_model=AccreditationOut, status_code=201)
def grant_accreditation(
    body: AccreditationIn, db: DB, actor: CanOperate, idem: IdemKey
) -> accreditation.Accreditation:
    """Accredit a verification body for a scheme and sector (registry operator)."""
    return accreditation.grant(
        db,
        actor,
        body.participant_id,
        body.scheme,
        body.sector,
        body.valid_from,
        body.valid_to,
        idem,
    )


@router.post("/accreditations/{accreditation_id}/revoke", response_model=AccreditationOut)
def revoke_accreditation(
    accreditation_id: Code, body: ReasonIn, db: DB, actor: CanOperate, idem: IdemKey
) -> accreditation.Accreditation:
    """Revoke an accreditation with the reason (registry operator)."""
    return accreditation.revoke(db, actor, accreditation_id, body.reason, idem)


# ---------------------------------------------------------------- plans


@router.post("/project-plans", response_model=PlanOut, status_code=201)
def draft_plan(body: PlanIn, db: DB, actor: CanManage, idem: IdemKey) -> plans.Plan:
    """Draft a project plan (プロジェクト計画書) as the project's developer."""
    return plans.create(db, actor, plans.NewPlan(**body.model_dump()), idem)


@router.put("/project-plans/{plan_id}", response_model=PlanOut)
def revise_plan(
    plan_id: PlanId, body: PlanRevisionIn, db: DB, actor: CanManage, idem: IdemKey
) -> plans.Plan:
    """Revise a draft: every field but its id (its developer); a submitted plan no longer
    changes."""
    return plans.revise(db, actor, plan_id, plans.NewPlan(**body.model_dump()), idem)


@router.get("/project-plans", response_model=many(PlanOut), tags=["public"])
def list_plans(
    db: DB,
    actor: MaybeCaller,
    state: PlanStateName | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[plans.Plan]:
    """Plans from their submission on, newest step first (public); with a key, one's own
    drafts too (the operator's: every draft)."""
    if state == "draft" and actor is None:
        return []
    found = plans.list_plans(db, state=state, include_drafts=actor is not None, limit=limit)
    return [p for p in found if p.validator_id is not None or _own_draft(p, actor)]


def _own_draft(p: plans.Plan, actor: Any) -> bool:
    return actor is not None and (actor.is_operator() or p.developer_id == actor.participant_id)


@router.get("/project-plans/{plan_id}", response_model=PlanOut, tags=["public"])
def get_plan(plan_id: PlanId, db: DB, actor: MaybeCaller) -> plans.Plan:
    """A plan with its comments, documents and validation: public from its submission; a
    draft to its developer and the operator."""
    return plans.get(db, actor, plan_id)


@router.post("/project-plans/{plan_id}/submit", response_model=PlanOut)
def submit_plan(
    plan_id: PlanId, body: SubmitIn, db: DB, actor: CanManage, idem: IdemKey
) -> plans.Plan:
    """Submit a draft for validation by an accredited body (its developer); a public comment
    period opens where the scheme has one."""
    return plans.submit(db, actor, plan_id, body.validator_id, idem)


@router.post("/project-plans/{plan_id}/start-validation", response_model=PlanOut)
def start_validation(plan_id: PlanId, db: DB, actor: CanVerify, idem: IdemKey) -> plans.Plan:
    """Take a submitted plan up for validation (the validation body named)."""
    return plans.start_validation(db, actor, plan_id, idem)


@router.post("/project-plans/{plan_id}/validation", response_model=PlanOut)
def validate_plan(
    plan_id: PlanId, body: ValidationIn, db: DB, actor: CanVerify, idem: IdemKey
) -> plans.Plan:
    """The validation opinion (妥当性確認), once, after the comment period (the body named)."""
    return plans.validate(db, actor, plan_id, body.opinion, body.findings, body.statement, idem)


@router.post("/project-plans/{plan_id}/register", response_model=PlanOut)
def register_plan(plan_id: PlanId, db: DB, actor: CanOperate, idem: IdemKey) -> plans.Plan:
    """Register a positively validated plan: the project enters the registry (operator)."""
    return plans.register(db, actor, plan_id, idem)


@router.post("/project-plans/{plan_id}/reject", response_model=PlanOut)
def reject_plan(
    plan_id: PlanId, body: ReasonIn, db: DB, actor: CanOperate, idem: IdemKey
) -> plans.Plan:
    """Reject a submitted plan with the reason (registry operator)."""
    return plans.reject(db, actor, plan_id, body.reason, idem)


@router.post("/project-plans/{plan_id}/withdraw", response_model=PlanOut)
def withdraw_plan(
    plan_id: PlanId, body: ReasonIn, db: DB, actor: CanManage, idem: IdemKey
) -> plans.Plan:
    """Withdraw a plan before its registration (its developer)."""
    return plans.withdraw(db, actor, plan_id, body.reason, idem)


@router.post("/project-plans/{plan_id}/comments", response_model=CommentOut, status_code=201)
def comment_plan(
    plan_id: PlanId, body: CommentIn, db: DB, actor: CanManage, idem: IdemKey
) -> plans.Comment:
    """A public comment on a plan during its comment period."""
    return plans.comment(db, actor, plan_id, body.body, idem)


@router.post("/project-plans/{plan_id}/evidence", response_model=EvidenceOut, status_code=201)
def attach_plan_document(
    plan_id: PlanId, body: EvidenceIn, db: DB, actor: CanManage, idem: IdemKey
) -> evidence.Evidence:
    """Attach a document to a plan before its registration (its developer; base64 in JSON; at
    most 3,000,000 bytes). Public once the plan is submitted."""
    content = evidence.decode_base64(body.content_base64)
    return plans.attach(
        db, actor, plan_id, body.kind, body.file_name, body.media_type, content, idem
    )


@router.get(
    "/project-plans/{plan_id}/evidence/{evidence_id}",
    response_class=Response,
    responses=FILE,
    tags=["public"],
)
def plan_document(plan_id: PlanId, evidence_id: EvidenceId, db: DB, actor: MaybeCaller) -> Response:
    """A plan's document: anyone's once the plan is submitted, before that its parties'."""
    return _file(plans.document(db, actor, plan_id, evidence_id))


@router.post("/projects/{project_id}/deactivate", response_model=PlanOut)
def deactivate_project(
    project_id: PlanId, body: ReasonIn, db: DB, actor: CanOperate, idem: IdemKey
) -> plans.Plan:
    """Set a project registered through the cycle inactive: no more reports or issuances
    (registry operator)."""
    return plans.deactivate(db, actor, project_id, body.reason, idem)


# ---------------------------------------------------------------- monitoring and verification


@router.post("/projects/{project_id}/monitoring-reports", response_model=ReportOut, status_code=201)
def submit_report(
    project_id: PlanId, body: ReportIn, db: DB, actor: CanManage, idem: IdemKey
) -> monitoring.Report:
    """Submit a monitoring report (モニタリング報告書) for a period (the project's developer):
    the methodology's parameters and the verification body; the tonnes are its formula's."""
    r = monitoring.NewReport(
        body.period_start,
        body.period_end,
        body.verifier_id,
        dict(body.parameters),
    )
    return monitoring.submit(db, actor, project_id, r, idem)


@router.get(
    "/projects/{project_id}/monitoring-reports", response_model=many(ReportOut), tags=["public"]
)
def project_reports(project_id: PlanId, db: DB, actor: MaybeCaller) -> list[monitoring.Report]:
    """A project's verified reports (public); with a party's key, its unverified ones too."""
    return monitoring.list_reports(db, actor, project_id=project_id)


@router.get("/monitoring-reports/{report_id}", response_model=ReportOut, tags=["public"])
def get_report(report_id: ReportId, db: DB, actor: MaybeCaller) -> monitoring.Report:
    """A report with its parameters, verification and evidence list: public once verified,
    before that its parties'."""
    return monitoring.get(db, actor, report_id)


@router.post(
    "/monitoring-reports/{report_id}/evidence", response_model=EvidenceOut, status_code=201
)
def attach_report_evidence(
    report_id: ReportId, body: EvidenceIn, db: DB, actor: CanManage, idem: IdemKey
) -> evidence.Evidence:
    """Attach evidence (documents, sensor or satellite data, measurements) to a report before
    its verification (the developer)."""
    content = evidence.decode_base64(body.content_base64)
    return monitoring.attach(
        db, actor, report_id, body.kind, body.file_name, body.media_type, content, idem
    )


@router.get(
    "/monitoring-reports/{report_id}/evidence/{evidence_id}",
    response_class=Response,
    responses=FILE,
    tags=["public"],
)
def report_evidence(
    report_id: ReportId, evidence_id: EvidenceId, db: DB, actor: MaybeCaller
) -> Response:
    """A report's evidence file: anyone's once the report is verified, before that its
    parties'."""
    return _file(monitoring.file(db, actor, report_id, evidence_id))


@router.post(
    "/monitoring-reports/{report_id}/verification", response_model=ReportOut, status_code=201
)
def verify_report(
    report_id: ReportId, body: VerificationIn, db: DB, actor: CanVerify, idem: IdemKey
) -> monitoring.Report:
    """Verify a report (検証), once (the verification body the developer named): verified
    tonnes no more than claimed, findings and a statement."""
    corrected = None if body.parameters is None else dict(body.parameters)
    return monitoring.verify(
        db, actor, report_id, body.verified_tonnes, body.findings, body.statement, idem, corrected
    )


# ---------------------------------------------------------------- issuance requests


@router.post("/issuance-requests", response_model=RequestOut, status_code=201)
def request_issuance(
    body: RequestIn, db: DB, actor: CanManage, idem: IdemKey
) -> issuance_requests.IssuanceRequest:
    """Ask for a verified report's credits into one's holding account (the developer): the
    verified tonnes less the methodology's buffer share."""
    return issuance_requests.request(
        db, actor, body.report_id, body.account_id, body.quantity, idem
    )


@router.get("/issuance-requests", response_model=many(RequestOut))
def list_requests(
    db: DB,
    actor: CanRead,
    state: Literal["pending", "approved", "rejected"] | None = None,
    project_id: Annotated[str | None, Query(max_length=16)] = None,
) -> list[issuance_requests.IssuanceRequest]:
    """Issuance requests: one's own (the operator's: all), newest first."""
    return issuance_requests.list_requests(db, actor, state=state, project_id=project_id)


@router.get("/issuance-requests/{request_id}", response_model=RequestOut)
def get_request(request_id: RequestId, db: DB, actor: CanRead) -> issuance_requests.IssuanceRequest:
    """One issuance request: its developer's and the operator's."""
    return issuance_requests.get(db, actor, request_id)


@router.post("/issuance-requests/{request_id}/approve", response_model=RequestOut)
def approve_request(
    request_id: RequestId, db: DB, actor: CanOperate, idem: IdemKey
) -> issuance_requests.IssuanceRequest:
    """Approve a request: the verified tonnes are issued, the buffer share to the scheme's
    pool and the rest to the developer (registry operator)."""
    return issuance_requests.approve(db, actor, request_id, idem)


@router.post("/issuance-requests/{request_id}/reject", response_model=RequestOut)
def reject_request(
    request_id: RequestId, body: ReasonIn, db: DB, actor: CanOperate, idem: IdemKey
) -> issuance_requests.IssuanceRequest:
    """Reject a request with the reason (registry operator)."""
    return issuance_requests.reject(db, actor, request_id, body.reason, idem)
