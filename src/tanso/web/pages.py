"""The public price page (no login), in English and Japanese: instruments with last price, change
and volume, a candlestick chart with volume, the latest call auction results, the indices and
links to the daily reports; live updates come from /v1/stream (or polling) in plain JavaScript.

`/en` and `/ja` are the two languages and remember the choice in the `tanso_lang` cookie; `/`
takes `?lang=`, then the cookie, then Accept-Language. The page is rendered on the server so it
is useful without JavaScript. It reads public market data only and never names a participant.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Cookie, Header, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from tanso.services.common import Database
from tanso.services.marketdata import daily_report, indices
from tanso.services.marketdata import events as marketdata
from tanso.services.trading import exchange as xs
from tanso.services.trading.exchange import Exchange
from tanso.web import render
from tanso.web.i18n import texts
from tanso.web.kit import LANG_COOKIE, Lang, choose_lang, jst

CHART_BARS = 400
TABLE_BARS = 10
LATEST_TRADES = 15
REPORT_DAYS = 5

STATIC_DIR = Path(__file__).parent / "static"
CHART_LIBRARY = "lightweight-charts.standalone.production.js"


def chart_library_dir() -> Path:
    """Where `npm install` put lightweight-charts' standalone build: the repository's
    node_modules (an editable install), else the working directory's."""
    candidates = [
        Path(__file__).resolve().parents[3] / "node_modules" / "lightweight-charts" / "dist",
        Path.cwd() / "node_modules" / "lightweight-charts" / "dist",
    ]
    for c in candidates:
        if (c / CHART_LIBRARY).is_file():
            return c
    return candidates[0]


CHART_DIR = chart_library_dir()

router = APIRouter(include_in_schema=False)
router.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
# check_dir=False: without node_modules the page still loads and says charts are unavailable
router.mount(
    "/vendor/lightweight-charts",
    StaticFiles(directory=CHART_DIR, check_dir=False),
    name="vendor-charts",
)


# ---------------------------------------------------------------- formatting (no floats)


def signed(value: int) -> str:
    """A change in yen with its sign: +120, -35, 0."""
    return f"+{value:,}" if value > 0 else f"{value:,}"


def percent(change: int, base: int) -> str:
    """The change as a percentage of the base, two decimals, with its sign."""
    pct = (Decimal(change) * 100 / Decimal(base)).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return f"+{pct}%" if pct > 0 else f"{pct}%"


# ---------------------------------------------------------------- what the page shows


def instrument_row(db: Database, instrument: xs.Instrument, lang: Lang) -> dict[str, Any]:
    """One instrument's line: last price, change against the previous day's close, the latest
    trading day's volume, reference price (基準値段) and its latest call auction."""
    bars = marketdata.bars(db, instrument.id, "1d", limit=2)
    auctions = xs.auction_results(db, instrument.id, 1, kind="call")
    latest, previous = (bars[-1] if bars else None), (bars[-2] if len(bars) > 1 else None)
    change = latest["close"] - previous["close"] if latest and previous else None
    return {
        "id": instrument.id,
        "name": instrument.name_ja if lang == "ja" else instrument.name_en,
        "state": instrument.state,
        "reference_price": instrument.reference_price,
        "lower_limit": instrument.lower_limit,
        "upper_limit": instrument.upper_limit,
        "last": latest["close"] if latest else None,
        "day": latest["start"] if latest else None,
        "volume": latest["volume"] if latest else None,
        "prev_close": previous["close"] if previous else None,
        "change": change,
        "change_text": signed(change) if change is not None else "",
        "change_pct": percent(change, previous["close"]) if change is not None and previous else "",
        "auction": auctions[0] if auctions else None,
    }


def report_days(db: Database) -> list[str]:
    """The latest days with a daily report (日報), newest first."""
    return daily_report.report_dates(db)[:REPORT_DAYS]


def market_page(
    db: Database, exchange: Exchange | None, lang: Lang, selected: str | None
) -> dict[str, Any]:
    """Everything the page renders, read through the service layer."""
    instruments = xs.list_instruments(db, exchange)
    rows = [instrument_row(db, i, lang) for i in instruments]
    ids = [r["id"] for r in rows]
    if selected not in ids:
        traded = [r["id"] for r in rows if r["last"] is not None]
        selected = (traded or ids or [None])[0]
    bars = marketdata.bars(db, selected, "1d", limit=CHART_BARS) if selected else []
    trades = xs.public_trades(db, None, LATEST_TRADES)
    return {
        "rows": rows,
        "selected": selected,
        "selected_name": next((r["name"] for r in rows if r["id"] == selected), ""),
        "bars": bars,
        "table_bars": list(reversed(bars[-TABLE_BARS:])),
        "trades": trades,
        "names": {r["id"]: r["name"] for r in rows},
        "report_days": report_days(db),
        "indices": indices.latest(db),
        "last_seq": max((tr.seq for tr in trades), default=0),
    }


def page(request: Request, lang: Lang, selected: str | None, remember: bool) -> HTMLResponse:
    db: Database = getattr(request.state, "read_db", None) or request.app.state.db
    exchange: Exchange | None = getattr(request.app.state, "exchange", None)
    market = market_page(db, exchange, lang, selected)
    labels = texts(lang, "public")
    client = {
        "lang": lang,
        "selected": market["selected"],
        "instruments": [
            {k: r[k] for k in ("id", "name", "last", "day", "volume", "prev_close")}
            for r in market["rows"]
        ],
        "bars": market["bars"],
        "last_seq": market["last_seq"],
        "seen_trades": [tr.id for tr in market["trades"]],
        "labels": {
            k: labels[k]
            for k in (
                "charts_unavailable",
                "busted",
                "no_trade",
                "no_trades",
                "indices_none",
                "index",
                "value",
                "rule",
                "date",
                "live_connecting",
                "live_stream",
                "live_polling",
                "live_error",
                "updated",
                "chart_of",
                "latest_trades",
                "rule_vwap",
                "rule_mid",
                "rule_previous",
                "rule_none",
                "rule_weighted",
                "state_open",
                "state_closed",
                "state_halted",
                "state_pre_close",
            )
        },
    }
    html = render(
        "public.html",
        lang=lang,
        t=labels,
        m=market,
        client=client,
        chart_library=(CHART_DIR / CHART_LIBRARY).is_file(),
        chart_src=f"/vendor/lightweight-charts/{CHART_LIBRARY}",
        lang_query=f"?instrument={quote(market['selected'])}" if market["selected"] else "",
        jst=jst,
        signed=signed,
        percent=percent,
    )
    response = HTMLResponse(html)
    response.headers["Vary"] = "Cookie, Accept-Language"
    response.headers["Content-Language"] = lang
    if remember:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86_400, samesite="lax")
    return response


Selected = Annotated[str | None, Query(max_length=40)]


@router.get("/", response_class=HTMLResponse)
def public_page(
    request: Request,
    instrument: Selected = None,
    lang: Annotated[str | None, Query(max_length=5)] = None,
    tanso_lang: Annotated[str | None, Cookie()] = None,
    accept_language: Annotated[str | None, Header()] = None,
) -> HTMLResponse:
    """The public price page in the visitor's language."""
    chosen = choose_lang(lang, tanso_lang, accept_language)
    return page(request, chosen, instrument, remember=lang in ("en", "ja"))


@router.get("/en", response_class=HTMLResponse)
def public_page_en(request: Request, instrument: Selected = None) -> HTMLResponse:
    """The public price page in English (remembered)."""
    return page(request, "en", instrument, remember=True)


@router.get("/ja", response_class=HTMLResponse)
def public_page_ja(request: Request, instrument: Selected = None) -> HTMLResponse:
    """The public price page in Japanese (remembered)."""
    return page(request, "ja", instrument, remember=True)
