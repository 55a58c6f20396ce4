"""REST routes of the claims capability (thin: parse, call one service function, shape)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1")
