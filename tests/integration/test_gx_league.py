"""Who may trade what (issue 17, part 5): JPX trades the GX-ETS excess-reduction allowance
(超過削減枠) between GX League members only. An instrument's eligibility says so as data
(``gx_league_only``); the operator records membership, and the sequencer learns of a change."""

from __future__ import annotations

import dataclasses

import pytest

from tanso.domain.errors import Forbidden, InvalidInput, NotFound
from tanso.domain.instruments import Eligibility
from tanso.services.common import SYSTEM
from tanso.services.ledger import participants
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange, NewOrder
from tanso.services.trading.instruments import standard_instruments
from tanso.store.db import Database
from tests.conftest import add_participant, energy_saving, fund, open_market


def _gx_only() -> object:
    spec = energy_saving("continuous")
    return dataclasses.replace(
        spec, eligibility=dataclasses.replace(spec.eligibility, gx_league_only=True)
    )


def test_only_gx_league_members_trade_a_gx_league_only_instrument(db: Database) -> None:
    x = Exchange(db, japan_calendar())
    outsider = add_participant(db, "OUTSIDER")
    fund(db, "OUTSIDER", 1_000_000)
    open_market(x, _gx_only())  # type: ignore[arg-type]
    with pytest.raises(Forbidden) as refused:
        x.place(outsider, NewOrder("JC-ES", "buy", 10, 2_000))
    assert refused.value.code == "gx_league_only"
    assert "OUTSIDER is not a GX League member" in str(refused.value)
    # the operator records the membership; the sequencer reads it anew from then on
    view = participants.set_attributes(db, SYSTEM, "OUTSIDER", gx_league=True)
    assert view.gx_league is True
    assert x.place(outsider, NewOrder("JC-ES", "buy", 10, 2_000)).status == "open"
    participants.set_attributes(db, SYSTEM, "OUTSIDER", gx_league=False)
    with pytest.raises(Forbidden):
        x.place(outsider, NewOrder("JC-ES", "buy", 10, 2_000))


def test_an_ordinary_instrument_is_open_to_every_trader(db: Database) -> None:
    x = Exchange(db, japan_calendar())
    anyone = add_participant(db, "ANYONE")
    fund(db, "ANYONE", 1_000_000)
    open_market(x, energy_saving("continuous"))
    assert x.place(anyone, NewOrder("JC-ES", "buy", 10, 2_000)).status == "open"


def test_the_standard_gx_instrument_is_for_members_only_and_says_so(db: Database) -> None:
    specs = {s.id: s for s in standard_instruments(db)}
    assert specs["JPX-GX-EXCESS"].eligibility.gx_league_only
    assert not specs["JPX-ENERGY-SAVING"].eligibility.gx_league_only
    stored = Eligibility.from_dict(specs["JPX-GX-EXCESS"].eligibility.as_dict())
    assert stored.gx_league_only


def test_attributes_are_the_operators_and_checked(db: Database) -> None:
    member = add_participant(db, "MEMBER")
    with pytest.raises(Forbidden):
        participants.set_attributes(db, member, "MEMBER", gx_league=True)
    with pytest.raises(InvalidInput) as bad:
        participants.set_attributes(db, SYSTEM, "MEMBER", corporate_group="lower case")
    assert bad.value.code == "invalid_corporate_group"
    with pytest.raises(InvalidInput):
        participants.set_attributes(db, SYSTEM, "MEMBER")
    with pytest.raises(NotFound):
        participants.set_attributes(db, SYSTEM, "NOBODY", gx_league=True)
    grouped = participants.set_attributes(db, SYSTEM, "MEMBER", corporate_group="AOBA-GROUP")
    assert (grouped.corporate_group, grouped.gx_league) == ("AOBA-GROUP", False)
    cleared = participants.set_attributes(db, SYSTEM, "MEMBER", corporate_group=None)
    assert cleared.corporate_group is None
