"""CSV cells that a spreadsheet cannot run: formula injection (OWASP "CSV Injection").

A cell whose text begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read
as a formula by Excel, LibreOffice and Google Sheets; a beneficiary or a note typed as
``=HYPERLINK(...)`` would run on the desk of whoever opens the download. Every CSV that Tanso
writes goes through ``writer`` or ``dict_writer`` here, which prefix such a cell with ``'``.
Numbers stay numbers: an ``int`` (``-5``), or text that is a plain decimal number (``"-5"``,
``"+1.5"``), cannot be a formula and is written as it is.

``unneutralise`` undoes the prefix when a file exported here is imported again (inventories).
It must never decide anything else about a cell.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import IO, Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""OWASP's list of first characters that make a spreadsheet read a cell as a formula."""
NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def neutralise(value: Any) -> Any:
    """The cell as written to a CSV: ``'`` before text that could start a formula."""
    if isinstance(value, bool | int | Decimal | float) or value is None:
        return value
    text = str(value)
    if text.startswith(FORMULA_START) and not NUMBER.fullmatch(text):
        return "'" + text
    return value


def unneutralise(text: str) -> str:
    """A cell read back from a CSV written here: the ``'`` that ``neutralise`` added, removed."""
    if text.startswith("'") and text[1:].startswith(FORMULA_START):
        return text[1:]
    return text


class SafeWriter:
    """``csv.writer`` whose rows are neutralised cell by cell."""

    def __init__(self, out: IO[str], **options: Any) -> None:
        self._w = csv.writer(out, **options)

    def writerow(self, row: Sequence[Any]) -> None:
        self._w.writerow([neutralise(v) for v in row])

    def writerows(self, rows: Iterable[Sequence[Any]]) -> None:
        for row in rows:
            self.writerow(row)


class SafeDictWriter:
    """``csv.DictWriter`` whose rows are neutralised cell by cell."""

    def __init__(self, out: IO[str], fieldnames: Sequence[str], **options: Any) -> None:
        self._w = csv.DictWriter(out, fieldnames=fieldnames, **options)

    def writeheader(self) -> None:
        self._w.writeheader()

    def writerow(self, row: Mapping[str, Any]) -> None:
        self._w.writerow({k: neutralise(v) for k, v in row.items()})

    def writerows(self, rows: Iterable[Mapping[str, Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(out: IO[str], **options: Any) -> SafeWriter:
    """A CSV writer for a download: ``csv.writer``'s options, formula cells neutralised."""
    return SafeWriter(out, **options)


def dict_writer(out: IO[str], fieldnames: Sequence[str], **options: Any) -> SafeDictWriter:
    """A CSV dict writer for a download: ``csv.DictWriter``'s options, formula cells
    neutralised."""
    return SafeDictWriter(out, fieldnames, **options)
