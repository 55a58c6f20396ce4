"""The participant's inbox (お知らせ) and its request to bust a trade (取引取消の申出).

``/portal/inbox`` lists the participant's own notices, rendered in the screen's language from
their kind and parameters (tanso.web.notice_texts), and marks one read; the portal's navigation
shows how many are unread. The trades screen carries a form to ask the operator to bust a trade
still inside the rulebook's window (`bust_form` gives it what it shows). The screens call use
cases only; the services refuse anything the actor may not do.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from tanso.domain.errors import TansoError
from tanso.services import notices
from tanso.services.access.users import Capability, PortalUser
from tanso.services.clearing import settlement
from tanso.services.trading import bust_requests as br
from tanso.services.trading import exchange as xs
from tanso.web import kit
from tanso.web.kit import CurrentUser, Form, Trader
from tanso.web.notice_texts import notice_text

router = APIRouter(route_class=kit.ScreenRoute, include_in_schema=False)


def unread(request: Request, user: PortalUser | None) -> int:
    """How many of the user's participant's notices are unread (the navigation's count)."""
    if user is None:
        return 0
    return notices.unread_count(kit.db(request), user.participant_id)


# ---------------------------------------------------------------- the inbox


def _inbox_page(
    request: Request, user: PortalUser, state: kit.FormState | None = None
) -> HTMLResponse:
    lang = kit.lang_of(request)
    only_unread = request.query_params.get("unread") in ("1", "true")
    found = notices.list_notices(kit.db(request), kit.reader(user), only_unread, 200)
    rows = [(n, notice_text(n.kind, n.subject_id, n.params, lang)) for n in found]
    return kit.page(
        request,
        "portal_inbox.html",
        user,
        state=state,
        rows=rows,
        only_unread=only_unread,
        unread_count=unread(request, user),
    )


@router.get("/portal/inbox", response_class=HTMLResponse)
def inbox(request: Request, user: CurrentUser) -> Response:
    return _inbox_page(request, user)


@router.post("/portal/inbox/{notice_id}/read")
def read(request: Request, user: CurrentUser, notice_id: str, _form: Form) -> Response:
    t = kit.labels(request)
    try:
        notices.mark_read(kit.db(request), kit.reader(user), notice_id)
    except TansoError as e:
        return _inbox_page(request, user, kit.FormState.refused(e))
    return _inbox_page(request, user, kit.FormState(notice=t["inbox_marked"]))


# ---------------------------------------------------------------- asking for a bust


def bust_form(request: Request, user: PortalUser, trades: list[xs.OwnTrade]) -> dict[str, Any]:
    """What the trades screen's form to ask for a bust shows: the user's trades still inside
    the window (with its end in Japan time), the reasons, the window's length, and the
    participant's own requests."""
    db = kit.db(request)
    now = db.clock()
    inside = [
        (r, kit.jst(br.deadline_of(r.at)))
        for r in trades
        if br.window_open(r, r.settlement_status, now)
    ]
    return {
        "bustable": inside if user.can(Capability.TRADE) else [],
        "bust_reasons": br.REQUEST_REASONS,
        "bust_minutes": br.WINDOW_MINUTES,
        "bust_requests": br.list_requests(db, kit.reader(user), limit=20),
    }


@router.post("/portal/trades/bust-requests")
def request_bust(request: Request, user: Trader, form: Form) -> Response:
    t = kit.labels(request)
    values = {k: form.get(k, "") for k in ("trade", "reason_code", "note")}
    errors = {k: t["required"] for k in ("trade", "reason_code") if not values[k].strip()}
    if errors:
        return _trades_page(request, user, kit.FormState.invalid(values, errors, t))
    try:
        out = br.request_bust(
            kit.db(request), user.actor, values["trade"], values["reason_code"], values["note"]
        )
    except TansoError as e:
        state = kit.FormState.refused(e, values, ("trade", "reason_code", "note"))
        return _trades_page(request, user, state)
    return _trades_page(
        request, user, kit.FormState(notice=t["br_sent"].format(trade=out.trade_id))
    )


def _trades_page(request: Request, user: PortalUser, state: kit.FormState) -> HTMLResponse:
    """The trades screen again, with the form's outcome (as /portal/trades shows it)."""
    db, reader = kit.db(request), kit.reader(user)
    rows, older, newer = kit.offset_page(request, lambda n: xs.own_trades(db, reader, n))
    return kit.page(
        request,
        "portal_trades.html",
        user,
        state=state,
        trades=rows,
        older=older,
        newer=newer,
        obligations=settlement.obligations(db, reader, limit=200),
        **bust_form(request, user, rows),
    )
