"""Participants in the pure domain (法人番号 check digit, roles) and Money."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tanso.domain.errors import InvalidInput
from tanso.domain.money import MAX_AMOUNT, Money, check_currency, positive_amount
from tanso.domain.participants import (
    Role,
    corporate_number_check_digit,
    parse_roles,
    validate_corporate_number,
)

# ---------------------------------------------------------------- 法人番号

KNOWN_VALID = "1180301018771"  # a published corporate number


def test_a_published_corporate_number_is_valid() -> None:
    assert corporate_number_check_digit(KNOWN_VALID[1:]) == 1
    assert validate_corporate_number(KNOWN_VALID) == KNOWN_VALID


@pytest.mark.parametrize(
    "number",
    [
        "2180301018771",  # wrong check digit
        "1180301018772",  # last digit mistyped
        "1180301081771",  # two digits swapped
        "118030101877",  # 12 digits
        "11803010187710",  # 14 digits
        "",
        "118030101877a",
        " 180301018771",
        "1180301018771\n",
        "-180301018771",
        "１１８０３０１０１８７７１",  # fullwidth digits
        "١١٨٠٣٠١٠١٨٧٧١",  # Arabic-Indic digits
        "1180301018７71",  # one fullwidth digit
    ],
)
def test_a_corporate_number_that_is_not_13_ascii_digits_with_its_check_digit_is_refused(
    number: str,
) -> None:
    with pytest.raises(InvalidInput) as e:
        validate_corporate_number(number)
    assert e.value.code == "invalid_corporate_number"


@pytest.mark.parametrize(
    ("base12", "digit"),
    [("000000000000", 9), ("000000000001", 8), ("000000000010", 7), ("999999999999", 9)],
)
def test_check_digit_follows_the_national_tax_agency_formula(base12: str, digit: int) -> None:
    # 9 - (sum of digits weighted 1, 2, 1, 2, ... from the right) mod 9
    assert corporate_number_check_digit(base12) == digit


bases = st.text("0123456789", min_size=12, max_size=12)


def valid(base12: str) -> str:
    return f"{corporate_number_check_digit(base12)}{base12}"


@given(bases)
def test_every_base_number_with_its_check_digit_is_valid(base12: str) -> None:
    number = valid(base12)
    assert validate_corporate_number(number) == number
    assert 1 <= int(number[0]) <= 9


@given(bases, st.integers(0, 12), st.integers(1, 9))
def test_any_single_digit_change_is_caught_except_the_mod_9_blind_spot(
    base12: str, position: int, shift: int
) -> None:
    number = valid(base12)
    old = int(number[position])
    new = (old + shift) % 10
    typo = f"{number[:position]}{new}{number[position + 1 :]}"
    if position > 0 and abs(new - old) == 9:
        # the formula works mod 9, so 0 <-> 9 in the base is invisible: a property of the NTA
        # check digit itself, not of this code
        assert validate_corporate_number(typo) == typo
        return
    with pytest.raises(InvalidInput) as e:
        validate_corporate_number(typo)
    assert e.value.code == "invalid_corporate_number"


@given(bases, st.integers(1, 11))
def test_swapping_two_adjacent_different_digits_is_caught_unless_they_differ_by_nine(
    base12: str, position: int
) -> None:
    number = valid(base12)
    a, b = number[position], number[position + 1]
    swapped = f"{number[:position]}{b}{a}{number[position + 2 :]}"
    if a == b or abs(int(a) - int(b)) == 9:
        return
    with pytest.raises(InvalidInput):
        validate_corporate_number(swapped)


# ---------------------------------------------------------------- roles


def test_parse_roles_keeps_the_order_and_drops_repeats() -> None:
    assert parse_roles(["broker", "trader", "broker"]) == [Role.BROKER, Role.TRADER]


def test_parse_roles_accepts_no_roles() -> None:
    assert parse_roles([]) == []


@pytest.mark.parametrize("role", ["admin", "Trader", " trader", ""])
def test_parse_roles_refuses_an_unknown_role(role: str) -> None:
    with pytest.raises(InvalidInput) as e:
        parse_roles(["trader", role])
    assert e.value.code == "unknown_role"


# ---------------------------------------------------------------- money


@pytest.mark.parametrize("amount", [1.0, 0.5, float("nan"), True, False, Decimal("1"), "100"])
def test_money_refuses_anything_but_an_integer_amount(amount: object) -> None:
    with pytest.raises(InvalidInput) as e:
        Money(amount, "JPY")  # type: ignore[arg-type]
    assert e.value.code == "invalid_amount"


@pytest.mark.parametrize("amount", [MAX_AMOUNT + 1, -MAX_AMOUNT - 1])
def test_money_refuses_an_absurd_amount(amount: int) -> None:
    with pytest.raises(InvalidInput) as e:
        Money(amount, "JPY")
    assert e.value.code == "amount_too_large"


@pytest.mark.parametrize("currency", ["XYZ", "jpy", "", "円"])
def test_money_refuses_an_unknown_currency(currency: str) -> None:
    with pytest.raises(InvalidInput) as e:
        Money(100, currency)
    assert e.value.code == "unknown_currency"


def test_money_of_different_currencies_cannot_be_added_or_subtracted() -> None:
    for op in (
        lambda: Money(1, "JPY") + Money(1, "USD"),
        lambda: Money(1, "EUR") - Money(1, "USD"),
    ):
        with pytest.raises(InvalidInput) as e:
            op()
        assert e.value.code == "currency_mismatch"


def test_money_times_a_quantity() -> None:
    assert Money(3_000, "JPY").times(250) == Money(750_000, "JPY")


def test_money_times_a_fraction_is_refused() -> None:
    with pytest.raises(InvalidInput) as e:
        Money(3_000, "JPY").times(1.5)  # type: ignore[arg-type]
    assert e.value.code == "invalid_amount"


def test_money_is_immutable() -> None:
    m = Money(1, "JPY")
    with pytest.raises(AttributeError):
        m.amount = 2  # type: ignore[misc]


@pytest.mark.parametrize(
    ("money", "text"),
    [
        (Money(1_234_567, "JPY"), "1,234,567 JPY"),
        (Money(-500, "JPY"), "-500 JPY"),
        (Money(123_456, "USD"), "1,234.56 USD"),
        (Money(-5, "EUR"), "-0.05 EUR"),
        (Money(0, "SGD"), "0.00 SGD"),
    ],
)
def test_money_displays_in_major_units(money: Money, text: str) -> None:
    assert str(money) == text


def test_check_currency_returns_a_known_code() -> None:
    assert check_currency("USD") == "USD"


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        (0, "invalid_amount"),
        (-1, "invalid_amount"),
        (True, "invalid_amount"),
        (1.0, "invalid_amount"),
        (MAX_AMOUNT + 1, "amount_too_large"),
    ],
)
def test_positive_amount_refuses_zero_negative_fractional_and_absurd(
    amount: object, code: str
) -> None:
    with pytest.raises(InvalidInput) as e:
        positive_amount(amount)  # type: ignore[arg-type]
    assert e.value.code == code


def test_positive_amount_accepts_one_and_the_maximum() -> None:
    assert positive_amount(1) == 1
    assert positive_amount(MAX_AMOUNT) == MAX_AMOUNT


amounts = st.integers(-(10**12), 10**12)
currencies = st.sampled_from(["JPY", "USD", "EUR", "SGD"])


@given(amounts, amounts, currencies)
def test_adding_then_subtracting_gives_back_the_amount(a: int, b: int, currency: str) -> None:
    x, y = Money(a, currency), Money(b, currency)
    assert (x + y) - y == x
    assert (x + y).amount == a + b
    assert (x + y).currency == currency


@given(amounts, amounts, currencies, currencies)
def test_mixing_currencies_is_always_refused(a: int, b: int, c1: str, c2: str) -> None:
    if c1 == c2:
        return
    with pytest.raises(InvalidInput) as e:
        Money(a, c1) + Money(b, c2)
    assert e.value.code == "currency_mismatch"
