"""Portal screens of the usage capability: the participant's emissions inventories.

``/portal/emissions`` lists the years recorded and shows one year's hierarchy (emissions, own
reductions, credits claimed by retirements, residual emissions by scope); an account manager or
administrator edits a year or uploads a CSV file (``/portal/emissions/import``, multipart, the same
limits as the API's import); ``/portal/emissions.csv`` downloads the years in the import format.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from tanso.domain.errors import TansoError
from tanso.http_status import status_of
from tanso.services.access.users import PortalUser
from tanso.services.compliance import inventories
from tanso.web import kit
from tanso.web.i18n import texts
from tanso.web.kit import CreditMover, CurrentUser, Form, Upload

router = APIRouter(route_class=kit.ScreenRoute, include_in_schema=False)


NUMBER_FIELDS = [
    "scope1",
    "scope2_location",
    "scope2_market",
    "reduction_scope1",
    "reduction_scope2",
    "reduction_scope3",
    "target_scope12",
    "target_scope3",
    "purchased_electricity_kwh",
    "purchased_heat_kwh",
]
CATEGORIES = list(inventories.SCOPE3_CATEGORIES)


def _page(
    request: Request,
    user: PortalUser,
    year: int | None = None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    notice: str = "",
    status: int = 200,
) -> HTMLResponse:
    db = kit.db(request)
    pid = user.participant_id
    years = inventories.list_inventories(db, kit.reader(user), pid)
    if year is None and years:
        year = years[0].reporting_year
    position = inventories.position(db, pid, year) if year is not None else None
    if values is None:
        inv = position.inventory if position else None
        values = _values(inv, year)
    return kit.page(
        request,
        "usage_emissions.html",
        user,
        status,
        group="usage",
        years=years,
        year=year,
        position=position,
        values=values,
        errors=errors or {},
        notice=notice,
        number_fields=NUMBER_FIELDS,
        categories=CATEGORIES,
        category_names=texts(kit.lang_of(request), "scope3_category"),
        columns=", ".join(inventories.CSV_COLUMNS),
    )


def _values(inv: inventories.InventoryView | None, year: int | None) -> dict[str, str]:
    values: dict[str, str] = {"year": str(year) if year else ""}
    if inv is None:
        return values
    for name in NUMBER_FIELDS:
        value = getattr(inv, name)
        values[name] = "" if value is None else str(value)
    for cat, t in inv.scope3_categories.items():
        values[f"c{cat}"] = str(t)
    values["note"] = inv.note
    return values


@router.get("/portal/emissions", response_class=HTMLResponse)
def emissions(
    request: Request,
    user: CurrentUser,
    year: Annotated[str | None, Query(max_length=8)] = None,
) -> Response:
    """The years recorded and one year's hierarchy, with the forms to edit and import."""
    try:
        chosen = kit.parse_int(year)
    except ValueError:
        return kit.not_found(request, user)
    if chosen is not None and not 1990 <= chosen <= 2100:
        return kit.not_found(request, user)
    return _page(request, user, chosen)


@router.get("/portal/emissions.csv")
def emissions_csv(request: Request, user: CurrentUser) -> Response:
    views = inventories.list_inventories(kit.db(request), kit.reader(user), user.participant_id)
    return Response(
        inventories.to_csv(views),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="inventories-{user.participant_id}.csv"'
        },
    )


@router.post("/portal/emissions")
def save(request: Request, user: CreditMover, form: Form) -> Response:
    errors: dict[str, str] = {}
    numbers: dict[str, int | None] = {}
    for name in ["year", *NUMBER_FIELDS, *(f"c{c}" for c in CATEGORIES)]:
        try:
            numbers[name] = kit.parse_int(form.get(name))
        except ValueError:
            errors[name] = "?"
        else:
            value = numbers[name]
            if value is not None and value < 0:
                errors[name] = "?"
    year = numbers.get("year")
    if year is None and "year" not in errors:
        errors["year"] = "?"
    if errors:
        return _refused(request, user, form, errors, None)
    assert year is not None

    def n(name: str) -> int:
        return numbers.get(name) or 0

    inv = inventories.Inventory(
        scope1=n("scope1"),
        scope2_location=n("scope2_location"),
        scope2_market=n("scope2_market"),
        scope3_categories={c: v for c in CATEGORIES if (v := numbers.get(f"c{c}")) is not None},
        reduction_scope1=n("reduction_scope1"),
        reduction_scope2=n("reduction_scope2"),
        reduction_scope3=n("reduction_scope3"),
        target_scope12=numbers.get("target_scope12"),
        target_scope3=numbers.get("target_scope3"),
        purchased_electricity_kwh=n("purchased_electricity_kwh"),
        purchased_heat_kwh=n("purchased_heat_kwh"),
        note=form.get("note", ""),
    )
    try:
        inventories.record(kit.db(request), user.actor, user.participant_id, year, inv)
    except TansoError as e:
        return _refused(request, user, form, {}, e)
    return _page(request, user, year, notice=_label(request, "inv_saved").format(year=year))


def _label(request: Request, key: str) -> str:
    return kit.labels(request, "usage")[key]


def _refused(
    request: Request,
    user: PortalUser,
    form: dict[str, str],
    errors: dict[str, str],
    e: TansoError | None,
) -> Response:
    general = kit.labels(request)
    fixed = {k: general["whole_number"] for k in errors}
    message = e.message if e else general["error"]
    fixed["_form"] = message
    status = status_of(e) if e else 422
    year = None
    try:
        year = kit.parse_int(form.get("year"))
    except ValueError:
        year = None
    if year is not None and not 1990 <= year <= 2100:
        year = None
    return _page(request, user, year, values=form, errors=fixed, status=status)


FILE_ERRORS = {
    "empty_file": "inv_file_empty",
    "file_too_large": "inv_file_too_large",
    "invalid_encoding": "inv_file_encoding",
}
"""The refusals of a file itself, told in the screen's language (a bad row stays in English,
as the API words it: it names the row and the column)."""


@router.post("/portal/emissions/import")
def import_csv(request: Request, user: CreditMover, upload: Upload) -> Response:
    """Import the inventory CSV file of the form's ``file`` part: all rows or none."""
    try:
        text = inventories.read_csv_file(upload or b"")
        out = inventories.import_csv(kit.db(request), user.actor, text)
    except TansoError as e:
        key = FILE_ERRORS.get(e.code)
        message = e.message
        if key is not None:
            limit = f"{inventories.MAX_CSV_BYTES:,}"
            message = _label(request, key).format(limit=limit)
        return _page(request, user, errors={"_import": message}, status=status_of(e))
    years = [v.reporting_year for v in out.inventories]
    return _page(
        request,
        user,
        max(years) if years else None,
        notice=_label(request, "inv_imported").format(n=out.imported),
    )
