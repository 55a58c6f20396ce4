"""Retirement certificates (無効化証明書) and their public verification.

Every retirement has a certificate: it is derived from the retirement, the credits' movements,
their issuances and projects, and the retirement's journal entry, so nothing is stored twice and
a certificate can never disagree with the registry unless the registry itself was altered. The
verification recomputes the hash of the retirement's journal entry, checks its links to the
entries before and after it (and to the journal head), and compares the entry's payload with the
retirement as stored. It reads at most three journal entries, so it is cheap on any journal;
the full chain is verified by ``tanso audit verify``.

This module never writes: it only reads. The certificate's HTML and PDF are the web layer's
(`tanso.web.documents.certificate`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from tanso.domain.errors import NotFound
from tanso.domain.journal import GENESIS_HASH, entry_hash
from tanso.services import common
from tanso.services.common import Actor, execute, omitted, require_operator
from tanso.services.ledger import audit as audit_service
from tanso.services.ledger import registry
from tanso.services.removals import profiles as removal_profiles
from tanso.services.removals.profiles import ReversalView
from tanso.store import repo, schema_claims
from tanso.store import schema as t
from tanso.store.db import Database, Tx, dumps, loads

JST = ZoneInfo("Asia/Tokyo")
RETIREMENT_ID = re.compile(r"RT-\d{8,}")
RETIRED_KIND = "credits.retired"
CHECKS = ("entry_hash", "previous_link", "next_link", "content")


def certificate_id(retirement_id: str) -> str:
    """The certificate's number: the retirement's id with the CERT- prefix."""
    return f"CERT-{retirement_id}"


def verify_path(retirement_id: str, lang: str = "en") -> str:
    return f"/ja/verify/{retirement_id}" if lang == "ja" else f"/verify/{retirement_id}"


def _check_id(retirement_id: str) -> None:
    if not RETIREMENT_ID.fullmatch(retirement_id):
        raise NotFound("retirement_not_found", f"There is no retirement {retirement_id[:40]}.")


# ---------------------------------------------------------------- answers


@dataclass(frozen=True, slots=True)
class Term:
    """A coded reference (scheme, category, purpose, property, axis) with its two names."""

    code: str
    name_en: str
    name_ja: str


@dataclass(frozen=True, slots=True)
class Names:
    name_en: str
    name_ja: str


@dataclass(frozen=True, slots=True)
class CertifiedRange:
    """One serial range of a certificate with every attribute of its credits."""

    serials: str
    issuance_id: str
    serial_start: int
    serial_end: int
    quantity: int
    scheme: Term
    unit: str
    category: Term
    project_id: str
    project_name: str
    project_name_ja: str
    country: str
    mechanism: str
    nature: str
    credit_type: Term
    round: str
    vintage: int | None
    certified_on: str
    properties: list[Term]
    evaluation_axes: list[Term]
    co_benefits: list[str]
    ca_declaration: str
    ca_status: str
    origin: str
    external_registry: str | None
    external_ref: str | None


@dataclass(frozen=True, slots=True)
class JournalRef:
    """The retirement's journal entry (None fields if the entry is missing)."""

    seq: int
    kind: str | None
    at: str | None
    hash: str | None
    prev_hash: str | None


@dataclass(frozen=True, slots=True)
class Check:
    check: str
    ok: bool
    problems: list[str]


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """A recorded full audit of the journal."""

    at: str
    ok: bool
    through_seq: int
    head_hash: str | None
    entries: int
    first_bad_seq: int | None
    problems: list[str]


@dataclass(frozen=True, slots=True)
class EntryCheck:
    """Whether a retirement's journal entry verifies: each check, the head, the last audit."""

    retirement_id: str
    journal_seq: int
    verified: bool
    checks: list[Check]
    head: common.JournalRef | None
    last_audit: AuditRecord | None


@dataclass(frozen=True, slots=True)
class AuditResult:
    ok: bool
    entries: int
    head_hash: str | None
    first_bad_seq: int | None
    problems: list[str]
    through_seq: int


@dataclass(frozen=True, slots=True)
class Certificate:
    """A retirement's certificate; ``verification`` when the entry was checked, ``verify_url``
    when the adapter knows its own address."""

    certificate_id: str
    retirement_id: str
    beneficiary: str
    retired_by: Names
    purposes: list[Term]
    scope: str
    reporting_year: int
    quantity: int
    retired_at: str
    note: str
    ranges: list[CertifiedRange]
    journal: JournalRef
    verify_path: str
    reversals: list[ReversalView] = field(default_factory=list)
    """Reversals reported for the projects of these credits (issue 21): the retirement stands,
    and each says how it was compensated."""
    verification: EntryCheck | None = omitted()  # noqa: RUF009 (a None default)
    verify_url: str | None = omitted()


# ---------------------------------------------------------------- building a certificate


def reference_names(conn: Connection) -> dict[str, dict[str, dict[str, Any]]]:
    """Reference names by kind and code: schemes, categories, purposes, properties, axes."""
    out: dict[str, dict[str, dict[str, Any]]] = {
        "scheme": {
            r.code: {"name_en": r.name_en, "name_ja": r.name_ja, "unit": r.unit}
            for r in repo.list_table(conn, t.schemes, t.schemes.c.code)
        },
        "category": {
            r.code: {"name_en": r.name_en, "name_ja": r.name_ja}
            for r in repo.list_table(conn, t.categories, t.categories.c.code)
        },
    }
    for r in repo.list_table(conn, t.terms, t.terms.c.kind, t.terms.c.code):
        out.setdefault(r.kind, {})[r.code] = {"name_en": r.name_en, "name_ja": r.name_ja} | (
            loads(r.extra) or {}
        )
    return out


def _term(names: dict[str, dict[str, dict[str, Any]]], kind: str, code: str) -> Term:
    found = names.get(kind, {}).get(code, {})
    return Term(code, found.get("name_en", code), found.get("name_ja", code))


def certificate_in(
    conn: Connection, retirement_id: str, names: dict[str, dict[str, dict[str, Any]]] | None = None
) -> Certificate:
    """The certificate of a retirement, read inside an open connection (``names``: the
    reference names, when the caller reads many certificates)."""
    _check_id(retirement_id)
    view = registry.retirement_view(conn, retirement_id)
    row = repo.get_retirement(conn, retirement_id)
    assert row is not None  # retirement_view found it
    names = names if names is not None else reference_names(conn)
    projects: dict[str, Any] = {}
    ranges = []
    for r in view.ranges:
        issuance = repo.get_issuance(conn, r.id)
        project_id = r.project_id
        if project_id and project_id not in projects:
            projects[project_id] = repo.get_project(conn, project_id)
        project = projects.get(project_id)
        scheme = r.scheme
        start, end = (int(x) for x in r.serials.rsplit("-", 2)[1:])
        ranges.append(
            CertifiedRange(
                serials=r.serials,
                issuance_id=r.id,
                serial_start=start,
                serial_end=end,
                quantity=r.quantity,
                scheme=_term(names, "scheme", scheme),
                unit=names["scheme"].get(scheme, {}).get("unit", "tCO2"),
                category=_term(names, "category", r.category),
                project_id=project_id,
                project_name=r.project_name,
                project_name_ja=project.name_ja if project is not None else "",
                country=r.country,
                mechanism=r.mechanism,
                nature=r.nature,
                credit_type=_term(names, "credit_type", r.credit_type),
                round=r.round,
                vintage=r.vintage,
                certified_on=r.certified_on,
                properties=[_term(names, "property", p) for p in r.properties],
                evaluation_axes=[
                    _term(names, "evaluation_axis", a)
                    for a in (loads(project.evaluation_axes) if project is not None else [])
                ],
                co_benefits=loads(project.co_benefits) if project is not None else [],
                ca_declaration=r.ca_declaration,
                ca_status=r.ca_status,
                origin=issuance.origin if issuance is not None else "",
                external_registry=issuance.external_registry if issuance is not None else None,
                external_ref=issuance.external_ref if issuance is not None else None,
            )
        )
    entry = next(repo.journal_entries(conn, row.journal_seq - 1, 1), None)
    journal = JournalRef(
        seq=row.journal_seq,
        kind=entry.kind if entry else None,
        at=entry.at if entry else None,
        hash=entry.hash if entry else None,
        prev_hash=entry.prev_hash if entry else None,
    )
    return Certificate(
        certificate_id=certificate_id(retirement_id),
        retirement_id=retirement_id,
        beneficiary=view.beneficiary,
        retired_by=Names(view.retired_by or "", view.retired_by_ja or ""),
        purposes=[_term(names, "purpose", p) for p in view.purposes],
        scope=view.scope,
        reporting_year=view.reporting_year,
        quantity=view.quantity,
        retired_at=view.retired_at,
        note=view.note,
        ranges=ranges,
        journal=journal,
        verify_path=verify_path(retirement_id),
        reversals=removal_profiles.of_issuances(conn, sorted({r.id for r in view.ranges})),
    )


def certificate(db: Database, retirement_id: str) -> Certificate:
    """A retirement's certificate (public: the retirement is public, its account is not)."""
    with db.read() as conn:
        return certificate_in(conn, retirement_id)


# ---------------------------------------------------------------- verification


def _recomputes(e: Any) -> bool:
    try:
        return bool(entry_hash(e.prev_hash, e.seq, e.at, e.kind, e.actor, e.payload) == e.hash)
    except (ValueError, TypeError):
        return False


def _content_matches(conn: Connection, row: Any, entry: Any) -> list[str]:
    """What in the entry's payload differs from the retirement and its movements as stored."""
    try:
        payload = json.loads(entry.payload)
    except ValueError:
        return ["payload is not JSON"]
    if not isinstance(payload, dict):
        return ["payload is not an object"]
    problems = []
    if entry.kind != RETIRED_KIND:
        problems.append(f"entry kind is {entry.kind}, not {RETIRED_KIND}")
    expected = {
        "id": row.id,
        "participant_id": row.participant_id,
        "quantity": row.quantity,
        "purposes": row.purposes.split(","),
        "beneficiary": row.beneficiary,
        "reporting_year": row.reporting_year,
    }
    for key, value in expected.items():
        if payload.get(key) != value:
            problems.append(f"{key} differs")
    stored = sorted(
        (m.issuance_id, m.serial_start, m.serial_end)
        for m in repo.movements_for(conn, "retirement", row.id)
    )
    journaled = sorted(
        (r.get("issuance_id"), r.get("serial_start"), r.get("serial_end"))
        for r in payload.get("ranges", [])
        if isinstance(r, dict)
    )
    if stored != journaled:
        problems.append("serial ranges differ")
    if sum(m[2] - m[1] + 1 for m in stored) != row.quantity:
        problems.append("serial ranges do not add up to the quantity")
    return problems


def check_entry(conn: Connection, retirement_id: str) -> EntryCheck:
    """Verify one retirement's journal entry: its hash, its two links, its content."""
    _check_id(retirement_id)
    row = repo.get_retirement(conn, retirement_id)
    if row is None:
        raise NotFound("retirement_not_found", f"There is no retirement {retirement_id}.")
    seq = row.journal_seq
    around = {e.seq: e for e in repo.journal_entries(conn, max(seq - 2, 0), 3)}
    entry, before, after = around.get(seq), around.get(seq - 1), around.get(seq + 1)
    head = repo.journal_head(conn)
    problems: dict[str, list[str]] = {c: [] for c in CHECKS}
    if entry is None:
        for c in CHECKS:
            problems[c].append(f"journal entry {seq} is missing")
    else:
        if not _recomputes(entry):
            problems["entry_hash"].append(f"entry {seq} does not hash to its stored hash")
        if seq == 1:
            if entry.prev_hash != GENESIS_HASH:
                problems["previous_link"].append("the first entry must follow the genesis hash")
        elif before is None:
            problems["previous_link"].append(f"entry {seq - 1} is missing")
        elif before.hash != entry.prev_hash or not _recomputes(before):
            problems["previous_link"].append(f"entry {seq - 1} does not link to entry {seq}")
        if after is not None:
            if after.prev_hash != entry.hash or not _recomputes(after):
                problems["next_link"].append(f"entry {seq + 1} does not link to entry {seq}")
        elif head is None or head.seq != seq or head.hash != entry.hash:
            problems["next_link"].append(f"the journal head does not point at entry {seq}")
        problems["content"] = _content_matches(conn, row, entry)
    checks = [Check(c, not problems[c], problems[c]) for c in CHECKS]
    return EntryCheck(
        retirement_id=retirement_id,
        journal_seq=seq,
        verified=all(c.ok for c in checks),
        checks=checks,
        head=common.JournalRef(head.seq, head.hash) if head is not None else None,
        last_audit=last_audit(conn),
    )


def last_audit(conn: Connection) -> AuditRecord | None:
    """The latest recorded full audit of the journal, if any."""
    a = schema_claims.journal_audits
    row = conn.execute(select(a).order_by(a.c.id.desc()).limit(1)).first()
    if row is None:
        return None
    return AuditRecord(
        at=row.at,
        ok=bool(row.ok),
        through_seq=int(row.through_seq),
        head_hash=row.head_hash,
        entries=int(row.entries),
        first_bad_seq=row.first_bad_seq,
        problems=loads(row.problems) or [],
    )


def audit(db: Database, actor: Actor) -> AuditResult:
    """Verify the whole journal (``services.audit.verify``) and record the result, in a journal
    entry of its own, so that /verify pages can show the last full audit (operator)."""
    require_operator(actor, "record a full audit of the journal")
    report = audit_service.verify(db)
    result = AuditResult(
        ok=report.ok,
        entries=report.entries,
        head_hash=report.head_hash,
        first_bad_seq=report.first_bad_seq,
        problems=report.problems,
        through_seq=report.entries,
    )

    def work(tx: Tx) -> AuditResult:
        problems = report.problems[:20]
        repo.insert_row(
            tx.conn,
            schema_claims.journal_audits,
            at=tx.at,
            through_seq=report.entries,
            head_hash=report.head_hash,
            ok=report.ok,
            entries=report.entries,
            first_bad_seq=report.first_bad_seq,
            problems=dumps(problems),
            journal_seq=tx.next_seq(),
        )
        tx.record(
            "journal.audited",
            actor.label,
            {
                "ok": report.ok,
                "through_seq": report.entries,
                "head_hash": report.head_hash,
                "first_bad_seq": report.first_bad_seq,
                "problems": problems,
            },
        )
        return result

    return execute(db, actor, None, work, 201)


def verification(db: Database, retirement_id: str) -> Certificate:
    """The certificate and whether its journal entry verifies (the public /verify page)."""
    with db.read() as conn:
        cert = certificate_in(conn, retirement_id)
        return replace(cert, verification=check_entry(conn, retirement_id))


def name(item: Term | Names | None, lang: str) -> str:
    """An item's name in ``lang`` (``name_ja`` or ``name_en``)."""
    if not item:
        return ""
    return item.name_ja if lang == "ja" else item.name_en
