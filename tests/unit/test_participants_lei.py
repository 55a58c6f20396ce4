"""LEI (ISO 17442) and country checks of participants from abroad, in the pure domain."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import lei as stdnum_lei

from tanso.domain.errors import InvalidInput
from tanso.domain.participants import (
    ParticipantKind,
    lei_check_digits,
    require_identity,
    validate_country,
    validate_lei,
)
from tanso.services.ledger.participants import countries

PUBLISHED_LEIS = (
    "5493001KJTIIGC8Y1R12",  # Bloomberg Finance L.P. (python-stdnum's example)
    "HWUPKR0MPOU8FGXBT394",  # Apple Inc.
    "7LTWFZYICNSX8D621K86",  # Deutsche Bank AG
    "213800D1EI4B9WTWWD28",  # published LEIs of other LOUs' prefixes (2138, 5299, 5493)
    "529900T8BM49AURSDO55",
    "549300E9PC51EN656011",
)

ALPHANUMERIC = st.sampled_from("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")


@pytest.mark.parametrize("lei", PUBLISHED_LEIS)
def test_published_leis_are_valid_here_and_for_python_stdnum(lei: str) -> None:
    assert validate_lei(lei) == lei
    assert stdnum_lei.is_valid(lei)
    assert lei_check_digits(lei[:18]) == lei[18:]


@pytest.mark.parametrize(
    ("lei", "says"),
    [
        ("5493001KJTIIGC8Y1R1", "exactly 20 characters"),
        ("5493001KJTIIGC8Y1R123", "exactly 20 characters"),
        ("", "exactly 20 characters"),
        ("5493001kjtiigc8y1r12", "upper-case letters A-Z and digits"),
        ("5493001KJTIIGC8Y1R-2", "upper-case letters A-Z and digits"),
        ("5493001KJTIIGC8Y1RÄ2", "upper-case letters A-Z and digits"),
        ("5493001KJTIIGC8Y1R13", "fails its check digits"),
        ("5493001KJTIIGC8Y1RA2", "fails its check digits"),
        ("5493001KJTIIGC8Y1R21", "fails its check digits"),
    ],
)
def test_an_invalid_lei_is_refused_saying_which_rule_fails(lei: str, says: str) -> None:
    with pytest.raises(InvalidInput) as e:
        validate_lei(lei)
    assert e.value.code == "invalid_lei"
    assert says in e.value.message


@settings(max_examples=40, deadline=None)
@given(base=st.text(ALPHANUMERIC, min_size=18, max_size=18))
def test_computed_check_digits_make_an_lei_python_stdnum_accepts(base: str) -> None:
    lei = base + lei_check_digits(base)
    assert validate_lei(lei) == lei
    assert stdnum_lei.is_valid(lei)


@settings(max_examples=40, deadline=None)
@given(
    lei=st.sampled_from(PUBLISHED_LEIS),
    position=st.integers(0, 19),
    digit=st.sampled_from("0123456789"),
)
def test_changing_any_single_digit_of_a_valid_lei_is_refused(
    lei: str, position: int, digit: str
) -> None:
    """MOD 97-10 detects every single substitution of a digit by another."""
    if not lei[position].isdigit() or lei[position] == digit:
        return
    typo = lei[:position] + digit + lei[position + 1 :]
    with pytest.raises(InvalidInput, match="check digits"):
        validate_lei(typo)


@pytest.mark.parametrize("code", ["JP", "SG", "US", "DE", "VN", "MN", "TH"])
def test_real_country_codes_are_accepted(code: str) -> None:
    assert validate_country(code, countries()) == code


@pytest.mark.parametrize("code", ["", "J", "JPN", "jp", "XX", "UK", "ZZ", "EU"])
def test_a_code_outside_iso_3166_is_refused(code: str) -> None:
    with pytest.raises(InvalidInput) as e:
        validate_country(code, countries())
    assert e.value.code == "invalid_country"


def test_a_japanese_corporation_needs_its_corporate_number_even_with_an_lei() -> None:
    with pytest.raises(InvalidInput) as e:
        require_identity(ParticipantKind.CORPORATION, "JP", None, PUBLISHED_LEIS[0])
    assert e.value.code == "corporate_number_required"
    require_identity(ParticipantKind.CORPORATION, "JP", "1180301018771", None)


def test_a_foreign_corporation_needs_an_lei_even_with_a_corporate_number() -> None:
    with pytest.raises(InvalidInput) as e:
        require_identity(ParticipantKind.CORPORATION, "SG", "1180301018771", None)
    assert e.value.code == "lei_required"
    assert "SG" in e.value.message
    require_identity(ParticipantKind.CORPORATION, "SG", None, PUBLISHED_LEIS[0])


@pytest.mark.parametrize("kind", [k for k in ParticipantKind if k != ParticipantKind.CORPORATION])
@pytest.mark.parametrize("country", ["JP", "SG"])
def test_other_kinds_of_participant_need_neither(kind: ParticipantKind, country: str) -> None:
    require_identity(kind, country, None, None)
