"""What a verified declaration would say if it were declared now (the portal's declare step,
docs/declarations.md): the wording of its kind filled with its figures as they stand, and
whether its linked retirements cover the verified tonnes. Reads only; ``declarations.declare``
decides and stores the text."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from tanso.services.common import Actor
from tanso.services.compliance import declarations as dc
from tanso.store.db import Database
from tanso.store.schema_declarations import declarations


@dataclass(frozen=True, slots=True)
class Preview:
    """The text a declaration would be declared with, and the tonnes that decide whether it may."""

    wording: str
    text_en: str
    text_ja: str
    verified_tonnes: int
    retired_tonnes: int
    shortfall: int
    """Verified tonnes the linked retirements do not cover (0 when covered)."""

    @property
    def covered(self) -> bool:
        return self.retired_tonnes > 0 and self.shortfall == 0


def preview(db: Database, actor: Actor | None, declaration_id: str) -> Preview | None:
    """The declaration's text as it would be declared now; None before it is verified. Another's
    draft answers like a missing one (NotFound), as ``declarations.get`` does."""
    d = dc.get(db, actor, declaration_id)
    if d.verification is None:
        return None
    with db.read() as conn:
        row = conn.execute(select(declarations).where(declarations.c.id == d.id)).first()
        key, text_en, text_ja = dc.wording_texts(conn, row, d.verification, d.retirements)
    verified = d.verification.verified_tonnes
    return Preview(
        key, text_en, text_ja, verified, d.retired_tonnes, max(verified - d.retired_tonnes, 0)
    )
