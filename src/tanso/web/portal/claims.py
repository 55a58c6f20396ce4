"""The participant's offset claim report for a year, on screen, as PDF and as CSV
(docs/certificates-and-claims.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from tanso.services.access.users import PortalUser
from tanso.services.compliance import claims, inventories
from tanso.services.ledger import registry
from tanso.web import kit
from tanso.web.documents import claims as document
from tanso.web.kit import CurrentUser

router = APIRouter(route_class=kit.ScreenRoute, include_in_schema=False)


def _years(request: Request, user: PortalUser) -> list[int]:
    """Years with an inventory or a retirement, newest first (the business clock's year if
    none)."""
    db, who = kit.db(request), kit.reader(user)
    years = {i.reporting_year for i in inventories.list_inventories(db, who, user.participant_id)}
    years |= {r.reporting_year for r in registry.list_retirements(db, who, 100_000)}
    return sorted(years, reverse=True) or [int(db.clock()[:4])]


def _report(request: Request, user: PortalUser, year: int) -> claims.ClaimReport:
    return claims.report(kit.db(request), kit.reader(user), user.participant_id, year)


def _year(value: str | None, years: list[int]) -> int | None:
    try:
        year = kit.parse_int(value)
    except ValueError:
        return None
    if year is None:
        return years[0]
    return year if 1990 <= year <= 2100 else None


@router.get("/portal/claims", response_class=HTMLResponse)
def claims_page(
    request: Request,
    user: CurrentUser,
    year: Annotated[str | None, Query(max_length=8)] = None,
) -> Response:
    """The participant's offset claim report for a year, with PDF and CSV downloads."""
    years = _years(request, user)
    chosen = _year(year, years)
    if chosen is None:
        return kit.not_found(request, user)
    if chosen not in years:
        years = sorted({*years, chosen}, reverse=True)
    lang = kit.lang_of(request)
    rep = _report(request, user, chosen)
    return kit.page(
        request,
        "claims_report.html",
        user,
        years=years,
        **document.render_context(rep, lang),
    )


# the downloads: (render, media type, how the browser shows it) by file ending
DOWNLOADS = {
    "pdf": (document.to_pdf, "application/pdf", "inline"),
    "csv": (document.to_csv, "text/csv; charset=utf-8", "attachment"),
}


def _download(request: Request, user: PortalUser, year: int, ending: str) -> Response:
    if not 1990 <= year <= 2100:
        return kit.not_found(request, user)
    lang = kit.lang_of(request)
    render, media_type, disposition = DOWNLOADS[ending]
    filename = f"claims-{user.participant_id}-{year}-{lang}.{ending}"
    return Response(
        render(_report(request, user, year), lang),
        media_type=media_type,
        headers={"Content-Disposition": f'{disposition}; filename="{filename}"'},
    )


@router.get("/portal/claims/{year}.pdf")
def claims_pdf(request: Request, user: CurrentUser, year: int) -> Response:
    return _download(request, user, year, "pdf")


@router.get("/portal/claims/{year}.csv")
def claims_csv(request: Request, user: CurrentUser, year: int) -> Response:
    return _download(request, user, year, "csv")
