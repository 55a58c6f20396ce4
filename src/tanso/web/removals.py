"""The public page of removal credits (issue 21, docs/removals.md), in English and Japanese, no
login: ``/removals`` (``/en/removals``, ``/ja/removals``): every removal project's profile
(pathway, storage, stated permanence, reversal risk, monitoring, buffer rate), each scheme's
buffer pool, and the reversals reported (the public notice of each, with its compensation)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from tanso.services.ledger import taxonomy
from tanso.services.removals import profiles
from tanso.web import kit, render
from tanso.web.i18n import texts
from tanso.web.kit import Lang

router = APIRouter(include_in_schema=False)


def _page(request: Request, lang: Lang) -> HTMLResponse:
    db = kit.db(request)
    names = {
        p.id: (p.name_ja or p.name) if lang == "ja" else p.name for p in taxonomy.list_projects(db)
    }
    html = render(
        "removals.html",
        lang=lang,
        t=texts(lang, "public"),
        g=texts(lang, "removals"),
        cause=texts(lang, "removal_cause"),
        profiles=profiles.list_profiles(db),
        pools=profiles.pools(db),
        reversals=profiles.list_reversals(db),
        names=names,
        prefix="/ja" if lang == "ja" else "",
        lang_query="/removals",
    )
    response = HTMLResponse(html)
    response.headers["Content-Language"] = lang
    return response


@router.get("/removals", response_class=HTMLResponse)
def removals(request: Request) -> HTMLResponse:
    """Removal projects, buffer pools and reversals (``?lang=``, cookie or browser language)."""
    return _page(request, kit.lang_of(request))


@router.get("/en/removals", response_class=HTMLResponse)
def removals_en(request: Request) -> HTMLResponse:
    return _page(request, "en")


@router.get("/ja/removals", response_class=HTMLResponse)
def removals_ja(request: Request) -> HTMLResponse:
    return _page(request, "ja")
