"""Methodologies as data, stored per version (docs/project-cycle.md).

The shipped file (``data/methodologies.json``) is loaded with the reference lists at
``tanso init``; the registry operator adds versions with ``POST /v1/methodologies``. A version
once stored never changes: a plan and each monitoring report name the version they apply, so a
report is always recomputed by the formula it was computed with. The file also holds each
scheme's cycle rules: the public comment period and whether the validator may verify.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import cache
from importlib import resources
from typing import Any

from sqlalchemy import Connection, select

from tanso.domain import methodologies as md
from tanso.domain.errors import Conflict, NotFound
from tanso.domain.participants import Role
from tanso.services.common import Actor, Idem, execute, loader, plain, require
from tanso.store import repo
from tanso.store import schema as t
from tanso.store.db import Database, Tx, dumps, loads
from tanso.store.schema_cycle import methodologies

M = methodologies.c


@dataclass(frozen=True, slots=True)
class CycleRules:
    """A scheme's rules of the cycle: days of public comment on a submitted plan (0: none),
    and whether the body that validated a project may verify its reports."""

    comment_days: int
    validator_may_verify: bool


@dataclass(frozen=True, slots=True)
class ParameterView:
    name: str
    kind: str
    unit: str
    label_en: str
    label_ja: str


@dataclass(frozen=True, slots=True)
class MethodologyView:
    """A methodology version as answered."""

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
    parameters: list[ParameterView]
    formula: str
    buffer_rate_bp: int
    source: str
    categories: list[str]
    journal_seq: int


@cache
def _shipped() -> dict[str, Any]:
    text = resources.files("tanso").joinpath("data/methodologies.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def cycle_rules(scheme: str) -> CycleRules:
    data = _shipped()
    rules = data["cycle_rules"].get(scheme, data["default_cycle_rules"])
    return CycleRules(int(rules["comment_days"]), bool(rules["validator_may_verify"]))


def _insert(tx: Tx, m: md.Methodology) -> int:
    seq = tx.next_seq()
    repo.insert_row(
        tx.conn,
        methodologies,
        id=m.id,
        version=m.version,
        scheme=m.scheme,
        sector=m.sector,
        mechanism=m.mechanism,
        credit_type=m.credit_type,
        title_en=m.title_en,
        title_ja=m.title_ja,
        valid_from=m.valid_from,
        valid_to=m.valid_to,
        parameters=dumps([asdict(p) for p in m.parameters]),
        formula=m.formula,
        buffer_rate_bp=m.buffer_rate_bp,
        source=m.source,
        categories=dumps(list(m.categories)),
        journal_seq=seq,
    )
    return seq


def _exists(conn: Connection, mid: str, version: str) -> bool:
    return conn.execute(select(M.id).where(M.id == mid, M.version == version)).first() is not None


def load_shipped(tx: Tx) -> int:
    """Store the shipped methodology versions that are missing (inside the reference data's
    transaction and journal entry); how many were added."""
    added = 0
    for d in _shipped()["methodologies"]:
        m = md.from_data(d)
        if repo.get_by_code(tx.conn, t.schemes, m.scheme) is None or _exists(
            tx.conn, m.id, m.version
        ):
            continue
        md.check(m)
        _insert(tx, m)
        added += 1
    return added


def methodology(conn: Connection, mid: str, version: str) -> md.Methodology:
    """A stored methodology version, or 404."""
    row = conn.execute(select(methodologies).where(M.id == mid, M.version == version)).first()
    if row is None:
        raise NotFound("methodology_not_found", f"There is no methodology {mid} version {version}.")
    data = row._asdict() | {"parameters": loads(row.parameters)}
    return md.from_data(data | {"categories": loads(row.categories)})


def _view(row: Any) -> MethodologyView:
    d = row._asdict()
    d["parameters"] = [ParameterView(**p) for p in loads(row.parameters)]
    d["categories"] = loads(row.categories)
    return MethodologyView(**d)


def list_methodologies(
    db: Database, scheme: str | None = None, mid: str | None = None
) -> list[MethodologyView]:
    """Every stored methodology version (public), by id then version."""
    query = select(methodologies).order_by(M.scheme, M.id, M.valid_from, M.version)
    if scheme is not None:
        query = query.where(M.scheme == scheme)
    if mid is not None:
        query = query.where(M.id == mid)
    with db.read() as conn:
        return [_view(r) for r in conn.execute(query)]


def versions(db: Database, mid: str) -> list[MethodologyView]:
    """A methodology's versions, or 404 if it has none."""
    found = list_methodologies(db, mid=mid)
    if not found:
        raise NotFound("methodology_not_found", f"There is no methodology {mid}.")
    return found


def add(
    db: Database, actor: Actor, data: dict[str, Any], idem: Idem | None = None
) -> MethodologyView:
    """Store a new methodology version (registry operator); its formula is checked by
    evaluating it. An existing id and version is refused: a version never changes."""
    require(actor, Role.REGISTRY_OPERATOR, "add methodologies")
    m = md.from_data(data)
    md.check(m)

    def work(tx: Tx) -> MethodologyView:
        conn = tx.conn
        if repo.get_by_code(conn, t.schemes, m.scheme) is None:
            raise NotFound("scheme_not_found", f"There is no scheme {m.scheme}.")
        if repo.get_term(conn, "credit_type", m.credit_type) is None:
            raise NotFound("unknown_credit_type", f"{m.credit_type!r} is not a known credit type.")
        for code in m.categories:
            category = repo.get_by_code(conn, t.categories, code)
            if category is None:
                raise NotFound("category_not_found", f"There is no category {code}.")
        if _exists(conn, m.id, m.version):
            raise Conflict(
                "methodology_exists",
                f"Methodology {m.id} version {m.version} exists; a version never changes, "
                "add a new one.",
            )
        _insert(tx, m)
        row = conn.execute(select(methodologies).where(M.id == m.id, M.version == m.version)).one()
        view = _view(row)
        tx.record("cycle.methodology_added", actor.label, plain(view))
        return view

    return execute(db, actor, idem, work, 201, loader(MethodologyView))
