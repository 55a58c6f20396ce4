"""GX-ETS routes (docs/gx-ets.md): public prices and register; the scheme administrator's
covered entities, allocations and price-stability operation (public record); the entity's
emissions, surrenders and ceiling payments; the verification body's verification.
``fiscal_year`` is always a fiscal year (年度, April to March) named by the year it starts in,
not a calendar reporting year."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import Field

from tanso.api.deps import (
    DB,
    AnswerRoute,
    CanManage,
    CanOperate,
    CanRead,
    CanRetire,
    IdemKey,
    needs,
)
from tanso.api.schemas import Body, Id, Out, SelectionIn, answer, many
from tanso.domain import gx as rules
from tanso.domain.participants import Scope
from tanso.services.common import Actor
from tanso.services.compliance import gx, gx_compliance, gx_cycle, gx_market
from tanso.services.ledger.blocks import Selection
from tanso.services.trading.exchange import Exchange

router = APIRouter(prefix="/v1/gx", tags=["GX-ETS"], route_class=AnswerRoute)

FiscalYear = Annotated[
    int, Path(ge=2000, le=2100, description="Fiscal year (年度, April to March), e.g. 2026.")
]
CanVerify = Annotated[Actor, Depends(needs(Scope.VERIFY))]

CoveredOut = answer(gx_cycle.CoveredEntity, "GxCoveredEntity")
AllocationOut = answer(gx_cycle.AllocationView, "GxAllocation")
EmissionsOut = answer(gx_cycle.Emissions, "GxEmissions")
ComplianceOut = answer(gx_compliance.Compliance, "GxCompliance")
SurrenderOut = answer(gx_compliance.Surrender, "GxSurrender")
PaymentOut = answer(gx_compliance.CeilingPayment, "GxCeilingPayment")
RegisterOut = answer(gx_compliance.RegisterRow, "GxRegisterRow")


class GxPrices(Out):
    """A GX fiscal year's prices in whole yen per t-CO2 (fiscal year: April to March, named by
    the year it starts in)."""

    fiscal_year: int
    ceiling: int
    """参考上限取引価格: paid per tonne instead of surrendering allowances."""
    floor: int
    """調整基準取引価格: below it, supply is tightened."""
    status: str
    """``published``, or ``provisional`` until the year's values are published."""
    basis_year: int
    source: str
    rule: str


@router.get("/prices/{fiscal_year}", response_model=GxPrices, tags=["public"])
def prices(fiscal_year: FiscalYear) -> rules.Prices:
    """The reference ceiling and adjustment reference prices of a fiscal year (April to March):
    as published, or provisional from the rule (the last published price × 1.03 a year, rounded
    once to the nearest yen, half up) until published; 404 `gx_prices_not_set` outside the rule."""
    return gx.prices(fiscal_year)


class CoverIn(Body):
    participant_id: str = Id
    fiscal_year: int = Field(ge=2000, le=2100, description="Fiscal year (April to March).")
    sectors: list[str] = Field(min_length=1, max_length=50)
    facilities: list[str] = Field(default_factory=list, max_length=500)
    group_members: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="Participants of the entity's corporate group it complies for.",
    )


@router.post("/covered-entities", response_model=CoveredOut, status_code=201)
def cover(body: CoverIn, db: DB, actor: CanOperate, idem: IdemKey) -> gx_cycle.CoveredEntity:
    """Mark a participant covered for a fiscal year (scheme administrator); opens its allowance
    holding and compliance accounts the first time."""
    return gx_cycle.cover(
        db,
        actor,
        body.participant_id,
        body.fiscal_year,
        body.sectors,
        body.facilities,
        body.group_members,
        idem,
    )


@router.get("/covered-entities/{fiscal_year}", response_model=many(CoveredOut), tags=["public"])
def covered(fiscal_year: FiscalYear, db: DB) -> list[gx_cycle.CoveredEntity]:
    """Every entity covered in a fiscal year, with its sectors and accounts (public)."""
    return gx_cycle.list_covered(db, fiscal_year)


class AllocationIn(Body):
    participant_id: str = Id
    fiscal_year: int = Field(ge=2000, le=2100, description="Fiscal year (April to March).")
    method: Literal["benchmark", "grandfathering", "quantity", "auction"]
    quantity: int | None = Field(default=None, ge=1, le=10**12)
    inputs: dict[str, int | str] = Field(
        default_factory=dict,
        max_length=10,
        description="benchmark: sector, production; grandfathering: base_emissions; either: "
        "early_reduction; quantity: reason.",
    )


@router.post("/allocations", response_model=AllocationOut, status_code=201)
def allocate(
    body: AllocationIn, db: DB, actor: CanOperate, idem: IdemKey
) -> gx_cycle.AllocationView:
    """Issue allowances (vintage = the fiscal year) by a calculator of the rule set, recording
    its inputs and working (scheme administrator only)."""
    inputs: dict[str, Any] = dict(body.inputs)
    if body.quantity is not None:
        inputs["quantity"] = body.quantity
    return gx_cycle.allocate(
        db, actor, body.participant_id, body.fiscal_year, body.method, inputs, idem
    )


@router.get("/allocations/{participant_id}/{fiscal_year}", response_model=many(AllocationOut))
def allocations(
    participant_id: str, fiscal_year: FiscalYear, db: DB, actor: CanRead
) -> list[gx_cycle.AllocationView]:
    """A participant's allocations of a fiscal year (itself, operators, verification bodies)."""
    return gx_cycle.list_allocations(db, actor, participant_id, fiscal_year)


class EmissionsIn(Body):
    direct_co2: int = Field(ge=0, le=10**12, description="Direct CO2 emissions, whole t-CO2.")
    note: str = Field(default="", max_length=2000)


@router.put("/emissions/{participant_id}/{fiscal_year}", response_model=EmissionsOut)
def report(
    participant_id: str,
    fiscal_year: FiscalYear,
    body: EmissionsIn,
    db: DB,
    actor: CanManage,
    idem: IdemKey,
) -> gx_cycle.Emissions:
    """Report the entity's direct CO2 emissions of a fiscal year: Scope 1 of that year's
    inventory (the one emissions store), ``reported`` until a verification body confirms it."""
    return gx_cycle.report_emissions(
        db, actor, participant_id, fiscal_year, body.direct_co2, body.note, idem
    )


@router.get("/emissions/{participant_id}/{fiscal_year}", response_model=EmissionsOut)
def emissions(
    participant_id: str, fiscal_year: FiscalYear, db: DB, actor: CanRead
) -> gx_cycle.Emissions:
    """The reported emissions of a fiscal year with their verification status."""
    return gx_cycle.emissions(db, actor, participant_id, fiscal_year)


@router.get("/verifications", response_model=many(EmissionsOut))
def awaiting(db: DB, actor: CanRead) -> list[gx_cycle.Emissions]:
    """Reported emissions awaiting verification (verification bodies and operators)."""
    return gx_cycle.awaiting_verification(db, actor)


class VerificationIn(Body):
    decision: Literal["verified", "returned"]
    findings: str = Field(default="", max_length=4000)


@router.post("/emissions/{participant_id}/{fiscal_year}/verification", response_model=EmissionsOut)
def verify(
    participant_id: str,
    fiscal_year: FiscalYear,
    body: VerificationIn,
    db: DB,
    actor: CanVerify,
    idem: IdemKey,
) -> gx_cycle.Emissions:
    """Confirm the reported emissions or return them with findings (a verification body,
    登録確認機関, that is neither the entity nor of its corporate group)."""
    return gx_cycle.verify_emissions(
        db, actor, participant_id, fiscal_year, body.decision, body.findings, idem
    )


class SurrenderIn(SelectionIn):
    participant_id: str = Id
    fiscal_year: int = Field(ge=2000, le=2100, description="Fiscal year (April to March).")
    kind: Literal["allowances", "credits"]
    account_id: str = Id


@router.post("/surrenders", response_model=SurrenderOut, status_code=201)
def surrender(
    body: SurrenderIn, db: DB, actor: CanRetire, idem: IdemKey
) -> gx_compliance.Surrender:
    """Surrender allowances, or J-Credits / eligible JCM credits within the 10% cap, toward a
    fiscal year, from the entity's own account (a quantity, oldest first, or serials)."""
    sel = Selection(body.quantity, body.serial_start, body.serial_end, body.serials)
    return gx_compliance.surrender(
        db, actor, body.participant_id, body.fiscal_year, body.kind, body.account_id, sel, idem
    )


class CeilingIn(Body):
    participant_id: str = Id
    fiscal_year: int = Field(ge=2000, le=2100, description="Fiscal year (April to March).")
    quantity: int = Field(ge=1, le=10**12)


@router.post("/ceiling-payments", response_model=PaymentOut, status_code=201)
def pay(body: CeilingIn, db: DB, actor: CanRetire, idem: IdemKey) -> gx_compliance.CeilingPayment:
    """Pay the fiscal year's reference ceiling price per tonne from the entity's yen cash
    account to the scheme's account, instead of surrendering allowances."""
    return gx_compliance.pay_ceiling(
        db, actor, body.participant_id, body.fiscal_year, body.quantity, idem
    )


@router.get("/compliance/{participant_id}/{fiscal_year}", response_model=ComplianceOut)
def compliance(
    participant_id: str, fiscal_year: FiscalYear, db: DB, actor: CanRead
) -> gx_compliance.Compliance:
    """The entity's compliance position for a fiscal year: verified emissions, surrendered
    allowances and credits, ceiling payments, shortfall and status (open, compliant,
    non_compliant after the deadline)."""
    return gx_compliance.compliance(db, actor, participant_id, fiscal_year)


@router.get(
    "/register/{fiscal_year}",
    response_model=many(RegisterOut),
    tags=["public"],
    responses={200: {"content": {"text/csv": {}}, "description": "JSON, or CSV"}},
)
def register(
    fiscal_year: FiscalYear,
    db: DB,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> Any:
    """The public register of a fiscal year, as ETS registries publish: per covered entity,
    allocation, verified emissions, units surrendered by type, ceiling payments and compliance
    status. ``format=csv`` for a download."""
    rows = gx_compliance.register(db, fiscal_year)
    if format == "csv":
        return PlainTextResponse(
            gx_compliance.register_csv(fiscal_year, rows),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="gx-register-FY{fiscal_year}.csv"'
            },
        )
    return rows


# ---------------------------------------------------------------- price-stability operation

StabilityOut = answer(gx_market.StabilityOperation, "GxStabilityOperation")
StabilityRecordOut = answer(gx_market.StabilityRecord, "GxStabilityRecord")


class StabilityBuyIn(Body):
    instrument_id: str = Field(
        min_length=1, max_length=64, description="An allowance instrument, e.g. GX-ALLOW-2026."
    )
    quantity: int = Field(ge=1, le=10**12, description="Allowances to buy, whole t-CO2.")


class StabilityCancelIn(Body):
    quantity: int = Field(ge=1, le=10**12, description="Allowances to cancel, whole t-CO2.")


@router.post("/price-stability", response_model=StabilityOut, status_code=201)
def stability_buy(
    body: StabilityBuyIn, request: Request, db: DB, actor: CanOperate, idem: IdemKey
) -> gx_market.StabilityOperation:
    """価格安定化措置: the scheme administrator's buy order on an allowance instrument at the
    fiscal year's adjustment reference price (調整基準取引価格), into its price-stability account
    (a day order paid from its yen cash account; it settles like any trade)."""
    exchange: Exchange = request.app.state.exchange
    return gx_market.buy(db, exchange, actor, body.instrument_id, body.quantity, idem)


@router.post("/price-stability/cancellations", response_model=StabilityOut, status_code=201)
def stability_cancel(
    body: StabilityCancelIn, db: DB, actor: CanOperate, idem: IdemKey
) -> gx_market.StabilityOperation:
    """Cancel (取消) allowances the operation's buys delivered to the scheme administrator, for
    good (reason "GX-ETS price-stability operation"): at most what they delivered and is still
    held (409 `exceeds_bought`)."""
    return gx_market.cancel(db, actor, body.quantity, idem)


@router.get("/price-stability", response_model=StabilityRecordOut, tags=["public"])
def stability_record(db: DB) -> gx_market.StabilityRecord:
    """The price-stability operation's public record: tonnes bought (settled), cancelled and
    still held, and every buy and cancellation, newest first."""
    return gx_market.record(db)
