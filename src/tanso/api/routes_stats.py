"""Public statistics of the registry and the market (issue 22, docs/statistics.md): every figure
of the /stats pages as JSON, or as CSV with ``format=csv``. Folded from the journal; each answer
says up to which journal entry (``period.as_of_seq``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import PlainTextResponse

from tanso.api.deps import DB, AnswerRoute
from tanso.api.schemas import answer
from tanso.services.marketdata import stats

router = APIRouter(prefix="/v1/stats", tags=["public"], route_class=AnswerRoute)

RegistryOut = answer(stats.RegistryStats)
MarketOut = answer(stats.MarketStats)
PurposesOut = answer(stats.PurposeStats, "RetirementPurposeStats")
ParticipantsOut = answer(stats.ParticipantStats)
UsageOut = answer(stats.UsageStats, "UsageOutcomeStats")

Start = Annotated[
    dt.date | None, Query(alias="from", description="First day included (Japan's date).")
]
End = Annotated[dt.date | None, Query(alias="to", description="Last day included.")]
Format = Literal["json", "csv"]
CSV_OUT: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {}}}}


def _csv(name: str, kind: type, rows: list[Any]) -> Response:
    return PlainTextResponse(
        stats.to_csv(kind, rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="tanso-stats-{name}.csv"'},
    )


@router.get("/registry", response_model=RegistryOut, responses=CSV_OUT)
def registry_stats(
    db: DB,
    by: Annotated[str, Query(max_length=16, description=", ".join(stats.REGISTRY_BY))] = "scheme",
    start: Start = None,
    end: End = None,
    credits_only: Annotated[
        bool, Query(description="Leave out GX-ETS allowances (credit type AL).")
    ] = False,
    format: Format = "json",
) -> stats.RegistryStats | Response:
    """Credits issued, imported, transferred, retired, cancelled and exported, in tonnes, per
    scheme, category, credit type, vintage, region (a prefecture in Japan, else the country)
    or month."""
    out = stats.registry(db, by, start, end, credits_only)
    return _csv(f"registry-by-{by}", stats.RegistryRow, out.rows) if format == "csv" else out


@router.get("/market", response_model=MarketOut, responses=CSV_OUT)
def market_stats(
    db: DB,
    by: Annotated[str, Query(max_length=16, description=", ".join(stats.MARKET_BY))] = "venue",
    start: Start = None,
    end: End = None,
    format: Format = "json",
) -> stats.MarketStats | Response:
    """Traded volume (tonnes), value (yen), trades and VWAP per instrument, venue (exchange,
    marketplace, auction) or month. A busted trade is taken off its trade date."""
    out = stats.market(db, by, start, end)
    return _csv(f"market-by-{by}", stats.MarketRow, out.rows) if format == "csv" else out


@router.get("/retirements", response_model=PurposesOut, responses=CSV_OUT)
def retirement_stats(
    db: DB, start: Start = None, end: End = None, format: Format = "json"
) -> stats.PurposeStats | Response:
    """Retirements by purpose: tonnes and number (one with two purposes counts under each)."""
    out = stats.purposes(db, start, end)
    return _csv("retirements-by-purpose", stats.PurposeRow, out.rows) if format == "csv" else out


@router.get("/participants", response_model=ParticipantsOut, responses=CSV_OUT)
def participant_stats(db: DB, format: Format = "json") -> stats.ParticipantStats | Response:
    """Participants registered, and active now, by kind and country (never by name)."""
    out = stats.participants(db)
    return _csv("participants", stats.ParticipantRow, out.rows) if format == "csv" else out


@router.get("/usage", response_model=UsageOut, responses=CSV_OUT)
def usage_stats(
    db: DB, start: Start = None, end: End = None, format: Format = "json"
) -> stats.UsageStats | Response:
    """The usage rules' verdicts on retirements in aggregate: per purpose and rule set, tonnes
    retired clean or with warnings."""
    out = stats.usage(db, start, end)
    return _csv("usage-outcomes", stats.UsageRow, out.rows) if format == "csv" else out
