"""Which requests a gateway's public read cache may answer from memory (cluster/read_cache.py):
public GETs without credentials, per language; never a caller's own answer."""

from __future__ import annotations

import asyncio
from typing import Any

from tanso.cluster.read_cache import Answers, Head, PublicCache


def _scope(path: str = "/v1/market/trades", query: bytes = b"", **headers: str) -> dict[str, Any]:
    return {
        "type": "http",
        "method": "GET",
        "path": path,
        "query_string": query,
        "headers": [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()],
    }


class Renderer:
    """An application that counts what it rendered; its answer sets ``cookie`` if given."""

    def __init__(self, status: int = 200, cookie: str | None = None) -> None:
        self.rendered = 0
        self.status, self.cookie = status, cookie

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.rendered += 1
        headers = [(b"content-type", b"application/json")]
        if self.cookie:
            headers.append((b"set-cookie", self.cookie.encode()))
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": b'{"n": %d}' % self.rendered})


def _cache(app: Renderer, seq: int | None = 7) -> tuple[PublicCache, Head]:
    head = Head()
    if seq is not None:
        head.listen(seq)
    public = PublicCache(app, head, lambda s: s["path"].startswith("/v1/market"), Answers(4))
    return public, head


def _get(cache: PublicCache, scope: dict[str, Any]) -> bytes:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    asyncio.run(cache(scope, receive, send))
    return b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


def test_a_public_read_is_rendered_once_per_commit() -> None:
    app = Renderer()
    cache, head = _cache(app)
    assert _get(cache, _scope()) == _get(cache, _scope()) == b'{"n": 1}'
    head.advance(8)
    assert _get(cache, _scope()) == b'{"n": 2}'
    assert app.rendered == 2 and cache.answers.hits == 1


def test_languages_and_queries_are_kept_apart() -> None:
    app = Renderer()
    cache, _ = _cache(app)
    _get(cache, _scope(accept_language="ja"))
    _get(cache, _scope(accept_language="en"))
    _get(cache, _scope(query=b"instrument=JC-ES"))
    _get(cache, _scope(cookie="tanso_lang=ja"))
    assert app.rendered == 4
    _get(cache, _scope(cookie="tanso_lang=ja"))
    assert app.rendered == 4


def test_a_caller_with_credentials_is_always_answered_for_itself() -> None:
    app = Renderer()
    cache, _ = _cache(app)
    for scope in (
        _scope(authorization="Bearer k"),
        _scope(x_api_key="k"),
        _scope(cookie="tanso_lang=ja; tanso_session=abc"),
        _scope(query=b"key=k"),
        _scope(path="/v1/orders"),  # not public
    ):
        _get(cache, scope)
        _get(cache, scope)
    assert app.rendered == 10 and cache.answers.hits == 0


def test_nothing_is_kept_while_the_head_is_unknown_or_the_answer_is_not_plain() -> None:
    app = Renderer()
    cache, head = _cache(app, seq=None)
    _get(cache, _scope())
    head.advance(9)  # not listening: an advance alone does not make the head known
    _get(cache, _scope())
    assert app.rendered == 2
    for other in (Renderer(status=404), Renderer(cookie="tanso_session=abc")):
        cache, _ = _cache(other)
        _get(cache, _scope())
        _get(cache, _scope())
        assert other.rendered == 2
    kept = Renderer(cookie="tanso_lang=ja; Max-Age=31536000")
    cache, _ = _cache(kept)
    _get(cache, _scope())
    _get(cache, _scope())
    assert kept.rendered == 1  # the language cookie is the same for everyone asking so


def test_the_least_recently_used_answer_goes_first() -> None:
    app = Renderer()
    cache, _ = _cache(app)
    for n in range(5):  # room for 4
        _get(cache, _scope(query=f"n={n}".encode()))
    _get(cache, _scope(query=b"n=4"))
    assert app.rendered == 5
    _get(cache, _scope(query=b"n=0"))
    assert app.rendered == 6


def test_a_kept_answer_is_sent_as_rendered_whatever_the_layers_outside_add() -> None:
    """The access log's layer adds a request id to each answer's headers as it passes: the
    kept answer must not collect them."""
    cache, _ = _cache(Renderer())
    starts: list[dict[str, Any]] = []

    async def outer(scope: Any, receive: Any, send: Any) -> None:
        async def tagged(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"].append((b"x-request-id", b"id"))
                starts.append(message)
            await send(message)

        await cache(scope, receive, tagged)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def sink(message: dict[str, Any]) -> None:
        pass

    for _ in range(3):
        asyncio.run(outer(_scope(), receive, sink))
    assert [[v for k, v in s["headers"] if k == b"x-request-id"] for s in starts] == [[b"id"]] * 3
