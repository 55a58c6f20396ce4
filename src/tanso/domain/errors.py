"""Domain errors: every refusal carries a machine-readable code and a sentence for a person.

The HTTP layer maps each kind to a status code; nothing here knows about HTTP.
"""

from __future__ import annotations


class TansoError(Exception):
    """A refusal of a command; nothing was changed."""

    kind = "invalid"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details: list[dict[str, object]] | None = None
        """What exactly is wrong, item by item (a batch's bad lines), where one sentence
        cannot say it all; answered as ``error.details``."""


class InvalidInput(TansoError):
    """The request itself is wrong (a malformed serial, a negative quantity)."""

    kind = "invalid"


class NotFound(TansoError):
    """The thing named does not exist, or the caller may not know that it does."""

    kind = "not_found"


class Forbidden(TansoError):
    """The caller is known but may not do this."""

    kind = "forbidden"


class Unauthenticated(TansoError):
    """No valid credentials were presented."""

    kind = "unauthenticated"


class Conflict(TansoError):
    """The request is valid but the state does not allow it (not enough credits, wrong status)."""

    kind = "conflict"


class Unavailable(TansoError):
    """The service cannot take the request now (overloaded, shutting down); retry later."""

    kind = "unavailable"
    retry_after = 1
