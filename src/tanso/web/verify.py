"""The public verification pages of retirement certificates (no login).

``/verify/{retirement id}`` (language from ``?lang=``, the cookie, the browser),
``/en/verify/{id}`` and ``/ja/verify/{id}``: the public certificate of a retirement and whether
its journal entry verifies. ``/verify?id=RT-…`` looks one up (``DC-…``: a declaration's page).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tanso.domain.errors import NotFound
from tanso.services.compliance import certificates, declarations
from tanso.web import kit, render, security
from tanso.web.documents import certificate as document
from tanso.web.i18n import texts
from tanso.web.kit import LANG_COOKIE, Lang, jst

router = APIRouter(include_in_schema=False)


# ---------------------------------------------------------------- public verification


def _verify_page(
    request: Request, retirement_id: str | None, lang: Lang, remember: bool
) -> Response:
    cert: certificates.Certificate | None = None
    missing = False
    if retirement_id is not None:
        try:
            cert = certificates.verification(kit.db(request), retirement_id)
        except NotFound:
            missing = True
    url = security.public_url(request) + certificates.verify_path(retirement_id or "", lang)
    rid = retirement_id if cert else None
    html = render(
        "verify.html",
        lang=lang,
        t=texts(lang, "certificate"),
        c=cert,
        missing=missing,
        name=lambda item: certificates.name(item, lang),
        ca_name=lambda code: document.ca_name(code, lang),
        mechanism=lambda code: texts(lang, "certificate_mechanism").get(code, code),
        verify_url=url,
        qr=document.qr_svg(url) if cert else "",
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
    return kit.lang_of(request), request.query_params.get("lang") in ("en", "ja")


Id = Annotated[str | None, Query(max_length=40)]


@router.get("/verify", response_class=HTMLResponse)
def verify_lookup(request: Request, id: Id = None) -> Response:
    """The lookup form; ``?id=RT-…`` goes to that retirement's page, ``?id=DC-…`` to that
    declaration's."""
    lang, remember = _chosen(request)
    if id and id.strip():
        wanted = quote(id.strip(), safe="")
        if wanted.upper().startswith("DC-"):
            target = declarations.verify_path(wanted.upper(), lang)
        else:
            target = certificates.verify_path(wanted, lang)
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
