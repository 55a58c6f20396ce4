"""The credit taxonomy (schemes, categories, purposes, properties) and projects, all as data.

The reference lists ship in ``tanso/data/taxonomy.json`` and are loaded by ``tanso init``; an
operator adds a scheme or a category through the API without a release.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from sqlalchemy import Connection

from tanso.domain.errors import Conflict, InvalidInput, NotFound
from tanso.domain.participants import Role
from tanso.services.common import Actor, Idem, execute, from_row, loader, plain, require
from tanso.services.cycle import methodologies as cycle_methodologies
from tanso.store import repo
from tanso.store import schema as t
from tanso.store.db import Database, Tx, dumps, loads

TERM_KINDS = ("credit_type", "property", "evaluation_axis", "purpose")
CODE_RE = re.compile(r"^[A-Z][A-Z0-9_]{0,39}$")
SCHEME_RE = re.compile(r"^[A-Z]{2,4}$")
PROJECT_RE = re.compile(r"^[A-Z0-9]{1,16}$")
MECHANISMS = ("reduction", "removal")
NATURES = ("nature", "technology")


def shipped_taxonomy() -> dict[str, Any]:
    text = resources.files("tanso").joinpath("data/taxonomy.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def load_reference_data(tx: Tx) -> dict[str, int]:
    """Insert the shipped reference lists that are missing; existing rows are left as they are."""
    data = shipped_taxonomy()
    conn = tx.conn
    added: dict[str, int] = {}
    for s in data["schemes"]:
        if repo.get_by_code(conn, t.schemes, s["code"]) is None:
            repo.insert_row(
                conn,
                t.schemes,
                code=s["code"],
                name_en=s["name_en"],
                name_ja=s["name_ja"],
                unit=s["unit"],
                domestic=s["domestic"],
                properties=dumps(s["properties"]),
            )
            added["schemes"] = added.get("schemes", 0) + 1
    for c in data["categories"]:
        if repo.get_by_code(conn, t.categories, c["code"]) is None:
            repo.insert_row(conn, t.categories, **c)
            added["categories"] = added.get("categories", 0) + 1
    lists = {
        "credit_type": "credit_types",
        "property": "properties",
        "evaluation_axis": "evaluation_axes",
        "purpose": "purposes",
    }
    for kind, key in lists.items():
        for item in data[key]:
            if repo.get_term(conn, kind, item["code"]) is None:
                extra = {k: v for k, v in item.items() if k not in ("code", "name_en", "name_ja")}
                repo.insert_row(
                    conn,
                    t.terms,
                    kind=kind,
                    code=item["code"],
                    name_en=item["name_en"],
                    name_ja=item["name_ja"],
                    extra=dumps(extra),
                )
                added[key] = added.get(key, 0) + 1
    if count := cycle_methodologies.load_shipped(tx):
        added["methodologies"] = count
    return added


def seed_reference_data(db: Database, actor: Actor) -> dict[str, int]:
    def work(tx: Tx) -> dict[str, Any]:
        added = load_reference_data(tx)
        tx.record(
            "taxonomy.loaded",
            actor.label,
            {"version": shipped_taxonomy()["version"], "added": added},
        )
        return added

    return execute(db, actor, None, work)


def scheme_view(r: Any) -> dict[str, Any]:
    return {
        "code": r.code,
        "name_en": r.name_en,
        "name_ja": r.name_ja,
        "unit": r.unit,
        "domestic": bool(r.domestic),
        "properties": loads(r.properties),
    }


def category_view(r: Any) -> dict[str, Any]:
    return {
        "code": r.code,
        "scheme": r.scheme,
        "name_en": r.name_en,
        "name_ja": r.name_ja,
        "tse": bool(r.tse),
    }


def term_view(r: Any) -> dict[str, Any]:
    return {"code": r.code, "name_en": r.name_en, "name_ja": r.name_ja} | (loads(r.extra) or {})


def list_schemes(db: Database) -> list[dict[str, Any]]:
    with db.read() as conn:
        return [scheme_view(r) for r in repo.list_table(conn, t.schemes, t.schemes.c.code)]


def list_categories(db: Database) -> list[dict[str, Any]]:
    with db.read() as conn:
        return [category_view(r) for r in repo.list_table(conn, t.categories, t.categories.c.code)]


def list_terms(db: Database, kind: str) -> list[dict[str, Any]]:
    with db.read() as conn:
        return [term_view(r) for r in repo.list_table(conn, t.terms, t.terms.c.code, kind=kind)]


def add_scheme(
    db: Database, actor: Actor, s: dict[str, Any], idem: Idem | None = None
) -> dict[str, Any]:
    """Add a scheme (registry operator); its code becomes the first part of its serials."""
    require(actor, Role.REGISTRY_OPERATOR, "add schemes")
    if not SCHEME_RE.fullmatch(s["code"]):
        raise InvalidInput("invalid_scheme_code", "A scheme code is 2 to 4 upper-case letters.")
    if s["unit"] not in ("tCO2", "kWh"):
        raise InvalidInput("invalid_unit", "A scheme counts in tCO2 or kWh.")

    def work(tx: Tx) -> dict[str, Any]:
        if repo.get_by_code(tx.conn, t.schemes, s["code"]) is not None:
            raise Conflict("scheme_exists", f"Scheme {s['code']} already exists.")
        for prop in s.get("properties", []):
            _check_term(tx.conn, "property", prop)
        repo.insert_row(
            tx.conn,
            t.schemes,
            code=s["code"],
            name_en=s["name_en"],
            name_ja=s["name_ja"],
            unit=s["unit"],
            domestic=s["domestic"],
            properties=dumps(s.get("properties", [])),
        )
        tx.record("taxonomy.scheme_added", actor.label, {"scheme": s})
        return scheme_view(repo.get_by_code(tx.conn, t.schemes, s["code"]))

    return execute(db, actor, idem, work, 201)


def add_category(
    db: Database, actor: Actor, c: dict[str, Any], idem: Idem | None = None
) -> dict[str, Any]:
    """Add a trading category (売買区分), as TSE added biomass power (2024) and biochar (2025)."""
    require(actor, Role.REGISTRY_OPERATOR, "add categories")
    if not CODE_RE.fullmatch(c["code"]):
        raise InvalidInput(
            "invalid_category_code",
            "A category code is upper-case letters, digits and '_', up to 40.",
        )

    def work(tx: Tx) -> dict[str, Any]:
        if repo.get_by_code(tx.conn, t.categories, c["code"]) is not None:
            raise Conflict("category_exists", f"Category {c['code']} already exists.")
        if c.get("scheme") and repo.get_by_code(tx.conn, t.schemes, c["scheme"]) is None:
            raise NotFound("scheme_not_found", f"There is no scheme {c['scheme']}.")
        repo.insert_row(
            tx.conn,
            t.categories,
            code=c["code"],
            scheme=c.get("scheme"),
            name_en=c["name_en"],
            name_ja=c["name_ja"],
            tse=c.get("tse", False),
        )
        tx.record("taxonomy.category_added", actor.label, {"category": c})
        return category_view(repo.get_by_code(tx.conn, t.categories, c["code"]))

    return execute(db, actor, idem, work, 201)


def _check_term(conn: Connection, kind: str, code: str) -> None:
    if repo.get_term(conn, kind, code) is None:
        raise InvalidInput(f"unknown_{kind}", f"{code!r} is not a known {kind.replace('_', ' ')}.")


@dataclass(frozen=True, slots=True)
class NewProject:
    id: str
    scheme: str
    name: str
    category: str
    country: str
    mechanism: str = "reduction"
    nature: str = "technology"
    name_ja: str = ""
    region: str = ""
    developer: str = ""
    methodology: str = ""
    properties: list[str] = field(default_factory=list)
    evaluation_axes: list[str] = field(default_factory=list)
    co_benefits: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Project:
    """A registered project whose credits can be issued: its scheme, category, where it is,
    ``mechanism`` (reduction or removal), ``nature`` (nature or technology) and properties."""

    id: str
    scheme: str
    name: str
    name_ja: str
    country: str
    region: str
    developer: str
    methodology: str
    category: str
    mechanism: str
    nature: str
    properties: list[str]
    evaluation_axes: list[str]
    co_benefits: list[str]
    created_at: str


def project_view(r: Any) -> Project:
    """A project row as answered."""
    return from_row(
        Project,
        r,
        properties=loads(r.properties),
        evaluation_axes=loads(r.evaluation_axes),
        co_benefits=loads(r.co_benefits),
    )


def check_project(p: NewProject) -> None:
    """Refuse a project whose id, mechanism, nature, country or name is malformed (before any
    transaction)."""
    if not PROJECT_RE.fullmatch(p.id):
        raise InvalidInput(
            "invalid_project_id", "A project id is 1 to 16 upper-case letters and digits."
        )
    if p.mechanism not in MECHANISMS:
        raise InvalidInput("invalid_mechanism", "mechanism must be 'reduction' or 'removal'.")
    if p.nature not in NATURES:
        raise InvalidInput("invalid_nature", "nature must be 'nature' or 'technology'.")
    if len(p.country) != 2 or not p.country.isascii() or not p.country.isupper():
        raise InvalidInput("invalid_country", "country is an ISO 3166 two-letter code such as JP.")
    if not p.name.strip() or len(p.name) > 300:
        raise InvalidInput("invalid_name", "A project name must be 1 to 300 characters.")


def check_project_refs(conn: Connection, p: NewProject) -> Any:
    """Refuse a project whose scheme, category, properties or evaluation axes are unknown; its
    scheme's row."""
    scheme = repo.get_by_code(conn, t.schemes, p.scheme)
    if scheme is None:
        raise NotFound("scheme_not_found", f"There is no scheme {p.scheme}.")
    if repo.get_by_code(conn, t.categories, p.category) is None:
        raise NotFound("category_not_found", f"There is no category {p.category}.")
    for prop in p.properties:
        _check_term(conn, "property", prop)
    for axis in p.evaluation_axes:
        _check_term(conn, "evaluation_axis", axis)
    return scheme


def insert_project(tx: Tx, actor_label: str, p: NewProject) -> Project:
    """Add a project to the registry with its journal entry ``project.registered`` (inside the
    caller's transaction: the operator's registration, or a plan's at the end of its cycle)."""
    conn = tx.conn
    if repo.get_project(conn, p.id) is not None:
        raise Conflict("project_exists", f"Project {p.id} already exists.")
    scheme = check_project_refs(conn, p)
    properties = p.properties or loads(scheme.properties)
    repo.insert_row(
        conn,
        t.projects,
        id=p.id,
        scheme=p.scheme,
        name=p.name,
        name_ja=p.name_ja or p.name,
        country=p.country,
        region=p.region,
        developer=p.developer,
        methodology=p.methodology,
        category=p.category,
        mechanism=p.mechanism,
        nature=p.nature,
        properties=dumps(properties),
        evaluation_axes=dumps(p.evaluation_axes),
        co_benefits=dumps(p.co_benefits),
        created_at=tx.at,
    )
    view = project_view(repo.get_project(conn, p.id))
    tx.record("project.registered", actor_label, {"project": plain(view)})
    return view


def register_project(
    db: Database, actor: Actor, p: NewProject, idem: Idem | None = None
) -> Project:
    """Register a project directly (registry operator): a project imported from another
    registry, or one whose cycle ran elsewhere, so that its credits can be deposited or issued.
    A project that runs its cycle here is registered from its plan (services/cycle/plans.py)."""
    require(actor, Role.REGISTRY_OPERATOR, "register projects")
    check_project(p)
    return execute(
        db, actor, idem, lambda tx: insert_project(tx, actor.label, p), 201, loader(Project)
    )


def list_projects(db: Database) -> list[Project]:
    with db.read() as conn:
        return [project_view(r) for r in repo.list_table(conn, t.projects, t.projects.c.id)]


def get_project(db: Database, project_id: str) -> Project:
    with db.read() as conn:
        row = repo.get_project(conn, project_id)
        if row is None:
            raise NotFound("project_not_found", f"There is no project {project_id}.")
        return project_view(row)
