"""`tanso points import` and `tanso points hash` (tanso.cli_points) against a SQLite file: a
programme's file of events sent as one batch, its refusals line by line, and the programme's
side tool that turns member ids into the keyed hashes Tanso takes."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tanso.cli import app
from tanso.domain import points
from tanso.domain.participants import Role
from tanso.services.common import SYSTEM, Actor
from tanso.services.ledger import participants, taxonomy
from tanso.services.points import programmes
from tanso.store import migrate
from tanso.store.db import Database
from tests.conftest import add_participant, counter_clock

KEY = b"a programme key of at least sixteen bytes"
METHOD: dict[str, Any] = {
    "effective_from": "2020-01-01",
    "source": "Test methodology (illustrative)",
    "actions": [
        {
            "code": "cycled_km",
            "name_en": "Cycled km",
            "name_ja": "自転車走行距離",
            "unit": "km",
            "grams_per_unit": 130,
        }
    ],
    "double_counting": {"overlaps": [], "settled": False, "treatment": "Points fund credits."},
}


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    db = Database(url, counter_clock())
    migrate.upgrade(db.engine)
    participants.bootstrap(db)
    taxonomy.seed_reference_data(db, SYSTEM)
    add_participant(db, "ECORIDE")
    programmes.register(
        db, SYSTEM, programmes.NewProgramme("PP-ECORIDE", "ECORIDE", "EcoRide", "エコライド")
    )
    actor = Actor("ECORIDE", frozenset({Role.TRADER, Role.POINTS_PROGRAMME}))
    programmes.publish_methodology(db, actor, "PP-ECORIDE", METHOD)
    db.dispose()
    monkeypatch.setenv("TANSO_DATABASE_URL", url)
    return url


def member(n: int) -> str:
    return points.member_hash(KEY, f"member-{n}")


def yesterday() -> str:
    return (dt.date.today() - dt.timedelta(days=1)).isoformat()


def test_import_sends_a_file_as_one_batch_of_the_programme_and_a_resend_counts_nothing(
    url: str, tmp_path: Path
) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text(
        "\n".join(
            json.dumps(
                {
                    "event_id": f"e{n}",
                    "member": member(n),
                    "action": "cycled_km",
                    "quantity": 10,
                    "occurred_on": yesterday(),
                }
            )
            for n in range(3)
        )
    )
    run = CliRunner()
    r = run.invoke(app, ["points", "import", str(events), "--programme", "PP-ECORIDE"])
    assert r.exit_code == 0, r.stderr
    assert "3 events accepted" in r.stdout and "3,900 g CO2" in r.stdout
    r = run.invoke(app, ["points", "import", str(events), "--programme", "PP-ECORIDE"])
    assert r.exit_code == 0 and "0 events accepted, 3 duplicates" in r.stdout
    db = Database(url, counter_clock())
    try:
        batches = programmes.list_batches(db, SYSTEM, "PP-ECORIDE")
        assert [b.source for b in batches] == ["cli", "cli"]
        assert programmes.get_programme(db, "PP-ECORIDE").earned_grams == 3_900
    finally:
        db.dispose()


def test_import_of_a_csv_with_bad_lines_lists_each_and_records_nothing(
    url: str, tmp_path: Path
) -> None:
    day = yesterday()
    events = tmp_path / "events.csv"
    events.write_text(
        "event_id,member,action,quantity,occurred_on\n"
        f"c1,{member(1)},cycled_km,5,{day}\n"
        f"c2,taro@example.jp,cycled_km,5,{day}\n"
        f"c3,{member(3)},flying,5,{day}\n"
    )
    r = CliRunner().invoke(app, ["points", "import", str(events), "--programme", "PP-ECORIDE"])
    assert r.exit_code == 2
    assert "batch_refused" in r.stderr and "2 of 3 lines are refused" in r.stderr
    assert "invalid_member: Line 3:" in r.stderr and "unknown_action: Line 4:" in r.stderr
    assert "taro@example.jp" not in r.stderr + r.stdout
    db = Database(url, counter_clock())
    try:
        assert programmes.get_programme(db, "PP-ECORIDE").events == 0
    finally:
        db.dispose()


def test_import_refuses_an_unknown_programme_a_bad_format_and_a_missing_file(
    url: str, tmp_path: Path
) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text("{}\n")
    run = CliRunner()
    r = run.invoke(app, ["points", "import", str(events), "--programme", "PP-NOBODY"])
    assert r.exit_code == 2 and "programme_not_found" in r.stderr
    r = run.invoke(
        app, ["points", "import", str(events), "--programme", "PP-ECORIDE", "--format", "xml"]
    )
    assert r.exit_code == 2 and "csv or jsonl" in r.stderr
    r = run.invoke(
        app, ["points", "import", str(tmp_path / "none.csv"), "--programme", "PP-ECORIDE"]
    )
    assert r.exit_code == 2 and "unreadable" in r.stderr


def test_hash_prints_each_member_ids_keyed_hash_in_order(tmp_path: Path) -> None:
    key = tmp_path / "key"
    key.write_bytes(KEY + b"\n")
    r = CliRunner().invoke(
        app, ["points", "hash", "--key-file", str(key)], input="member-1\n\nmember-2\n"
    )
    assert r.exit_code == 0, r.stderr
    assert r.stdout.split("\n") == [member(1), "", member(2), ""]
    assert all(points.is_member(h) for h in (member(1), member(2)))


def test_hash_refuses_a_short_key(tmp_path: Path) -> None:
    key = tmp_path / "key"
    key.write_text("secret\n")
    r = CliRunner().invoke(app, ["points", "hash", "--key-file", str(key)], input="member-1\n")
    assert r.exit_code == 2 and "key_too_short" in r.stderr and "6 bytes" in r.stderr
