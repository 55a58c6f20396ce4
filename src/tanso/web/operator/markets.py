"""The operator's market screens: instruments and their sessions, settlement, fee schedules.

What cannot be taken back (opening, closing, halting or resuming a session; a settlement run;
busting a trade; cancelling a failed obligation) takes two steps: a POST without ``confirm=1``
answers with the confirmation step (what will happen, to what, with Confirm and Cancel) and
changes nothing; the confirmation's form sends the same fields again with ``confirm=1``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from tanso.domain.errors import TansoError
from tanso.domain.fees import FeeSchedule
from tanso.http_status import status_of
from tanso.services.access.users import PortalUser
from tanso.services.clearing import settlement, settlement_lists
from tanso.services.trading import bust_requests
from tanso.services.trading import exchange as xs
from tanso.web import kit
from tanso.web.kit import Form, OperatorUser
from tanso.web.operator.common import operator_page
from tanso.web.portal.orders import markets

router = APIRouter(prefix="/portal/operator", route_class=kit.ScreenRoute, include_in_schema=False)

SESSION_ACTIONS = ("open", "close", "halt", "resume", "auction")
CONFIRMED_ACTIONS = ("open", "close", "halt", "resume")
"""The session actions that need the confirmation step (running an auction now does not: it is
what the market does at its set times)."""


# ---------------------------------------------------------------- the confirmation step


def confirmed(form: dict[str, str]) -> bool:
    """The form was sent from the confirmation step."""
    return form.get("confirm") == "1"


def confirm_page(
    request: Request,
    user: PortalUser,
    *,
    title: str,
    consequence: str,
    action: str,
    back: str,
    fields: dict[str, str] | None = None,
    notes: list[str] | None = None,
) -> Response:
    """The confirmation step: what will happen (``consequence``) with Confirm, which posts the
    same ``fields`` to ``action`` with ``confirm=1``, and Cancel, a link ``back``."""
    return operator_page(
        request,
        "operator_confirm.html",
        user,
        confirm={
            "title": title,
            "consequence": consequence,
            "notes": notes or [],
            "action": action,
            "back": back,
            "fields": {k: v for k, v in (fields or {}).items() if k not in ("csrf", "confirm")},
        },
    )


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
def session_action(
    request: Request, user: OperatorUser, instrument: str, action: str, form: Form
) -> Response:
    t = kit.labels(request, "operator")
    if action not in SESSION_ACTIONS:
        return _instruments_page(request, user, 404, errors={"_form": t["not_found_text"]})
    listed = {i.id: i for i in xs.list_instruments(kit.db(request))}
    if action in CONFIRMED_ACTIONS and instrument in listed and not confirmed(form):
        i = listed[instrument]
        name = i.name_ja if kit.lang_of(request) == "ja" else i.name_en
        return confirm_page(
            request,
            user,
            title=t[f"confirm_{action}_title"].format(instrument=instrument),
            consequence=t[f"confirm_{action}_text"].format(instrument=instrument, name=name),
            action=f"/portal/operator/instruments/{instrument}/{action}",
            back=f"/portal/operator/instruments#instrument-{instrument}",
        )
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


SETTLEMENT_PAGE = 50
"""Rows on one page of each settlement list."""
MAX_PAGE_NUMBER = 100_000
LISTS = ("failed", "pending", "settled", "runs")
"""The settlement screen's lists, each paged by its own ``<list>_page`` query parameter."""


class BadPage(Exception):
    """A ``<list>_page`` query parameter that is not a page number."""

    def __init__(self, name: str, value: str) -> None:
        super().__init__(name)
        self.name, self.value = name, value


def _page_number(request: Request, name: str) -> int:
    """The page number a query parameter asks for (1 when absent)."""
    text = request.query_params.get(name, "").strip()
    if not text:
        return 1
    if not (text.isascii() and text.isdigit() and len(text) <= 6) or not (
        1 <= int(text) <= MAX_PAGE_NUMBER
    ):
        raise BadPage(name, text)
    return int(text)


def _pager(request: Request, name: str, number: int, total: int) -> dict[str, Any]:
    """The counts and links of one page of a list of ``total`` rows."""
    pages = max(1, -(-total // SETTLEMENT_PAGE))
    first = (number - 1) * SETTLEMENT_PAGE

    def link(to: int) -> str:
        """This screen with ``name`` at page ``to`` and the other lists' pages kept."""
        params = {}
        for other in (f"{n}_page" for n in LISTS):
            value = str(to) if other == name else request.query_params.get(other, "")
            if value and value != "1":
                params[other] = value
        return "/portal/operator/settlement" + ("?" + urlencode(params) if params else "")

    return {
        "list": name.removesuffix("_page"),
        "number": number,
        "pages": pages,
        "total": total,
        "first": first + 1 if first < total else 0,  # 0: past the end, no rows here
        "last": min(first + SETTLEMENT_PAGE, total),
        "previous": link(min(number - 1, pages)) if number > 1 else None,
        "next": link(number + 1) if number < pages else None,
    }


def _settlement_lists(request: Request, user: PortalUser) -> dict[str, Any]:
    """Each list's page (its rows and its pager), as the query parameters ask."""
    db = kit.db(request)
    numbers = {name: _page_number(request, f"{name}_page") for name in LISTS}
    out: dict[str, Any] = {}
    for name in ("failed", "pending", "settled"):
        offset = (numbers[name] - 1) * SETTLEMENT_PAGE
        page = settlement_lists.obligation_page(db, user.actor, name, offset, SETTLEMENT_PAGE)
        out[name] = page.rows
        out[f"{name}_pager"] = _pager(request, f"{name}_page", numbers[name], page.total)
    offset = (numbers["runs"] - 1) * SETTLEMENT_PAGE
    runs = settlement_lists.run_page(db, user.actor, offset, SETTLEMENT_PAGE)
    out["runs"] = runs.rows
    out["runs_pager"] = _pager(request, "runs_page", numbers["runs"], runs.total)
    return out


def _settlement_page(
    request: Request, user: PortalUser, status: int = 200, **context: Any
) -> Response:
    db = kit.db(request)
    t = kit.labels(request, "operator")
    try:
        lists = _settlement_lists(request, user)
    except BadPage as bad:
        text = t["bad_page"].format(
            name=bad.name, value=bad.value[:20], most=f"{MAX_PAGE_NUMBER:,}"
        )
        return operator_page(
            request, "operator_settlement.html", user, 400, bad_query=text, **context
        )
    return operator_page(
        request,
        "operator_settlement.html",
        user,
        status,
        **lists,
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
    early = form.get("early") == "1"  # the operator's journaled override
    today = settlement.business_date(kit.db(request))
    # a date after today without the override is refused at once: nothing to confirm
    if not confirmed(form) and (date <= today or early):
        due = settlement_lists.pending_due(kit.db(request), user.actor, date.isoformat())
        iso = date.isoformat()
        early_note = t["confirm_run_early"].format(date=iso, today=today.isoformat())
        return confirm_page(
            request,
            user,
            title=t["confirm_run_title"].format(date=iso),
            consequence=t["confirm_run_text"].format(date=iso, n=f"{due:,}"),
            notes=[early_note] if date > today else [],
            action="/portal/operator/settlement/run",
            back="/portal/operator/settlement",
            fields={"date": iso, "early": "1"} if early else {"date": iso},
        )
    try:
        out = settlement.run(kit.db(request), user.actor, date, early=early)
    except TansoError as e:
        return _settlement_page(
            request, user, status_of(e), values=form, errors={"date": e.message}
        )
    notice = t["run_done"].format(date=out.date, settled=out.settled, failed=out.failed)
    return _settlement_page(request, user, notice=notice, values=form)


@router.post("/settlement/obligations/{deal_id}/{action}")
def resolve_obligation(
    request: Request, user: OperatorUser, deal_id: str, action: str, form: Form
) -> Response:
    t = kit.labels(request, "operator")
    if action == "cancel" and not confirmed(form):
        return confirm_page(
            request,
            user,
            title=t["confirm_cancel_title"].format(trade=deal_id),
            consequence=t["confirm_cancel_text"].format(trade=deal_id),
            action=f"/portal/operator/settlement/obligations/{deal_id}/cancel",
            back="/portal/operator/settlement#failed",
        )
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
    reason = form.get("reason_code", "")
    # a reason the service refuses goes straight to its refusal: nothing to confirm
    if reason in xs.BUST_REASONS and not confirmed(form):
        return confirm_page(
            request,
            user,
            title=t["confirm_bust_title"].format(trade=trade_id),
            consequence=t["confirm_bust_text"].format(trade=trade_id, reason=t[f"reason_{reason}"]),
            action=f"/portal/operator/trades/{trade_id}/bust",
            back="/portal/operator/settlement",
            fields={"reason_code": reason, "note": form.get("note", "")},
        )
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
