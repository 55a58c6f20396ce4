"""Participants of the market and their roles; the 法人番号 check digit.

No individuals trade, as at TSE: a participant is a corporation, a local government or an
association, approved by the operator before it may act.
"""

from __future__ import annotations

from enum import StrEnum

from tanso.domain.errors import InvalidInput


class ParticipantKind(StrEnum):
    CORPORATION = "corporation"
    LOCAL_GOVERNMENT = "local_government"
    GOVERNMENT = "government"
    ASSOCIATION = "association"


class Role(StrEnum):
    TRADER = "trader"
    BROKER = "broker"
    MARKET_MAKER = "market_maker"
    REGISTRY_OPERATOR = "registry_operator"
    EXCHANGE_OPERATOR = "exchange_operator"


OPERATOR_ROLES = frozenset({Role.REGISTRY_OPERATOR, Role.EXCHANGE_OPERATOR})
OPERATOR_PARTICIPANT = "OPERATOR"
"""The operator's own participant: it holds the system accounts and the fee cash accounts."""


class ParticipantStatus(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    SUSPENDED = "suspended"


def corporate_number_check_digit(base12: str) -> int:
    """法人番号: the check digit of a 12-digit base number (National Tax Agency formula)."""
    total = 0
    for i, ch in enumerate(reversed(base12), start=1):
        total += int(ch) * (1 if i % 2 else 2)
    return 9 - total % 9


def validate_corporate_number(number: str) -> str:
    """Return the 13-digit corporate number if its check digit (the first digit) is right."""
    if len(number) != 13 or not number.isascii() or not number.isdigit():
        raise InvalidInput(
            "invalid_corporate_number", "A corporate number (法人番号) is exactly 13 digits."
        )
    if int(number[0]) != corporate_number_check_digit(number[1:]):
        raise InvalidInput(
            "invalid_corporate_number",
            f"Corporate number {number} fails its check digit; please check it for typing errors.",
        )
    return number


def parse_roles(roles: list[str]) -> list[Role]:
    """Validate role names, keeping their order and dropping repeats."""
    out: list[Role] = []
    for r in roles:
        try:
            role = Role(r)
        except ValueError:
            known = ", ".join(x.value for x in Role)
            raise InvalidInput(
                "unknown_role", f"Role {r!r} does not exist; use one of {known}."
            ) from None
        if role not in out:
            out.append(role)
    return out
