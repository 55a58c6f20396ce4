"""tanso.stream_client: subscribe to Tanso's live market data (WebSocket /v1/stream).

    async for msg in stream("http://127.0.0.1:8000", ["JC-ENERGY"], ["trades", "auctions"]):
        print(msg["seq"], msg["events"])

It reconnects by itself when the connection drops (or the server says the client is too slow)
and resumes with the last seq it received, so the caller sees every message once, in order.
Bars and book depth are live only: after a reconnect, fetch bars over REST.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

__all__ = ["StreamError", "stream", "stream_url"]


class StreamError(Exception):
    """The server refused a request (an error message); retrying the same would not help."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def stream_url(base_url: str) -> str:
    """The stream's ws:// (or wss://) URL for a server's http(s):// base URL."""
    url = base_url.rstrip("/")
    if url.startswith("https://"):
        url = "wss://" + url[len("https://") :]
    elif url.startswith("http://"):
        url = "ws://" + url[len("http://") :]
    return url if url.endswith("/v1/stream") else url + "/v1/stream"


async def stream(
    base_url: str,
    instruments: Sequence[str],
    channels: Sequence[str],
    *,
    key: str | None = None,
    since: int | None = None,
    retries: int | None = None,
    backoff: float = 0.2,
    max_backoff: float = 5.0,
) -> AsyncIterator[dict[str, Any]]:
    """Yield data messages ``{"seq", "at", "events"}`` in seq order, each exactly once, across
    reconnects; ``since`` resumes after a seq you already have. ``retries`` (None: forever)
    bounds reconnection attempts in a row."""
    url = stream_url(base_url)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    last = since
    failures = 0
    while True:
        try:
            async with connect(url, additional_headers=headers, max_size=2**24) as ws:
                request: dict[str, Any] = {
                    "op": "subscribe",
                    "instruments": list(instruments),
                    "channels": list(channels),
                }
                if last is not None:
                    request["since"] = last
                await ws.send(json.dumps(request))
                async for raw in ws:
                    msg = json.loads(raw)
                    if "error" in msg:
                        err = msg["error"]
                        raise StreamError(err.get("code", "error"), err.get("message", ""))
                    if msg.get("type") == "subscribed":
                        failures = 0
                        if last is None:
                            last = int(msg["head"])  # nothing received yet: resume from here
                        continue
                    if "seq" not in msg:
                        continue
                    if msg["seq"] <= (last or 0):
                        continue  # the server sends each seq once; this guards a misbehaving one
                    last = msg["seq"]
                    yield msg
        except (TimeoutError, ConnectionClosed, InvalidHandshake, OSError):
            failures += 1
            if retries is not None and failures > retries:
                raise
            await asyncio.sleep(min(max_backoff, backoff * 2 ** min(failures - 1, 10)))
