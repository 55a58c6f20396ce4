"""Where the request log (the ``tanso.http`` logger, one line per HTTP request) goes.

``all`` (the default): every request on the console, as before. ``quiet``: the console shows
only what the server's operator should look at (a server error, status 500 or more, or a request
slower than ``request_log_slow_ms``; a refused order is its client's business), while every
request still goes, as JSON lines, to
``request_log_file`` when it is set. The demo (``tanso serve --simulate``) runs quiet, with the
file ``tanso-requests.log``, so its simulated traders do not scroll the printed keys away
(issue 18 defect 8). This module decides what is logged in one respect only: ``redact_path``
keeps a points member's path segment out of the log unless it is the programme's keyed hash
(issue 20: no personal identifier in logs). Otherwise it decides where lines are shown.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from tanso.settings import Settings

_MEMBER_SEGMENT = re.compile(r"(?<=/members/)[^/]+|(?<=/proofs/)[^/]+")
_MEMBER_HASH = re.compile(r"[0-9a-f]{64}")
REDACTED = "(redacted)"


def redact_path(path: str) -> str:
    """``path`` as the request log shows it: a points member's segment (after ``/members/`` or
    ``/proofs/``) that is not 64 lowercase hex characters is replaced, so that a member's own id
    sent by mistake (an email address, a phone number) is refused without being written down."""
    if "/members/" not in path and "/proofs/" not in path:
        return path
    return _MEMBER_SEGMENT.sub(
        lambda m: m.group(0) if _MEMBER_HASH.fullmatch(m.group(0)) else REDACTED, path
    )


FILE_HANDLER = "tanso-request-file"
QUIET_FILTER = "tanso-request-quiet"


class Noteworthy(logging.Filter):
    """Lets through anything but a request line that the server answered (below 500) fast."""

    def __init__(self, slow_ms: float) -> None:
        super().__init__(QUIET_FILTER)
        self.slow_ms = slow_ms

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name != "tanso.http":
            return True
        status = getattr(record, "status", None)
        if status is None:  # not a request line (e.g. a sealed-bid route): keep it
            return True
        duration = getattr(record, "duration_ms", None) or 0.0
        return int(status) >= 500 or float(duration) >= self.slow_ms


SOCKET_LINES = ("connection open", "connection closed")
"""uvicorn's lines for each WebSocket (with '"WebSocket /path" [accepted]'): a browser on the
public page or the portal opens one per page view."""


class QuietSockets(logging.Filter):
    """Drops uvicorn's routine INFO lines about WebSocket connections (quiet only)."""

    def __init__(self) -> None:
        super().__init__(QUIET_FILTER)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO:
            return True
        text = record.getMessage()
        return not (text in SOCKET_LINES or ('"WebSocket ' in text and "[accepted]" in text))


def apply(settings: Settings, handler_name: str, formatter: type[logging.Formatter]) -> None:
    """Filter the console handler (named ``handler_name``) and add the file (lines made by
    ``formatter``), as the settings say. Idempotent."""
    tanso = logging.getLogger("tanso")
    http = logging.getLogger("tanso.http")
    for h in tanso.handlers:
        if h.get_name() == handler_name:
            for f in [f for f in h.filters if getattr(f, "name", "") == QUIET_FILTER]:
                h.removeFilter(f)
            if settings.request_log == "quiet":
                h.addFilter(Noteworthy(settings.request_log_slow_ms))
    sockets = logging.getLogger("uvicorn.error")
    for f in [f for f in sockets.filters if getattr(f, "name", "") == QUIET_FILTER]:
        sockets.removeFilter(f)
    if settings.request_log == "quiet":
        sockets.addFilter(QuietSockets())
    for h in [h for h in http.handlers if h.get_name() == FILE_HANDLER]:
        http.removeHandler(h)
        h.close()
    if settings.request_log_file:
        path = Path(settings.request_log_file)
        handler = logging.FileHandler(path, encoding="utf-8")
        handler.set_name(FILE_HANDLER)
        handler.setFormatter(formatter())
        http.addHandler(handler)
