"""The live market-data stream (WebSocket /v1/stream). Being built: see issue 5."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
