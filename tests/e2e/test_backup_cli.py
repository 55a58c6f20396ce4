"""`tanso backup` against a running server under a load of orders, then `tanso restore` into a
fresh database of the other backend and `tanso audit verify` there; a tampered file is refused.
Also: the real server answers /readyz and /metrics, and starts with JSON logs."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tanso.domain.instruments import Eligibility, InstrumentSpec
from tanso.harness.devserver import ServerProcess as Server
from tanso.services.common import SYSTEM
from tanso.services.ledger import participants, taxonomy
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange
from tanso.store import migrate
from tanso.store.db import Database
from tests.conftest import PG_URL, add_issuance, add_participant, counter_clock, fund


def tanso(url: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TANSO_DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "tanso.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _prepare(url: str) -> dict[str, str]:
    db = Database(url, counter_clock())
    migrate.upgrade(db.engine)
    participants.bootstrap(db)
    taxonomy.seed_reference_data(db, SYSTEM)
    add_participant(db, "CLIBUY")
    add_participant(db, "CLISELL")
    fund(db, "CLIBUY", 10**10)
    add_issuance(db, "CLISELL-MAIN", 1_000_000)
    x = Exchange(db, japan_calendar())
    x.define_instrument(
        SYSTEM,
        InstrumentSpec(
            "CONT",
            "Continuous",
            "ザラバ",
            Eligibility(categories=("ENERGY_SAVING",)),
            mode="continuous",
            reference_price=2_000,
        ),
    )
    x.session(SYSTEM, "CONT", "open")
    keys = {
        p: participants.create_api_key(db, SYSTEM, p).key for p in ("CLIBUY", "CLISELL", "OPERATOR")
    }
    db.dispose()
    return keys


@pytest.fixture
def pg_target() -> Iterator[str]:
    schema = f"tanso_cli_restore_{os.getpid()}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    admin.dispose()


@pytest.mark.full  # the slowest e2e test; tests/integration/test_backup.py runs in both tiers
def test_backup_of_a_busy_server_restores_into_postgresql_and_verifies(
    tmp_path: Path, pg_target: str
) -> None:
    source = f"sqlite:///{tmp_path / 'live.db'}"
    keys = _prepare(source)
    server = Server(source, tmp_path, env={"TANSO_LOG_FORMAT": "json"})
    stop, traded = threading.Event(), threading.Event()
    answers: list[int] = []

    def trade() -> None:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            while not stop.is_set():
                for who, side in (("CLISELL", "sell"), ("CLIBUY", "buy")):
                    r = http.post(
                        "/v1/orders",
                        json={"instrument": "CONT", "side": side, "quantity": 5, "price": 2_000},
                        headers={"Authorization": f"Bearer {keys[who]}"},
                    )
                    answers.append(r.status_code)
                traded.set()

    writer = threading.Thread(target=trade)
    writer.start()
    try:
        assert traded.wait(120)
        assert httpx.get(f"{server.url}/readyz").status_code == 200
        backup_file = tmp_path / "live.tanso-backup"
        out = tanso(source, "backup", str(backup_file), cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        operator = {"Authorization": f"Bearer {keys['OPERATOR']}"}
        metrics = httpx.get(f"{server.url}/metrics", headers=operator).text
        assert "tanso_trades_total" in metrics
    finally:
        stop.set()
        writer.join()
        server.stop()
    assert answers and set(answers) == {201}

    with tarfile.open(backup_file) as tar:
        f = tar.extractfile("manifest.json")
        assert f is not None
        manifest = json.loads(f.read())
    assert manifest["backend"] == "sqlite" and manifest["tables"]["trades"] >= 1

    restored = tanso(pg_target, "restore", str(backup_file), cwd=tmp_path)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "restored and verified" in restored.stdout
    verify = tanso(pg_target, "audit", "verify", cwd=tmp_path)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert manifest["journal_head"]["hash"] in verify.stdout.replace("\n", "")

    # a second restore into the same (now full) database is refused and changes nothing
    again = tanso(pg_target, "restore", str(backup_file), cwd=tmp_path)
    assert again.returncode == 2 and "database_not_empty" in again.stderr

    # a backup whose data was altered is refused before anything is loaded
    tampered = tmp_path / "tampered.tanso-backup"
    with tarfile.open(backup_file) as src, tarfile.open(tampered, "w") as dst:
        for member in src.getmembers():
            data = src.extractfile(member)
            assert data is not None
            blob = data.read()
            if member.name == "data.jsonl.gz":
                blob = blob[:-40] + bytes(b ^ 0xFF for b in blob[-40:])
            member.size = len(blob)
            dst.addfile(member, io.BytesIO(blob))
    fresh = f"sqlite:///{tmp_path / 'never.db'}"
    refused = tanso(fresh, "restore", str(tampered), cwd=tmp_path)
    assert refused.returncode == 2 and "backup_tampered" in refused.stderr
