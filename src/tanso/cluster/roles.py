"""The applications of the engine and gateway roles, built from the settings (`tanso engine`,
`tanso gateway`; a gateway under several uvicorn workers builds one per worker)."""

from __future__ import annotations

from fastapi import FastAPI

from tanso.cluster.nats_link import GatewayLink, NatsSettings
from tanso.services.trading import virtual_clock
from tanso.services.trading.virtual_clock import VirtualClock
from tanso.settings import Settings, open_database, utc_now
from tanso.store.db import Database

SINGLE_PROCESS = (
    "SQLite serves one process only: run `tanso serve`, or set TANSO_DATABASE_URL to a "
    "PostgreSQL database for the engine and gateway roles."
)


def cluster_refusal(settings: Settings) -> str | None:
    """Why this database cannot back the engine and gateway roles (None: it can)."""
    return SINGLE_PROCESS if settings.database_url.startswith("sqlite") else None


def nats_settings(settings: Settings, role: str) -> NatsSettings:
    return NatsSettings(
        settings.nats_url, settings.nats_user or None, settings.nats_password, f"tanso-{role}"
    )


def gateway_app() -> FastAPI:
    """A gateway: the API and the portal, its writes sent to the engine."""
    from tanso.api.app import create_app

    settings = Settings()
    if refusal := cluster_refusal(settings):
        raise SystemExit(refusal)
    replica = None
    if settings.read_database_url:
        replica = Database(settings.read_database_url, utc_now)
    db = open_database(settings)
    return create_app(
        db,
        gateway=GatewayLink(nats_settings(settings, "gateway")),
        read_db=replica,
        demo_clock=_virtual_clock(db, settings),
    )


def _virtual_clock(db: Database, settings: Settings) -> VirtualClock | None:
    """The virtual business clock the settings anchor, installed on ``db`` (docs/demo-clock.md):
    every engine and gateway given the same anchor tells the same time."""
    if not settings.virtual_clock:
        return None
    return virtual_clock.install(db, settings.virtual_clock, settings.virtual_clock_speed)


def engine_app() -> FastAPI:
    """The engine: the single process's application, answering the gateways from NATS too."""
    from tanso.api.app import create_app
    from tanso.services.operations import schema

    settings = Settings()
    if refusal := cluster_refusal(settings):
        raise SystemExit(refusal)
    db = open_database(settings)
    schema.upgrade(db)
    clock = _virtual_clock(db, settings)
    sessions, settlement_time = virtual_clock.sessions_of(settings, clock)
    return create_app(
        db,
        sessions=sessions,
        settlement_time=settlement_time,
        background=True,
        engine_nats=nats_settings(settings, "engine"),
        demo_clock=clock,
    )
