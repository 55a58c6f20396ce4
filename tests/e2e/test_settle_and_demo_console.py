"""Issue 18 defects 5 and 8 at the console: `tanso settle` refuses a future date without
`--early`; `tanso init --demo` names `--reset` on a used database and shows its steps; the demo's
request log keeps the console quiet and the file complete."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from tanso import cli
from tanso.api import ops, request_log
from tanso.demo import auctions, marketplace, usage
from tanso.demo import exchange_days as demo_exchange
from tanso.demo import market as demo_data
from tanso.domain.errors import Conflict
from tanso.services.common import SYSTEM
from tanso.services.ledger import participants, taxonomy
from tanso.settings import Settings
from tanso.store import migrate
from tanso.store.db import Database
from tests.conftest import add_participant, counter_clock


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A bootstrapped SQLite file the CLI opens (with the real clock, as in production)."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    db = Database(url, counter_clock())
    migrate.upgrade(db.engine)
    participants.bootstrap(db)
    taxonomy.seed_reference_data(db, SYSTEM)
    db.dispose()
    monkeypatch.setenv("TANSO_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)  # demo-keys.json and demo-users.json land here
    return url


def test_settle_refuses_a_date_after_today_unless_early(url: str) -> None:
    today = dt.datetime.now(ZoneInfo("Asia/Tokyo")).date()
    later = (today + dt.timedelta(days=6)).isoformat()
    run = CliRunner()
    r = run.invoke(cli.app, ["settle", "--date", later])
    assert r.exit_code == 2
    assert "settlement_date_in_future" in r.stderr and later in r.stderr
    r = run.invoke(cli.app, ["settle", "--date", later, "--early"])
    assert r.exit_code == 0 and json.loads(r.stdout)["date"] == later
    r = run.invoke(cli.app, ["settle"])  # today's business date by default
    assert r.exit_code == 0 and json.loads(r.stdout)["date"] == today.isoformat()


def test_loading_the_demo_twice_names_the_reset_option(db: Database) -> None:
    add_participant(db, demo_data.PARTICIPANTS[0].id)
    with pytest.raises(Conflict) as err:
        demo_data.load(db)
    assert err.value.code == "demo_already_loaded"
    assert "tanso init --demo --reset" in err.value.message


def test_init_demo_shows_each_step_and_where_the_keys_are_kept(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the steps themselves are tested elsewhere; here only what the console says about them
    monkeypatch.setattr(demo_data, "load", lambda db: {"MARUHAMA": "tk_demo"})
    counts = {"orders": 1, "auctions": 1, "trades": 1, "settled": 1, "failed": 0}
    monkeypatch.setattr(demo_exchange, "demo_market", lambda *a: counts)
    monkeypatch.setattr(demo_exchange, "demo_morning", lambda *a: {"orders": 2})
    for module in (marketplace, auctions, usage):
        monkeypatch.setattr(module, "seed", lambda *a: "")
    monkeypatch.setattr(cli, "_demo_users", lambda db: Path("demo-users.json").write_text("{}"))
    r = CliRunner().invoke(cli.app, ["init", "--demo"])
    assert r.exit_code == 0, r.output
    steps = ["issuances loaded", "exchange days simulated", "marketplace seeded"]
    steps += ["auctions seeded", "usage seeded", "first live morning"]
    positions = [r.stdout.find(f" {step}") for step in steps]
    assert -1 not in positions and positions == sorted(positions)
    assert "demo-keys.json and demo-users.json" in r.stdout
    assert json.loads(Path("demo-keys.json").read_text())["MARUHAMA"] == "tk_demo"


def _line(status: int, ms: float) -> None:
    extra: dict[str, Any] = {"status": status, "duration_ms": ms, "method": "GET"}
    logging.getLogger("tanso.http").info("GET /v1/x %d", status, extra=extra)


def apply(settings: Settings) -> None:
    request_log.apply(settings, ops.HANDLER_NAME, ops.JsonFormatter)


def test_a_quiet_request_log_shows_errors_and_slow_requests_and_files_every_one(
    tmp_path: Path,
) -> None:
    console = io.StringIO()
    file = tmp_path / "requests.log"
    ops.configure_logging("text", "info", stream=console)
    sockets, socket_lines = logging.getLogger("uvicorn.error"), logging.StreamHandler(console)
    try:
        apply(Settings(request_log="quiet", request_log_slow_ms=500, request_log_file=str(file)))
        _line(200, 3.0)
        _line(201, 4.0)
        _line(404, 2.0)  # a refusal is the client's business: in the file only
        _line(409, 2.0)
        _line(500, 2.0)
        _line(200, 900.0)
        logging.getLogger("tanso.exchange").info("not a request line")
        sockets.addHandler(socket_lines)
        sockets.info("connection open")  # a browser's WebSocket: routine, not shown
        sockets.info('%s - "WebSocket %s" [accepted]', "127.0.0.1:5", "/v1/stream")
        sockets.warning("a WebSocket warning")
        shown = console.getvalue().splitlines()
        assert not any("connection open" in s or "[accepted]" in s for s in shown)
        assert any("a WebSocket warning" in s for s in shown)
        assert [s.split(" /v1/x ")[1].split()[0] for s in shown if "/v1/x" in s] == ["500", "200"]
        assert any("not a request line" in s for s in shown)
        filed = [json.loads(s) for s in file.read_text().splitlines()]
        assert [f["status"] for f in filed] == [200, 201, 404, 409, 500, 200]
        apply(Settings(request_log="all", request_log_file=None))
        _line(200, 1.0)
        assert console.getvalue().count("/v1/x") == 3  # all again, and no file any more
        assert len(file.read_text().splitlines()) == 6
    finally:
        sockets.removeHandler(socket_lines)
        apply(Settings(request_log="all", request_log_file=None))
        ops.configure_logging("text", "info")


def test_the_simulator_never_trades_as_a_demo_portal_user() -> None:
    """Issue 18, defect 7: the simulator placed orders in the demo trader's name."""
    from tanso.cli import DEMO_USERS, simulated_traders

    keys = {"OPERATOR": "k0", "MARUHAMA": "k1", "HOKUTO_STEEL": "k2", "TOKAI": "k3"}
    keys |= {"SHIRANE_CEMENT": "k4", "KOKUSEI_VERIFY": "k5", "ECORIDE": "k6"}
    keys |= {"TOMAKOMAI_DAC": "k7", "MINATO_DESIGN": "k8"}  # the removals demo's logins
    keys |= {"OKUMINE_FOC": "k9", "JFA_VERIFY": "k10"}  # the project cycle's
    traders = simulated_traders(keys)
    assert traders == {"OPERATOR": "k0", "TOKAI": "k3"}
    assert {pid for pid, *_ in DEMO_USERS} - {"OPERATOR"} <= set(keys) - set(traders)


def test_registry_retire_checks_first_and_chooses_credits_by_vintage(url: str) -> None:
    """The CLI's retirement has the portal's check and credit choice (issue 18)."""
    from tests.conftest import add_issuance

    db = Database(url, counter_clock())
    add_participant(db, "CLIR")
    old = add_issuance(db, "CLIR-MAIN", 100, vintage=2019)
    new = add_issuance(db, "CLIR-MAIN", 100, vintage=2023)
    db.dispose()
    run = CliRunner()
    args = ["registry", "retire", "CLIR-MAIN", "offset_scope1", "--quantity", "10"]
    checked = run.invoke(cli.app, [*args, "--vintage", "2023", "--check"])
    assert checked.exit_code == 0, checked.output
    answer = json.loads(checked.stdout)
    assert answer["allowed"] and answer["serials"][0].startswith(new)
    retired = run.invoke(cli.app, [*args, "--vintage", "2023"])
    assert retired.exit_code == 0, retired.output
    assert new in retired.stdout and old not in retired.stdout
    refused = run.invoke(cli.app, [*args, "--vintage", "2001"])
    assert refused.exit_code == 2 and "holds 0 credits of vintage 2001" in refused.output
