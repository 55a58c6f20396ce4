"""The public page of forward demand for removals (issue 21 §2, docs/offtake.md), in English and
Japanese, no login: ``/removals/forward-demand`` (``/en/...``, ``/ja/...``): tonnes contracted,
delivered and outstanding under long-term offtake contracts per removal pathway and vintage,
and how many contracts — aggregated, no names (the revenue outlook the METI paper asks for)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from tanso.services.removals import offtake
from tanso.web import kit, render
from tanso.web.i18n import texts
from tanso.web.kit import Lang

router = APIRouter(include_in_schema=False)


def _page(request: Request, lang: Lang) -> HTMLResponse:
    html = render(
        "forward_demand.html",
        lang=lang,
        t=texts(lang, "public"),
        f=texts(lang, "forward_demand"),
        g=texts(lang, "removals"),
        demand=offtake.forward_demand(kit.db(request)),
        prefix="/ja" if lang == "ja" else "",
        lang_query="/removals/forward-demand",
    )
    response = HTMLResponse(html)
    response.headers["Content-Language"] = lang
    return response


@router.get("/removals/forward-demand", response_class=HTMLResponse)
def forward_demand(request: Request) -> HTMLResponse:
    """Forward demand per pathway and vintage (``?lang=``, cookie or browser language)."""
    return _page(request, kit.lang_of(request))


@router.get("/en/removals/forward-demand", response_class=HTMLResponse)
def forward_demand_en(request: Request) -> HTMLResponse:
    return _page(request, "en")


@router.get("/ja/removals/forward-demand", response_class=HTMLResponse)
def forward_demand_ja(request: Request) -> HTMLResponse:
    return _page(request, "ja")
