"""Operations around the API: health and readiness, metrics, rate limits, request logs.

One ASGI middleware sees every HTTP request: it gives it a request id, refuses it when its
caller's token bucket is empty (429; the caller's address is the peer's, or the one
X-Forwarded-For gives when the peer is a trusted proxy) or when order entry would overflow the
exchange's queue (503), times it, counts it by route template and status, and logs one line
about it. It never logs a header, a query string or a body, so no API key, cookie, CSRF token,
password or TOTP code can reach a log; a filter also masks anything shaped like an API key
secret.

Exchange metrics (orders accepted, trades, auctions) come from the committed journal entries the
exchange hands its listeners, orders refused from the error code of order entry's answer, and
settlement figures from the database at scrape time: nothing here hooks into the services.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import sys
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator, MutableMapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from tanso.api import request_log
from tanso.api.deps import DB, AnswerRoute, CanRead, reject_nul
from tanso.api.errors import error_body
from tanso.api.limits import BodyLimits
from tanso.api.schemas_registry import (
    AccessLogPage,
    Readiness,
)
from tanso.domain import rate_limit
from tanso.domain.rate_limit import Client, Limiter, Network, retry_after
from tanso.services.access import access_log, actor_cache
from tanso.services.access.access_log import RequestInfo, current_request
from tanso.services.common import require_operator
from tanso.services.operations import health, schema
from tanso.settings import Settings
from tanso.store.db import Database

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger("tanso.http")

PROBES = frozenset({"/healthz", "/readyz", "/metrics"})
"""Never rate limited: a load balancer's probe must not be refused for being frequent."""
ORDER_ENTRY = frozenset({("POST", "/v1/orders")})
"""Requests refused with 503 while the exchange's queue is over its limit."""
SEALED_BID_PREFIXES = ("/v1/sealed-auctions", "/portal/auctions")
"""Routes about sealed bids (under these, with ``/bids`` in the template) are counted in no
metric and logged without path ids, address, participant, key or user: a count or a time of
bid requests would tell how many bids an auction has and when (docs/sealed-auctions.md)."""
KEY_RE = re.compile(r"tk_([0-9a-f]{16})_[A-Za-z0-9_-]+")
SECRET_RE = re.compile(r"(tk_[0-9a-f]{16}_)[A-Za-z0-9_-]+")
REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# ---------------------------------------------------------------- logging

LOG_FIELDS = (
    "request_id",
    "method",
    "path",
    "status",
    "duration_ms",
    "ip",
    "participant",
    "key_id",
    "user_id",
)


def redact(text_: str) -> str:
    """Mask the secret part of anything shaped like an API key."""
    return SECRET_RE.sub(r"\1***", text_)


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    out: dict[str, Any] = {}
    info = current_request.get()
    if info is not None and info.request_id:
        out["request_id"] = info.request_id
    for name in LOG_FIELDS:
        value = getattr(record, name, None)
        if value is not None:
            out[name] = value
    return out


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the request's fields."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        out |= _fields(record)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return redact(json.dumps(out, ensure_ascii=False, default=str))


class TextFormatter(logging.Formatter):
    """A line a person reads: time, level, logger, message, then the request's fields."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extra = " ".join(f"{k}={v}" for k, v in _fields(record).items())
        return redact(f"{line} {extra}" if extra else line)


class _Stderr(logging.Handler):
    """Writes to whatever sys.stderr is when a record is emitted (test runners swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:
            self.handleError(record)


HANDLER_NAME = "tanso-ops"


def configure_logging(fmt: str = "text", level: str = "info", stream: Any = None) -> None:
    """Send Tanso's and uvicorn's logs to stderr (or ``stream``) as text or JSON lines.

    Idempotent. uvicorn's own access log is switched off: ``tanso.http`` logs every request
    with more in it (request id, participant, duration)."""
    handler: logging.Handler = logging.StreamHandler(stream) if stream is not None else _Stderr()
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    tanso = logging.getLogger("tanso")
    tanso.handlers = [h for h in tanso.handlers if h.get_name() != HANDLER_NAME] + [handler]
    tanso.setLevel(level.upper())
    access = logging.getLogger("uvicorn.access")
    access.handlers, access.propagate, access.disabled = [], False, True
    if fmt == "json":
        logging.getLogger("uvicorn").handlers = [handler]


def uvicorn_log_config(fmt: str = "text", level: str = "info") -> dict[str, Any]:
    """A ``log_config`` for ``uvicorn.run`` so that even its first lines (before the app starts)
    come out in the chosen format."""
    formatter = "JsonFormatter" if fmt == "json" else "TextFormatter"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"tanso": {"()": f"tanso.api.ops.{formatter}"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "tanso",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": level.upper(), "propagate": False},
            "uvicorn.error": {"level": level.upper()},
            "uvicorn.access": {"handlers": [], "propagate": False},
        },
    }


# ---------------------------------------------------------------- metrics


class _ErrorCounter(logging.Handler):
    """Counts error records of Tanso's loggers: unexpected errors, failed batches, listeners."""

    def __init__(self, counter: Counter) -> None:
        super().__init__(logging.ERROR)
        self.counter = counter

    def emit(self, record: logging.LogRecord) -> None:
        self.counter.labels(logger=record.name).inc()


class _DatabaseCollector(Collector):
    """Figures read from the database at scrape time: they survive restarts."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily("tanso_database_up", "1 when the database answered this scrape")
        try:
            figures = health.stored_figures(self.db)
        except Exception:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield GaugeMetricFamily(
            "tanso_journal_head_seq",
            "Sequence number of the last journal entry",
            value=figures.journal_head,
        )
        yield CounterMetricFamily(
            "tanso_settlement_runs",
            "Settlement runs since the database was created",
            value=figures.settlement_runs,
        )
        yield CounterMetricFamily(
            "tanso_settlement_settled",
            "Obligations settled by settlement runs",
            value=figures.settled,
        )
        yield CounterMetricFamily(
            "tanso_settlement_failures",
            "Obligations that failed to settle in a settlement run",
            value=figures.failed,
        )
        yield GaugeMetricFamily(
            "tanso_settlement_failed_open",
            "Failed obligations waiting for the operator (settle later or cancel)",
            value=figures.failing_now,
        )


class Metrics:
    """The Prometheus metrics of one application (its own registry, so apps never collide)."""

    def __init__(self, db: Database, app: FastAPI) -> None:
        self.registry = r = CollectorRegistry()
        self.requests = Counter(
            "tanso_http_requests",
            "HTTP requests by method, route template and status",
            ["method", "route", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "tanso_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.limited = Counter(
            "tanso_rate_limited",
            "Requests refused with 429, by limit (key, ip)",
            ["limit"],
            registry=r,
        )
        self.overloaded = Counter(
            "tanso_overloaded",
            "Order entries refused with 503: the exchange queue was full",
            registry=r,
        )
        self.orders = Counter(
            "tanso_orders",
            "Orders accepted (committed by the exchange) or refused at entry (with the error code)",
            ["outcome", "reason"],
            registry=r,
        )
        self.trades = Counter("tanso_trades", "Trades made", registry=r)
        self.traded_quantity = Counter("tanso_traded_quantity", "Units traded", registry=r)
        self.auctions = Counter("tanso_auctions", "Call auctions run", registry=r)
        self.errors = Counter(
            "tanso_errors",
            "Error log records (unexpected errors), by logger",
            ["logger"],
            registry=r,
        )
        self.error_handler = _ErrorCounter(self.errors)
        exchange = app.state.exchange
        Gauge(
            "tanso_sequencer_queue_depth",
            "Commands waiting for the exchange sequencer",
            registry=r,
        ).set_function(lambda: queue_depth(exchange))
        Gauge(
            "tanso_sequencer_up", "1 while the exchange sequencer thread runs", registry=r
        ).set_function(lambda: 1.0 if sequencer_running(exchange) else 0.0)
        Gauge(
            "tanso_stream_subscribers", "Connected market-data stream subscribers", registry=r
        ).set_function(lambda: len(app.state.feed.subscribers))
        r.register(_DatabaseCollector(db))
        r.register(_FeedCollector(app.state.feed))
        cache = getattr(app.state, "public_cache", None)
        if cache is not None:
            r.register(_CacheCollector(cache))

    def on_commit(self, entries: list[dict[str, Any]]) -> None:
        """An exchange listener: count what each committed entry did (never blocks)."""
        for entry in entries:
            for e in entry.get("payload", {}).get("events", []):
                kind = e.get("event")
                if kind == "accepted":
                    self.orders.labels(outcome="accepted", reason="").inc()
                elif kind == "trade":
                    self.trades.inc()
                    self.traded_quantity.inc(int(e.get("quantity", 0)))
                elif kind == "auction":
                    self.auctions.inc()


class _FeedCollector(Collector):
    """The market-data stream's counters, read from the feed at each scrape."""

    def __init__(self, feed: Any) -> None:
        self.feed = feed

    def collect(self) -> Iterator[Metric]:
        for name, doc, value in (
            (
                "tanso_stream_messages_encoded",
                "Stream messages encoded to JSON (once per message, not per subscriber)",
                self.feed.encoded,
            ),
            ("tanso_stream_messages_sent", "Stream messages sent to subscribers", self.feed.sent),
            (
                "tanso_stream_subscribers_lagging",
                "Subscribers disconnected for falling too far behind (4001)",
                self.feed.lagging,
            ),
        ):
            yield CounterMetricFamily(name, doc, value=value)


class _CacheCollector(Collector):
    """A gateway's public read cache (cluster/read_cache.py), read at each scrape."""

    def __init__(self, cache: Any) -> None:
        self.cache = cache

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily(
            "tanso_public_cache_hits", "Public reads answered from memory", value=self.cache.hits
        )
        yield CounterMetricFamily(
            "tanso_public_cache_misses",
            "Public reads rendered (no answer kept, or a commit since)",
            value=self.cache.misses,
        )


def queue_depth(exchange: Any) -> int:
    """Commands waiting for the exchange's sequencer."""
    depth = getattr(exchange, "queue_depth", None)
    if isinstance(depth, int):
        return depth
    return int(exchange._queue.qsize())


def sequencer_running(exchange: Any) -> bool:
    running = getattr(exchange, "running", None)
    if isinstance(running, bool):
        return running
    thread = exchange._thread
    return thread is not None and bool(thread.is_alive())


# ---------------------------------------------------------------- the middleware


def _header(scope: Scope, name: bytes) -> str | None:
    for k, v in scope.get("headers", ()):
        if k == name:
            return bytes(v).decode("latin-1")
    return None


def _forwarded_for(scope: Scope) -> str | None:
    """Every X-Forwarded-For header of a request, joined as one list (None: there is none)."""
    values = [
        bytes(v).decode("latin-1") for k, v in scope.get("headers", ()) if k == b"x-forwarded-for"
    ]
    return ",".join(values) if values else None


def client_of(scope: Scope, trusted: tuple[Network, ...]) -> Client:
    """The client of a request (rate_limit.client_of); behind a trusted proxy the scheme is the
    one X-Forwarded-Proto names, as the proxy's client used it."""
    peer = scope.get("client")
    client = rate_limit.client_of(peer[0] if peer else None, _forwarded_for(scope), trusted)
    if client.address != (peer[0] if peer else None):
        proto = (_header(scope, b"x-forwarded-proto") or "").strip().lower()
        if proto in ("http", "https"):
            scope["scheme"] = proto
    return client


def _key_of(scope: Scope) -> tuple[str, str] | None:
    """(bucket, key id) of the API key a request carries, unverified. The bucket is a hash of
    the whole key, so a caller who knows a key id but not its secret cannot drain its bucket."""
    token = _header(scope, b"x-api-key")
    if token is None:
        auth = _header(scope, b"authorization")
        if auth and auth[:7].lower() == "bearer ":
            token = auth[7:]
    if not token:
        return None
    token = token.strip()
    m = KEY_RE.fullmatch(token)
    if m is None:
        return None
    return hashlib.sha256(token.encode()).hexdigest()[:32], m.group(1)


class Operations:
    """The ASGI middleware: request id, rate limits, backpressure, metrics and the request log."""

    def __init__(
        self, app: ASGIApp, *, fastapi: FastAPI, settings: Settings, metrics: Metrics
    ) -> None:
        self.app = app
        self.fastapi = fastapi
        self.metrics = metrics
        self.queue_limit = settings.exchange_queue_limit
        self.limit_local = settings.rate_limit_local
        self.trusted = rate_limit.parse_networks(settings.trusted_proxies)
        self.by_key = Limiter(settings.rate_limit_key_per_second, settings.rate_limit_key_burst)
        self.by_ip = Limiter(settings.rate_limit_ip_per_second, settings.rate_limit_ip_burst)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        method, path = scope["method"], scope["path"]
        client = client_of(scope, self.trusted)
        ip = client.address
        sent_id = _header(scope, b"x-request-id")
        request_id = sent_id if sent_id and REQUEST_ID_RE.fullmatch(sent_id) else uuid.uuid4().hex
        info = RequestInfo(request_id, ip, method, request_log.redact_path(path))
        status = 500
        refused = self._refuse(scope, path, method, client)

        refusal = bytearray()
        order_entry = (method, path) in ORDER_ENTRY

        async def send_(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            elif order_entry and status >= 400 and len(refusal) < 4096:
                refusal.extend(message.get("body", b""))
            await send(message)

        with access_log.request_context(info):
            try:
                if refused is not None:
                    await refused(scope, receive, send_)
                else:
                    await self.app(scope, receive, send_)
            finally:
                self._observe(scope, info, status, time.perf_counter() - start)
                if order_entry and status >= 400 and status not in (429, 503):
                    self.metrics.orders.labels(outcome="rejected", reason=_code(refusal)).inc()

    def _refuse(self, scope: Scope, path: str, method: str, client: Client) -> Response | None:
        if path in PROBES:
            return None
        if self.limit_local or not client.local:
            wait = self.by_ip.take(client.address or "-", time.monotonic())
            if wait:
                self.metrics.limited.labels(limit="ip").inc()
                return _too_many(wait, "Too many requests from this address.")
            key = _key_of(scope)
            if key is not None:
                wait = self.by_key.take(key[0], time.monotonic())
                if wait:
                    self.metrics.limited.labels(limit="key").inc()
                    return _too_many(wait, f"Too many requests with API key {key[1]}.")
        if (method, path) in ORDER_ENTRY and self.queue_limit > 0:
            exchange = self.fastapi.state.exchange
            if queue_depth(exchange) >= self.queue_limit:
                self.metrics.overloaded.inc()
                return JSONResponse(
                    error_body(
                        "overloaded",
                        "The exchange has too many orders waiting; nothing was done. "
                        "Retry shortly.",
                    ),
                    status_code=503,
                    headers={"Retry-After": "1"},
                )
        return None

    def _observe(self, scope: Scope, info: RequestInfo, status: int, seconds: float) -> None:
        route = scope.get("route")
        template = getattr(route, "path", None) or (
            scope["path"] if scope["path"] in PROBES else "(unmatched)"
        )
        method = scope["method"]
        if sealed_bid_route(template):
            log.info("%s %s %d", method, template, status, extra={"path": template})
            return
        if template != "/metrics":
            self.metrics.requests.labels(method=method, route=template, status=str(status)).inc()
            self.metrics.latency.labels(method=method, route=template).observe(seconds)
        level = logging.ERROR if status >= 500 else logging.INFO
        if template in ("/healthz", "/readyz", "/metrics") and status < 500:
            level = logging.DEBUG
        log.log(
            level,
            "%s %s %d",
            method,
            template,
            status,
            extra={
                "method": method,
                "path": info.path,
                "status": status,
                "duration_ms": round(seconds * 1000, 3),
                "ip": info.ip,
                "participant": info.participant_id,
                "key_id": info.key_id,
                "user_id": info.user_id,
            },
        )


def sealed_bid_route(template: str) -> bool:
    """A route about sealed bids: not counted, logged without who or which (see above)."""
    return template.startswith(SEALED_BID_PREFIXES) and "/bids" in template


def _code(body: bytes | bytearray) -> str:
    """The error code of an error answer (``unknown`` if it has none)."""
    try:
        return str(json.loads(body)["error"]["code"])[:64]
    except (ValueError, KeyError, TypeError):
        return "unknown"


def _too_many(wait: float, message: str) -> JSONResponse:
    return JSONResponse(
        error_body("rate_limited", f"{message} Retry after the time in Retry-After."),
        status_code=429,
        headers={"Retry-After": str(retry_after(wait))},
    )


# ---------------------------------------------------------------- readiness


def readiness(db: Database, exchange: Any, queue_limit: int, head: str | None) -> list[str]:
    """Why the server should not get traffic now (empty: it is ready)."""
    reasons: list[str] = []
    try:
        current = health.current_revision(db)
        if current != head:
            reasons.append(f"database schema at {current}, expected {head}: run tanso db upgrade")
    except Exception as e:
        reasons.append(f"database does not answer: {type(e).__name__}")
    if not sequencer_running(exchange):
        reasons.append("exchange sequencer is not running")
    depth = queue_depth(exchange)
    if queue_limit > 0 and depth >= queue_limit:
        reasons.append(f"exchange queue holds {depth} commands (limit {queue_limit})")
    return reasons


# ---------------------------------------------------------------- routes and installation

router = APIRouter(tags=["operations"], route_class=AnswerRoute)


@router.get("/readyz", response_model=Readiness)
def readyz(request: Request) -> JSONResponse:
    """Ready for traffic: the database answers at the current schema, the exchange's sequencer
    runs and its queue is under the limit. 503 with the reasons otherwise."""
    state = request.app.state
    reasons = readiness(state.db, state.exchange, state.ops_queue_limit, state.ops_schema_head)
    role = getattr(state, "engine_role", None)  # `tanso engine`: a leader also needs NATS
    if role is not None and role.state == "leader" and not role.link.connected:
        reasons.append("engine is not connected to NATS: gateways cannot reach it")
    if reasons:
        body = {"status": "not_ready", "reasons": reasons} | error_body(
            "not_ready", "; ".join(reasons)
        )
        return JSONResponse(body, status_code=503, headers={"Retry-After": "5"})
    return JSONResponse({"status": "ready"})


@router.get("/metrics", include_in_schema=False, response_class=Response)
def metrics(request: Request, actor: CanRead) -> Response:
    """Prometheus metrics (text exposition format), for an operator key only (a scraper sends
    it as ``Authorization: Bearer``): they describe the whole market's activity."""
    require_operator(actor, "read the metrics")
    m: Metrics = request.app.state.metrics
    return Response(generate_latest(m.registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/v1/operator/access-log", response_model=AccessLogPage, tags=["operator"])
def access_log_page(
    db: DB,
    actor: CanRead,
    kind: Annotated[str | None, Query(max_length=32)] = None,
    subject: Annotated[str | None, Query(max_length=254)] = None,
    participant_id: Annotated[str | None, Query(max_length=40)] = None,
    before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    limit: Annotated[int, Query(ge=1, le=access_log.MAX_PAGE)] = 100,
) -> access_log.AccessPage:
    """Logins, second factors and API key use, newest first (operator). Pass `next_before` as
    `before` for the next page."""
    return access_log.list_access(
        db,
        actor,
        kind=kind,
        subject=subject,
        participant_id=participant_id,
        before=before,
        limit=limit,
    )


# ---------------------------------------------------------------- the background tick


class Tick:
    """The request path's work that no request waits for, each ``interval`` seconds in a thread
    of its own: write the access log's waiting rows, and follow the journal for API key,
    participant and mandate changes another process committed (actor_cache.catch_up). Stopping
    it runs a last tick, so shutdown loses no row."""

    def __init__(self, db: Database, interval: float) -> None:
        self.db = db
        self.interval = interval
        self.heard: list[Callable[[int], None]] = []
        """Told the journal head each tick read (a gateway's public read cache)."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> None:
        access_log.flush(self.db)
        actor_cache.catch_up(self.db)
        seq = actor_cache.of(self.db).seen_seq
        if seq is not None:
            for listener in self.heard:
                listener(seq)

    def start(self) -> None:
        if self._thread is None and self.interval > 0:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="tanso-tick", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.tick()
            except Exception:  # a database that does not answer now may answer next time
                log.exception("the background tick failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        access_log.flush(self.db)


def install(app: FastAPI, db: Database) -> None:
    """Add middleware and operational routes to ``app``."""
    settings = Settings()
    actor_cache.configure(db, settings.api_key_cache_size)
    app.state.tick = Tick(db, settings.background_tick_seconds)
    disable_created_metrics()  # type: ignore[no-untyped-call]
    metrics_ = Metrics(db, app)
    app.state.metrics = metrics_
    app.state.ops_queue_limit = settings.exchange_queue_limit
    app.state.ops_schema_head = schema.head_revision(db)
    app.state.ops_settings = settings
    exchange = app.state.exchange
    exchange.listeners.append(metrics_.on_commit)
    if hasattr(exchange, "max_queue"):
        exchange.max_queue = settings.exchange_queue_limit
    app.include_router(router, dependencies=[Depends(reject_nul)])
    # the last added runs first: request id, rate limits and the log line, then body limits
    app.add_middleware(BodyLimits, settings=settings)
    app.add_middleware(Operations, fastapi=app, settings=settings, metrics=metrics_)


def start(app: FastAPI) -> None:
    """At server start: logging as the settings say, and counting error records."""
    settings: Settings = app.state.ops_settings
    configure_logging(settings.log_format, settings.log_level)
    request_log.apply(settings, HANDLER_NAME, JsonFormatter)
    logging.getLogger("tanso").addHandler(app.state.metrics.error_handler)
    app.state.tick.start()


def stop(app: FastAPI) -> None:
    """At server stop (after the sequencer's last batch): the access log's last rows."""
    app.state.tick.stop()
    logging.getLogger("tanso").removeHandler(app.state.metrics.error_handler)
