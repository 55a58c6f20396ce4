"""`tanso init --demo` builds the demo market the README promises: history, trades, settlement."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path


def test_init_demo_creates_a_market_with_settled_pending_and_one_failed_settlement(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "TANSO_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}"}
    tanso = [sys.executable, "-m", "tanso.cli"]
    init = subprocess.run(
        [*tanso, "init", "--demo"], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert init.returncode == 0, init.stderr
    keys = json.loads((tmp_path / "demo-keys.json").read_text())
    assert "OPERATOR" in keys and len(keys) > 10
    for key in keys.values():
        assert key in init.stdout  # every key is printed whole, for copying
    with sqlite3.connect(tmp_path / "demo.db") as conn:
        status = dict(
            conn.execute("SELECT status, count(*) FROM settlement_obligations GROUP BY status")
        )
        instruments = conn.execute("SELECT count(*) FROM instruments").fetchone()[0]
        open_orders = conn.execute("SELECT count(*) FROM orders WHERE status = 'open'").fetchone()[
            0
        ]
        days = conn.execute("SELECT count(DISTINCT trade_date) FROM trades").fetchone()[0]
        history = conn.execute("SELECT count(DISTINCT trade_date) FROM auctions").fetchone()[0]
        rules = {r for (r,) in conn.execute("SELECT DISTINCT rule FROM index_values")}
    assert status.get("settled", 0) > 0 and status.get("pending", 0) > 0
    assert status.get("failed") == 1
    assert instruments >= 12 and open_orders > 0 and days >= 4
    assert history > 400  # two years of calibrated auction history
    assert {"vwap", "previous"} <= rules
    logins = json.loads((tmp_path / "demo-users.json").read_text())
    assert len(logins) == 4 and "operator@tanso.example.jp" in logins
    for email, password in logins.items():
        assert f"{email}  {password}" in init.stdout
    verify = subprocess.run([*tanso, "audit", "verify"], env=env, cwd=tmp_path, capture_output=True)
    assert verify.returncode == 0


def test_user_add_prints_a_password_once_and_refuses_an_unknown_participant(tmp_path: Path) -> None:
    env = {**os.environ, "TANSO_DATABASE_URL": f"sqlite:///{tmp_path / 'u.db'}"}
    tanso = [sys.executable, "-m", "tanso.cli"]
    subprocess.run([*tanso, "init"], env=env, cwd=tmp_path, check=True, capture_output=True)
    ok = subprocess.run(
        [
            *tanso,
            "user-add",
            "OPERATOR",
            "ops@example.jp",
            "Market operations",
            "--role",
            "administrator",
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    body = json.loads(ok.stdout)
    assert body["role"] == "administrator" and len(body["password"]) >= 12
    bad = subprocess.run(
        [*tanso, "user-add", "NOBODY", "x@example.jp", "X"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "participant_not_found" in bad.stderr
