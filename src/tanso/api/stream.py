"""The live market-data stream: WebSocket /v1/stream (protocol in docs/stream.md).

The route only connects a WebSocket to the feed (services/stream.py): it accepts, checks an API
key given when connecting, and passes each text message to the subscriber.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from tanso.domain.errors import TansoError
from tanso.services.marketdata.stream import INVALID_KEY, MESSAGE_TOO_BIG, Feed, error

router = APIRouter()
log = logging.getLogger("tanso.stream")


@router.websocket("/v1/stream")
async def stream(ws: WebSocket) -> None:
    """Subscribe per instrument and channel; resume with `since`; `book` needs an API key."""
    feed: Feed = ws.app.state.feed
    await ws.accept()
    feed.attach(asyncio.get_running_loop())

    async def close(code: int, reason: str) -> None:
        await ws.close(code, reason)

    sub = feed.subscriber(ws.send_text, close)
    bearer = ws.headers.get("authorization", "")
    key = (
        ws.query_params.get("key")
        or ws.headers.get("x-api-key")
        or (bearer[7:].strip() if bearer.lower().startswith("bearer ") else None)
    )
    try:
        if key:
            try:
                await sub.authenticate(key)
            except TansoError as e:
                await ws.send_text(error(e.code, e.message))
                await ws.close(INVALID_KEY, "invalid API key")
                return
        while not sub.closed:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                if message.get("code") == MESSAGE_TOO_BIG:  # refused by the server's protocol
                    log.warning("stream connection closed with 1009: a message over the limit")
                break
            text = message.get("text")
            if text is None:
                await ws.send_text(error("text_only", "Messages are JSON text frames."))
                continue
            await sub.handle_text(text)
    except WebSocketDisconnect as e:
        if e.code == MESSAGE_TOO_BIG:
            log.warning("stream connection closed with 1009: a message over the limit")
    except RuntimeError:
        pass  # the feed closed the connection (too slow, or a refused message)
    finally:
        with contextlib.suppress(Exception):
            await sub.stop()
