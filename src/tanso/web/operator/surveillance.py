"""The operator's surveillance screens (売買審査): the alerts, filtered, with the counts by state
and a batch scan; one alert with its evidence, its audit trail and the forms that review,
dismiss or escalate it.

Only an operator's user gets here (the kit's ``OperatorUser``); the service checks the exchange
operator's role again, so a registry operator's user is refused there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from tanso.domain import surveillance as sv
from tanso.domain.errors import NotFound, TansoError
from tanso.http_status import status_of
from tanso.services import surveillance
from tanso.services.access.users import PortalUser
from tanso.web import kit
from tanso.web.i18n import texts
from tanso.web.kit import Form, OperatorUser
from tanso.web.operator.common import operator_page

router = APIRouter(
    prefix="/portal/operator/surveillance", route_class=kit.ScreenRoute, include_in_schema=False
)


def surveillance_texts(request: Request) -> Mapping[str, str]:
    """The texts of the surveillance screens (context ``surveillance``)."""
    return texts(kit.lang_of(request), "surveillance")


def _day(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _list(request: Request, user: PortalUser, status: int = 200, **context: Any) -> Response:
    q = request.query_params
    state = q.get("state") if q.get("state") in surveillance.STATES else None
    rule = q.get("rule") if q.get("rule") in sv.RULE_IDS else None
    first, last = _day(q.get("from")), _day(q.get("to"))
    db = kit.db(request)
    return operator_page(
        request,
        "operator_surveillance.html",
        user,
        status,
        s=surveillance_texts(request),
        alerts=surveillance.alerts(
            db, user.actor, state=state, rule=rule, from_date=first, to_date=last, limit=200
        ),
        counts=surveillance.counts(db, user.actor),
        states=surveillance.STATES,
        rules=sv.RULE_IDS,
        filters={
            "state": state or "",
            "rule": rule or "",
            "from": first.isoformat() if first else "",
            "to": last.isoformat() if last else "",
        },
        **context,
    )


@router.get("", response_class=HTMLResponse)
def list_screen(request: Request, user: OperatorUser) -> Response:
    return _list(request, user)


@router.post("/scan")
def scan(request: Request, user: OperatorUser, form: Form) -> Response:
    s = surveillance_texts(request)
    first, last = _day(form.get("from")), _day(form.get("to"))
    if first is None or last is None:
        return _list(request, user, 422, errors={"_form": s["sv_dates_required"]})
    try:
        out = surveillance.scan(kit.db(request), user.actor, first, last)
    except TansoError as e:
        return _list(request, user, status_of(e), errors={"_form": e.message})
    notice = s["sv_scanned"].format(entries=out.entries, findings=out.findings, raised=out.raised)
    return _list(request, user, notice=notice)


def _detail(
    request: Request, user: PortalUser, alert_id: str, status: int = 200, **context: Any
) -> Response:
    try:
        found = surveillance.get_alert(kit.db(request), user.actor, alert_id)
    except NotFound:
        return kit.not_found(request, user)
    evidence = found.evidence
    figures = {
        k: v
        for k, v in evidence.items()
        if not isinstance(v, list | dict) and k not in ("journal_seq",)
    }
    return operator_page(
        request,
        "operator_surveillance_alert.html",
        user,
        status,
        s=surveillance_texts(request),
        a=found,
        figures=figures,
        orders=[o for o in evidence.get("orders", []) if isinstance(o, dict)],
        books=[
            (key, evidence[key])
            for key in ("book_before", "book_after")
            if isinstance(evidence.get(key), dict)
        ],
        **context,
    )


@router.get("/{alert_id}", response_class=HTMLResponse)
def detail_screen(request: Request, user: OperatorUser, alert_id: str) -> Response:
    return _detail(request, user, alert_id)


@router.post("/{alert_id}/{action}")
def work(request: Request, user: OperatorUser, alert_id: str, action: str, form: Form) -> Response:
    s = surveillance_texts(request)
    if action not in surveillance.ACTIONS:
        return kit.not_found(request, user)
    try:
        done = surveillance.act(kit.db(request), user.actor, alert_id, action, form.get("note"))
    except NotFound:
        return kit.not_found(request, user)
    except TansoError as e:
        return _detail(
            request,
            user,
            alert_id,
            status_of(e),
            errors={"_form": e.message},
            values={"note": form.get("note", "")},
        )
    state = s[f"sv_state_{done.state}"]
    return _detail(request, user, alert_id, notice=s["sv_done"].format(id=done.id, state=state))
