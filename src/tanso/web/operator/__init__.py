"""The operator's screens of the portal (issue 6), under ``/portal/operator``.

Only a user whose actor holds an operator role (an administrator user of the OPERATOR
participant) may see or use them; anyone else gets 403 on every GET and POST, before any
service is called. The kit's dependency (``OperatorUser``) checks a live session, then on a
POST the origin and the session's CSRF token (constant-time), then the operator role; the
service called with the user's actor checks the operator role again. See docs/portal.md
("Operator screens").
"""

from __future__ import annotations

from fastapi import APIRouter

from tanso.web.operator import (
    bust_requests,
    cycle,
    disputes,
    issuance,
    journal,
    market_makers,
    markets,
    participants,
    removals,
    surveillance,
    users,
    void_auction,
)

router = APIRouter(include_in_schema=False)
for _screens in (
    participants.router,
    users.router,
    markets.router,
    bust_requests.router,
    market_makers.router,
    issuance.router,
    cycle.router,
    removals.router,
    journal.router,
    disputes.router,
    surveillance.router,
    void_auction.router,
):
    router.include_router(_screens)
