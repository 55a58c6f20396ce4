"""The FastAPI application."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from tanso import __version__
from tanso.api import errors
from tanso.api.routes import router
from tanso.store.db import Database


def create_app(db: Database) -> FastAPI:
    """Build the HTTP API around an open database."""
    app = FastAPI(
        title="Tanso",
        version=__version__,
        description="Tanso (炭素): carbon credit registry and exchange. Money is in integer "
        "minor units (JPY: yen); quantities in whole units of the credit (t-CO2 or kWh).",
    )
    app.state.db = db
    errors.install(app)
    app.include_router(router)

    @app.get("/healthz", tags=["public"])
    def healthz() -> dict[str, Any]:
        return {"status": "ok", "version": __version__}

    return app
