"""`tanso usage ...` commands (registered by tanso.cli_usage.register) against a SQLite file."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from tanso import cli_usage
from tanso.services.common import SYSTEM
from tanso.services.compliance import inventories
from tanso.services.ledger import participants, taxonomy
from tanso.store import migrate
from tanso.store.db import Database
from tests.conftest import add_participant, counter_clock


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    db = Database(f"sqlite:///{tmp_path / 'cli.db'}", counter_clock())
    migrate.upgrade(db.engine)
    participants.bootstrap(db)
    taxonomy.seed_reference_data(db, SYSTEM)
    add_participant(db, "ALPHA")
    db.dispose()
    monkeypatch.setenv("TANSO_DATABASE_URL", url)
    main = typer.Typer()

    @main.callback()
    def _root() -> None:
        """tanso"""

    cli_usage.register(main)
    return main


def test_rule_sets_are_listed_checked_added_and_shown(app: typer.Typer, tmp_path: Path) -> None:
    run = CliRunner()
    r = run.invoke(app, ["usage", "rulesets", "--date", "2026-05-01"])
    assert r.exit_code == 0 and "* tanso-default@2026.2" in r.stdout
    doc = json.loads(
        resources.files("tanso").joinpath("data/rules/default-2026.json").read_text("utf-8")
    )
    good = tmp_path / "next.json"
    good.write_text(json.dumps(doc | {"version": "2027.1", "effective_from": "2027-04-01"}))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc | {"hierarchy": "sometimes"}))
    assert run.invoke(app, ["usage", "check", str(good)]).exit_code == 0
    r = run.invoke(app, ["usage", "check", str(bad)])
    assert r.exit_code == 2 and "hierarchy" in r.stderr
    assert run.invoke(app, ["usage", "add", str(good)]).exit_code == 0
    assert run.invoke(app, ["usage", "add", str(good)]).exit_code == 2  # same version twice
    r = run.invoke(app, ["usage", "show", "--date", "2027-04-01"])
    assert r.exit_code == 0 and json.loads(r.stdout)["version"] == "2027.1"


def test_inventories_are_imported_from_csv(app: typer.Typer, tmp_path: Path) -> None:
    run = CliRunner()
    csv = tmp_path / "inv.csv"
    csv.write_text("participant_id,year,scope1\nALPHA,2025,900\n")
    r = run.invoke(app, ["usage", "import-inventories", str(csv)])
    assert r.exit_code == 0 and "imported 1" in r.stdout
    csv.write_text("participant_id,year,scope1\nNOBODY,2025,900\n")
    r = run.invoke(app, ["usage", "import-inventories", str(csv)])
    assert r.exit_code == 2 and "row 2" in r.stderr
    db = Database(f"sqlite:///{tmp_path / 'cli.db'}", counter_clock())
    try:
        inv = inventories.inventory(db, "ALPHA", 2025)
        assert inv is not None and inv.scope1 == 900
    finally:
        db.dispose()
