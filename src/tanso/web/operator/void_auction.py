"""The operator's void of a whole call auction (issue 17), from the instruments screen: a form
beside the latest auction of each instrument; the service checks the role and the rules."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tanso.domain.errors import TansoError
from tanso.http_status import status_of
from tanso.services.trading import void_auction as va
from tanso.web import kit
from tanso.web.kit import Form, OperatorUser
from tanso.web.operator.markets import _instruments_page

router = APIRouter(prefix="/portal/operator", route_class=kit.ScreenRoute, include_in_schema=False)


@router.post("/instruments/{instrument}/auctions/{auction}/void")
def void_auction(
    request: Request, user: OperatorUser, instrument: str, auction: str, form: Form
) -> Response:
    t = kit.labels(request, "operator")
    try:
        out = va.void(
            kit.exchange(request),
            user.actor,
            instrument,
            auction,
            form.get("reason_code", ""),
            form.get("note", "").strip(),
        )
    except TansoError as e:
        return _instruments_page(
            request, user, status_of(e), errors={"_form": e.message, f"i-{instrument}": e.message}
        )
    kept = [o for o in out.orders if not o.reinstated]
    notice = t["auction_voided"].format(
        auction=out.auction_id,
        instrument=out.instrument,
        trades=len(out.trades),
        reinstated=len(out.orders) - len(kept),
        kept=len(kept),
        reference=f"{out.reference_price:,}",
    )
    results = [
        t["auction_order_kept"].format(
            order=o.order_id, reason=t.get(f"void_why_{o.reason}", o.reason or "")
        )
        for o in kept
    ]
    return _instruments_page(request, user, notice=notice, results=results)
