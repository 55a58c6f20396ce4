"""Evidence files of the project cycle and of declarations: a plan's documents, a monitoring
report's documents, sensor or satellite data files and measurements, a declaration's evidence.

Each file is kept with its SHA-256 and size (the journal records both, never the bytes), its
size limited. Who may read the bytes is the owner's business (``plans``, ``monitoring``,
``declarations``): the parties before the file is public, anyone after.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from tanso.domain.errors import Conflict, InvalidInput, NotFound
from tanso.services.common import Actor, Idem, execute, from_row, loader, new_id
from tanso.store import repo
from tanso.store.db import Database, Tx
from tanso.store.schema_cycle import cycle_evidence

E = cycle_evidence.c
EVIDENCE_KINDS = ("document", "sensor_data", "satellite_data", "measurement")
MEDIA_TYPES = (
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/tiff",
    "text/plain",
    "text/csv",
    "application/json",
    "application/geo+json",
)
MAX_BYTES = 3_000_000
MAX_FILES = 50


@dataclass(frozen=True, slots=True)
class Evidence:
    """An evidence file as listed: what it is, its name, type, size and SHA-256."""

    id: str
    owner_kind: str
    owner_id: str
    kind: str
    uploaded_by: str
    file_name: str
    media_type: str
    size: int
    sha256: str
    at: str
    journal_seq: int


def decode_base64(text: str) -> bytes:
    """A file sent as base64 in JSON."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("invalid_base64", "content_base64 is not valid base64.") from None


def check_file(kind: str, file_name: str, media_type: str, content: bytes) -> str:
    """Refuse a file whose kind, name, media type or size is wrong; its SHA-256 otherwise."""
    if kind not in EVIDENCE_KINDS:
        raise InvalidInput(
            "invalid_evidence_kind", f"kind is one of {', '.join(EVIDENCE_KINDS)}, not {kind!r}."
        )
    name = file_name.strip()
    if not name or len(name) > 200 or any(c in name for c in "/\\") or not name.isprintable():
        raise InvalidInput(
            "invalid_file_name", "A file name is 1 to 200 printable characters, without / or \\."
        )
    if media_type not in MEDIA_TYPES:
        raise InvalidInput(
            "unsupported_media_type",
            f"Evidence is one of {', '.join(MEDIA_TYPES)}, not {media_type[:100]!r}.",
        )
    if not content:
        raise InvalidInput("empty_file", "The file is empty.")
    if len(content) > MAX_BYTES:
        raise InvalidInput(
            "file_too_large",
            f"A file is at most {MAX_BYTES:,} bytes; this one has {len(content):,}.",
        )
    return hashlib.sha256(content).hexdigest()


def attach(
    tx: Tx,
    actor: Actor,
    owner_kind: str,
    owner_id: str,
    kind: str,
    file_name: str,
    media_type: str,
    content: bytes,
) -> Evidence:
    """Keep a file for its owner (a plan, report or declaration) with its journal entry
    ``cycle.evidence_attached``; the caller has checked that the actor may."""
    digest = check_file(kind, file_name, media_type, content)
    count = tx.conn.execute(
        select(func.count()).where(E.owner_kind == owner_kind, E.owner_id == owner_id)
    ).scalar_one()
    if count >= MAX_FILES:
        raise Conflict("too_much_evidence", f"{owner_id} has {count} files, the most one may hold.")
    view = Evidence(
        id=new_id("EV"),
        owner_kind=owner_kind,
        owner_id=owner_id,
        kind=kind,
        uploaded_by=actor.participant_id,
        file_name=file_name.strip(),
        media_type=media_type,
        size=len(content),
        sha256=digest,
        at=tx.at,
        journal_seq=tx.next_seq(),
    )
    repo.insert_row(
        tx.conn,
        cycle_evidence,
        id=view.id,
        owner_kind=owner_kind,
        owner_id=owner_id,
        kind=kind,
        uploaded_by=view.uploaded_by,
        file_name=view.file_name,
        media_type=media_type,
        size=view.size,
        sha256=digest,
        content_base64=base64.b64encode(content).decode("ascii"),
        at=tx.at,
        journal_seq=view.journal_seq,
    )
    tx.record(
        "cycle.evidence_attached",
        actor.label,
        {
            "evidence": view.id,
            "owner_kind": owner_kind,
            "owner_id": owner_id,
            "kind": kind,
            "file_name": view.file_name,
            "size": view.size,
            "sha256": digest,
        },
    )
    return view


def add(
    db: Database,
    actor: Actor,
    owner_kind: str,
    owner_id: str,
    kind: str,
    file_name: str,
    media_type: str,
    content: bytes,
    may: Callable[[Tx], None],
    idem: Idem | None = None,
) -> Evidence:
    """Attach a file in a transaction of its own: the file checked before anything else, then
    ``may`` (the owner's rule: who may attach, and in which state; it raises to refuse)."""
    check_file(kind, file_name, media_type, content)

    def work(tx: Tx) -> Evidence:
        may(tx)
        return attach(tx, actor, owner_kind, owner_id, kind, file_name, media_type, content)

    return execute(db, actor, idem, work, 201, loader(Evidence))


def list_for(conn: Connection, owner_kind: str, owner_id: str) -> list[Evidence]:
    """An owner's files, oldest first (without their bytes)."""
    rows = conn.execute(
        select(*(c for c in cycle_evidence.c if c.name != "content_base64"))
        .where(E.owner_kind == owner_kind, E.owner_id == owner_id)
        .order_by(E.journal_seq)
    ).all()
    return [from_row(Evidence, r) for r in rows]


def content_of(
    conn: Connection, owner_kind: str, owner_id: str, evidence_id: str
) -> tuple[Evidence, bytes]:
    """A file of the owner with its bytes; another owner's file answers not found."""
    row = conn.execute(
        select(cycle_evidence).where(
            E.id == evidence_id, E.owner_kind == owner_kind, E.owner_id == owner_id
        )
    ).first()
    if row is None:
        raise NotFound(
            "evidence_not_found", f"There is no evidence {evidence_id} that you can see."
        )
    return from_row(Evidence, row), base64.b64decode(row.content_base64)
