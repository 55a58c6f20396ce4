"""The end-to-end tests on both topologies (issue 16): the single process, and on PostgreSQL an
engine with a gateway in front, over a NATS server of the test session's own.

Every test module that builds its application with ``create_app`` runs again in the full tier
(`make test-all`) with ``topology`` = ``cluster``: its ``create_app`` then gives an application
whose HTTP and WebSocket requests go to a gateway, while an engine on the test's database (the
one the test writes to directly) answers it, as `tanso gateway` and `tanso engine` do.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from tanso.api.app import create_app as single_app
from tanso.cluster.market_data import STREAM
from tanso.cluster.nats_link import GatewayLink, NatsSettings
from tanso.harness.nats_server import NatsServer
from tanso.store.db import Database
from tests.conftest import PG_URL


@pytest.fixture(scope="session")
def session_nats() -> Iterator[str]:
    """One NATS server (JetStream on, no users: the roles' permissions are
    tests/integration/test_cluster.py's) for this test process's cluster tests."""
    tmp = Path(tempfile.mkdtemp(prefix="tanso-nats-"))
    server = NatsServer(tmp)
    yield server.url
    server.stop()
    shutil.rmtree(tmp, ignore_errors=True)


class Cluster:
    """An ASGI application that is an engine and a gateway: its lifespan starts both (the
    engine first), its requests go to the gateway. ``state`` is the engine's (the tests that
    reach into the application reach into the writer)."""

    def __init__(self, engine: Any, gateway: Any, nats_url: str, gw_db: Database) -> None:
        self.engine, self.gateway, self.nats_url, self.gw_db = engine, gateway, nats_url, gw_db
        self.state = engine.state
        self.router = self  # TestClient enters ``app.router.lifespan_context`` for some tests

    def __getattr__(self, name: str) -> Any:
        return getattr(self.gateway, name)  # its routes, its OpenAPI document

    @asynccontextmanager
    async def lifespan_context(self, _app: Any) -> AsyncIterator[None]:
        nc = await NatsSettings(self.nats_url).connect()
        with contextlib.suppress(Exception):  # a fresh database: the stream starts again
            await nc.jetstream().delete_stream(STREAM)
        await nc.close()
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(self.engine.router.lifespan_context(self.engine))
            await stack.enter_async_context(self.gateway.router.lifespan_context(self.gateway))
            yield
        self.gw_db.dispose()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        await self.gateway(scope, receive, send)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        message = await receive()
        assert message["type"] == "lifespan.startup"
        try:
            async with self.lifespan_context(self):
                await send({"type": "lifespan.startup.complete"})
                await receive()  # lifespan.shutdown
        except BaseException as e:
            await send({"type": "lifespan.startup.failed", "message": repr(e)})
            raise
        await send({"type": "lifespan.shutdown.complete"})


@pytest.fixture(params=["single", "cluster"], autouse=True)
def topology(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "single":
        return "single"
    module = request.module
    callspec = getattr(request.node, "callspec", None)
    backend = callspec.params.get("db") if callspec is not None else None
    uses_pg = backend == "postgres" or "pg_db" in request.fixturenames
    if getattr(module, "create_app", None) is not single_app or not uses_pg:
        pytest.skip("the cluster topology runs tests that build the app, on PostgreSQL")
    marker = request.node.get_closest_marker("single_process")
    if marker is not None:
        pytest.skip(marker.args[0] if marker.args else "about the single process only")
    nats_url = request.getfixturevalue("session_nats")
    schema = request.getfixturevalue("pg_schema")

    def cluster_app(db: Database, **options: Any) -> Cluster:
        engine = single_app(db, engine_nats=NatsSettings(nats_url, name="tanso-engine"), **options)
        gw_db = Database(PG_URL, db.clock, pg_schema=schema)
        link = GatewayLink(NatsSettings(nats_url, name="tanso-gw"))
        gateway = single_app(gw_db, gateway=link)

        def told(entries: Any) -> None:
            # the engine's tanso.head notice, delivered at once: a test that writes to the
            # database itself and then reads a public route must not race the notice
            # (tests/integration/test_cluster.py covers the notice itself)
            if entries:
                link.head.advance(entries[-1].seq)

        db.after_commit.append(told)
        return Cluster(engine, gateway, nats_url, gw_db)

    monkeypatch.setattr(module, "create_app", cluster_app)
    return "cluster"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The cluster forms belong to the full tier."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("topology") == "cluster":
            item.add_marker(pytest.mark.full)
