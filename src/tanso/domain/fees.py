"""Fees: per tonne, per trade and in basis points of value; zero unless the operator sets them.

A buy order reserves its price x quantity plus the most its fees could come to (`fee_cap`), so
that a trade can never find the buyer short of cash for its fee.
"""

from __future__ import annotations

from dataclasses import dataclass

from tanso.domain.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    """One side's fees on one instrument, in minor units; `bps` of the trade value."""

    per_tonne: int = 0
    bps: int = 0
    per_trade: int = 0
    late_charge: int = 0

    def __post_init__(self) -> None:
        for name in ("per_tonne", "bps", "per_trade", "late_charge"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidInput("invalid_fee", f"{name} must be a whole number, zero or more.")
        if self.bps > 10_000:
            raise InvalidInput("invalid_fee", "bps may not exceed 10,000 (100%).")

    def fee(self, price: int, quantity: int) -> int:
        """The fee on one trade (rounded down to the minor unit)."""
        return self.per_tonne * quantity + price * quantity * self.bps // 10_000 + self.per_trade

    def fee_cap(self, unit_price: int, quantity: int, lot: int) -> int:
        """The most the fees of an order of `quantity` at `unit_price` can come to, however it fills
        (at most one trade per lot, never above its price): what a buy order reserves."""
        value = unit_price * quantity * self.bps
        return self.per_tonne * quantity + -(-value // 10_000) + self.per_trade * (quantity // lot)


FREE = FeeSchedule()
