"""REST routes of the claims capability (thin: parse, call one service function, shape).

Certificates are public (like the retirement lookup they certify); claim reports are a
participant's own (an operator reads any).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import HTMLResponse

from tanso.api.deps import DB, AnswerRoute, CanOperate, CanRead
from tanso.api.schemas_usage import (
    AuditResult,
    Certificate,
    ClaimReport,
)
from tanso.services.common import Actor, Database
from tanso.services.compliance import certificates, claims
from tanso.web import security
from tanso.web.documents import certificate as document
from tanso.web.documents import claims as claim_document

router = APIRouter(prefix="/v1", route_class=AnswerRoute)

RetirementId = Annotated[str, Path(min_length=1, max_length=40)]
Lang = Annotated[Literal["en", "ja"], Query()]
ParticipantId = Annotated[str, Path(min_length=1, max_length=40)]
Year = Annotated[int, Path(ge=1990, le=2100)]


def _base(request: Request) -> str:
    """TANSO_PUBLIC_URL, never the Host header (a forged Host must not reach a certificate)."""
    return security.public_url(request)


PDF: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {}}, "description": "A PDF document"}
}
CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "A CSV table"}
}


@router.get(
    "/certificates/{retirement_id}.pdf", tags=["public"], response_class=Response, responses=PDF
)
def certificate_pdf(
    retirement_id: RetirementId, request: Request, db: DB, lang: Lang = "en"
) -> Response:
    """A retirement's certificate as PDF (A4), with a QR code of its verify page."""
    cert = certificates.certificate(db, retirement_id)
    return Response(
        document.to_pdf(cert, lang, _base(request)),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{cert.certificate_id}-{lang}.pdf"'},
    )


@router.get("/certificates/{retirement_id}.html", tags=["public"], response_class=HTMLResponse)
def certificate_html(
    retirement_id: RetirementId, request: Request, db: DB, lang: Lang = "en"
) -> HTMLResponse:
    """A retirement's certificate as a stand-alone HTML page (the verify page adds the checks)."""
    cert = certificates.certificate(db, retirement_id)
    return HTMLResponse(document.to_html(cert, lang, _base(request)))


@router.get("/certificates/{retirement_id}", response_model=Certificate, tags=["public"])
def certificate(retirement_id: RetirementId, request: Request, db: DB) -> certificates.Certificate:
    """A retirement's certificate (no key needed): the retirement, every attribute of its
    credits, its journal entry and hash, and whether that entry verifies."""
    out = certificates.verification(db, retirement_id)
    return replace(out, verify_url=_base(request) + out.verify_path)


# the claim report's downloads: (render, media type, how the browser shows it) by file ending
CLAIM_DOWNLOADS = {
    "pdf": (claim_document.to_pdf, "application/pdf", "inline"),
    "csv": (claim_document.to_csv, "text/csv; charset=utf-8", "attachment"),
}


def _claim_download(
    db: Database, actor: Actor, participant_id: str, year: int, lang: str, ending: str
) -> Response:
    rep = claims.report(db, actor, participant_id, year)
    render, media_type, disposition = CLAIM_DOWNLOADS[ending]
    filename = f"claims-{participant_id}-{year}-{lang}.{ending}"
    return Response(
        render(rep, lang),
        media_type=media_type,
        headers={"Content-Disposition": f'{disposition}; filename="{filename}"'},
    )


@router.get(
    "/claims/{participant_id}/{reporting_year}.pdf",
    tags=["claims"],
    response_class=Response,
    responses=PDF,
)
def claim_report_pdf(
    participant_id: ParticipantId, reporting_year: Year, db: DB, actor: CanRead, lang: Lang = "en"
) -> Response:
    """The offset claim report as PDF (A4) in English or Japanese."""
    return _claim_download(db, actor, participant_id, reporting_year, lang, "pdf")


@router.get(
    "/claims/{participant_id}/{reporting_year}.csv",
    tags=["claims"],
    response_class=Response,
    responses=CSV,
)
def claim_report_csv(
    participant_id: ParticipantId, reporting_year: Year, db: DB, actor: CanRead, lang: Lang = "en"
) -> Response:
    """The offset claim report as one CSV table (scopes, retired credits, claims)."""
    return _claim_download(db, actor, participant_id, reporting_year, lang, "csv")


@router.get(
    "/claims/{participant_id}/{reporting_year}", response_model=ClaimReport, tags=["claims"]
)
def claim_report(
    participant_id: ParticipantId, reporting_year: Year, db: DB, actor: CanRead
) -> claims.ClaimReport:
    """A participant's offset claim report for a year (its own; the operator: anyone's):
    emissions, own reductions, residual emissions, credits retired by scheme, category,
    property, vintage and corresponding adjustment, the evaluation axes of voluntary credits,
    and the claims the data supports, with the wording in English and Japanese."""
    return claim_document.worded(claims.report(db, actor, participant_id, reporting_year))


@router.post("/journal/audits", response_model=AuditResult, status_code=201, tags=["journal"])
def record_audit(db: DB, actor: CanOperate) -> certificates.AuditResult:
    """Verify the whole journal (hash chain and every balance) and record the result, which the
    public /verify pages show as the last full audit (operator)."""
    return certificates.audit(db, actor)
