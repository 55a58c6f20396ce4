"""Participants from abroad: registered by LEI and country, with a name in their own script."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tanso.domain.errors import Conflict, InvalidInput
from tanso.domain.participants import validate_lei
from tanso.services.common import SYSTEM, Actor
from tanso.services.ledger import audit, cash, participants, registry
from tanso.services.ledger.registry import Selection
from tanso.store import repo
from tanso.store.db import Database
from tests.conftest import add_issuance, add_participant, corporate_number, demo_database

pytestmark = pytest.mark.fast_backends("sqlite", "postgres")

LEI_SG = "5493001KJTIIGC8Y1R12"
LEI_DE = "7LTWFZYICNSX8D621K86"


def foreign(
    pid: str, lei: str | None = LEI_SG, country: str = "SG", name_local: str | None = None
) -> participants.NewParticipant:
    return participants.NewParticipant(
        "ストレイツ商事",
        f"{pid} Pte. Ltd.",
        "corporation",
        ["trader"],
        id=pid,
        lei=lei,
        country=country,
        name_local=name_local,
    )


def test_a_foreign_corporation_registers_with_its_lei_and_trades_credits(db: Database) -> None:
    out = participants.create_participant(
        db, SYSTEM, foreign("STRAITS", name_local="海峡贸易私人有限公司")
    )
    assert (out.lei, out.country, out.name_local) == (LEI_SG, "SG", "海峡贸易私人有限公司")
    assert out.corporate_number is None and out.status == "pending"
    participants.set_status(db, SYSTEM, "STRAITS", "active")
    seen = participants.get_participant(db, Actor("STRAITS"), "STRAITS")
    assert (seen.lei, seen.country, seen.name_local) == (LEI_SG, "SG", "海峡贸易私人有限公司")
    listed = {p.id: p for p in participants.list_participants(db, SYSTEM)}
    assert listed["STRAITS"].country == "SG"

    seller = add_participant(db, "SELLER")
    issuance = add_issuance(db, "SELLER-MAIN", 1_000)
    registry.transfer(db, seller, "SELLER-MAIN", "STRAITS-MAIN", Selection(quantity=400))
    held = registry.holdings(db, Actor("STRAITS"), "STRAITS-MAIN")
    assert sum(b.quantity for b in held.blocks if b.issuance_id == issuance) == 400
    assert audit.verify(db).ok


def test_japanese_participants_default_to_jp_and_keep_their_corporate_number(
    db: Database,
) -> None:
    add_participant(db, "HOME")
    home = participants.get_participant(db, SYSTEM, "HOME")
    assert (home.country, home.lei, home.name_local) == ("JP", None, None)
    assert home.corporate_number is not None
    operator = participants.get_participant(db, SYSTEM, "OPERATOR")
    assert operator.country == "JP"


def test_a_japanese_corporation_may_add_an_lei_but_not_replace_its_corporate_number(
    db: Database,
) -> None:
    both = participants.NewParticipant(
        "日本商事",
        "Nihon Shoji",
        "corporation",
        ["trader"],
        corporate_number(),
        id="NIHON",
        lei=LEI_DE,
    )
    assert participants.create_participant(db, SYSTEM, both).lei == LEI_DE
    only_lei = participants.NewParticipant(
        "日本物産", "Nihon Bussan", "corporation", ["trader"], id="BUSSAN", lei=LEI_SG
    )
    with pytest.raises(InvalidInput) as e:
        participants.create_participant(db, SYSTEM, only_lei)
    assert e.value.code == "corporate_number_required"


@pytest.mark.parametrize(
    ("lei", "country", "code"),
    [
        (None, "SG", "lei_required"),
        ("5493001KJTIIGC8Y1R13", "SG", "invalid_lei"),
        ("5493001KJTIIGC8Y1R1", "SG", "invalid_lei"),
        ("5493001kjtiigc8y1r12", "SG", "invalid_lei"),
        (LEI_SG, "XX", "invalid_country"),
        (LEI_SG, "sg", "invalid_country"),
    ],
)
def test_refusals_name_what_is_wrong_and_register_nothing(
    db: Database, lei: str | None, country: str, code: str
) -> None:
    with pytest.raises(InvalidInput) as e:
        participants.create_participant(db, SYSTEM, foreign("REFUSED", lei, country))
    assert e.value.code == code
    assert "REFUSED" not in {p.id for p in participants.list_participants(db, SYSTEM)}


def test_an_lei_is_registered_once(db: Database) -> None:
    participants.create_participant(db, SYSTEM, foreign("FIRST"))
    with pytest.raises(Conflict) as e:
        participants.create_participant(db, SYSTEM, foreign("SECOND", country="DE"))
    assert e.value.code == "lei_taken"
    assert LEI_SG in e.value.message
    participants.create_participant(db, SYSTEM, foreign("THIRD", LEI_DE, "DE"))
    leis = {p.id: p.lei for p in participants.list_participants(db, SYSTEM)}
    assert (leis["FIRST"], leis["THIRD"]) == (LEI_SG, LEI_DE)
    assert "SECOND" not in leis


def test_a_blank_name_local_is_refused_and_an_empty_one_is_none(db: Database) -> None:
    with pytest.raises(InvalidInput) as e:
        participants.create_participant(db, SYSTEM, foreign("BLANK", name_local="   "))
    assert e.value.code == "invalid_name" and "name_local" in e.value.message
    out = participants.create_participant(db, SYSTEM, foreign("EMPTY", name_local=""))
    assert out.name_local is None


def test_the_journal_records_lei_country_and_local_name(db: Database) -> None:
    participants.create_participant(db, SYSTEM, foreign("JOURNAL", name_local="海峡"))
    with db.read() as conn:
        payloads = [
            json.loads(e.payload)
            for e in repo.journal_entries(conn)
            if e.kind == "participant.registered"
        ]
    payload = next(p for p in payloads if p["participant"] == "JOURNAL")
    assert (payload["lei"], payload["country"], payload["name_local"]) == (LEI_SG, "SG", "海峡")


def test_the_demo_market_has_a_singapore_trading_house_with_a_valid_lei(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    database, keys = demo_database("sqlite", request, tmp_path)
    try:
        house = participants.get_participant(database, SYSTEM, "STRAITS_MT")
        assert (house.country, house.status, house.corporate_number) == ("SG", "active", None)
        assert house.lei is not None and validate_lei(house.lei) == house.lei
        assert house.name_local == "海峡子午贸易私人有限公司"
        actor = participants.authenticate(database, keys["STRAITS_MT"])
        held = registry.holdings(database, actor, "STRAITS_MT-MAIN")
        assert held.total == 2_000 and {b.category for b in held.blocks} == {"JCM"}
        assert cash.balances(database, actor, "STRAITS_MT")[0].balance == 80_000_000
    finally:
        database.dispose()
