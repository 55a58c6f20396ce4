"""Participants of the market and their roles; the 法人番号 check digit.

No individuals trade, as at TSE: a participant is a corporation, a local government or an
association, approved by the operator before it may act.
"""

from __future__ import annotations

from collections.abc import Container, Iterable
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
    SCHEME_ADMINISTRATOR = "scheme_administrator"
    """GX-ETS: administers the scheme (covers entities, allocates allowances, price stability)."""
    VERIFICATION_BODY = "verification_body"
    """GX-ETS: a registered verification body (登録確認機関) that verifies reported emissions;
    also verifies a points programme's batches of events."""
    POINTS_PROGRAMME = "points_programme"
    """Runs a behaviour-change points programme (行動変容ポイント): its members' events, pledges,
    pools and the retirements it makes for them."""
    LOCAL_SCHEME = "local_scheme"
    """A local government running its own credit scheme (自治体クレジット): its projects and
    their issuances."""


OPERATOR_ROLES = frozenset(
    {Role.REGISTRY_OPERATOR, Role.EXCHANGE_OPERATOR, Role.SCHEME_ADMINISTRATOR}
)
TRADING_ROLES = frozenset({Role.TRADER, Role.BROKER, Role.MARKET_MAKER})


class Scope(StrEnum):
    """What a caller may do: an API key carries scopes, a broker's mandate grants some, a portal
    user's role maps onto them; every route of the API names the one it needs
    (docs/security.md)."""

    READ = "read"
    """See one's own accounts, orders, deals and reports; moves nothing."""
    TRADE = "trade"
    """Orders, marketplace listings, purchases, RFQs and offers, sealed-bid auctions and bids."""
    TRANSFER = "transfer"
    """Move credits to another account, here or to an external registry (a withdrawal)."""
    RETIRE = "retire"
    """Take credits out of use for good: retirements (無効化) and cancellations (取消)."""
    MANAGE = "manage"
    """The participant's own set-up: API keys, broker mandates, accounts, inventories."""
    OPERATE = "operate"
    """The operator's acts: issuance, cash, instruments, sessions, settlement, freezes, status."""
    VERIFY = "verify"
    """A verification body's act: confirm or return a covered entity's reported emissions or a
    points programme's batch of events."""
    POINTS = "points"
    """A points programme's acts: its methodology, members' events, pledges, pools and the
    retirements it makes for its members."""
    LOCAL_SCHEME = "local_scheme"
    """A local government's acts on its own credit scheme: projects, issuances, its page."""


ALL_SCOPES = frozenset(Scope)
MANDATE_SCOPES = frozenset({Scope.TRADE, Scope.TRANSFER, Scope.RETIRE})
"""What a client may grant a broker: never ``manage`` (nor ``operate``)."""
DEFAULT_MANDATE = frozenset({Scope.TRADE})


def scopes_for_roles(roles: Iterable[Role]) -> frozenset[Scope]:
    """Every scope a holder of ``roles`` may carry: read, transfer, retire and manage for any
    participant; trade for a trader, broker or market maker; operate for an operator role;
    verify for a verification body; points for a points programme; local_scheme for a local
    government's credit scheme."""
    held = frozenset(roles)
    out = {Scope.READ, Scope.TRANSFER, Scope.RETIRE, Scope.MANAGE}
    if held & TRADING_ROLES:
        out.add(Scope.TRADE)
    if held & OPERATOR_ROLES:
        out.add(Scope.OPERATE)
    if Role.VERIFICATION_BODY in held:
        out.add(Scope.VERIFY)
    if Role.POINTS_PROGRAMME in held:
        out.add(Scope.POINTS)
    if Role.LOCAL_SCHEME in held:
        out.add(Scope.LOCAL_SCHEME)
    return frozenset(out)


def parse_scopes(scopes: Iterable[str]) -> list[Scope]:
    """Validate scope names, keeping their order and dropping repeats."""
    out: list[Scope] = []
    for name in scopes:
        try:
            scope = Scope(name)
        except ValueError:
            known = ", ".join(x.value for x in Scope)
            raise InvalidInput(
                "unknown_scope", f"Scope {name!r} does not exist; use one of {known}."
            ) from None
        if scope not in out:
            out.append(scope)
    return out


def scope_names(scopes: Iterable[Scope]) -> list[str]:
    """Scopes in the order of the enum, as stored and answered."""
    held = set(scopes)
    return [s.value for s in Scope if s in held]


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


HOME_COUNTRY = "JP"
"""Where the market is: a corporation registered here identifies itself by its 法人番号."""

_LEI_ALPHABET = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _mod97(text: str) -> int:
    # ISO 7064 MOD 97-10: letters count as 10..35, the digits so formed read as one number
    return int("".join(str(int(ch, 36)) for ch in text)) % 97


def lei_check_digits(base18: str) -> str:
    """The two check digits of an LEI whose first 18 characters are ``base18`` (ISO 17442)."""
    return f"{98 - _mod97(base18 + '00'):02d}"


def validate_lei(lei: str) -> str:
    """LEI (Legal Entity Identifier, ISO 17442): 20 upper-case letters and digits whose last two
    are check digits by ISO 7064 MOD 97-10; return it if it is one, else say which rule fails."""
    if len(lei) != 20:
        raise InvalidInput(
            "invalid_lei",
            f"An LEI is exactly 20 characters; {lei[:40]!r} has {len(lei)}.",
        )
    if not set(lei) <= _LEI_ALPHABET:
        raise InvalidInput(
            "invalid_lei",
            "An LEI has only upper-case letters A-Z and digits 0-9.",
        )
    if not lei[18:].isdigit() or _mod97(lei) != 1:
        raise InvalidInput(
            "invalid_lei",
            f"LEI {lei} fails its check digits (ISO 7064 MOD 97-10); please check it for "
            "typing errors.",
        )
    return lei


def validate_country(code: str, known: Container[str]) -> str:
    """An ISO 3166-1 alpha-2 country code, if ``known`` (the list in force) holds it."""
    if len(code) != 2 or code not in known:
        raise InvalidInput(
            "invalid_country",
            f"Country {code[:10]!r} is not an ISO 3166-1 two-letter code such as JP or SG.",
        )
    return code


def require_identity(
    kind: ParticipantKind, country: str, corporate_number: str | None, lei: str | None
) -> None:
    """Who must show what: a Japanese corporation its 法人番号, a foreign corporation its LEI;
    other kinds of participant may give either or neither."""
    if kind != ParticipantKind.CORPORATION:
        return
    if country == HOME_COUNTRY and corporate_number is None:
        raise InvalidInput(
            "corporate_number_required",
            "A Japanese corporation (country JP) must give its 13-digit corporate number "
            "(法人番号).",
        )
    if country != HOME_COUNTRY and lei is None:
        raise InvalidInput(
            "lei_required",
            f"A corporation from abroad (country {country}) must give its 20-character LEI.",
        )


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
