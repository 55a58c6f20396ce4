"""Money: integer minor units with a currency. No floats, ever."""

from __future__ import annotations

from dataclasses import dataclass

from tanso.domain.errors import InvalidInput

# ISO 4217 minor-unit exponents of the currencies Tanso settles in.
MINOR_UNITS: dict[str, int] = {"JPY": 0, "USD": 2, "EUR": 2, "SGD": 2}

MAX_AMOUNT = 10**15
"""Largest amount accepted in one operation (minor units): a quadrillion yen is no real trade."""


def check_currency(code: str) -> str:
    """Return the currency code if Tanso knows it, else refuse."""
    if code not in MINOR_UNITS:
        known = ", ".join(sorted(MINOR_UNITS))
        raise InvalidInput(
            "unknown_currency", f"Currency {code!r} is not supported; use one of {known}."
        )
    return code


@dataclass(frozen=True, slots=True)
class Money:
    """An amount of one currency in integer minor units (JPY: yen; USD: cents)."""

    amount: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise InvalidInput("invalid_amount", "An amount must be a whole number of minor units.")
        if abs(self.amount) > MAX_AMOUNT:
            raise InvalidInput(
                "amount_too_large", f"An amount may not exceed {MAX_AMOUNT} minor units."
            )
        check_currency(self.currency)

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def times(self, quantity: int) -> Money:
        """Price x quantity."""
        return Money(self.amount * quantity, self.currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise InvalidInput(
                "currency_mismatch", f"Cannot combine {self.currency} with {other.currency}."
            )

    def __str__(self) -> str:
        exp = MINOR_UNITS[self.currency]
        if exp == 0:
            return f"{self.amount:,} {self.currency}"
        sign = "-" if self.amount < 0 else ""
        whole, frac = divmod(abs(self.amount), 10**exp)
        return f"{sign}{whole:,}.{frac:0{exp}d} {self.currency}"


def positive_amount(amount: int) -> int:
    """Refuse a zero, negative or absurd amount of minor units."""
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise InvalidInput("invalid_amount", "The amount must be a whole number greater than zero.")
    if amount > MAX_AMOUNT:
        raise InvalidInput(
            "amount_too_large", f"An amount may not exceed {MAX_AMOUNT} minor units."
        )
    return amount
