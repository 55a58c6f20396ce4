"""Online backup and restore: a consistent copy while writes go on, restorable on either backend."""

from __future__ import annotations

import datetime as dt
import io
import itertools
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select, text

from tanso.domain.errors import Conflict, InvalidInput
from tanso.domain.instruments import Eligibility, InstrumentSpec
from tanso.services.access import access_log
from tanso.services.clearing import settlement
from tanso.services.common import SYSTEM
from tanso.services.ledger import audit, registry
from tanso.services.operations import backup
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange, NewOrder
from tanso.store import schema as t
from tanso.store.db import Database
from tests.conftest import PG_URL, add_issuance, add_participant, counter_clock, fund

pytestmark = pytest.mark.fast_backends("sqlite", "postgres")

DUE = dt.date(2026, 1, 13)  # T+5 of 2026-01-05
_schemas = itertools.count()


def _market(db: Database) -> None:
    """Trades (one settled, one pending), a retirement, transfers and cash."""
    x = Exchange(db, japan_calendar())
    seller, buyer = add_participant(db, "BKSELL"), add_participant(db, "BKBUY")
    issuance = add_issuance(db, "BKSELL-MAIN", 5_000)
    fund(db, "BKBUY", 50_000_000)
    x.define_instrument(
        SYSTEM,
        InstrumentSpec(
            "ES",
            "Energy saving",
            "省エネ",
            Eligibility(categories=("ENERGY_SAVING",)),
            reference_price=2_000,
        ),
    )
    x.session(SYSTEM, "ES", "open")
    for quantity in (300, 200):
        x.place(buyer, NewOrder("ES", "buy", quantity, 2_000))
        x.place(seller, NewOrder("ES", "sell", quantity, 2_000))
        x.session(SYSTEM, "ES", "auction")
        if quantity == 300:
            assert settlement.run(db, SYSTEM, DUE, early=True).settled == 1
    x.place(buyer, NewOrder("ES", "buy", 10, 1_900))  # rests in the book
    registry.retire(
        db,
        seller,
        registry.RetirementRequest(
            "BKSELL-MAIN", registry.Selection(serials=f"{issuance}-4900-4950"), ["offset_scope1"]
        ),
    )
    registry.transfer(db, seller, "BKSELL-MAIN", "BKBUY-MAIN", registry.Selection(100))
    with db.engine.begin() as conn:
        access_log.record_access(conn, "login", "someone@example.com", "10.0.0.1", "ok")


def _counts(db: Database) -> dict[str, int]:
    with db.read() as conn:
        names = [tb for tb in t.metadata.sorted_tables]
        out = {}
        for tb in names:
            out[tb.name] = int(conn.execute(select(func.count()).select_from(tb)).scalar_one())
        return out


def _head(db: Database) -> tuple[int, str]:
    with db.read() as conn:
        row = conn.execute(select(t.journal_head.c.seq, t.journal_head.c.hash)).one()
    return int(row.seq), str(row.hash)


@pytest.fixture(params=["sqlite", "postgres"])
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty database without any schema, SQLite or PostgreSQL."""
    if request.param == "sqlite":
        target = Database(f"sqlite:///{tmp_path / 'restored.db'}", counter_clock())
        yield target
        target.dispose()
        return
    schema = f"tanso_restore_{id(request)}_{next(_schemas)}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    target = Database(PG_URL, counter_clock(), pg_schema=schema)
    yield target
    target.dispose()
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    admin.dispose()


def test_a_backup_taken_while_writes_go_on_restores_with_the_same_books(
    db: Database, fresh: Database, tmp_path: Path
) -> None:
    _market(db)
    writer = add_participant(db, "BKWRITE")
    stop, wrote = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def keep_writing() -> None:
        try:
            n = 0
            while not stop.is_set():
                n += 1
                fund(db, "BKWRITE", n)
                wrote.set()
        except BaseException as e:  # pragma: no cover - shown by the assertion below
            errors.append(e)
            wrote.set()

    thread = threading.Thread(target=keep_writing)
    thread.start()
    try:
        assert wrote.wait(60)
        manifest = backup.backup(db, tmp_path / "tanso.backup")
    finally:
        stop.set()
        thread.join()
    assert not errors and writer.participant_id == "BKWRITE"

    # the manifest describes one moment: its head is in the source's chain
    seq, head_hash = manifest.journal_head.seq, manifest.journal_head.hash
    with db.read() as conn:
        at_seq = conn.execute(select(t.journal.c.hash).where(t.journal.c.seq == seq)).scalar()
    assert at_seq == head_hash and manifest.tables["journal"] == seq
    assert manifest.tables["trades"] == 2 and manifest.tables["retirements"] == 1

    report = backup.restore(fresh, tmp_path / "tanso.backup")
    assert report.audit_ok, report.audit_problems
    assert audit.verify(fresh).ok
    assert _head(fresh) == (seq, head_hash)
    restored = _counts(fresh)
    assert {k: restored[k] for k in manifest.tables} == manifest.tables
    with fresh.read() as conn:
        obligations = {
            r.status: r.n
            for r in conn.execute(
                select(t.settlement_obligations.c.status, func.count().label("n")).group_by(
                    t.settlement_obligations.c.status
                )
            )
        }
    assert obligations == {"settled": 1, "pending": 1}


def test_a_restored_database_takes_new_writes_with_fresh_ids(
    db: Database, fresh: Database, tmp_path: Path
) -> None:
    _market(db)
    backup.backup(db, tmp_path / "b.tar")
    backup.restore(fresh, tmp_path / "b.tar")
    # the settlement run id and the access log id come from sequences on PostgreSQL
    assert settlement.run(fresh, SYSTEM, DUE + dt.timedelta(days=1), early=True).settled == 1
    with fresh.engine.begin() as conn:
        access_log.record_access(conn, "login", "other@example.com", "10.0.0.2", "refused")
    with fresh.read() as conn:
        runs = conn.execute(select(func.count()).select_from(t.settlement_runs)).scalar()
    assert runs == 2
    assert audit.verify(fresh).ok
    # and the exchange recovers its books from the restored journal
    x = Exchange(fresh, japan_calendar())
    assert x.book(SYSTEM, "ES").bids[0].quantity == 10


def _rewrite(src: Path, dst: Path, change: Any) -> None:
    with tarfile.open(src) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]
    members = change(members)
    with tarfile.open(dst, "w") as tar:
        for name, blob in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))


def test_a_tampered_backup_is_refused_and_nothing_is_loaded(
    sqlite_db: Database, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    import gzip

    _market(sqlite_db)
    good = tmp_path / "good.tar"
    backup.backup(sqlite_db, good)

    def flip_price(members: dict[str, bytes]) -> dict[str, bytes]:
        data = gzip.decompress(members["data.jsonl.gz"]).replace(b"50000000", b"90000000", 1)
        assert data != gzip.decompress(members["data.jsonl.gz"])
        return members | {"data.jsonl.gz": gzip.compress(data)}

    bad = tmp_path / "bad.tar"
    _rewrite(good, bad, flip_price)
    target = Database(f"sqlite:///{tmp_path / 'target.db'}", counter_clock())
    with pytest.raises(InvalidInput) as e:
        backup.restore(target, bad)
    assert e.value.code == "backup_tampered"
    with target.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM sqlite_master")).scalar() == 0

    truncated = tmp_path / "truncated.tar"
    truncated.write_bytes(good.read_bytes()[:2000])
    with pytest.raises(InvalidInput):
        backup.restore(target, truncated)
    target.dispose()


def test_restore_refuses_a_database_that_holds_data(sqlite_db: Database, tmp_path: Path) -> None:
    _market(sqlite_db)
    backup.backup(sqlite_db, tmp_path / "b.tar")
    before = _head(sqlite_db)
    with pytest.raises(Conflict) as e:
        backup.restore(sqlite_db, tmp_path / "b.tar")
    assert e.value.code == "database_not_empty"
    assert _head(sqlite_db) == before
