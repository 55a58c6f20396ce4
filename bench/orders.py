"""Durable orders per second, end to end: `.venv/bin/python bench/orders.py` (`--quick`: small).

An order counts when the server has answered 201, which it does only after the batch that holds
the order (engine events, reservations, journal entry) has been committed: HTTP request -> API
key check -> the exchange's one sequencer -> group commit -> answer. The server is the real one,
`python -m tanso.cli serve` in a child process, on SQLite (WAL, synchronous=FULL) and on
PostgreSQL (a dedicated schema, dropped and re-created). Clients are N threads (1, 8, 64),
each with its own keep-alive httpx connection over loopback and its own participant, sending a
fixed number of limit orders one after another; a buy reserves cash, a sell reserves credits, and
about one order in five crosses the book and trades.

With `--routes` (default: all three) the same clients also send `POST /v1/transfers` (one credit
to the next client) and `POST /v1/retirements` (one credit each).

Printed per backend, route and concurrency: requests/s, p50 and p99 latency, the ratio to the
single-client figure of the same backend, and the average size of a group-commit batch. The
batch size comes from the journal: every command of a batch is journaled in one transaction with
that transaction's timestamp, so exchange entries per distinct `at` is commands per commit.

Beside Tanso, in the same run and at the same concurrency, the HTTP ceiling: a trivial async
FastAPI `POST /v1/orders` (bench/trivial_app.py) served by uvicorn with the same settings, which
parses the body and answers 201 without a database. Tanso's rate is printed as a share of it.
Client, server and PostgreSQL share the machine's CPUs: for each point the CPU each used is
printed, in cores (1.00 = one core busy for the whole run), read from /proc.

The whole run takes about three minutes on a 2-CPU machine (`--quick`: under a minute).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, func, select, text

from tanso.domain.instruments import Eligibility, InstrumentSpec
from tanso.domain.participants import corporate_number_check_digit
from tanso.harness.devserver import ServerProcess as Server
from tanso.services.common import SYSTEM
from tanso.services.ledger import audit, cash, participants, registry, taxonomy
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange
from tanso.settings import utc_now
from tanso.store import migrate
from tanso.store import schema as t
from tanso.store.db import Database

PG_BASE = os.environ.get("TANSO_BENCH_PG_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
PG_SCHEMA = "tanso_bench_orders"
PG_URL = f"{PG_BASE}?options=-csearch_path%3D{PG_SCHEMA}"
CONCURRENCY = (1, 8, 64)
INSTRUMENT = "BENCH"
REFERENCE = 2_000
WARMUP = 3  # orders per client before the clock starts (connection set up, code paths warm)
WRK_SECONDS = 8
CLIENT = "threads"


@dataclass
class Result:
    backend: str
    clients: int
    orders: int
    seconds: float
    percentiles: dict[float, float]
    """Latency percentiles in milliseconds (0.5 and 0.99)."""
    batch: float
    trades: int
    errors: int
    cpu: dict[str, float] = field(default_factory=dict)
    route: str = "orders"

    @property
    def rate(self) -> float:
        return self.orders / self.seconds

    def pct(self, q: float) -> float:
        """A latency percentile in milliseconds."""
        return self.percentiles[q]


def percentiles(latencies: list[float]) -> dict[float, float]:
    ordered = sorted(latencies)
    return {
        q: 1_000 * ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]
        for q in (0.5, 0.99)
    }


@dataclass(frozen=True)
class Load:
    """What one point of load measured: wall seconds, requests answered, refused, percentiles."""

    seconds: float
    requests: int
    errors: int
    percentiles: dict[float, float]


# ---------------------------------------------------------------- the database and the server


@contextmanager
def database(backend: str, workdir: Path) -> Iterator[str]:
    """A URL for an empty database of the backend; the PostgreSQL schema is dropped after."""
    if backend == "sqlite":
        yield f"sqlite:///{workdir / 'bench-orders.db'}"
        return
    admin = create_engine(PG_BASE)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {PG_SCHEMA}"))
    try:
        yield PG_URL
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
        admin.dispose()


def prepare(url: str, clients: int) -> list[tuple[str, str]]:
    """Migrate, bootstrap, and list a continuous-mode instrument; one participant per client
    (even: a funded buyer, odd: a seller holding credits). Returns (participant, key) pairs."""
    db = Database(url, utc_now)
    migrate.upgrade(db.engine)
    participants.bootstrap(db)
    taxonomy.seed_reference_data(db, SYSTEM)
    taxonomy.register_project(
        db, SYSTEM, taxonomy.NewProject("BENCH1", "JC", "Bench project", "ENERGY_SAVING", "JP")
    )
    out = []
    for i in range(clients):
        pid = f"BENCH{i:02d}"
        base = f"{900000000000 + i:012d}"
        number = f"{corporate_number_check_digit(base)}{base}"
        new = participants.NewParticipant(
            f"{pid} 株式会社", f"{pid} Corp.", "corporation", ["trader"], number, False, pid
        )
        key = participants.onboard(db, SYSTEM, new, "bench")
        if i % 2 == 0:
            cash.deposit(db, SYSTEM, pid, "JPY", 10**14, f"bench-{pid}")
        # every participant holds credits: sellers sell them, and transfers and retirements
        # move them (a buyer's are never offered)
        registry.issue(
            db,
            SYSTEM,
            registry.NewIssuance("BENCH1", "ER", str(i), 2022, 10**9, f"{pid}-MAIN"),
        )
        out.append((pid, key))
    x = Exchange(db, japan_calendar())
    spec = InstrumentSpec(
        INSTRUMENT,
        "Bench",
        "ベンチ",
        Eligibility(categories=("ENERGY_SAVING",)),
        mode="continuous",
        reference_price=REFERENCE,
    )
    x.define_instrument(SYSTEM, spec)
    x.session(SYSTEM, INSTRUMENT, "open")
    db.dispose()
    return out


# ---------------------------------------------------------------- CPU and the HTTP ceiling

TICKS = os.sysconf("SC_CLK_TCK")


def _ticks(pid: int) -> int:
    """User + system CPU ticks of one process (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def _postgres_pids() -> list[int]:
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if (d / "comm").read_text().strip() in ("postgres", "postmaster"):
                    pids.append(int(d.name))
            except OSError:
                continue
    return pids


class CpuClock:
    """CPU used by the server, PostgreSQL and this (client) process between start and stop."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid

    def start(self) -> None:
        self._pg = {pid: _ticks(pid) for pid in _postgres_pids()}
        self._server = _ticks(self.server_pid)
        self._client = os.times()
        self._wall = time.perf_counter()

    def stop(self) -> dict[str, float]:
        wall = time.perf_counter() - self._wall
        now = os.times()
        # this process and its finished children: wrk, which ran and was waited for meanwhile
        client = sum(now[:4]) - sum(self._client[:4])
        server = (_ticks(self.server_pid) - self._server) / TICKS
        pg = sum(_ticks(pid) - self._pg.get(pid, 0) for pid in _postgres_pids()) / TICKS
        return {"server": server / wall, "postgres": pg / wall, "client": client / wall}


class TrivialServer:
    """bench/trivial_app.py in a child process, ready when uvicorn says it listens."""

    def __init__(self, port: int) -> None:
        app = Path(__file__).with_name("trivial_app.py")
        self.proc = subprocess.Popen(
            [sys.executable, str(app), str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            if "Uvicorn running on" in line:
                break
        else:
            raise RuntimeError("the trivial server did not start")
        threading.Thread(target=self.proc.stderr.read, daemon=True).start()
        self.url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def run_ceiling(concurrency: tuple[int, ...], total: int, floor: int) -> list[Result]:
    """The trivial endpoint at each concurrency, with the same clients and orders."""
    from tanso.harness.devserver import free_port

    server = TrivialServer(free_port())
    keys = [(f"BENCH{i:02d}", "none") for i in range(max(concurrency))]
    results = []
    try:
        for clients in concurrency:
            per_client = max(total // clients, floor) * 4  # it is fast: measure long enough
            clock = CpuClock(server.proc.pid)
            clock.start()
            load = drive(server.url, keys, clients, per_client, "orders", CLIENT)
            r = Result(
                "trivial",
                clients,
                load.requests,
                load.seconds,
                load.percentiles,
                0.0,
                0,
                load.errors,
                clock.stop(),
            )
            results.append(r)
            print(
                f"  {'trivial':<10} {clients:>3} clients: {r.rate:8.0f} requests/s  "
                f"p50 {r.pct(0.5):6.1f} ms  p99 {r.pct(0.99):6.1f} ms  {cpu_text(r.cpu)}",
                flush=True,
            )
    finally:
        server.stop()
    return results


def cpu_text(cpu: dict[str, float]) -> str:
    return "cpu " + ", ".join(f"{k} {v:.2f}" for k, v in cpu.items() if v >= 0.005)


# ---------------------------------------------------------------- the load


def _order(i: int, n: int, buyer: bool) -> dict[str, Any]:
    """The n-th order of client i: buys 1,992-2,002 and sells 1,998-2,008, so some cross."""
    k = n * 7 + i * 3
    price = REFERENCE + (k % 11) - 8 if buyer else REFERENCE + (k % 11) - 2
    return {
        "instrument": INSTRUMENT,
        "side": "buy" if buyer else "sell",
        "quantity": 1 + k % 5,
        "price": price,
        "client_order_id": f"{i}-{n}",
    }


ROUTES = {"orders": "/v1/orders", "transfers": "/v1/transfers", "retirements": "/v1/retirements"}


def _request(route: str, keys: list[tuple[str, str]], i: int, n: int) -> dict[str, Any]:
    """The n-th body client i sends to `route`: an order, a transfer of one credit to the next
    client, or a retirement of one credit."""
    pid = keys[i][0]
    if route == "transfers":
        peer = keys[(i + 1) % len(keys)][0]
        return {"from_account": f"{pid}-MAIN", "to_account": f"{peer}-MAIN", "quantity": 1}
    if route == "retirements":
        return {
            "account_id": f"{pid}-MAIN",
            "quantity": 1,
            "purpose": "offset_scope1",
            "beneficiary": f"bench {i}-{n}",
        }
    return _order(i, n, int(pid[-2:]) % 2 == 0)


WRK_SCRIPT = """
local keys = {%(keys)s}
local pids = {%(pids)s}
local route = "%(route)s"
local counter = 0
local tid = 0
local made = 0
function setup(thread) thread:set("tid", made); made = made + 1 end
function request()
  counter = counter + 1
  local i = (tid * 31 + counter) %% #keys
  local pid = pids[i + 1]
  local body
  if route == "transfers" then
    body = string.format('{"from_account":"%%s-MAIN","to_account":"%%s-MAIN","quantity":1}',
      pid, pids[(i + 1) %% #pids + 1])
  elseif route == "retirements" then
    body = string.format('{"account_id":"%%s-MAIN","quantity":1,"purpose":"offset_scope1",'
      .. '"beneficiary":"bench %%d-%%d"}', pid, tid, counter)
  else
    local k = counter * 7 + i * 3
    local buyer = i %% 2 == 0
    local price = buyer and (%(reference)d + k %% 11 - 8) or (%(reference)d + k %% 11 - 2)
    body = string.format('{"instrument":"%(instrument)s","side":"%%s","quantity":%%d,"price":%%d}',
      buyer and "buy" or "sell", 1 + k %% 5, price)
  end
  return wrk.format("POST", "%(path)s", {["Authorization"] = "Bearer " .. keys[i + 1],
    ["Content-Type"] = "application/json"}, body)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %%d %%d %%d %%d %%d %%d\\n", summary.requests, summary.duration,
    e.status, e.connect + e.read + e.write + e.timeout, latency:percentile(50),
    latency:percentile(99)))
end
"""


def drive_wrk(
    url: str, keys: list[tuple[str, str]], clients: int, seconds: float, route: str
) -> Load:
    """`clients` keep-alive connections from wrk (a C load generator, so that the client costs
    little of the machine) sending requests to `route` for `seconds`, participants in turn."""
    script = WRK_SCRIPT % {
        "keys": ",".join(f'"{k}"' for _p, k in keys),
        "pids": ",".join(f'"{p}"' for p, _k in keys),
        "route": route,
        "path": ROUTES[route],
        "reference": REFERENCE,
        "instrument": INSTRUMENT,
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as f:
        f.write(script)
        f.flush()
        threads = min(clients, 2)
        args = ["wrk", f"-t{threads}", f"-c{clients}", f"-d{seconds}s", "--timeout", "60s"]
        out = subprocess.run([*args, "-s", f.name, url], capture_output=True, text=True, check=True)
    line = next(x for x in out.stdout.splitlines() if x.startswith("RESULT "))
    requests, micros, status, broken, p50, p99 = (int(v) for v in line.split()[1:])
    return Load(micros / 1e6, requests, status + broken, {0.5: p50 / 1e3, 0.99: p99 / 1e3})


def drive(
    url: str,
    keys: list[tuple[str, str]],
    clients: int,
    per_client: int,
    route: str = "orders",
    client: str = "threads",
) -> Load:
    """Load `route` (orders, transfers, retirements) from `clients` clients: wrk connections
    for about as long as the threads would take, or threads of `per_client` requests each."""
    if client == "wrk":
        drive_wrk(url, keys, clients, 1, route)  # warm-up: connections, caches, code paths
        return drive_wrk(url, keys, clients, WRK_SECONDS, route)
    seconds, latencies, errors = drive_threads(url, keys, clients, per_client, route)
    return Load(seconds, len(latencies), errors, percentiles(latencies))


def drive_threads(
    url: str, keys: list[tuple[str, str]], clients: int, per_client: int, route: str = "orders"
) -> tuple[float, list[float], int]:
    """Run `clients` threads of `per_client` requests each to `route` (orders, transfers,
    retirements); returns wall time, latencies, errors."""
    barrier = threading.Barrier(clients + 1)
    done = threading.Barrier(clients + 1)
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients

    def client(i: int) -> None:
        _pid, key = keys[i]
        path = ROUTES[route]
        headers = {"Authorization": f"Bearer {key}"}
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        with httpx.Client(base_url=url, headers=headers, timeout=120, limits=limits) as http:
            for n in range(WARMUP):
                http.post(path, json=_request(route, keys, i, -1 - n))
            barrier.wait()
            mine = latencies[i]
            for n in range(per_client):
                body = _request(route, keys, i, n)
                t0 = time.perf_counter()
                r = http.post(path, json=body)
                mine.append(time.perf_counter() - t0)
                if r.status_code != 201:
                    errors[i] += 1
        done.wait()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for th in threads:
        th.start()
    barrier.wait()
    start = time.perf_counter()
    done.wait()
    seconds = time.perf_counter() - start
    for th in threads:
        th.join()
    return seconds, [x for lat in latencies for x in lat], sum(errors)


def journal_head(url: str) -> int:
    with httpx.Client(base_url=url) as http:
        return int(http.get("/v1/journal/head").json()["seq"])


KINDS = {
    "orders": "exchange.%",
    "transfers": "credits.transferred",
    "retirements": "credits.retired",
}


def batches(db: Database, after: int, upto: int, route: str = "orders") -> tuple[float, int]:
    """Average commands of the route per commit between two journal heads, and trades made."""
    j = t.journal.c
    with db.read() as conn:
        rows = conn.execute(
            select(j.at, func.count())
            .where(j.seq > after, j.seq <= upto, j.kind.like(KINDS[route]))
            .group_by(j.at)
        ).all()
        trades = conn.execute(
            select(func.count())
            .select_from(t.trades)
            .where(t.trades.c.journal_seq > after, t.trades.c.journal_seq <= upto)
        ).scalar_one()
    commands = sum(int(r[1]) for r in rows)
    return (commands / len(rows) if rows else 0.0), int(trades)


def run_backend(
    backend: str,
    workdir: Path,
    concurrency: tuple[int, ...],
    total: int,
    floor: int,
    routes: list[str],
) -> list[Result]:
    results = []
    with database(backend, workdir) as url:
        keys = prepare(url, max(concurrency))
        server = Server(url, workdir)
        db = Database(url, utc_now)
        try:
            for route in routes:
                for clients in concurrency:
                    per_client = max(total // clients, floor)
                    head0 = journal_head(server.url)
                    clock = CpuClock(server.proc.pid)
                    clock.start()
                    # warm-up requests are journaled too; count from the first measured one
                    load = drive(server.url, keys, clients, per_client, route, CLIENT)
                    cpu = clock.stop()
                    if backend == "sqlite":
                        cpu.pop("postgres")
                    head1 = journal_head(server.url)
                    warm = clients * WARMUP if CLIENT == "threads" else 0
                    batch, trades = batches(db, head0 + warm, head1, route)
                    r = Result(
                        backend,
                        clients,
                        load.requests,
                        load.seconds,
                        load.percentiles,
                        batch,
                        trades,
                        load.errors,
                        cpu,
                        route,
                    )
                    results.append(r)
                    print(
                        f"  {backend:<10} {route:<11} {clients:>3} clients: {r.rate:8.0f}/s  "
                        f"p50 {r.pct(0.5):6.1f} ms  p99 {r.pct(0.99):6.1f} ms  "
                        f"batch {batch:5.1f}  ({r.orders} requests, {trades} trades, "
                        f"{load.errors} errors)  {cpu_text(cpu)}",
                        flush=True,
                    )
        finally:
            server.stop()
        report = audit.verify(db)
        with db.read() as conn:
            stored = conn.execute(select(func.count()).select_from(t.orders)).scalar_one()
        db.dispose()
        placed = [r for r in results if r.route == "orders"]
        acked = sum(r.orders - r.errors for r in placed) + WARMUP * sum(concurrency) * bool(placed)
        print(
            f"  {backend}: journal verifies: {report.ok} ({report.entries} entries); "
            f"orders stored {stored}, acknowledged {acked}",
            flush=True,
        )
        # wrk stops mid-request and does not count its warm-up: every order it counted is stored
        lost = stored < acked if CLIENT == "wrk" else stored != acked
        if not report.ok or lost or any(r.errors for r in results):
            raise SystemExit(f"{backend}: errors, lost orders or a journal that does not verify")
    return results


def table(results: list[Result]) -> str:
    lines = [
        "| backend | route | clients | requests/s | vs 1 client | share of the trivial endpoint "
        "| p50 ms | p99 ms | commands per commit | CPU used (cores) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    single = {(r.backend, r.route): r.rate for r in results if r.clients == 1}
    ceiling = {r.clients: r.rate for r in results if r.backend == "trivial"}
    for r in results:
        share = f"{r.rate / ceiling[r.clients]:.1%}" if r.clients in ceiling else "-"
        lines.append(
            f"| {r.backend} | {r.route} | {r.clients} | {r.rate:,.0f} "
            f"| {r.rate / single[(r.backend, r.route)]:.1f}x | {share} | {r.pct(0.5):.1f} "
            f"| {r.pct(0.99):.1f} | {r.batch:.1f} | {cpu_text(r.cpu)[4:]} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small run (under a minute)")
    parser.add_argument(
        "--backends", default="sqlite,postgres", help="comma-separated: sqlite, postgres"
    )
    parser.add_argument(
        "--routes",
        default="orders,transfers,retirements",
        help="comma-separated: " + ", ".join(ROUTES),
    )
    parser.add_argument("--no-ceiling", action="store_true", help="skip the trivial endpoint")
    parser.add_argument(
        "--client",
        choices=("wrk", "threads"),
        default="wrk" if shutil.which("wrk") else "threads",
        help="the load generator: wrk (default where installed) or Python threads with httpx",
    )
    args = parser.parse_args()
    global CLIENT
    CLIENT = args.client
    total, floor = (120, 5) if args.quick else (1_200, 20)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    routes = [r.strip() for r in args.routes.split(",") if r.strip()]
    print(
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, server and clients on one "
        f"machine; {total} requests per concurrency level (at least {floor} per client)",
        flush=True,
    )
    results = [] if args.no_ceiling else run_ceiling(CONCURRENCY, total, floor)
    with tempfile.TemporaryDirectory(prefix="tanso-bench-") as tmp:
        for backend in backends:
            results += run_backend(backend, Path(tmp), CONCURRENCY, total, floor, routes)
    print()
    print(table(results))
    for route in routes:
        sq = {r.clients: r.rate for r in results if r.backend == "sqlite" and r.route == route}
        pg = {r.clients: r.rate for r in results if r.backend == "postgres" and r.route == route}
        if sq and pg:
            print(
                f"{route}, postgres / sqlite: "
                + ", ".join(f"{n} clients {pg[n] / sq[n]:.2f}x" for n in CONCURRENCY)
            )


if __name__ == "__main__":
    main()
