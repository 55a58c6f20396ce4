"""Market-maker routes: the public list of programmes and their market makers, the operator's
programmes, appointments, incentives and monthly report, and a market maker's compliance."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import Field

from tanso.api.deps import DB, AnswerRoute, CanOperate, CanRead, IdemKey
from tanso.api.schemas import Body, answer, many
from tanso.domain.market_making import Programme
from tanso.services import market_makers as mm

router = APIRouter(prefix="/v1", tags=["market makers"], route_class=AnswerRoute)

ProgrammeOut = answer(mm.ProgrammeView, "MarketMakerProgramme")
AppointmentOut = answer(mm.Appointment, "MarketMakerAppointment")
ComplianceOut = answer(mm.Compliance, "MarketMakerCompliance")
IncentiveOut = answer(mm.IncentivePaid, "MarketMakerIncentive")

Clock = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]


class ProgrammeIn(Body):
    id: str = Field(min_length=2, max_length=40, pattern=r"^[A-Z0-9][A-Z0-9_-]*$")
    instrument: str = Field(min_length=1, max_length=40)
    name_en: str = Field(min_length=1, max_length=200)
    name_ja: str = Field(min_length=1, max_length=200)
    starts: dt.date = Field(strict=False)  # JSON has no date type: an ISO string is the date
    ends: dt.date = Field(strict=False)
    window_from: Clock = "13:00"
    window_to: Clock = "15:00"
    timezone: Literal["Asia/Tokyo"] = "Asia/Tokyo"
    max_spread: int = Field(ge=1, le=10**9, description="Yen between the bid and the ask, at most.")
    min_quantity: int = Field(ge=1, le=10**9, description="Tonnes on each side, at least.")
    min_presence_pct: int = Field(ge=1, le=100, description="Share of the window quoted, at least.")
    incentive_per_day: int = Field(default=0, ge=0, le=10**10, description="Yen per compliant day.")


class AppointmentIn(Body):
    participant_id: str = Field(min_length=2, max_length=40)


class MonthIn(Body):
    month: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")


@router.get("/market-makers", response_model=many(ProgrammeOut), tags=["public"])
def programmes(db: DB) -> list[mm.ProgrammeView]:
    """Every market-maker programme, its terms and who makes markets in it now (public, as JPX
    publishes its market makers)."""
    return mm.list_programmes(db)


@router.post("/market-makers/programmes", response_model=ProgrammeOut, status_code=201)
def define(body: ProgrammeIn, db: DB, actor: CanOperate, idem: IdemKey) -> mm.ProgrammeView:
    """Define a programme for an instrument and a period (exchange operator)."""
    data = body.model_dump()
    data["starts"], data["ends"] = body.starts.isoformat(), body.ends.isoformat()
    p = mm.define_programme(db, actor, Programme.from_json(data), idem)
    return mm.ProgrammeView(**p.as_json(), market_makers=[])


@router.post(
    "/market-makers/programmes/{programme_id}/appointments",
    response_model=AppointmentOut,
    status_code=201,
)
def appoint(
    programme_id: str, body: AppointmentIn, db: DB, actor: CanOperate, idem: IdemKey
) -> mm.Appointment:
    """Appoint a participant with the market_maker role to a programme (exchange operator):
    its orders on the instrument are quotes from then on."""
    return mm.appoint(db, actor, programme_id, body.participant_id, idem)


@router.delete(
    "/market-makers/programmes/{programme_id}/appointments/{participant_id}",
    response_model=AppointmentOut,
)
def end(
    programme_id: str, participant_id: str, db: DB, actor: CanOperate, idem: IdemKey
) -> mm.Appointment:
    """End an appointment (exchange operator)."""
    return mm.end_appointment(db, actor, programme_id, participant_id, idem)


@router.get("/market-makers/{participant_id}/compliance", response_model=many(ComplianceOut))
def compliance(
    participant_id: str,
    db: DB,
    actor: CanRead,
    start: Annotated[dt.date, Query(alias="from")],
    end: Annotated[dt.date, Query(alias="to")],
    instrument: Annotated[str | None, Query(max_length=40)] = None,
) -> list[mm.Compliance]:
    """A market maker's compliance day by day: the share of each day's window in which it quoted
    both sides within the programme's spread and size (the market maker and the operator)."""
    return mm.compliance(db, actor, participant_id, instrument, start, end)


@router.get(
    "/market-makers/reports/{month}",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "The report as CSV."}},
)
def monthly_report(
    month: Annotated[str, Path(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")],
    db: DB,
    actor: CanRead,
    lang: Literal["en", "ja"] = "en",
) -> Response:
    """The month's compliance of every market maker, as CSV (exchange operator)."""
    text = mm.monthly_report_csv(db, actor, month, lang)
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="market-makers-{month}.csv"'},
    )


@router.post("/market-makers/incentives", response_model=many(IncentiveOut))
def pay(body: MonthIn, db: DB, actor: CanOperate) -> list[mm.IncentivePaid]:
    """Pay the incentives earned in a month that has ended, from the fee income (exchange
    operator); a month is paid once."""
    return mm.pay_incentives(db, actor, body.month)
