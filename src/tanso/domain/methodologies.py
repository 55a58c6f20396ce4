"""Methodologies as data: the parameters a monitoring report gives and the formula that turns
them into tonnes.

A formula is an arithmetic expression over the parameters' names (``+ - * /``, parentheses,
decimal numbers, and ``sum``, ``min``, ``max`` over a measurement series), evaluated by
simpleeval in decimal arithmetic, never float, so that anyone recomputing a report from its
stored parameters gets the same figure to the last digit. The result is floored to whole
tonnes (credits are whole tonnes; the conservative side), and never below zero.
"""

from __future__ import annotations

import ast
import datetime as dt
import decimal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import simpleeval

from tanso.domain.errors import InvalidInput

PARAMETER_KINDS = ("value", "series")
MECHANISMS = ("reduction", "removal")
MAX_SERIES = 10_000
MAX_FORMULA = 1000
MAX_NUMBER_DIGITS = 30
FUNCTIONS = {"sum": sum, "min": min, "max": max}
_CONTEXT = decimal.Context(prec=50, rounding=decimal.ROUND_HALF_EVEN)


@dataclass(frozen=True, slots=True)
class Parameter:
    """A figure a monitoring report gives: one value or a measurement series (e.g. monthly
    MWh), with its unit and labels."""

    name: str
    kind: str
    unit: str
    label_en: str
    label_ja: str


@dataclass(frozen=True, slots=True)
class Methodology:
    """A methodology version, with the dates it may be applied between."""

    id: str
    version: str
    scheme: str
    sector: str
    mechanism: str
    credit_type: str
    title_en: str
    title_ja: str
    valid_from: str
    valid_to: str | None
    parameters: tuple[Parameter, ...]
    formula: str
    buffer_rate_bp: int
    source: str
    categories: tuple[str, ...] = ()
    """The project categories it applies to (empty: any of its scheme's)."""

    def in_force(self, on: str) -> bool:
        return self.valid_from <= on and (self.valid_to is None or on <= self.valid_to)


def _names(formula: str) -> set[str]:
    try:
        tree = ast.parse(formula, mode="eval")
    except SyntaxError:
        raise InvalidInput(
            "invalid_formula", f"The formula {formula[:200]!r} is not an arithmetic expression."
        ) from None
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


def check(m: Methodology) -> None:
    """Refuse a methodology whose fields do not hold together: a known mechanism, parameter
    kinds and unique names, a formula over exactly its parameters (and sum/min/max) that
    evaluates, a buffer rate between 0 and 10,000 basis points, dates in order."""
    if m.mechanism not in MECHANISMS:
        raise InvalidInput("invalid_mechanism", f"mechanism is one of {', '.join(MECHANISMS)}.")
    if not 0 <= m.buffer_rate_bp <= 10_000:
        raise InvalidInput(
            "invalid_buffer_rate", "buffer_rate_bp is 0 to 10,000 basis points (0 to 100%)."
        )
    for d in (m.valid_from, m.valid_to):
        if d is not None:
            try:
                dt.date.fromisoformat(d)
            except ValueError:
                raise InvalidInput(
                    "invalid_date", f"{d!r} is not a date such as 2026-04-01."
                ) from None
    if m.valid_to is not None and m.valid_to < m.valid_from:
        raise InvalidInput("invalid_period", "valid_to is before valid_from.")
    names = [p.name for p in m.parameters]
    if not names or len(set(names)) != len(names):
        raise InvalidInput(
            "invalid_parameters", "A methodology names one or more parameters, each once."
        )
    for p in m.parameters:
        if p.kind not in PARAMETER_KINDS:
            raise InvalidInput(
                "invalid_parameters", f"Parameter {p.name}: kind is 'value' or 'series'."
            )
        if not p.name.isidentifier() or p.name in FUNCTIONS:
            raise InvalidInput(
                "invalid_parameters", f"Parameter name {p.name!r} is not a plain identifier."
            )
    if len(m.formula) > MAX_FORMULA:
        raise InvalidInput("invalid_formula", f"A formula is at most {MAX_FORMULA} characters.")
    unknown = _names(m.formula) - set(names) - set(FUNCTIONS)
    if unknown:
        raise InvalidInput(
            "invalid_formula",
            f"The formula names {', '.join(sorted(unknown))}, which are not its parameters.",
        )
    sample = {p.name: ("1" if p.kind == "value" else ["1", "2"]) for p in m.parameters}
    evaluate(m, sample)


def _decimal(name: str, value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidInput(
            "invalid_parameter_value",
            f'Parameter {name}: give numbers as decimal strings such as "12.5".',
        )
    text = str(value).strip()
    try:
        number = Decimal(text)
    except decimal.InvalidOperation:
        raise InvalidInput(
            "invalid_parameter_value", f"Parameter {name}: {text[:40]!r} is not a decimal number."
        ) from None
    if not number.is_finite() or len(number.as_tuple().digits) > MAX_NUMBER_DIGITS:
        raise InvalidInput(
            "invalid_parameter_value",
            f"Parameter {name}: a finite number of at most {MAX_NUMBER_DIGITS} digits.",
        )
    return number


def parse(m: Methodology, given: Mapping[str, Any]) -> dict[str, Decimal | list[Decimal]]:
    """The parameters a report gives, checked against the methodology: every one named, no
    other, a value for a value and a non-empty series for a series."""
    expected = {p.name: p for p in m.parameters}
    missing = sorted(set(expected) - set(given))
    extra = sorted(set(given) - set(expected))
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing)}")
        if extra:
            parts.append(f"not of this methodology: {', '.join(extra[:10])}")
        raise InvalidInput(
            "invalid_parameters",
            f"Methodology {m.id} {m.version} takes {', '.join(expected)}; {'; '.join(parts)}.",
        )
    out: dict[str, Decimal | list[Decimal]] = {}
    for name, p in expected.items():
        value = given[name]
        if p.kind == "series":
            if not isinstance(value, Sequence) or isinstance(value, str) or not value:
                raise InvalidInput(
                    "invalid_parameter_value",
                    f"Parameter {name} is a measurement series: a list of 1 to {MAX_SERIES:,} "
                    "numbers.",
                )
            if len(value) > MAX_SERIES:
                raise InvalidInput(
                    "series_too_long",
                    f"Parameter {name} has {len(value):,} points; at most {MAX_SERIES:,}.",
                )
            out[name] = [_decimal(name, v) for v in value]
        else:
            out[name] = _decimal(name, value)
    return out


class _DecimalEval(simpleeval.SimpleEval):  # type: ignore[misc]
    """simpleeval with every number literal of the formula a Decimal (``44 / 12`` stays exact
    to the context's precision, never a float)."""

    def _eval_constant(self, node: ast.Constant) -> Any:
        value = super()._eval_constant(node)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return Decimal(str(value))
        return value


def evaluate(m: Methodology, given: Mapping[str, Any]) -> Decimal:
    """The formula's exact value for the given parameters (decimal, before flooring)."""
    names = parse(m, given)
    evaluator = _DecimalEval(names=dict(names), functions=dict(FUNCTIONS))
    try:
        with decimal.localcontext(_CONTEXT):
            result = evaluator.eval(m.formula)
    except (ZeroDivisionError, decimal.DivisionByZero, decimal.InvalidOperation):
        raise InvalidInput(
            "formula_undefined",
            f"The formula of {m.id} {m.version} divides by zero with these parameters.",
        ) from None
    except (simpleeval.InvalidExpression, TypeError, SyntaxError) as e:
        raise InvalidInput(
            "invalid_formula", f"The formula of {m.id} {m.version} cannot be evaluated: {e}"
        ) from None
    if not isinstance(result, Decimal | int):
        raise InvalidInput("invalid_formula", f"The formula of {m.id} {m.version} is not a number.")
    return Decimal(result)


def tonnes(m: Methodology, given: Mapping[str, Any]) -> int:
    """Whole tonnes the parameters make under the methodology: the formula floored, at least
    zero."""
    value = evaluate(m, given)
    return max(0, int(value.to_integral_value(rounding=decimal.ROUND_FLOOR)))


def canonical(params: Mapping[str, Decimal | list[Decimal]]) -> dict[str, str | list[str]]:
    """Parameters as stored and published: decimals as their exact strings."""
    return {
        k: [str(x) for x in v] if isinstance(v, list) else str(v) for k, v in sorted(params.items())
    }


def from_data(d: Mapping[str, Any]) -> Methodology:
    """A methodology from its data (the shipped file, a request, a stored row's JSON)."""
    try:
        params = tuple(
            Parameter(
                name=str(p["name"]),
                kind=str(p["kind"]),
                unit=str(p.get("unit", "")),
                label_en=str(p.get("label_en", p["name"])),
                label_ja=str(p.get("label_ja", p.get("label_en", p["name"]))),
            )
            for p in d["parameters"]
        )
        return Methodology(
            id=str(d["id"]),
            version=str(d["version"]),
            scheme=str(d["scheme"]),
            sector=str(d["sector"]),
            mechanism=str(d["mechanism"]),
            credit_type=str(d["credit_type"]),
            title_en=str(d["title_en"]),
            title_ja=str(d.get("title_ja") or d["title_en"]),
            valid_from=str(d["valid_from"]),
            valid_to=None if d.get("valid_to") is None else str(d["valid_to"]),
            parameters=params,
            formula=str(d["formula"]),
            buffer_rate_bp=int(d.get("buffer_rate_bp", 0)),
            source=str(d.get("source", "")),
            categories=tuple(str(c) for c in d.get("categories") or ()),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise InvalidInput("invalid_methodology", f"A methodology lacks or mistypes {e}.") from None
