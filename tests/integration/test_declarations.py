"""Declarations for products and cargoes (issue 23 part 2) on both databases: a cargo's
footprint is verified by an accredited, independent body, offset by the declarant's own
retirements (each backing one declaration) and declared only when they cover it; a claim to EU
consumers is refused from 27 September 2026; evidence is served to the parties before the
declaration and to anyone after; every step is a journal entry and the declaration's entry
verifies."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tanso.demo import declarations as demo_declarations
from tanso.demo.exchange_days import DemoClock, demo_days
from tanso.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from tanso.domain.participants import OPERATOR_PARTICIPANT, Role
from tanso.services.common import SYSTEM, Actor
from tanso.services.compliance import declarations as dc
from tanso.services.cycle import accreditation
from tanso.services.ledger import audit, participants, registry
from tanso.services.ledger.registry import RetirementRequest, Selection
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange
from tanso.store import schema as t
from tanso.store.db import Database
from tests.conftest import add_issuance, add_participant, demo_database

pytestmark = pytest.mark.fast_backends("sqlite", "postgres")

REGISTRY = Actor(OPERATOR_PARTICIPANT, frozenset({Role.REGISTRY_OPERATOR}))
CARGO = {
    "cargo_id": "LNG-2026-0042",
    "vessel": "Pacific Enlighten",
    "load_port": "Gorgon",
    "discharge_port": "Sodegaura",
    "date": "2026-01-04",
}
PDF = b"%PDF-1.4 cargo statement"


class Clock:
    """Each transaction a microsecond later, from a given day (UTC)."""

    def __init__(self, day: str) -> None:
        self.day, self.ticks = day, 0

    def __call__(self) -> str:
        self.ticks += 1
        return f"{self.day}T01:00:00.{self.ticks:06d}Z"


@pytest.fixture
def world(db: Database) -> Iterator[Database]:
    add_participant(db, "DECL")
    add_participant(db, "OTHER")
    add_participant(db, "VB", ["verification_body"])
    add_participant(db, "VB_SISTER", ["verification_body"])
    add_participant(db, "VB_OFF", ["verification_body"])
    for pid in ("DECL", "VB_SISTER"):
        participants.set_attributes(db, SYSTEM, pid, corporate_group="DECL_GROUP")
    for pid in ("VB", "VB_SISTER"):
        accreditation.grant(db, REGISTRY, pid, "FOOTPRINT", "lng_cargo", "2026-01-01")
    add_issuance(db, "DECL-MAIN", 10_000)
    add_issuance(db, "OTHER-MAIN", 1_000)
    yield db
    report = audit.verify(db)
    assert report.ok, report.problems


def actor(pid: str) -> Actor:
    roles = {"VB": Role.VERIFICATION_BODY, "VB_SISTER": Role.VERIFICATION_BODY}
    return Actor(pid, frozenset({roles.get(pid, Role.TRADER)}))


DECL, OTHER, VB = actor("DECL"), actor("OTHER"), actor("VB")


def cargo(verifier: str = "VB", eu: bool = False, **stages: int) -> dc.NewDeclaration:
    tonnes = stages or {"upstream": 2_100, "liquefaction": 1_800, "shipping": 900}
    return dc.NewDeclaration(
        unit_kind="lng_cargo",
        title="LNG cargo LNG-2026-0042",
        reference=CARGO,
        verifier_id=verifier,
        stages=[dc.Stage(k, v, f"{k}: metered, IPCC 2006 factors") for k, v in tonnes.items()],
        reductions=[dc.Reduction("Flare gas recovery at the liquefaction plant", 300)],
        eu_consumers=eu,
    )


def retire(db: Database, who: Actor, quantity: int, purpose: str = "offset_product") -> str:
    account = f"{who.participant_id}-MAIN"
    request = RetirementRequest(account, Selection(quantity=quantity), [purpose], "", 2026)
    return registry.retire(db, who, request).id


def kinds(db: Database) -> list[str]:
    j = t.journal.c
    with db.read() as conn:
        rows = conn.execute(select(j.kind).order_by(j.seq)).scalars().all()
    return [k for k in rows if k.startswith(("declaration.", "cycle.evidence"))]


def verified(db: Database, tonnes: int = 4_800, **kw: int) -> dc.Declaration:
    d = dc.create(db, DECL, cargo(**kw))
    return dc.verify(db, VB, d.id, tonnes, "Primary data for all stages.", "Reasonable assurance.")


def test_a_cargo_is_verified_offset_and_declared_with_a_verifying_journal_entry(
    world: Database,
) -> None:
    d = dc.create(world, DECL, cargo())
    assert (d.state, d.measured_tonnes, d.retired_tonnes) == ("draft", 4_800, 0)
    assert d.id.startswith("DC-") and next(s.stage for s in d.stages) == "upstream"
    ev = dc.attach_evidence(world, DECL, d.id, "document", "statement.pdf", "application/pdf", PDF)
    assert ev.size == len(PDF) and len(ev.sha256) == 64
    d = dc.verify(world, VB, d.id, 4_700, "Shipping distance corrected.", "Verified.")
    assert d.state == "verified" and d.verification and d.verification.verified_tonnes == 4_700
    rids = [retire(world, DECL, 3_000), retire(world, DECL, 1_700)]
    d = dc.link_retirements(world, DECL, d.id, rids)
    assert d.retired_tonnes == 4_700 and [r.retirement_id for r in d.retirements] == rids
    d = dc.declare(world, DECL, d.id)
    assert d.state == "declared" and d.wording == "giignl_ghg_neutral"
    assert d.text_en and "GHG neutral" in d.text_en and "4,700" in d.text_en
    assert "end use not included" in d.text_en and rids[0] in d.text_en
    assert d.text_ja and "GHG ニュートラル" in d.text_ja
    assert kinds(world) == [
        "declaration.created",
        "cycle.evidence_attached",
        "declaration.verified",
        "declaration.retirements_linked",
        "declaration.declared",
    ]
    page = dc.verification(world, d.id)
    assert page.entry_check is not None and page.entry_check.verified
    assert [x.id for x in dc.list_declarations(world, None)] == [d.id]
    d = dc.withdraw(world, DECL, d.id, "Cargo resold; statement reissued.")
    assert d.state == "withdrawn" and dc.get(world, None, d.id).withdrawal_reason
    assert dc.verification(world, d.id).entry_check.verified  # type: ignore[union-attr]


def test_nothing_is_declared_before_the_retirements_cover_the_verified_tonnes(
    world: Database,
) -> None:
    draft = dc.create(world, DECL, cargo())
    with pytest.raises(Conflict) as e:
        dc.declare(world, DECL, draft.id)
    assert e.value.code == "declaration_state"
    d = dc.verify(world, VB, draft.id, 4_000, "", "Verified.")
    with pytest.raises(Conflict) as e:
        dc.declare(world, DECL, d.id)
    assert e.value.code == "not_covered"
    dc.link_retirements(world, DECL, d.id, [retire(world, DECL, 3_999)])
    with pytest.raises(Conflict) as e:
        dc.declare(world, DECL, d.id)
    assert e.value.code == "not_covered" and "3,999" in e.value.message
    dc.link_retirements(world, DECL, d.id, [retire(world, DECL, 1)])
    assert dc.declare(world, DECL, d.id).state == "declared"
    with pytest.raises(Conflict):
        dc.link_retirements(world, DECL, d.id, [retire(world, DECL, 1)])


def test_a_retirement_backs_one_declaration_of_its_own_retirer_for_a_product_purpose(
    world: Database,
) -> None:
    a, b = verified(world), verified(world)
    rid = retire(world, DECL, 100)
    dc.link_retirements(world, DECL, a.id, [rid])
    with pytest.raises(Conflict) as e:
        dc.link_retirements(world, DECL, b.id, [rid])
    assert e.value.code == "retirement_already_linked" and a.id in e.value.message
    with pytest.raises(Conflict) as e:
        dc.link_retirements(world, DECL, a.id, [rid])
    assert e.value.code == "retirement_already_linked"
    others = retire(world, OTHER, 100)
    with pytest.raises(NotFound):
        dc.link_retirements(world, DECL, b.id, [others])
    scope3 = retire(world, DECL, 100, "offset_scope3")
    with pytest.raises(Conflict) as e:
        dc.link_retirements(world, DECL, b.id, [scope3])
    assert e.value.code == "purpose_not_for_declaration"
    with pytest.raises(Forbidden):
        dc.link_retirements(world, VB, a.id, [rid])
    with pytest.raises(NotFound):  # a stranger's view of a draft: missing
        dc.link_retirements(world, OTHER, a.id, [others])


def test_only_the_named_accredited_independent_body_verifies_once(world: Database) -> None:
    with pytest.raises(Forbidden) as e:
        dc.create(world, DECL, cargo("VB_OFF"))
    assert e.value.code == "not_accredited"
    with pytest.raises(Conflict) as e:
        dc.create(world, DECL, cargo("VB_SISTER"))
    assert e.value.code == "verifier_conflict"
    d = dc.create(world, DECL, cargo())
    sister = actor("VB_SISTER")
    with pytest.raises(NotFound):
        dc.verify(world, sister, d.id, 1, "", "x")
    with pytest.raises(Forbidden) as e:
        dc.verify(world, DECL, d.id, 1, "", "x")
    assert e.value.code == "role_required"
    with pytest.raises(InvalidInput) as e:
        dc.verify(world, VB, d.id, 4_801, "", "Verified.")
    assert e.value.code == "verified_exceeds_measured"
    [acr] = [a for a in accreditation.list_accreditations(world, "VB")]
    accreditation.revoke(world, REGISTRY, acr.id, "Lapsed.")
    with pytest.raises(Forbidden) as e:
        dc.verify(world, VB, d.id, 4_800, "", "Verified.")
    assert e.value.code == "not_accredited"
    accreditation.grant(world, REGISTRY, "VB", "FOOTPRINT", "lng_cargo", "2026-01-01")
    dc.verify(world, VB, d.id, 4_800, "", "Verified.")
    with pytest.raises(Conflict) as e:
        dc.verify(world, VB, d.id, 4_800, "", "Again.")
    assert e.value.code == "already_verified"


def test_a_claim_to_eu_consumers_is_refused_from_27_september_2026(world: Database) -> None:
    early = dc.create(world, DECL, cargo(eu=True))  # January 2026: allowed
    dc.verify(world, VB, early.id, 100, "", "Verified.")
    dc.link_retirements(world, DECL, early.id, [retire(world, DECL, 100)])
    world.clock = Clock("2026-10-01")
    with pytest.raises(Conflict) as e:
        dc.declare(world, DECL, early.id)
    assert e.value.code == "eu_offset_claim_banned"
    assert "EU-NO-OFFSET-PRODUCT-CLAIM" in e.value.message
    with pytest.raises(Conflict) as e:
        dc.create(world, DECL, cargo(eu=True))
    assert e.value.code == "eu_offset_claim_banned"
    plain = verified(world, 100)
    dc.link_retirements(world, DECL, plain.id, [retire(world, DECL, 100)])
    assert dc.declare(world, DECL, plain.id).state == "declared"


def test_evidence_is_for_the_parties_before_the_declaration_and_for_anyone_after(
    world: Database,
) -> None:
    d = dc.create(world, DECL, cargo())
    ev = dc.attach_evidence(world, DECL, d.id, "measurement", "meter.csv", "text/csv", b"t,1\n")
    for who in (DECL, VB, REGISTRY):
        assert dc.evidence_file(world, who, d.id, ev.id)[1] == b"t,1\n"
    for stranger in (OTHER, None):
        with pytest.raises(NotFound):
            dc.evidence_file(world, stranger, d.id, ev.id)
        with pytest.raises(NotFound):
            dc.get(world, stranger, d.id)
    assert dc.list_declarations(world, OTHER) == []
    with pytest.raises(Forbidden):
        dc.attach_evidence(world, VB, d.id, "document", "x.txt", "text/plain", b"x")
    dc.verify(world, VB, d.id, 10, "", "Verified.")
    with pytest.raises(Conflict):  # the verified figures' evidence is fixed
        dc.attach_evidence(world, DECL, d.id, "document", "late.txt", "text/plain", b"x")
    dc.link_retirements(world, DECL, d.id, [retire(world, DECL, 10)])
    dc.declare(world, DECL, d.id)
    assert dc.evidence_file(world, None, d.id, ev.id)[0].sha256 == ev.sha256
    assert dc.evidence_file(world, OTHER, d.id, ev.id)[1] == b"t,1\n"


def test_a_malformed_declaration_is_refused_before_anything_is_written(world: Database) -> None:
    with pytest.raises(InvalidInput) as e:
        dc.create(world, DECL, cargo(boil_off=5))
    assert e.value.code == "invalid_stage"
    n = cargo()
    for change, code in (
        ({"reference": {"vessel": "x"}}, "reference_incomplete"),
        ({"reference": CARGO | {"colour": "blue"}}, "invalid_reference"),
        ({"unit_kind": "ship"}, "invalid_unit_kind"),
        ({"stages": []}, "stages_required"),
    ):
        with pytest.raises(InvalidInput) as e:
            dc.create(world, DECL, dc.NewDeclaration(**(vars_of(n) | change)))
        assert e.value.code == code
    assert kinds(world) == []


def vars_of(n: dc.NewDeclaration) -> dict[str, object]:
    return {f: getattr(n, f) for f in n.__dataclass_fields__}


@pytest.mark.full
@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    sizes=st.lists(st.integers(1, 400), min_size=1, max_size=4),
    verified_tonnes=st.integers(0, 900),
    declare_first=st.booleans(),
)
def test_linked_tonnes_never_exceed_a_retirement_nor_is_anything_declared_uncovered(
    world: Database, sizes: list[int], verified_tonnes: int, declare_first: bool
) -> None:
    d = verified(world, verified_tonnes, upstream=900)
    rids = [retire(world, DECL, q) for q in sizes]
    if declare_first:
        with contextlib.suppress(Conflict):
            dc.declare(world, DECL, d.id)
    for rid in rids:
        with contextlib.suppress(Conflict):
            dc.link_retirements(world, DECL, d.id, [rid])
    with contextlib.suppress(Conflict):
        dc.declare(world, DECL, d.id)
    with world.read() as conn:
        retirements = {r.id: r.quantity for r in conn.execute(select(t.retirements))}
    for x in dc.list_declarations(world, REGISTRY, limit=1000):
        assert all(r.tonnes <= retirements[r.retirement_id] for r in x.retirements)
        if x.state == "declared":
            assert x.verification is not None
            assert x.retired_tonnes >= x.verification.verified_tonnes
            assert x.retirements
    linked = [
        r.retirement_id
        for x in dc.list_declarations(world, REGISTRY, limit=1000)
        for r in x.retirements
    ]
    assert len(linked) == len(set(linked))


@pytest.mark.full
def test_the_demo_declares_one_lng_cargo_backed_by_retired_j_credits(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    database, keys = demo_database("sqlite", request, tmp_path)
    add_participant(database, "KOKUSEI_VERIFY", ["verification_body"])
    days = demo_days(dt.date(2026, 12, 7))
    clock = DemoClock(dt.datetime(2026, 12, 7, 6, 0, tzinfo=dt.UTC))
    database.clock = clock
    line = demo_declarations.seed(database, Exchange(database, japan_calendar()), keys, clock, days)
    [d] = dc.list_declarations(database, None)
    assert d.state == "declared" and d.id in line
    assert d.verification is not None and d.retired_tonnes >= d.verification.verified_tonnes
    assert dc.verification(database, d.id).entry_check.verified  # type: ignore[union-attr]
    assert (
        demo_declarations.seed(database, Exchange(database, japan_calendar()), keys, clock, days)
        == ""
    )
    assert audit.verify(database).ok
    database.dispose()
