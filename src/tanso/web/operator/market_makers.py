"""The operator's market-maker screen: programmes and their terms, who is appointed, each market
maker's compliance in a month, the monthly report (CSV, English or Japanese), appointing a market
maker, defining a programme and paying a month's incentives."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from tanso.domain.errors import TansoError
from tanso.domain.market_making import Programme
from tanso.services import market_makers as mm
from tanso.services.access.users import PortalUser
from tanso.services.trading import exchange as xs
from tanso.web import kit
from tanso.web.kit import Form, OperatorUser
from tanso.web.operator.common import operator_page

router = APIRouter(prefix="/portal/operator", route_class=kit.ScreenRoute, include_in_schema=False)

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
PROGRAMME_FIELDS = (
    "id",
    "instrument",
    "name_en",
    "name_ja",
    "starts",
    "ends",
    "max_spread",
    "min_quantity",
    "min_presence_pct",
    "incentive_per_day",
)


def _month(request: Request, given: str | None = None) -> str:
    month = given or request.query_params.get("month", "")
    if MONTH.match(month):
        return month
    now = dt.datetime.fromisoformat(kit.db(request).clock().replace("Z", "+00:00"))
    return f"{now:%Y-%m}"


def _page(
    request: Request, user: PortalUser, state: kit.FormState | None = None, month: str = ""
) -> Response:
    db = kit.db(request)
    state = state or kit.FormState()
    month = _month(request, month)
    lang = kit.lang_of(request)
    compliance = {(c.programme_id, c.participant_id): c for c in mm.monthly(db, month)}
    programmes = [
        {
            "p": p,
            "name": p.name_ja if lang == "ja" else p.name_en,
            "makers": [
                {"m": m, "c": compliance.get((p.id, m.participant_id))} for m in p.market_makers
            ],
        }
        for p in mm.list_programmes(db)
    ]
    return operator_page(
        request,
        "operator_market_makers.html",
        user,
        state.status,
        programmes=programmes,
        instruments=xs.list_instruments(db),
        month=month,
        **state.shown(),
    )


@router.get("/market-makers", response_class=HTMLResponse)
def market_makers_screen(request: Request, user: OperatorUser) -> Response:
    return _page(request, user)


@router.get("/market-makers/report.csv")
def report(request: Request, user: OperatorUser) -> Response:
    month = _month(request)
    lang = "ja" if request.query_params.get("lang") == "ja" else "en"
    text = mm.monthly_report_csv(kit.db(request), user.actor, month, lang)
    return PlainTextResponse(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="market-makers-{month}-{lang}.csv"'},
    )


@router.post("/market-makers/appoint")
def appoint(request: Request, user: OperatorUser, form: Form) -> Response:
    t = kit.labels(request, "operator")
    programme, pid = form.get("programme", ""), form.get("participant", "").strip().upper()
    try:
        mm.appoint(kit.db(request), user.actor, programme, pid)
    except TansoError as e:
        return _page(request, user, kit.FormState.refused(e, form, ("participant", "programme")))
    notice = t["mm_appointed"].format(participant=pid, programme=programme)
    return _page(request, user, kit.FormState(notice=notice))


@router.post("/market-makers/programmes")
def define(request: Request, user: OperatorUser, form: Form) -> Response:
    t = kit.labels(request, "operator")
    errors: dict[str, str] = {}
    terms: dict[str, Any] = {
        name: form.get(name, "").strip()
        for name in ("id", "instrument", "name_en", "name_ja", "starts", "ends")
    }
    for name, value in terms.items():
        if not value:
            errors[name] = t["required"]
    for name in ("max_spread", "min_quantity", "min_presence_pct", "incentive_per_day"):
        terms[name] = kit.required_int(form, name, t, errors)
    if errors:
        return _page(request, user, kit.FormState.invalid(form, errors, t))
    terms |= {"window_from": "13:00", "window_to": "15:00", "timezone": "Asia/Tokyo"}
    try:
        programme = Programme.from_json(terms)
        mm.define_programme(kit.db(request), user.actor, programme)
    except TansoError as e:
        return _page(request, user, kit.FormState.refused(e, form, PROGRAMME_FIELDS))
    return _page(request, user, kit.FormState(notice=t["mm_defined"].format(programme=terms["id"])))


@router.post("/market-makers/incentives")
def pay(request: Request, user: OperatorUser, form: Form) -> Response:
    t = kit.labels(request, "operator")
    month = form.get("month", "")
    if not MONTH.match(month):
        return _page(request, user, kit.FormState.invalid(form, {"month": t["mm_month"]}, t))
    try:
        paid = mm.pay_incentives(kit.db(request), user.actor, month)
    except TansoError as e:
        return _page(request, user, kit.FormState.refused(e, form, ("month",)), month)
    total = sum(p.amount for p in paid)
    notice = t["mm_paid"].format(month=month, count=len(paid), amount=f"{total:,}")
    return _page(request, user, kit.FormState(notice=notice), month)
