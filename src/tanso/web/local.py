"""Public pages of local-government credit schemes (自治体クレジット, docs/local-credits.md), in
English and Japanese, no login:

- ``/local`` (``/en/local``, ``/ja/local``): every local scheme with its region and totals;
- ``/local/{code}`` (``/en/...``, ``/ja/...``; ``?lang=ja`` also works): a scheme's programme:
  its projects, the tonnes issued, sold and retired (read from the registry), the buyers that
  chose to be named, how the proceeds are used, its open marketplace listings and the usage
  rules in force that name local credits, each with its source.

The pages read public facts only: a scheme, its projects and the names buyers agreed to show.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from tanso.domain import marketplace as mp
from tanso.domain.errors import NotFound
from tanso.services.compliance import usage
from tanso.services.ledger import local_schemes as local
from tanso.services.ledger import taxonomy
from tanso.services.venues import marketplace as market
from tanso.web import kit, render
from tanso.web.i18n import texts
from tanso.web.kit import Lang

router = APIRouter(include_in_schema=False)


def _answer(html: str, lang: Lang, status: int = 200) -> HTMLResponse:
    response = HTMLResponse(html, status_code=status)
    response.headers["Content-Language"] = lang
    return response


def _list(request: Request, lang: Lang) -> HTMLResponse:
    db = kit.db(request)
    rows = [(s, local.programme(db, s.code).quantities) for s in local.list_schemes(db)]
    html = render(
        "local_schemes.html",
        lang=lang,
        t=texts(lang, "public"),
        g=texts(lang, "local"),
        schemes=rows,
        prefix="/ja" if lang == "ja" else "",
        lang_query="/local",
    )
    return _answer(html, lang)


def _scheme(request: Request, lang: Lang, code: str) -> HTMLResponse:
    db = kit.db(request)
    t, g = texts(lang, "public"), texts(lang, "local")
    try:
        programme = local.programme(db, code)
    except NotFound:
        html = render(
            "public_error.html",
            lang=lang,
            t=t,
            code="local_scheme_not_found",
            text=g["local_not_found"],
            back=f"/{lang}/local",
            lang_query="/local",
        )
        return _answer(html, lang, 404)
    listings = market.search_listings(
        db, None, market.Search(mp.ListingFilter(scheme=code), "price", None, 200)
    )
    html = render(
        "local_scheme.html",
        lang=lang,
        t=t,
        g=g,
        p=programme,
        s=programme.scheme,
        listings=listings,
        listed=sum(x.available for x in listings),
        uses=local.local_uses(db, usage.local_date(db.clock())),
        purposes=_purpose_names(request, lang),
        prefix="/ja" if lang == "ja" else "",
        lang_query=f"/local/{code}",
    )
    return _answer(html, lang)


def _purpose_names(request: Request, lang: Lang) -> dict[str, str]:
    return {
        p["code"]: p["name_ja"] if lang == "ja" else p["name_en"]
        for p in taxonomy.list_terms(kit.db(request), "purpose")
    }


@router.get("/local", response_class=HTMLResponse)
def schemes(request: Request) -> HTMLResponse:
    """Every local-government credit scheme (``?lang=``, cookie or browser language)."""
    return _list(request, kit.lang_of(request))


@router.get("/en/local", response_class=HTMLResponse)
def schemes_en(request: Request) -> HTMLResponse:
    return _list(request, "en")


@router.get("/ja/local", response_class=HTMLResponse)
def schemes_ja(request: Request) -> HTMLResponse:
    return _list(request, "ja")


@router.get("/local/{code}", response_class=HTMLResponse)
def scheme(request: Request, code: str) -> HTMLResponse:
    """A local scheme's programme (``?lang=``, cookie or browser language)."""
    return _scheme(request, kit.lang_of(request), code[:8])


@router.get("/en/local/{code}", response_class=HTMLResponse)
def scheme_en(request: Request, code: str) -> HTMLResponse:
    return _scheme(request, "en", code[:8])


@router.get("/ja/local/{code}", response_class=HTMLResponse)
def scheme_ja(request: Request, code: str) -> HTMLResponse:
    return _scheme(request, "ja", code[:8])
