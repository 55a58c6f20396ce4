"""REST routes of the usage capability (thin: parse, call one service function, shape):
emissions inventories, evaluation of credits for a use, and the usage rule sets."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, File, Query, Response, UploadFile
from fastapi.responses import PlainTextResponse

from tanso.api import schemas_usage as su
from tanso.api.deps import DB, AnswerRoute, CanManage, CanOperate, CanRead, IdemKey
from tanso.api.schemas import many
from tanso.api.schemas_usage import (
    InventoryImport,
    InventoryPosition,
    InventoryRecord,
    RuleSet,
    RuleSetInForce,
    UseEvaluation,
)
from tanso.domain.errors import InvalidInput
from tanso.services.compliance import inventories, usage
from tanso.services.ledger import registry

router = APIRouter(prefix="/v1", route_class=AnswerRoute)

Year = Annotated[int, Query(ge=1990, le=2100)]


def _inventory(body: su.InventoryIn) -> inventories.Inventory:
    cats: dict[int, int] = {}
    for key, value in body.scope3_categories.items():
        if not (key.isascii() and key.isdigit()):
            raise InvalidInput("invalid_scope3_category", f"{key!r} is not a category 1 to 15.")
        cats[int(key)] = value
    fields = body.model_dump(exclude={"scope3_categories"})
    return inventories.Inventory(**fields, scope3_categories=cats)


@router.put(
    "/inventories/{participant_id}/{reporting_year}",
    response_model=InventoryRecord,
    tags=["inventories"],
)
def record_inventory(
    participant_id: str,
    reporting_year: int,
    body: su.InventoryIn,
    db: DB,
    actor: CanManage,
    idem: IdemKey,
) -> inventories.InventoryView:
    """Record or replace one year's emissions inventory (the participant itself, or the
    operator): Scope 1, Scope 2 location- and market-based, Scope 3 by category, own
    reductions, targets, purchased energy."""
    return inventories.record(db, actor, participant_id, reporting_year, _inventory(body), idem)


@router.get(
    "/inventories/{participant_id}",
    response_model=many(InventoryRecord),
    tags=["inventories"],
    responses={200: {"content": {"text/csv": {}}}},
)
def list_inventories(
    participant_id: str,
    db: DB,
    actor: CanRead,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> list[inventories.InventoryView] | Response:
    """The years a participant recorded, newest first; `format=csv` gives the import format."""
    views = inventories.list_inventories(db, actor, participant_id)
    if format == "csv":
        # a header is Latin-1: an id that is not plain ASCII does not go into the file name
        name = participant_id if re.fullmatch(r"[A-Za-z0-9_-]+", participant_id) else "x"
        return PlainTextResponse(
            inventories.to_csv(views),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="inventories-{name}.csv"'},
        )
    return views


@router.get(
    "/inventories/{participant_id}/{reporting_year}",
    response_model=InventoryPosition,
    tags=["inventories"],
)
def get_inventory(
    participant_id: str, reporting_year: int, db: DB, actor: CanRead
) -> inventories.InventoryPosition:
    """One year's inventory with its hierarchy position: emissions, own reductions, claimed and
    residual emissions by scope, and the claims made by retirements."""
    return inventories.get_inventory(db, actor, participant_id, reporting_year)


@router.post("/inventories/import", response_model=InventoryImport, tags=["inventories"])
def import_inventories(
    file: Annotated[UploadFile, File(description="The CSV (UTF-8), header row first.")],
    db: DB,
    actor: CanManage,
    idem: IdemKey,
) -> inventories.InventoryImport:
    """Import inventories from a CSV file (multipart/form-data, part `file`; at most
    TANSO_MAX_UPLOAD_BYTES a request and 2 MB of CSV): all rows or none; a refusal lists every
    bad row, or says that the file is empty, too large or not UTF-8."""
    text = inventories.read_csv_file(file.file.read())
    return inventories.import_csv(db, actor, text, idem)


@router.post("/usage/evaluate", response_model=UseEvaluation, tags=["usage"])
def evaluate(body: su.EvaluateIn, db: DB, actor: CanRead) -> usage.UseEvaluation:
    """May these credits of the account be used for this purpose? The decision, its reasons
    (each naming a rule and its source) and the largest quantity allowed. Nothing changes."""
    sel = registry.Selection(body.quantity, body.serial_start, body.serial_end, body.serials)
    return usage.evaluate(
        db,
        actor,
        body.account_id,
        sel,
        body.purpose,
        body.reporting_year,
        body.emissions_scope,
        body.scope3_category,
    )


@router.get("/usage/rulesets", response_model=many(RuleSet), tags=["usage", "public"])
def rulesets(db: DB, date: dt.date | None = None) -> list[usage.RuleSetView]:
    """Every usage rule set, shipped or added by the operator, marking the one in force on
    `date` (default: today)."""
    return usage.list_rulesets(db, date)


@router.get("/usage/rulesets/current", response_model=RuleSetInForce, tags=["usage", "public"])
def ruleset_in_force(db: DB, date: dt.date | None = None) -> usage.RuleSetView:
    """The rule set in force on `date` (default: today), with its rules and sources."""
    return usage.current_ruleset(db, date)


@router.post("/usage/rulesets", response_model=RuleSet, status_code=201, tags=["usage"])
def add_ruleset(
    db: DB,
    actor: CanOperate,
    idem: IdemKey,
    body: Annotated[dict[str, Any], Body()],
) -> usage.RuleSetView:
    """Add a usage rule set (operator); in force from its `effective_from`."""
    return usage.add_ruleset(db, actor, body, idem)
