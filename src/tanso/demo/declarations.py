"""The demo's LNG cargo declaration (issue 23 part 2, docs/declarations.md): what `tanso init
--demo` adds after the venues' demos.

東海物産 (TOKAI), a trading house, declares one LNG cargo GHG neutral from well to
regasification terminal (end use not included) in the words of GIIGNL's MRV and GHG Neutral
Framework: it opens the declaration with the cargo's measured emissions by stage and a flare
gas recovery it states, attaches its cargo statement, 国成検証センター (KOKUSEI_VERIFY, accredited
here by the registry operator for FOOTPRINT / lng_cargo) verifies it, TOKAI retires J-Credits
of its own for the ``offset_product`` purpose, links them and declares. Cargo, vessel, ports and
figures are illustrative. Everything goes through the services (the operator's work as
``SYSTEM``, the verification body's and TOKAI's as themselves), so every fact is a journal entry.
"""

from __future__ import annotations

import datetime as dt

from tanso.demo.exchange_days import DemoClock, at_jst
from tanso.domain.participants import Role
from tanso.services.common import SYSTEM, Actor
from tanso.services.compliance import declarations as dc
from tanso.services.cycle import accreditation
from tanso.services.ledger import participants, registry
from tanso.services.ledger.registry import CreditFilter, RetirementRequest, Selection
from tanso.services.trading.exchange import Exchange
from tanso.store import repo
from tanso.store.db import Database

SITE = "http://127.0.0.1:8000"
DECLARANT = "TOKAI"
VERIFIER = "KOKUSEI_VERIFY"

STATEMENT = (
    b"Cargo statement (illustrative)\n"
    b"cargo LNG-TK-2026-117, vessel Tokai Aurora, 69,800 t LNG\n"
    b"upstream 13,900; liquefaction 16,400; shipping 4,450; regasification 640 t-CO2e\n"
)


def cargo(day: dt.date) -> dc.NewDeclaration:
    """The demo cargo, discharged two days before ``day``."""
    return dc.NewDeclaration(
        unit_kind="lng_cargo",
        title="LNG cargo LNG-TK-2026-117 (Tokai Aurora)",
        reference={
            "cargo_id": "LNG-TK-2026-117",
            "vessel": "Tokai Aurora",
            "load_port": "Bintulu",
            "discharge_port": "Chita",
            "date": (day - dt.timedelta(days=2)).isoformat(),
            "volume_m3": "155,000",
        },
        verifier_id=VERIFIER,
        stages=[
            dc.Stage("upstream", 13_900, "Operator's metered fuel, flare and vent data (OGMP 2.0)"),
            dc.Stage("liquefaction", 16_400, "Plant CEMS and fuel gas meters, allocated by mass"),
            dc.Stage("shipping", 4_450, "Boil-off and fuel consumption from the voyage log"),
            dc.Stage("regasification", 640, "Terminal power and send-out meters"),
        ],
        reductions=[dc.Reduction("Flare gas recovery at the liquefaction plant", 1_200)],
    )


def run(db: Database, keys: dict[str, str], clock: DemoClock, days: list[dt.date]) -> str:
    """Declare the demo cargo; a line for the summary ("" if the declarant or the verification
    body is not there, or this ran before)."""
    day = days[-1]
    clock.set(at_jst(day, 16, 0))
    with db.read() as conn:
        ready = repo.get_participant(conn, VERIFIER) is not None and DECLARANT in keys
    if not ready or dc.list_declarations(db, None, limit=1):
        return ""
    if not any(
        a.scheme == dc.SCHEME and a.sector == "lng_cargo" and a.revoked_at is None
        for a in accreditation.list_accreditations(db, VERIFIER)
    ):
        start = dt.date(day.year, 4, 1) if day.month >= 4 else dt.date(day.year - 1, 4, 1)
        accreditation.grant(db, SYSTEM, VERIFIER, dc.SCHEME, "lng_cargo", start.isoformat())
    tokai = participants.authenticate(db, keys[DECLARANT])
    body = Actor(VERIFIER, frozenset({Role.VERIFICATION_BODY}))
    d = dc.create(db, tokai, cargo(day))
    dc.attach_evidence(db, tokai, d.id, "document", "cargo-statement.txt", "text/plain", STATEMENT)
    verified = d.measured_tonnes - 90  # the verifier's correction of the shipping allocation
    dc.verify(
        db,
        body,
        d.id,
        verified,
        "Shipping: boil-off allocated to the laden voyage only (-90 t-CO2e).",
        "Reasonable assurance: the cargo's footprint from well to regasification is fairly "
        "stated (illustrative).",
    )
    request = RetirementRequest(
        f"{DECLARANT}-MAIN",
        Selection(quantity=verified),
        ["offset_product"],
        "東海物産株式会社",
        day.year,
        f"GHG neutral LNG cargo {d.reference['cargo_id']}",
        credits=CreditFilter(scheme="JC"),
    )
    retired = registry.retire(db, tokai, request)
    dc.link_retirements(db, tokai, d.id, [retired.id])
    done = dc.declare(db, tokai, d.id)
    return (
        f"declarations: {done.id}, LNG cargo {done.reference['cargo_id']} declared GHG neutral "
        f"({verified:,} t-CO2e verified by {VERIFIER}, offset by {retired.id})\n"
        f"  public: {SITE}/declarations/{done.id}, {SITE}/ja/declarations/{done.id}, "
        f"{SITE}/verify?id={done.id}"
    )


def seed(
    db: Database, exchange: Exchange, keys: dict[str, str], clock: DemoClock, days: list[dt.date]
) -> str:
    """``run`` with the arguments every demo step of `tanso init --demo` takes."""
    del exchange  # a declaration moves nothing on the exchange
    return run(db, keys, clock, days)
