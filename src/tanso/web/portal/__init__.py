"""The participant portal (issue 6): people log in and see and act for their own participant.

Screens by group: ``login`` (log in, second factor, security), ``accounts`` (accounts,
holdings, transfers, cash), ``orders`` (orders, amendments, trades), ``retirement``
(retiring, notices), ``administration`` (API keys, users), ``marketplace``, ``auctions``,
``offtake`` (forward offtake contracts: the pre-purchase marketplace of removals), ``usage``
(emissions), ``claims``, ``cycle`` (the project cycle: plans, monitoring reports, validation
and verification), ``declarations`` (declarations for products and cargoes: the declarant's,
the verification body's), ``gx`` (GX-ETS: the entity's compliance, verification, the scheme
administrator's screen, the public register), ``points`` (a points programme's batches,
pools and members; a verification body's batches) and ``stream`` (the live book). What they
share — the page renderer, the user dependency with its CSRF, origin and role checks, the status
table — is the kit (`tanso.web.kit`). Accounts and orders are looked up among the user's own
participant's, so another participant's ids answer exactly like missing ones. The screens call
use cases only; the services refuse anything the actor may not do, a second line behind the
kit's checks. See docs/portal.md.
"""

from __future__ import annotations

from fastapi import APIRouter

from tanso.web.portal import (
    accounts,
    administration,
    auctions,
    claims,
    cycle,
    declarations,
    disputes,
    gx,
    inbox,
    login,
    market_making,
    marketplace,
    offtake,
    orders,
    points,
    retirement,
    stream,
    usage,
)

router = APIRouter(include_in_schema=False)
for _screens in (
    login.router,
    accounts.router,
    orders.router,
    retirement.router,
    administration.router,
    marketplace.router,
    offtake.router,
    auctions.router,
    usage.router,
    claims.router,
    disputes.router,
    inbox.router,
    market_making.router,
    gx.router,
    points.router,
    cycle.router,
    declarations.router,
):
    router.include_router(_screens)
router.routes.append(stream.route)
