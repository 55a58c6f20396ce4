"""Behaviour-change points programmes (issue 20 §1, §3): methodology, batches of events through
the bulk path, resends, caps, balances, pledges, pooled retirements with Merkle proofs, members'
retirements and issuance from verified points, on both databases."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tanso.domain.errors import Conflict, Forbidden, InvalidInput
from tanso.services.common import SYSTEM, Actor
from tanso.services.ledger import audit, registry
from tanso.services.points import ingest, pools, programmes
from tanso.store.db import Database
from tests.conftest import add_issuance, add_participant
from tests.points_world import METHOD, Days, member


@pytest.fixture
def prog(db: Database) -> dict[str, Any]:
    db.clock = Days("2026-11-30")
    platform = add_participant(db, "ECORIDE")
    programmes.register(
        db,
        SYSTEM,
        programmes.NewProgramme("PP-ECORIDE", "ECORIDE", "EcoRide points", "エコライドポイント"),
    )
    actor = Actor("ECORIDE", platform.roles | {points_role()})
    programmes.publish_methodology(db, actor, "PP-ECORIDE", METHOD)
    return {"db": db, "actor": actor}


def points_role() -> Any:
    from tanso.domain.participants import Role

    return Role.POINTS_PROGRAMME


def lines(*events: tuple[str, int, str, int, str]) -> bytes:
    return "\n".join(
        json.dumps(
            {"event_id": e, "member": member(m), "action": a, "quantity": q, "occurred_on": d}
        )
        for e, m, a, q, d in events
    ).encode()


def test_a_batch_credits_members_and_a_resend_is_never_counted_twice(prog: dict[str, Any]) -> None:
    db, actor = prog["db"], prog["actor"]
    body = lines(
        ("e1", 1, "cycled_km", 10, "2026-11-01"),
        ("e2", 1, "transit_ride", 2, "2026-11-01"),
        ("e3", 2, "cycled_km", 3, "2026-11-02"),
    )
    batch = ingest.ingest(db, actor, "PP-ECORIDE", body)
    assert (batch.events, batch.duplicates, batch.grams) == (3, 0, 1300 + 600 + 390)
    again = ingest.ingest(
        db, actor, "PP-ECORIDE", body + b"\n" + lines(("e4", 2, "cycled_km", 1, "2026-11-03"))
    )
    assert (again.events, again.duplicates, again.grams) == (1, 3, 130)
    m1 = programmes.get_member(db, actor, "PP-ECORIDE", member(1))
    assert (m1.earned_grams, m1.available_grams, m1.events) == (1900, 1900, 2)
    assert [h.event_id for h in m1.history] == ["e2", "e1"] or {h.event_id for h in m1.history} == {
        "e1",
        "e2",
    }
    prog_view = programmes.get_programme(db, "PP-ECORIDE")
    assert (prog_view.events, prog_view.earned_grams, prog_view.members) == (4, 2420, 2)
    assert audit.verify(db).ok


def test_a_batch_with_bad_lines_is_refused_whole_with_every_line_listed(
    prog: dict[str, Any],
) -> None:
    db, actor = prog["db"], prog["actor"]
    body = b"\n".join(
        [
            lines(("ok1", 1, "cycled_km", 1, "2026-11-01")),
            json.dumps(
                {
                    "event_id": "bad1",
                    "member": "taro@example.jp",
                    "action": "cycled_km",
                    "quantity": 1,
                    "occurred_on": "2026-11-01",
                }
            ).encode(),
            lines(("bad2", 1, "flying", 1, "2026-11-01")),
            lines(("bad3", 1, "cycled_km", 1, "2027-01-01")),
            lines(("bad4", 1, "cycled_km", 1, "2026-03-01")),
            b"not json",
        ]
    )
    with pytest.raises(InvalidInput) as refused:
        ingest.ingest(db, actor, "PP-ECORIDE", body)
    assert refused.value.code == "batch_refused"
    details = refused.value.details or []
    assert [(d["line"], d["code"]) for d in details] == [
        (2, "invalid_member"),
        (3, "unknown_action"),
        (4, "future_date"),
        (5, "no_methodology"),
        (6, "invalid_line"),
    ]
    assert "taro@example.jp" not in json.dumps(details) + refused.value.message
    assert programmes.get_programme(db, "PP-ECORIDE").events == 0


def test_csv_batches_and_an_event_id_reused_with_other_content_is_refused(
    prog: dict[str, Any],
) -> None:
    db, actor = prog["db"], prog["actor"]
    csv_body = (
        f"event_id,member,action,quantity,occurred_on\nc1,{member(3)},cycled_km,5,2026-11-10\n"
    ).encode()
    assert ingest.ingest(db, actor, "PP-ECORIDE", csv_body, "csv").grams == 650
    with pytest.raises(InvalidInput) as reused:
        ingest.ingest(db, actor, "PP-ECORIDE", lines(("c1", 3, "cycled_km", 6, "2026-11-10")))
    assert reused.value.details and reused.value.details[0]["code"] == "event_id_reused"


def test_the_daily_cap_clips_what_a_member_earns_for_an_action_in_a_day(
    prog: dict[str, Any],
) -> None:
    db, actor = prog["db"], prog["actor"]
    first = ingest.ingest(
        db, actor, "PP-ECORIDE", lines(("r1", 4, "transit_ride", 3, "2026-11-05"))
    )
    assert (first.grams, first.capped) == (900, 0)
    second = ingest.ingest(
        db,
        actor,
        "PP-ECORIDE",
        lines(
            ("r2", 4, "transit_ride", 3, "2026-11-05"), ("r3", 4, "transit_ride", 1, "2026-11-06")
        ),
    )
    assert (second.grams, second.capped) == (300 + 300, 1)
    assert programmes.get_member(db, actor, "PP-ECORIDE", member(4)).earned_grams == 1500


def test_a_new_methodology_rates_events_from_its_date_and_never_re_rates(
    prog: dict[str, Any],
) -> None:
    db, actor = prog["db"], prog["actor"]
    ingest.ingest(db, actor, "PP-ECORIDE", lines(("m1", 5, "cycled_km", 10, "2026-11-01")))
    v2 = dict(METHOD, effective_from="2026-11-01")
    with pytest.raises(Conflict) as rerate:
        programmes.publish_methodology(db, actor, "PP-ECORIDE", v2)
    assert rerate.value.code == "methodology_would_rerate"
    v2 = json.loads(json.dumps(METHOD))
    v2["effective_from"] = "2026-11-15"
    v2["actions"][1]["grams_per_unit"] = 150
    programmes.publish_methodology(db, actor, "PP-ECORIDE", v2)
    b = ingest.ingest(
        db,
        actor,
        "PP-ECORIDE",
        lines(("m2", 5, "cycled_km", 10, "2026-11-14"), ("m3", 5, "cycled_km", 10, "2026-11-15")),
    )
    assert (b.grams, b.versions) == (1300 + 1500, [1, 2])


def test_a_pool_retires_whole_tonnes_carries_the_fraction_and_proofs_verify(
    prog: dict[str, Any],
) -> None:
    db, actor = prog["db"], prog["actor"]
    add_issuance(db, "ECORIDE-MAIN", 10, vintage=2024, category="FOREST")
    events = [(f"p{n}", n, "cycled_km", 6000, "2026-11-01") for n in range(1, 4)]  # 780,000 g each
    ingest.ingest(db, actor, "PP-ECORIDE", lines(*events))
    pool = pools.open_pool(db, actor, "PP-ECORIDE", "Forest pool 1")
    pools.pledge(
        db,
        actor,
        "PP-ECORIDE",
        pool.id,
        [pools.Pledge(member(1), 700_000), pools.Pledge(member(2), 600_000)],
    )
    pools.pledge(db, actor, "PP-ECORIDE", pool.id, [pools.Pledge(member(1), 50_000)])
    with pytest.raises(Conflict) as short:
        pools.pledge(db, actor, "PP-ECORIDE", pool.id, [pools.Pledge(member(3), 800_000)])
    assert short.value.code == "insufficient_points" and "780,000" in short.value.message
    done = pools.retire_pool(db, actor, "PP-ECORIDE", pool.id)
    assert (done.pool.tonnes, done.pool.carry_out_grams, done.pool.members) == (1, 350_000, 2)
    assert done.retirement.quantity == 1 and done.pool.merkle_root in done.retirement.note
    assert programmes.get_programme(db, "PP-ECORIDE").carry_grams == 350_000
    proof = pools.proof(db, actor, "PP-ECORIDE", pool.id, member(1))
    assert proof.grams == 750_000
    good = pools.check_proof(db, pool.id, _plain(proof))
    assert good.valid, good.message
    for change in ({"grams": 750_001}, {"salt": "0" * 64}, {"member": member(9)}):
        assert not pools.check_proof(db, pool.id, _plain(proof) | change).valid
    tampered = _plain(proof)
    if tampered["path"]:
        tampered["path"][0]["hash"] = "f" * 64
        assert not pools.check_proof(db, pool.id, tampered).valid
    nxt = pools.open_pool(db, actor, "PP-ECORIDE", "Forest pool 2")
    pools.pledge(db, actor, "PP-ECORIDE", nxt.id, [pools.Pledge(member(3), 650_000)])
    second = pools.retire_pool(db, actor, "PP-ECORIDE", nxt.id)
    assert (second.pool.carry_in_grams, second.pool.tonnes, second.pool.carry_out_grams) == (
        350_000,
        1,
        0,
    )
    m1 = programmes.get_member(db, actor, "PP-ECORIDE", member(1))
    assert (m1.pledged_grams, m1.available_grams) == (750_000, 30_000)
    assert audit.verify(db).ok


def test_a_pool_below_a_tonne_is_refused_with_the_numbers(prog: dict[str, Any]) -> None:
    db, actor = prog["db"], prog["actor"]
    ingest.ingest(db, actor, "PP-ECORIDE", lines(("s1", 1, "cycled_km", 100, "2026-11-01")))
    pool = pools.open_pool(db, actor, "PP-ECORIDE", "Small")
    pools.pledge(db, actor, "PP-ECORIDE", pool.id, [pools.Pledge(member(1), 13_000)])
    with pytest.raises(Conflict) as small:
        pools.retire_pool(db, actor, "PP-ECORIDE", pool.id)
    assert small.value.code == "pool_below_a_tonne" and "987,000" in small.value.message


def test_a_member_retirement_names_only_the_hash_and_spends_points(prog: dict[str, Any]) -> None:
    db, actor = prog["db"], prog["actor"]
    add_issuance(db, "ECORIDE-MAIN", 5, vintage=2024)
    ingest.ingest(db, actor, "PP-ECORIDE", lines(("t1", 7, "cycled_km", 8000, "2026-11-01")))
    done = pools.retire_for_member(db, actor, "PP-ECORIDE", member(7), 1, "points")
    assert member(7) in done.retirement.beneficiary and done.grams == 1_000_000
    public = registry.get_retirement(db, done.retirement.id)
    assert public.beneficiary == done.retirement.beneficiary
    m = programmes.get_member(db, actor, "PP-ECORIDE", member(7))
    assert (m.spent_grams, m.available_grams) == (1_000_000, 40_000)
    with pytest.raises(Conflict):
        pools.retire_for_member(db, actor, "PP-ECORIDE", member(7), 1, "points")
    assert pools.retire_for_member(db, actor, "PP-ECORIDE", member(7), 1, "money").grams == 0


def test_issuance_needs_verified_points_and_a_methodology_that_settles_double_counting(
    prog: dict[str, Any],
) -> None:
    db, actor = prog["db"], prog["actor"]
    verifier = add_participant(db, "KENSHO", ["verification_body"])
    project = add_issuance(db, "ECORIDE-MAIN", 1, vintage=2025)
    from tanso.store import schema_points as p

    with db.write() as tx:  # the operator links the programme to its project
        tx.conn.execute(
            p.points_programmes.update().values(
                project_id=registry.get_issuance(db, project).project_id
            )
        )
        tx.record("test.linked", "SYSTEM", {})
    b = ingest.ingest(
        db,
        actor,
        "PP-ECORIDE",
        lines(*[(f"v{n}", n, "cycled_km", 10_000, "2026-11-01") for n in range(1, 4)]),
    )
    with pytest.raises(Conflict) as unverified:
        pools.issue(db, SYSTEM, "PP-ECORIDE", 1)
    assert unverified.value.code == "not_enough_verified"
    with pytest.raises(Forbidden):
        ingest.verify_batch(db, actor, "PP-ECORIDE", b.id, ingest.Verification("verified"))
    ingest.verify_batch(db, verifier, "PP-ECORIDE", b.id, ingest.Verification("verified"))
    with pytest.raises(Conflict) as unsettled:
        pools.issue(db, SYSTEM, "PP-ECORIDE", 3)
    assert unsettled.value.code == "double_counting_not_settled"
    assert "municipal_inventory" in unsettled.value.message
    certified = json.loads(json.dumps(METHOD))
    certified["effective_from"] = "2026-11-20"
    certified["certification"] = "J-Credit methodology EN-S-042 (illustrative)"
    certified["double_counting"] = {
        "overlaps": ["utility_scope2"],
        "settled": True,
        "treatment": "The utility's emission factor excludes the saved kWh.",
    }
    programmes.publish_methodology(db, actor, "PP-ECORIDE", certified)
    b2 = ingest.ingest(
        db,
        actor,
        "PP-ECORIDE",
        lines(*[(f"w{n}", n, "cycled_km", 5_000, "2026-11-21") for n in range(1, 4)]),
    )
    ingest.verify_batch(db, verifier, "PP-ECORIDE", b2.id, ingest.Verification("verified"))
    done = pools.issue(db, SYSTEM, "PP-ECORIDE", 1)
    assert done.evidence[0]["batch"] == b2.id and done.issuance.account_id == "ECORIDE-MAIN"
    with pytest.raises(Conflict) as more:
        pools.issue(db, SYSTEM, "PP-ECORIDE", 1)
    assert more.value.code == "double_counting_not_settled" and "950,000 g" in more.value.message
    with pytest.raises(Conflict):
        ingest.verify_batch(db, verifier, "PP-ECORIDE", b2.id, ingest.Verification("verified"))
    assert audit.verify(db).ok


def _plain(proof: pools.Proof) -> dict[str, Any]:
    from tanso.services.common import plain

    out: dict[str, Any] = plain(proof)
    return out


def test_the_audit_finds_an_event_or_a_balance_changed_after_the_fact(
    prog: dict[str, Any],
) -> None:
    from sqlalchemy import update

    from tanso.store import schema_points as p

    db, actor = prog["db"], prog["actor"]
    ingest.ingest(
        db,
        actor,
        "PP-ECORIDE",
        lines(("a1", 1, "cycled_km", 10, "2026-11-01"), ("a2", 2, "cycled_km", 5, "2026-11-02")),
    )
    assert audit.verify(db).ok
    e, b = p.points_events.c, p.points_balances.c
    with db.engine.begin() as conn:  # someone edits the table behind the service's back
        conn.execute(update(p.points_events).where(e.event_id == "a1").values(grams=9_999))
    found = audit.verify(db).problems
    assert any("points batch" in x and "the journal gives 2, 1950 g" in x for x in found), found
    assert any("points balance" in x and "its events give 9999 g" in x for x in found), found
    with db.engine.begin() as conn:
        conn.execute(update(p.points_events).where(e.event_id == "a1").values(grams=1300))
        conn.execute(update(p.points_balances).where(b.member == member(2)).values(earned_grams=7))
    found = audit.verify(db).problems
    assert [x for x in found if "points" in x] == [
        f"points balance PP-ECORIDE {member(2)[:12]}…: earned 7 g stored, its events give 650 g"
    ]


def test_a_batch_writes_its_events_without_holding_other_writers_on_postgres(
    pg_db: Database,
) -> None:
    """The head is taken only after the bulk writes (`Database.write(head_later=True)`): while
    a batch's transaction has written its events, another participant's change commits."""
    import threading

    from tests.conftest import fund

    add_participant(pg_db, "OTHER")
    done: list[str] = []
    with pg_db.write(head_later=True) as tx:
        tx.conn.exec_driver_sql("SELECT 1")  # the batch's bulk part, holding no journal head
        other = threading.Thread(target=lambda: (fund(pg_db, "OTHER", 1), done.append("ok")))
        other.start()
        other.join(timeout=60)
        assert done == ["ok"]  # committed while the batch's transaction is still open
        tx.lock_head()
        tx.record("test.batch", "SYSTEM", {})
    assert audit.verify(pg_db).ok
