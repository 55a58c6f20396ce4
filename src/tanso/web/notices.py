"""The public market notices (市場のお知らせ, issue 22, docs/market-notices.md), in English and
Japanese, no login; each at its path, ``/en/...`` and ``/ja/...``:

- ``/notices``: every notice, newest first, withdrawn ones marked with the reason; ``kind``,
  ``from`` and ``to`` narrow the list as the API's do;
- ``/notices/{id}``: one notice;
- ``/notices.atom``: the same notices as an Atom feed (RFC 4287) in the page's language.

Reads only: publishing and withdrawing are the operator's (the API and the operator screen).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from feedgen.feed import FeedGenerator

from tanso.domain.errors import InvalidInput, NotFound
from tanso.domain.market_notices import KINDS
from tanso.services.marketdata import market_notices
from tanso.services.marketdata.market_notices import MarketNotice
from tanso.web import kit, render
from tanso.web.i18n import texts
from tanso.web.kit import Lang

router = APIRouter(include_in_schema=False)

FEED_LIMIT = 100
ATOM = "application/atom+xml; charset=utf-8"
EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
"""A feed with no entry yet says it was last updated then (Atom requires a date)."""


def _text(n: MarketNotice, lang: Lang) -> tuple[str, str]:
    return (n.title_ja, n.body_ja) if lang == "ja" else (n.title_en, n.body_en)


def _answer(html: str, lang: Lang, status: int = 200) -> HTMLResponse:
    response = HTMLResponse(html, status)
    response.headers["Content-Language"] = lang
    return response


def _filters(request: Request) -> tuple[str | None, str | None, str | None]:
    q = request.query_params
    kind = q.get("kind") or None
    return (
        kind if kind in KINDS else None,
        (q.get("from") or None),
        (q.get("to") or None),
    )


def _list_page(request: Request, lang: Lang) -> HTMLResponse:
    t, g = texts(lang, "public"), texts(lang, "market_notices")
    kind, start, end = _filters(request)
    prefix = "/ja" if lang == "ja" else ""
    try:
        notices = market_notices.list_notices(kit.db(request), kind, start, end)
    except InvalidInput as e:
        html = render(
            "public_error.html",
            lang=lang,
            t=t,
            code=e.code,
            text=e.message,
            back=f"{prefix}/notices",
            lang_query="/notices",
        )
        return _answer(html, lang, 400)
    html = render(
        "market_notices.html",
        lang=lang,
        t=t,
        g=g,
        prefix=prefix,
        lang_query="/notices",
        notices=[(n, *_text(n, lang)) for n in notices],
        kinds=KINDS,
        kind=kind,
        jst=kit.jst,
        start=start or "",
        end=end or "",
    )
    return _answer(html, lang)


def _one_page(request: Request, lang: Lang, notice_id: str) -> HTMLResponse:
    t, g = texts(lang, "public"), texts(lang, "market_notices")
    prefix = "/ja" if lang == "ja" else ""
    try:
        n = market_notices.get(kit.db(request), notice_id[:40])
    except NotFound as e:
        html = render(
            "public_error.html",
            lang=lang,
            t=t,
            code=e.code,
            text=g["not_found"],
            back=f"{prefix}/notices",
            lang_query="/notices",
        )
        return _answer(html, lang, 404)
    title, body = _text(n, lang)
    html = render(
        "market_notice.html",
        lang=lang,
        t=t,
        g=g,
        prefix=prefix,
        lang_query=f"/notices/{n.id}",
        n=n,
        jst=kit.jst,
        title=title,
        paragraphs=[p for p in body.split("\n") if p.strip()],
    )
    return _answer(html, lang)


def _when(at: str) -> dt.datetime:
    ts = dt.datetime.fromisoformat(at.replace("Z", "+00:00"))
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=dt.UTC)


def atom_feed(notices: list[MarketNotice], lang: Lang, base: str, g: Mapping[str, str]) -> bytes:
    """The notices as an Atom feed in ``lang``: ids that never change (a tag URI per notice),
    links to the pages under ``base`` (the site's address), a withdrawn notice's entry updated
    at its withdrawal with the reason before its text."""
    prefix = "/ja" if lang == "ja" else "/en"
    fg = FeedGenerator()
    fg.id(f"tag:tanso.market,2026:notices/{lang}")
    fg.title(g["feed_title"])
    fg.author({"name": g["feed_author"]})
    fg.link(href=f"{base}{prefix}/notices.atom", rel="self", type="application/atom+xml")
    fg.link(href=f"{base}{prefix}/notices", rel="alternate", type="text/html")
    fg.language(lang)
    newest = EPOCH
    for n in reversed(notices):  # feedgen puts each entry added first
        title, body = _text(n, lang)
        updated = _when(n.withdrawn_at or n.published_at)
        newest = max(newest, updated)
        e = fg.add_entry()
        e.id(f"tag:tanso.market,2026:notice/{n.id}/{lang}")
        kind = g[f"kind_{n.kind}"]
        if n.withdrawn_at is not None:
            title = g["withdrawn_title"].format(title=title)
            body = g["withdrawn_prefix"].format(reason=n.withdrawal_reason) + "\n\n" + body
        e.title(f"[{kind}] {title}")
        e.published(_when(n.published_at))
        e.updated(updated)
        e.link(href=f"{base}{prefix}/notices/{n.id}", rel="alternate", type="text/html")
        e.content(body, type="text")
        e.category(term=n.kind, label=kind)
    fg.updated(newest)
    out: bytes = fg.atom_str(pretty=True)
    return out


def _feed(request: Request, lang: Lang) -> Response:
    g = texts(lang, "market_notices")
    notices = market_notices.list_notices(kit.db(request), limit=FEED_LIMIT)
    base = str(request.base_url).rstrip("/")
    return Response(
        atom_feed(notices, lang, base, g), media_type=ATOM, headers={"Content-Language": lang}
    )


@router.get("/notices.atom")
def feed(request: Request) -> Response:
    """The market notices as an Atom feed (the page's language)."""
    return _feed(request, kit.lang_of(request))


@router.get("/en/notices.atom")
def feed_en(request: Request) -> Response:
    return _feed(request, "en")


@router.get("/ja/notices.atom")
def feed_ja(request: Request) -> Response:
    return _feed(request, "ja")


@router.get("/notices", response_class=HTMLResponse)
def notices_page(request: Request) -> HTMLResponse:
    """The market notices, newest first."""
    return _list_page(request, kit.lang_of(request))


@router.get("/en/notices", response_class=HTMLResponse)
def notices_page_en(request: Request) -> HTMLResponse:
    return _list_page(request, "en")


@router.get("/ja/notices", response_class=HTMLResponse)
def notices_page_ja(request: Request) -> HTMLResponse:
    return _list_page(request, "ja")


@router.get("/notices/{market_notice_id}", response_class=HTMLResponse)
def notice_page(request: Request, market_notice_id: str) -> HTMLResponse:
    """One market notice."""
    return _one_page(request, kit.lang_of(request), market_notice_id)


@router.get("/en/notices/{market_notice_id}", response_class=HTMLResponse)
def notice_page_en(request: Request, market_notice_id: str) -> HTMLResponse:
    return _one_page(request, "en", market_notice_id)


@router.get("/ja/notices/{market_notice_id}", response_class=HTMLResponse)
def notice_page_ja(request: Request, market_notice_id: str) -> HTMLResponse:
    return _one_page(request, "ja", market_notice_id)
