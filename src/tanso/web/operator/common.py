"""What the operator's screens share beyond the kit: their page."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from tanso.services.access.users import PortalUser
from tanso.web import kit


def operator_page(
    request: Request, template: str, user: PortalUser, status: int = 200, **context: Any
) -> HTMLResponse:
    """A portal page with the operator's texts."""
    return kit.page(request, template, user, status, group="operator", **context)
