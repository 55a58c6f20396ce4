"""What the portal's history screens share (orders, trades, settlement, holdings, cash): their
filters read from the query string and checked, the counted pager, and the CSV download.

Filters are query parameters (``instrument``, ``side``, ``status``, ``from``, ``to``,
``offset``, ``limit``; a second list on the same page puts a prefix before each, ``ob_``, so
each list filters and pages on its own).
A value that is not one of the choices, a date that is not ``YYYY-MM-DD`` or a start after the
end is never applied: the screen answers 400 with the reason next to the field, in the page's
language. A CSV download is UTF-8 with a byte-order mark (so Excel reads Japanese), its header
row the columns' English machine names, and every cell through ``tanso.domain.csv_cells``
(formula injection). No route lives here; see docs/portal-history.md.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response

from tanso.domain import csv_cells
from tanso.services.trading.history import Filter, Page
from tanso.web import kit

FIELDS = ("instrument", "side", "status", "from", "to", "offset")
FIRST_DAY, LAST_DAY = dt.date(1900, 1, 1), dt.date(9998, 12, 31)
"""The dates a filter takes."""
MAX_OFFSET = 10**9
"""Beyond any history; a larger offset is refused rather than sent to the database."""


@dataclass(frozen=True, slots=True)
class Query:
    """A history's filter as asked: the filter to apply, the page, the values as typed (for
    the form and the links) and the errors by field (then nothing is applied)."""

    filter: Filter
    offset: int
    limit: int
    values: Mapping[str, str]
    errors: Mapping[str, str] = field(default_factory=dict)


def _date(text: str, name: str, t: Mapping[str, str], errors: dict[str, str]) -> dt.date | None:
    if not text:
        return None
    try:
        if len(text) != len("2026-12-01"):  # 3.11 reads "20261201" too: one spelling only
            raise ValueError(text)
        day = dt.date.fromisoformat(text)
        if not FIRST_DAY <= day <= LAST_DAY:  # beyond, a day's bounds in UTC overflow
            raise ValueError(text)
        return day
    except ValueError:
        errors[name] = t["filter_date"].format(value=text)
        return None


def parse(
    request: Request,
    t: Mapping[str, str],
    *,
    prefix: str = "",
    instruments: Collection[str] | None = None,
    statuses: Sequence[str] = (),
    sides: bool = True,
) -> Query:
    """The filter of the query string's ``prefix``ed parameters, checked: an instrument among
    ``instruments`` (when given), a side, a status among ``statuses`` (when any), dates, an
    offset; errors are keyed by the parameter's name."""
    params = request.query_params
    values = {name: params.get(prefix + name, "").strip() for name in FIELDS}
    errors: dict[str, str] = {}
    instrument = values["instrument"] or None
    if instrument and instruments is not None and instrument not in instruments:
        errors[prefix + "instrument"] = t["filter_instrument"].format(value=instrument)
    side = values["side"] or None
    if side and (not sides or side not in ("buy", "sell")):
        errors[prefix + "side"] = t["filter_choice"].format(value=side, choices="buy, sell")
    status = (values["status"] or None) if statuses else None  # a list without states
    if status and status not in statuses:
        choices = ", ".join(statuses)
        errors[prefix + "status"] = t["filter_choice"].format(value=status, choices=choices)
    start = _date(values["from"], prefix + "from", t, errors)
    end = _date(values["to"], prefix + "to", t, errors)
    if start and end and start > end:
        errors[prefix + "to"] = t["filter_range"].format(start=start, end=end)
    offset = 0
    try:
        offset = kit.parse_int(values["offset"]) or 0
    except ValueError:
        offset = -1
    if not 0 <= offset <= MAX_OFFSET:
        errors[prefix + "offset"] = t["filter_offset"].format(value=values["offset"])
        offset = 0
    try:
        size = kit.parse_int(params.get(prefix + "limit")) or kit.PAGE
    except ValueError:
        size = kit.PAGE
    return Query(
        Filter(instrument, side, status, start, end),
        offset,
        max(1, min(size, kit.MAX_PAGE)),
        {prefix + k: v for k, v in values.items() if v and k != "offset"},
        errors,
    )


def link(request: Request, path: str = "", **changes: int | str | None) -> str:
    """This page's URL (or ``path``) with its query kept but for ``lang`` and ``changes``
    (a None change drops the parameter)."""
    params = {k: v for k, v in request.query_params.items() if k != "lang"}
    for k, v in changes.items():
        params.pop(k, None)
        if v is not None and v != "":
            params[k] = str(v)
    return (path or request.url.path) + ("?" + urlencode(params) if params else "")


@dataclass(frozen=True, slots=True)
class Pager:
    """Which rows a page shows among how many, and the links to its neighbours."""

    first: int
    last: int
    total: int
    newer: str | None
    older: str | None


def pager(request: Request, page: Page[Any], size: int, prefix: str = "") -> Pager:
    """The counted pager of a history's page; its links keep the other parameters."""
    key = prefix + "offset"
    end = page.offset + len(page.rows)
    here = request.url.path
    older = link(request, here, **{key: end}) if end < page.total else None
    newer = None
    if page.offset > 0:
        newer = link(request, here, **{key: max(0, page.offset - size) or None})
    return Pager(page.offset + 1 if page.rows else 0, end, page.total, newer, older)


def csv_download(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    """A CSV attachment: UTF-8 with a byte-order mark, formula cells neutralised."""
    out = io.StringIO()
    out.write("\ufeff")
    w = csv_cells.writer(out, lineterminator="\r\n")
    w.writerow(header)
    w.writerows(rows)
    return Response(
        out.getvalue().encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
