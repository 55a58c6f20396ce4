"""Operations around the API: health and readiness, metrics, rate limits, request logs."""

from __future__ import annotations

from fastapi import FastAPI

from tanso.store.db import Database


def install(app: FastAPI, db: Database) -> None:
    """Add middleware and operational routes to ``app``."""
