"""The participant and operator portal (issue 6). Being built: see docs/portal.md when it lands."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
