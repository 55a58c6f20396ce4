"""`tanso init --demo` builds the demo market the README promises: history, trades, settlement."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from tanso.cli import DEMO_USERS
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.instruments import JST


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
        simulated = _simulated_days(conn)
        pools = dict(conn.execute("SELECT status, count(*) FROM points_pools GROUP BY status"))
        removals = [
            conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("removal_profiles", "buffer_contributions", "reversals")
        ]
        contracts = conn.execute("SELECT count(*) FROM offtake_contracts").fetchone()[0]
        mine = conn.execute(
            "SELECT count(*) FROM orders WHERE status = 'open' AND participant_id = 'MARUHAMA'"
        ).fetchone()[0]
    assert status.get("settled", 0) > 0 and status.get("pending", 0) > 0
    assert status.get("failed") == 1
    assert instruments >= 12 and open_orders > 0 and days >= 4
    assert history > 400  # two years of calibrated auction history
    assert {"vwap", "previous"} <= rules
    logins = json.loads((tmp_path / "demo-users.json").read_text())
    assert len(logins) == len(DEMO_USERS) and "operator@tanso.example.jp" in logins
    assert {"gx@shirane-cement.example.jp", "verifier@kokusei.example.jp"} <= set(logins)
    assert "points@ecoride.example.jp" in logins
    assert pools == {"retired": 1, "open": 1}  # the points programme's two pools
    # the removals demo: P0964 and P1012 profiled, one buffer share, one reversal, one contract
    assert removals == [2, 1, 1] and contracts == 1
    assert "MINATO_DESIGN FY2025 carbon negative" in " ".join(init.stdout.split())
    assert {"offtake@tomakomai-dac.example.jp", "sustainability@minato-design.example.jp"} <= set(
        logins
    )
    for email, password in logins.items():
        assert f"{email}  {password}" in init.stdout
    verify = subprocess.run([*tanso, "audit", "verify"], env=env, cwd=tmp_path, capture_output=True)
    assert verify.returncode == 0
    _assert_an_honest_clock(simulated)
    assert mine == 0  # the demo trader finds no open order it did not place (defect 7)


def _simulated_days(conn: sqlite3.Connection) -> dict[str, set[tuple[str, str]]]:
    """{trade date: {(instrument, JST time of its auction)}} of the simulated days (journaled
    auctions; the imported history has no journal entries of its own)."""
    out: dict[str, set[tuple[str, str]]] = {}
    for at, payload in conn.execute(
        "SELECT at, payload FROM journal WHERE kind = 'exchange.auction'"
    ):
        when = dt.datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(JST)
        out.setdefault(when.date().isoformat(), set()).add(
            (json.loads(payload)["command"]["instrument"], f"{when:%H:%M}")
        )
    return out


def _assert_an_honest_clock(days: dict[str, set[tuple[str, str]]]) -> None:
    """Issue 18 defect 4: every simulated day is a business day with auctions at 11:30 and
    15:00 (no gaps in the ten days), and GX 超過削減枠 trades only on Fridays at 15:00."""
    calendar = japan_calendar()
    dates = sorted(dt.date.fromisoformat(d) for d in days)
    assert len(dates) == 10 and all(calendar.is_business_day(d) for d in dates)
    business = [
        dates[0] + dt.timedelta(days=n)
        for n in range((dates[-1] - dates[0]).days + 1)
        if calendar.is_business_day(dates[0] + dt.timedelta(days=n))
    ]
    assert dates == business  # no business day left out
    for day, auctions in days.items():
        assert {time for _, time in auctions} <= {"11:30", "15:00"}
        gx = {time for instrument, time in auctions if instrument == "JPX-GX-EXCESS"}
        assert gx == ({"15:00"} if dt.date.fromisoformat(day).weekday() == 4 else set())
        assert ("JPX-RE-POWER", "11:30") in auctions and ("JPX-RE-POWER", "15:00") in auctions


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
