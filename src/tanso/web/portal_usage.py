"""Portal screens of the usage capability: the participant's emissions inventories.

``/portal/emissions`` lists the years recorded and shows one year's hierarchy (emissions, own
reductions, credits claimed by retirements, residual emissions by scope); an account manager or
administrator edits a year or pastes a CSV (``/portal/emissions/import``); ``/portal/emissions.csv``
downloads the years in the import format.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from tanso.domain.errors import TansoError
from tanso.services.access.users import Capability, PortalUser
from tanso.services.compliance import inventories
from tanso.store.db import Database
from tanso.web import portal
from tanso.web.pages import LANG_COOKIE, Lang, choose_lang

router = APIRouter(include_in_schema=False)

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "emissions_title": "Emissions inventory",
        "emissions_intro": (
            "Your emissions by year (t-CO2e). Retirements are claimed against a year and a "
            "scope; the usage rules keep claims within the residual emissions after your own "
            "reductions."
        ),
        "inv_years": "Years recorded",
        "inv_none": "No inventory is recorded yet.",
        "inv_year": "Year",
        "inv_scope1": "Scope 1",
        "inv_scope2_location": "Scope 2 (location-based)",
        "inv_scope2_market": "Scope 2 (market-based)",
        "inv_scope3": "Scope 3",
        "inv_scope3_by_category": "Scope 3 by category",
        "inv_reduction_scope1": "Own reductions, Scope 1",
        "inv_reduction_scope2": "Own reductions, Scope 2",
        "inv_reduction_scope3": "Own reductions, Scope 3",
        "inv_target_scope12": "Target, Scope 1+2",
        "inv_target_scope3": "Target, Scope 3",
        "inv_purchased_electricity_kwh": "Purchased electricity (kWh)",
        "inv_purchased_heat_kwh": "Purchased heat (kWh)",
        "inv_note": "Note",
        "inv_position": "Hierarchy for {year}",
        "inv_scope": "Scope",
        "inv_emissions": "Emissions",
        "inv_reductions": "Own reductions",
        "inv_claimed": "Claimed by retirements",
        "inv_residual": "Residual",
        "inv_claims": "Claims by purpose",
        "inv_purpose": "Purpose",
        "inv_quantity": "Quantity",
        "inv_tonnes": "t-CO2e",
        "inv_edit": "Record or replace a year",
        "inv_edit_help": "Whole tonnes of CO2e. Recording a year again replaces it entirely.",
        "inv_save": "Save the year",
        "inv_saved": "The inventory for {year} was saved.",
        "inv_import": "Import from CSV",
        "inv_import_help": (
            "Paste a CSV with a header row. Columns: {columns}. Only year is required; "
            "all rows are imported, or none."
        ),
        "inv_csv": "CSV",
        "inv_import_button": "Import",
        "inv_imported": "{n} year(s) imported.",
        "inv_download": "Download as CSV",
        "inv_no_rights": "Only account managers and administrators may edit the inventory.",
        "inv_scope_12": "Scope 1+2",
        "inv_not_recorded": "not recorded",
    },
    "ja": {
        "emissions_title": "排出量インベントリ",
        "emissions_intro": (
            "年度ごとの排出量(t-CO2e)です。無効化は年度とスコープに対して主張され、"
            "活用ルールにより自社削減後の残余排出量の範囲内に収められます。"
        ),
        "inv_years": "登録済みの年度",
        "inv_none": "インベントリはまだ登録されていません。",
        "inv_year": "年度",
        "inv_scope1": "Scope 1",
        "inv_scope2_location": "Scope 2(ロケーション基準)",
        "inv_scope2_market": "Scope 2(マーケット基準)",
        "inv_scope3": "Scope 3",
        "inv_scope3_by_category": "Scope 3 カテゴリ別",
        "inv_reduction_scope1": "自社削減量 Scope 1",
        "inv_reduction_scope2": "自社削減量 Scope 2",
        "inv_reduction_scope3": "自社削減量 Scope 3",
        "inv_target_scope12": "目標 Scope 1+2",
        "inv_target_scope3": "目標 Scope 3",
        "inv_purchased_electricity_kwh": "購入電力量(kWh)",
        "inv_purchased_heat_kwh": "購入熱量(kWh)",
        "inv_note": "備考",
        "inv_position": "{year}年度の排出と充当",
        "inv_scope": "スコープ",
        "inv_emissions": "排出量",
        "inv_reductions": "自社削減量",
        "inv_claimed": "無効化による充当",
        "inv_residual": "残余排出量",
        "inv_claims": "用途別の充当",
        "inv_purpose": "用途",
        "inv_quantity": "数量",
        "inv_tonnes": "t-CO2e",
        "inv_edit": "年度を登録・置換",
        "inv_edit_help": (
            "CO2 換算トン(整数)で入力します。同じ年度を再登録すると全体が置き換わります。"
        ),
        "inv_save": "年度を保存",
        "inv_saved": "{year}年度のインベントリを保存しました。",
        "inv_import": "CSV から取り込み",
        "inv_import_help": (
            "見出し行つきの CSV を貼り付けてください。列: {columns}。必須は year のみです。"
            "全行を取り込むか、1行も取り込まないかのどちらかです。"
        ),
        "inv_csv": "CSV",
        "inv_import_button": "取り込む",
        "inv_imported": "{n}年度分を取り込みました。",
        "inv_download": "CSV でダウンロード",
        "inv_no_rights": "インベントリを編集できるのは口座管理者と管理者のみです。",
        "inv_scope_12": "Scope 1+2",
        "inv_not_recorded": "未登録",
    },
}

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


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def _page(
    request: Request,
    user: PortalUser,
    year: int | None = None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    notice: str = "",
    csv_text: str = "",
    status: int = 200,
) -> HTMLResponse:
    db = _db(request)
    pid = user.participant_id
    years = inventories.list_inventories(db, portal.reader(user), pid)
    if year is None and years:
        year = int(years[0]["year"])
    position = inventories.position(db, pid, year) if year is not None else None
    if values is None:
        inv = position["inventory"] if position else None
        values = _values(inv, year)
    return portal.page(
        request,
        "usage_emissions.html",
        status,
        user,
        labels=LABELS,
        years=years,
        year=year,
        position=position,
        values=values,
        errors=errors or {},
        notice=notice,
        csv_text=csv_text,
        number_fields=NUMBER_FIELDS,
        categories=CATEGORIES,
        category_names=inventories.SCOPE3_NAMES,
        columns=", ".join(inventories.CSV_COLUMNS),
        csrf=user.csrf_token,
    )


def _values(inv: dict[str, Any] | None, year: int | None) -> dict[str, str]:
    values: dict[str, str] = {"year": str(year) if year else ""}
    if inv is None:
        return values
    for name in NUMBER_FIELDS:
        values[name] = "" if inv[name] is None else str(inv[name])
    for cat, t in inv["scope3_categories"].items():
        values[f"c{cat}"] = str(t)
    values["note"] = inv["note"]
    return values


@router.get("/portal/emissions", response_class=HTMLResponse)
def emissions(
    request: Request, year: Annotated[str | None, Query(max_length=8)] = None
) -> Response:
    """The years recorded and one year's hierarchy, with the forms to edit and import."""
    user = portal.current_user(request)
    if user is None:
        return portal.to_login()
    try:
        chosen = portal.parse_int(year)
    except ValueError:
        return portal.not_found(request, user)
    if chosen is not None and not 1990 <= chosen <= 2100:
        return portal.not_found(request, user)
    return _page(request, user, chosen)


@router.get("/portal/emissions.csv")
def emissions_csv(request: Request) -> Response:
    user = portal.current_user(request)
    if user is None:
        return portal.to_login()
    views = inventories.list_inventories(_db(request), portal.reader(user), user.participant_id)
    return Response(
        inventories.to_csv(views),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="inventories-{user.participant_id}.csv"'
        },
    )


def _save(request: Request, user: PortalUser, form: dict[str, str]) -> Response:
    errors: dict[str, str] = {}
    numbers: dict[str, int | None] = {}
    for name in ["year", *NUMBER_FIELDS, *(f"c{c}" for c in CATEGORIES)]:
        try:
            numbers[name] = portal.parse_int(form.get(name))
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
        inventories.record(_db(request), user.actor, user.participant_id, year, inv)
    except TansoError as e:
        return _refused(request, user, form, {}, e)
    return _page(request, user, year, notice=_label(request, "inv_saved").format(year=year))


def _label(request: Request, key: str) -> str:
    return LABELS[_lang(request)][key]


def _refused(
    request: Request,
    user: PortalUser,
    form: dict[str, str],
    errors: dict[str, str],
    e: TansoError | None,
) -> Response:
    general = portal.LABELS[_lang(request)]
    fixed = {k: general["whole_number"] for k in errors}
    message = e.message if e else general["error"]
    fixed["_form"] = message
    status = portal.refusal_status(e) if e else 422
    year = None
    try:
        year = portal.parse_int(form.get("year"))
    except ValueError:
        year = None
    if year is not None and not 1990 <= year <= 2100:
        year = None
    return _page(request, user, year, values=form, errors=fixed, status=status)


def _lang(request: Request) -> Lang:
    return choose_lang(
        request.query_params.get("lang"),
        request.cookies.get(LANG_COOKIE),
        request.headers.get("accept-language"),
    )


@router.post("/portal/emissions")
async def save(request: Request) -> Response:
    return await portal.post(request, _save, Capability.MOVE_CREDITS)


def _import(request: Request, user: PortalUser, form: dict[str, str]) -> Response:
    text = form.get("csv", "")
    try:
        out = inventories.import_csv(_db(request), user.actor, text)
    except TansoError as e:
        return _page(
            request,
            user,
            errors={"_import": e.message},
            csv_text=text,
            status=portal.refusal_status(e),
        )
    years = [int(v["year"]) for v in out["inventories"]]
    return _page(
        request,
        user,
        max(years) if years else None,
        notice=_label(request, "inv_imported").format(n=out["imported"]),
    )


@router.post("/portal/emissions/import")
async def import_csv(request: Request) -> Response:
    return await portal.post(request, _import, Capability.MOVE_CREDITS)
