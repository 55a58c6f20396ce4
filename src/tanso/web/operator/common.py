"""What the operator's screens share beyond the kit: their page and a required whole number."""

from __future__ import annotations

from collections.abc import Mapping
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


def whole(form: dict[str, str], name: str, t: Mapping[str, str], errors: dict[str, str]) -> int:
    """A required whole number of the form; a missing or malformed one goes into ``errors``."""
    try:
        value = kit.parse_int(form.get(name))
    except ValueError:
        errors[name] = t["whole_number"]
        return 0
    if value is None:
        errors[name] = t["required"]
        return 0
    return value
