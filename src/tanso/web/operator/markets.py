"""The operator's market screens: instruments and their sessions, settlement, fee schedules."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from tanso.domain.errors import TansoError
from tanso.domain.fees import FeeSchedule
from tanso.http_status import status_of
from tanso.services.access.users import PortalUser
from tanso.services.clearing import settlement
from tanso.services.trading import bust_requests
from tanso.services.trading import exchange as xs
from tanso.web import kit
from tanso.web.kit import Form, OperatorUser
from tanso.web.operator.common import operator_page
from tanso.web.portal.orders import markets

router = APIRouter(prefix="/portal/operator", route_class=kit.ScreenRoute, include_in_schema=False)

SESSION_ACTIONS = ("open", "close", "halt", "resume", "auction")


# ---------------------------------------------------------------- instruments and sessions


def _instruments_page(
    request: Request, user: PortalUser, status: int = 200, **context: Any
) -> Response:
    return operator_page(
        request,
        "operator_instruments.html",
        user,
        status,
        markets=markets(request, user),
        actions=SESSION_ACTIONS,
        **context,
    )


@router.get("/instruments", response_class=HTMLResponse)
def instruments_screen(request: Request, user: OperatorUser) -> Response:
    return _instruments_page(request, user)


@router.post("/instruments/{instrument}/{action}")
def session_action(request: Request, user: OperatorUser, instrument: str, action: str) -> Response:
    t = kit.labels(request, "operator")
    if action not in SESSION_ACTIONS:
        return _instruments_page(request, user, 404, errors={"_form": t["not_found_text"]})
    try:
        out = kit.exchange(request).session(user.actor, instrument, action)
    except TansoError as e:
        return _instruments_page(
            request, user, 409, errors={"_form": e.message, f"i-{instrument}": e.message}
        )
    notice = t["session_done"].format(
        instrument=instrument, action=t[f"act_{action}"], state=out.state
    )
    results = []
    for a in out.auctions:
        if a.price is None:
            results.append(t["auction_none"].format(instrument=a.instrument))
        else:
            results.append(
                t["auction_result"].format(
                    instrument=a.instrument,
                    price=f"¥{a.price:,}",
                    volume=f"{a.volume:,}",
                    trades=len(out.trades),
                )
            )
    return _instruments_page(request, user, notice=notice, results=results, trades=out.trades)


# ---------------------------------------------------------------- settlement


def _settlement_page(
    request: Request, user: PortalUser, status: int = 200, **context: Any
) -> Response:
    db = kit.db(request)
    return operator_page(
        request,
        "operator_settlement.html",
        user,
        status,
        runs=settlement.runs(db, user.actor, 50),
        failed=settlement.obligations(db, user.actor, "failed", limit=200),
        pending=settlement.obligations(db, user.actor, "pending", limit=200),
        today=settlement.business_date(db).isoformat(),
        reasons=xs.BUST_REASONS,
        bust_requests=bust_requests.list_requests(db, user.actor, "pending", 200),
        **context,
    )


@router.get("/settlement", response_class=HTMLResponse)
def settlement_screen(request: Request, user: OperatorUser) -> Response:
    return _settlement_page(request, user)


@router.post("/settlement/run")
def run_settlement(request: Request, user: OperatorUser, form: Form) -> Response:
    t = kit.labels(request, "operator")
    try:
        date = dt.date.fromisoformat(form.get("date", "").strip())
    except ValueError:
        return _settlement_page(
            request, user, 422, values=form, errors={"date": t["not_a_date"], "_form": t["error"]}
        )
    try:
        early = form.get("early") == "1"  # the operator's journaled override
        out = settlement.run(kit.db(request), user.actor, date, early=early)
    except TansoError as e:
        return _settlement_page(
            request, user, status_of(e), values=form, errors={"date": e.message}
        )
    notice = t["run_done"].format(date=out.date, settled=out.settled, failed=out.failed)
    return _settlement_page(request, user, notice=notice, values=form)


@router.post("/settlement/obligations/{deal_id}/{action}")
def resolve_obligation(request: Request, user: OperatorUser, deal_id: str, action: str) -> Response:
    t = kit.labels(request, "operator")
    try:
        out = settlement.resolve(kit.db(request), user.actor, deal_id, action)
    except TansoError as e:
        return _settlement_page(
            request, user, 409, errors={"_form": e.message, f"o-{deal_id}": e.message}
        )
    status = out.status if isinstance(out, settlement.Cancelled) else "settled"
    return _settlement_page(
        request, user, notice=t["resolved"].format(trade=deal_id, status=status)
    )


@router.post("/trades/{trade_id}/bust")
def bust_trade(request: Request, user: OperatorUser, trade_id: str, form: Form) -> Response:
    t = kit.labels(request, "operator")
    try:
        out = kit.exchange(request).bust(
            user.actor, trade_id, form.get("reason_code", ""), form.get("note", "").strip()
        )
    except TansoError as e:
        return _settlement_page(
            request, user, status_of(e), errors={"_form": e.message, f"o-{trade_id}": e.message}
        )
    notice = t["busted"].format(
        trade=out.trade_id, credits=f"{out.released_credits:,}", cash=f"{out.released_cash:,}"
    )
    return _settlement_page(request, user, notice=notice)


# ---------------------------------------------------------------- fee schedules


def _fees_page(request: Request, user: PortalUser, status: int = 200, **context: Any) -> Response:
    db = kit.db(request)
    return operator_page(
        request,
        "operator_fees.html",
        user,
        status,
        fees=settlement.list_fees(db),
        instruments=xs.list_instruments(db),
        **context,
    )


@router.get("/fees", response_class=HTMLResponse)
def fees_screen(request: Request, user: OperatorUser) -> Response:
    return _fees_page(request, user)


@router.post("/fees")
def set_fees(request: Request, user: OperatorUser, form: Form) -> Response:
    t = kit.labels(request, "operator")
    errors: dict[str, str] = {}
    instrument = form.get("instrument", "")
    if not instrument:
        errors["instrument"] = t["choose"]
    side = form.get("side", "")
    if side not in ("buy", "sell"):
        errors["side"] = t["choose"]
    amounts = {
        name: kit.required_int(form, name, t, errors)
        for name in ("per_tonne", "bps", "per_trade", "late_charge")
    }
    if not errors:
        try:
            schedule = FeeSchedule(**amounts)
        except TansoError as e:
            name = next((n for n in amounts if n in e.message), "_form")
            errors[name] = e.message
    if errors:
        return _fees_page(request, user, 422, values=form, errors=errors | {"_form": t["error"]})
    try:
        settlement.set_fees(kit.db(request), user.actor, instrument, side, schedule)
    except TansoError as e:
        where = kit.field_for(e.code, ("instrument", "side"))
        return _fees_page(request, user, status_of(e), values=form, errors={where: e.message})
    notice = t["fees_set"].format(instrument=instrument, side=t[side])
    return _fees_page(request, user, notice=notice)
