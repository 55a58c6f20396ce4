"""Behaviour-change points over REST (issue 20 §1, §3), with real API keys: the operator
registers a programme; the programme publishes its methodology, sends batches of events as JSON
lines and as CSV (a refused batch lists every bad line, a resend counts nothing twice), reads a
member, opens a pool, takes pledges and retires the pool; a member checks its proof publicly; a
member retires a tonne with its points; a verification body verifies a batch; issuance is
refused under a methodology that does not settle double counting. Then who may do what: another
participant's programme data answers 404, missing scopes 403, no key 401, and a body over
TANSO_MAX_BATCH_BYTES 413; 100,000 events go in one request."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tanso.api.app import create_app
from tanso.domain import points
from tanso.services.common import SYSTEM
from tanso.services.ledger import audit, participants, registry
from tanso.store.db import Database
from tests.conftest import add_issuance, add_participant
from tests.points_world import METHOD, Days, member

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

PROGRAMME = "PP-ECORIDE"
BASE = f"/v1/points/{PROGRAMME}"

NDJSON = {"Content-Type": "application/x-ndjson"}
CSV = {"Content-Type": "text/csv"}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def refused(r: Any, status: int, code: str) -> dict[str, Any]:
    """The refusal's error body, after checking its status and machine-readable code."""
    assert r.status_code == status, r.text
    error: dict[str, Any] = r.json()["error"]
    assert error["code"] == code, error
    assert len(error["message"]) > 10, error
    return error


def jsonl(*events: tuple[str, int, str, int, str]) -> bytes:
    return "\n".join(
        json.dumps(
            {"event_id": e, "member": member(m), "action": a, "quantity": q, "occurred_on": d}
        )
        for e, m, a, q, d in events
    ).encode()


def csv_body(*events: tuple[str, int, str, int, str]) -> bytes:
    rows = [",".join(points.FIELDS)]
    rows += [f"{e},{member(m)},{a},{q},{d}" for e, m, a, q, d in events]
    return ("\n".join(rows) + "\n").encode()


def world(db: Database) -> dict[str, Any]:
    """ECORIDE (to run the programme, with a forest project's credits in its account), OTHER
    (a trader), KENSHO (a verification body) and the operator, each with a key."""
    db.clock = Days("2026-11-30")
    add_participant(db, "ECORIDE")
    add_participant(db, "OTHER")
    add_participant(db, "KENSHO", ["verification_body"])
    issuance = add_issuance(db, "ECORIDE-MAIN", 10, vintage=2024, category="FOREST")
    key = participants.create_api_key
    return {
        "project_id": registry.get_issuance(db, issuance).project_id,
        "OP": bearer(key(db, SYSTEM, participants.OPERATOR_PARTICIPANT, "op").key),
        "OTHER": bearer(key(db, SYSTEM, "OTHER", "other").key),
        "KENSHO": bearer(key(db, SYSTEM, "KENSHO", "v", scopes=["read", "verify"]).key),
    }


@pytest.fixture
def api(db: Database) -> Iterator[dict[str, Any]]:
    """The world above over HTTP, with PP-ECORIDE registered and its methodology published."""
    w = world(db)
    with TestClient(create_app(db)) as http:
        r = http.post(
            "/v1/points/programmes",
            headers=w["OP"],
            json={
                "id": PROGRAMME,
                "participant_id": "ECORIDE",
                "name_en": "EcoRide points",
                "name_ja": "エコライドポイント",
                "project_id": w["project_id"],
            },
        )
        assert r.status_code == 201, r.text
        assert (r.json()["participant_id"], r.json()["status"]) == ("ECORIDE", "active")
        # a key made after registration holds the points scope its new role allows
        w["ECO"] = bearer(participants.create_api_key(db, SYSTEM, "ECORIDE", "eco").key)
        r = http.post(f"{BASE}/methodologies", headers=w["ECO"], json=METHOD)
        assert r.status_code == 201, r.text
        assert (r.json()["version"], r.json()["effective_from"]) == (1, "2026-04-01")
        yield w | {"db": db, "http": http}


def test_a_whole_programme_over_rest(api: dict[str, Any]) -> None:
    http, eco = api["http"], api["ECO"]
    # earning: JSON lines and CSV
    r = http.post(
        f"{BASE}/events",
        headers=eco | NDJSON,
        content=jsonl(
            ("e1", 1, "cycled_km", 6000, "2026-11-01"),  # 780,000 g
            ("e2", 2, "cycled_km", 6000, "2026-11-01"),
            ("e3", 3, "transit_ride", 2, "2026-11-02"),  # 600 g
        ),
    )
    assert r.status_code == 201, r.text
    first = r.json()
    assert (first["events"], first["duplicates"], first["grams"]) == (3, 0, 1_560_600)
    assert first["verification"] == "pending" and len(first["content_hash"]) == 64
    r = http.post(
        f"{BASE}/events",
        headers=eco | CSV,
        content=csv_body(
            ("c1", 3, "cycled_km", 8000, "2026-11-03"), ("c2", 4, "cycled_km", 1, "2026-11-03")
        ),
    )
    assert r.status_code == 201, r.text
    assert (r.json()["events"], r.json()["grams"]) == (2, 1_040_130)

    # a batch with bad lines is refused whole, every line listed; nothing counted
    bad = b"\n".join(
        [
            jsonl(("ok1", 1, "cycled_km", 1, "2026-11-04")),
            jsonl(("bad1", 1, "flying", 1, "2026-11-04")),
            jsonl(("bad2", 1, "cycled_km", 1, "2027-01-01")),
            b"not json",
        ]
    )
    error = refused(
        http.post(f"{BASE}/events", headers=eco | NDJSON, content=bad), 422, "batch_refused"
    )
    assert [(d["line"], d["code"]) for d in error["details"]] == [
        (2, "unknown_action"),
        (3, "future_date"),
        (4, "invalid_line"),
    ]
    # a resend of the first batch and one new event: only the new one counts
    r = http.post(
        f"{BASE}/events",
        headers=eco | NDJSON,
        content=jsonl(
            ("e1", 1, "cycled_km", 6000, "2026-11-01"),
            ("e2", 2, "cycled_km", 6000, "2026-11-01"),
            ("e3", 3, "transit_ride", 2, "2026-11-02"),
            ("e4", 1, "cycled_km", 100, "2026-11-05"),
        ),
    )
    assert r.status_code == 201, r.text
    assert (r.json()["events"], r.json()["duplicates"], r.json()["grams"]) == (1, 3, 13_000)

    # the member as the programme sees it
    m1 = http.get(f"{BASE}/members/{member(1)}", headers=eco).json()
    assert (m1["earned_grams"], m1["available_grams"], m1["events"]) == (793_000, 793_000, 2)
    assert {h["event_id"] for h in m1["history"]} == {"e1", "e4"}
    batches = http.get(f"{BASE}/batches", headers=eco).json()
    assert [b["events"] for b in batches] == [1, 2, 3]
    one = http.get(f"{BASE}/batches/{first['id']}", headers=eco).json()
    assert one["content_hash"] == first["content_hash"]
    public = http.get(BASE).json()  # public: names, methodology and totals
    assert (public["events"], public["members"], public["earned_grams"]) == (6, 4, 2_613_730)
    assert public["methodologies"][0]["actions"][0]["code"] == "transit_ride"
    assert [p["id"] for p in http.get("/v1/points/programmes").json()] == [PROGRAMME]

    # a pool: pledges in bulk and one member's own, retired as whole tonnes
    r = http.post(f"{BASE}/pools", headers=eco, json={"name": "Forest pool 1"})
    assert r.status_code == 201, r.text
    pool = r.json()["id"]
    r = http.post(
        f"{BASE}/pools/{pool}/pledges",
        headers=eco,
        json={
            "pledges": [
                {"member": member(1), "grams": 700_000},
                {"member": member(2), "grams": 600_000},
            ]
        },
    )
    assert r.status_code == 201, r.text
    r = http.post(
        f"{BASE}/members/{member(1)}/pledges", headers=eco, json={"pool_id": pool, "grams": 50_000}
    )
    assert r.status_code == 201, r.text
    short = refused(
        http.post(
            f"{BASE}/members/{member(2)}/pledges",
            headers=eco,
            json={"pool_id": pool, "grams": 500_000},
        ),
        409,
        "insufficient_points",
    )
    assert "180,000" in short["message"]
    r = http.post(f"{BASE}/pools/{pool}/retirement", headers=eco, json={})
    assert r.status_code == 201, r.text
    done = r.json()
    assert (done["pool"]["tonnes"], done["pool"]["carry_out_grams"]) == (1, 350_000)
    assert done["pool"]["merkle_root"] in done["retirement"]["note"]
    seen = http.get(f"/v1/points/pools/{pool}").json()  # public, never its members
    assert seen["merkle_root"] == done["pool"]["merkle_root"] and member(1) not in json.dumps(seen)
    assert [p["id"] for p in http.get(f"{BASE}/pools").json()] == [pool]

    # the member's proof, checked by anyone; an altered share fails
    proof = http.get(f"{BASE}/pools/{pool}/proofs/{member(1)}", headers=eco).json()
    assert proof["grams"] == 750_000
    fields = ("pool_id", "member", "grams", "salt", "path", "merkle_root", "tonnes", "leaves")
    check = {k: proof[k] for k in fields if k in proof}
    good = http.post(f"/v1/points/pools/{pool}/proof-check", json=check)
    assert good.status_code == 200 and good.json()["valid"], good.text
    bad_check = http.post(
        f"/v1/points/pools/{pool}/proof-check", json=check | {"grams": 750_001}
    ).json()
    assert not bad_check["valid"]

    # a member retires a tonne with its points: the beneficiary is its hash, nothing more
    r = http.post(
        f"{BASE}/members/{member(3)}/retirements",
        headers=eco,
        json={"quantity": 1, "paid_with": "points"},
    )
    assert r.status_code == 201, r.text
    retired = r.json()
    assert member(3) in retired["retirement"]["beneficiary"] and retired["grams"] == 1_000_000
    m3 = http.get(f"{BASE}/members/{member(3)}", headers=eco).json()
    assert (m3["spent_grams"], m3["available_grams"]) == (1_000_000, 40_600)

    # a verification body verifies a batch (the programme may not); the operator cannot issue
    # under a methodology that leaves double counting unsettled
    r = http.post(
        f"{BASE}/batches/{first['id']}/verification", headers=eco, json={"decision": "verified"}
    )
    assert r.status_code == 403, r.text
    r = http.post(
        f"{BASE}/batches/{first['id']}/verification",
        headers=api["KENSHO"],
        json={"decision": "verified"},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["verification"], r.json()["verified_by"]) == ("verified", "KENSHO")
    pending = http.get(f"{BASE}/batches?verification=pending", headers=api["KENSHO"]).json()
    assert len(pending) == 2
    unsettled = refused(
        http.post(f"{BASE}/issuances", headers=api["OP"], json={"tonnes": 1}),
        409,
        "double_counting_not_settled",
    )
    assert "municipal_inventory" in unsettled["message"]
    assert audit.verify(api["db"]).ok


def test_another_participants_programme_data_answers_like_a_missing_one(
    api: dict[str, Any],
) -> None:
    http, eco, other = api["http"], api["ECO"], api["OTHER"]
    r = http.post(
        f"{BASE}/events",
        headers=eco | NDJSON,
        content=jsonl(("e1", 1, "cycled_km", 10, "2026-11-01")),
    )
    batch = r.json()["id"]
    pool = http.post(f"{BASE}/pools", headers=eco, json={"name": "P"}).json()["id"]
    for path in (
        f"{BASE}/members/{member(1)}",
        f"{BASE}/batches",
        f"{BASE}/batches/{batch}",
        f"{BASE}/pools/{pool}/proofs/{member(1)}",
    ):
        refused(http.get(path, headers=other), 404, "programme_not_found")
    # OTHER holds no points scope: refused before anything is looked up
    for path, body in (
        (f"{BASE}/pools", {"name": "mine"}),
        (f"{BASE}/methodologies", METHOD),
        (f"{BASE}/members/{member(1)}/pledges", {"pool_id": pool, "grams": 1}),
    ):
        refused(http.post(path, headers=other, json=body), 403, "scope_missing")
    # public: the programme, its pools and a pool
    assert http.get(BASE).status_code == 200
    assert http.get(f"{BASE}/pools").status_code == 200
    assert http.get(f"/v1/points/pools/{pool}").status_code == 200


def test_keys_without_the_scope_or_no_key_are_refused(api: dict[str, Any]) -> None:
    http, db = api["http"], api["db"]
    read_only = bearer(participants.create_api_key(db, SYSTEM, "ECORIDE", "r", scopes=["read"]).key)
    events = jsonl(("e1", 1, "cycled_km", 10, "2026-11-01"))
    refused(
        http.post(f"{BASE}/events", headers=read_only | NDJSON, content=events),
        403,
        "scope_missing",
    )
    refused(http.post(f"{BASE}/events", headers=NDJSON, content=events), 401, "missing_api_key")
    refused(http.get(f"{BASE}/members/{member(1)}"), 401, "missing_api_key")
    # the read key reads; the programme's key makes no programme (operate)
    assert http.get(f"{BASE}/batches", headers=read_only).status_code == 200
    new = {"id": "PP-MINE", "participant_id": "ECORIDE", "name_en": "M", "name_ja": "M"}
    refused(http.post("/v1/points/programmes", headers=api["ECO"], json=new), 403, "scope_missing")
    refused(
        http.post(f"{BASE}/issuances", headers=api["ECO"], json={"tonnes": 1}), 403, "scope_missing"
    )
    # a verification key verifies but sends no events
    refused(
        http.post(f"{BASE}/events", headers=api["KENSHO"] | NDJSON, content=events),
        403,
        "scope_missing",
    )


def test_a_batch_over_the_byte_limit_is_refused_before_it_is_read(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TANSO_MAX_BATCH_BYTES", "4000")
    w = world(db)
    with TestClient(create_app(db)) as http:
        http.post(
            "/v1/points/programmes",
            headers=w["OP"],
            json={"id": PROGRAMME, "participant_id": "ECORIDE", "name_en": "E", "name_ja": "E"},
        ).raise_for_status()
        eco = bearer(participants.create_api_key(db, SYSTEM, "ECORIDE", "eco").key)
        http.post(f"{BASE}/methodologies", headers=eco, json=METHOD).raise_for_status()
        small = jsonl(*[(f"s{n}", n, "cycled_km", 1, "2026-11-01") for n in range(10)])
        assert len(small) < 4000
        assert http.post(f"{BASE}/events", headers=eco | NDJSON, content=small).status_code == 201
        big = jsonl(*[(f"b{n}", n, "cycled_km", 1, "2026-11-01") for n in range(40)])
        assert len(big) > 4000
        error = refused(
            http.post(f"{BASE}/events", headers=eco | NDJSON, content=big), 413, "body_too_large"
        )
        assert "at most 4,000 bytes" in error["message"]
        assert http.get(BASE).json()["events"] == 10  # nothing of the refused batch


@pytest.mark.full
@pytest.mark.single_process(
    "a gateway forwards a body to the engine through NATS, whose max payload (1 MB) is far "
    "below a batch of 100,000 events (about 16 MB): refused there (504 engine_timeout)"
)
def test_a_hundred_thousand_events_go_in_one_request(api: dict[str, Any]) -> None:
    http, eco = api["http"], api["ECO"]
    lines = [
        json.dumps(
            {
                "event_id": f"big-{n}",
                "member": member(n % 5_000),
                "action": "cycled_km",
                "quantity": 1 + n % 7,
                "occurred_on": f"2026-11-{1 + n % 28:02d}",
            }
        )
        for n in range(100_000)
    ]
    body = "\n".join(lines).encode()
    started = time.perf_counter()
    r = http.post(f"{BASE}/events", headers=eco | NDJSON, content=body)
    elapsed = time.perf_counter() - started
    assert r.status_code == 201, r.text[:2000]
    expected = sum(130 * (1 + n % 7) for n in range(100_000))
    assert (r.json()["events"], r.json()["grams"], r.json()["lines"]) == (
        100_000,
        expected,
        100_000,
    )
    assert http.get(BASE).json()["members"] == 5_000
    print(f"100,000 events in one request: {elapsed:.2f} s")
