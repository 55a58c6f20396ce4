"""Open data (docs/open-data.md) on SQLite and PostgreSQL: the files of a month of trading and
registry work, built twice to the same bytes, Parquet equal to CSV, no participant anywhere.

The market is test_indices' two trading days (January 2026: SELLER sells to BUYER); SELLER also
retires credits for a beneficiary typed as a spreadsheet formula.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tanso.domain.errors import NotFound
from tanso.services.clearing import settlement
from tanso.services.common import SYSTEM
from tanso.services.ledger import registry
from tanso.services.marketdata import open_data as od
from tanso.store.db import Database
from tests.conftest import add_issuance
from tests.integration.test_indices import DAY2, Market, open_market, two_days

pytestmark = [
    pytest.mark.fast_backends("sqlite", "postgres"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

FORMULA = '=HYPERLINK("https://evil.example/","x")'
PARTICIPANT_MARKS = (b"SELLER", b"BUYER", "SELLER 株式会社".encode(), b"Corp.")
"""The participants' ids, account ids (SELLER-MAIN) and names: none may be in a file."""
MONTHLY = ("trades", "bars", "auctions", "indices", "issuances", "retirements")


def retire(m: Market) -> str:
    issuance = add_issuance(m.db, "SELLER-MAIN", 500, vintage=2024)
    receipt = registry.retire(
        m.db,
        m.seller,
        registry.RetirementRequest(
            "SELLER-MAIN",
            registry.Selection(serials=f"{issuance}-1-40"),
            ["offset_scope1", "offset_scope2"],
            FORMULA,
            2025,
            note="private note SELLER",
        ),
    )
    return receipt.id


@pytest.fixture
def market(db: Database) -> Market:
    m = open_market(db)
    two_days(m)
    return m


def settle_and_close(m: Market) -> None:
    """Every January trade settled, and the clock in February: January is final."""
    m.clock.at(dt.date(2026, 1, 14), 16, 0)
    assert settlement.run(m.db, SYSTEM, dt.date(2026, 1, 14)).settled == 3
    m.clock.at(dt.date(2026, 2, 2), 9, 0)


def files(db: Database) -> dict[tuple[str, str], od.DataFile]:
    return {(f.dataset, f.period): f for d in od.catalog(db).datasets for f in d.files}


def both(db: Database, dataset: str, period: str) -> tuple[bytes, bytes]:
    csv_body = od.build_file(db, dataset, od.file_name(dataset, period, "csv")).body
    parquet_body = od.build_file(db, dataset, od.file_name(dataset, period, "parquet")).body
    return csv_body, parquet_body


def parquet_rows(body: bytes) -> list[dict[str, Any]]:
    return pq.read_table(io.BytesIO(body)).to_pylist()


def as_csv_cell(value: Any) -> str:
    """A Parquet value as the CSV writes it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def test_a_month_of_trading_and_registry_work_is_in_the_catalog(market: Market) -> None:
    rid = retire(market)
    found = files(market.db)
    assert {d for d, _ in found} == set(MONTHLY) | {"projects"}
    jan = {d: found[(d, "2026-01")] for d in MONTHLY}
    assert jan["trades"].rows == 3  # 2 x 100 t 省エネ on day 1, 50 t 森林 on day 2
    assert jan["retirements"].rows == 1
    assert not any(f.final for f in jan.values())  # the month is not over
    rows = od.read_csv(both(market.db, "retirements", "2026-01")[0])
    assert rows[0]["retirement_id"] == rid
    assert rows[0]["beneficiary"] == FORMULA  # read back: the ' that neutralised it removed
    assert rows[0]["purposes"] == "offset_scope1;offset_scope2"
    assert rows[0]["verify_path"] == f"/verify/{rid}"
    raw = both(market.db, "retirements", "2026-01")[0].decode()
    assert "'=HYPERLINK" in raw  # neutralised in the bytes


def test_no_participant_id_account_or_name_is_in_any_file(market: Market) -> None:
    retire(market)
    for (dataset, period), _ in files(market.db).items():
        for body in both(market.db, dataset, period):
            for mark in PARTICIPANT_MARKS:
                assert mark not in body, (dataset, period, mark)
            assert b"private note" not in body


def test_parquet_read_back_equals_the_csv_rows_with_integer_and_date_types(
    market: Market,
) -> None:
    retire(market)
    for (dataset, period), _ in files(market.db).items():
        csv_body, parquet_body = both(market.db, dataset, period)
        table = pq.read_table(io.BytesIO(parquet_body))
        columns = od.DATASETS[dataset].columns
        assert table.column_names == [c.name for c in columns]
        for c in columns:
            assert str(table.schema.field(c.name).type) == c.parquet_type
        got = [{k: as_csv_cell(v) for k, v in r.items()} for r in table.to_pylist()]
        assert got == od.read_csv(csv_body), dataset
    trades = parquet_rows(both(market.db, "trades", "2026-01")[1])
    assert [(r["price"], r["quantity"], r["value"]) for r in trades] == [
        (2_000, 100, 200_000),
        (2_001, 100, 200_100),
        (10_000, 50, 500_000),
    ]
    assert trades[-1]["trade_date"] == DAY2


def test_a_final_month_is_the_same_bytes_when_built_again(market: Market) -> None:
    retire(market)
    settle_and_close(market)
    found = files(market.db)
    for dataset in MONTHLY:
        f = found[(dataset, "2026-01")]
        assert f.final, dataset
        assert f.final_at is not None and f.final_at >= "2026-01-31T15:00:00.000000Z"
        first = both(market.db, dataset, "2026-01")
        # later work (a new month) changes nothing in January's files
        add_issuance(market.db, "SELLER-MAIN", 7, vintage=2025)
        assert both(market.db, dataset, "2026-01") == first, dataset
    assert [f.dataset for f in od.final_files(market.db)].count("trades") == 1


def test_a_month_with_a_trade_not_yet_settled_stays_provisional(market: Market) -> None:
    market.clock.at(dt.date(2026, 2, 2), 9, 0)
    found = files(market.db)
    assert not found[("trades", "2026-01")].final  # a trade could still be busted
    assert found[("indices", "2026-01")].final  # indices are not held by settlement


def test_unknown_datasets_names_and_periods_answer_404_with_a_code(market: Market) -> None:
    for dataset, name, code in (
        ("orders", "tanso-orders-2026-01.csv", "open_data_dataset_not_found"),
        ("trades", "tanso-bars-2026-01.csv", "open_data_file_not_found"),
        ("trades", "tanso-trades-2026-01.xlsx", "open_data_file_not_found"),
        ("trades", "tanso-trades-2025-12.csv", "open_data_file_not_found"),
        ("projects", "tanso-projects-2026-01.csv", "open_data_file_not_found"),
        ("projects", "tanso-projects-1999-01-01.csv", "open_data_file_not_found"),
    ):
        with pytest.raises(NotFound) as e:
            od.build_file(market.db, dataset, name)
        assert e.value.code == code


def test_the_projects_file_is_named_by_the_day_of_its_last_change(market: Market) -> None:
    (label,) = [p for d, p in files(market.db) if d == "projects"]
    csv_body, _ = both(market.db, "projects", label)
    rows = od.read_csv(csv_body)
    assert len(rows) == files(market.db)[("projects", label)].rows >= 2
    market.clock.at(dt.date(2026, 1, 20), 10, 0)
    add_issuance(market.db, "SELLER-MAIN", 5, project="PNEW1")
    (later,) = [p for d, p in files(market.db) if d == "projects"]
    assert later == "2026-01-20" and later > label


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.integers(-(2**62), 2**62)),
            st.text(max_size=12),
            st.one_of(st.none(), st.dates(dt.date(1990, 1, 1), dt.date(2100, 12, 31))),
            st.booleans(),
        ),
        max_size=8,
    )
)
def test_any_rows_read_back_the_same_from_csv_and_parquet_and_build_identically(
    rows: list[tuple[Any, ...]],
) -> None:
    columns = (
        od.Column("n", "integer", nullable=True),
        od.Column("s", "text"),
        od.Column("d", "date", nullable=True),
        od.Column("b", "boolean"),
    )
    rows = [(n, s, d.isoformat() if d else None, b) for n, s, d, b in rows]
    # a text that starts with ' before a formula character reads back without it (csv_cells)
    text_rows = [r for r in rows if not r[1].startswith("'") and "\x00" not in r[1]]
    parquet = od.to_parquet(columns, text_rows)
    assert parquet == od.to_parquet(columns, text_rows)
    got = [
        {k: as_csv_cell(v) for k, v in r.items()}
        for r in pq.read_table(io.BytesIO(parquet)).to_pylist()
    ]
    assert got == od.read_csv(od.to_csv(columns, text_rows))
