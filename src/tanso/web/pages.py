"""The public price page (no login), in English and Japanese: instruments with last price, change
and volume, a candlestick chart with volume, the latest call auction results, the indices and
links to the daily reports; live updates come from /v1/stream (or polling) in plain JavaScript.

`/en` and `/ja` are the two languages and remember the choice in the `tanso_lang` cookie; `/`
takes `?lang=`, then the cookie, then Accept-Language. The page is rendered on the server so it
is useful without JavaScript. It reads public market data only and never names a participant.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Cookie, Header, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from tanso.services.marketdata import daily_report, indices
from tanso.services.marketdata import events as marketdata
from tanso.services.trading import exchange as xs
from tanso.services.trading.exchange import Exchange
from tanso.store.db import Database
from tanso.web import render

Lang = Literal["en", "ja"]
LANG_COOKIE = "tanso_lang"
JST = ZoneInfo("Asia/Tokyo")
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

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Tanso carbon credit prices",
        "site": "Tanso",
        "tagline": "Carbon credit exchange: public prices",
        "skip": "Skip to the prices",
        "portal": "Participant portal",
        "api": "API",
        "language": "Language",
        "nav": "Site menu",
        "instruments": "Instruments",
        "instrument": "Instrument",
        "last": "Last price",
        "change": "Change",
        "change_note": "Change is against the previous day's close.",
        "volume": "Volume (t)",
        "day": "Trading day",
        "reference": "Reference price",
        "state": "Session",
        "no_trades": "No trades yet",
        "no_instruments": "No instruments are listed yet.",
        "chart": "Chart",
        "chart_of": "Daily prices",
        "chart_label": "Candlestick chart of daily prices with volume",
        "charts_unavailable": "Charts are unavailable: the chart library is not installed "
        "(run make web-assets). The daily prices are in the table below.",
        "show_chart": "Show the chart of",
        "date": "Date",
        "open": "Open",
        "high": "High",
        "low": "Low",
        "close": "Close",
        "vwap": "VWAP",
        "trades": "Trades",
        "daily_prices": "Daily prices (4本値), latest days first",
        "no_bars": "No daily prices yet.",
        "latest_trades": "Latest trades",
        "time": "Time (JST)",
        "price": "Price",
        "auctions": "Latest call auction results",
        "auction_time": "Auction (JST)",
        "no_trade": "No trade",
        "no_auction": "No auction yet",
        "indices": "Indices",
        "indices_loading": "Index values are loaded from {link}.",
        "indices_none": "Indices are not published yet.",
        "index": "Index",
        "value": "Value",
        "rule": "Rule",
        "rule_vwap": "VWAP of trades",
        "rule_mid": "Mid of best bid and offer",
        "rule_previous": "Previous value",
        "rule_none": "No value yet",
        "rule_weighted": "Volume-weighted composite",
        "qty": "Qty (t)",
        "reports": "Daily market reports (日報)",
        "no_reports": "No reports yet: there has been no trading day.",
        "live_off": "Live updates need JavaScript; reload the page for new prices.",
        "live_connecting": "Connecting…",
        "live_stream": "Live: streaming",
        "live_polling": "Live: checking for new trades every {s} seconds",
        "live_error": "Live updates interrupted; retrying…",
        "updated": "updated",
        "footer": "Prices in yen per tonne of CO2 (t-CO2). Times in Japan Standard Time. "
        "Trading is anonymous: no participant is named here.",
        "charts_by": "Charts by TradingView Lightweight Charts.",
        "other_lang": "日本語",
        "other_lang_name": "Japanese",
        "state_open": "open",
        "state_closed": "closed",
        "state_halted": "halted",
        "state_pre_close": "pre-close",
    },
    "ja": {
        "title": "Tanso カーボン・クレジット価格",
        "site": "Tanso",
        "tagline": "カーボン・クレジット取引所 価格情報",
        "skip": "価格情報へ移動",
        "portal": "参加者ポータル",
        "api": "API",
        "language": "言語",
        "nav": "サイトメニュー",
        "instruments": "売買区分",
        "instrument": "売買区分",
        "last": "現在値",
        "change": "前日比",
        "change_note": "前日比は前営業日の終値との比較です。",
        "volume": "売買高 (t)",
        "day": "取引日",
        "reference": "基準値段",
        "state": "状態",
        "no_trades": "約定なし",
        "no_instruments": "上場されている売買区分はまだありません。",
        "chart": "チャート",
        "chart_of": "日足",
        "chart_label": "日足ローソク足チャート(売買高付き)",
        "charts_unavailable": "チャートを表示できません: チャート・ライブラリが未インストールです"
        "(make web-assets を実行してください)。日足は下の表にあります。",
        "show_chart": "チャートを表示:",
        "date": "日付",
        "open": "始値",
        "high": "高値",
        "low": "安値",
        "close": "終値",
        "vwap": "VWAP",
        "trades": "約定件数",
        "daily_prices": "日足 (4本値)、新しい順",
        "no_bars": "日足はまだありません。",
        "latest_trades": "最新の約定",
        "time": "時刻 (JST)",
        "price": "約定価格",
        "auctions": "直近の節立会 (板寄せ) 結果",
        "auction_time": "節 (JST)",
        "no_trade": "約定なし",
        "no_auction": "節立会なし",
        "indices": "指数",
        "indices_loading": "指数の値は {link} から読み込みます。",
        "indices_none": "指数はまだ公表されていません。",
        "index": "指数",
        "value": "値",
        "rule": "算出方法",
        "rule_vwap": "約定の VWAP",
        "rule_mid": "最良気配の仲値",
        "rule_previous": "前回値",
        "rule_none": "値なし",
        "rule_weighted": "売買高加重の合成",
        "qty": "数量 (t)",
        "reports": "日報",
        "no_reports": "日報はまだありません (取引日がありません)。",
        "live_off": "リアルタイム更新には JavaScript が必要です。"
        "再読み込みで最新の価格になります。",
        "live_connecting": "接続中…",
        "live_stream": "リアルタイム配信中",
        "live_polling": "{s} 秒ごとに新しい約定を確認しています",
        "live_error": "更新が中断しました。再試行しています…",
        "updated": "更新",
        "footer": "価格は 1 t-CO2 あたりの円。時刻は日本時間。"
        "取引は匿名で行われ、参加者名は表示されません。",
        "charts_by": "チャート: TradingView Lightweight Charts",
        "other_lang": "English",
        "other_lang_name": "英語",
        "state_open": "取引中",
        "state_closed": "終了",
        "state_halted": "売買停止",
        "state_pre_close": "板寄せ前",
    },
}


# ---------------------------------------------------------------- formatting (no floats)


def jst(at: str | None) -> str:
    """An ISO timestamp as Japan's date and time to the minute."""
    if not at:
        return ""
    ts = dt.datetime.fromisoformat(at.replace("Z", "+00:00"))
    return ts.astimezone(JST).strftime("%Y-%m-%d %H:%M")


def signed(value: int) -> str:
    """A change in yen with its sign: +120, -35, 0."""
    return f"+{value:,}" if value > 0 else f"{value:,}"


def percent(change: int, base: int) -> str:
    """The change as a percentage of the base, two decimals, with its sign."""
    pct = (Decimal(change) * 100 / Decimal(base)).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return f"+{pct}%" if pct > 0 else f"{pct}%"


# ---------------------------------------------------------------- what the page shows


def instrument_row(db: Database, instrument: dict[str, Any], lang: Lang) -> dict[str, Any]:
    """One instrument's line: last price, change against the previous day's close, the latest
    trading day's volume, reference price (基準値段) and its latest call auction."""
    bars = marketdata.bars(db, instrument["id"], "1d", limit=2)
    auctions = xs.auction_results(db, instrument["id"], 1, kind="call")
    latest, previous = (bars[-1] if bars else None), (bars[-2] if len(bars) > 1 else None)
    change = latest["close"] - previous["close"] if latest and previous else None
    return {
        "id": instrument["id"],
        "name": instrument["name_ja" if lang == "ja" else "name_en"],
        "state": instrument.get("state"),
        "reference_price": instrument.get("reference_price"),
        "lower_limit": instrument.get("lower_limit"),
        "upper_limit": instrument.get("upper_limit"),
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
        "last_seq": max((tr["seq"] for tr in trades), default=0),
    }


def choose_lang(query: str | None, cookie: str | None, accept_language: str | None) -> Lang:
    """?lang= first, then the remembered choice, then the browser's first language."""
    for choice in (query, cookie):
        if choice in ("en", "ja"):
            return "ja" if choice == "ja" else "en"
    first = (accept_language or "").split(",")[0].strip().lower()
    return "ja" if first.startswith("ja") else "en"


def page(request: Request, lang: Lang, selected: str | None, remember: bool) -> HTMLResponse:
    db: Database = request.app.state.db
    exchange: Exchange | None = getattr(request.app.state, "exchange", None)
    market = market_page(db, exchange, lang, selected)
    labels = LABELS[lang]
    client = {
        "lang": lang,
        "selected": market["selected"],
        "instruments": [
            {k: r[k] for k in ("id", "name", "last", "day", "volume", "prev_close")}
            for r in market["rows"]
        ],
        "bars": market["bars"],
        "last_seq": market["last_seq"],
        "seen_trades": [tr["id"] for tr in market["trades"]],
        "labels": {
            k: labels[k]
            for k in (
                "charts_unavailable",
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
