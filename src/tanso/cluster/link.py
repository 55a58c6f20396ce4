"""Requests from gateways to the engine over NATS request/reply.

A gateway never changes state itself. Its outermost ASGI layer (`Forward`) sends every request
that may change state (any method but GET, HEAD and OPTIONS) and every read of what only the
engine holds in memory (`ENGINE_READS`) to the engine as one NATS request on ``tanso.requests``
(queue group ``tanso-engines``), and answers with the engine's reply. The engine (`Responder`)
runs the request through the same application as `tanso serve`, so authentication, scopes,
limits, idempotency, validation and errors are exactly the single process's; its answer is sent
only after its batch is committed, as there.

The message carries the request as it came (method, path, query, headers, body), the caller's
address, a command id (the Idempotency-Key, or one the gateway assigns: ``X-Command-Id``) and a
deadline. The engine refuses a request whose deadline has passed before it starts (504
``deadline_passed``, nothing done).

A request in flight when the leading engine dies is asked again (`persist`): one that no engine
took (NATS has no responder: the standby is taking over) until ``failover`` seconds have passed,
then 503 ``engine_unavailable`` (nothing was done); one left unanswered for `ATTEMPT` seconds
again, with the same command id, only where a second delivery is harmless: a route that honours
the Idempotency-Key (the gateway gives one when the caller did not), or a typed order command.
Otherwise, or once the deadline passes, 504 ``engine_timeout`` says the change may or may not
have been made. The caller gets the engine's answer or a retryable error, never a wrong one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from nats.errors import MaxPayloadError, NoRespondersError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("tanso.cluster")

SUBJECT = "tanso.requests"
QUEUE = "tanso-engines"
DEFAULT_TIMEOUT = 10.0
"""Seconds a gateway waits for the engine's answer (the request's deadline)."""
ATTEMPT = 2.0
"""Seconds one delivery of a request that may be delivered again waits for its answer: a leader
that died with it never answers, and its standby should get it well before the deadline."""

ENGINE_READS = ("/v1/instruments",)
"""Reads answered from the engine's memory (books, price limits), forwarded like writes."""
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# message headers (NATS headers are strings)
H_METHOD, H_PATH, H_QUERY = "Tanso-Method", "Tanso-Path", "Tanso-Query"
H_HEADERS, H_CLIENT = "Tanso-Headers", "Tanso-Client"
H_DEADLINE, H_COMMAND = "Tanso-Deadline", "Tanso-Command-Id"
H_STATUS = "Tanso-Status"


def forwarded(method: str, path: str) -> bool:
    """Whether a gateway sends this request to the engine as it came. Order entry is not: the
    gateway checks it and sends a typed command (cluster/commands.py)."""
    if _typed(method, path):
        return False
    return method not in READ_METHODS or path.startswith(ENGINE_READS)


def _typed(method: str, path: str) -> bool:
    if path == "/v1/orders":
        return method == "POST"
    return method in ("DELETE", "PATCH") and path.startswith("/v1/orders/") and path.count("/") == 3


def _error(status: int, code: str, message: str) -> tuple[int, list[list[str]], bytes]:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    return status, [["content-type", "application/json"]], body


class Unreachable(Exception):
    """No engine took the request (no connection to NATS, or no responder): nothing was done."""


T = TypeVar("T")


async def persist(
    send: Callable[[float, int], Awaitable[T]],
    timeout: float,
    failover: float,
    *,
    again_after_timeout: bool,
) -> T:
    """``send(seconds, attempt)`` until it is answered. `Unreachable` (also NATS's no-responders)
    is tried again until ``failover`` seconds have passed; a timeout or a lost connection, where
    the request may have arrived, only with ``again_after_timeout`` (its command id makes a
    second delivery harmless), `ATTEMPT` seconds at a time, until ``timeout``. The last failure
    is raised: `Unreachable`, `TimeoutError`, or what the connection raised."""
    start = time.monotonic()
    deadline = start + timeout
    delay = 0.02
    attempt = 0
    while True:
        remaining = deadline - time.monotonic()
        seconds = min(remaining, ATTEMPT) if again_after_timeout else remaining
        try:
            return await send(seconds, attempt)
        except MaxPayloadError:
            raise  # never sent: too large for any delivery
        except (Unreachable, NoRespondersError) as e:
            if time.monotonic() - start + delay >= min(failover, timeout):
                raise Unreachable(str(e)) from e
        except Exception:
            if not again_after_timeout or deadline - time.monotonic() <= delay:
                raise
        attempt += 1
        await asyncio.sleep(delay)
        delay = min(2 * delay, 0.25)


# ---------------------------------------------------------------- the gateway's side


def honours_idempotency(app: Any) -> Callable[[Scope], bool]:
    """Whether a request's route takes an Idempotency-Key."""
    from tanso.api.scope_table import depends_on, route_matcher

    return route_matcher(app, lambda _m, _p, route: depends_on(route, "get_idem"))


Request = Callable[[bytes, dict[str, str], float], Awaitable[Any]]
"""Send a NATS request (payload, headers, timeout) and return the reply message."""


class Forward:
    """The gateway's outermost ASGI layer: requests that may change state go to the engine."""

    def __init__(
        self,
        app: ASGIApp,
        request: Callable[[], Request | None],
        timeout: float,
        after_write: Callable[[], Awaitable[None]] | None = None,
        failover: float = 0.0,
        idempotent: Callable[[Scope], bool] | None = None,
    ):
        self.app = app
        self.request = request
        self.timeout = timeout
        self.failover = failover
        """Seconds to keep asking while no engine takes requests (a standby taking over)."""
        self.idempotent = idempotent or (lambda scope: False)
        """Whether the route of a request honours the Idempotency-Key."""
        self.after_write = after_write
        """Run once a forwarded change is answered, before the caller hears (the gateway's
        caches catch up with what the engine just committed)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not forwarded(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            body.extend(message.get("body", b""))
            if not message.get("more_body"):
                break
        status, headers, answer = await self._ask(scope, bytes(body))
        if self.after_write is not None and scope["method"] not in READ_METHODS:
            await self.after_write()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers],
            }
        )
        await send({"type": "http.response.body", "body": answer})

    async def _ask(self, scope: Scope, body: bytes) -> tuple[int, list[list[str]], bytes]:
        raw = [[k.decode("latin-1"), v.decode("latin-1")] for k, v in scope["headers"]]
        command = next((v for k, v in raw if k.lower() == "idempotency-key"), None)
        again = False
        if scope["method"] not in READ_METHODS and self.idempotent(scope):
            again = True  # a second delivery answers the first one's stored answer
            if command is None:
                command = f"gw-{uuid.uuid4().hex}"
                raw.append(["idempotency-key", command])
        elif scope["method"] in READ_METHODS:
            again = True  # a read changes nothing
        if command is None:
            command = uuid.uuid4().hex
            raw.append(["x-command-id", command])
        client = scope.get("client") or ("", 0)
        headers = {
            H_METHOD: scope["method"],
            H_PATH: scope["path"],
            H_QUERY: scope.get("query_string", b"").decode("latin-1"),
            H_HEADERS: json.dumps(raw),
            H_CLIENT: json.dumps([client[0], client[1]]),
            H_DEADLINE: f"{time.time() + self.timeout:.3f}",
            H_COMMAND: command,
        }

        async def send(seconds: float, _attempt: int) -> Any:
            request = self.request()
            if request is None:
                raise Unreachable("not connected to NATS")
            return await request(body, headers, seconds)

        try:
            reply = await persist(send, self.timeout, self.failover, again_after_timeout=again)
        except MaxPayloadError:
            return _error(
                413,
                "too_large_for_engine_link",
                f"The request body ({len(body):,} bytes) is larger than a message between this "
                "deployment's gateways and its engine may be (the NATS server's max_payload, "
                "1 MB unless configured); nothing was done. Send it in smaller parts (a points "
                "batch of about 5,000 events fits), or raise max_payload in the NATS server's "
                "configuration (up to 64 MB).",
            )
        except Unreachable as e:
            log.warning("no engine took a request: %s", e)
            return _error(
                503,
                "engine_unavailable",
                "The exchange's engine cannot be reached; nothing was done. Retry shortly.",
            )
        except Exception as e:  # a timeout, or the connection lost with the request sent
            log.warning("a request to the engine went unanswered: %r", e)
            return _error(
                504,
                "engine_timeout",
                f"The engine did not answer within {self.timeout:g} s; the change may or may "
                "not have been made. Retry with the same Idempotency-Key to be sure.",
            )
        meta = reply.headers or {}
        return int(meta.get(H_STATUS, "502")), json.loads(meta.get(H_HEADERS, "[]")), reply.data


# ---------------------------------------------------------------- the engine's side


@dataclass
class Responder:
    """The engine's side: each request from a gateway runs through ``app`` (the application
    `tanso serve` runs) and its answer goes back to the gateway that asked."""

    app: ASGIApp

    async def answer(self, data: bytes, meta: dict[str, str]) -> tuple[bytes, dict[str, str]]:
        deadline = float(meta.get(H_DEADLINE, "0") or 0)
        if deadline and time.time() > deadline:
            status, headers, body = _error(
                504,
                "deadline_passed",
                "The request reached the engine after its deadline; nothing was done.",
            )
        else:
            status, headers, body = await self._run(data, meta)
        return body, {H_STATUS: str(status), H_HEADERS: json.dumps(headers)}

    async def _run(self, data: bytes, meta: dict[str, str]) -> tuple[int, list[list[str]], bytes]:
        client = json.loads(meta.get(H_CLIENT, '["", 0]'))
        headers = [
            (k.encode("latin-1"), v.encode("latin-1")) for k, v in json.loads(meta[H_HEADERS])
        ]
        path = meta[H_PATH]
        scope: Scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": meta[H_METHOD],
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": meta.get(H_QUERY, "").encode("latin-1"),
            "root_path": "",
            "headers": headers,
            "client": (client[0], int(client[1])),
            "server": ("engine", 0),
            "state": {},
        }
        sent = False

        async def receive() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": data, "more_body": False}
            await asyncio.Event().wait()  # the answer is complete before a disconnect matters
            return {"type": "http.disconnect"}

        status = 500
        out_headers: list[list[str]] = []
        body = bytearray()

        async def send(message: Message) -> None:
            nonlocal status, out_headers
            if message["type"] == "http.response.start":
                status = message["status"]
                out_headers = [
                    [k.decode("latin-1"), v.decode("latin-1")] for k, v in message["headers"]
                ]
            elif message["type"] == "http.response.body":
                body.extend(message.get("body", b""))

        await self.app(scope, receive, send)
        return status, out_headers, bytes(body)
