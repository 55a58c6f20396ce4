"""Benchmark indices and the daily market report (日報): public reads, operator publication."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

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
from tanso.services.marketdata import daily_report, indices
from tanso.services.trading.exchange import Exchange
from tanso.web.documents import daily_report as document

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


@router.get("/reports", response_model=many(ReportDate), tags=["public"])
def report_dates(db: DB) -> list[dict[str, Any]]:
    """Every day with a daily report (日報), newest first, with links to each form."""
    out = []
    for day in daily_report.report_dates(db):
        base = f"/v1/market/reports/{day}"
        out.append(
            {
                "date": day,
                "links": {
                    f"{fmt}_{lang}": f"{base}?format={fmt}&lang={lang}"
                    for fmt in ("html", "csv", "pdf")
                    for lang in document.LANGS
                }
                | {"json": base},
            }
        )
    return out


@router.get(
    "/reports/{date}",
    response_model=DailyReport,
    tags=["public"],
    responses={200: {"content": {"text/html": {}, "text/csv": {}, "application/pdf": {}}}},
)
def report(
    date: dt.date,
    request: Request,
    db: DB,
    format: Literal["json", "html", "csv", "pdf"] = "json",
    lang: Literal["en", "ja"] = "en",
) -> daily_report.DailyReport | Response:
    """The daily market report (日報) of a day: per instrument each call auction's price and
    volume, the day's bar, next day's reference price and limits, and the index values."""
    rep = daily_report.build(db, _exchange(request), date)
    if format == "json":
        return rep
    name = f"tanso-daily-{date}-{lang}"
    if format == "csv":
        return PlainTextResponse(
            document.to_csv(rep, lang),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    if format == "pdf":
        return Response(
            document.to_pdf(rep, lang),
            media_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="{name}.pdf"'},
        )
    return HTMLResponse(document.to_html(rep, lang))
