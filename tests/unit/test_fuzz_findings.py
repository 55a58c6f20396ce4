"""Inputs the 10,000-request fuzzing run (bench/fuzz.py) answered with 500; each now a clear 4xx."""

from __future__ import annotations

import pytest

from tanso.domain.errors import InvalidInput
from tanso.services.compliance.inventories import parse_csv
from tanso.services.venues.sealed_auctions import timestamp


def test_a_time_before_the_first_utc_time_is_refused_as_invalid() -> None:
    with pytest.raises(InvalidInput) as e:
        timestamp("0001-01-01T01:00:00.0+01:01")
    assert e.value.code == "invalid_time"
    assert "0001-01-01" in e.value.message


def test_a_bare_carriage_return_in_the_header_is_named_not_raised() -> None:
    rows, errors = parse_csv("reporting_year\rx,scope1\n2024,1\n", "ALPHA")
    assert rows == []
    assert errors == [errors[0]] and errors[0].startswith("header: this is not CSV")


def test_a_row_that_is_not_csv_is_named_with_its_line() -> None:
    rows, errors = parse_csv("reporting_year,scope1\n2024,1\r5\n", "ALPHA")
    assert rows == []
    assert any(err.startswith("row 2: this line is not CSV") for err in errors)
