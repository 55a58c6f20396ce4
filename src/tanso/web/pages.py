"""The public price page (no login), in English and Japanese: instruments with last price, change
and volume, a candlestick chart with volume and time ranges, the daily prices (paged) and their
CSV, an index chart, the latest call auction results, the indices and links to the daily
reports; live updates come from /v1/stream (or polling) in plain JavaScript. The page's state
(instrument, range, page, index, index_range) is in its query string (docs/public-page.md); a
value it cannot show answers a 400 page in the page's language.

`/en` and `/ja` are the two languages and remember the choice in the `tanso_lang` cookie; `/`
takes `?lang=`, then the cookie, then Accept-Language. The page is rendered on the server so it
is useful without JavaScript. It reads public market data only and never names a participant.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Cookie, Depends, Header, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from tanso.services.common import Database
from tanso.services.marketdata import daily_report, indices, period_report
from tanso.services.marketdata import events as marketdata
from tanso.services.trading import exchange as xs
from tanso.services.trading.exchange import Exchange
from tanso.web import render
from tanso.web.i18n import texts
from tanso.web.kit import LANG_COOKIE, Lang, choose_lang, jst

CHART_BARS = 400
"""Daily bars the price chart (and each index chart) starts with; "All" loads the rest."""
DAILY_ROWS = 20
"""Rows on one page of the daily prices table."""
RECENT_DAYS = 30
"""Calendar days of traded volume that choose the instrument the page opens on."""
RANGES = ("1M", "3M", "6M", "1Y", "ALL")
RANGE_MONTHS = {"1M": 1, "3M": 3, "6M": 6, "1Y": 12}
DEFAULT_RANGE = "3M"
ONE_DAY = dt.timedelta(days=1)
LATEST_TRADES = 15
REPORT_DAYS = 5
REPORT_PERIODS = 3

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


def report_periods(db: Database, kind: str) -> list[str]:
    """The latest weeks or months with a market report (週報, 月報), newest first."""
    return [p.name for p in period_report.periods(db, kind)[:REPORT_PERIODS]]


class BadChoice(Exception):
    """A query parameter the page cannot show: answered with a 400 page in the page's language,
    naming the parameter's code and the values that are allowed."""

    def __init__(self, code: str, key: str, **numbers: Any) -> None:
        super().__init__(code)
        self.code, self.key, self.numbers = code, key, numbers


@dataclass(frozen=True, slots=True)
class Choice:
    """What the visitor asked the page to show (its query parameters), checked."""

    instrument: str | None = None
    range: str = DEFAULT_RANGE
    page: int | str = 1
    """A page number from 1; the text given when it is not one (refused by market_page)."""
    index: str | None = None
    index_range: str = DEFAULT_RANGE


def shown(value: str) -> str:
    """A refused value as the error page repeats it: short, on one line."""
    text = " ".join(value.split())
    return text if len(text) <= 40 else text[:39] + "…"


def chosen_range(value: str | None) -> str:
    """A time range from the query (1M, 3M, 6M, 1Y or ALL; any case), else the default."""
    if value is None or value == "":
        return DEFAULT_RANGE
    if value.upper() not in RANGES:
        raise BadChoice("invalid_range", "bad_range", value=shown(value), ranges=", ".join(RANGES))
    return value.upper()


def chosen_page(value: str | None) -> int | str:
    """A page number from the query: an int from 1, or the text given when it is not one."""
    if value is None or value == "":
        return 1
    text = value.strip()
    if text.isascii() and text.isdigit() and len(text) <= 9 and int(text) >= 1:
        return int(text)
    return value


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` calendar months earlier (the month's last day if it is shorter)."""
    y, m = divmod(day.year * 12 + day.month - 1 - months, 12)
    return dt.date(y, m + 1, min(day.day, calendar.monthrange(y, m + 1)[1]))


def range_start(latest: str | None, key: str) -> str | None:
    """The first day of a time range that ends on ``latest`` (an ISO date); None for ALL."""
    if latest is None or key not in RANGE_MONTHS:
        return None
    return (months_before(dt.date.fromisoformat(latest), RANGE_MONTHS[key]) + ONE_DAY).isoformat()


DEFAULTS: dict[str, Any] = {
    "range": DEFAULT_RANGE,
    "page": 1,
    "index": indices.COMPOSITE_ID,
    "index_range": DEFAULT_RANGE,
}
"""What the page shows when its query does not say: links leave these out."""


def state_params(choice: Choice, **changes: Any) -> dict[str, str]:
    """The query parameters of the page in ``choice`` with ``changes``: defaults left out."""
    values = {
        "instrument": choice.instrument,
        "range": choice.range,
        "page": choice.page,
        "index": choice.index,
        "index_range": choice.index_range,
    } | changes
    return {k: str(v) for k, v in values.items() if v is not None and DEFAULTS.get(k) != v}


def state_query(choice: Choice, **changes: Any) -> str:
    """The query string of the page in ``choice`` with ``changes`` ("" when all are defaults)."""
    params = state_params(choice, **changes)
    return "?" + urlencode(params) if params else ""


def opening_instrument(db: Database, rows: list[dict[str, Any]]) -> str | None:
    """The instrument the page opens on when none is chosen: the most traded over the last
    RECENT_DAYS days (by volume), else the first listed that ever traded, else the first."""
    ids: list[str] = [r["id"] for r in rows]
    busiest = marketdata.most_traded(db, RECENT_DAYS)
    if busiest is not None and busiest in ids:
        return busiest
    traded = [i for r, i in zip(rows, ids, strict=True) if r["last"] is not None]
    return (traded or ids)[0] if ids else None


def csv_link(instrument: str, start: str | None, end: str | None) -> str:
    """The daily history of an instrument as CSV, from the public bars API."""
    params = {"instrument": instrument, "interval": "1d", "format": "csv", "limit": "5000"}
    if start is not None:
        params["from"] = start
    if end is not None:
        params["to"] = end
    return "/v1/market/bars?" + urlencode(params)


def index_part(
    db: Database, latest: list[indices.IndexValue], lang: Lang, asked: str | None
) -> tuple[list[dict[str, str]], str | None, list[dict[str, Any]]]:
    """The index chart's choices and the chosen index's values (the composite by default)."""
    names = [{"id": x.id, "name": x.name_ja if lang == "ja" else x.name_en} for x in latest]
    ids = [n["id"] for n in names]
    selected: str | None = None
    if asked is not None and asked in ids:
        selected = asked
    elif ids:
        selected = indices.COMPOSITE_ID if indices.COMPOSITE_ID in ids else ids[0]
    values = indices.history(db, selected, limit=CHART_BARS) if selected else []
    points = [{"time": v.date, "value": v.value} for v in values if v.value is not None]
    return names, selected, points


def market_page(
    db: Database, exchange: Exchange | None, lang: Lang, asked: Choice
) -> dict[str, Any]:
    """Everything the page renders, read through the service layer; raises BadChoice for a page
    of daily prices that does not exist."""
    instruments = xs.list_instruments(db, exchange)
    rows = [instrument_row(db, i, lang) for i in instruments]
    ids = [r["id"] for r in rows]
    chosen = asked.instrument in ids
    selected = asked.instrument if chosen else opening_instrument(db, rows)
    name = next((r["name"] for r in rows if r["id"] == selected), "")
    bars = marketdata.bars(db, selected, "1d", limit=CHART_BARS) if selected else []
    page = asked.page if isinstance(asked.page, int) else 1
    table, total = marketdata.daily_page(db, selected, page, DAILY_ROWS) if selected else ([], 0)
    pages = max(1, -(-total // DAILY_ROWS))
    if not isinstance(asked.page, int) or asked.page > pages:
        raise BadChoice(
            "invalid_page",
            "bad_page",
            value=shown(str(asked.page)),
            instrument=name or "—",
            pages=pages,
            rows=DAILY_ROWS,
        )
    latest_day = bars[-1]["start"] if bars else None
    start = range_start(latest_day, asked.range)
    latest_indices = indices.latest(db)
    index_names, index_selected, index_points = index_part(db, latest_indices, lang, asked.index)
    state = Choice(selected, asked.range, page, index_selected, asked.index_range)
    trades = xs.public_trades(db, None, LATEST_TRADES)
    return {
        "rows": rows,
        "selected": selected,
        "chosen": chosen,
        "selected_name": name,
        "bars": bars,
        "more_bars": len(bars) >= CHART_BARS,
        "table_bars": table,
        "page": page,
        "pages": pages,
        "total_bars": total,
        "range_start": start,
        "range_end": latest_day,
        "csv_range": csv_link(selected, start, latest_day) if selected else None,
        "csv_all": csv_link(selected, None, None) if selected else None,
        "trades": trades,
        "names": {r["id"]: r["name"] for r in rows},
        "report_days": report_days(db),
        "report_weeks": report_periods(db, "weekly"),
        "report_months": report_periods(db, "monthly"),
        "indices": latest_indices,
        "index_names": index_names,
        "index_selected": index_selected,
        "index_points": index_points,
        "more_index": len(index_points) >= CHART_BARS,
        "state": state,
        "last_seq": max((tr.seq for tr in trades), default=0),
    }


CLIENT_LABELS = (
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
    "csv_range",
    "csv_all",
    "page_of",
    "older",
    "index_no_values",
)


def page(
    request: Request, lang: Lang, asked: dict[str, str | None], remember: bool
) -> HTMLResponse:
    """The page in ``lang`` for the query ``asked``, or the 400 page for a value it cannot show."""
    db: Database = getattr(request.state, "read_db", None) or request.app.state.db
    exchange: Exchange | None = getattr(request.app.state, "exchange", None)
    labels = texts(lang, "public")
    try:
        choice = Choice(
            instrument=asked.get("instrument"),
            range=chosen_range(asked.get("range")),
            page=chosen_page(asked.get("page")),
            index=asked.get("index"),
            index_range=chosen_range(asked.get("index_range")),
        )
        market = market_page(db, exchange, lang, choice)
    except BadChoice as e:
        return refused(lang, labels, e, asked.get("instrument"), remember)
    state: Choice = market["state"]
    client = {
        "lang": lang,
        "selected": market["selected"],
        "instruments": [
            {k: r[k] for k in ("id", "name", "last", "day", "volume", "prev_close")}
            for r in market["rows"]
        ],
        "bars": market["bars"],
        "more_bars": market["more_bars"],
        "range": state.range,
        "page": state.page,
        "rows_per_page": DAILY_ROWS,
        "range_months": RANGE_MONTHS,
        "defaults": DEFAULTS,
        "index": market["index_selected"],
        "index_points": market["index_points"],
        "more_index": market["more_index"],
        "index_range": state.index_range,
        "last_seq": market["last_seq"],
        "seen_trades": [tr.id for tr in market["trades"]],
        "labels": {k: labels[k] for k in CLIENT_LABELS},
    }
    html = render(
        "public.html",
        lang=lang,
        t=labels,
        m=market,
        client=client,
        ranges=RANGES,
        recent_days=RECENT_DAYS,
        query=lambda **changes: state_query(state, **changes),
        index_form=state_params(state, index=None),
        chart_library=(CHART_DIR / CHART_LIBRARY).is_file(),
        chart_src=f"/vendor/lightweight-charts/{CHART_LIBRARY}",
        lang_query=state_query(state),
        jst=jst,
        signed=signed,
        percent=percent,
    )
    return answer(html, lang, 200, remember)


def answer(html: str, lang: Lang, status: int, remember: bool) -> HTMLResponse:
    """The HTML answer with its language headers (and the language cookie when chosen)."""
    response = HTMLResponse(html, status_code=status)
    response.headers["Vary"] = "Cookie, Accept-Language"
    response.headers["Content-Language"] = lang
    if remember:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86_400, samesite="lax")
    return response


def refused(
    lang: Lang, labels: Mapping[str, str], e: BadChoice, instrument: str | None, remember: bool
) -> HTMLResponse:
    """The 400 page: what was refused, what is allowed, and the way back to the prices."""
    back = "?" + urlencode({"instrument": instrument}) if instrument else ""
    html = render(
        "public_error.html",
        lang=lang,
        t=labels,
        code=e.code,
        text=labels[e.key].format(**e.numbers),
        back=f"/{lang}{back}",
        lang_query=back,
    )
    return answer(html, lang, 400, remember)


Asked = Annotated[str | None, Query()]


def asked_state(
    instrument: Asked = None,
    range_: Annotated[str | None, Query(alias="range")] = None,
    page_: Annotated[str | None, Query(alias="page")] = None,
    index: Asked = None,
    index_range: Asked = None,
) -> dict[str, str | None]:
    """The page's state as its query string asks for it (checked by `page`)."""
    return {
        "instrument": instrument,
        "range": range_,
        "page": page_,
        "index": index,
        "index_range": index_range,
    }


State = Annotated[dict[str, str | None], Depends(asked_state)]


@router.get("/", response_class=HTMLResponse)
def public_page(
    request: Request,
    asked: State,
    lang: Annotated[str | None, Query(max_length=5)] = None,
    tanso_lang: Annotated[str | None, Cookie()] = None,
    accept_language: Annotated[str | None, Header()] = None,
) -> HTMLResponse:
    """The public price page in the visitor's language."""
    chosen = choose_lang(lang, tanso_lang, accept_language)
    return page(request, chosen, asked, lang in ("en", "ja"))


@router.get("/en", response_class=HTMLResponse)
def public_page_en(request: Request, asked: State) -> HTMLResponse:
    """The public price page in English (remembered)."""
    return page(request, "en", asked, remember=True)


@router.get("/ja", response_class=HTMLResponse)
def public_page_ja(request: Request, asked: State) -> HTMLResponse:
    """The public price page in Japanese (remembered)."""
    return page(request, "ja", asked, remember=True)
