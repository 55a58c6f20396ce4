"""The public web pages (no login). Being built: see issue 5."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
