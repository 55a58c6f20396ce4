"""No personal identifier of a points member anywhere (issue 20 §1): a programme sends events,
pledges and retirements whose members are keyed hashes of raw ids (email addresses, phone
numbers, a name); a hostile or careless client sends the raw ids themselves, in bodies and in
the member segment of paths, and is refused. Then every raw id is looked for, byte for byte, in
the database (the SQLite file and its write-ahead log; on PostgreSQL the text of every row of
every table, the journal and the access log included), in every log record and the request log
file, and in the public pages and answers: none may appear. The hashes do appear where they
should, so the search is shown to find what is there."""

from __future__ import annotations

import json
import logging
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tanso.api import ops, request_log
from tanso.api.app import create_app
from tanso.domain import points
from tanso.services.access import access_log
from tanso.services.common import SYSTEM
from tanso.services.ledger import participants
from tanso.settings import Settings
from tanso.store.db import Database
from tests.conftest import add_issuance, add_participant
from tests.e2e.test_points_api import BASE, METHOD, NDJSON, PROGRAMME, Days, bearer

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

KEY = b"the programme's member key, never sent to Tanso"
RAW_IDS = [
    "taro.yamada@example.jp",
    "hanako.suzuki@example.co.jp",
    "090-1234-5678",
    "+81-80-9876-5432",
    "山田太郎",
]
"""Members' own ids as the programme knows them; Tanso must only ever see their hashes."""


def hashed(raw: str) -> str:
    return points.member_hash(KEY, raw)


@pytest.fixture
def request_log_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The server's request log, as JSON lines in a file (as `tanso serve` may write it)."""
    path = tmp_path / "requests.log"
    monkeypatch.setenv("TANSO_REQUEST_LOG_FILE", str(path))
    monkeypatch.setenv("TANSO_LOG_FORMAT", "json")
    yield path
    monkeypatch.delenv("TANSO_REQUEST_LOG_FILE")
    monkeypatch.delenv("TANSO_LOG_FORMAT")
    request_log.apply(Settings(), ops.HANDLER_NAME, ops.JsonFormatter)
    ops.configure_logging("text", "info")


def database_text(db: Database) -> bytes:
    """Everything the database holds, as bytes: the SQLite file and its write-ahead log, or
    the text of every row of every table of the PostgreSQL schema."""
    access_log.flush(db)
    if db.engine.dialect.name == "sqlite":
        name = db.engine.url.database
        assert name
        files = [Path(name), Path(name + "-wal")]
        return b"".join(f.read_bytes() for f in files if f.exists())
    out = []
    with db.engine.connect() as conn:
        tables = conn.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        ).scalars()
        for table in list(tables):
            rows = conn.execute(text(f'SELECT CAST(x AS text) FROM "{table}" x')).scalars()
            out.extend(str(r) for r in rows)
    assert len(out) > 50
    return "\n".join(out).encode()


def test_no_raw_member_id_reaches_the_database_the_logs_or_the_public_pages(
    db: Database, request_log_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    db.clock = Days("2026-11-30")
    add_participant(db, "ECORIDE")
    add_issuance(db, "ECORIDE-MAIN", 10, vintage=2024, category="FOREST")
    op = bearer(participants.create_api_key(db, SYSTEM, participants.OPERATOR_PARTICIPANT, "o").key)
    members = [hashed(raw) for raw in RAW_IDS]
    answers: list[str] = []  # every answer the API gave, refusals included
    with TestClient(create_app(db)) as http:

        def call(method: str, url: str, **kwargs: Any) -> Any:
            r = http.request(method, url, **kwargs)
            answers.append(r.text)
            return r

        new = {"id": PROGRAMME, "participant_id": "ECORIDE", "name_en": "E", "name_ja": "E"}
        assert call("POST", "/v1/points/programmes", headers=op, json=new).status_code == 201
        eco = bearer(participants.create_api_key(db, SYSTEM, "ECORIDE", "eco").key)
        assert call("POST", f"{BASE}/methodologies", headers=eco, json=METHOD).status_code == 201

        # the programme's own traffic: hashes only
        events = "\n".join(
            json.dumps(
                {
                    "event_id": f"e{n}",
                    "member": m,
                    "action": "cycled_km",
                    "quantity": 6000,
                    "occurred_on": "2026-11-01",
                }
            )
            for n, m in enumerate(members)
        )
        r = call("POST", f"{BASE}/events", headers=eco | NDJSON, content=events)
        assert r.status_code == 201, r.text
        pool = call("POST", f"{BASE}/pools", headers=eco, json={"name": "Forest"}).json()["id"]
        pledges = {"pledges": [{"member": m, "grams": 500_000} for m in members[:3]]}
        r = call("POST", f"{BASE}/pools/{pool}/pledges", headers=eco, json=pledges)
        assert r.status_code == 201, r.text
        r = call("POST", f"{BASE}/pools/{pool}/retirement", headers=eco, json={})
        assert r.status_code == 201, r.text
        retirement = r.json()["retirement"]["id"]
        r = call(
            "POST",
            f"{BASE}/members/{members[3]}/retirements",
            headers=eco,
            json={"quantity": 1, "paid_with": "money"},
        )
        assert r.status_code == 201, r.text
        member_retirement = r.json()["retirement"]["id"]
        proof = call("GET", f"{BASE}/pools/{pool}/proofs/{members[0]}", headers=eco).json()
        assert call("GET", f"{BASE}/members/{members[0]}", headers=eco).status_code == 200

        # a careless or hostile client sends the raw ids: every request is refused
        for n, raw in enumerate(RAW_IDS):
            line = {
                "event_id": f"raw{n}",
                "member": raw,
                "action": "cycled_km",
                "quantity": 1,
                "occurred_on": "2026-11-02",
            }
            r = call("POST", f"{BASE}/events", headers=eco | NDJSON, content=json.dumps(line))
            assert r.status_code == 422 and r.json()["error"]["code"] == "batch_refused", r.text
            csv = (
                f"event_id,member,action,quantity,occurred_on\nrc{n},{raw},cycled_km,1,2026-11-02\n"
            )
            r = call(
                "POST",
                f"{BASE}/events",
                headers=eco | {"Content-Type": "text/csv"},
                content=csv.encode(),
            )
            assert r.status_code == 422, r.text
            segment = urllib.parse.quote(raw, safe="")
            for method, url, body in (
                ("GET", f"{BASE}/members/{segment}", None),
                ("POST", f"{BASE}/members/{segment}/pledges", {"pool_id": pool, "grams": 1}),
                (
                    "POST",
                    f"{BASE}/members/{segment}/retirements",
                    {"quantity": 1, "paid_with": "money"},
                ),
                ("GET", f"{BASE}/pools/{pool}/proofs/{segment}", None),
                (
                    "POST",
                    f"{BASE}/pools/{pool}/pledges",
                    {"pledges": [{"member": raw, "grams": 1}]},
                ),
                (
                    "POST",
                    f"/v1/points/pools/{pool}/proof-check",
                    {"member": raw, "grams": 1, "salt": proof["salt"]},
                ),
            ):
                r = call(method, url, headers=eco, json=body)
                if url.endswith("/proof-check"):  # anyone may check: the answer is "not valid"
                    assert r.status_code == 200 and r.json()["valid"] is False, r.text
                    continue
                assert r.status_code in (404, 409, 422), (method, url, r.status_code, r.text)
                assert r.status_code != 404 or "members" not in url, r.text

        # what the public sees: the API's answers and the pages
        public = [
            "/v1/points/programmes",
            BASE,
            f"{BASE}/pools",
            f"/v1/points/pools/{pool}",
            f"/v1/retirements/{retirement}",
            f"/v1/retirements/{member_retirement}",
            f"/v1/certificates/{retirement}",
            f"/v1/certificates/{member_retirement}.html",
            f"/verify/{member_retirement}",
        ]
        pages = ["/points", f"/points/{PROGRAMME}", f"/verify/pools/{pool}"]
        public += [lang + page for page in pages for lang in ("", "/en", "/ja")]
        shown = []
        for url in public:
            r = http.get(url)
            assert r.status_code == 200, (url, r.status_code, r.text[:300])
            shown.append(r.text)
        journal = call("GET", "/v1/journal?limit=10000", headers=op)
        assert journal.status_code == 200 and "points.methodology_published" in journal.text

    stored = database_text(db)
    log_file = request_log_file.read_text(encoding="utf-8")
    records = "\n".join(
        f"{r.getMessage()} {r.__dict__}"
        for r in caplog.records
        if not r.name.startswith(("httpx", "httpcore"))  # the test's own client logs its URLs
    )
    places = {
        "the database": stored.decode("utf-8", errors="replace"),
        "the request log file": log_file,
        "a log record": records,
        "a public page or answer": "\n".join(shown),
        "an API answer": "\n".join(answers),
        "the journal": journal.text,
    }
    for raw in RAW_IDS:
        forms = {raw, urllib.parse.quote(raw, safe=""), json.dumps(raw)[1:-1]}
        for where, content in places.items():
            for form in forms:
                assert form not in content, f"{raw!r} ({form!r}) appears in {where}"
        assert raw.encode() not in stored

    # the search finds what is there: the hashes are stored, logged and on the certificate
    assert members[0].encode() in stored
    assert members[3] in places["a public page or answer"]  # the member retirement's beneficiary
    assert f"/members/{members[0]}" in log_file
    assert f"/members/{request_log.REDACTED}" in log_file
    assert f"/proofs/{request_log.REDACTED}" in log_file


def test_a_member_segment_is_logged_only_when_it_is_a_hash() -> None:
    member = "a" * 64
    assert request_log.redact_path(f"/v1/points/PP-X/members/{member}") == (
        f"/v1/points/PP-X/members/{member}"
    )
    assert request_log.redact_path("/v1/points/PP-X/members/taro@example.jp/pledges") == (
        "/v1/points/PP-X/members/(redacted)/pledges"
    )
    assert request_log.redact_path("/v1/points/PP-X/pools/PL-1/proofs/090-1234-5678") == (
        "/v1/points/PP-X/pools/PL-1/proofs/(redacted)"
    )
    assert request_log.redact_path("/v1/accounts/ALPHA-MAIN/holdings") == (
        "/v1/accounts/ALPHA-MAIN/holdings"
    )
    assert request_log.redact_path(f"/v1/points/PP-X/members/{member.upper()}") == (
        "/v1/points/PP-X/members/(redacted)"
    )
