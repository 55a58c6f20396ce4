"""Sustained load: `.venv/bin/python bench/load.py` (`--seconds N` per phase, `--quick`: small).

A real server (`python -m tanso.cli serve`, SQLite by default, `--backend postgres`) under three
phases of `--seconds` each (60 by default), on one market prepared through the service layer:

1. **orders alone**: order entry by 8 client threads (one participant each, keep-alive httpx
   connections over loopback, one order after another: limit orders on a continuous market, buys
   1,988-2,000 and sells 2,000-2,012, so about one in twelve trades);
2. **full mix**: the same order entry, plus 4 market-data readers (REST: day bars, public trades,
   book depth, in turn) and 1,000 WebSocket subscribers to the market's trades (in a second
   process, asyncio, as bench/market_data.py);
3. **limits on**: the full mix again with the rate limits applied to the loopback too
   (`TANSO_RATE_LIMIT_LOCAL=true`), the per-address limit set to half of what phase 1 reached
   (burst as large) and a small exchange queue (`TANSO_EXCHANGE_QUEUE_LIMIT=4`), so that the
   server has to push back: clients get 429 or 503 with Retry-After and wait that long before
   their next request.

Per phase and request kind: requests answered, throughput, p50 and p99 latency, 429 and 503
answers (and whether they carried Retry-After), timeouts and 5xx. Nothing lost: every order
acknowledged (201) is in the database, the journal verifies, and every subscriber received every
trade message of the phase once and in order; a subscriber the server found too slow is closed
with code 4001 (the documented gap signal, docs/stream.md) and resumes from its last seq, and the
count of those is printed. Last, the figures side by side with the limits and targets, as ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import multiprocessing as mp
import os
import platform
import random
import resource
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from tanso.harness.devserver import ServerProcess
from tanso.harness.soak import Market, prepare_market, scratch_database
from tanso.services.ledger import audit
from tanso.settings import utc_now
from tanso.store import schema as t
from tanso.store.db import Database

INSTRUMENT = "LOAD"
REFERENCE = 2_000
ORDER_CLIENTS = 8
READERS = 4
READS = ("bars", "trades", "book")
# targets we hold ourselves to on a 2-CPU machine shared with the clients
TARGET_P99_MS = {"order": 1_000.0, "bars": 500.0, "trades": 500.0, "book": 500.0}
TARGET_STREAM_P99_MS = 1_000.0
LIMITED_ENV = {"TANSO_RATE_LIMIT_LOCAL": "true", "TANSO_EXCHANGE_QUEUE_LIMIT": "4"}


def _limits_below(alone: Phase) -> dict[str, str]:
    """A per-address limit at half of what order entry alone reached, so that the mix (all from
    127.0.0.1) exceeds it and the limiter has to answer 429."""
    limit = max(5, round(alone.rate("order") / 2))
    return {"TANSO_RATE_LIMIT_IP_PER_SECOND": str(limit), "TANSO_RATE_LIMIT_IP_BURST": str(limit)}


# ---------------------------------------------------------------- HTTP clients


@dataclass
class Kind:
    latencies: list[float] = field(default_factory=list)
    status: Counter[int] = field(default_factory=Counter)
    retry_after_missing: int = 0
    timeouts: int = 0
    transport_errors: int = 0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return 1_000 * ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Stats:
    def __init__(self) -> None:
        self.kinds: dict[str, Kind] = {}
        self.lock = threading.Lock()
        self.acked: list[str] = []

    def record(self, kind: str, seconds: float, r: httpx.Response | None, error: str = "") -> None:
        with self.lock:
            k = self.kinds.setdefault(kind, Kind())
            if r is None:
                if error == "timeout":
                    k.timeouts += 1
                else:
                    k.transport_errors += 1
                return
            k.status[r.status_code] += 1
            if r.status_code < 400:
                k.latencies.append(seconds)
            if r.status_code in (429, 503) and "retry-after" not in r.headers:
                k.retry_after_missing += 1


def _call(
    http: httpx.Client, stats: Stats, kind: str, stop: threading.Event, method: str, path: str,
    **kw: Any,
) -> httpx.Response | None:  # fmt: skip
    t0 = time.perf_counter()
    try:
        r = http.request(method, path, **kw)
    except httpx.TimeoutException:
        stats.record(kind, 0, None, "timeout")
        return None
    except httpx.TransportError:
        stats.record(kind, 0, None, "transport")
        return None
    stats.record(kind, time.perf_counter() - t0, r)
    if r.status_code in (429, 503):
        # backpressure: wait as told before the next request
        stop.wait(float(r.headers.get("retry-after", "1")))
    return r


def order_client(i: int, url: str, key: str, stats: Stats, stop: threading.Event, tag: str) -> None:
    rng = random.Random(i)
    buyer = i % 2 == 0
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    with httpx.Client(base_url=url, headers=headers, timeout=30, limits=limits) as http:
        n = 0
        while not stop.is_set():
            n += 1
            body = {
                "instrument": INSTRUMENT,
                "side": "buy" if buyer else "sell",
                "quantity": rng.randint(1, 10),
                "price": REFERENCE + (rng.randint(-12, 0) if buyer else rng.randint(0, 12)),
                "client_order_id": f"{tag}-{i}-{n}",
            }
            idem = {"Idempotency-Key": f"{tag}-{i}-{n}"}
            r = _call(http, stats, "order", stop, "POST", "/v1/orders", json=body, headers=idem)
            if r is not None and r.status_code == 201:
                with stats.lock:
                    stats.acked.append(r.json()["id"])


def reader(i: int, url: str, key: str, stats: Stats, stop: threading.Event) -> None:
    paths = {
        "bars": f"/v1/market/bars?instrument={INSTRUMENT}&interval=1d",
        "trades": f"/v1/market/trades?instrument={INSTRUMENT}&limit=100",
        "book": f"/v1/instruments/{INSTRUMENT}/book?depth=10",
    }
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    with httpx.Client(base_url=url, headers=headers, timeout=30, limits=limits) as http:
        n = i
        while not stop.is_set():
            kind = READS[n % len(READS)]
            n += 1
            _call(http, stats, kind, stop, "GET", paths[kind])


# ---------------------------------------------------------------- WebSocket subscribers


def subscribers_main(ws_url: str, n: int, conn: Connection) -> None:
    """The second process: ``n`` subscribers; reports to the parent through ``conn``."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(soft, 4 * n + 256), hard), hard))
    asyncio.run(_subscribers(ws_url, n, conn))


async def _subscribers(ws_url: str, n: int, conn: Connection) -> None:
    from websockets.asyncio.client import ClientConnection, connect
    from websockets.exceptions import ConnectionClosed

    seqs: list[list[int]] = [[] for _ in range(n)]
    lat: list[float] = []
    heads = [0] * n
    gaps = [0] * n
    reconnects = [0] * n
    target = [10**18]
    reached = asyncio.Event()
    at_target = [0]

    async def subscribe(since: int | None) -> tuple[ClientConnection, int]:
        ws = await connect(ws_url, open_timeout=120, ping_interval=None, max_size=2**24)
        req: dict[str, Any] = {"op": "subscribe", "instruments": [INSTRUMENT]}
        req["channels"] = ["trades"]
        if since is not None:
            req["since"] = since
        await ws.send(json.dumps(req))
        reply = json.loads(await ws.recv())
        return ws, int(reply["head"])

    async def run(i: int, ws: ClientConnection) -> None:
        done = False
        while True:
            try:
                async for raw in ws:
                    now = time.time()
                    msg = json.loads(raw)
                    if "seq" not in msg:
                        continue
                    seqs[i].append(msg["seq"])
                    lat.append(now - _epoch(msg["at"]))
                    if not done and msg["seq"] >= target[0]:
                        done = True
                        at_target[0] += 1
                        if at_target[0] == n:
                            reached.set()
                return
            except ConnectionClosed as e:
                if e.rcvd is not None and e.rcvd.code == 4001:
                    gaps[i] += 1  # too slow: the documented gap signal
                else:
                    reconnects[i] += 1
            last = seqs[i][-1] if seqs[i] else heads[i]
            while True:
                try:
                    ws, _ = await subscribe(last)
                    break
                except (OSError, TimeoutError):
                    reconnects[i] += 1
                    await asyncio.sleep(0.2)

    t0 = time.perf_counter()
    clients: list[ClientConnection] = []
    for start in range(0, n, 100):
        batch = await asyncio.gather(*(subscribe(None) for _ in range(start, min(n, start + 100))))
        for k, (ws, head) in enumerate(batch):
            heads[start + k] = head
            clients.append(ws)
    connect_s = time.perf_counter() - t0
    tasks = [asyncio.create_task(run(i, ws)) for i, ws in enumerate(clients)]
    conn.send({"ready": connect_s, "head": min(heads)})
    loop = asyncio.get_running_loop()
    expected: list[int] = await loop.run_in_executor(None, conn.recv)
    t1 = time.perf_counter()
    if expected:
        target[0] = expected[-1]
        # a subscriber that already has everything counted itself when it got the last one
        at_target[0] = sum(1 for s in seqs if s and s[-1] >= target[0])
        if at_target[0] < n:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(reached.wait(), 120)
    drain_s = time.perf_counter() - t1
    for ws in clients:
        with contextlib.suppress(Exception):
            await ws.close()
    for task in tasks:
        task.cancel()
    complete = 0
    short = 0
    for i, s in enumerate(seqs):
        mine = [x for x in expected if x > heads[i]]
        if s == mine:
            complete += 1
        elif len(s) < len(mine):
            short += 1
    ordered = sorted(lat)

    def pct(q: float) -> float:
        return 1_000 * ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if lat else 0

    conn.send(
        {
            "subscribers": n,
            "connect_s": connect_s,
            "drain_s": drain_s,
            "messages": len(expected),
            "deliveries": len(lat),
            "p50": pct(0.5),
            "p99": pct(0.99),
            "max": pct(1.0),
            "complete": complete,
            "short": short,
            "gap_signals": sum(gaps),
            "subscribers_with_gap": sum(1 for g in gaps if g),
            "reconnects": sum(reconnects),
        }
    )


def _epoch(at: str) -> float:
    return dt.datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()


# ---------------------------------------------------------------- one phase


@dataclass
class Phase:
    name: str
    seconds: float
    stats: Stats
    stream: dict[str, Any] | None
    missing: int
    trades: int

    def rate(self, kind: str) -> float:
        k = self.stats.kinds.get(kind)
        return len(k.latencies) / self.seconds if k else 0.0


def run_phase(
    name: str,
    tag: str,
    url: str,
    market: Market,
    workdir: Path,
    seconds: float,
    *,
    readers: int,
    subscribers: int,
    env: dict[str, str] | None = None,
) -> Phase:
    server = ServerProcess(url, workdir, env=env)
    child = None
    parent_end = None
    stream: dict[str, Any] | None = None
    try:
        if subscribers:
            parent_end, child_end = mp.Pipe()
            child = mp.get_context("spawn").Process(
                target=subscribers_main, args=(server.ws, subscribers, child_end), daemon=True
            )
            child.start()
            if not parent_end.poll(600):
                raise RuntimeError("the subscribers did not connect")
            ready = parent_end.recv()
            print(f"    {subscribers} subscribers connected in {ready['ready']:.1f} s", flush=True)
        stats = Stats()
        stop = threading.Event()
        keys = list(market.keys.items())
        threads = [
            threading.Thread(
                target=order_client, args=(i, server.url, keys[i][1], stats, stop, tag)
            )
            for i in range(ORDER_CLIENTS)
        ]
        threads += [
            threading.Thread(target=reader, args=(i, server.url, keys[i][1], stats, stop))
            for i in range(readers)
        ]
        db = Database(url, utc_now)
        with db.read() as conn:
            seq0 = conn.execute(select(t.journal.c.seq).order_by(t.journal.c.seq.desc())).first()
        start = time.perf_counter()
        for th in threads:
            th.start()
        stop.wait(seconds)  # the phase's time bound
        stop.set()
        for th in threads:
            th.join()
        elapsed = time.perf_counter() - start
        tr = t.trades.c
        after = seq0[0] if seq0 else 0
        with db.read() as conn:
            expected = sorted(
                {
                    r[0]
                    for r in conn.execute(
                        select(tr.journal_seq).where(
                            tr.journal_seq > after, tr.instrument_id == INSTRUMENT
                        )
                    )
                }
            )
            stored = {
                r[0]
                for r in conn.execute(
                    select(t.orders.c.id).where(t.orders.c.client_order_id.like(f"{tag}-%"))
                )
            }
        missing = len(set(stats.acked) - stored) + len(stored - set(stats.acked))
        db.dispose()
        if child is not None and parent_end is not None:
            parent_end.send(expected)
            if parent_end.poll(600):
                stream = parent_end.recv()
        return Phase(name, elapsed, stats, stream, missing, len(expected))
    finally:
        if child is not None:
            child.join(timeout=30)
            if child.is_alive():
                child.kill()
        server.stop()


# ---------------------------------------------------------------- output


def kinds_table(phases: list[Phase]) -> str:
    lines = [
        "| phase | kind | answered | per s | p50 ms | p99 ms | 429 | 503 | without Retry-After "
        "| timeouts | 5xx |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for p in phases:
        for kind in ("order", *READS):
            k = p.stats.kinds.get(kind)
            if k is None:
                continue
            five = sum(n for s, n in k.status.items() if s >= 500 and s != 503)
            lines.append(
                f"| {p.name} | {kind} | {sum(k.status.values()):,} | {p.rate(kind):,.0f} | "
                f"{k.pct(0.5):.1f} | {k.pct(0.99):.1f} | {k.status[429]:,} | {k.status[503]:,} "
                f"| {k.retry_after_missing} | {k.timeouts} | {five} |"
            )
    return "\n".join(lines)


def stream_table(phases: list[Phase]) -> str:
    lines = [
        "| phase | subscribers | connect s | trade messages | deliveries | p50 ms | p99 ms | "
        "max ms | every message, in order | too slow (4001), resumed | other reconnects |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for p in phases:
        s = p.stream
        if s is None:
            continue
        lines.append(
            f"| {p.name} | {s['subscribers']:,} | {s['connect_s']:.1f} | {s['messages']:,} | "
            f"{s['deliveries']:,} | {s['p50']:.0f} | {s['p99']:.0f} | {s['max']:.0f} | "
            f"{s['complete']:,} / {s['subscribers']:,} | {s['gap_signals']:,} "
            f"({s['subscribers_with_gap']:,} subscribers) | {s['reconnects']:,} |"
        )
    return "\n".join(lines)


def ratios(phases: list[Phase]) -> tuple[str, bool]:
    """The figures side by side with the limits and targets; false if a hard one is missed."""
    alone, mix, limited = phases
    rows: list[tuple[str, str, str, str]] = []
    ok = True

    def row(what: str, got: float, limit: float, fmt: str = "{:,.0f}") -> None:
        ratio = got / limit if limit else float("nan")
        rows.append((what, fmt.format(got), fmt.format(limit), f"{ratio:.2f}x"))

    row("orders/s, full mix vs orders alone", mix.rate("order"), alone.rate("order"))
    for p in (mix, limited):
        for kind in ("order", *READS):
            k = p.stats.kinds.get(kind)
            if k and k.latencies:
                row(
                    f"{p.name}: {kind} p99 ms vs target", k.pct(0.99), TARGET_P99_MS[kind], "{:.0f}"
                )
        if p.stream:
            row(f"{p.name}: stream p99 ms vs target", p.stream["p99"], TARGET_STREAM_P99_MS)
    accepted = sum(len(k.latencies) for k in limited.stats.kinds.values()) / limited.seconds
    limit = float(_limits_below(alone)["TANSO_RATE_LIMIT_IP_PER_SECOND"])
    row("limits on: requests/s accepted vs the per-address limit", accepted, limit)
    print("| measure | measured | limit or target | ratio |")
    print("|---|---:|---:|---:|")
    for r in rows:
        print(f"| {' | '.join(r)} |")
    hard = []
    for p in phases:
        for k in p.stats.kinds.values():
            five = sum(n for s, n in k.status.items() if s >= 500 and s != 503)
            hard += [k.timeouts, five, k.retry_after_missing, k.transport_errors]
        hard.append(p.missing)
        if p.stream:
            hard.append(p.stream["subscribers"] - p.stream["complete"])
    ok = not any(hard)
    return "\n".join(" | ".join(r) for r in rows), ok


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--seconds", type=float, default=60.0, help="length of each phase")
    ap.add_argument("--subscribers", type=int, default=1_000)
    ap.add_argument("--quick", action="store_true", help="10 s phases, 100 subscribers")
    args = ap.parse_args()
    seconds, subscribers = (10.0, 100) if args.quick else (args.seconds, args.subscribers)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 4 * subscribers + 256
    if soft < want:  # the server (a child) inherits it
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    print(
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, {args.backend}, "
        f"{dt.date.today()}; {ORDER_CLIENTS} order clients, {READERS} market-data readers, "
        f"{subscribers:,} stream subscribers; phases of {seconds:.0f} s",
        flush=True,
    )
    phases = []
    t0 = time.perf_counter()
    with (
        tempfile.TemporaryDirectory(prefix="tanso-load-") as tmp,
        scratch_database(args.backend, Path(tmp), "load") as url,
    ):
        market = prepare_market(url, ORDER_CLIENTS, instruments=((INSTRUMENT, "continuous"),))
        plan = [
            ("orders alone", "alone", 0, 0, None),
            ("full mix", "mix", READERS, subscribers, None),
            ("limits on", "limited", READERS, subscribers, LIMITED_ENV),
        ]
        for name, tag, n_readers, n_subs, env in plan:
            print(f"  {name} ...", flush=True)
            if env is not None:
                env = env | _limits_below(phases[0])
            phases.append(
                run_phase(
                    name,
                    tag,
                    url,
                    market,
                    Path(tmp),
                    seconds,
                    readers=n_readers,
                    subscribers=n_subs,
                    env=env,
                )
            )
            p = phases[-1]
            print(f"    {p.trades} trades; acknowledged orders missing: {p.missing}", flush=True)
        db = Database(url, utc_now)
        report = audit.verify(db)
        db.dispose()
    print()
    print(kinds_table(phases))
    print()
    print(stream_table(phases))
    print()
    _, ok = ratios(phases)
    print()
    print(
        f"journal verifies: {report.ok} ({report.entries:,} entries); acknowledged orders "
        f"missing: {sum(p.missing for p in phases)}; whole run {time.perf_counter() - t0:.0f} s"
    )
    if not ok or not report.ok:
        print("FAILED: a timeout, a 5xx, a 429/503 without Retry-After, a lost order or message")
        sys.exit(1)


if __name__ == "__main__":
    main()
