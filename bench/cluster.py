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
"""

from __future__ import annotations

import argparse
import os
import platform
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
    PG_URL,
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
    server = NatsServer(tmp, {"engine": "bench-engine", "gateway": "bench-gateway"})
    return server, server.url


def tanso(role: str, url: str, port: int, nats: str = "", user: str = "") -> Proc:
    env = {
        "TANSO_DATABASE_URL": url,
        "TANSO_NATS_URL": nats,
        "TANSO_NATS_USER": user,
        "TANSO_NATS_PASSWORD": f"bench-{user}" if user else "",
        "TANSO_LOG_LEVEL": "warning",
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 s per point instead of 8")
    parser.add_argument("--kills", type=int, default=20, help="failovers to time (0: none)")
    args = parser.parse_args()
    seconds = 3 if args.quick else 8
    print(
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, everything on one machine; "
        f"{CLIENTS} wrk connections, {seconds} s per point, PostgreSQL at {PG_URL}",
        flush=True,
    )
    points: list[Point] = []
    trivial = TrivialServer(free_port())
    try:
        keys = [(f"BENCH{i:02d}", "none") for i in range(CLIENTS)]
        points.append(
            measure("trivial endpoint", [trivial.url], keys, {"server": trivial}, seconds)
        )
    finally:
        trivial.stop()
    with tempfile.TemporaryDirectory(prefix="tanso-cluster-") as tmp_name:
        tmp = Path(tmp_name)
        with database("postgres", tmp) as url:
            keys = prepare(url, CLIENTS)
            single = tanso("serve", url, free_port())
            try:
                points.append(
                    measure("single process", [single.url], keys, {"serve": single}, seconds)
                )
            finally:
                single.stop()
            nats, nats_url = nats_server(tmp)
            engine = tanso("engine", url, free_port(), nats_url, "engine")
            gateways: list[Proc] = []
            try:
                for n in (1, 2):
                    while len(gateways) < n:
                        gateways.append(tanso("gateway", url, free_port(), nats_url, "gateway"))
                    procs = {"engine": engine} | {
                        f"gateway{i + 1}": g for i, g in enumerate(gateways)
                    }
                    procs["nats"] = nats
                    points.append(
                        measure(
                            f"engine + {n} gateway(s)",
                            [g.url for g in gateways],
                            keys,
                            procs,
                            seconds,
                        )
                    )
            finally:
                for p in [*gateways, engine]:
                    p.stop()
            try:
                kills = min(args.kills, 3) if args.quick else args.kills
                times = sorted(failover(url, nats_url, keys, kills)) if kills else []
            finally:
                nats.stop()
    ceiling = points[0].rate
    print()
    print("| topology | orders/s | share of the trivial endpoint | p50 ms | p99 ms | CPU (cores) |")
    print("|---|---:|---:|---:|---:|---|")
    for p in points:
        cpu = ", ".join(f"{k} {v:.2f}" for k, v in p.cpu.items() if v >= 0.005)
        share = 100 * p.rate / ceiling
        print(
            f"| {p.topology} | {p.rate:,.0f} | {share:.1f}% | {p.p50:.1f} | {p.p99:.1f} | {cpu} |"
        )
    if times:
        print()
        print(
            f"Failover, {len(times)} SIGKILLs of the leading engine: the first order acknowledged "
            f"by the standby after min {times[0]:.2f} s, median {times[len(times) // 2]:.2f} s, "
            f"max {times[-1]:.2f} s"
        )


if __name__ == "__main__":
    main()
