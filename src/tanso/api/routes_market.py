"""Public market data routes (no key): bars."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import PlainTextResponse

from tanso.api.deps import DB, AnswerRoute
from tanso.api.schemas import many
from tanso.api.schemas_exchange import (
    Bar,
)
from tanso.services.marketdata import events as marketdata

router = APIRouter(prefix="/v1/market", tags=["public"], route_class=AnswerRoute)


@router.get("/bars", response_model=many(Bar), responses={200: {"content": {"text/csv": {}}}})
def bars(
    db: DB,
    instrument: Annotated[str, Query(min_length=1, max_length=40)],
    interval: Literal["1d", "1w", "1mo"] = "1d",
    start: Annotated[dt.date | None, Query(alias="from")] = None,
    end: Annotated[dt.date | None, Query(alias="to")] = None,
    limit: Annotated[int, Query(ge=1, le=5_000)] = 1_000,
    format: Literal["json", "csv"] = "json",
) -> list[dict[str, Any]] | Response:
    """4本値 bars (open, high, low, close, volume, value, VWAP, trades) per day, week or month,
    oldest first; `from` and `to` are dates; `format=csv` for a spreadsheet."""
    rows = marketdata.bars(db, instrument, interval, start, end, limit)
    if format == "csv":
        return PlainTextResponse(marketdata.bars_csv(rows), media_type="text/csv")
    return rows
