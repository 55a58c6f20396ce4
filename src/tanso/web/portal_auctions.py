"""Portal and public pages of the auctions capability."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
