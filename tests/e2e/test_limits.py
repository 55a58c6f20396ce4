"""What one request may cost (issue 14): request bodies over the limit are refused with 413 on
every route before authentication and before they are read; JSON nested deeper than the limit
gets 422 ``json_too_deep``; a stream message too large or too deep closes its connection with
1009 or 1008 and a log line; the inventory CSV is a file upload with a limit of its own.

Most tests go through ``TestClient(create_app(db))``; the last two (full tier) start a real
server, send 20 MiB bodies over a socket, with and without a Content-Length, and read the
server's peak memory from /proc; and send stream messages past the protocol's own limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import socket
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tanso.api.app import create_app
from tanso.api.limits import is_batch, is_upload
from tanso.harness.devserver import ServerProcess as Server
from tanso.services.common import SYSTEM
from tanso.services.ledger import participants
from tanso.services.marketdata import stream
from tanso.store.db import Database
from tests.conftest import add_participant
from tests.e2e.test_access_matrix import app_routes

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

MiB = 1024 * 1024
HUGE = b"x" * (20 * MiB)
HUGER = b"x" * (33 * MiB)
"""Over a points batch's larger limit (TANSO_MAX_BATCH_BYTES, 32 MiB)."""
WAIT = 30.0  # seconds: a guard against a hang, never a measurement


def error_code(r: Any) -> str:
    return str(r.json()["error"]["code"])


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


# ---------------------------------------------------------------- bodies


def test_a_20_mib_body_is_refused_with_413_on_every_route_without_authentication(
    db: Database,
) -> None:
    app = create_app(db)
    seen = 0
    with TestClient(app, raise_server_exceptions=False) as c:
        for method, template in app_routes(app):
            path = re.sub(r"\{[^}]+\}", "X", template)
            body = HUGER if is_batch(method, path) else HUGE
            r = c.request(method, path, content=body, headers={"content-type": "application/json"})
            assert r.status_code == 413, (method, path, r.status_code, r.text[:200])
            assert error_code(r) == "body_too_large"
            limit = "4 MiB" if is_upload(method, path) else "1 MiB"
            limit = "32 MiB" if is_batch(method, path) else limit
            assert limit in r.json()["error"]["message"], (method, path)
            assert f"{len(body):,} bytes" in r.json()["error"]["message"]
            seen += 1
        # the same without a Content-Length: counted as it is read
        chunks = (HUGE[i : i + 64 * 1024] for i in range(0, 4 * MiB, 64 * 1024))
        r = c.post("/v1/transfers", content=chunks, headers={"content-type": "application/json"})
        assert r.status_code == 413 and error_code(r) == "body_too_large"
        r = c.post("/portal/login", content=iter([HUGE[: 2 * MiB]]))
        assert r.status_code == 413 and error_code(r) == "body_too_large"
    assert seen > 100


def test_a_body_under_the_limit_reaches_the_route(db: Database) -> None:
    with TestClient(create_app(db)) as c:
        r = c.post("/v1/transfers", content=b" " * (MiB - 10) + b"{}")
        assert r.status_code == 401  # read, then refused for want of a key


def test_a_json_body_nested_1000_deep_is_refused_with_json_too_deep(db: Database) -> None:
    operator = participants.create_api_key(db, SYSTEM, "OPERATOR").key
    deep = "[" * 1000 + "]" * 1000
    with TestClient(create_app(db), raise_server_exceptions=False) as c:
        for path, headers in [("/v1/transfers", {}), ("/v1/usage/rulesets", bearer(operator))]:
            r = c.post(path, content=deep, headers={"content-type": "application/json", **headers})
            assert r.status_code == 422, r.text
            assert error_code(r) == "json_too_deep" and "32 deep" in r.json()["error"]["message"]
        nested = '{"rules": ' * 31 + "1" + "}" * 31  # within the limit: the route decides
        r = c.post("/v1/usage/rulesets", content=nested, headers=bearer(operator))
        assert r.status_code == 422 and error_code(r) != "json_too_deep"


# ---------------------------------------------------------------- the inventory upload


def test_the_inventory_csv_is_a_file_upload_with_a_limit_of_its_own(db: Database) -> None:
    add_participant(db, "UPLOAD")
    key = bearer(participants.create_api_key(db, SYSTEM, "UPLOAD").key)
    good = b"reporting_year,scope1\n2024,10\n2025,20\n"

    def upload(data: bytes, idem: str | None = None) -> Any:
        headers = key | ({"Idempotency-Key": idem} if idem else {})
        files = {"file": ("inventories.csv", data, "text/csv")}
        return c.post("/v1/inventories/import", files=files, headers=headers)

    with TestClient(create_app(db)) as c:
        first, again = upload(good, "import-1"), upload(good, "import-1")
        assert first.status_code == 200 and first.json()["imported"] == 2
        assert again.json() == first.json()  # another boundary, the same file: a replay
        assert upload(b"\xef\xbb\xbf" + good).status_code == 200  # a spreadsheet's BOM
        assert error_code(upload(b"reporting_year,scope1\n2024,\xff\n")) == "invalid_encoding"
        assert error_code(upload(b"")) == "empty_file"
        # over 1 MiB but under the upload limit: the service's own limit answers
        big = upload(b"reporting_year,scope1\n" + b"2024,1\n" * (3 * MiB // 7))
        assert big.status_code == 422 and error_code(big) == "file_too_large"
        assert upload(b"x" * (5 * MiB)).status_code == 413
        old = c.post("/v1/inventories/import", json={"csv": good.decode()}, headers=key)
        assert old.status_code == 422 and "file" in old.json()["error"]["message"]
        assert error_code(upload(b"reporting_year,note\n2024,a\x00b\n")) == "invalid_characters"
        # a file sent where no upload is expected is refused like any other odd body
        files = {"file": ("inventories.csv", good, "text/csv")}
        for path in ("/portal/login", "/v1/transfers"):
            odd = c.post(path, files=files, headers=key | {"Idempotency-Key": "odd"})
            assert 400 <= odd.status_code < 500, (path, odd.status_code)


# ---------------------------------------------------------------- stream messages


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ('{"op": "ping", "x": ' + "[" * 1000 + "]" * 1000 + "}", stream.POLICY_VIOLATION),
        (json.dumps({"op": "ping", "pad": "x" * 70_000}), stream.MESSAGE_TOO_BIG),
    ],
    ids=["1000-deep", "70-kB"],
)
def test_a_stream_message_too_deep_or_too_large_closes_with_a_code_and_a_log_line(
    sqlite_db: Database, caplog: pytest.LogCaptureFixture, message: str, code: int
) -> None:
    async def scenario() -> tuple[int, str, list[str]]:
        feed = stream.Feed(sqlite_db)
        feed.attach(asyncio.get_running_loop())
        sent: list[str] = []
        closed: asyncio.Future[tuple[int, str]] = asyncio.get_running_loop().create_future()

        async def send(text: str) -> None:
            sent.append(text)

        async def close(code: int, reason: str) -> None:
            closed.set_result((code, reason))

        sub = feed.subscriber(send, close)
        await sub.handle_text(json.dumps({"op": "ping"}))
        await sub.handle_text(message)
        got = await asyncio.wait_for(closed, WAIT)
        assert sub.closed and sub not in feed.subscribers
        return (*got, sent)

    with caplog.at_level(logging.WARNING, logger="tanso.stream"):
        got_code, reason, sent = asyncio.run(scenario())
    assert got_code == code and reason
    assert [json.loads(s)["type"] for s in sent] == ["pong"]
    assert any(str(code) in r.getMessage() for r in caplog.records if r.name == "tanso.stream")


# ---------------------------------------------------------------- a real server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("limits")
    running = Server(f"sqlite:///{tmp / 'limits.db'}", tmp)
    try:
        yield running
    finally:
        running.stop()


def send_raw(port: int, head: bytes, body: Iterable[bytes]) -> bytes:
    """Send a request over a socket (the body from a thread, for as long as the server reads)
    and return what the server answered before it closed the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as sock:
        sock.sendall(head)

        def send_body() -> None:
            try:
                for chunk in body:
                    sock.sendall(chunk)
            except OSError:
                pass  # the server answered and closed: it reads no more

        sender = threading.Thread(target=send_body, daemon=True)
        sender.start()
        answer = b""
        try:
            while data := sock.recv(65536):
                answer += data
                if b"\r\n\r\n" in answer and answer.endswith(b"}"):
                    break
        except ConnectionResetError:
            pass
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sender.join(WAIT)
    return answer


def chunked(total: int, size: int = 256 * 1024) -> Iterator[bytes]:
    piece = b"%x\r\n" % size + b"x" * size + b"\r\n"
    for _ in range(total // size):
        yield piece
    yield b"0\r\n\r\n"


def peak_memory_since_reset(pid: int) -> tuple[int, int]:
    """(resident, peak resident) of a process in KiB, from /proc."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
    hwm = int(re.search(r"VmHWM:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
    return rss, hwm


@pytest.mark.full  # a real server: several seconds to start on a busy machine
def test_a_real_server_refuses_20_mib_bodies_without_reading_them_into_memory(
    server: Server,
) -> None:
    pid = server.proc.pid
    targets = [
        ("POST", "/v1/transfers"),
        ("POST", "/v1/orders"),
        ("PUT", "/v1/inventories/ALPHA/2024"),
        ("POST", "/v1/inventories/import"),
        ("POST", "/portal/login"),
        ("GET", "/v1/participants"),
    ]

    def head(method: str, path: str, extra: str) -> bytes:
        return (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/json\r\n{extra}\r\n"
        ).encode()

    # one small request first (the server's first answer allocates), then reset the peak
    assert send_raw(server.port, head("GET", "/healthz", ""), []).startswith(b"HTTP/1.1 200")
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        pytest.skip("cannot reset the server's peak memory (/proc/PID/clear_refs)")
    before, _ = peak_memory_since_reset(pid)

    for method, path in targets:
        sized = head(method, path, f"Content-Length: {len(HUGE)}\r\n")
        answer = send_raw(server.port, sized, (HUGE[i : i + MiB] for i in range(0, len(HUGE), MiB)))
        assert answer.startswith(b"HTTP/1.1 413"), (method, path, answer[:300])
        assert b'"code":"body_too_large"' in answer
        streamed = head(method, path, "Transfer-Encoding: chunked\r\n")
        answer = send_raw(server.port, streamed, chunked(len(HUGE)))
        assert answer.startswith(b"HTTP/1.1 413"), (method, path, answer[:300])
        assert b'"code":"body_too_large"' in answer

    _, peak = peak_memory_since_reset(pid)
    assert peak - before < 6 * 1024, f"the server's memory grew by {(peak - before) // 1024} MiB"


@pytest.mark.full  # the same server
def test_a_real_server_closes_a_stream_that_sends_a_message_too_deep_or_too_large(
    server: Server,
) -> None:
    async def close_code(message: str) -> int | None:
        async with connect(server.ws, max_size=None) as ws:
            await ws.send(json.dumps({"op": "ping"}))
            assert json.loads(await asyncio.wait_for(ws.recv(), WAIT))["type"] == "pong"
            await ws.send(message)
            try:
                await asyncio.wait_for(ws.recv(), WAIT)
            except ConnectionClosed as closed:
                return closed.rcvd.code if closed.rcvd is not None else None
            return None  # answered instead of closing

    deep = '{"op": "ping", "x": ' + "[" * 1000 + "]" * 1000 + "}"
    assert asyncio.run(close_code(deep)) == stream.POLICY_VIOLATION
    large = json.dumps({"op": "ping", "pad": "x" * 100_000})
    assert asyncio.run(close_code(large)) == stream.MESSAGE_TOO_BIG
