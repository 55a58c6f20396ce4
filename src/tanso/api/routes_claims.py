"""REST routes of the claims capability (thin: parse, call one service function, shape).

Certificates are public (like the retirement lookup they certify); claim reports are a
participant's own (an operator reads any).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response

from tanso.api.deps import DB
from tanso.services import certificates

router = APIRouter(prefix="/v1")

RetirementId = Annotated[str, Path(min_length=1, max_length=40)]
Lang = Annotated[Literal["en", "ja"], Query()]


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.get("/certificates/{retirement_id}.pdf", tags=["public"], response_class=Response)
def certificate_pdf(
    retirement_id: RetirementId, request: Request, db: DB, lang: Lang = "en"
) -> Response:
    """A retirement's certificate as PDF (A4), with a QR code of its verify page."""
    cert = certificates.certificate(db, retirement_id)
    return Response(
        certificates.to_pdf(cert, lang, _base(request)),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{cert["certificate_id"]}-{lang}.pdf"'},
    )


@router.get("/certificates/{retirement_id}", tags=["public"])
def certificate(retirement_id: RetirementId, request: Request, db: DB) -> dict[str, Any]:
    """A retirement's certificate (no key needed): the retirement, every attribute of its
    credits, its journal entry and hash, and whether that entry verifies."""
    out = certificates.verification(db, retirement_id)
    return out | {"verify_url": _base(request) + out["verify_path"]}
