"""The access log: API key use once per key and minute, refusals, paging, operator only; rows
wait in memory and ride on the next write transaction, never in a transaction of their own."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, select

from tanso.domain.errors import Forbidden, InvalidInput, Unauthenticated
from tanso.services.access import access_log
from tanso.services.common import SYSTEM
from tanso.services.ledger import participants
from tanso.store.db import Database
from tanso.store.schema_ops import access_log as table
from tests.conftest import add_participant


def _rows(db: Database) -> list[dict[str, object]]:
    access_log.flush(db)
    with db.read() as conn:
        return [dict(r._mapping) for r in conn.execute(select(table).order_by(table.c.id))]


def test_key_use_is_recorded_once_a_minute_with_the_request_address(db: Database) -> None:
    add_participant(db, "ALOG")
    key = participants.create_api_key(db, SYSTEM, "ALOG").key
    key_id = key.split("_")[1]
    info = access_log.RequestInfo("req-1", "198.51.100.4")
    with access_log.request_context(info):
        for _ in range(5):
            assert participants.authenticate(db, key).participant_id == "ALOG"
    assert (info.participant_id, info.key_id) == ("ALOG", key_id)
    uses = [r for r in _rows(db) if r["kind"] == "api_key" and r["outcome"] == "ok"]
    # the counter clock stays within one minute: five uses, one row
    assert len(uses) == 1
    assert uses[0]["subject"] == key_id and uses[0]["participant_id"] == "ALOG"
    assert uses[0]["ip"] == "198.51.100.4"


def test_refused_keys_are_recorded_without_their_secret(db: Database) -> None:
    add_participant(db, "ALOGR")
    key = participants.create_api_key(db, SYSTEM, "ALOGR")
    key_id, secret = key.id, key.key.split("_", 2)[2]
    wrong = f"tk_{key_id}_{'A' * 43}"
    with pytest.raises(Unauthenticated):
        participants.authenticate(db, wrong)
    with pytest.raises(Unauthenticated):
        participants.authenticate(db, "not-a-key-" + secret)
    participants.revoke_api_key(db, SYSTEM, "ALOGR", key_id)
    with pytest.raises(Unauthenticated):
        participants.authenticate(db, key.key)
    rows = _rows(db)
    refused = {(r["subject"], r["outcome"]) for r in rows}
    assert (key_id, "refused") in refused and ("(malformed)", "refused") in refused
    for r in rows:
        assert secret not in str(r) and "A" * 43 not in str(r)


def test_a_broker_without_authorisation_is_recorded_as_refused(db: Database) -> None:
    add_participant(db, "ALOGB", ["broker"])
    add_participant(db, "ALOGC")
    key = participants.create_api_key(db, SYSTEM, "ALOGB")
    with pytest.raises(Forbidden):
        participants.authenticate(db, key.key, on_behalf_of="ALOGC")
    row = next(r for r in _rows(db) if r["subject"] == key.id)
    assert (row["outcome"], row["participant_id"], row["detail"]) == (
        "refused",
        "ALOGB",
        "broker_not_authorised",
    )


def test_the_operator_reads_the_log_page_by_page_and_no_one_else_can(db: Database) -> None:
    with db.engine.begin() as conn:
        for i in range(7):
            access_log.record_access(conn, "login", f"user{i}@example.jp", "10.0.0.9", "ok")
    first = access_log.list_access(db, SYSTEM, kind="login", limit=3)
    assert [e.subject for e in first.entries] == [f"user{i}@example.jp" for i in (6, 5, 4)]
    second = access_log.list_access(db, SYSTEM, kind="login", limit=3, before=first.next_before)
    third = access_log.list_access(db, SYSTEM, kind="login", limit=3, before=second.next_before)
    assert [e.subject for e in third.entries] == ["user0@example.jp"]
    assert third.next_before is None
    only = access_log.list_access(db, SYSTEM, subject="user3@example.jp")
    assert [e.subject for e in only.entries] == ["user3@example.jp"]
    trader = add_participant(db, "ALOGT")
    with pytest.raises(Forbidden):
        access_log.list_access(db, trader)
    with pytest.raises(InvalidInput):
        access_log.list_access(db, SYSTEM, kind="everything")
    with pytest.raises(InvalidInput):
        access_log.list_access(db, SYSTEM, limit=0)


def test_portal_login_outcomes_are_recorded_with_the_request_address(db: Database) -> None:
    with access_log.request_context(access_log.RequestInfo("r", "192.0.2.8")):
        for outcome in ("invalid", "totp_required", "locked", "ok"):
            access_log.record_login(db, "login", "a@example.jp", outcome, "ALOGP")
        access_log.record_login(db, "totp", "U-1", "ok", "ALOGP")
    rows = [r for r in _rows(db) if r["subject"] in ("a@example.jp", "U-1")]
    assert [(r["kind"], r["outcome"]) for r in rows] == [
        ("login", "refused"),
        ("login", "pending"),
        ("login", "locked"),
        ("login", "ok"),
        ("totp", "ok"),
    ]
    assert {r["ip"] for r in rows} == {"192.0.2.8"}
    assert {r["participant_id"] for r in rows} == {"ALOGP"}


@contextmanager
def transactions(db: Database) -> Iterator[Counter[str]]:
    """Count the transactions begun and committed on ``db``, and the rows of INSERT INTO
    access_log statements run."""
    seen: Counter[str] = Counter()

    def begun(_conn: Any) -> None:
        seen["begin"] += 1

    def committed(_conn: Any) -> None:
        seen["commit"] += 1

    def statement(_c: Any, _cur: Any, sql: str, *_: Any) -> None:
        if sql.lstrip().upper().startswith("INSERT INTO ACCESS_LOG"):
            seen["access_log inserts"] += 1

    listeners: list[tuple[str, Callable[..., None]]] = [
        ("begin", begun),
        ("commit", committed),
        ("before_cursor_execute", statement),
    ]
    for name, fn in listeners:
        event.listen(db.engine, name, fn)
    try:
        yield seen
    finally:
        for name, fn in listeners:
            event.remove(db.engine, name, fn)


def test_a_key_use_is_written_by_the_next_write_transaction_not_one_of_its_own(
    db: Database,
) -> None:
    add_participant(db, "ALOGW")
    keys = [participants.create_api_key(db, SYSTEM, "ALOGW") for _ in range(3)]
    with transactions(db) as seen, access_log.request_context(access_log.RequestInfo("r", "::1")):
        for k in keys:
            participants.authenticate(db, k.key)
    # three reads (one per key), no write: the rows wait in memory
    assert (seen["begin"], seen["access_log inserts"]) == (3, 0)
    assert access_log.pending(db) == 3
    with transactions(db) as seen:
        add_participant(db, "ALOGW2")  # two write transactions: register, approve
    assert (seen["begin"], seen["commit"], seen["access_log inserts"]) == (2, 2, 1)
    assert access_log.pending(db) == 0
    with db.read() as conn:  # no flush: the write transaction wrote them
        rows = conn.execute(select(table).where(table.c.participant_id == "ALOGW")).all()
    assert sorted(r.subject for r in rows) == sorted(k.id for k in keys)


def test_rows_wait_again_when_the_transaction_carrying_them_rolls_back(db: Database) -> None:
    add_participant(db, "ALOGR2")
    key = participants.create_api_key(db, SYSTEM, "ALOGR2")
    participants.authenticate(db, key.key)

    def refuse(_tx: Any) -> None:
        raise RuntimeError("the commit fails")

    db.before_commit.append(refuse)  # after the access log's hook: its rows were inserted
    with pytest.raises(RuntimeError), db.write() as tx:
        tx.record("test.nothing", "test", {})
    db.before_commit.remove(refuse)
    assert access_log.pending(db) == 1
    page = access_log.list_access(db, SYSTEM, kind="api_key", subject=key.id)
    assert [e.participant_id for e in page.entries] == ["ALOGR2"]


def test_reading_the_log_and_closing_the_database_write_what_waits(db: Database) -> None:
    add_participant(db, "ALOGF")
    first, second = (participants.create_api_key(db, SYSTEM, "ALOGF") for _ in range(2))
    participants.authenticate(db, first.key)
    page = access_log.list_access(db, SYSTEM, kind="api_key")
    assert first.id in {e.subject for e in page.entries}
    participants.authenticate(db, second.key)
    db.dispose()
    with db.read() as conn:
        subjects = set(conn.execute(select(table.c.subject)).scalars())
    assert second.id in subjects
