"""The operator's answer to a party's request to bust a trade (取引取消の申出), on the settlement
screen: grant (the exchange busts the trade with the request's reason; both parties and the
requester get notices) or refuse with a note the requester is told. The pending requests are
listed by the settlement screen itself (web/operator/markets.py)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tanso.domain.errors import TansoError
from tanso.http_status import status_of
from tanso.services.trading import bust_requests as br
from tanso.web import kit
from tanso.web.kit import Form, OperatorUser
from tanso.web.operator.markets import _settlement_page

router = APIRouter(prefix="/portal/operator", route_class=kit.ScreenRoute, include_in_schema=False)


@router.post("/bust-requests/{trade_id}/{action}")
def answer(
    request: Request, user: OperatorUser, trade_id: str, action: str, form: Form
) -> Response:
    t = kit.labels(request, "operator")
    note = form.get("note", "").strip()
    try:
        if action == "grant":
            br.grant(kit.db(request), kit.exchange(request), user.actor, trade_id, note)
        elif action == "refuse":
            br.refuse(kit.db(request), user.actor, trade_id, note)
        else:
            return kit.not_found(request, user)
    except TansoError as e:
        errors = {"_form": e.message, f"br-{trade_id}": e.message}
        return _settlement_page(request, user, status_of(e), errors=errors)
    done = t["br_granted" if action == "grant" else "br_refused"].format(trade=trade_id)
    return _settlement_page(request, user, notice=done)
