"""The operator's screens of the portal (issue 6). Being built: see docs/portal.md."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
