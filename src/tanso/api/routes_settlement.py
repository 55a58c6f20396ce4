"""Settlement routes: runs, obligations, failures, fee schedules and the daily report."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import HTMLResponse, PlainTextResponse

from tanso.api import schemas as s
from tanso.api.deps import DB, AnswerRoute, CanOperate, CanRead, IdemKey
from tanso.api.schemas import many
from tanso.api.schemas_exchange import (
    FeeSchedule,
    Obligation,
    ObligationResolution,
    SettlementReport,
    SettlementRun,
    SettlementRunSummary,
)
from tanso.domain.fees import FeeSchedule as Schedule
from tanso.services.clearing import settlement
from tanso.web import render

router = APIRouter(prefix="/v1", tags=["settlement"], route_class=AnswerRoute)


@router.post("/settlement/runs", response_model=SettlementRun, status_code=201)
def run(body: s.SettlementRunIn, db: DB, actor: CanOperate, idem: IdemKey) -> settlement.Run:
    """Settle every pending obligation due on or before `date` (exchange operator). Running a
    date twice settles nothing twice. A date after today's business date is refused (409
    `settlement_date_in_future`) unless `early` is true, an override the run's entry records."""
    return settlement.run(db, actor, body.date, idem, early=body.early)


@router.get("/settlement/runs", response_model=many(SettlementRunSummary))
def runs(db: DB, actor: CanRead) -> list[settlement.RunSummary]:
    return settlement.runs(db, actor)


@router.get("/settlement/obligations", response_model=many(Obligation))
def obligations(
    db: DB,
    actor: CanRead,
    status: Annotated[Literal["pending", "settled", "failed", "cancelled"] | None, Query()] = None,
    date: dt.date | None = None,
) -> list[settlement.ObligationView]:
    """Obligations due, settled and failed, with the serials received: your own (the operator:
    everyone's)."""
    return settlement.obligations(db, actor, status, date.isoformat() if date else None)


@router.post("/settlement/obligations/{deal_id}/settle", response_model=ObligationResolution)
def settle_later(deal_id: str, db: DB, actor: CanOperate, idem: IdemKey) -> settlement.Resolution:
    """Settle a failed obligation now; the party at fault pays the late charge (operator)."""
    return settlement.resolve(db, actor, deal_id, "settle", idem)


@router.post("/settlement/obligations/{deal_id}/cancel", response_model=ObligationResolution)
def cancel_trade(deal_id: str, db: DB, actor: CanOperate, idem: IdemKey) -> settlement.Resolution:
    """Cancel a failed trade: both reservations are released (operator)."""
    return settlement.resolve(db, actor, deal_id, "cancel", idem)


@router.get(
    "/settlement/reports/{date}",
    response_model=SettlementReport,
    responses={200: {"content": {"text/html": {}, "text/csv": {}}}},
)
def report(
    date: dt.date,
    db: DB,
    actor: CanRead,
    format: Annotated[Literal["json", "csv", "html"], Query()] = "json",
) -> settlement.Report | Response:
    """The settlement report of a date, reconciled (operator): JSON, CSV or HTML."""
    rep = settlement.report(db, actor, date)
    if format == "csv":
        return PlainTextResponse(
            settlement.report_csv(rep),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="settlement-{date}.csv"'},
        )
    if format == "html":
        return HTMLResponse(render("settlement_report.html", r=rep))
    return rep


@router.get("/fees", response_model=many(FeeSchedule), tags=["public"])
def fees(db: DB) -> list[settlement.Fees]:
    """The fee schedule (zero unless set, as at TSE today)."""
    return settlement.list_fees(db)


@router.put("/fees/{instrument_id}/{side}", response_model=FeeSchedule)
def set_fees(
    instrument_id: str,
    side: Literal["buy", "sell"],
    body: s.FeesIn,
    db: DB,
    actor: CanOperate,
    idem: IdemKey,
) -> settlement.Fees:
    """Set one side's fees on an instrument, or on every instrument with `*` (operator)."""
    schedule = Schedule(body.per_tonne, body.bps, body.per_trade, body.late_charge)
    return settlement.set_fees(db, actor, instrument_id, side, schedule, idem)
