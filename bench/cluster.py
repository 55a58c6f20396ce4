"""Orders through gateways and one engine: `.venv/bin/python bench/cluster.py` (`--quick`).

On PostgreSQL (a dedicated schema), with a NATS server of its own (JetStream on, a user per
role, as docs/deployment.md configures it), in one run and with the same wrk load of durable
`POST /v1/orders` (64 connections, participants in turn, about one order in four trading):

- the trivial async FastAPI endpoint (bench/trivial_app.py): the HTTP ceiling;
- `tanso serve`: the single process, as bench/orders.py measures it;
- `tanso engine` with 1 and with 2 `tanso gateway` processes in front (the connections split
  evenly between the gateways).

For each point: requests/s, p50/p99 latency, and the CPU each process used (cores: 1.00 is one
core busy throughout), so that the cost of each hop can be read off: on a 2-CPU machine more
processes cannot show scaling, and docs/deployment.md extrapolates to more machines from these
per-process costs.

Then the market-data fan-out (`--subscribers 1000,10000`): on a fresh database, WebSocket
subscribers to the instrument's trades are spread evenly over the endpoints of each topology
(the single process; an engine with 1, 2 and 4 gateways) and held by two client processes.
Trades are made one at a time through the REST API, a fixed gap apart, so that each trade's
fan-out is measured alone. Latency is the receipt time minus the message's `at` (the clock of
the transaction that committed the trade, taken when it began). Printed: p50, p99 and max over
every (subscriber, message), the subscribers that got every message once and in order, and the
stream's own counters from each process's /metrics: messages encoded to JSON against messages
sent (encode once: one encoding per message per process, whatever the number of subscribers).
The single process at 1,000 runs once more with WebSocket compression on
(`TANSO_STREAM_DEFLATE`), which compresses each message once per client.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from orders import (  # bench/ is on sys.path
    INSTRUMENT,
    PG_URL,
    REFERENCE,
    TICKS,
    Load,
    TrivialServer,
    _postgres_pids,
    _ticks,
    database,
    drive_wrk,
    prepare,
)
from tanso.harness.devserver import free_port
from tanso.harness.nats_server import NatsServer
from tanso.services.common import SYSTEM
from tanso.services.ledger import participants
from tanso.settings import utc_now
from tanso.store.db import Database

CLIENTS = 64


@dataclass
class Point:
    topology: str
    rate: float
    p50: float
    p99: float
    errors: int
    cpu: dict[str, float]


class Proc:
    """A `tanso` role (or any command) in a child process, ready once /healthz answers."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], port: int | None):
        self.name = name
        self.proc = subprocess.Popen(
            args, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.url = f"http://127.0.0.1:{port}" if port else ""
        if port:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if self.proc.poll() is not None:
                    break
                time.sleep(0.1)
            raise RuntimeError(f"{name} did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def nats_server(tmp: Path) -> tuple[NatsServer, str]:
    tmp.mkdir(parents=True, exist_ok=True)
    server = NatsServer(tmp, {"engine": "bench-engine", "gateway": "bench-gateway"})
    return server, server.url


def tanso(role: str, url: str, port: int, nats: str = "", user: str = "", **settings: str) -> Proc:
    env = {
        "TANSO_DATABASE_URL": url,
        "TANSO_NATS_URL": nats,
        "TANSO_NATS_USER": user,
        "TANSO_NATS_PASSWORD": f"bench-{user}" if user else "",
        "TANSO_LOG_LEVEL": "warning",
        **settings,
    }
    args = [sys.executable, "-m", "tanso.cli", role, "--port", str(port)]
    return Proc(role, args, env, port)


def measure(
    topology: str,
    urls: list[str],
    keys: list[tuple[str, str]],
    procs: dict[str, Any],
    seconds: float,
) -> Point:
    """wrk on every url at once (the connections split evenly), CPU per process."""
    per = CLIENTS // len(urls)
    for url in urls:  # warm-up
        drive_wrk(url, keys, per, 1, "orders")
    before = {name: _ticks(p.proc.pid) for name, p in procs.items()}
    pg_before = {pid: _ticks(pid) for pid in _postgres_pids()}
    loads: list[Load] = []
    start = time.perf_counter()
    threads = [
        threading.Thread(
            target=lambda u=u: loads.append(drive_wrk(u, keys, per, seconds, "orders"))
        )
        for u in urls
    ]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - start
    cpu = {name: (_ticks(p.proc.pid) - before[name]) / TICKS / wall for name, p in procs.items()}
    cpu["postgres"] = (
        sum(_ticks(pid) - pg_before.get(pid, 0) for pid in _postgres_pids()) / TICKS / wall
    )
    rate = sum(ld.requests / ld.seconds for ld in loads)
    p50 = max(ld.percentiles[0.5] for ld in loads)
    p99 = max(ld.percentiles[0.99] for ld in loads)
    point = Point(topology, rate, p50, p99, sum(ld.errors for ld in loads), cpu)
    print(
        f"  {topology:<22} {rate:8.0f} orders/s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  "
        f"errors {point.errors}  cpu "
        + ", ".join(f"{k} {v:.2f}" for k, v in cpu.items() if v >= 0.005),
        flush=True,
    )
    return point


def failover(url: str, nats_url: str, keys: list[tuple[str, str]], kills: int) -> list[float]:
    """Seconds from SIGKILL of the leading engine to the first order a gateway acknowledges
    from the standby, ``kills`` times (the killed engine comes back as the next standby)."""
    gw = tanso("gateway", url, free_port(), nats_url, "gateway")
    engines = [tanso("engine", url, free_port(), nats_url, "engine")]
    engines.append(tanso("engine", url, free_port(), nats_url, "engine"))
    _pid, key = keys[0]
    order = {"instrument": "BENCH", "side": "buy", "quantity": 1, "price": 1_990}
    headers = {"Authorization": f"Bearer {key}"}
    times = []
    try:
        with httpx.Client(base_url=gw.url, timeout=30) as client:
            assert client.post("/v1/orders", json=order, headers=headers).status_code == 201
            for _ in range(kills):
                leader = next(e for e in engines if _ready(e))
                start = time.perf_counter()
                leader.proc.kill()
                leader.proc.wait()
                while client.post("/v1/orders", json=order, headers=headers).status_code != 201:
                    pass  # 503 engine_unavailable until the standby leads
                times.append(time.perf_counter() - start)
                engines.remove(leader)
                engines.append(tanso("engine", url, free_port(), nats_url, "engine"))
    finally:
        for p in [gw, *engines]:
            p.stop()
    return times


def _ready(p: Proc) -> bool:
    try:
        return httpx.get(f"{p.url}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


# ---------------------------------------------------------------- market-data fan-out

CLIENT_PROCESSES = 2


def _subscribers(
    urls: list[str], trades: int, ready: Any, done: Any, stop: Any, results: Any
) -> None:
    """A client process: one WebSocket per url, subscribed to the instrument's trades; reports
    ready, then done when every connection has ``trades`` messages, then its measurements."""
    from websockets.asyncio.client import connect

    async def main() -> None:
        got: list[list[tuple[int, float]]] = [[] for _ in urls]
        complete = 0
        all_in = asyncio.Event()

        async def one(i: int, url: str) -> Any:
            ws = await connect(url, open_timeout=120, ping_interval=None, max_queue=None)
            await ws.send(
                json.dumps({"op": "subscribe", "instruments": [INSTRUMENT], "channels": ["trades"]})
            )
            await ws.recv()
            return ws

        conns = []
        for k in range(0, len(urls), 100):
            conns += await asyncio.gather(
                *(one(i, u) for i, u in enumerate(urls[k : k + 100], start=k))
            )
        ready.put(len(conns))

        async def reader(i: int, ws: Any) -> None:
            nonlocal complete
            async for raw in ws:
                now = time.time()
                msg = json.loads(raw)
                got[i].append((msg["seq"], now - _epoch(msg["at"])))
                if len(got[i]) == trades:
                    complete += 1
                    if complete == len(conns):
                        all_in.set()

        tasks = [asyncio.create_task(reader(i, ws)) for i, ws in enumerate(conns)]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_in.wait(), 60 + trades * 5)
        done.put(complete)
        await asyncio.to_thread(stop.wait)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*(ws.close() for ws in conns), return_exceptions=True)
        results.put([[seq for seq, _ in g] for g in got] + [[lat for _, lat in g] for g in got])

    asyncio.run(main())


def _epoch(at: str) -> float:
    import datetime as dt

    return dt.datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()


def _stream_counters(url: str, operator: str) -> dict[str, float]:
    out = {}
    auth = {"Authorization": f"Bearer {operator}"}
    answer = httpx.get(f"{url}/metrics", headers=auth, timeout=10)
    answer.raise_for_status()
    for line in answer.text.splitlines():
        if line.startswith("tanso_stream_messages_") and "_total " in line:
            name, value = line.split()
            out[name.removeprefix("tanso_stream_messages_").removesuffix("_total")] = float(value)
    return out


@dataclass
class Fan:
    topology: str
    subscribers: int
    deliveries: int
    p50: float
    p99: float
    worst: float
    complete: int
    encoded: float
    sent: float
    connect_s: float


def fan_out(
    topology: str,
    endpoints: list[str],
    trade_url: str,
    keys: list[tuple[str, str]],
    operator: str,
    subscribers: int,
    trades: int,
    gap: float,
) -> Fan:
    """``subscribers`` spread evenly over ``endpoints``; ``trades`` trades ``gap`` s apart."""
    ws = [f"{e.replace('http://', 'ws://')}/v1/stream" for e in endpoints]
    urls = [ws[i % len(ws)] for i in range(subscribers)]
    ctx = mp.get_context("spawn")
    ready, done, results, stop = ctx.Queue(), ctx.Queue(), ctx.Queue(), ctx.Event()
    shares = [urls[k::CLIENT_PROCESSES] for k in range(CLIENT_PROCESSES)]
    procs = [
        ctx.Process(target=_subscribers, args=(share, trades, ready, done, stop, results))
        for share in shares
    ]
    before = {e: _stream_counters(e, operator) for e in endpoints}
    start = time.perf_counter()
    for proc in procs:
        proc.start()
    for _ in procs:
        ready.get(timeout=600)
    connect_s = time.perf_counter() - start
    buyer_key, seller_key = keys[0][1], keys[1][1]
    with httpx.Client(base_url=trade_url, timeout=30) as http:
        for i in range(trades):
            for key, side in ((seller_key, "sell"), (buyer_key, "buy")):
                r = http.post(
                    "/v1/orders",
                    json={
                        "instrument": INSTRUMENT,
                        "side": side,
                        "quantity": 1,
                        "price": REFERENCE,
                    },
                    headers={
                        "Authorization": f"Bearer {key}",
                        "Idempotency-Key": f"{topology}-{subscribers}-{i}-{side}",
                    },
                )
                r.raise_for_status()
            time.sleep(gap)
    complete = sum(done.get(timeout=600) for _ in procs)
    stop.set()
    seqs: list[list[int]] = []
    lats: list[float] = []
    for _ in procs:
        got = results.get(timeout=600)
        half = len(got) // 2
        seqs += got[:half]
        lats += [1_000 * x for g in got[half:] for x in g]
    for proc in procs:
        proc.join(timeout=60)
    after = {e: _stream_counters(e, operator) for e in endpoints}
    reference = max(seqs, key=len)
    complete = sum(1 for s in seqs if s == reference and len(s) == trades)
    lats.sort()

    def pct(q: float) -> float:
        return lats[min(len(lats) - 1, round(q * (len(lats) - 1)))] if lats else float("nan")

    encoded = sum(after[e].get("encoded", 0) - before[e].get("encoded", 0) for e in endpoints)
    sent = sum(after[e].get("sent", 0) - before[e].get("sent", 0) for e in endpoints)
    fan = Fan(
        topology,
        subscribers,
        len(lats),
        pct(0.5),
        pct(0.99),
        lats[-1] if lats else float("nan"),
        complete,
        encoded,
        sent,
        connect_s,
    )
    print(
        f"  {topology:<32} {subscribers:>6,} subscribers  p50 {fan.p50:6.1f} ms  "
        f"p99 {fan.p99:6.1f} ms  max {fan.worst:6.1f} ms  every message {complete:,}  "
        f"encoded {encoded:,.0f} sent {sent:,.0f}",
        flush=True,
    )
    return fan


def fan_outs(tmp: Path, sizes: list[int], quick: bool) -> list[Fan]:
    """Every topology at every size, on a fresh database (only the bench's trades in it)."""
    out: list[Fan] = []
    plan = [(n, (20 if n <= 1_000 else 10), (0.2 if n <= 1_000 else 1.0)) for n in sizes]
    if quick:
        plan = [(n, 10, g) for n, _, g in plan]
    with database("postgres", tmp) as url:
        keys = prepare(url, 2)
        setup = Database(url, utc_now)
        operator = participants.create_api_key(setup, SYSTEM, "OPERATOR").key
        setup.dispose()
        for deflate in (False, True):
            single = tanso("serve", url, free_port(), TANSO_STREAM_DEFLATE=str(deflate).lower())
            try:
                for n, trades, gap in plan:
                    if deflate and n != plan[0][0]:
                        continue
                    name = "single process" + (", compression on" if deflate else "")
                    out.append(
                        fan_out(name, [single.url], single.url, keys, operator, n, trades, gap)
                    )
            finally:
                single.stop()
        nats, nats_url = nats_server(tmp / "fan-out")  # a stream of this database's own
        engine = tanso("engine", url, free_port(), nats_url, "engine")
        gateways: list[Proc] = []
        try:
            for g in (1, 2, 4):
                while len(gateways) < g:
                    gateways.append(tanso("gateway", url, free_port(), nats_url, "gateway"))
                for n, trades, gap in plan:
                    endpoints = [p.url for p in gateways]
                    name = f"engine + {g} gateway(s)"
                    out.append(
                        fan_out(name, endpoints, endpoints[0], keys, operator, n, trades, gap)
                    )
        finally:
            for p in [*gateways, engine]:
                p.stop()
            nats.stop()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 s per point instead of 8")
    parser.add_argument("--kills", type=int, default=20, help="failovers to time (0: none)")
    parser.add_argument(
        "--subscribers", default="1000,10000", help="fan-out sizes, comma-separated ('': none)"
    )
    parser.add_argument("--skip-orders", action="store_true", help="the fan-out only")
    args = parser.parse_args()
    seconds = 3 if args.quick else 8
    sizes = [int(n) for n in args.subscribers.split(",") if n.strip()]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 2 * max(sizes, default=0) + 1_024
    if soft < want:  # the servers and client processes inherit it
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    print(
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, everything on one machine; "
        f"{CLIENTS} wrk connections, {seconds} s per point, PostgreSQL at {PG_URL}",
        flush=True,
    )
    points: list[Point] = []
    times: list[float] = []
    fans: list[Fan] = []
    with tempfile.TemporaryDirectory(prefix="tanso-cluster-") as tmp_name:
        tmp = Path(tmp_name)
        if not args.skip_orders:
            points, times = orders_and_failover(tmp, seconds, args.kills, args.quick)
        if sizes:
            print(f"\nWebSocket fan-out, subscribers in {CLIENT_PROCESSES} client processes")
            fans = fan_outs(tmp, sizes, args.quick)
    if points:
        ceiling = points[0].rate
        print()
        print(
            "| topology | orders/s | share of the trivial endpoint | vs single process "
            "| p50 ms | p99 ms | CPU (cores) |"
        )
        print("|---|---:|---:|---:|---:|---:|---|")
        single = next(p.rate for p in points if p.topology == "single process")
        for p in points:
            cpu = ", ".join(f"{k} {v:.2f}" for k, v in p.cpu.items() if v >= 0.005)
            share = 100 * p.rate / ceiling
            print(
                f"| {p.topology} | {p.rate:,.0f} | {share:.1f}% | {p.rate / single:.2f}x "
                f"| {p.p50:.1f} | {p.p99:.1f} | {cpu} |"
            )
    if times:
        print()
        print(
            f"Failover, {len(times)} SIGKILLs of the leading engine: the first order acknowledged "
            f"by the standby after min {times[0]:.2f} s, median {times[len(times) // 2]:.2f} s, "
            f"max {times[-1]:.2f} s"
        )
    if fans:
        print()
        print(
            "| topology | subscribers | deliveries | p50 ms | p99 ms | max ms | p99 vs 50 ms goal "
            "| subscribers with every message | encoded | sent | sent per encoding |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for f in fans:
            per = f.sent / f.encoded if f.encoded else float("nan")
            print(
                f"| {f.topology} | {f.subscribers:,} | {f.deliveries:,} | {f.p50:.1f} "
                f"| {f.p99:.1f} | {f.worst:.1f} | {f.p99 / 50:.2f}x | {f.complete:,} "
                f"| {f.encoded:,.0f} | {f.sent:,.0f} | {per:,.0f} |"
            )


def orders_and_failover(
    tmp: Path, seconds: float, kills: int, quick: bool
) -> tuple[list[Point], list[float]]:
    points: list[Point] = []
    trivial = TrivialServer(free_port())
    try:
        keys = [(f"BENCH{i:02d}", "none") for i in range(CLIENTS)]
        points.append(
            measure("trivial endpoint", [trivial.url], keys, {"server": trivial}, seconds)
        )
    finally:
        trivial.stop()
    with database("postgres", tmp) as url:
        keys = prepare(url, CLIENTS)
        single = tanso("serve", url, free_port())
        try:
            points.append(measure("single process", [single.url], keys, {"serve": single}, seconds))
        finally:
            single.stop()
        nats, nats_url = nats_server(tmp)
        engine = tanso("engine", url, free_port(), nats_url, "engine")
        gateways: list[Proc] = []
        try:
            for n in (1, 2, 4):
                while len(gateways) < n:
                    gateways.append(tanso("gateway", url, free_port(), nats_url, "gateway"))
                procs = {"engine": engine} | {f"gateway{i + 1}": g for i, g in enumerate(gateways)}
                procs["nats"] = nats
                urls = [g.url for g in gateways]
                points.append(measure(f"engine + {n} gateway(s)", urls, keys, procs, seconds))
        finally:
            for p in [*gateways, engine]:
                p.stop()
        try:
            kills = min(kills, 3) if quick else kills
            times = sorted(failover(url, nats_url, keys, kills)) if kills else []
            if times:
                print(f"  failover: {', '.join(f'{x:.2f}' for x in times)} s", flush=True)
        finally:
            nats.stop()
    return points, times


if __name__ == "__main__":
    main()
