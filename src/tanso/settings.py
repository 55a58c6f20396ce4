"""Settings from the environment and a `.env` file (pydantic-settings)."""

from __future__ import annotations

import datetime as dt
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tanso.domain.json_depth import DEFAULT_LIMIT
from tanso.domain.rate_limit import parse_networks
from tanso.store.db import Database


class Settings(BaseSettings):
    """Every setting can be given as TANSO_<NAME> in the environment or in `.env`."""

    model_config = SettingsConfigDict(env_prefix="TANSO_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./tanso.db"
    host: str = "127.0.0.1"
    port: int = 8000
    sqlite_synchronous: Literal["OFF", "NORMAL", "FULL", "EXTRA"] = "FULL"
    log_level: str = "info"
    settlement_time: dt.time | None = None
    """Run settlement each business day at this JST time (e.g. 16:00); unset: by hand only."""
    stream_buffer: int = 10_000
    """Recent stream messages kept in memory for resuming clients; older ones come from the
    journal."""
    stream_queue: int = 1_000
    """Messages a slow stream client may fall behind before it is told to reconnect."""
    sessions: bool = False
    """Run the session scheduler (open, auctions at 11:30 and 15:00, close) and refuse orders
    outside the acceptance windows. Off by default so a market can be driven by hand."""
    virtual_clock: str = ""
    """Run the market on a virtual business clock anchored here, ``<ISO time>@<epoch seconds>``
    (the virtual time at that wall-clock time): the demo's clock (`tanso serve --simulate` makes
    one from where its data ends), or a test venue's; empty: the wall clock. Sessions then run
    (docs/demo-clock.md)."""
    virtual_clock_speed: float = Field(default=60.0, gt=0, le=3_600)
    """The virtual clock's speed: virtual seconds of business hours per wall-clock second."""
    surveillance_online: bool = True
    """Run the surveillance rules online (売買審査, docs/surveillance.md) on the exchange's
    committed entries, on a thread of their own; off: only batch scans raise alerts."""
    log_format: Literal["text", "json"] = "text"
    """Server logs as plain text, or one JSON object per line for a log collector."""
    request_log: Literal["all", "quiet"] = "all"
    """The console's request lines: every request, or (quiet) only statuses of 400 or more and
    requests slower than request_log_slow_ms (api/request_log.py; the demo runs quiet)."""
    request_log_slow_ms: float = 1_000.0
    request_log_file: str | None = None
    """Also write every request line, as JSON, to this file (the demo: tanso-requests.log)."""
    rate_limit_key_per_second: float = 50.0
    """Requests a second one API key may make on average (token bucket); 0: no limit."""
    rate_limit_key_burst: int = 200
    rate_limit_ip_per_second: float = 100.0
    """Requests a second one client address may make on average (token bucket); 0: no limit."""
    rate_limit_ip_burst: int = 400
    rate_limit_local: bool = False
    """Limit local callers too (the loopback, in-process test clients). Off by default: a reverse
    proxy on the same host without X-Forwarded-For, benchmarks and the demo are local."""
    trusted_proxies: str = "127.0.0.1, ::1"
    """Addresses and networks (CIDR), separated by commas, of the reverse proxies whose
    X-Forwarded-For names the client; empty: the connection's address is the client."""
    max_body_bytes: int = 1_048_576
    """The largest request body (bytes) of every route but the uploads: a larger one is
    answered 413 before it is read, before authentication."""
    max_upload_bytes: int = 4_194_304
    """The largest request body (bytes) of the bulk uploads (POST /v1/inventories/import and the
    portal's POST /portal/emissions/import)."""
    max_batch_bytes: int = 33_554_432
    """The largest request body (bytes) of a points programme's batch: its events (POST
    /v1/points/{programme}/events, up to 100,000 a batch) and its pledges to a pool."""
    max_json_depth: int = DEFAULT_LIMIT
    """The deepest nesting of arrays and objects in a JSON request body or stream message."""
    stream_max_message_bytes: int = 65_536
    """The largest message (bytes) a stream client may send; a larger one closes with 1009."""
    stream_deflate: bool = False
    """Offer WebSocket compression (permessage-deflate) to stream clients. Off by default: it
    compresses every message once per client, which costs more than market data's short
    messages save (bench/cluster.py measures both)."""
    exchange_queue_limit: int = 5_000
    """Commands waiting for the exchange's sequencer above which order entry answers 503 and
    the server reports itself not ready."""
    api_key_cache_size: int = 10_000
    """Verified API keys whose caller is kept in memory (LRU), so that their requests read
    nothing to authenticate; 0: read the key, participant and mandate at every request."""
    background_tick_seconds: float = 1.0
    """How often the server writes the access log's buffered rows (when no write transaction
    took them first) and reads the journal for key, role and mandate changes made by another
    process; 0: only at shutdown and when the log is read."""
    nats_url: str = "nats://127.0.0.1:4222"
    """The NATS server of the gateway and engine roles (`tanso gateway`, `tanso engine`)."""
    nats_user: str = ""
    """This process's NATS user (each role its own: docs/deployment.md); empty: none."""
    nats_password: str = ""
    engine_timeout_seconds: float = 10.0
    """How long a gateway waits for the engine's answer before it answers 504."""
    read_database_url: str = ""
    """A gateway's read replica of the PostgreSQL database (a streaming standby): the public
    reads it caches are rendered from there. Empty: the database of TANSO_DATABASE_URL."""
    engine_failover_seconds: float = 5.0
    """How long a gateway keeps asking again while no engine takes its requests (the standby
    is taking over) before it answers 503 ``engine_unavailable``; 0: answer at once."""
    public_url: str = ""
    """The site's public address (https://tanso.example.jp, with a path prefix if any): the base
    of every absolute link it prints, such as a certificate's verify URL and QR code, and an
    Origin the portal's forms accept. Never taken from the request's Host header; unset, those
    links are paths relative to the site."""

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        """An http(s) address without query or fragment, its trailing slash removed."""
        url = value.strip().rstrip("/")
        if not url:
            return ""
        parts = urlsplit(url)
        if (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.query
            or parts.fragment
        ):
            raise ValueError("must be an http(s) address such as https://tanso.example.jp")
        return url

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        parse_networks(value)  # refuse a typo at start rather than trust nobody silently
        return value


def utc_now() -> str:
    """The wall clock, read only here and handed to the database as its clock."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def open_database(settings: Settings | None = None) -> Database:
    s = settings or Settings()
    return Database(s.database_url, utc_now, sqlite_synchronous=s.sqlite_synchronous)
