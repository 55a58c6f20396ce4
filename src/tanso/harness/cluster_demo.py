"""`make cluster-demo`: the demo market on the scaled-out topology, on this machine.

PostgreSQL (the machine's, in a schema of the demo's own, made anew), a NATS server of the
demo's own (JetStream, a user per role, as docs/deployment.md configures it), two engines (one
leads, one stands by) and two gateways, with the demo's simulated traders sending orders to the
first gateway. Ctrl-C stops everything. Kill the leading engine (its pid is printed) to watch
the standby take over.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from tanso.cli import simulated_traders
from tanso.harness.nats_server import NatsServer
from tanso.services.trading.virtual_clock import anchor
from tanso.settings import utc_now
from tanso.store.db import Database

PG = os.environ.get("TANSO_CLUSTER_PG_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
SCHEMA = "tanso_cluster_demo"


def _wait_http(url: str, proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} stopped while starting (exit {proc.returncode})")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{what} did not start within two minutes")


def main() -> None:
    admin = create_engine(PG)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
    admin.dispose()
    url = f"{PG}?options=-csearch_path%3D{SCHEMA}"
    env = {**os.environ, "TANSO_DATABASE_URL": url}
    tanso = [sys.executable, "-m", "tanso.cli"]
    print(f"PostgreSQL schema {SCHEMA}: loading the demo market (a minute)...", flush=True)
    subprocess.run([*tanso, "init", "--demo"], env=env, check=True)

    work = Path(tempfile.mkdtemp(prefix="tanso-cluster-demo-"))
    passwords = {"engine": secrets.token_urlsafe(12), "gateway": secrets.token_urlsafe(12)}
    nats = NatsServer(work, passwords)
    procs: list[tuple[str, subprocess.Popen[bytes], str]] = [("nats", nats.proc, nats.url)]
    # every engine and gateway on the same demo clock, from where the demo's data ends
    db = Database(url, utc_now)
    role_env = {**env, "TANSO_NATS_URL": nats.url, "TANSO_VIRTUAL_CLOCK": anchor(db)}
    db.dispose()
    simulator = None
    try:
        roles = (("engine", 8100), ("engine", 8101), ("gateway", 8000), ("gateway", 8001))
        for role, port in roles:
            e = role_env | {"TANSO_NATS_USER": role, "TANSO_NATS_PASSWORD": passwords[role]}
            proc = subprocess.Popen([*tanso, role, "--port", str(port)], env=e)
            procs.append((role, proc, f"http://127.0.0.1:{port}"))
            _wait_http(f"http://127.0.0.1:{port}", proc, f"{role} on {port}")
        from tanso.demo.simulator import Simulator

        keys = json.loads(Path("demo-keys.json").read_text(encoding="utf-8"))
        simulator = Simulator("http://127.0.0.1:8000", simulated_traders(keys))
        simulator.start()
        print("\nThe demo market on gateways and engines:")
        for name, proc, where in procs:
            print(f"  {name:<8} pid {proc.pid:<8} {where}")
        print("Simulated traders send orders to the gateway on 8000; open either gateway.")
        print("Kill the leading engine (kill -9 PID; its /readyz answers 200) to see the standby")
        print("take over. Ctrl-C stops everything.", flush=True)
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        try:
            signal.pause()
        except KeyboardInterrupt:
            print("stopping...", flush=True)
    finally:
        if simulator is not None:
            simulator.stop()
        for _name, proc, _where in reversed(procs):
            proc.terminate()
        for _name, proc, _where in procs:
            proc.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
