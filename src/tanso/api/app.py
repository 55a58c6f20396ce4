"""The FastAPI application."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI

from tanso import __version__
from tanso.api import errors, ops
from tanso.api.deps import reject_nul
from tanso.api.limits import BodyLimits
from tanso.api.routes import router
from tanso.api.routes_auctions import router as auctions_router
from tanso.api.routes_bust_requests import router as bust_requests_router
from tanso.api.routes_claims import router as claims_router
from tanso.api.routes_cycle import router as cycle_router
from tanso.api.routes_declarations import router as declarations_router
from tanso.api.routes_disputes import router as disputes_router
from tanso.api.routes_exchange import router as exchange_router
from tanso.api.routes_gx import router as gx_router
from tanso.api.routes_local import router as local_router
from tanso.api.routes_market import router as market_router
from tanso.api.routes_market_makers import router as market_makers_router
from tanso.api.routes_marketplace import router as marketplace_router
from tanso.api.routes_notices import router as notices_router
from tanso.api.routes_offtake import router as offtake_router
from tanso.api.routes_open_data import router as open_data_router
from tanso.api.routes_points import router as points_router
from tanso.api.routes_projects_public import router as projects_router
from tanso.api.routes_removals import router as removals_router
from tanso.api.routes_reports import router as reports_router
from tanso.api.routes_settlement import router as settlement_router
from tanso.api.routes_stats import router as stats_router
from tanso.api.routes_surveillance import router as surveillance_router
from tanso.api.routes_usage import router as usage_router
from tanso.api.routes_void_auction import router as void_auction_router
from tanso.api.schemas_registry import Health
from tanso.api.stream import router as stream_router
from tanso.cluster.commands import RemoteExchange
from tanso.cluster.leadership import EngineRole, Leadership
from tanso.cluster.link import Forward, Responder, honours_idempotency
from tanso.cluster.nats_link import EngineLink, GatewayLink, NatsSettings
from tanso.cluster.read_cache import Answers, PublicCache, public_routes
from tanso.services.access import actor_cache
from tanso.services.marketdata.stream import Feed
from tanso.services.surveillance import attach as attach_surveillance
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange
from tanso.services.trading.sessions import Scheduler
from tanso.settings import Settings
from tanso.store.db import Database
from tanso.web import DemoClockView, security, show_demo_clock
from tanso.web.declarations import router as declarations_pages_router
from tanso.web.local import router as local_pages_router
from tanso.web.notices import router as notices_pages_router
from tanso.web.open_data import router as open_data_pages_router
from tanso.web.operator import router as operator_router
from tanso.web.operator.market_notices import router as operator_notices_router
from tanso.web.pages import router as pages_router
from tanso.web.points import router as points_pages_router
from tanso.web.portal import router as portal_router
from tanso.web.projects import router as projects_pages_router
from tanso.web.removals import router as removals_pages_router
from tanso.web.stats import router as stats_pages_router
from tanso.web.verify import router as verify_router


def create_app(
    db: Database,
    *,
    sessions: bool = False,
    settlement_time: dt.time | None = None,
    background: bool | None = None,
    gateway: GatewayLink | None = None,
    engine_nats: NatsSettings | None = None,
    read_db: Database | None = None,
    demo_clock: DemoClockView | None = None,
) -> FastAPI:
    """Build the HTTP API around an open database; the exchange's sequencer runs while it
    serves, and with ``sessions`` the scheduler opens, auctions and closes markets on time.
    ``background`` runs the scheduler even without sessions (sealed-bid clearing, marketplace
    expiry, settlement at ``settlement_time``); by default only with sessions or a settlement
    time, so tests that drive the clock themselves have no thread racing them.

    ``gateway``: this process is a gateway (`tanso gateway`): it runs no sequencer and no
    scheduler, and sends every request that may change state to the engine through the link
    (cluster/link.py); it answers public reads from memory between commits, rendered from
    ``read_db`` (a read replica) if given (cluster/read_cache.py). ``engine_nats``: this process
    is the engine (`tanso engine`): besides its own HTTP port it answers the gateways' requests
    from NATS. ``demo_clock``: the database's clock is the demo's virtual one, and every page
    says so (docs/demo-clock.md)."""
    calendar = japan_calendar()
    exchange = Exchange(db, calendar, enforce_sessions=sessions)
    scheduler = Scheduler(
        db,
        exchange,
        calendar,
        lambda: dt.datetime.fromisoformat(db.clock().replace("Z", "+00:00")),
        sessions=sessions,
        settlement_time=settlement_time,
    )
    show_demo_clock(demo_clock)

    @asynccontextmanager
    async def lifespan(app_: FastAPI) -> AsyncIterator[None]:
        ops.start(app_)
        if gateway is not None:
            await gateway.start(feed, db)
            try:
                yield
            finally:
                await gateway.stop()
                ops.stop(app_)
            return
        run_scheduler = bool(
            background or (background is None and (sessions or settlement_time is not None))
        )
        if engine_nats is not None:  # `tanso engine`: lead, or stand by until it may
            role = EngineRole(
                exchange,
                scheduler,
                EngineLink(engine_nats, Responder(app_), exchange, db, feed),
                Leadership(db),
                run_scheduler,
            )
            app_.state.engine_role = role
            try:
                await role.start()
                yield
            finally:
                await role.stop()
                ops.stop(app_)
            return
        exchange.start()
        if run_scheduler:
            scheduler.start()
        try:
            yield
        finally:
            scheduler.stop()
            exchange.stop()
            ops.stop(app_)

    app = FastAPI(
        lifespan=lifespan,
        title="Tanso",
        version=__version__,
        docs_url=None,  # /docs is tanso.web.security's: Swagger UI from the installation
        redoc_url=None,
        description="Tanso (炭素): carbon credit registry and exchange. Money is in integer "
        "minor units (JPY: yen); quantities in whole units of the credit (t-CO2 or kWh).",
    )
    app.state.db = db
    app.state.exchange = exchange
    app.state.scheduler = scheduler
    if gateway is not None:  # order entry becomes typed commands to the engine
        app.state.exchange = RemoteExchange(
            gateway.commander,
            Settings().engine_timeout_seconds,
            exchange,
            Settings().engine_failover_seconds,
        )
    settings = Settings()
    feed = Feed(
        db,
        exchange,
        buffer_size=settings.stream_buffer,
        queue_size=settings.stream_queue,
        max_message=settings.stream_max_message_bytes,
        max_depth=settings.max_json_depth,
    )
    exchange.listeners.append(feed.publish)
    if gateway is not None:  # the portal's books come from the engine, as the stream's do
        app.state.exchange.book_of = lambda: feed.book_of
    if settings.surveillance_online and gateway is None:
        attach_surveillance(db, exchange)  # its listener only queues; a worker evaluates
    app.state.feed = feed
    errors.install(app)
    http_only = [Depends(reject_nul)]  # WebSocket routes have no request body to check
    for r in (
        exchange_router,
        router,
        settlement_router,
        surveillance_router,
        market_router,
        market_makers_router,
        reports_router,
        marketplace_router,
        auctions_router,
        usage_router,
        claims_router,
        disputes_router,
        bust_requests_router,
        void_auction_router,
        gx_router,
        local_router,
        points_router,
        removals_router,
        cycle_router,
        projects_router,
        offtake_router,
        open_data_router,
        stats_router,
        notices_router,
        declarations_router,
        pages_router,
        local_pages_router,
        points_pages_router,
        removals_pages_router,
        projects_pages_router,
        stats_pages_router,
        open_data_pages_router,
        notices_pages_router,
        declarations_pages_router,
        portal_router,
        operator_router,
        operator_notices_router,
        verify_router,
    ):
        app.include_router(r, dependencies=http_only)
    app.include_router(stream_router)
    if gateway is not None:  # innermost: inside the access log, limits and security headers
        app.state.public_cache = Answers()
        app.state.gateway_head = gateway.head
        app.add_middleware(
            PublicCache,
            head=gateway.head,
            public=public_routes(app),
            answers=app.state.public_cache,
            read_db=read_db,
        )
    ops.install(app, db)
    security.install(app)
    if gateway is not None:  # outermost: a forwarded request is the engine's to check
        head = gateway.head

        async def after_write() -> None:
            await GatewayLink.caught_up(db)
            seen = actor_cache.of(db).seen_seq
            if seen is not None:
                head.advance(seen)

        app.state.tick.heard.append(head.advance)
        app.add_middleware(
            Forward,
            request=gateway.requester,
            timeout=Settings().engine_timeout_seconds,
            after_write=after_write,
            failover=Settings().engine_failover_seconds,
            idempotent=honours_idempotency(app),
        )
        # ... after the body limits: what the gateway will not read, it does not forward
        app.add_middleware(BodyLimits, settings=Settings())

    @app.get("/healthz", tags=["public"], response_model=Health)
    def healthz() -> dict[str, Any]:
        return {"status": "ok", "version": __version__}

    return app
