"""CSV cells a spreadsheet cannot run (OWASP CSV injection): the one writer every download uses."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tanso.domain import csv_cells


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ('=HYPERLINK("https://evil.example","x")', '\'=HYPERLINK("https://evil.example","x")'),
        ("+1+2", "'+1+2"),
        ("-1+cmd|' /C calc'!A0", "'-1+cmd|' /C calc'!A0"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Osaka office", "Osaka office"),
        ("a=b", "a=b"),
        ("", ""),
        # numbers stay numbers
        (-5, -5),
        (0, 0),
        ("-5", "-5"),
        ("+1.5", "+1.5"),
        (None, None),
        (True, True),
    ],
)
def test_a_cell_that_could_start_a_formula_is_prefixed_and_a_number_is_not(
    cell: object, written: object
) -> None:
    assert csv_cells.neutralise(cell) == written


def test_both_writers_neutralise_every_row_and_keep_numbers() -> None:
    out = io.StringIO()
    w = csv_cells.writer(out, lineterminator="\n")
    w.writerow(["=1+1", -5, "note"])
    w.writerows([["@x", 3]])
    d = csv_cells.dict_writer(out, ["a", "b"], lineterminator="\n")
    d.writeheader()
    d.writerow({"a": "+x", "b": -7})
    d.writerows([{"a": "-y", "b": "-7"}])
    assert out.getvalue() == "'=1+1,-5,note\n'@x,3\na,b\n'+x,-7\n'-y,-7\n"


@given(st.text())
def test_no_written_cell_starts_a_formula_unless_it_is_a_number(text: str) -> None:
    got = csv_cells.neutralise(text)
    assert not got.startswith(csv_cells.FORMULA_START) or csv_cells.NUMBER.fullmatch(got)
    if not text.startswith("'"):
        assert csv_cells.unneutralise(got) == text


def test_a_neutralised_cell_reads_back_through_the_csv_module() -> None:
    out = io.StringIO()
    csv_cells.writer(out).writerow(['=A1,"quoted"', 1])
    cell, number = next(csv.reader(io.StringIO(out.getvalue())))
    assert (cell, number) == ('\'=A1,"quoted"', "1")
    assert csv_cells.unneutralise(cell) == '=A1,"quoted"'
