"""Portal and public pages of the claims capability.

- ``/verify/{retirement id}`` (language from ``?lang=``, the cookie, the browser),
  ``/en/verify/{id}`` and ``/ja/verify/{id}``: the public certificate of a retirement and
  whether its journal entry verifies; no login. ``/verify?id=RT-…`` looks one up.
- ``/portal/claims``: a participant's offset claim report for a year (docs/certificates-and-
  claims.md).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tanso.domain.errors import NotFound
from tanso.services.access.users import PortalUser
from tanso.services.compliance import certificates, claims, inventories
from tanso.services.ledger import registry
from tanso.store.db import Database
from tanso.web import portal, render
from tanso.web.pages import LANG_COOKIE, Lang, choose_lang, jst

router = APIRouter(include_in_schema=False)


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def base_url(request: Request) -> str:
    """The site's address as the visitor reached it, for the URL a certificate prints."""
    return str(request.base_url).rstrip("/")


# ---------------------------------------------------------------- public verification


def _verify_page(
    request: Request, retirement_id: str | None, lang: Lang, remember: bool
) -> Response:
    cert: dict[str, Any] | None = None
    missing = False
    if retirement_id is not None:
        try:
            cert = certificates.verification(_db(request), retirement_id)
        except NotFound:
            missing = True
    url = base_url(request) + certificates.verify_path(retirement_id or "", lang)
    rid = retirement_id if cert else None
    html = render(
        "verify.html",
        lang=lang,
        t=certificates.LABELS[lang],
        c=cert,
        missing=missing,
        name=lambda item: certificates.name(item, lang),
        ca_name=lambda code: certificates.ca_name(code, lang),
        mechanism=lambda code: certificates.MECHANISM_NAMES[lang].get(code, code),
        verify_url=url,
        qr=certificates.qr_svg(url) if cert else "",
        jst=jst,
        en_path=f"/verify/{rid}?lang=en" if rid else "/verify?lang=en",
        ja_path=f"/ja/verify/{rid}" if rid else "/verify?lang=ja",
    )
    response = HTMLResponse(html, status_code=404 if missing else 200)
    response.headers["Content-Language"] = lang
    response.headers["Cache-Control"] = "no-store"
    response.headers["Vary"] = "Cookie, Accept-Language"
    if remember:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86_400, samesite="lax")
    return response


def _chosen(request: Request) -> tuple[Lang, bool]:
    query = request.query_params.get("lang")
    lang = choose_lang(
        query, request.cookies.get(LANG_COOKIE), request.headers.get("accept-language")
    )
    return lang, query in ("en", "ja")


Id = Annotated[str | None, Query(max_length=40)]


@router.get("/verify", response_class=HTMLResponse)
def verify_lookup(request: Request, id: Id = None) -> Response:
    """The lookup form; ``?id=RT-…`` goes to that retirement's page."""
    lang, remember = _chosen(request)
    if id and id.strip():
        target = certificates.verify_path(quote(id.strip(), safe=""), lang)
        return RedirectResponse(target if lang == "ja" else f"{target}?lang=en", status_code=303)
    return _verify_page(request, None, lang, remember)


@router.get("/verify/{retirement_id}", response_class=HTMLResponse)
def verify(request: Request, retirement_id: str) -> Response:
    """A retirement's certificate and whether its journal entry verifies (public)."""
    lang, remember = _chosen(request)
    return _verify_page(request, retirement_id, lang, remember)


@router.get("/en/verify/{retirement_id}", response_class=HTMLResponse)
def verify_en(request: Request, retirement_id: str) -> Response:
    return _verify_page(request, retirement_id, "en", True)


@router.get("/ja/verify/{retirement_id}", response_class=HTMLResponse)
def verify_ja(request: Request, retirement_id: str) -> Response:
    return _verify_page(request, retirement_id, "ja", True)


# ---------------------------------------------------------------- the claim report (portal)


def _years(db: Database, user: PortalUser) -> list[int]:
    """Years with an inventory or a retirement, newest first (this year if none)."""
    who = portal.reader(user)
    years = {int(i["year"]) for i in inventories.list_inventories(db, who, user.participant_id)}
    years |= {int(r["reporting_year"]) for r in registry.list_retirements(db, who, 100_000)}
    return sorted(years, reverse=True) or [dt.datetime.now(dt.UTC).year]


def _report(request: Request, user: PortalUser, year: int) -> dict[str, Any]:
    return claims.report(_db(request), portal.reader(user), user.participant_id, year)


def _year(value: str | None, years: list[int]) -> int | None:
    try:
        year = portal.parse_int(value)
    except ValueError:
        return None
    if year is None:
        return years[0]
    return year if 1990 <= year <= 2100 else None


@router.get("/portal/claims", response_class=HTMLResponse)
def claims_page(
    request: Request, year: Annotated[str | None, Query(max_length=8)] = None
) -> Response:
    """The participant's offset claim report for a year, with PDF and CSV downloads."""
    user = portal.current_user(request)
    if user is None:
        return portal.to_login()
    years = _years(_db(request), user)
    chosen = _year(year, years)
    if chosen is None:
        return portal.not_found(request, user)
    if chosen not in years:
        years = sorted({*years, chosen}, reverse=True)
    lang = portal_lang(request)
    rep = _report(request, user, chosen)
    return portal.page(
        request,
        "claims_report.html",
        user=user,
        years=years,
        **claims.render_context(rep, lang),
    )


@router.get("/portal/claims/{year}.pdf")
def claims_pdf(request: Request, year: int) -> Response:
    user = portal.current_user(request)
    if user is None:
        return portal.to_login()
    if not 1990 <= year <= 2100:
        return portal.not_found(request, user)
    lang = portal_lang(request)
    return Response(
        claims.to_pdf(_report(request, user, year), lang),
        media_type="application/pdf",
        headers={
            "Content-Disposition": (
                f'inline; filename="claims-{user.participant_id}-{year}-{lang}.pdf"'
            )
        },
    )


@router.get("/portal/claims/{year}.csv")
def claims_csv(request: Request, year: int) -> Response:
    user = portal.current_user(request)
    if user is None:
        return portal.to_login()
    if not 1990 <= year <= 2100:
        return portal.not_found(request, user)
    lang = portal_lang(request)
    return Response(
        claims.to_csv(_report(request, user, year), lang),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": (
                f'attachment; filename="claims-{user.participant_id}-{year}-{lang}.csv"'
            )
        },
    )


def portal_lang(request: Request) -> Lang:
    return choose_lang(
        request.query_params.get("lang"),
        request.cookies.get(LANG_COOKIE),
        request.headers.get("accept-language"),
    )
