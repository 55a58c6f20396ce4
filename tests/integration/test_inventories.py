"""Emissions inventories: record, replace, read and import, on both backends."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tanso.domain.errors import Forbidden, InvalidInput, NotFound
from tanso.services.common import SYSTEM
from tanso.services.compliance import inventories
from tanso.services.compliance.inventories import Inventory
from tanso.services.ledger import audit
from tanso.store.db import Database
from tests.conftest import add_participant


def test_a_recorded_year_reads_back_with_its_scope3_categories(db: Database) -> None:
    alpha = add_participant(db, "ALPHA")
    inv = Inventory(
        scope1=12_000,
        scope2_location=8_000,
        scope2_market=6_500,
        scope3_categories={1: 30_000, 6: 400},
        reduction_scope1=1_000,
        target_scope12=15_000,
        purchased_electricity_kwh=18_000_000,
        note="FY2025",
    )
    out = inventories.record(db, alpha, "ALPHA", 2025, inv)
    assert out.scope3 == 30_400
    assert out.scope3_categories == {"1": 30_000, "6": 400}
    got = inventories.inventory(db, "ALPHA", 2025)
    assert got is not None and got.scope1 == 12_000 and got.target_scope3 is None
    assert inventories.inventory(db, "ALPHA", 2024) is None
    assert audit.verify(db).ok


def test_recording_a_year_again_replaces_it_entirely(db: Database) -> None:
    alpha = add_participant(db, "ALPHA")
    inventories.record(db, alpha, "ALPHA", 2025, Inventory(scope1=5, scope3_categories={2: 9}))
    inventories.record(db, alpha, "ALPHA", 2025, Inventory(scope1=7))
    got = inventories.inventory(db, "ALPHA", 2025)
    assert got is not None and got.scope1 == 7 and got.scope3_categories == {}
    assert [v.reporting_year for v in inventories.list_inventories(db, alpha, "ALPHA")] == [2025]


@pytest.mark.parametrize(
    ("inv", "code"),
    [
        (Inventory(scope1=-1), "invalid_inventory"),
        (Inventory(scope1=10, reduction_scope1=11), "reduction_exceeds_emissions"),
        (Inventory(scope3_categories={16: 1}), "invalid_scope3_category"),
    ],
)
def test_impossible_figures_are_refused(db: Database, inv: Inventory, code: str) -> None:
    alpha = add_participant(db, "ALPHA")
    with pytest.raises(InvalidInput) as e:
        inventories.record(db, alpha, "ALPHA", 2025, inv)
    assert e.value.code == code
    assert inventories.inventory(db, "ALPHA", 2025) is None


def test_a_participant_cannot_record_or_read_another_ones_inventory(db: Database) -> None:
    add_participant(db, "ALPHA")
    beta = add_participant(db, "BETA")
    with pytest.raises(Forbidden):
        inventories.record(db, beta, "ALPHA", 2025, Inventory(scope1=1))
    inventories.record(db, SYSTEM, "ALPHA", 2025, Inventory(scope1=1))
    with pytest.raises(NotFound):
        inventories.get_inventory(db, beta, "ALPHA", 2025)


def test_a_csv_imports_every_row_in_one_transaction(db: Database) -> None:
    alpha = add_participant(db, "ALPHA")
    text = (
        "reporting_year,scope1,scope2_location,scope2_market,scope3_c1,scope3_c6,"
        "reduction_scope1,note\n"
        "2024,100,50,40,1000,20,10,first\n"
        '2025,"1,200",60,,900,,5,second\n'
    )
    out = inventories.import_csv(db, alpha, text)
    assert out.imported == 2
    got = inventories.inventory(db, "ALPHA", 2025)
    assert got is not None and got.scope1 == 1200 and got.scope3_categories == {"1": 900}
    # the export imports again unchanged
    exported = inventories.to_csv(inventories.list_inventories(db, alpha, "ALPHA"))
    inventories.import_csv(db, alpha, exported)
    again = inventories.inventory(db, "ALPHA", 2025)
    assert again is not None and again.journal_seq > got.journal_seq
    assert replace(again, updated_at="", journal_seq=0) == replace(
        got, updated_at="", journal_seq=0
    )
    assert audit.verify(db).ok


def test_a_csv_with_bad_rows_imports_nothing_and_names_each_bad_row(db: Database) -> None:
    alpha = add_participant(db, "ALPHA")
    # `year`, the old name of the reporting_year column, is still read
    text = "year,scope1,reduction_scope1\n2024,100,10\n2025,abc,0\n2026,5,9\n1066,1,0\n"
    with pytest.raises(InvalidInput) as e:
        inventories.import_csv(db, alpha, text)
    msg = e.value.message
    assert "row 3:" in msg and "row 5:" in msg and "row 4:" in msg and "row 2:" not in msg
    assert inventories.inventory(db, "ALPHA", 2024) is None


def test_a_csv_without_a_reporting_year_column_is_refused(db: Database) -> None:
    alpha = add_participant(db, "ALPHA")
    with pytest.raises(InvalidInput) as e:
        inventories.import_csv(db, alpha, "scope1\n100\n")
    assert "reporting_year" in e.value.message


def test_a_csv_naming_another_participant_is_refused_whole(db: Database) -> None:
    alpha = add_participant(db, "ALPHA")
    add_participant(db, "BETA")
    text = "participant_id,year,scope1\nALPHA,2024,1\nBETA,2024,2\n"
    with pytest.raises(InvalidInput) as e:
        inventories.import_csv(db, alpha, text)
    assert "row 3:" in e.value.message
    assert inventories.inventory(db, "ALPHA", 2024) is None


def test_position_without_an_inventory_has_no_residual(db: Database) -> None:
    add_participant(db, "ALPHA")
    pos = inventories.position(db, "ALPHA", 2025)
    assert pos.inventory is None and pos.scopes["1"].residual is None
