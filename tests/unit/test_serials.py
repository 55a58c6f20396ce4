"""Serial numbers: the format, parsing and validation of blocks, single serials and prefixes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tanso.domain.errors import InvalidInput
from tanso.domain.serials import (
    MAX_SERIAL,
    SerialRange,
    check_prefix,
    check_range,
    issuance_prefix,
    parse_block,
    parse_serial,
    parse_serial_range,
)

# ---------------------------------------------------------------- blocks


@pytest.mark.parametrize(
    ("text", "issuance", "start", "end"),
    [
        ("JC-ER-P0123-3-1-1000", "JC-ER-P0123-3", 1, 1000),
        ("JC-ER-P0001-1-101-101", "JC-ER-P0001-1", 101, 101),
        ("VCS-RM-1234567890ABCDEF-12A-5-9", "VCS-RM-1234567890ABCDEF-12A", 5, 9),
        ("GX-EA-X-9999-1-1000000000000", "GX-EA-X-9999", 1, MAX_SERIAL),
    ],
)
def test_parse_block_reads_prefix_start_and_end(
    text: str, issuance: str, start: int, end: int
) -> None:
    r = parse_block(text)
    assert r == SerialRange(issuance, start, end)
    assert r.quantity == end - start + 1
    assert str(r) == text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "JC-ER-P0123-3",  # a prefix only
        "JC-ER-P0123-3-1",  # one number only
        "jc-er-p0123-3-1-10",  # lower case
        "J-ER-P0123-3-1-10",  # scheme too short
        "JCXYZ-ER-P0123-3-1-10",  # scheme too long
        "JC-ERX-P0123-3-1-10",  # type of three letters
        "JC-ER-P0123456789ABCDEFG-3-1-10",  # project of 17 characters
        "JC-ER-P0123-12345-1-10",  # round of five digits
        "JC-ER-P0123-3AB-1-10",  # round with two letters
        "JC-ER-P_123-3-1-10",  # underscore in project
        "JC-ER-P0123-3-0-10",  # serial zero
        "JC-ER-P0123-3-01-10",  # leading zero
        "JC-ER-P0123-3--1-10",  # negative
        "JC-ER-P0123-3-1-10-",  # trailing dash
        " JC-ER-P0123-3-1-10",  # leading space
        "JC-ER-P0123-3-1-10 ",  # trailing space
        "JC-ER-P0123-3-1 -10",  # inner space
        "JC-ER-P0123-3-1-1.5",  # decimal
        "JC-ER-P0123-3-1-1e3",  # exponent
        "JC-ER-P0123-3-1-10000000000000",  # 14 digits
        "JC-ER-P0123-3-１-１０",  # fullwidth digits
        "JC-ER-P0123-3-١-١٠",  # Arabic-Indic digits
        "JC-ER-P0123-3-१-१०",  # Devanagari digits
        "ＪＣ-ER-P0123-3-1-10",  # fullwidth letters
        "JC-ER-P０１２３-3-1-10",  # fullwidth digits in the project
        "JC\u2010ER\u2010P0123\u20103\u20101\u201010",  # Unicode hyphens
    ],
)
def test_parse_block_refuses_malformed_text(text: str) -> None:
    with pytest.raises(InvalidInput) as e:
        parse_block(text)
    assert e.value.code == "invalid_serial"


@pytest.mark.parametrize(
    "text",
    [
        "JC-ER-P0123-3-10-1",  # reversed
        "JC-ER-P0123-3-1000000000001-1000000000001",  # 13 digits beyond MAX_SERIAL
        "JC-ER-P0123-3-1-9999999999999",
    ],
)
def test_parse_block_refuses_reversed_or_out_of_bounds_ranges(text: str) -> None:
    with pytest.raises(InvalidInput) as e:
        parse_block(text)
    assert e.value.code == "invalid_serial_range"


@pytest.mark.parametrize(
    "call",
    [
        lambda: parse_block("JC-ER-P0123-3-1-10\n"),
        lambda: parse_serial("JC-ER-P0123-3-10\n"),
        lambda: check_prefix("JC-ER-P0123-3\n"),
    ],
    ids=["block", "serial", "prefix"],
)
def test_serial_text_with_a_trailing_newline_is_refused(call: object) -> None:
    with pytest.raises(InvalidInput):
        call()  # type: ignore[operator]


# ---------------------------------------------------------------- ranges


@pytest.mark.parametrize(
    ("start", "end"), [(0, 1), (1, 0), (-1, 5), (5, 4), (1, MAX_SERIAL + 1), (MAX_SERIAL + 1,) * 2]
)
def test_check_range_refuses_empty_reversed_or_out_of_bounds(start: int, end: int) -> None:
    with pytest.raises(InvalidInput) as e:
        check_range(start, end)
    assert e.value.code == "invalid_serial_range"


def test_a_serial_range_cannot_be_constructed_reversed() -> None:
    with pytest.raises(InvalidInput) as e:
        SerialRange("JC-ER-P0001-1", 10, 9)
    assert e.value.code == "invalid_serial_range"


def test_a_one_serial_range_holds_one_credit() -> None:
    assert SerialRange("JC-ER-P0001-1", 7, 7).quantity == 1


# ---------------------------------------------------------------- single serials


def test_parse_serial_splits_prefix_and_number() -> None:
    assert parse_serial("JC-ER-P0001-1-101") == ("JC-ER-P0001-1", 101)
    assert parse_serial("JC-ER-P0001-2A-1000000000000") == ("JC-ER-P0001-2A", MAX_SERIAL)


@pytest.mark.parametrize(
    "text",
    [
        "JC-ER-P0001-1",  # a prefix, no number: the round would be read as the number
        "JC-ER-P0001-1-0",
        "JC-ER-P0001-1-١٠١",
        "JC-ER-P0001-1-101-150",
        "JC-ER-P0001-1-10000000000000",
    ],
)
def test_parse_serial_refuses_malformed_serials(text: str) -> None:
    with pytest.raises(InvalidInput) as e:
        parse_serial(text)
    assert e.value.code == "invalid_serial"


def test_parse_serial_range_joins_first_and_last() -> None:
    r = parse_serial_range("JC-ER-P0001-1-101", "JC-ER-P0001-1-150")
    assert r == SerialRange("JC-ER-P0001-1", 101, 150)
    assert r.quantity == 50


def test_parse_serial_range_refuses_two_issuances() -> None:
    with pytest.raises(InvalidInput) as e:
        parse_serial_range("JC-ER-P0001-1-101", "JC-ER-P0001-2-150")
    assert e.value.code == "serials_span_issuances"


def test_parse_serial_range_refuses_a_reversed_range() -> None:
    with pytest.raises(InvalidInput) as e:
        parse_serial_range("JC-ER-P0001-1-150", "JC-ER-P0001-1-101")
    assert e.value.code == "invalid_serial_range"


def test_parse_serial_range_refuses_a_number_beyond_the_maximum() -> None:
    with pytest.raises(InvalidInput) as e:
        parse_serial_range("JC-ER-P0001-1-1", "JC-ER-P0001-1-1000000000001")
    assert e.value.code == "invalid_serial_range"


# ---------------------------------------------------------------- prefixes


def test_issuance_prefix_joins_scheme_type_project_and_round() -> None:
    assert issuance_prefix("JC", "ER", "P0123", "3") == "JC-ER-P0123-3"
    assert check_prefix("JC-ER-P0123-3") == "JC-ER-P0123-3"


@pytest.mark.parametrize(
    ("scheme", "credit_type", "project", "round_"),
    [
        ("jc", "ER", "P0123", "3"),
        ("JC", "E", "P0123", "3"),
        ("JC", "ER", "", "3"),
        ("JC", "ER", "P-1", "3"),
        ("JC", "ER", "P0123", ""),
        ("JC", "ER", "P0123", "３"),
    ],
)
def test_issuance_prefix_refuses_malformed_parts(
    scheme: str, credit_type: str, project: str, round_: str
) -> None:
    with pytest.raises(InvalidInput) as e:
        issuance_prefix(scheme, credit_type, project, round_)
    assert e.value.code == "invalid_serial_prefix"


@pytest.mark.parametrize("prefix", ["JC-ER-P0123", "JC-ER-P0123-3-1", "JC-ER-P0123-٣", ""])
def test_check_prefix_refuses_what_is_not_an_issuance_id(prefix: str) -> None:
    with pytest.raises(InvalidInput) as e:
        check_prefix(prefix)
    assert e.value.code == "invalid_serial_prefix"


# ---------------------------------------------------------------- properties

prefixes = st.builds(
    lambda s, t, p, r, x: f"{s}-{t}-{p}-{r}{x}",
    st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=4),
    st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=2),
    st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=16),
    st.integers(0, 9999).map(str),
    st.sampled_from(["", "A", "Z"]),
)
serials = st.integers(1, MAX_SERIAL)


@given(prefixes, serials, serials)
def test_a_block_written_out_parses_back_to_itself(prefix: str, a: int, b: int) -> None:
    r = SerialRange(prefix, min(a, b), max(a, b))
    assert parse_block(str(r)) == r
    assert parse_serial_range(f"{prefix}-{r.start}", f"{prefix}-{r.end}") == r


@given(prefixes, serials, serials)
def test_a_block_written_backwards_is_refused(prefix: str, a: int, b: int) -> None:
    if a == b:
        b = a + 1 if a < MAX_SERIAL else a - 1
    lo, hi = min(a, b), max(a, b)
    with pytest.raises(InvalidInput) as e:
        parse_block(f"{prefix}-{hi}-{lo}")
    assert e.value.code == "invalid_serial_range"


@given(st.text(max_size=60))
def test_any_text_either_parses_to_a_valid_range_or_is_refused_as_invalid_input(
    text: str,
) -> None:
    try:
        r = parse_block(text)
    except InvalidInput as e:
        assert e.code in {"invalid_serial", "invalid_serial_range"}
    else:
        assert 1 <= r.start <= r.end <= MAX_SERIAL
        assert check_prefix(r.issuance) == r.issuance


@given(prefixes, serials, st.sampled_from("０１２３４５６７８９٠١٢٣٤٥٦٧٨٩०१२३४५६७८९"))
def test_a_non_ascii_digit_anywhere_in_the_numbers_is_refused(
    prefix: str, n: int, digit: str
) -> None:
    number = str(n)
    for i in range(len(number)):
        text = f"{prefix}-1-{number[:i]}{digit}{number[i + 1 :]}"
        with pytest.raises(InvalidInput) as e:
            parse_block(text)
        assert e.value.code == "invalid_serial"
