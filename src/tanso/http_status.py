"""The one table from a refusal's kind to its HTTP status, shared by the API and the portal.

The domain's errors (`tanso.domain.errors`) know nothing about HTTP; both adapters answer a
refusal with the status this table gives, so the same refusal never gets two statuses.
"""

from __future__ import annotations

from tanso.domain.errors import TansoError

STATUS: dict[str, int] = {
    "invalid": 422,
    "not_found": 404,
    "forbidden": 403,
    "unauthenticated": 401,
    "conflict": 409,
    "unavailable": 503,
    "timeout": 504,
}


def status_of(error: TansoError) -> int:
    """The HTTP status of a refusal (400 for a kind the table does not know)."""
    return STATUS.get(error.kind, 400)
