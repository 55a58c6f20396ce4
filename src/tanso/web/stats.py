"""The public statistics page (issue 22, docs/statistics.md), in English and Japanese, no login:
``/stats``, ``/en/stats``, ``/ja/stats``.

Every figure on the page is an answer of ``GET /v1/stats/...`` (services/marketdata/stats.py),
and each section links its JSON and CSV twins with the same period and grouping. The charts are
SVG drawn here on the server: no script, nothing loaded from another host.
"""

from __future__ import annotations

import datetime as dt
import functools
import gettext
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pycountry
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from tanso.domain.errors import InvalidInput
from tanso.services.ledger import taxonomy
from tanso.services.marketdata import stats
from tanso.web import kit, render
from tanso.web.i18n import texts
from tanso.web.kit import Lang

router = APIRouter(include_in_schema=False)

CHART_WIDTH = 640
BAR_HEIGHT = 22
LABEL_WIDTH = 220
MAX_BARS = 24


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar of a horizontal bar chart: its label, value, and length in the SVG's units."""

    label: str
    value: int
    y: int
    width: int


@dataclass(frozen=True, slots=True)
class Chart:
    id: str
    title: str
    unit: str
    bars: list[Bar]
    height: int
    width: int = CHART_WIDTH
    label_width: int = LABEL_WIDTH


def chart(chart_id: str, title: str, unit: str, items: Sequence[tuple[str, int]]) -> Chart:
    """A horizontal bar chart of ``items`` with a value (the first MAX_BARS of them)."""
    shown = [(label, value) for label, value in items if value > 0][:MAX_BARS]
    top = max((v for _, v in shown), default=0)
    span = CHART_WIDTH - LABEL_WIDTH - 90
    bars = [
        Bar(
            label=label,
            value=value,
            y=i * BAR_HEIGHT,
            width=max(value * span // top, 1) if top > 0 else 0,
        )
        for i, (label, value) in enumerate(shown)
    ]
    return Chart(chart_id, title, unit, bars, max(len(bars), 1) * BAR_HEIGHT)


def _date(value: str | None, key: str, g: Mapping[str, str]) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            "invalid_date", g["bad_date"].format(field=key, value=value[:40])
        ) from None


def _namers(request: Request, lang: Lang) -> dict[str, Callable[[str], str]]:
    """Display names of the codes the figures are grouped by."""
    db = kit.db(request)
    ja = lang == "ja"

    def names(rows: list[dict[str, Any]]) -> Callable[[str], str]:
        table = {r["code"]: (r["name_ja"] if ja else r["name_en"]) for r in rows}
        return lambda code: table.get(code, code)

    g = texts(lang, "stats")
    instruments = {k: v[1] if ja else v[0] for k, v in stats.instrument_names(db).items()}
    categories = names(taxonomy.list_categories(db))
    return {
        "scheme": names(taxonomy.list_schemes(db)),
        "category": categories,
        "credit_type": names(taxonomy.list_terms(db, "credit_type")),
        "purpose": names(taxonomy.list_terms(db, "purpose")),
        "vintage": str,
        "region": lambda code: country_name(code, lang) if _is_country(code) else code,
        "month": lambda code: code,
        "venue": lambda code: g.get(f"venue_{code}", code),
        "instrument": lambda code: instruments.get(code) or categories(code),
        "kind": lambda code: g.get(f"kind_{code}", code),
    }


def _is_country(code: str) -> bool:
    return len(code) == 2 and code.isascii() and code.isupper()


@functools.cache
def country_name(code: str, lang: Lang) -> str:
    """A country's name from its ISO 3166-1 alpha-2 code, in English or Japanese (pycountry's
    copy of the ISO list and its translations); the code itself if unknown."""
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        return code
    name = str(getattr(country, "common_name", None) or country.name)
    if lang == "ja":
        ja = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, ["ja"], fallback=True)
        return ja.gettext(str(country.name))
    return name


def _link(path: str, **params: Any) -> str:
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return f"/v1/stats/{path}" + (f"?{query}" if query else "")


def _stats_page(request: Request, lang: Lang) -> HTMLResponse:
    labels, g = texts(lang, "public"), texts(lang, "stats")
    prefix = "/ja" if lang == "ja" else ""
    q = request.query_params
    by = q.get("by") or "scheme"
    market_by = q.get("market_by") or "venue"
    try:
        start = _date(q.get("from"), "from", g)
        end = _date(q.get("to"), "to", g)
        if by not in stats.REGISTRY_BY or market_by not in stats.MARKET_BY:
            raise InvalidInput("invalid_grouping", g["bad_grouping"])
        db = kit.db(request)
        reg = stats.registry(db, by, start, end)
        credits = stats.registry(db, by, start, end, credits_only=True)
        monthly = stats.registry(db, "month", start, end)
        mkt = stats.market(db, market_by, start, end)
        mkt_month = stats.market(db, "month", start, end)
        purposes = stats.purposes(db, start, end)
        people = stats.participants(db)
        usage = stats.usage(db, start, end)
    except InvalidInput as e:
        html = render(
            "public_error.html",
            lang=lang,
            t=labels,
            code=e.code,
            text=e.message,
            back=f"{prefix}/stats",
            lang_query="/stats",
        )
        return _answer(html, lang, 400)
    name = _namers(request, lang)
    period = {"from": q.get("from") or "", "to": q.get("to") or ""}
    charts = [
        chart(
            "chart-issued",
            g["chart_issued"].format(by=g[f"by_{by}"]),
            g["tonnes"],
            sorted(((name[by](r.key), r.issued + r.imported) for r in credits.rows), key=_larger),
        ),
        chart(
            "chart-retired",
            g["chart_retired"].format(by=g[f"by_{by}"]),
            g["tonnes"],
            sorted(((name[by](r.key), r.retired) for r in credits.rows), key=_larger),
        ),
        chart(
            "chart-market",
            g["chart_value"].format(by=g[f"by_{market_by}"]),
            g["yen"],
            sorted(((name[market_by](r.key), r.value) for r in mkt.rows), key=_larger),
        ),
        chart(
            "chart-purposes",
            g["chart_purposes"],
            g["tonnes"],
            [(name["purpose"](r.purpose), r.quantity) for r in purposes.rows],
        ),
        chart(
            "chart-monthly-volume",
            g["chart_monthly_volume"],
            g["tonnes"],
            [(r.key, r.volume) for r in mkt_month.rows],
        ),
    ]
    html = render(
        "stats.html",
        lang=lang,
        t=labels,
        g=g,
        prefix=prefix,
        lang_query="/stats" + ("?" + urlencode(dict(q)) if q else ""),
        by=by,
        market_by=market_by,
        registry_by=stats.REGISTRY_BY,
        market_groupings=stats.MARKET_BY,
        period=period,
        reg=reg,
        monthly=monthly,
        mkt=mkt,
        purposes=purposes,
        people=people,
        usage=usage,
        charts={c.id: c for c in charts},
        name=name,
        links={
            "registry": _link("registry", by=by, **period),
            "monthly": _link("registry", by="month", **period),
            "market": _link("market", by=market_by, **period),
            "retirements": _link("retirements", **period),
            "participants": _link("participants"),
            "usage": _link("usage", **period),
        },
        as_of=reg.period.as_of_seq,
    )
    return _answer(html, lang)


def _larger(item: tuple[str, int]) -> tuple[int, str]:
    return (-item[1], item[0])


def _answer(html: str, lang: Lang, status: int = 200) -> HTMLResponse:
    response = HTMLResponse(html, status)
    response.headers["Content-Language"] = lang
    return response


@router.get("/stats", response_class=HTMLResponse)
def stats_page(request: Request) -> HTMLResponse:
    """The statistics of the registry and the market (language from ?lang=, cookie, browser)."""
    return _stats_page(request, kit.lang_of(request))


@router.get("/en/stats", response_class=HTMLResponse)
def stats_page_en(request: Request) -> HTMLResponse:
    return _stats_page(request, "en")


@router.get("/ja/stats", response_class=HTMLResponse)
def stats_page_ja(request: Request) -> HTMLResponse:
    return _stats_page(request, "ja")
