"""The live book of the orders screen: the market-data stream over a WebSocket, for a
logged-in user."""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import WebSocket, WebSocketDisconnect
from starlette.routing import WebSocketRoute

from tanso.services.access import users
from tanso.services.marketdata.stream import Feed
from tanso.web import kit, security


async def book_stream(ws: WebSocket) -> None:
    """The market-data stream (the feed behind /v1/stream, same protocol) for a logged-in user:
    its session cookie stands in for the API key that book depth needs. Same-origin only, so
    another site's page cannot open it with the user's cookie."""
    user = users.session_user(ws.app.state.db, ws.cookies.get(kit.SESSION_COOKIE))
    origin = ws.headers.get("origin")
    if user is None or (origin is not None and not _same_host(origin, ws)):
        await ws.close(code=4401)
        return
    feed: Feed = ws.app.state.feed
    await ws.accept()
    feed.attach(asyncio.get_running_loop())

    async def close(code: int, reason: str) -> None:
        await ws.close(code, reason)

    sub = feed.subscriber(ws.send_text, close)
    sub.actor = user.actor
    try:
        while not sub.closed:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                break
            text = message.get("text")
            if text is not None:
                await sub.handle_text(text)
    except (WebSocketDisconnect, RuntimeError):
        pass  # the page went away, or the feed closed a connection that fell behind
    finally:
        with contextlib.suppress(Exception):
            await sub.stop()


def _same_host(origin: str, ws: WebSocket) -> bool:
    return security.from_this_site(origin, ws)


# A plain WebSocket route: the app puts HTTP-only dependencies (request body checks) on the
# portal's routes, which a WebSocket cannot satisfy; a plain route is included without them.
route = WebSocketRoute("/portal/stream", book_stream, name="portal_stream")
