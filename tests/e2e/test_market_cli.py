"""`tanso market restate` (docs/indices.md, section 9): the operator's restatement command on the
command line, its refusals in words a person understands and its answer when nothing changes."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tanso.cli import app
from tanso.services.common import SYSTEM
from tanso.services.ledger import participants, taxonomy
from tanso.store import migrate
from tanso.store.db import Database
from tests.conftest import counter_clock


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    db = Database(url, counter_clock())
    migrate.upgrade(db.engine)
    participants.bootstrap(db)
    taxonomy.seed_reference_data(db, SYSTEM)
    db.dispose()
    monkeypatch.setenv("TANSO_DATABASE_URL", url)
    return url


def test_restate_refuses_a_bad_or_unpublished_date_and_says_why(database: str) -> None:
    run = CliRunner()
    r = run.invoke(app, ["market", "restate", "--date", "5 Jan", "--reason", "bust"])
    assert r.exit_code == 2 and "YYYY-MM-DD" in r.stderr
    r = run.invoke(app, ["market", "restate", "--date", "2026-01-05", "--reason", "bust"])
    assert r.exit_code == 2 and "No index values are published for 2026-01-05" in r.stderr
    r = run.invoke(app, ["market", "restate", "--date", "2026-01-05", "--reason", " "])
    assert r.exit_code == 2 and "reason_required" in r.stderr
