"""Request bodies, and the base of every answer. Limits here keep absurd input out before any
service runs; the answers' models (schemas_*.py) document what each route returns."""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
from functools import reduce
from operator import or_
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from tanso.services.common import plain

MAX_QTY = 10**12
MAX_AMOUNT = 10**15

Quantity = Field(ge=1, le=MAX_QTY)
Id = Field(min_length=1, max_length=64)
Text = Field(default="", max_length=2000)
Serial = Field(default=None, min_length=1, max_length=80)


class Body(BaseModel):
    """A request body: unknown fields refused, and no silent conversions (a quantity must be a
    JSON integer, not `true` or `"10"`)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Out(BaseModel):
    """An answer. Its model lists every field the use case returns; a field it does not list
    still passes through (`extra="allow"`), so a new field never breaks a client. A use case's
    frozen dataclass is read field by field (its omitted fields stay unset)."""

    model_config = ConfigDict(extra="allow", frozen=True, from_attributes=True)

    @model_validator(mode="before")
    @classmethod
    def _dataclass(cls, data: Any) -> Any:
        if dataclasses.is_dataclass(data) and not isinstance(data, type):
            return plain(data)
        return data


_ANSWERS: dict[type, type[Out]] = {}


def answer(cls: type, name: str | None = None, **overrides: Any) -> type[Out]:
    """The answer model of a use case's frozen dataclass: its fields, types and docstring, so
    each answer's field list is written once, in the service that builds it. A nested dataclass
    becomes its own answer model; a field with a default (an omitted one) is optional. Where the
    dataclass holds a plainer type than the API documents, ``overrides`` names the field's type.
    A dataclass has one answer model: the first call names it (a nested one needs no call)."""
    if cls in _ANSWERS:
        model = _ANSWERS[cls]
        if (name and name != model.__name__) or overrides:
            raise TypeError(f"{cls.__name__}'s answer model is already {model.__name__}")
        return model
    hints = get_type_hints(cls)
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        kind = overrides.get(f.name) or _answer_type(hints[f.name])
        if f.default_factory is not dataclasses.MISSING:
            fields[f.name] = (kind, Field(default_factory=f.default_factory))
        else:
            fields[f.name] = (kind, ... if f.default is dataclasses.MISSING else f.default)
    made: type[Out] = create_model(
        name or cls.__name__, __base__=Out, __doc__=cls.__doc__, __module__=__name__, **fields
    )
    _ANSWERS[cls] = made
    return made


def many(model: type[Out]) -> Any:
    """``list[model]`` as a route's ``response_model`` (a derived model is a value to mypy)."""
    return list[model]  # type: ignore[valid-type]


def _answer_type(kind: Any) -> Any:
    """A field's type with each dataclass in it replaced by its answer model."""
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        return answer(kind)
    origin, args = get_origin(kind), get_args(kind)
    if not args:
        return kind
    mapped = tuple(_answer_type(a) for a in args)
    if origin in (Union, types.UnionType):
        return reduce(or_, mapped)
    if origin in (list, tuple, dict, set, frozenset):
        return origin[mapped if origin is tuple else mapped[0] if len(mapped) == 1 else mapped]
    return kind


class ParticipantIn(Body):
    id: str | None = Field(default=None, min_length=2, max_length=32)
    name_ja: str = Field(min_length=1, max_length=200)
    name_en: str = Field(min_length=1, max_length=200)
    kind: str = Field(max_length=32)
    corporate_number: str | None = Field(default=None, max_length=13)
    roles: list[str] = Field(default_factory=lambda: ["trader"], max_length=8)
    gx_league: bool = False
    corporate_group: str | None = Field(default=None, max_length=40)
    lei: str | None = Field(
        default=None,
        max_length=20,
        description="LEI (ISO 17442): 20 upper-case letters and digits, the last two check "
        "digits (ISO 7064 MOD 97-10); required of a corporation from abroad.",
    )
    country: str = Field(
        default="JP",
        max_length=2,
        description="Where the participant is registered: ISO 3166-1 alpha-2. A corporation "
        "of JP gives its corporate number, one of any other country its LEI.",
    )
    name_local: str | None = Field(
        default=None,
        max_length=200,
        description="The name in its own script (e.g. Chinese or Thai), beside name_en and "
        "name_ja.",
    )


class ParticipantAttributesIn(Body):
    gx_league: bool | None = Field(
        default=None,
        description="A member of the GX League (may trade GX-League-only instruments).",
    )
    corporate_group: str | None = Field(
        default=None,
        max_length=40,
        description="The declared corporate group or beneficial owner, e.g. the parent company's "
        "participant id; null clears it.",
    )


class StatusIn(Body):
    reason: str = Text


class RolesIn(Body):
    roles: list[str] = Field(max_length=8)


class ApiKeyIn(Body):
    label: str = Field(default="", max_length=200)
    roles: list[str] | None = Field(default=None, max_length=8)
    scopes: list[str] | None = Field(
        default=None,
        max_length=8,
        description="read, trade, transfer, retire, manage, operate; by default every scope "
        "the creating key holds that the new key's roles allow",
    )


class BrokerIn(Body):
    broker_id: str = Id
    scopes: list[str] | None = Field(
        default=None,
        max_length=4,
        description="the mandate: trade (the default), transfer, retire; never manage",
    )


class AccountIn(Body):
    name: str = Field(min_length=1, max_length=200)
    participant_id: str | None = Field(default=None, max_length=64)


class SchemeIn(Body):
    code: str = Field(min_length=2, max_length=4)
    name_en: str = Field(min_length=1, max_length=200)
    name_ja: str = Field(min_length=1, max_length=200)
    unit: str = Field(max_length=8)
    domestic: bool
    properties: list[str] = Field(default_factory=list, max_length=8)


class CategoryIn(Body):
    code: str = Field(min_length=1, max_length=40)
    scheme: str | None = Field(default=None, max_length=4)
    name_en: str = Field(min_length=1, max_length=200)
    name_ja: str = Field(min_length=1, max_length=200)
    tse: bool = False


class ProjectIn(Body):
    id: str = Field(min_length=1, max_length=16)
    scheme: str = Field(min_length=2, max_length=4)
    name: str = Field(min_length=1, max_length=300)
    name_ja: str = Field(default="", max_length=300)
    category: str = Field(min_length=1, max_length=40)
    country: str = Field(min_length=2, max_length=2)
    region: str = Field(default="", max_length=200)
    developer: str = Field(default="", max_length=200)
    methodology: str = Field(default="", max_length=200)
    mechanism: str = Field(default="reduction", max_length=16)
    nature: str = Field(default="technology", max_length=16)
    properties: list[str] = Field(default_factory=list, max_length=8)
    evaluation_axes: list[str] = Field(default_factory=list, max_length=8)
    co_benefits: list[str] = Field(default_factory=list, max_length=20)


class IssuanceIn(Body):
    project_id: str = Field(min_length=1, max_length=16)
    credit_type: str = Field(min_length=2, max_length=2)
    round: str = Field(min_length=1, max_length=5)
    vintage: int = Field(ge=1990, le=2100)
    quantity: int = Quantity
    account_id: str = Id
    certified_on: str = Field(default="", max_length=10)
    ca_declaration: str = Field(default="not_required", max_length=16)
    ca_status: str = Field(default="not_started", max_length=16)


class DepositIn(IssuanceIn):
    external_registry: str = Field(min_length=1, max_length=200)
    external_ref: str = Field(min_length=1, max_length=200)


class RedepositIn(Body):
    serials: str = Field(min_length=1, max_length=80)
    account_id: str = Id
    external_ref: str = Field(min_length=1, max_length=200)


class SelectionIn(Body):
    quantity: int | None = Field(default=None, ge=1, le=MAX_QTY)
    serial_start: str | None = Serial
    serial_end: str | None = Serial
    serials: str | None = Serial


class TransferIn(SelectionIn):
    from_account: str = Id
    to_account: str = Id


class WithdrawalIn(SelectionIn):
    account_id: str = Id
    external_registry: str = Field(min_length=1, max_length=200)
    external_account: str = Field(min_length=1, max_length=200)


class RetirementIn(SelectionIn):
    account_id: str = Id
    purpose: str | None = Field(default=None, max_length=40)
    purposes: list[str] = Field(default_factory=list, max_length=10)
    beneficiary: str = Field(default="", max_length=300)
    reporting_year: int | None = Field(default=None, ge=1990, le=2100)
    note: str = Text
    emissions_scope: Literal["1", "2", "3"] | None = None
    """The scope the claim counts against, where the purpose leaves a choice (usage rules)."""
    scope3_category: int | None = Field(default=None, ge=1, le=15)
    """For a Scope 3 claim: the GHG Protocol category it counts against."""
    scheme: str | None = Field(
        default=None,
        min_length=1,
        max_length=80,
        description="Only credits of this scheme (e.g. J-CREDIT): with a quantity, the oldest of "
        "them that the purpose allows; with a serial range, every credit in it must be of it.",
    )
    category: str | None = Field(
        default=None,
        min_length=1,
        max_length=80,
        description="Only credits of this project category (e.g. RENEWABLE_POWER); as `scheme`.",
    )
    project_id: str | None = Field(
        default=None, min_length=1, max_length=80, description="Only credits of this project."
    )
    vintage: int | None = Field(
        default=None, ge=1990, le=2100, description="Only credits of this vintage year."
    )
    expected_serials: list[str] | None = Field(
        default=None,
        max_length=1000,
        description="The `serials` of a check (`POST /v1/retirements/check`): the retirement is "
        "refused with 409 `retirement_changed`, and nothing moves, if it would now take any "
        "other credits.",
    )


class CancellationIn(SelectionIn):
    account_id: str = Id
    reason: str = Field(min_length=1, max_length=2000)


class FreezeIn(Body):
    serials: str = Field(min_length=1, max_length=80)
    reason: str = Field(min_length=1, max_length=2000)


class CashMoveIn(Body):
    participant_id: str = Id
    currency: str = Field(default="JPY", min_length=3, max_length=3)
    amount: int = Field(ge=1, le=MAX_AMOUNT)
    external_ref: str = Field(min_length=1, max_length=200)


class EligibilityIn(Body):
    schemes: list[str] = Field(default_factory=list, max_length=20)
    categories: list[str] = Field(default_factory=list, max_length=40)
    projects: list[str] = Field(default_factory=list, max_length=100)
    vintage_from: int | None = Field(default=None, ge=1990, le=2100)
    vintage_to: int | None = Field(default=None, ge=1990, le=2100)
    ca_statuses: list[str] = Field(default_factory=list, max_length=3)
    gx_league_only: bool = Field(
        default=False, description="Only GX League members may trade the instrument."
    )
    countries: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="Host countries of the credits' projects (ISO 3166 alpha-2), e.g. VN.",
    )


class InstrumentIn(Body):
    id: str = Field(min_length=2, max_length=32, pattern=r"^[A-Z0-9][A-Z0-9_-]*$")
    name_en: str = Field(min_length=1, max_length=200)
    name_ja: str = Field(min_length=1, max_length=200)
    eligibility: EligibilityIn
    kind: Literal["category", "project"] = "category"
    currency: str = Field(default="JPY", min_length=3, max_length=3)
    tick: int = Field(default=1, ge=1, le=10**9)
    lot: int = Field(default=1, ge=1, le=10**9)
    price_limit_pct: int = Field(default=90, ge=1, le=100)
    market_orders: bool = False
    mode: Literal["call", "continuous"] = "call"
    settlement_days: int = Field(default=5, ge=0, le=30)
    reference_price: int = Field(ge=1, le=10**12)


class OrderIn(Body):
    instrument: str = Field(min_length=1, max_length=40)
    side: Literal["buy", "sell"]
    type: Literal["limit", "market"] = "limit"
    price: int | None = Field(default=None, ge=1, le=10**12)
    quantity: int = Field(ge=1, le=MAX_QTY)
    tif: Literal["day", "gtc", "ioc", "fok"] = "day"
    account_id: str | None = Field(default=None, max_length=64)
    serials: str | None = Field(default=None, min_length=1, max_length=80)
    client_order_id: str | None = Field(default=None, max_length=64)


class AmendIn(Body):
    quantity: int | None = Field(default=None, ge=1, le=MAX_QTY)
    price: int | None = Field(default=None, ge=1, le=10**12)


class BustIn(Body):
    reason_code: Literal["erroneous_order", "system_fault", "dispute_ruling", "other"]
    note: str = Field(default="", max_length=500)


class SettlementRunIn(Body):
    date: dt.date = Field(strict=False)  # JSON has no date type: an ISO string is the date
    early: bool = False  # settle obligations not yet due: an override the run's entry records


class FeesIn(Body):
    per_tonne: int = Field(default=0, ge=0, le=10**9)
    bps: int = Field(default=0, ge=0, le=10_000)
    per_trade: int = Field(default=0, ge=0, le=10**12)
    late_charge: int = Field(default=0, ge=0, le=10**12)
