"""Surveillance routes (売買審査): alerts, their review, and batch scans; exchange operator only.

Reads need the ``read`` scope and changes the ``operate`` scope, and the service refuses any caller
without the exchange operator's role: a participant's key answers 403 and never learns whether an
alert exists.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from pydantic import Field

from tanso.api.deps import DB, AnswerRoute, CanOperate, CanRead, IdemKey
from tanso.api.schemas import Body, answer, many
from tanso.domain import surveillance as sv
from tanso.services import surveillance

router = APIRouter(prefix="/v1/surveillance", tags=["surveillance"], route_class=AnswerRoute)

Alert = answer(surveillance.Alert, "SurveillanceAlert")
AlertDetail = answer(surveillance.AlertDetail, "SurveillanceAlertDetail")
Scan = answer(surveillance.Scan, "SurveillanceScan")

State = Literal["new", "reviewing", "dismissed", "escalated"]
RuleId = Literal[
    "wash_trade", "spoofing", "marking_close", "price_limit_hits", "concentration", "stp_cancels"
]
assert set(RuleId.__args__) == set(sv.RULE_IDS)  # type: ignore[attr-defined]
AlertId = Annotated[str, Path(min_length=1, max_length=20)]


class ScanIn(Body):
    from_date: dt.date = Field(alias="from", strict=False)
    to_date: dt.date = Field(alias="to", strict=False)


class NoteIn(Body):
    note: str = Field(default="", max_length=surveillance.NOTE_MAX)


@router.get("/alerts", response_model=many(Alert))
def list_alerts(
    db: DB,
    actor: CanRead,
    state: State | None = None,
    rule: RuleId | None = None,
    from_date: Annotated[dt.date | None, Query(alias="from")] = None,
    to_date: Annotated[dt.date | None, Query(alias="to")] = None,
    participant: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> list[surveillance.Alert]:
    """Surveillance alerts, newest first, by state, rule, trade dates (`from`, `to`) and
    participant; `before` (an alert id) pages back. Exchange operator only."""
    return surveillance.alerts(
        db,
        actor,
        state=state,
        rule=rule,
        from_date=from_date,
        to_date=to_date,
        participant=participant,
        limit=limit,
        before=before,
    )


@router.get("/alerts/{alert_id}", response_model=AlertDetail)
def get_alert(alert_id: AlertId, db: DB, actor: CanRead) -> surveillance.AlertDetail:
    """One alert with its evidence (orders, trades, the book before and after, the figures the
    rule compared) and its audit trail. Exchange operator only."""
    return surveillance.get_alert(db, actor, alert_id)


def _act(
    action: str, alert_id: str, body: NoteIn, db: DB, actor: CanOperate, idem: IdemKey
) -> surveillance.AlertDetail:
    return surveillance.act(db, actor, alert_id, action, body.note, idem)


@router.post("/alerts/{alert_id}/review", response_model=AlertDetail)
def review(
    alert_id: AlertId, body: NoteIn, db: DB, actor: CanOperate, idem: IdemKey
) -> surveillance.AlertDetail:
    """Take a new alert into review (new → reviewing), with an optional note."""
    return _act("review", alert_id, body, db, actor, idem)


@router.post("/alerts/{alert_id}/dismiss", response_model=AlertDetail)
def dismiss(
    alert_id: AlertId, body: NoteIn, db: DB, actor: CanOperate, idem: IdemKey
) -> surveillance.AlertDetail:
    """Dismiss an alert (new or reviewing → dismissed); the note saying why is required."""
    return _act("dismiss", alert_id, body, db, actor, idem)


@router.post("/alerts/{alert_id}/escalate", response_model=AlertDetail)
def escalate(
    alert_id: AlertId, body: NoteIn, db: DB, actor: CanOperate, idem: IdemKey
) -> surveillance.AlertDetail:
    """Escalate an alert (new or reviewing → escalated); the note saying why is required."""
    return _act("escalate", alert_id, body, db, actor, idem)


@router.post("/scan", response_model=Scan)
def scan(body: ScanIn, db: DB, actor: CanOperate) -> surveillance.Scan:
    """Run every enabled rule over the history and raise the findings of trade dates `from` to
    `to` (alerts raised before, online or by an earlier scan, are not raised again)."""
    return surveillance.scan(db, actor, body.from_date, body.to_date)
