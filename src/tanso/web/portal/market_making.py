"""A market maker's own screen: its programmes and, day by day, how much of each day's window it
quoted both sides within the spread and size (docs/market-makers.md)."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from tanso.services import market_makers as mm
from tanso.web import kit
from tanso.web.kit import CurrentUser

router = APIRouter(route_class=kit.ScreenRoute, include_in_schema=False)

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


@router.get("/portal/market-making", response_class=HTMLResponse)
def market_making(
    request: Request,
    user: CurrentUser,
    month: Annotated[str | None, Query(max_length=7)] = None,
) -> Response:
    """The participant's compliance in a month, per programme it is or was appointed to."""
    db = kit.db(request)
    if month is None or not MONTH.match(month):
        month = kit.db(request).clock()[:7]
    start, end = mm.month_range(month)
    mine = mm.compliance(db, user.actor, user.participant_id, None, start, end)
    programmes = {p.id: p for p in mm.list_programmes(db)}
    lang = kit.lang_of(request)
    rows = [
        {
            "c": c,
            "p": programmes[c.programme_id],
            "name": (
                programmes[c.programme_id].name_ja
                if lang == "ja"
                else programmes[c.programme_id].name_en
            ),
        }
        for c in mine
    ]
    return kit.page(request, "portal_market_making.html", user, rows=rows, month=month)
