"""Serial numbers of credits: the format, parsing and validation.

An issuance is named by its serial prefix ``SCHEME-TYPE-PROJECT-ROUND`` (for example
``JC-ER-P0123-3``: J-Credit, emission reduction, project P0123, certification round 3). Within an
issuance each credit (one t-CO2, or one kWh for certificates) has a serial number from 1 to the
quantity issued. A block of credits is written ``PREFIX-START-END`` (``JC-ER-P0123-3-1-1000``).
See docs/serials.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tanso.domain.errors import InvalidInput

MAX_SERIAL = 10**12
"""Highest serial number within one issuance (a trillion units: beyond any real issuance)."""

_PREFIX = (
    r"(?P<scheme>[A-Z]{2,4})-(?P<type>[A-Z]{2})-(?P<project>[A-Z0-9]{1,16})"
    r"-(?P<round>[0-9]{1,4}[A-Z]?)"
)
PREFIX_RE = re.compile(rf"^{_PREFIX}$")
BLOCK_RE = re.compile(rf"^{_PREFIX}-(?P<start>[1-9][0-9]{{0,12}})-(?P<end>[1-9][0-9]{{0,12}})$")


@dataclass(frozen=True, slots=True)
class SerialRange:
    """A contiguous range of serial numbers within one issuance, both ends included."""

    issuance: str
    start: int
    end: int

    def __post_init__(self) -> None:
        check_range(self.start, self.end)

    @property
    def quantity(self) -> int:
        return self.end - self.start + 1

    def __str__(self) -> str:
        return f"{self.issuance}-{self.start}-{self.end}"


def check_range(start: int, end: int) -> None:
    """Refuse a range that is empty, reversed or out of bounds."""
    if not (1 <= start <= MAX_SERIAL and 1 <= end <= MAX_SERIAL):
        raise InvalidInput(
            "invalid_serial_range", f"Serial numbers run from 1 to {MAX_SERIAL}; got {start}-{end}."
        )
    if start > end:
        raise InvalidInput(
            "invalid_serial_range",
            f"A serial range must not end before it starts; got {start}-{end}.",
        )


def issuance_prefix(scheme: str, credit_type: str, project: str, round_: str) -> str:
    """Build and validate the serial prefix that names an issuance."""
    prefix = f"{scheme}-{credit_type}-{project}-{round_}"
    if not PREFIX_RE.fullmatch(prefix):
        raise InvalidInput(
            "invalid_serial_prefix",
            f"{prefix!r} is not a valid serial prefix: expected SCHEME-TYPE-PROJECT-ROUND, "
            "for example JC-ER-P0123-3 (upper-case letters and digits).",
        )
    return prefix


def parse_block(text: str) -> SerialRange:
    """Parse ``PREFIX-START-END`` into a serial range."""
    m = BLOCK_RE.fullmatch(text)
    if not m:
        raise InvalidInput(
            "invalid_serial",
            f"{text!r} is not a valid serial block: expected SCHEME-TYPE-PROJECT-ROUND-START-END, "
            "for example JC-ER-P0123-3-1-1000.",
        )
    prefix = text[: m.start("start") - 1]
    return SerialRange(prefix, int(m["start"]), int(m["end"]))


def check_prefix(prefix: str) -> str:
    """Validate an issuance id (its serial prefix)."""
    if not PREFIX_RE.fullmatch(prefix):
        raise InvalidInput(
            "invalid_serial_prefix",
            f"{prefix!r} is not a valid issuance id: expected SCHEME-TYPE-PROJECT-ROUND, "
            "for example JC-ER-P0123-3.",
        )
    return prefix


SERIAL_RE = re.compile(rf"^{_PREFIX}-(?P<n>[1-9][0-9]{{0,12}})$")


def parse_serial(text: str) -> tuple[str, int]:
    """Parse one serial number ``PREFIX-N`` into (issuance id, number)."""
    m = SERIAL_RE.fullmatch(text)
    if not m:
        raise InvalidInput(
            "invalid_serial",
            f"{text!r} is not a valid serial number: expected SCHEME-TYPE-PROJECT-ROUND-N, "
            "for example JC-ER-P0123-3-101.",
        )
    return text[: m.start("n") - 1], int(m["n"])


def parse_serial_range(start: str, end: str) -> SerialRange:
    """Two serial numbers of one issuance, first and last, as a range."""
    a_prefix, a = parse_serial(start)
    b_prefix, b = parse_serial(end)
    if a_prefix != b_prefix:
        raise InvalidInput(
            "serials_span_issuances",
            f"A serial range must lie within one issuance; {start} and {end} do not.",
        )
    return SerialRange(a_prefix, a, b)
