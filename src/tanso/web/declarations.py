"""The public pages of declarations for products and cargoes (issue 23 part 2,
docs/declarations.md), in English and Japanese, no login: ``/declarations/{id}`` (language from
``?lang=``, the cookie, the browser), ``/en/declarations/{id}`` and ``/ja/declarations/{id}``.

A page shows the declared unit, its measured emissions by stage, its evidence files (SHA-256 and
size), the verification, the retirements that offset it (each linked to its certificate's
/verify page), the declaration's text, and whether the declaration's journal entry verifies.
A draft answers like a missing one. ``/verify?id=DC-...`` comes here. Reads only.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from tanso.domain.errors import NotFound
from tanso.services.compliance import declarations as dc
from tanso.services.ledger import taxonomy
from tanso.web import kit, render
from tanso.web.i18n import texts
from tanso.web.kit import Lang

router = APIRouter(include_in_schema=False)


def _answer(html: str, lang: Lang, status: int = 200) -> HTMLResponse:
    response = HTMLResponse(html, status)
    response.headers["Content-Language"] = lang
    response.headers["Cache-Control"] = "no-store"
    return response


def heading(d: dc.Declaration, lang: Lang, g: Mapping[str, str]) -> str:
    """The page's heading: in English the declarant's title; in Japanese the kind's Japanese
    name with the unit's first two reference fields (the title is the declarant's words, most
    often English), the title then shown under it."""
    if lang != "ja":
        return d.title
    first, second = dc.rules()["kinds"][d.unit_kind]["reference_required"][:2]
    main, more = d.reference.get(first, ""), d.reference.get(second, "")
    return f"{g['kind_' + d.unit_kind]} {main}" + (f"（{more}）" if more else "")


def _page(request: Request, lang: Lang, declaration_id: str) -> HTMLResponse:
    t, g = texts(lang, "public"), texts(lang, "declarations")
    prefix = "/ja" if lang == "ja" else ""
    try:
        d = dc.verification(kit.db(request), declaration_id[:40])
    except NotFound as e:
        html = render(
            "public_error.html",
            lang=lang,
            t=t,
            code=e.code,
            text=g["not_found"],
            back=f"{prefix}/verify",
            lang_query="/verify",
        )
        return _answer(html, lang, 404)
    wording = dc.rules()["wordings"].get(d.wording or "", {})
    purposes = {
        item["code"]: item["name_ja" if lang == "ja" else "name_en"]
        for item in taxonomy.list_terms(kit.db(request), "purpose")
    }
    html = render(
        "declaration.html",
        lang=lang,
        t=t,
        g=g,
        c=texts(lang, "certificate"),
        prefix=prefix,
        lang_query=f"/declarations/{d.id}",
        d=d,
        heading=heading(d, lang, g),
        v=d.entry_check,
        jst=kit.jst,
        stage_name=lambda code: dc.stage_name(code, lang),
        purpose_name=lambda code: purposes.get(code, code),
        text=d.text_ja if lang == "ja" else d.text_en,
        source=wording.get(f"source_{lang}", ""),
        verify_prefix="/ja" if lang == "ja" else "",
    )
    return _answer(html, lang)


@router.get("/declarations/{declaration_id}", response_class=HTMLResponse)
def declaration_page(request: Request, declaration_id: str) -> HTMLResponse:
    """A declared unit's declaration and whether its journal entry verifies (public)."""
    return _page(request, kit.lang_of(request), declaration_id)


@router.get("/en/declarations/{declaration_id}", response_class=HTMLResponse)
def declaration_page_en(request: Request, declaration_id: str) -> HTMLResponse:
    return _page(request, "en", declaration_id)


@router.get("/ja/declarations/{declaration_id}", response_class=HTMLResponse)
def declaration_page_ja(request: Request, declaration_id: str) -> HTMLResponse:
    return _page(request, "ja", declaration_id)
