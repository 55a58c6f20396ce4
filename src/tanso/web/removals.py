"""The public pages of removal credits (issue 21, docs/removals.md, docs/offtake.md), in English
and Japanese, no login; each at its path, ``/en/...`` and ``/ja/...``:

- ``/removals``: every removal project's profile (pathway, storage, stated permanence, reversal
  risk, monitoring, buffer rate), each scheme's buffer pool, and the reversals reported (the
  public notice of each, with its compensation);
- ``/removals/forward-demand``: tonnes contracted, delivered and outstanding under long-term
  offtake contracts per removal pathway and vintage, and how many contracts — aggregated, no
  names (the revenue outlook the METI paper asks for).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from tanso.services.ledger import taxonomy
from tanso.services.removals import offtake, profiles
from tanso.web import kit, render
from tanso.web.i18n import texts
from tanso.web.kit import Lang

router = APIRouter(include_in_schema=False)

Page = Callable[[Request, Lang], dict[str, Any]]


def _removals(request: Request, lang: Lang) -> dict[str, Any]:
    db = kit.db(request)
    return {
        "cause": texts(lang, "removal_cause"),
        "profiles": profiles.list_profiles(db),
        "pools": profiles.pools(db),
        "reversals": profiles.list_reversals(db),
        "names": {
            p.id: (p.name_ja or p.name) if lang == "ja" else p.name
            for p in taxonomy.list_projects(db)
        },
    }


def _forward_demand(request: Request, lang: Lang) -> dict[str, Any]:
    return {
        "f": texts(lang, "forward_demand"),
        "demand": offtake.forward_demand(kit.db(request)),
    }


def _publish(path: str, template: str, page: Page, summary: str) -> None:
    """The page at ``path`` (``?lang=``, cookie or browser language), ``/en{path}`` and
    ``/ja{path}``."""

    def answer(request: Request, lang: Lang) -> HTMLResponse:
        html = render(
            template,
            lang=lang,
            t=texts(lang, "public"),
            g=texts(lang, "removals"),
            prefix="/ja" if lang == "ja" else "",
            lang_query=path,
            **page(request, lang),
        )
        response = HTMLResponse(html)
        response.headers["Content-Language"] = lang
        return response

    def negotiated(request: Request) -> HTMLResponse:
        return answer(request, kit.lang_of(request))

    def english(request: Request) -> HTMLResponse:
        return answer(request, "en")

    def japanese(request: Request) -> HTMLResponse:
        return answer(request, "ja")

    negotiated.__doc__ = summary
    for prefix, endpoint in (("", negotiated), ("/en", english), ("/ja", japanese)):
        router.add_api_route(
            prefix + path,
            endpoint,
            methods=["GET"],
            response_class=HTMLResponse,
            name=f"{template.removesuffix('.html')}{prefix.replace('/', '_')}",
        )


_publish("/removals", "removals.html", _removals, "Removal projects, pools and reversals.")
_publish(
    "/removals/forward-demand",
    "forward_demand.html",
    _forward_demand,
    "Forward demand for removals per pathway and vintage.",
)
