"""Altering any journal row, or any balance behind the journal's back, fails `audit verify`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, text, update

from tanso.services.ledger import audit, cash, registry
from tanso.store import schema as t
from tanso.store.db import Database
from tests.conftest import add_issuance, add_participant, fund

pytestmark = pytest.mark.fast_backends("sqlite", "postgres")


def _history(db: Database) -> None:
    a = add_participant(db, "AUDITA")
    add_participant(db, "AUDITB")
    issuance = add_issuance(db, "AUDITA-MAIN", 1_000)
    registry.transfer(db, a, "AUDITA-MAIN", "AUDITB-MAIN", registry.Selection(300))
    registry.retire(
        db,
        a,
        registry.RetirementRequest(
            "AUDITA-MAIN", registry.Selection(serials=f"{issuance}-900-950"), ["offset_scope1"]
        ),
    )
    fund(db, "AUDITA", 5_000_000)
    cash.reserve(db, a, "JPY", 1_000, "ORDER-1")


def _count(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(t.journal)).scalar_one())


@pytest.mark.parametrize("column", ["payload", "at", "kind", "actor", "hash", "prev_hash"])
def test_altering_any_column_of_any_journal_row_is_detected_at_that_row(
    db: Database, column: str
) -> None:
    _history(db)
    assert audit.verify(db).ok
    n = _count(db)
    for seq in (1, n // 2, n):
        with db.engine.begin() as conn:
            original = conn.execute(
                select(t.journal.c[column]).where(t.journal.c.seq == seq)
            ).scalar_one()
            altered = ("f" if original[0] != "f" else "e") + original[1:]
            if column == "payload":
                altered = original[:-1] + ',"x":1}'
            conn.execute(update(t.journal).where(t.journal.c.seq == seq).values({column: altered}))
        report = audit.verify(db)
        assert not report.ok
        assert report.first_bad_seq in (seq, seq + 1)  # a changed hash breaks the next link
        if column != "hash":
            assert report.first_bad_seq == seq
        with db.engine.begin() as conn:
            conn.execute(update(t.journal).where(t.journal.c.seq == seq).values({column: original}))
        assert audit.verify(db).ok


def test_deleting_a_journal_row_is_detected(db: Database) -> None:
    _history(db)
    with db.engine.begin() as conn:
        conn.execute(delete(t.journal).where(t.journal.c.seq == 5))
    report = audit.verify(db)
    assert not report.ok and report.first_bad_seq == 5
    assert "entry 5 is missing" in report.problems[0]


def test_a_block_moved_behind_the_journals_back_is_detected(db: Database) -> None:
    _history(db)
    with db.engine.begin() as conn:
        conn.execute(
            update(t.blocks)
            .where(t.blocks.c.account_id == "AUDITB-MAIN")
            .values(account_id="AUDITA-MAIN")
        )
    report = audit.verify(db)
    assert not report.ok
    assert any("AUDITB-MAIN" in p for p in report.problems)


def test_a_cash_balance_changed_behind_the_journals_back_is_detected(db: Database) -> None:
    _history(db)
    with db.engine.begin() as conn:
        conn.execute(
            update(t.cash_accounts)
            .where(t.cash_accounts.c.id == "CASH-AUDITA-JPY")
            .values(balance=4_999_999)
        )
    report = audit.verify(db)
    assert not report.ok
    assert any("CASH-AUDITA-JPY" in p for p in report.problems)


@pytest.mark.full  # the command line's form; the checks above run in both tiers
def test_cli_audit_verify_exits_non_zero_and_names_the_altered_entry(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    env = {**os.environ, "TANSO_DATABASE_URL": url}
    tanso = [sys.executable, "-m", "tanso.cli"]
    subprocess.run([*tanso, "init"], env=env, check=True, capture_output=True, cwd=tmp_path)
    ok = subprocess.run(
        [*tanso, "audit", "verify"], env=env, capture_output=True, text=True, cwd=tmp_path
    )
    assert ok.returncode == 0, ok.stderr
    db = Database(url, lambda: "2026-01-01T00:00:00Z")
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE journal SET actor = 'MALLORY' WHERE seq = 2"))
    db.dispose()
    bad = subprocess.run(
        [*tanso, "audit", "verify"], env=env, capture_output=True, text=True, cwd=tmp_path
    )
    assert bad.returncode == 1
    assert "journal entry 2" in bad.stderr
