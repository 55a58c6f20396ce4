"""Emissions inventories: per participant and year, what it emitted, reduced itself and aims for.

Interface for other capabilities (certificates, claim reports, demo data):

- ``inventory(conn_or_db, participant_id, year) -> InventoryView | None``: one year's
  inventory, or None. Fields (t-CO2e, integers): ``scope1``, ``scope2_location``,
  ``scope2_market``, ``scope3`` (the sum of categories), ``scope3_categories`` ({"1": t, ...,
  "15": t}, only recorded ones), ``reduction_scope1/2/3`` (own reductions), ``target_scope12``,
  ``target_scope3`` (None when unset), ``purchased_electricity_kwh``, ``purchased_heat_kwh``,
  ``note``, ``updated_at``, ``journal_seq``.
- ``position(conn_or_db, participant_id, year) -> Position``: the hierarchy view of that year:
  for each scope ("1", "2", "3") its emissions, own reductions, tonnes already claimed by
  retirements, and residual emissions (never below 0); plus ``claims`` by use and scope.
  Works without an inventory (emissions are then None).
- ``list_inventories(db, actor, participant_id)``: the years recorded.
- ``record(db, actor, participant_id, year, Inventory)``: record or replace a year (the
  participant itself, or the operator); ``import_csv(db, actor, text)``: many years at once.

Scope 2 residual uses the location-based figure (the emissions of the energy bought, before any
certificate); the market-based one is kept for disclosure. This module never moves credits.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from typing import Any

from sqlalchemy import Connection, delete, func, select

from tanso.domain import csv_cells
from tanso.domain.errors import Forbidden, InvalidInput, NotFound
from tanso.services.common import Actor, Idem, execute, loader, plain, require_active
from tanso.store import repo
from tanso.store import schema_usage as u
from tanso.store.db import Database, Tx

MAX_TONNES = 10**12
SCOPE3_CATEGORIES = range(1, 16)
"""The 15 categories of the GHG Protocol Scope 3 Standard (環境省 サプライチェーン排出量); their
names are the web layer's (the ``scope3_category`` group of the gettext catalogs)."""


@dataclass(frozen=True, slots=True)
class Inventory:
    """One year's figures, t-CO2e (energy in kWh); whole numbers, never negative."""

    scope1: int = 0
    scope2_location: int = 0
    scope2_market: int = 0
    scope3_categories: dict[int, int] = field(default_factory=dict)
    reduction_scope1: int = 0
    reduction_scope2: int = 0
    reduction_scope3: int = 0
    target_scope12: int | None = None
    target_scope3: int | None = None
    purchased_electricity_kwh: int = 0
    purchased_heat_kwh: int = 0
    note: str = ""

    @property
    def scope3(self) -> int:
        return sum(self.scope3_categories.values())


@dataclass(frozen=True, slots=True)
class InventoryView:
    """One year's inventory as recorded: the figures, Scope 3 by category ("1".."15", only the
    recorded ones) and their sum, when and by which journal entry it was recorded."""

    participant_id: str
    reporting_year: int
    scope1: int
    scope2_location: int
    scope2_market: int
    reduction_scope1: int
    reduction_scope2: int
    reduction_scope3: int
    target_scope12: int | None
    target_scope3: int | None
    purchased_electricity_kwh: int
    purchased_heat_kwh: int
    scope3: int
    scope3_categories: dict[str, int]
    note: str
    updated_at: str
    journal_seq: int
    verification: str
    """``unverified``, ``reported`` (GX-ETS: awaiting its verification body), ``verified``
    or ``returned`` (with ``findings``): only a verified figure counts for GX-ETS."""
    verified_by: str | None
    verified_at: str | None
    findings: str


VERIFICATION_KEPT = ("verification", "verified_by", "verified_at", "findings")


@dataclass(frozen=True, slots=True)
class ClaimedTonnes:
    """Tonnes a participant's retirements claimed for a year, for one use, scope and category."""

    use: str
    scope: str
    scope3_category: int | None
    unit: str
    quantity: int
    tonnes: int


@dataclass(frozen=True, slots=True)
class ScopePosition:
    """One scope of the hierarchy: emissions (None without an inventory), own reductions,
    tonnes claimed by retirements, and residual emissions (never below 0)."""

    emissions: int | None
    own_reductions: int
    claimed: int
    residual: int | None


@dataclass(frozen=True, slots=True)
class Position:
    """The hierarchy of a participant's year, by scope ("1", "2", "3", "1+2")."""

    participant_id: str
    reporting_year: int
    inventory: InventoryView | None
    scopes: dict[str, ScopePosition]
    claims: list[ClaimedTonnes]


@dataclass(frozen=True, slots=True)
class InventoryPosition(InventoryView):
    """One year's inventory with its hierarchy position and the claims made against it."""

    position: dict[str, ScopePosition]
    claims: list[ClaimedTonnes]


@dataclass(frozen=True, slots=True)
class InventoryImport:
    imported: int
    inventories: list[InventoryView]


def _payload(view: InventoryView) -> dict[str, Any]:
    """An inventory as the journal records it (without when and by which entry)."""
    return {k: v for k, v in plain(view).items() if k not in ("updated_at", "journal_seq")}


NUMBER_FIELDS = [f.name for f in fields(Inventory) if f.name not in ("scope3_categories", "note")]
OPTIONAL_FIELDS = ("target_scope12", "target_scope3")


def check(inv: Inventory) -> None:
    """Refuse figures that cannot be an inventory; the message names the field."""
    for name in NUMBER_FIELDS:
        value = getattr(inv, name)
        if value is None and name in OPTIONAL_FIELDS:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInput("invalid_inventory", f"{name} must be a whole number.")
        if not 0 <= value <= MAX_TONNES:
            raise InvalidInput("invalid_inventory", f"{name} must be between 0 and {MAX_TONNES:,}.")
    for cat, value in inv.scope3_categories.items():
        if cat not in SCOPE3_CATEGORIES:
            raise InvalidInput(
                "invalid_scope3_category", f"Scope 3 category {cat} is not one of 1 to 15."
            )
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TONNES:
            raise InvalidInput(
                "invalid_inventory",
                f"scope3 category {cat} must be a whole number between 0 and {MAX_TONNES:,}.",
            )
    for scope, emitted, reduced in (
        ("1", inv.scope1, inv.reduction_scope1),
        ("2", inv.scope2_location, inv.reduction_scope2),
        ("3", inv.scope3, inv.reduction_scope3),
    ):
        if reduced > emitted:
            raise InvalidInput(
                "reduction_exceeds_emissions",
                f"Own reductions of Scope {scope} ({reduced:,} t) exceed its emissions "
                f"({emitted:,} t).",
            )
    if len(inv.note) > 2000:
        raise InvalidInput("text_too_long", "note may be at most 2000 characters.")


def _check_year(year: int) -> None:
    if isinstance(year, bool) or not isinstance(year, int) or not 1990 <= year <= 2100:
        raise InvalidInput("invalid_year", "year is a year between 1990 and 2100.")


def _may_write(conn: Connection, actor: Actor, participant_id: str) -> None:
    if repo.get_participant(conn, participant_id) is None:
        raise NotFound("participant_not_found", f"There is no participant {participant_id}.")
    if not (actor.is_operator() or actor.participant_id == participant_id):
        raise Forbidden(
            "not_your_inventory", "Only the participant itself or the operator may record it."
        )
    if actor.participant_id == participant_id:
        require_active(conn, actor)


def _may_read(actor: Actor, participant_id: str) -> None:
    if not (actor.is_operator() or actor.participant_id == participant_id):
        # someone else's inventory answers exactly like a missing one
        raise NotFound("inventory_not_found", f"There is no inventory of {participant_id}.")


def write(
    tx: Tx, participant_id: str, year: int, inv: Inventory, status: dict[str, Any] | None = None
) -> InventoryView:
    """Replace the year's inventory. Its verification status is ``status`` when given, else
    kept while Scope 1 stays the same (a changed Scope 1 is unverified again)."""
    conn = tx.conn
    inv_t, s3 = u.emissions_inventories, u.inventory_scope3
    if status is None:
        before = inventory(conn, participant_id, year)
        status = {}
        if before is not None and before.scope1 == inv.scope1:
            status = {k: getattr(before, k) for k in VERIFICATION_KEPT}
    conn.execute(
        delete(inv_t).where(
            inv_t.c.participant_id == participant_id, inv_t.c.reporting_year == year
        )
    )
    conn.execute(
        delete(s3).where(s3.c.participant_id == participant_id, s3.c.reporting_year == year)
    )
    repo.insert_row(
        conn,
        inv_t,
        participant_id=participant_id,
        reporting_year=year,
        **{name: getattr(inv, name) for name in NUMBER_FIELDS},
        note=inv.note,
        updated_at=tx.at,
        journal_seq=tx.next_seq(),
        **status,
    )
    for cat, value in sorted(inv.scope3_categories.items()):
        repo.insert_row(
            conn,
            s3,
            participant_id=participant_id,
            reporting_year=year,
            category=cat,
            emissions=value,
        )
    view = inventory(conn, participant_id, year)
    assert view is not None
    return view


def record(
    db: Database,
    actor: Actor,
    participant_id: str,
    year: int,
    inv: Inventory,
    idem: Idem | None = None,
) -> InventoryView:
    """Record (or replace) a participant's inventory of one year; one journal entry."""
    _check_year(year)
    check(inv)

    def work(tx: Tx) -> InventoryView:
        _may_write(tx.conn, actor, participant_id)
        replaced = inventory(tx.conn, participant_id, year) is not None
        view = write(tx, participant_id, year, inv)
        tx.record(
            "inventory.recorded",
            actor.label,
            _payload(view) | {"replaced": replaced},
        )
        return view

    return execute(db, actor, idem, work, 200, loader(InventoryView))


# ---------------------------------------------------------------- CSV import

CSV_COLUMNS = (
    ["participant_id", "reporting_year", "scope1", "scope2_location", "scope2_market"]
    + [f"scope3_c{i}" for i in SCOPE3_CATEGORIES]
    + [
        "reduction_scope1",
        "reduction_scope2",
        "reduction_scope3",
        "target_scope12",
        "target_scope3",
        "purchased_electricity_kwh",
        "purchased_heat_kwh",
        "note",
    ]
)
"""The columns of an inventory CSV (a header row first); only reporting_year is required (``year``,
its old name, is read as it). Empty cells are 0 (targets: unset); participant_id may be left out
for one's own inventory."""
OLD_CSV_NAMES = {"year": "reporting_year"}

MAX_CSV_ROWS = 1000
MAX_CSV_BYTES = 2_000_000
"""The largest inventory CSV file, uploaded through the API or the portal alike; the request
that carries it is bounded before that by TANSO_MAX_UPLOAD_BYTES (``api/limits.py``)."""
BOM = b"\xef\xbb\xbf"


def read_csv_file(data: bytes) -> str:
    """The text of an uploaded inventory CSV (UTF-8, a byte-order mark dropped). Refused, with
    nothing imported, when it is empty (``empty_file``), larger than ``MAX_CSV_BYTES``
    (``file_too_large``) or not UTF-8 (``invalid_encoding``)."""
    if not data.removeprefix(BOM).strip():
        raise InvalidInput("empty_file", "The file is empty. Nothing was imported.")
    if len(data) > MAX_CSV_BYTES:
        raise InvalidInput(
            "file_too_large",
            f"An inventory CSV may be at most {MAX_CSV_BYTES:,} bytes (2 MB); this one is "
            f"{len(data):,} bytes. Nothing was imported.",
        )
    try:
        return data.removeprefix(BOM).decode("utf-8")
    except UnicodeDecodeError as e:
        raise InvalidInput(
            "invalid_encoding",
            f"An inventory CSV is UTF-8 text; byte {e.start + 1:,} of this file is not. Save it "
            "as UTF-8 (with or without a byte-order mark). Nothing was imported.",
        ) from None


@dataclass(frozen=True, slots=True)
class CsvRow:
    line: int
    participant_id: str
    year: int
    inventory: Inventory


def _records(reader: csv.DictReader[str], errors: list[str]) -> Iterator[dict[str, Any]]:
    """The reader's rows until the end or the first line that is not CSV (told in ``errors``)."""
    try:
        yield from reader
    except csv.Error as e:
        line = reader.line_num + 1
        errors.append(f"row {line}: this line is not CSV the importer can read ({e}).")


def parse_csv(text: str, default_participant: str) -> tuple[list[CsvRow], list[str]]:
    """Read an inventory CSV: the good rows and one error line per bad row (``row N: ...``)."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = [OLD_CSV_NAMES.get(h.strip(), h.strip()) for h in reader.fieldnames or []]
    except csv.Error as e:
        return [], [f"header: this is not CSV the importer can read ({e})."]
    if "reporting_year" not in header:
        return [], ["header: the first row names the columns and must include 'reporting_year'."]
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if unknown:
        return [], [
            f"header: unknown column(s) {', '.join(unknown)}; "
            f"the columns are {', '.join(CSV_COLUMNS)}."
        ]
    rows: list[CsvRow] = []
    errors: list[str] = []
    seen: set[tuple[str, int]] = set()
    for n, raw in enumerate(_records(reader, errors), start=2):
        if n - 1 > MAX_CSV_ROWS:
            errors.append(f"row {n}: at most {MAX_CSV_ROWS} rows per file.")
            break
        cells = {
            OLD_CSV_NAMES.get(k.strip(), k.strip()): csv_cells.unneutralise((v or "").strip())
            for k, v in raw.items()
            if k
        }
        if not any(cells.values()):
            continue
        try:
            row = _csv_row(n, cells, default_participant)
        except InvalidInput as e:
            errors.append(f"row {n}: {e.message}")
            continue
        key = (row.participant_id, row.year)
        if key in seen:
            errors.append(f"row {n}: {row.participant_id} {row.year} appears twice in the file.")
            continue
        seen.add(key)
        rows.append(row)
    if not rows and not errors:
        errors.append("The file has no inventory rows.")
    return rows, errors


def _int(cells: dict[str, str], name: str, optional: bool = False) -> int | None:
    text = cells.get(name, "").replace(",", "").replace("_", "")
    if text == "":
        return None if optional else 0
    if not (text.isascii() and text.isdigit()):
        raise InvalidInput("invalid_inventory", f"{name} must be a whole number, not {text!r}.")
    return int(text)


def _csv_row(line: int, cells: dict[str, str], default_participant: str) -> CsvRow:
    year = _int(cells, "reporting_year", optional=True)
    if year is None:
        raise InvalidInput("invalid_year", "reporting_year is missing.")
    _check_year(year)
    scope3 = {
        i: v for i in SCOPE3_CATEGORIES if (v := _int(cells, f"scope3_c{i}", True)) is not None
    }
    values: dict[str, Any] = {
        name: _int(cells, name, name in OPTIONAL_FIELDS) for name in NUMBER_FIELDS
    }
    inv = Inventory(**values, scope3_categories=scope3, note=cells.get("note", ""))
    check(inv)
    return CsvRow(line, cells.get("participant_id") or default_participant, year, inv)


def import_csv(db: Database, actor: Actor, text: str, idem: Idem | None = None) -> InventoryImport:
    """Record every year of a CSV in one transaction, or none: a bad row refuses the file and
    the message lists every bad row."""
    if len(text) > MAX_CSV_BYTES:
        raise InvalidInput("file_too_large", "An inventory CSV may be at most 2 MB.")
    rows, errors = parse_csv(text, actor.participant_id)
    if errors:
        raise InvalidInput("invalid_csv", "Nothing was imported. " + " ".join(errors[:50]))

    def work(tx: Tx) -> InventoryImport:
        problems: list[str] = []
        for row in rows:
            try:
                _may_write(tx.conn, actor, row.participant_id)
            except (NotFound, Forbidden) as e:
                problems.append(f"row {row.line}: {e.message}")
        if problems:
            raise InvalidInput("invalid_csv", "Nothing was imported. " + " ".join(problems[:50]))
        views = [write(tx, r.participant_id, r.year, r.inventory) for r in rows]
        tx.record(
            "inventory.imported",
            actor.label,
            {"inventories": [_payload(view) for view in views]},
        )
        return InventoryImport(len(views), views)

    return execute(db, actor, idem, work, 200, loader(InventoryImport))


def to_csv(views: list[InventoryView]) -> str:
    """Inventories as CSV in the import format (a file exported here imports again unchanged)."""
    out = io.StringIO()
    w = csv_cells.writer(out, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for v in views:
        cats = v.scope3_categories
        row: list[Any] = []
        for col in CSV_COLUMNS:
            if col.startswith("scope3_c"):
                row.append(cats.get(col[len("scope3_c") :], ""))
            else:
                value = getattr(v, col)
                row.append("" if value is None else value)
        w.writerow(row)
    return out.getvalue()


# ---------------------------------------------------------------- reading


def _conn_of(source: Database | Connection) -> Any:
    return source.read() if isinstance(source, Database) else _Borrowed(source)


class _Borrowed:
    """A connection the caller already holds, used like ``db.read()``."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def __enter__(self) -> Connection:
        return self.conn

    def __exit__(self, *exc: object) -> None:
        return None


def _view(row: Any, cats: dict[int, int]) -> InventoryView:
    numbers: dict[str, Any] = {}
    for name in NUMBER_FIELDS:
        value = getattr(row, name)
        numbers[name] = None if value is None else int(value)
    return InventoryView(
        participant_id=row.participant_id,
        reporting_year=row.reporting_year,
        **numbers,
        scope3=sum(cats.values()),
        scope3_categories={str(k): v for k, v in sorted(cats.items())},
        note=row.note,
        updated_at=row.updated_at,
        journal_seq=int(row.journal_seq),
        verification=row.verification,
        verified_by=row.verified_by,
        verified_at=row.verified_at,
        findings=row.findings,
    )


def inventory(
    source: Database | Connection, participant_id: str, year: int
) -> InventoryView | None:
    """One year's inventory of a participant, or None if none was recorded."""
    inv_t, s3 = u.emissions_inventories, u.inventory_scope3
    with _conn_of(source) as conn:
        row = conn.execute(
            select(inv_t).where(
                inv_t.c.participant_id == participant_id, inv_t.c.reporting_year == year
            )
        ).first()
        if row is None:
            return None
        cats = {
            int(r.category): int(r.emissions)
            for r in conn.execute(
                select(s3.c.category, s3.c.emissions).where(
                    s3.c.participant_id == participant_id, s3.c.reporting_year == year
                )
            )
        }
        return _view(row, cats)


def claimed(source: Database | Connection, participant_id: str, year: int) -> list[ClaimedTonnes]:
    """Tonnes claimed by a participant's retirements for a year, by use, scope and category."""
    c = u.usage_claims
    with _conn_of(source) as conn:
        rows = conn.execute(
            select(
                c.c.use,
                c.c.scope,
                c.c.scope3_category,
                c.c.unit,
                func.sum(c.c.quantity).label("quantity"),
                func.sum(c.c.tonnes).label("tonnes"),
            )
            .where(c.c.participant_id == participant_id, c.c.reporting_year == year)
            .group_by(c.c.use, c.c.scope, c.c.scope3_category, c.c.unit)
            .order_by(c.c.use, c.c.scope, c.c.scope3_category, c.c.unit)
        ).all()
    return [
        ClaimedTonnes(
            use=r.use,
            scope=r.scope,
            scope3_category=r.scope3_category,
            unit=r.unit,
            quantity=int(r.quantity),
            tonnes=int(r.tonnes),
        )
        for r in rows
    ]


def position(source: Database | Connection, participant_id: str, year: int) -> Position:
    """The hierarchy of a year: emissions, own reductions, claimed and residual by scope.

    "1+2" holds claims made against Scope 1 and 2 together (温対法 SHK); they also reduce the
    residual of "1+2", which counts every claim of Scope 1, Scope 2 and "1+2"."""
    with _conn_of(source) as conn:
        inv = inventory(conn, participant_id, year)
        claims = claimed(conn, participant_id, year)
    scopes: dict[str, ScopePosition] = {}
    basis: dict[str, tuple[str, ...]] = {
        "1": ("scope1",),
        "2": ("scope2_location",),
        "3": ("scope3",),
    }
    basis["1+2"] = basis["1"] + basis["2"]
    inside = {"1": {"1"}, "2": {"2"}, "3": {"3"}, "1+2": {"1", "2", "1+2"}}
    for scope, keys in basis.items():
        got = sum(c.tonnes for c in claims if c.scope == scope)
        counted = sum(c.tonnes for c in claims if c.scope in inside[scope])
        emitted = sum(getattr(inv, k) for k in keys) if inv else None
        reduced = sum(getattr(inv, f"reduction_scope{s}") for s in scope.split("+")) if inv else 0
        scopes[scope] = ScopePosition(
            emissions=emitted,
            own_reductions=reduced,
            claimed=got,
            residual=None if emitted is None else max(0, emitted - reduced - counted),
        )
    return Position(participant_id, year, inv, scopes, claims)


def list_inventories(db: Database, actor: Actor, participant_id: str) -> list[InventoryView]:
    """The years a participant recorded, newest first (its own; the operator: anyone's)."""
    _may_read(actor, participant_id)
    inv_t = u.emissions_inventories
    with db.read() as conn:
        years = conn.scalars(
            select(inv_t.c.reporting_year)
            .where(inv_t.c.participant_id == participant_id)
            .order_by(inv_t.c.reporting_year.desc())
        ).all()
        return [v for y in years if (v := inventory(conn, participant_id, int(y))) is not None]


def get_inventory(db: Database, actor: Actor, participant_id: str, year: int) -> InventoryPosition:
    """One year's inventory with its hierarchy position; 404 if none (or not the caller's)."""
    _may_read(actor, participant_id)
    _check_year(year)
    with db.read() as conn:
        pos = position(conn, participant_id, year)
    inv = pos.inventory
    if inv is None:
        raise NotFound(
            "inventory_not_found", f"There is no inventory of {participant_id} for {year}."
        )
    figures = {f.name: getattr(inv, f.name) for f in fields(InventoryView)}
    return InventoryPosition(**figures, position=pos.scopes, claims=pos.claims)
