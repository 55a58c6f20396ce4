"""Benchmark indices and the market reports (日報, 週報, 月報): public reads, operator
publication."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import HTMLResponse, PlainTextResponse
from pydantic import Field

from tanso.api.deps import DB, AnswerRoute, CanOperate, IdemKey
from tanso.api.schemas import Body, many
from tanso.api.schemas_exchange import (
    DailyReport,
    IndexValue,
    ReportDate,
)
from tanso.api.schemas_reports import PeriodReport, ReportPeriod
from tanso.services.marketdata import daily_report, indices, period_report
from tanso.services.trading.exchange import Exchange
from tanso.web.documents import daily_report as document
from tanso.web.documents import period_report as period_document

R = TypeVar("R")

router = APIRouter(prefix="/v1/market", route_class=AnswerRoute)


class IndexComputeIn(Body):
    date: dt.date = Field(strict=False)  # JSON has no date type: an ISO string is the date


def _exchange(request: Request) -> Exchange:
    x: Exchange = request.app.state.exchange
    return x


@router.get("/indices", response_model=many(IndexValue), tags=["public"])
def latest_indices(db: DB) -> list[indices.IndexValue]:
    """The latest published value of each benchmark index, with the rule that produced it
    (vwap, mid, previous, none; the composite: weighted). Methodology: docs/indices.md."""
    return indices.latest(db)


@router.get(
    "/indices/{index_id}",
    response_model=many(IndexValue),
    tags=["public"],
    responses={200: {"content": {"text/csv": {}}}},
)
def index_history(
    db: DB,
    index_id: Annotated[str, Path(min_length=1, max_length=40)],
    start: Annotated[dt.date | None, Query(alias="from")] = None,
    end: Annotated[dt.date | None, Query(alias="to")] = None,
    limit: Annotated[int, Query(ge=1, le=indices.MAX_HISTORY)] = 1_000,
    format: Literal["json", "csv"] = "json",
) -> list[indices.IndexValue] | Response:
    """One index's published values, oldest first; `from` and `to` are dates (both included);
    `format=csv` for a spreadsheet."""
    values = indices.history(db, index_id, start, end, limit)
    if format == "csv":
        return PlainTextResponse(indices.history_csv(values), media_type="text/csv")
    return values


@router.post(
    "/indices/compute", response_model=many(IndexValue), status_code=201, tags=["exchange"]
)
def compute_indices(
    body: IndexComputeIn, request: Request, db: DB, actor: CanOperate, idem: IdemKey
) -> list[indices.IndexValue]:
    """Compute and publish every index's value for a business day (operator). Run it after the
    15:00 call auction, before the close; a date already published answers with its values."""
    return indices.compute(db, _exchange(request), body.date, actor, idem)


def _links(base: str) -> dict[str, str]:
    """A report's URL in each form and language."""
    return {
        f"{fmt}_{lang}": f"{base}?format={fmt}&lang={lang}"
        for fmt in ("html", "csv", "pdf")
        for lang in document.LANGS
    } | {"json": base}


def _answer(figures: R, fmt: str, lang: str, name: str, forms: Any) -> R | Response:
    """A report in the form asked for: its figures (JSON), or HTML, CSV or PDF."""
    if fmt == "json":
        return figures
    if fmt == "csv":
        return PlainTextResponse(
            forms.to_csv(figures, lang),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    if fmt == "pdf":
        return Response(
            forms.to_pdf(figures, lang),
            media_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="{name}.pdf"'},
        )
    return HTMLResponse(forms.to_html(figures, lang))


REPORT_FORMS: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/html": {}, "text/csv": {}, "application/pdf": {}}}
}


@router.get("/reports", response_model=many(ReportDate), tags=["public"])
def report_dates(db: DB) -> list[dict[str, Any]]:
    """Every day with a daily report (日報), newest first, with links to each form."""
    return [
        {"date": day, "links": _links(f"/v1/market/reports/{day}")}
        for day in daily_report.report_dates(db)
    ]


def _periods(db: DB, kind: str) -> list[dict[str, Any]]:
    return [
        {
            "period": p.name,
            "start": p.start.isoformat(),
            "end": p.end.isoformat(),
            "links": _links(f"/v1/market/reports/{kind}/{p.name}"),
        }
        for p in period_report.periods(db, kind)
    ]


@router.get("/reports/weekly", response_model=many(ReportPeriod), tags=["public"])
def weekly_reports(db: DB) -> list[dict[str, Any]]:
    """Every ISO week with market data (a weekly report, 週報), newest first, with links to each
    form."""
    return _periods(db, "weekly")


@router.get("/reports/monthly", response_model=many(ReportPeriod), tags=["public"])
def monthly_reports(db: DB) -> list[dict[str, Any]]:
    """Every month with market data (a monthly report, 月報), newest first, with links to each
    form."""
    return _periods(db, "monthly")


Format = Literal["json", "html", "csv", "pdf"]
Lang = Literal["en", "ja"]


@router.get(
    "/reports/weekly/{week}", response_model=PeriodReport, tags=["public"], responses=REPORT_FORMS
)
def weekly_report(
    week: Annotated[
        str,
        Path(
            min_length=8,
            max_length=8,
            description="An ISO 8601 week, YYYY-Www (Monday to Sunday), e.g. 2026-W49.",
        ),
    ],
    request: Request,
    db: DB,
    format: Format = "json",
    lang: Lang = "en",
) -> period_report.PeriodReport | Response:
    """The weekly market report (週報) of an ISO week, folded from the daily reports of its days:
    per instrument the week's 4本値 (first open, highest high, lowest low, last close), volume,
    value, VWAP, trades, days traded and call auctions; per index first, last, high, low and
    change; sealed-bid auctions cleared; credits issued, retired and transferred by scheme.
    A week with no market data answers 404 `no_market_data`; a week its ISO year does not have
    (2025-W53) 422 `invalid_week`."""
    rep = period_report.build(db, _exchange(request), period_report.week(week))
    return _answer(rep, format, lang, f"tanso-weekly-{rep.period}-{lang}", period_document)


@router.get(
    "/reports/monthly/{month}",
    response_model=PeriodReport,
    tags=["public"],
    responses=REPORT_FORMS,
)
def monthly_report(
    month: Annotated[
        str, Path(min_length=7, max_length=7, description="A calendar month, YYYY-MM.")
    ],
    request: Request,
    db: DB,
    format: Format = "json",
    lang: Lang = "en",
) -> period_report.PeriodReport | Response:
    """The monthly market report (月報) of a calendar month, folded from the daily reports of
    its days (the same figures as the weekly report). A month with no market data answers 404
    `no_market_data`; a malformed one 422 `invalid_month`."""
    rep = period_report.build(db, _exchange(request), period_report.month(month))
    return _answer(rep, format, lang, f"tanso-monthly-{rep.period}-{lang}", period_document)


@router.get("/reports/{date}", response_model=DailyReport, tags=["public"], responses=REPORT_FORMS)
def report(
    date: dt.date,
    request: Request,
    db: DB,
    format: Format = "json",
    lang: Lang = "en",
) -> daily_report.DailyReport | Response:
    """The daily market report (日報) of a day: per instrument each call auction's price and
    volume, the day's bar, next day's reference price and limits, and the index values; its
    HTML links to the week and the month it belongs to."""
    rep = daily_report.build(db, _exchange(request), date)
    return _answer(rep, format, lang, f"tanso-daily-{date}-{lang}", document)
