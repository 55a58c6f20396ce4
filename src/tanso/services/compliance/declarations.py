"""Declarations for products and cargoes (issue 23 part 2, docs/declarations.md): a declared
unit's footprint, verified by an accredited body, offset by the declarant's own retirements and
declared in the words of its rule set.

A declaration moves draft -> verified -> declared, or is withdrawn. The declarant (any active
participant) names the unit (an LNG cargo, a batch of product, an event), its reference, its
measured emissions by stage with the method of each, the reductions it states and the
verification body; it attaches evidence files while the declaration is a draft. The named body,
accredited for scheme ``FOOTPRINT`` and the unit's kind and not of the declarant's group,
verifies once (verified tonnes at most the measured ones). The declarant links retirements of
its own whose every purpose offsets a product or an event (each backs one declaration only) and
declares once they cover the verified tonnes. Stated reductions are already reflected in the
measured figures (a GIIGNL cargo statement measures the cargo as it was produced and shipped), so
they are shown, never subtracted again.

A claim aimed at consumers in the EU is refused (409 ``eu_offset_claim_banned``) on a day the
usage rules refuse the ``product_claim_eu`` use (Directive (EU) 2024/825, from 27 September
2026). Each step is one transaction with its journal entry; the public page verifies the entry
of the declaration itself as a retirement certificate's page does.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Connection, func, select

from tanso.domain import usage_rules as ur
from tanso.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from tanso.domain.journal import GENESIS_HASH, entry_hash
from tanso.domain.participants import Role
from tanso.services import common
from tanso.services.common import Actor, Idem, execute, loader, omitted, require, require_active
from tanso.services.compliance import certificates, usage
from tanso.services.cycle import accreditation, evidence
from tanso.services.cycle.evidence import Evidence
from tanso.services.cycle.footprint import kinds as kinds
from tanso.services.cycle.footprint import rules as rules
from tanso.store import repo
from tanso.store import schema as t
from tanso.store import schema_usage as u
from tanso.store.db import Database, Tx, dumps, loads
from tanso.store.schema_declarations import (
    declaration_retirements,
    declaration_verifications,
    declarations,
)

D = declarations.c
V = declaration_verifications.c
L = declaration_retirements.c
SCHEME = "FOOTPRINT"
OWNER_KIND = "declaration"
STATES = ("draft", "verified", "declared", "withdrawn")
DECLARATION_ID = re.compile(r"DC-\d{8,}")
EU_CLAIM = "product_claim_eu"
DECLARED_KIND = "declaration.declared"
MAX_TITLE = 200
MAX_VALUE = 200
MAX_METHOD = 1000
MAX_TEXT = 4000
MAX_REDUCTIONS = 20
MAX_LINKS = 50
MAX_TONNES = 10**12


def stage_name(stage: str, lang: str) -> str:
    """A stage's name in ``lang`` (its code when the rules do not name it)."""
    names = rules()["stages"].get(stage, {})
    return str(names.get(lang, names.get("en", stage)))


def verify_path(declaration_id: str, lang: str = "en") -> str:
    return (
        f"/ja/declarations/{declaration_id}" if lang == "ja" else f"/declarations/{declaration_id}"
    )


# ---------------------------------------------------------------- values


@dataclass(frozen=True, slots=True)
class Stage:
    """The measured emissions of one stage, in whole t-CO2e, with how they were measured."""

    stage: str
    tonnes: int
    method: str


@dataclass(frozen=True, slots=True)
class Reduction:
    """A reduction the declarant states (already reflected in the measured stages)."""

    description: str
    tonnes: int


@dataclass(frozen=True, slots=True)
class NewDeclaration:
    unit_kind: str
    title: str
    reference: dict[str, str]
    verifier_id: str
    stages: list[Stage]
    reductions: list[Reduction] = field(default_factory=list)
    eu_consumers: bool = False
    """The claim is aimed at consumers in the EU (Directive (EU) 2024/825 applies)."""


@dataclass(frozen=True, slots=True)
class DeclarationVerification:
    """The verification body's verification: tonnes (at most the measured), findings, statement."""

    verifier_id: str
    verified_tonnes: int
    findings: str
    statement: str
    at: str
    journal_seq: int


@dataclass(frozen=True, slots=True)
class LinkedRetirement:
    """A retirement of the declarant that offsets the declaration, and the tonnes it counts for."""

    retirement_id: str
    tonnes: int
    purposes: list[str]
    verify_path: str
    at: str
    journal_seq: int


@dataclass(frozen=True, slots=True)
class EntryCheck:
    """Whether the declaration's journal entry verifies: its hash, its links, its content."""

    declaration_id: str
    journal_seq: int
    verified: bool
    checks: list[certificates.Check]
    head: common.JournalRef | None
    last_audit: certificates.AuditRecord | None


@dataclass(frozen=True, slots=True)
class Declaration:
    """A declaration as its parties (and, once declared, anyone) see it."""

    id: str
    unit_kind: str
    state: str
    declarant_id: str
    declarant_name_en: str
    declarant_name_ja: str
    verifier_id: str
    verifier_name_en: str
    verifier_name_ja: str
    title: str
    reference: dict[str, str]
    eu_consumers: bool
    stages: list[Stage]
    reductions: list[Reduction]
    measured_tonnes: int
    retired_tonnes: int
    retirements: list[LinkedRetirement]
    evidence: list[Evidence]
    created_at: str
    updated_at: str
    journal_seq: int
    verify_path: str
    verification: DeclarationVerification | None = omitted()  # noqa: RUF009 (a None default)
    declared_at: str | None = omitted()
    declared_seq: int | None = omitted()
    wording: str | None = omitted()
    text_en: str | None = omitted()
    text_ja: str | None = omitted()
    withdrawn_at: str | None = omitted()
    withdrawal_reason: str | None = omitted()
    entry_check: EntryCheck | None = omitted()  # noqa: RUF009 (a None default)
    """On the public page: whether the declaration's journal entry verifies."""


# ---------------------------------------------------------------- checks


def _text(value: str, name: str, most: int, required: bool = True) -> str:
    value = value.strip()
    if (required and not value) or len(value) > most or "\x00" in value:
        need = "1" if required else "0"
        raise InvalidInput(f"invalid_{name}", f"{name} is {need} to {most:,} characters.")
    return value


def _tonnes(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TONNES:
        raise InvalidInput(
            f"invalid_{name}", f"{name} is a whole number of t-CO2e from 0 to {MAX_TONNES:,}."
        )
    return value


def _checked(n: NewDeclaration) -> NewDeclaration:
    """The new declaration with its texts trimmed; refused where a field breaks the rules."""
    spec = rules()["kinds"].get(n.unit_kind)
    if spec is None:
        raise InvalidInput(
            "invalid_unit_kind", f"unit_kind is one of {', '.join(kinds())}, not {n.unit_kind!r}."
        )
    title = _text(n.title, "title", MAX_TITLE)
    required, optional = spec["reference_required"], spec["reference_optional"]
    unknown = sorted(set(n.reference) - set(required) - set(optional))
    if unknown:
        raise InvalidInput(
            "invalid_reference",
            f"A {n.unit_kind} reference names {', '.join(required + optional)}; "
            f"not {', '.join(unknown)}.",
        )
    missing = [k for k in required if not str(n.reference.get(k, "")).strip()]
    if missing:
        raise InvalidInput(
            "reference_incomplete", f"A {n.unit_kind} reference needs {', '.join(missing)}."
        )
    reference = {k: _text(str(v), "reference", MAX_VALUE) for k, v in n.reference.items()}
    if not n.stages:
        raise InvalidInput("stages_required", "A declaration gives at least one stage.")
    seen: set[str] = set()
    stages = []
    for s in n.stages:
        if s.stage not in spec["stages"]:
            raise InvalidInput(
                "invalid_stage",
                f"The stages of a {n.unit_kind} are {', '.join(spec['stages'])}, not {s.stage!r}.",
            )
        if s.stage in seen:
            raise InvalidInput("duplicate_stage", f"Stage {s.stage} is given twice.")
        seen.add(s.stage)
        stages.append(
            Stage(s.stage, _tonnes(s.tonnes, "tonnes"), _text(s.method, "method", MAX_METHOD))
        )
    stages.sort(key=lambda s: spec["stages"].index(s.stage))
    if len(n.reductions) > MAX_REDUCTIONS:
        raise InvalidInput(
            "too_many_reductions", f"A declaration states at most {MAX_REDUCTIONS} reductions."
        )
    reductions = [
        Reduction(_text(r.description, "description", MAX_METHOD), _tonnes(r.tonnes, "tonnes"))
        for r in n.reductions
    ]
    return replace(n, title=title, reference=reference, stages=stages, reductions=reductions)


def _eu_refusal(conn: Connection, on: dt.date) -> str | None:
    """Why a claim to consumers in the EU is refused on ``on``, by the usage rules in force
    (their verdict for ``product_claim_eu`` on any carbon credit); None when it is not."""
    rs = usage.ruleset_in_force(conn, on)
    if rs is None:
        return None
    probe = ur.Lot("any", 1, "", "", unit="tCO2")
    decision = ur.evaluate(rs, [probe], ur.Use(EU_CLAIM, on.year, on), ur.Context())
    refusal = decision.refusal
    if refusal is None:
        return None
    text = next((r.text for r in rs.rules if r.id == refusal.rule), refusal.message)
    return f"rule {refusal.rule} of {rs.label}: {text}"


def _refuse_eu_claim(conn: Connection, on: dt.date) -> None:
    why = _eu_refusal(conn, on)
    if why is not None:
        raise Conflict(
            "eu_offset_claim_banned",
            f"A declaration aimed at consumers in the EU cannot be made on {on}: {why} "
            "Declare it without eu_consumers for other audiences, or not at all.",
        )


def _today(tx_at: str) -> dt.date:
    return usage.local_date(tx_at)


def _row(conn: Connection, declaration_id: str) -> Any:
    if not DECLARATION_ID.fullmatch(declaration_id):
        return None
    return conn.execute(select(declarations).where(D.id == declaration_id)).first()


def _parties(row: Any) -> tuple[str, str]:
    return row.declarant_id, row.verifier_id


def _visible(row: Any, actor: Actor | None) -> bool:
    """Declared ones (withdrawn after too) are public; before, the parties and the operator."""
    if row.declared_seq is not None:
        return True
    return actor is not None and (actor.is_operator() or actor.participant_id in _parties(row))


def _found(conn: Connection, actor: Actor | None, declaration_id: str) -> Any:
    """The row if the actor may see it; another's draft answers exactly like a missing one."""
    row = _row(conn, declaration_id)
    if row is None or not _visible(row, actor):
        raise NotFound(
            "declaration_not_found", f"There is no declaration {declaration_id[:40]} you can see."
        )
    return row


def _as_declarant(conn: Connection, actor: Actor, declaration_id: str, what: str) -> Any:
    row = _found(conn, actor, declaration_id)
    if row.declarant_id != actor.participant_id:
        raise Forbidden("not_the_declarant", f"Only the declarant {row.declarant_id} may {what}.")
    return row


def _in_state(row: Any, states: Sequence[str], what: str) -> None:
    if row.state not in states:
        raise Conflict(
            "declaration_state",
            f"Declaration {row.id} is {row.state}; it can {what} only when {' or '.join(states)}.",
        )


# ---------------------------------------------------------------- reading


def _names(conn: Connection, pid: str) -> tuple[str, str]:
    p = repo.get_participant(conn, pid)
    return (p.name_en, p.name_ja) if p is not None else (pid, pid)


def _links(conn: Connection, declaration_id: str) -> list[LinkedRetirement]:
    rows = conn.execute(
        select(L.retirement_id, L.tonnes, L.at, L.journal_seq, t.retirements.c.purposes)
        .join(t.retirements, t.retirements.c.id == L.retirement_id)
        .where(L.declaration_id == declaration_id)
        .order_by(L.journal_seq, L.retirement_id)
    ).all()
    return [
        LinkedRetirement(
            r.retirement_id,
            int(r.tonnes),
            r.purposes.split(","),
            certificates.verify_path(r.retirement_id),
            r.at,
            int(r.journal_seq),
        )
        for r in rows
    ]


def _verification(conn: Connection, declaration_id: str) -> DeclarationVerification | None:
    row = conn.execute(
        select(declaration_verifications).where(V.declaration_id == declaration_id)
    ).first()
    if row is None:
        return None
    return DeclarationVerification(
        row.verifier_id,
        int(row.verified_tonnes),
        row.findings,
        row.statement,
        row.at,
        int(row.journal_seq),
    )


def _view(conn: Connection, row: Any) -> Declaration:
    links = _links(conn, row.id)
    declarant, verifier = _names(conn, row.declarant_id), _names(conn, row.verifier_id)
    return Declaration(
        id=row.id,
        unit_kind=row.unit_kind,
        state=row.state,
        declarant_id=row.declarant_id,
        declarant_name_en=declarant[0],
        declarant_name_ja=declarant[1],
        verifier_id=row.verifier_id,
        verifier_name_en=verifier[0],
        verifier_name_ja=verifier[1],
        title=row.title,
        reference=loads(row.reference) or {},
        eu_consumers=bool(row.eu_consumers),
        stages=[Stage(**s) for s in loads(row.stages) or []],
        reductions=[Reduction(**r) for r in loads(row.reductions) or []],
        measured_tonnes=int(row.measured_tonnes),
        retired_tonnes=sum(x.tonnes for x in links),
        retirements=links,
        evidence=evidence.list_for(conn, OWNER_KIND, row.id),
        created_at=row.created_at,
        updated_at=row.updated_at,
        journal_seq=int(row.journal_seq),
        verify_path=verify_path(row.id),
        verification=_verification(conn, row.id),
        declared_at=row.declared_at,
        declared_seq=row.declared_seq,
        wording=row.wording,
        text_en=row.text_en,
        text_ja=row.text_ja,
        withdrawn_at=row.withdrawn_at,
        withdrawal_reason=row.withdrawal_reason,
    )


def get(db: Database, actor: Actor | None, declaration_id: str) -> Declaration:
    """One declaration: anyone's once declared, else only its parties' and the operator's."""
    with db.read() as conn:
        return _view(conn, _found(conn, actor, declaration_id))


def list_declarations(
    db: Database, actor: Actor | None, state: str | None = None, limit: int = 100
) -> list[Declaration]:
    """Declared declarations (and withdrawn ones that were declared), newest first; with a key
    also the caller's own and those it verifies (the operator: every one)."""
    if state is not None and state not in STATES:
        raise InvalidInput("invalid_state", f"state is one of {', '.join(STATES)}.")
    if not 1 <= limit <= 1000:
        raise InvalidInput("invalid_limit", "limit is from 1 to 1000.")
    query = select(declarations)
    if actor is None:
        query = query.where(D.declared_seq.is_not(None))
    elif not actor.is_operator():
        pid = actor.participant_id
        query = query.where(
            D.declared_seq.is_not(None) | (D.declarant_id == pid) | (D.verifier_id == pid)
        )
    if state is not None:
        query = query.where(D.state == state)
    with db.read() as conn:
        rows = conn.execute(query.order_by(D.created_at.desc(), D.id.desc()).limit(limit)).all()
        return [_view(conn, r) for r in rows]


def evidence_file(
    db: Database, actor: Actor | None, declaration_id: str, evidence_id: str
) -> tuple[Evidence, bytes]:
    """An evidence file's bytes: the parties and the operator before the declaration is made,
    anyone after; to anyone else it answers like a missing one."""
    with db.read() as conn:
        _found(conn, actor, declaration_id)
        return evidence.content_of(conn, OWNER_KIND, declaration_id, evidence_id[:40])


# ---------------------------------------------------------------- steps


def _journal(view: Declaration) -> dict[str, Any]:
    return {
        "id": view.id,
        "state": view.state,
        "unit_kind": view.unit_kind,
        "declarant_id": view.declarant_id,
        "verifier_id": view.verifier_id,
    }


def create(
    db: Database, actor: Actor, new: NewDeclaration, idem: Idem | None = None
) -> Declaration:
    """Open a draft declaration of the caller's unit: its reference, measured emissions by
    stage, stated reductions and the accredited body that is to verify them."""
    n = _checked(new)

    def work(tx: Tx) -> Declaration:
        conn = tx.conn
        require_active(conn, actor)
        declarant = actor.participant_id
        on = _today(tx.at)
        if repo.get_participant(conn, n.verifier_id) is None:
            raise NotFound("participant_not_found", f"There is no participant {n.verifier_id}.")
        accreditation.require_accredited(conn, n.verifier_id, SCHEME, n.unit_kind, on.isoformat())
        if accreditation.same_group(conn, declarant, n.verifier_id):
            raise Conflict(
                "verifier_conflict",
                f"{n.verifier_id} is the declarant or of its corporate group; name an "
                "independent verification body.",
            )
        if n.eu_consumers:
            _refuse_eu_claim(conn, on)
        did = f"DC-{tx.next_seq():08d}"
        stages = [{"stage": s.stage, "tonnes": s.tonnes, "method": s.method} for s in n.stages]
        reductions = [{"description": r.description, "tonnes": r.tonnes} for r in n.reductions]
        measured = sum(s.tonnes for s in n.stages)
        repo.insert_row(
            conn,
            declarations,
            id=did,
            unit_kind=n.unit_kind,
            state="draft",
            declarant_id=declarant,
            verifier_id=n.verifier_id,
            title=n.title,
            reference=dumps(n.reference),
            eu_consumers=n.eu_consumers,
            stages=dumps(stages),
            reductions=dumps(reductions),
            measured_tonnes=measured,
            created_at=tx.at,
            updated_at=tx.at,
            journal_seq=tx.next_seq(),
        )
        view = _view(conn, _row(conn, did))
        tx.record(
            "declaration.created",
            actor.label,
            _journal(view)
            | {
                "title": n.title,
                "reference": n.reference,
                "eu_consumers": n.eu_consumers,
                "stages": stages,
                "reductions": reductions,
                "measured_tonnes": measured,
            },
        )
        return view

    return execute(db, actor, idem, work, 201, loader(Declaration))


def attach_evidence(
    db: Database,
    actor: Actor,
    declaration_id: str,
    kind: str,
    file_name: str,
    media_type: str,
    content: bytes,
    idem: Idem | None = None,
) -> Evidence:
    """Attach an evidence file to a draft (the declarant); kept with its SHA-256 and size."""

    def may(tx: Tx) -> None:
        require_active(tx.conn, actor)
        row = _as_declarant(tx.conn, actor, declaration_id, "attach evidence")
        _in_state(row, ("draft",), "take evidence")

    file = (kind, file_name, media_type, content)
    return evidence.add(db, actor, OWNER_KIND, declaration_id, *file, may, idem)


def verify(
    db: Database,
    actor: Actor,
    declaration_id: str,
    verified_tonnes: int,
    findings: str,
    statement: str,
    idem: Idem | None = None,
) -> Declaration:
    """The named verification body's verification, once: verified tonnes (at most the measured
    ones), findings and its statement."""
    require(actor, Role.VERIFICATION_BODY, "verify a declaration")
    _tonnes(verified_tonnes, "verified_tonnes")
    findings = _text(findings, "findings", MAX_TEXT, required=False)
    statement = _text(statement, "statement", MAX_TEXT)

    def work(tx: Tx) -> Declaration:
        conn = tx.conn
        require_active(conn, actor)
        row = _found(conn, actor, declaration_id)
        if row.verifier_id != actor.participant_id:
            raise Forbidden(
                "not_the_verifier",
                f"Declaration {row.id} names {row.verifier_id} as its verification body.",
            )
        if _verification(conn, row.id) is not None:
            raise Conflict("already_verified", f"Declaration {row.id} is verified already.")
        _in_state(row, ("draft",), "be verified")
        accreditation.require_accredited(
            conn, actor.participant_id, SCHEME, row.unit_kind, _today(tx.at).isoformat()
        )
        if accreditation.same_group(conn, row.declarant_id, actor.participant_id):
            raise Conflict(
                "verifier_conflict",
                f"{actor.participant_id} is of the declarant's corporate group and may not "
                "verify its declaration.",
            )
        if verified_tonnes > row.measured_tonnes:
            raise InvalidInput(
                "verified_exceeds_measured",
                f"verified_tonnes ({verified_tonnes:,}) exceeds the measured emissions "
                f"({row.measured_tonnes:,} t-CO2e).",
            )
        seq = tx.next_seq()
        repo.insert_row(
            conn,
            declaration_verifications,
            declaration_id=row.id,
            verifier_id=actor.participant_id,
            verified_tonnes=verified_tonnes,
            findings=findings,
            statement=statement,
            at=tx.at,
            journal_seq=seq,
        )
        conn.execute(
            declarations.update()
            .where(D.id == row.id)
            .values(state="verified", updated_at=tx.at, journal_seq=seq)
        )
        view = _view(conn, _row(conn, row.id))
        tx.record(
            "declaration.verified",
            actor.label,
            _journal(view)
            | {
                "verified_tonnes": verified_tonnes,
                "measured_tonnes": view.measured_tonnes,
                "findings": findings,
                "statement": statement,
            },
        )
        return view

    return execute(db, actor, idem, work, 200, loader(Declaration))


def _claimed_tonnes(conn: Connection, retirement: Any, uses: Sequence[str]) -> int:
    """The tonnes a retirement counts for under a product or event offset purpose, as the usage
    rules recorded them when it was made (its quantity where they recorded none)."""
    c = u.usage_claims.c
    rows = conn.execute(
        select(c.use, func.sum(c.tonnes))
        .where(c.retirement_id == retirement.id, c.use.in_(list(uses)))
        .group_by(c.use)
    ).all()
    return max((int(r[1] or 0) for r in rows), default=int(retirement.quantity))


def link_retirements(
    db: Database,
    actor: Actor,
    declaration_id: str,
    retirement_ids: Sequence[str],
    idem: Idem | None = None,
) -> Declaration:
    """Link retirements of the declarant's own to its declaration before it is declared: every
    purpose of each must offset a product or an event as the unit's kind says, and a retirement
    backs one declaration only."""
    ids = list(retirement_ids)
    if not 1 <= len(ids) <= MAX_LINKS:
        raise InvalidInput("invalid_retirements", f"Link 1 to {MAX_LINKS} retirements at once.")
    if len(set(ids)) != len(ids):
        raise InvalidInput("duplicate_retirement", "A retirement is named twice.")

    def work(tx: Tx) -> Declaration:
        conn = tx.conn
        require_active(conn, actor)
        row = _as_declarant(conn, actor, declaration_id, "link retirements")
        _in_state(row, ("draft", "verified"), "take retirements")
        allowed = rules()["kinds"][row.unit_kind]["purposes"]
        seq = tx.next_seq()
        linked = []
        for rid in ids:
            r = repo.get_retirement(conn, rid[:40])
            if r is None or r.participant_id != row.declarant_id:
                raise NotFound(
                    "retirement_not_found", f"There is no retirement {rid[:40]} of yours."
                )
            other = [p for p in r.purposes.split(",") if p not in allowed]
            if other:
                raise Conflict(
                    "purpose_not_for_declaration",
                    f"Retirement {r.id} was made for {', '.join(other)}; a {row.unit_kind} is "
                    f"offset only by retirements for {', '.join(allowed)}.",
                )
            taken = conn.execute(
                select(L.declaration_id).where(L.retirement_id == r.id)
            ).scalar_one_or_none()
            if taken is not None:
                raise Conflict(
                    "retirement_already_linked",
                    f"Retirement {r.id} already backs declaration {taken}; a retirement offsets "
                    "one declaration only.",
                )
            tonnes = _claimed_tonnes(conn, r, allowed)
            repo.insert_row(
                conn,
                declaration_retirements,
                retirement_id=r.id,
                declaration_id=row.id,
                tonnes=tonnes,
                at=tx.at,
                journal_seq=seq,
            )
            linked.append({"retirement_id": r.id, "tonnes": tonnes})
        conn.execute(
            declarations.update().where(D.id == row.id).values(updated_at=tx.at, journal_seq=seq)
        )
        view = _view(conn, _row(conn, row.id))
        tx.record(
            "declaration.retirements_linked",
            actor.label,
            _journal(view) | {"linked": linked, "retired_tonnes": view.retired_tonnes},
        )
        return view

    return execute(db, actor, idem, work, 200, loader(Declaration))


def _fill(template: str, values: dict[str, str]) -> str:
    return template.format_map(values)


def wording_texts(
    conn: Connection, row: Any, verified: DeclarationVerification, links: list[LinkedRetirement]
) -> tuple[str, str, str]:
    """The declaration's wording (its rule's id) and its text in English and Japanese."""
    spec = rules()["kinds"][row.unit_kind]
    key = spec["wording"]
    w = rules()["wordings"][key]
    stages = [s["stage"] for s in loads(row.stages) or []]
    full = set(stages) == set(spec["stages"])
    reductions = loads(row.reductions) or []
    declarant, verifier = _names(conn, row.declarant_id), _names(conn, row.verifier_id)
    reference = {k: "" for k in spec["reference_required"] + spec["reference_optional"]}
    reference |= loads(row.reference) or {}
    out = []
    for i, lang in enumerate(("en", "ja")):
        sep = ", " if lang == "en" else "、"
        values = reference | {
            "declarant": declarant[i],
            "verifier": verifier[i],
            "boundary": w[f"boundary_{'full' if full else 'partial'}_{lang}"],
            "stages": sep.join(stage_name(s, lang) for s in stages),
            "measured": f"{int(row.measured_tonnes):,}",
            "verified": f"{verified.verified_tonnes:,}",
            "retired": f"{sum(x.tonnes for x in links):,}",
            "retirements": sep.join(x.retirement_id for x in links),
            "reductions": sep.join(
                f"{r['description']} ({r['tonnes']:,} t-CO2e)" for r in reductions
            )
            or rules()[f"no_reductions_{lang}"],
        }
        out.append(_fill(w[lang], values))
    return key, out[0], out[1]


def declare(
    db: Database, actor: Actor, declaration_id: str, idem: Idem | None = None
) -> Declaration:
    """Declare a verified unit whose linked retirements cover its verified emissions, in the
    words of its rule set (English and Japanese); the text and its evidence become public."""

    def work(tx: Tx) -> Declaration:
        conn = tx.conn
        require_active(conn, actor)
        row = _as_declarant(conn, actor, declaration_id, "declare it")
        _in_state(row, ("verified",), "be declared")
        verified = _verification(conn, row.id)
        assert verified is not None  # a verified declaration has its verification
        links = _links(conn, row.id)
        retired = sum(x.tonnes for x in links)
        if not links or retired < verified.verified_tonnes:
            raise Conflict(
                "not_covered",
                f"The linked retirements cover {retired:,} t-CO2e of the "
                f"{verified.verified_tonnes:,} t-CO2e verified; link retirements for "
                f"{max(verified.verified_tonnes - retired, 1):,} t-CO2e more before declaring.",
            )
        if row.eu_consumers:
            _refuse_eu_claim(conn, _today(tx.at))
        key, text_en, text_ja = wording_texts(conn, row, verified, links)
        seq = tx.next_seq()
        conn.execute(
            declarations.update()
            .where(D.id == row.id)
            .values(
                state="declared",
                declared_at=tx.at,
                declared_seq=seq,
                wording=key,
                text_en=text_en,
                text_ja=text_ja,
                updated_at=tx.at,
                journal_seq=seq,
            )
        )
        view = _view(conn, _row(conn, row.id))
        tx.record(DECLARED_KIND, actor.label, _declared_payload(view))
        return view

    return execute(db, actor, idem, work, 200, loader(Declaration))


def _declared_payload(view: Declaration) -> dict[str, Any]:
    """What the journal entry of a declaration holds, and its check compares."""
    assert view.verification is not None
    return _journal(view) | {
        "reference": view.reference,
        "measured_tonnes": view.measured_tonnes,
        "verified_tonnes": view.verification.verified_tonnes,
        "retired_tonnes": view.retired_tonnes,
        "retirements": sorted(x.retirement_id for x in view.retirements),
        "evidence": sorted(e.sha256 for e in view.evidence),
        "wording": view.wording,
        "text_en": view.text_en,
        "text_ja": view.text_ja,
    }


def withdraw(
    db: Database, actor: Actor, declaration_id: str, reason: str, idem: Idem | None = None
) -> Declaration:
    """Withdraw a declaration with the reason (the declarant, or the operator): a declared one
    stays public, marked withdrawn; its retirements stay linked to it."""
    reason = _text(reason, "reason", MAX_TEXT)

    def work(tx: Tx) -> Declaration:
        conn = tx.conn
        require_active(conn, actor)
        row = _found(conn, actor, declaration_id)
        if row.declarant_id != actor.participant_id and not actor.is_operator():
            raise Forbidden(
                "not_the_declarant", f"Only the declarant {row.declarant_id} may withdraw it."
            )
        _in_state(row, ("draft", "verified", "declared"), "be withdrawn")
        seq = tx.next_seq()
        conn.execute(
            declarations.update()
            .where(D.id == row.id)
            .values(
                state="withdrawn",
                withdrawn_at=tx.at,
                withdrawal_reason=reason,
                updated_at=tx.at,
                journal_seq=seq,
            )
        )
        view = _view(conn, _row(conn, row.id))
        tx.record("declaration.withdrawn", actor.label, _journal(view) | {"reason": reason})
        return view

    return execute(db, actor, idem, work, 200, loader(Declaration))


# ---------------------------------------------------------------- public verification


def _recomputes(e: Any) -> bool:
    try:
        return bool(entry_hash(e.prev_hash, e.seq, e.at, e.kind, e.actor, e.payload) == e.hash)
    except (ValueError, TypeError):
        return False


def check_entry(conn: Connection, view: Declaration) -> EntryCheck:
    """Verify a declared declaration's journal entry: its hash, its two links (or the head) and
    its content against the declaration as stored (as a certificate's check does)."""
    assert view.declared_seq is not None
    seq = view.declared_seq
    around = {e.seq: e for e in repo.journal_entries(conn, max(seq - 2, 0), 3)}
    entry, before, after = around.get(seq), around.get(seq - 1), around.get(seq + 1)
    head = repo.journal_head(conn)
    problems: dict[str, list[str]] = {c: [] for c in certificates.CHECKS}
    if entry is None:
        for c in certificates.CHECKS:
            problems[c].append(f"journal entry {seq} is missing")
    else:
        if not _recomputes(entry):
            problems["entry_hash"].append(f"entry {seq} does not hash to its stored hash")
        if seq == 1:
            if entry.prev_hash != GENESIS_HASH:
                problems["previous_link"].append("the first entry must follow the genesis hash")
        elif before is None or before.hash != entry.prev_hash or not _recomputes(before):
            problems["previous_link"].append(f"entry {seq - 1} does not link to entry {seq}")
        if after is not None:
            if after.prev_hash != entry.hash or not _recomputes(after):
                problems["next_link"].append(f"entry {seq + 1} does not link to entry {seq}")
        elif head is None or head.seq != seq or head.hash != entry.hash:
            problems["next_link"].append(f"the journal head does not point at entry {seq}")
        problems["content"] = _content_problems(view, entry)
    checks = [certificates.Check(c, not problems[c], problems[c]) for c in certificates.CHECKS]
    return EntryCheck(
        declaration_id=view.id,
        journal_seq=seq,
        verified=all(c.ok for c in checks),
        checks=checks,
        head=common.JournalRef(head.seq, head.hash) if head is not None else None,
        last_audit=certificates.last_audit(conn),
    )


def _content_problems(view: Declaration, entry: Any) -> list[str]:
    try:
        payload = json.loads(entry.payload)
    except ValueError:
        return ["payload is not JSON"]
    if not isinstance(payload, dict):
        return ["payload is not an object"]
    problems = []
    if entry.kind != DECLARED_KIND:
        problems.append(f"entry kind is {entry.kind}, not {DECLARED_KIND}")
    expected = _declared_payload(replace(view, state="declared"))
    # evidence and links cannot change after the declaration; the state may (withdrawn)
    for key, value in expected.items():
        if payload.get(key) != value:
            problems.append(f"{key} differs")
    return problems


def verification(db: Database, declaration_id: str) -> Declaration:
    """A declared declaration with the check of its journal entry (the public page); a draft
    answers like a missing one."""
    with db.read() as conn:
        view = _view(conn, _found(conn, None, declaration_id))
        return replace(view, entry_check=check_entry(conn, view))
