"""Registry and cash operations against SQLite and PostgreSQL: what moves, what is refused.

Every refusal is checked to leave the journal and every balance exactly as they were, and every
scenario ends with ``audit.verify`` rebuilding the same balances from the journal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from tanso.domain.errors import TansoError
from tanso.domain.participants import Role
from tanso.services.common import SYSTEM, Actor, Idem
from tanso.services.ledger import audit, cash, participants, registry
from tanso.store import schema as t
from tanso.store.db import Database
from tests.conftest import add_issuance, add_participant, fund

Sel = registry.Selection


# ---------------------------------------------------------------- helpers


def journal_length(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(t.journal)).scalar_one())


def last_entry(db: Database) -> Any:
    with db.read() as conn:
        return conn.execute(select(t.journal).order_by(t.journal.c.seq.desc()).limit(1)).first()


def blocks(db: Database, account: str | None = None) -> list[tuple[Any, ...]]:
    b = t.blocks.c
    q = select(b.issuance_id, b.serial_start, b.serial_end, b.account_id, b.status, b.reservation)
    if account is not None:
        q = q.where(b.account_id == account)
    with db.read() as conn:
        return [tuple(r) for r in conn.execute(q.order_by(b.issuance_id, b.serial_start))]


def ranges(db: Database, account: str, status: str = "held") -> list[tuple[str, int, int]]:
    return [(i, s, e) for i, s, e, _, st, _ in blocks(db, account) if st == status]


def quantity(db: Database, account: str, status: str = "held") -> int:
    return sum(e - s + 1 for _, s, e in ranges(db, account, status))


def cash_rows(db: Database) -> list[tuple[str, int, int]]:
    c = t.cash_accounts.c
    with db.read() as conn:
        return [tuple(r) for r in conn.execute(select(c.id, c.balance, c.reserved).order_by(c.id))]


def cash_of(db: Database, pid: str, currency: str = "JPY") -> tuple[int, int]:
    """(balance, reserved) of a participant's cash account."""
    for cid, bal, res in cash_rows(db):
        if cid == f"CASH-{pid}-{currency}":
            return bal, res
    raise AssertionError(f"no cash account for {pid} in {currency}")


def state(db: Database) -> tuple[Any, ...]:
    return journal_length(db), blocks(db), cash_rows(db)


def refused(db: Database, code: str, call: Callable[[], object]) -> TansoError:
    """Assert the call is refused with ``code`` and changes nothing at all."""
    before = state(db)
    with pytest.raises(TansoError) as e:
        call()
    assert e.value.code == code, e.value.message
    assert state(db) == before
    return e.value


def consistent(db: Database) -> None:
    """The journal verifies and rebuilds the stored balances; blocks partition each issuance."""
    report = audit.verify(db)
    assert report.ok, report.problems
    with db.read() as conn:
        issued = {r.id: r.quantity for r in conn.execute(select(t.issuances))}
    by_issuance: dict[str, list[tuple[int, int]]] = {}
    for iss, s, e, *_ in blocks(db):
        by_issuance.setdefault(iss, []).append((s, e))
    assert set(by_issuance) == set(issued)
    for iss, rs in by_issuance.items():
        rs.sort()
        cursor = 1
        for s, e in rs:
            assert s == cursor, (iss, rs)
            cursor = e + 1
        assert cursor == issued[iss] + 1, (iss, rs)


def serials(iss: str, start: int, end: int) -> Sel:
    return Sel(serial_start=f"{iss}-{start}", serial_end=f"{iss}-{end}")


@pytest.fixture
def two(db: Database) -> tuple[Actor, Actor, str]:
    """ALPHA holding 1,000 credits of one issuance, and BETA holding none."""
    alpha = add_participant(db, "ALPHA")
    beta = add_participant(db, "BETA")
    iss = add_issuance(db, "ALPHA-MAIN", 1_000)
    return alpha, beta, iss


# ---------------------------------------------------------------- issuance


def test_issue_puts_the_whole_quantity_in_one_held_block_and_journals_it(db: Database) -> None:
    add_participant(db, "ALPHA")
    project = _project(db)
    n = journal_length(db)
    out = registry.issue(
        db, SYSTEM, registry.NewIssuance(project, "ER", "1", 2023, 500, "ALPHA-MAIN")
    )
    iss = out.issuance_id
    assert out.serials == f"{iss}-1-500"
    assert blocks(db) == [(iss, 1, 500, "ALPHA-MAIN", "held", None)]
    assert journal_length(db) == n + 1
    entry = last_entry(db)
    assert entry.kind == "credits.issued"
    assert '"issue":[["' + iss + '",1,500,"ALPHA-MAIN","held"]]' in entry.payload
    consistent(db)


def _project(db: Database) -> str:
    from tanso.services.ledger import taxonomy

    pid = f"Q{journal_length(db):04d}"
    taxonomy.register_project(
        db, SYSTEM, taxonomy.NewProject(pid, "JC", f"Project {pid}", "ENERGY_SAVING", "JP")
    )
    return pid


def test_a_project_registered_again_with_its_key_answers_the_same_project(db: Database) -> None:
    from tanso.services.ledger import taxonomy

    new = taxonomy.NewProject("PIDEM", "JC", "Project PIDEM", "ENERGY_SAVING", "JP")
    idem = Idem("project-key", "project-fingerprint")
    first = taxonomy.register_project(db, SYSTEM, new, idem)
    length = journal_length(db)
    again = taxonomy.register_project(db, SYSTEM, new, idem)
    assert isinstance(again, taxonomy.Project) and again == first
    assert again == taxonomy.get_project(db, "PIDEM") and journal_length(db) == length
    assert '"project":{"category":"ENERGY_SAVING"' in last_entry(db).payload


def test_issuing_the_same_round_twice_is_refused(db: Database) -> None:
    add_participant(db, "ALPHA")
    project = _project(db)
    n = registry.NewIssuance(project, "ER", "1", 2023, 10, "ALPHA-MAIN")
    registry.issue(db, SYSTEM, n)
    refused(db, "issuance_exists", lambda: registry.issue(db, SYSTEM, n))
    consistent(db)


def test_only_the_registry_operator_may_issue(db: Database) -> None:
    alpha = add_participant(db, "ALPHA")
    project = _project(db)
    n = registry.NewIssuance(project, "ER", "1", 2023, 10, "ALPHA-MAIN")
    refused(db, "role_required", lambda: registry.issue(db, alpha, n))


def test_issuing_into_a_pending_participants_account_is_refused(db: Database) -> None:
    add_participant(db, "NEWCO", active=False)
    project = _project(db)
    n = registry.NewIssuance(project, "ER", "1", 2023, 10, "NEWCO-MAIN")
    refused(db, "participant_not_active", lambda: registry.issue(db, SYSTEM, n))


def test_issuing_into_a_system_account_is_refused(db: Database) -> None:
    project = _project(db)
    n = registry.NewIssuance(project, "ER", "1", 2023, 10, "SYS-RETIREMENT")
    refused(db, "account_not_found", lambda: registry.issue(db, SYSTEM, n))


# ---------------------------------------------------------------- transfers by quantity


def test_transfer_by_quantity_takes_the_oldest_vintage_first_and_splits_the_last_block(
    db: Database,
) -> None:
    alpha = add_participant(db, "ALPHA")
    add_participant(db, "BETA")
    newest = add_issuance(db, "ALPHA-MAIN", 100, vintage=2024)
    oldest = add_issuance(db, "ALPHA-MAIN", 50, vintage=2020)
    middle = add_issuance(db, "ALPHA-MAIN", 30, vintage=2022)
    out = registry.transfer(db, alpha, "ALPHA-MAIN", "BETA-MAIN", Sel(60))
    assert out.quantity == 60
    assert [(r.serials, r.vintage) for r in out.ranges] == [
        (f"{oldest}-1-50", 2020),
        (f"{middle}-1-10", 2022),
    ]
    assert sorted(ranges(db, "BETA-MAIN")) == sorted([(oldest, 1, 50), (middle, 1, 10)])
    assert sorted(ranges(db, "ALPHA-MAIN")) == sorted([(newest, 1, 100), (middle, 11, 30)])
    consistent(db)


def test_transfer_of_more_than_is_held_is_refused(db: Database, two: tuple) -> None:
    alpha, _, _ = two
    e = refused(
        db,
        "insufficient_credits",
        lambda: registry.transfer(db, alpha, "ALPHA-MAIN", "BETA-MAIN", Sel(1_001)),
    )
    assert "1,000 eligible" in e.message
    consistent(db)


@pytest.mark.parametrize("q", [0, -1])
def test_transfer_of_a_non_positive_quantity_is_refused(db: Database, two: tuple, q: int) -> None:
    alpha, _, _ = two
    refused(
        db,
        "invalid_quantity",
        lambda: registry.transfer(db, alpha, "ALPHA-MAIN", "BETA-MAIN", Sel(q)),
    )


def test_transfer_to_the_same_account_is_refused(db: Database, two: tuple) -> None:
    alpha, _, _ = two
    refused(
        db, "same_account", lambda: registry.transfer(db, alpha, "ALPHA-MAIN", "ALPHA-MAIN", Sel(1))
    )


@pytest.mark.parametrize("dest", ["NOBODY-MAIN", "SYS-RETIREMENT", "SYS-ESCROW"])
def test_transfer_to_a_missing_or_system_account_is_refused(
    db: Database, two: tuple, dest: str
) -> None:
    alpha, _, _ = two
    refused(
        db, "account_not_found", lambda: registry.transfer(db, alpha, "ALPHA-MAIN", dest, Sel(1))
    )


def test_transfer_from_someone_elses_account_answers_as_if_it_did_not_exist(
    db: Database, two: tuple
) -> None:
    _, beta, _ = two
    e = refused(
        db,
        "account_not_found",
        lambda: registry.transfer(db, beta, "ALPHA-MAIN", "BETA-MAIN", Sel(1)),
    )
    missing = refused(
        db,
        "account_not_found",
        lambda: registry.transfer(db, beta, "GHOST-MAIN", "BETA-MAIN", Sel(1)),
    )
    assert type(e) is type(missing)
    assert quantity(db, "ALPHA-MAIN") == 1_000


# ---------------------------------------------------------------- transfers by serial range


def test_transfer_by_serial_start_and_end_moves_exactly_that_range(
    db: Database, two: tuple
) -> None:
    alpha, _, iss = two
    out = registry.transfer(
        db,
        alpha,
        "ALPHA-MAIN",
        "BETA-MAIN",
        Sel(serial_start=f"{iss}-101", serial_end=f"{iss}-150"),
    )
    assert out.quantity == 50
    assert ranges(db, "BETA-MAIN") == [(iss, 101, 150)]
    assert ranges(db, "ALPHA-MAIN") == [(iss, 1, 100), (iss, 151, 1_000)]
    consistent(db)


def test_transfer_by_serials_block_form_moves_exactly_that_range(db: Database, two: tuple) -> None:
    alpha, _, iss = two
    registry.transfer(db, alpha, "ALPHA-MAIN", "BETA-MAIN", Sel(serials=f"{iss}-991-1000"))
    assert ranges(db, "BETA-MAIN") == [(iss, 991, 1_000)]
    assert ranges(db, "ALPHA-MAIN") == [(iss, 1, 990)]
    consistent(db)


def test_transfer_by_a_range_with_an_agreeing_quantity_is_accepted(
    db: Database, two: tuple
) -> None:
    alpha, _, iss = two
    registry.transfer(db, alpha, "ALPHA-MAIN", "BETA-MAIN", Sel(10, serials=f"{iss}-1-10"))
    assert ranges(db, "BETA-MAIN") == [(iss, 1, 10)]


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda iss: Sel(5, serials=f"{iss}-1-10"), "quantity_mismatch"),
        (lambda iss: Sel(serials=f"{iss}-1-10", serial_start=f"{iss}-1"), "ambiguous_serials"),
        (lambda iss: Sel(serial_start=f"{iss}-1"), "incomplete_range"),
        (lambda iss: Sel(), "nothing_selected"),
        (lambda iss: Sel(serials=f"{iss}-10-1"), "invalid_serial_range"),
        (lambda iss: Sel(serials=f"{iss}-１-10"), "invalid_serial"),
        (
            lambda iss: Sel(serial_start=f"{iss}-1", serial_end="JC-ER-Z9-1-5"),
            "serials_span_issuances",
        ),
    ],
    ids=["mismatch", "ambiguous", "incomplete", "nothing", "reversed", "fullwidth", "span"],
)
def test_a_malformed_selection_is_refused(
    db: Database, two: tuple, make: Callable[[str], Sel], code: str
) -> None:
    alpha, _, iss = two
    refused(db, code, lambda: registry.transfer(db, alpha, "ALPHA-MAIN", "BETA-MAIN", make(iss)))


def test_transfer_by_serial_rejects_a_range_partly_held_elsewhere(db: Database, two: tuple) -> None:
    alpha, _, iss = two
    registry.transfer(db, alpha, "ALPHA-MAIN", "BETA-MAIN", serials(iss, 101, 150))
    refused(
        db,
        "serials_not_available",
        lambda: registry.transfer(db, alpha, "ALPHA-MAIN", "BETA-MAIN", serials(iss, 90, 110)),
    )
    consistent(db)


def test_transfer_by_serial_rejects_a_range_beyond_the_issuance(db: Database, two: tuple) -> None:
    alpha, _, iss = two
    refused(
        db,
        "serials_not_available",
        lambda: registry.transfer(db, alpha, "ALPHA-MAIN", "BETA-MAIN", serials(iss, 990, 1_001)),
    )


def test_transfer_by_serial_rejects_reserved_credits(db: Database, two: tuple) -> None:
    alpha, _, iss = two
    registry.reserve(db, alpha, "ALPHA-MAIN", serials(iss, 1, 100), "ORD-1")
    refused(
        db,
        "serials_not_available",
        lambda: registry.transfer(db, alpha, "ALPHA-MAIN", "BETA-MAIN", serials(iss, 50, 60)),
    )
    refused(
        db,
        "insufficient_credits",
        lambda: registry.transfer(db, alpha, "ALPHA-MAIN", "BETA-MAIN", Sel(901)),
    )
    out = registry.transfer(db, alpha, "ALPHA-MAIN", "BETA-MAIN", Sel(900))
    assert [r.serials for r in out.ranges] == [f"{iss}-101-1000"]
    consistent(db)


def test_transfer_by_serial_of_someone_elses_credits_from_ones_own_account_is_refused(
    db: Database, two: tuple
) -> None:
    _, beta, iss = two
    refused(
        db,
        "serials_not_available",
        lambda: registry.transfer(db, beta, "BETA-MAIN", "ALPHA-MAIN", serials(iss, 1, 10)),
    )


# ---------------------------------------------------------------- retirement


def retirement(
    account: str, sel: Sel, purposes: list[str] | None = None, **kw: Any
) -> registry.RetirementRequest:
    return registry.RetirementRequest(account, sel, purposes or ["offset_scope1"], **kw)


def test_retirement_by_quantity_moves_credits_to_the_retirement_account_for_its_purposes(
    db: Database, two: tuple
) -> None:
    alpha, _, iss = two
    out = registry.retire(
        db,
        alpha,
        retirement("ALPHA-MAIN", Sel(250), ["offset_scope1", "offset_scope2"], reporting_year=2025),
    )
    assert out.quantity == 250
    assert out.purposes == ["offset_scope1", "offset_scope2"]
    assert out.beneficiary == "ALPHA Corp."
    assert out.journal_seq == journal_length(db)
    assert ranges(db, "SYS-RETIREMENT", "retired") == [(iss, 1, 250)]
    assert ranges(db, "ALPHA-MAIN") == [(iss, 251, 1_000)]
    public = registry.get_retirement(db, out.id)
    assert public.scope == "voluntary"
    assert public.reporting_year == 2025
    assert [r.serials for r in public.ranges] == [f"{iss}-1-250"]
    assert public.ranges[0].id == iss and public.ranges[0].project_id
    assert public.journal == registry.JournalRef(seq=out.journal_seq, hash=out.journal_hash)
    consistent(db)


def test_retirement_by_serial_range_retires_exactly_that_range(db: Database, two: tuple) -> None:
    alpha, _, iss = two
    out = registry.retire(
        db, alpha, retirement("ALPHA-MAIN", serials(iss, 501, 600), ["shk_reporting"])
    )
    assert out.quantity == 100
    assert ranges(db, "SYS-RETIREMENT", "retired") == [(iss, 501, 600)]
    assert registry.get_retirement(db, out.id).scope == "regulatory"
    consistent(db)


def test_retirement_by_serial_rejects_a_range_held_by_someone_else(
    db: Database, two: tuple
) -> None:
    alpha, beta, iss = two
    registry.transfer(db, alpha, "ALPHA-MAIN", "BETA-MAIN", serials(iss, 1, 10))
    # from its own account, BETA cannot retire ALPHA's serials 11-20 ...
    refused(
        db,
        "serials_not_available",
        lambda: registry.retire(db, beta, retirement("BETA-MAIN", serials(iss, 5, 20))),
    )
    # ... nor name ALPHA's account
    refused(
        db,
        "account_not_found",
        lambda: registry.retire(db, beta, retirement("ALPHA-MAIN", serials(iss, 11, 20))),
    )
    consistent(db)


def test_retirement_mixing_purposes_of_different_scope_is_refused(db: Database, two: tuple) -> None:
    alpha, _, _ = two
    e = refused(
        db,
        "mixed_purpose_scope",
        lambda: registry.retire(
            db, alpha, retirement("ALPHA-MAIN", Sel(10), ["offset_scope1", "shk_reporting"])
        ),
    )
    assert "regulatory" in e.message and "voluntary" in e.message


@pytest.mark.parametrize(
    ("purposes", "code"), [([], "purpose_required"), (["offset_everything"], "unknown_purpose")]
)
def test_retirement_without_a_known_purpose_is_refused(
    db: Database, two: tuple, purposes: list[str], code: str
) -> None:
    alpha, _, _ = two
    req = registry.RetirementRequest("ALPHA-MAIN", Sel(10), purposes)
    refused(db, code, lambda: registry.retire(db, alpha, req))


def test_retirement_with_an_impossible_reporting_year_is_refused(db: Database, two: tuple) -> None:
    alpha, _, _ = two
    refused(
        db,
        "invalid_reporting_year",
        lambda: registry.retire(db, alpha, retirement("ALPHA-MAIN", Sel(1), reporting_year=1066)),
    )


def _every_way_to_move(
    db: Database, alpha: Actor, iss: str
) -> list[tuple[str, Callable[[], object]]]:
    r = serials(iss, 1, 10)
    return [
        ("transfer", lambda: registry.transfer(db, alpha, "ALPHA-MAIN", "BETA-MAIN", r)),
        ("retire", lambda: registry.retire(db, alpha, retirement("ALPHA-MAIN", r))),
        ("cancel", lambda: registry.cancel(db, alpha, "ALPHA-MAIN", r, "again")),
        ("reserve", lambda: registry.reserve(db, alpha, "ALPHA-MAIN", r, "ORD-X")),
        ("withdraw", lambda: registry.withdraw(db, alpha, "ALPHA-MAIN", r, "Verra", "V-1")),
        ("redeposit", lambda: registry.redeposit(db, SYSTEM, f"{iss}-1-10", "ALPHA-MAIN", "x")),
        ("freeze", lambda: registry.freeze(db, SYSTEM, f"{iss}-1-10", True, "hold")),
    ]


@pytest.mark.parametrize("final", ["retired", "cancelled"])
def test_retired_and_cancelled_credits_never_move_again(
    db: Database, two: tuple, final: str
) -> None:
    alpha, _, iss = two
    if final == "retired":
        registry.retire(db, alpha, retirement("ALPHA-MAIN", serials(iss, 1, 10)))
        system_account = "SYS-RETIREMENT"
    else:
        registry.cancel(db, alpha, "ALPHA-MAIN", serials(iss, 1, 10), "double counted")
        system_account = "SYS-CANCELLATION"
    assert ranges(db, system_account, final) == [(iss, 1, 10)]
    for _name, call in _every_way_to_move(db, alpha, iss):
        refused(db, "serials_not_available", call)
    # not even the system may move them out of the system account
    refused(
        db,
        "not_a_holding_account",
        lambda: registry.transfer(db, SYSTEM, system_account, "ALPHA-MAIN", Sel(10)),
    )
    assert ranges(db, system_account, final) == [(iss, 1, 10)]
    consistent(db)


def test_cancellation_requires_a_reason(db: Database, two: tuple) -> None:
    alpha, _, _ = two
    refused(db, "reason_required", lambda: registry.cancel(db, alpha, "ALPHA-MAIN", Sel(1), " "))


# ---------------------------------------------------------------- withdrawal and redeposit


def test_withdrawal_sends_credits_out_and_redeposit_brings_them_back(
    db: Database, two: tuple
) -> None:
    alpha, _, iss = two
    out = registry.withdraw(db, alpha, "ALPHA-MAIN", Sel(20), "Verra", "VCS-ACC-1")
    assert out.quantity == 20
    assert ranges(db, "SYS-EXTERNAL", "exported") == [(iss, 1, 20)]
    assert quantity(db, "ALPHA-MAIN") == 980
    # exported credits cannot be moved here any more
    refused(
        db,
        "serials_not_available",
        lambda: registry.transfer(db, alpha, "ALPHA-MAIN", "BETA-MAIN", serials(iss, 1, 5)),
    )
    # only credits that are out can come back
    refused(
        db,
        "serials_not_available",
        lambda: registry.redeposit(db, SYSTEM, f"{iss}-15-25", "BETA-MAIN", "VCS-RET-1"),
    )
    back = registry.redeposit(db, SYSTEM, f"{iss}-11-20", "BETA-MAIN", "VCS-RET-1")
    assert back.quantity == 10
    assert ranges(db, "BETA-MAIN") == [(iss, 11, 20)]
    assert ranges(db, "SYS-EXTERNAL", "exported") == [(iss, 1, 10)]
    consistent(db)


def test_redeposit_is_for_the_registry_operator_only(db: Database, two: tuple) -> None:
    alpha, _, iss = two
    registry.withdraw(db, alpha, "ALPHA-MAIN", Sel(20), "Verra", "VCS-ACC-1")
    refused(
        db,
        "role_required",
        lambda: registry.redeposit(db, alpha, f"{iss}-1-20", "ALPHA-MAIN", "VCS-RET-1"),
    )


def test_withdrawal_must_name_the_external_registry_and_account(db: Database, two: tuple) -> None:
    alpha, _, _ = two
    refused(
        db,
        "external_reference_required",
        lambda: registry.withdraw(db, alpha, "ALPHA-MAIN", Sel(1), "Verra", "  "),
    )


# ---------------------------------------------------------------- freezing


def test_frozen_credits_cannot_move_until_unfrozen(db: Database, two: tuple) -> None:
    alpha, _, iss = two
    registry.freeze(db, SYSTEM, f"{iss}-1-500", True, "court order")
    assert ranges(db, "ALPHA-MAIN", "frozen") == [(iss, 1, 500)]
    refused(
        db,
        "serials_not_available",
        lambda: registry.transfer(db, alpha, "ALPHA-MAIN", "BETA-MAIN", serials(iss, 1, 10)),
    )
    refused(
        db,
        "serials_not_available",
        lambda: registry.retire(db, alpha, retirement("ALPHA-MAIN", serials(iss, 400, 510))),
    )
    refused(
        db,
        "insufficient_credits",
        lambda: registry.transfer(db, alpha, "ALPHA-MAIN", "BETA-MAIN", Sel(501)),
    )
    registry.freeze(db, SYSTEM, f"{iss}-1-500", False, "order lifted")
    assert ranges(db, "ALPHA-MAIN", "frozen") == []
    registry.transfer(db, alpha, "ALPHA-MAIN", "BETA-MAIN", serials(iss, 1, 10))
    assert ranges(db, "BETA-MAIN") == [(iss, 1, 10)]
    consistent(db)


def test_freezing_is_for_the_registry_operator_only(db: Database, two: tuple) -> None:
    alpha, _, iss = two
    refused(db, "role_required", lambda: registry.freeze(db, alpha, f"{iss}-1-10", True, "mine"))


def test_a_freeze_across_two_accounts_freezes_the_range_in_both(db: Database, two: tuple) -> None:
    alpha, beta, iss = two
    registry.transfer(db, alpha, "ALPHA-MAIN", "BETA-MAIN", serials(iss, 1, 10))
    out = registry.freeze(db, SYSTEM, f"{iss}-5-15", True, "a dispute over the project")
    assert out.accounts == ["ALPHA-MAIN", "BETA-MAIN"]
    refused(
        db,
        "serials_not_available",
        lambda: registry.transfer(db, beta, "BETA-MAIN", "ALPHA-MAIN", serials(iss, 5, 10)),
    )
    registry.freeze(db, SYSTEM, f"{iss}-5-15", False, "dispute settled")
    registry.transfer(db, beta, "BETA-MAIN", "ALPHA-MAIN", serials(iss, 5, 10))
    assert audit.verify(db).ok


def test_unfreezing_credits_that_are_not_frozen_is_refused(db: Database, two: tuple) -> None:
    _, _, iss = two
    refused(
        db,
        "serials_not_available",
        lambda: registry.freeze(db, SYSTEM, f"{iss}-1-10", False, "nothing to lift"),
    )


# ---------------------------------------------------------------- reservation


def test_reserved_credits_are_set_aside_and_release_returns_them(db: Database, two: tuple) -> None:
    alpha, _, iss = two
    out = registry.reserve(db, alpha, "ALPHA-MAIN", Sel(300), "ORD-1")
    assert out.quantity == 300
    assert blocks(db, "ALPHA-MAIN") == [
        (iss, 1, 300, "ALPHA-MAIN", "reserved", "ORD-1"),
        (iss, 301, 1_000, "ALPHA-MAIN", "held", None),
    ]
    refused(
        db,
        "insufficient_credits",
        lambda: registry.transfer(db, alpha, "ALPHA-MAIN", "BETA-MAIN", Sel(701)),
    )
    back = registry.release(db, alpha, "ORD-1")
    assert back.quantity == 300
    assert quantity(db, "ALPHA-MAIN") == 1_000
    assert quantity(db, "ALPHA-MAIN", "reserved") == 0
    refused(db, "reservation_not_found", lambda: registry.release(db, alpha, "ORD-1"))
    consistent(db)


def test_release_of_someone_elses_reservation_is_refused(db: Database, two: tuple) -> None:
    alpha, beta, _ = two
    registry.reserve(db, alpha, "ALPHA-MAIN", Sel(10), "ORD-1")
    refused(db, "reservation_not_found", lambda: registry.release(db, beta, "ORD-1"))
    assert quantity(db, "ALPHA-MAIN", "reserved") == 10


def test_reserving_more_than_is_free_is_refused(db: Database, two: tuple) -> None:
    alpha, _, _ = two
    registry.reserve(db, alpha, "ALPHA-MAIN", Sel(600), "ORD-1")
    refused(
        db,
        "insufficient_credits",
        lambda: registry.reserve(db, alpha, "ALPHA-MAIN", Sel(401), "ORD-2"),
    )


# ---------------------------------------------------------------- participant status


def test_suspended_participant_cannot_move_but_keeps_its_holdings(db: Database, two: tuple) -> None:
    alpha, beta, iss = two
    registry.transfer(db, alpha, "ALPHA-MAIN", "BETA-MAIN", Sel(100))
    participants.set_status(db, SYSTEM, "ALPHA", "suspended", "KYC review")
    for call in (
        lambda: registry.transfer(db, alpha, "ALPHA-MAIN", "BETA-MAIN", Sel(1)),
        lambda: registry.retire(db, alpha, retirement("ALPHA-MAIN", Sel(1))),
        lambda: registry.cancel(db, alpha, "ALPHA-MAIN", Sel(1), "why"),
        lambda: registry.withdraw(db, alpha, "ALPHA-MAIN", Sel(1), "Verra", "V"),
        lambda: registry.reserve(db, alpha, "ALPHA-MAIN", Sel(1), "ORD-9"),
        # nor may credits be sent to it
        lambda: registry.transfer(db, beta, "BETA-MAIN", "ALPHA-MAIN", Sel(1)),
    ):
        refused(db, "participant_not_active", call)
    assert quantity(db, "ALPHA-MAIN") == 900
    assert registry.holdings(db, SYSTEM, "ALPHA-MAIN").total == 900
    participants.set_status(db, SYSTEM, "ALPHA", "active", "cleared")
    registry.transfer(db, alpha, "ALPHA-MAIN", "BETA-MAIN", serials(iss, 991, 1_000))
    assert quantity(db, "BETA-MAIN") == 110
    consistent(db)


def test_pending_participant_cannot_act(db: Database) -> None:
    add_participant(db, "ALPHA")
    pending = add_participant(db, "NEWCO", active=False)
    add_issuance(db, "ALPHA-MAIN", 10)
    alpha = Actor("ALPHA", frozenset({Role.TRADER}))
    for call, code in (
        (
            lambda: registry.transfer(db, pending, "NEWCO-MAIN", "ALPHA-MAIN", Sel(1)),
            "participant_not_active",
        ),
        (
            lambda: registry.transfer(db, alpha, "ALPHA-MAIN", "NEWCO-MAIN", Sel(1)),
            "participant_not_active",
        ),
        (lambda: cash.reserve(db, pending, "JPY", 1, "BID-1"), "participant_not_active"),
        (lambda: cash.withdraw(db, SYSTEM, "NEWCO", "JPY", 1, "bank-1"), "participant_not_active"),
    ):
        refused(db, code, call)
    consistent(db)


# ---------------------------------------------------------------- brokers


def _key(db: Database, pid: str) -> str:
    return str(participants.create_api_key(db, SYSTEM, pid, label="test").key)


def test_broker_acts_for_a_client_only_while_authorised(db: Database) -> None:
    client = add_participant(db, "CLIENT")
    add_participant(db, "BROKER", ["broker"])
    add_participant(db, "OTHER")
    iss = add_issuance(db, "CLIENT-MAIN", 100)
    token = _key(db, "BROKER")

    with pytest.raises(TansoError) as e:
        participants.authenticate(db, token, on_behalf_of="CLIENT")
    assert e.value.code == "broker_not_authorised"

    participants.authorise_broker(db, client, "CLIENT", "BROKER", True)
    actor = participants.authenticate(db, token, on_behalf_of="CLIENT")
    assert (actor.participant_id, actor.agent_id, actor.roles) == (
        "CLIENT",
        "BROKER",
        frozenset({Role.TRADER}),
    )
    out = registry.transfer(db, actor, "CLIENT-MAIN", "OTHER-MAIN", serials(iss, 1, 10))
    assert out.broker == "BROKER"
    entry = last_entry(db)
    assert entry.kind == "credits.transferred"
    assert entry.actor == "BROKER for CLIENT"
    out = registry.retire(db, actor, retirement("CLIENT-MAIN", Sel(5)))
    assert last_entry(db).actor == "BROKER for CLIENT"
    assert registry.get_retirement(db, out.id).retired_by == "CLIENT Corp."

    participants.authorise_broker(db, client, "CLIENT", "BROKER", False)
    with pytest.raises(TansoError) as e:
        participants.authenticate(db, token, on_behalf_of="CLIENT")
    assert e.value.code == "broker_not_authorised"
    consistent(db)


def test_a_broker_acting_for_a_client_cannot_touch_the_brokers_or_others_accounts(
    db: Database,
) -> None:
    add_participant(db, "CLIENT")
    add_participant(db, "BROKER", ["broker"])
    add_participant(db, "OTHER")
    add_issuance(db, "OTHER-MAIN", 10)
    actor = Actor("CLIENT", frozenset({Role.TRADER}), agent_id="BROKER")
    refused(
        db,
        "account_not_found",
        lambda: registry.transfer(db, actor, "OTHER-MAIN", "CLIENT-MAIN", Sel(1)),
    )


def test_a_participant_without_the_broker_role_cannot_act_for_another(db: Database) -> None:
    add_participant(db, "CLIENT")
    add_participant(db, "TRADER")
    with pytest.raises(TansoError) as e:
        participants.authenticate(db, _key(db, "TRADER"), on_behalf_of="CLIENT")
    assert e.value.code == "not_a_broker"


def test_a_suspended_broker_cannot_act_for_an_active_client(db: Database) -> None:
    client = add_participant(db, "CLIENT")
    add_participant(db, "BROKER", ["broker"])
    add_participant(db, "OTHER")
    add_issuance(db, "CLIENT-MAIN", 10)
    participants.authorise_broker(db, client, "CLIENT", "BROKER", True)
    actor = participants.authenticate(db, _key(db, "BROKER"), on_behalf_of="CLIENT")
    participants.set_status(db, SYSTEM, "BROKER", "suspended")
    refused(
        db,
        "participant_not_active",
        lambda: registry.transfer(db, actor, "CLIENT-MAIN", "OTHER-MAIN", Sel(1)),
    )


# ---------------------------------------------------------------- cash


def test_cash_deposit_and_withdrawal_move_through_the_bank_contra_account(db: Database) -> None:
    add_participant(db, "ALPHA")
    cash.deposit(db, SYSTEM, "ALPHA", "JPY", 1_000_000, "bank-1")
    cash.withdraw(db, SYSTEM, "ALPHA", "JPY", 250_000, "bank-2")
    assert cash_of(db, "ALPHA") == (750_000, 0)
    rows = dict((cid, bal) for cid, bal, _ in cash_rows(db))
    assert rows["SYS-BANK-JPY"] == -750_000
    assert sum(rows.values()) == 0
    consistent(db)


def test_cash_cannot_withdraw_more_than_the_balance(db: Database) -> None:
    add_participant(db, "ALPHA")
    fund(db, "ALPHA", 1_000)
    refused(db, "insufficient_cash", lambda: cash.withdraw(db, SYSTEM, "ALPHA", "JPY", 1_001, "b"))
    refused(db, "insufficient_cash", lambda: cash.withdraw(db, SYSTEM, "ALPHA", "USD", 1, "b"))
    assert cash_of(db, "ALPHA") == (1_000, 0)


def test_reserved_cash_cannot_be_withdrawn_until_released(db: Database) -> None:
    alpha = add_participant(db, "ALPHA")
    fund(db, "ALPHA", 1_000)
    cash.reserve(db, alpha, "JPY", 700, "BID-1")
    assert cash_of(db, "ALPHA") == (1_000, 700)
    refused(db, "insufficient_cash", lambda: cash.withdraw(db, SYSTEM, "ALPHA", "JPY", 301, "b"))
    refused(db, "insufficient_cash", lambda: cash.reserve(db, alpha, "JPY", 301, "BID-2"))
    refused(db, "reservation_exists", lambda: cash.reserve(db, alpha, "JPY", 1, "BID-1"))
    cash.withdraw(db, SYSTEM, "ALPHA", "JPY", 300, "b")
    assert cash.release(db, alpha, "BID-1").released == 700
    assert cash_of(db, "ALPHA") == (700, 0)
    cash.withdraw(db, SYSTEM, "ALPHA", "JPY", 700, "b2")
    assert cash_of(db, "ALPHA") == (0, 0)
    consistent(db)


def test_cash_reservation_of_someone_else_cannot_be_released(db: Database) -> None:
    alpha = add_participant(db, "ALPHA")
    beta = add_participant(db, "BETA")
    fund(db, "ALPHA", 1_000)
    cash.reserve(db, alpha, "JPY", 100, "BID-1")
    refused(db, "reservation_not_found", lambda: cash.release(db, beta, "BID-1"))
    assert cash_of(db, "ALPHA") == (1_000, 100)


@pytest.mark.parametrize(
    ("currency", "amount", "ref", "code"),
    [
        ("JPY", 0, "b", "invalid_amount"),
        ("JPY", -5, "b", "invalid_amount"),
        ("JPY", 10**16, "b", "amount_too_large"),
        ("XYZ", 5, "b", "unknown_currency"),
        ("JPY", 5, " ", "external_reference_required"),
    ],
)
def test_a_bad_bank_transfer_is_refused(
    db: Database, currency: str, amount: int, ref: str, code: str
) -> None:
    add_participant(db, "ALPHA")
    refused(db, code, lambda: cash.deposit(db, SYSTEM, "ALPHA", currency, amount, ref))


def test_only_the_exchange_operator_records_bank_transfers(db: Database) -> None:
    alpha = add_participant(db, "ALPHA")
    refused(db, "role_required", lambda: cash.deposit(db, alpha, "ALPHA", "JPY", 5, "b"))


# ---------------------------------------------------------------- idempotency


def test_the_same_idempotency_key_twice_returns_the_first_answer_and_moves_nothing_more(
    db: Database, two: tuple
) -> None:
    alpha, _, _ = two
    idem = Idem("key-1", "fp-transfer-60")
    first = registry.transfer(db, alpha, "ALPHA-MAIN", "BETA-MAIN", Sel(60), idem)
    after_first = state(db)
    second = registry.transfer(db, alpha, "ALPHA-MAIN", "BETA-MAIN", Sel(60), idem)
    assert second == first
    assert state(db) == after_first
    assert quantity(db, "BETA-MAIN") == 60
    consistent(db)


def test_an_idempotency_key_reused_for_a_different_request_is_refused(
    db: Database, two: tuple
) -> None:
    alpha, _, _ = two
    registry.transfer(db, alpha, "ALPHA-MAIN", "BETA-MAIN", Sel(60), Idem("key-1", "fp-a"))
    refused(
        db,
        "idempotency_key_reused",
        lambda: registry.transfer(
            db, alpha, "ALPHA-MAIN", "BETA-MAIN", Sel(70), Idem("key-1", "fp-b")
        ),
    )
    assert quantity(db, "BETA-MAIN") == 60


def test_idempotency_keys_belong_to_one_participant(db: Database, two: tuple) -> None:
    alpha, beta, _ = two
    registry.transfer(db, alpha, "ALPHA-MAIN", "BETA-MAIN", Sel(60), Idem("key-1", "fp-a"))
    out = registry.transfer(db, beta, "BETA-MAIN", "ALPHA-MAIN", Sel(10), Idem("key-1", "fp-b"))
    assert out.quantity == 10
    assert quantity(db, "BETA-MAIN") == 50


def test_a_refused_request_does_not_use_up_its_idempotency_key(db: Database, two: tuple) -> None:
    alpha, _, _ = two
    idem = Idem("key-1", "fp-a")
    refused(
        db,
        "insufficient_credits",
        lambda: registry.transfer(db, alpha, "ALPHA-MAIN", "BETA-MAIN", Sel(5_000), idem),
    )
    out = registry.transfer(db, alpha, "ALPHA-MAIN", "BETA-MAIN", Sel(5), Idem("key-1", "fp-b"))
    assert out.quantity == 5


def test_an_idempotent_retirement_and_cash_deposit_happen_once(db: Database, two: tuple) -> None:
    alpha, _, _ = two
    req = retirement("ALPHA-MAIN", Sel(10))
    a = registry.retire(db, alpha, req, Idem("r-1", "fp"))
    n = journal_length(db)
    b = registry.retire(db, alpha, req, Idem("r-1", "fp"))
    assert a.id == b.id
    assert journal_length(db) == n
    cash.deposit(db, SYSTEM, "ALPHA", "JPY", 500, "bank-9", Idem("d-1", "fp"))
    cash.deposit(db, SYSTEM, "ALPHA", "JPY", 500, "bank-9", Idem("d-1", "fp"))
    assert cash_of(db, "ALPHA") == (500, 0)
    assert quantity(db, "SYS-RETIREMENT", "retired") == 10
    consistent(db)


# ---------------------------------------------------------------- participant ids


def test_a_participant_id_with_a_trailing_newline_is_refused(db: Database) -> None:
    from tests.conftest import corporate_number

    refused(
        db,
        "invalid_id",
        lambda: participants.create_participant(
            db,
            SYSTEM,
            participants.NewParticipant(
                "株式会社", "Corp.", "corporation", ["trader"], corporate_number(), False, "ALPHA\n"
            ),
        ),
    )
