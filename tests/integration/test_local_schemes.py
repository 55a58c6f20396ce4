"""Local-government credit schemes (issue 20 §2) on both databases: the operator registers a
scheme for a local government, the owner registers projects and issues credits of its own scheme
only, the scheme's quantities come from the registry, buyers choose to be named, the usage rules
treat local credits as voluntary offsets, and the marketplace filters them by prefecture."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from tanso.domain import marketplace as mp
from tanso.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from tanso.domain.participants import Role
from tanso.services.common import SYSTEM, Actor
from tanso.services.ledger import audit, local_schemes, participants, registry
from tanso.services.ledger.blocks import Selection
from tanso.services.ledger.registry import NewIssuance, RetirementRequest
from tanso.services.venues import marketplace as market
from tanso.store import schema as t
from tanso.store.db import Database
from tests.conftest import add_issuance, add_participant, fund

pytestmark = pytest.mark.fast_backends("sqlite", "postgres")

FOREST = {
    "code": "FOREST_MGMT",
    "name_en": "Forest management (thinning)",
    "name_ja": "森林経営（間伐）",
    "credit_type": "RM",
    "mechanism": "removal",
    "nature": "nature",
    "source_url": "https://www.pref.nagano.lg.jp/shinrin/sangyo/ringyo/seibi/ninsho/index.html",
    "source_text": "長野県 森林CO2吸収評価認証制度",
}
SOLAR = {
    "code": "SMALL_SOLAR",
    "name_en": "Small solar for own use",
    "name_ja": "小規模太陽光の自家消費",
    "credit_type": "ER",
    "source_text": "TANSO-ILLUSTRATIVE",
}


def local_government(db: Database, pid: str) -> Actor:
    participants.create_participant(
        db,
        SYSTEM,
        participants.NewParticipant(
            pid, f"{pid} Prefecture", "local_government", [], None, False, pid
        ),
    )
    participants.set_status(db, SYSTEM, pid, "active")
    return Actor(pid, frozenset({Role.LOCAL_SCHEME}))


def new_scheme(
    code: str, pid: str, prefecture: str = "20", **kw: Any
) -> local_schemes.NewLocalScheme:
    return local_schemes.NewLocalScheme(
        code=code,
        participant_id=pid,
        name_en=f"{code} credits",
        name_ja=f"{code} クレジット",
        prefecture=prefecture,
        methodologies=kw.pop("methodologies", [FOREST, SOLAR]),
        proceeds_en="Thinning of prefectural forests.",
        proceeds_ja="県有林の間伐に充てます。",
        **kw,
    )


@pytest.fixture
def nagano(db: Database) -> dict[str, Any]:
    owner = local_government(db, "NAGANO")
    scheme = local_schemes.register_scheme(db, SYSTEM, new_scheme("LGNA", "NAGANO"))
    project = local_schemes.register_project(
        db,
        owner,
        "LGNA",
        local_schemes.NewLocalProject(
            "NAFM01",
            "Shinshu forest thinning",
            "FOREST_MGMT",
            name_ja="信州の森の間伐",
            municipality="松本市",
        ),
    )
    issued = local_schemes.issue(
        db, owner, "LGNA", NewIssuance("NAFM01", "RM", "1", 2025, 500, "NAGANO-MAIN")
    )
    return {"db": db, "owner": owner, "scheme": scheme, "project": project, "issued": issued}


def test_the_operator_registers_a_scheme_and_the_local_government_gets_the_role(
    db: Database,
) -> None:
    local_government(db, "KOCHI")
    out = local_schemes.register_scheme(db, SYSTEM, new_scheme("LGKO", "KOCHI", "39"))
    assert (out.code, out.prefecture, out.prefecture_ja) == ("LGKO", "39", "高知県")
    assert [m.code for m in out.methodologies] == ["FOREST_MGMT", "SMALL_SOLAR"]
    assert "local_scheme" in participants.get_participant(db, SYSTEM, "KOCHI").roles
    with db.read() as conn:
        scheme = conn.execute(select(t.schemes).where(t.schemes.c.code == "LGKO")).one()
    assert (scheme.unit, scheme.domestic) == ("tCO2", True)
    assert [s.code for s in local_schemes.list_schemes(db, "39")] == ["LGKO"]
    assert local_schemes.list_schemes(db, "20") == []


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"code": "NAGANO"}, "invalid_local_scheme_code"),
        ({"prefecture": "48"}, "unknown_prefecture"),
        ({"methodologies": []}, "invalid_methodologies"),
        (
            {"methodologies": [FOREST | {"source_url": "", "source_text": ""}]},
            "methodology_source_required",
        ),
        ({"methodologies": [FOREST, FOREST]}, "duplicate_methodology"),
        ({"methodologies": [FOREST | {"credit_type": "AL"}]}, "invalid_credit_type"),
    ],
)
def test_a_malformed_scheme_is_refused(db: Database, change: dict[str, Any], code: str) -> None:
    local_government(db, "NAGANO")
    fields = {"code": "LGNA", "pid": "NAGANO", "prefecture": "20"} | change
    kw = {"methodologies": fields["methodologies"]} if "methodologies" in fields else {}
    with pytest.raises(InvalidInput) as e:
        local_schemes.register_scheme(
            db, SYSTEM, new_scheme(fields["code"], fields["pid"], fields["prefecture"], **kw)
        )
    assert e.value.code == code


def test_only_the_registry_operator_registers_a_scheme_and_only_for_a_local_government(
    db: Database,
) -> None:
    local_government(db, "NAGANO")
    trader = add_participant(db, "TRADER")
    with pytest.raises(Forbidden):
        local_schemes.register_scheme(db, trader, new_scheme("LGNA", "NAGANO"))
    with pytest.raises(InvalidInput) as e:
        local_schemes.register_scheme(db, SYSTEM, new_scheme("LGNA", "TRADER"))
    assert e.value.code == "not_a_local_government"
    local_schemes.register_scheme(db, SYSTEM, new_scheme("LGNA", "NAGANO"))
    with pytest.raises(Conflict):
        local_schemes.register_scheme(db, SYSTEM, new_scheme("LGNA", "NAGANO"))


def test_the_owner_registers_and_issues_only_in_its_own_scheme(nagano: dict[str, Any]) -> None:
    db, owner = nagano["db"], nagano["owner"]
    assert nagano["project"].prefecture == "20" and nagano["project"].municipality == "松本市"
    assert nagano["issued"].serials == "LGNA-RM-NAFM01-1-1-500"
    assert nagano["issued"].category == "LOCAL_GOVERNMENT"
    other = local_government(db, "KOCHI")
    local_schemes.register_scheme(db, SYSTEM, new_scheme("LGKO", "KOCHI", "39"))
    new = local_schemes.NewLocalProject("KOFM01", "Kochi forest", "FOREST_MGMT")
    with pytest.raises(Forbidden) as e:
        local_schemes.register_project(db, other, "LGNA", new)
    assert e.value.code == "not_scheme_owner"
    with pytest.raises(NotFound):
        local_schemes.register_project(db, other, "LGXX", new)
    local_schemes.register_project(db, other, "LGKO", new)
    # the Kochi project is not Nagano's: Nagano cannot issue it, Kochi cannot issue Nagano's
    with pytest.raises(NotFound):
        local_schemes.issue(
            db, owner, "LGNA", NewIssuance("KOFM01", "RM", "1", 2025, 5, "NAGANO-MAIN")
        )
    with pytest.raises(Forbidden):
        local_schemes.issue(
            db, other, "LGNA", NewIssuance("NAFM01", "RM", "2", 2025, 5, "KOCHI-MAIN")
        )
    trader = add_participant(db, "TRADER")
    with pytest.raises(Forbidden):
        local_schemes.register_project(db, trader, "LGNA", new)
    assert audit.verify(db).ok


@pytest.mark.parametrize(
    ("project", "code"),
    [
        (local_schemes.NewLocalProject("NA2", "x", "EV_SHARING"), "unknown_methodology"),
        (
            local_schemes.NewLocalProject("NA2", "x", "FOREST_MGMT", prefecture="13"),
            "outside_the_scheme",
        ),
        (local_schemes.NewLocalProject("na-2", "x", "FOREST_MGMT"), "invalid_project_id"),
    ],
)
def test_a_project_outside_the_scheme_or_its_methodologies_is_refused(
    nagano: dict[str, Any], project: local_schemes.NewLocalProject, code: str
) -> None:
    with pytest.raises(InvalidInput) as e:
        local_schemes.register_project(nagano["db"], nagano["owner"], "LGNA", project)
    assert e.value.code == code


def test_an_issuance_must_be_of_its_methodology_s_credit_type(nagano: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput) as e:
        local_schemes.issue(
            nagano["db"],
            nagano["owner"],
            "LGNA",
            NewIssuance("NAFM01", "ER", "2", 2025, 5, "NAGANO-MAIN"),
        )
    assert e.value.code == "credit_type_mismatch"


def test_the_programme_counts_issued_sold_and_retired_from_the_registry_and_names_consenting_buyers(
    nagano: dict[str, Any],
) -> None:
    db, owner = nagano["db"], nagano["owner"]
    buyer = add_participant(db, "BUYER")
    quiet = add_participant(db, "QUIET")
    idle = add_participant(db, "IDLE")
    fund(db, "BUYER", 10_000_000)
    fund(db, "QUIET", 10_000_000)
    listing = market.create_listing(
        db,
        owner,
        market.NewListing(
            "NAGANO-MAIN",
            mp.ListingTerms(8_000, 200, 1, 1, 0),
            issuance_id=nagano["issued"].issuance_id,
        ),
    )
    assert (listing.prefecture, listing.municipality, listing.local_scheme) == (
        "20",
        "松本市",
        "LGNA",
    )
    market.buy(db, buyer, listing.id, 50, "BUYER-MAIN")
    market.buy(db, quiet, listing.id, 10, "QUIET-MAIN")
    registry.transfer(db, owner, "NAGANO-MAIN", "BUYER-MAIN", Selection(quantity=30))
    registry.retire(
        db, buyer, RetirementRequest("BUYER-MAIN", Selection(quantity=20), ["local_event_offset"])
    )
    for who in (buyer, idle):
        local_schemes.set_named(db, who, "LGNA", True)
    page = local_schemes.programme(db, "LGNA")
    assert (page.quantities.issued, page.quantities.sold, page.quantities.retired) == (500, 90, 20)
    assert [(p.project.project_id, p.quantities.sold) for p in page.projects] == [("NAFM01", 90)]
    # QUIET bought but did not agree to be named; IDLE agreed but bought nothing
    assert [(b.participant_id, b.bought) for b in page.buyers] == [("BUYER", 80)]
    local_schemes.set_named(db, buyer, "LGNA", False)
    assert local_schemes.programme(db, "LGNA").buyers == []
    assert not local_schemes.naming(db, buyer, "LGNA").named
    # the owner's own retirement is retired, not sold
    registry.retire(
        db, owner, RetirementRequest("NAGANO-MAIN", Selection(quantity=5), ["offset_scope3"])
    )
    page = local_schemes.programme(db, "LGNA")
    assert (page.quantities.sold, page.quantities.retired) == (90, 25)
    assert audit.verify(db).ok


def test_local_credits_serve_voluntary_and_local_event_offsets_not_shk_nor_gx(
    nagano: dict[str, Any],
) -> None:
    db, owner = nagano["db"], nagano["owner"]

    def retire(actor: Actor, account: str, purpose: str) -> Any:
        return registry.retire(
            db,
            actor,
            RetirementRequest(account, Selection(quantity=1), [purpose], reporting_year=2025),
        )

    for purpose, rule in (("shk_reporting", "LOCAL-NOT-SHK"), ("gx_ets_surrender", "LOCAL-NOT-GX")):
        with pytest.raises(Conflict) as e:
            retire(owner, "NAGANO-MAIN", purpose)
        assert e.value.code == "usage_not_allowed"
        request = RetirementRequest(
            "NAGANO-MAIN", Selection(quantity=1), [purpose], reporting_year=2025
        )
        (use,) = registry.check_retirement(db, owner, request).uses
        refused = {r.rule for r in use.reasons if not r.ok}
        assert not use.allowed and rule in refused, refused
    for purpose in ("local_event_offset", "offset_event", "offset_scope3"):
        assert retire(owner, "NAGANO-MAIN", purpose).quantity == 1
    # a J-Credit is not a local credit: the local event rule admits only local ones
    holder = add_participant(db, "HOLDER")
    add_issuance(db, "HOLDER-MAIN", 10)
    with pytest.raises(Conflict) as e:
        retire(holder, "HOLDER-MAIN", "local_event_offset")
    assert "LOCAL-EVENT-ELIGIBLE" in e.value.message
    uses = {u.rule: u.allowed for u in local_schemes.local_uses(db, dt.date(2026, 1, 5))}
    assert uses == {"LOCAL-EVENT-ELIGIBLE": True, "LOCAL-NOT-SHK": False, "LOCAL-NOT-GX": False}
    assert audit.verify(db).ok


def test_the_marketplace_filters_local_credits_by_prefecture(nagano: dict[str, Any]) -> None:
    db, owner = nagano["db"], nagano["owner"]
    seller = add_participant(db, "SELLER")
    jc = add_issuance(db, "SELLER-MAIN", 100)
    market.create_listing(
        db,
        seller,
        market.NewListing("SELLER-MAIN", mp.ListingTerms(2_000, 100, 1, 1, 2), issuance_id=jc),
    )
    market.create_listing(
        db,
        owner,
        market.NewListing(
            "NAGANO-MAIN",
            mp.ListingTerms(8_000, 100, 1, 1, 2),
            issuance_id=nagano["issued"].issuance_id,
        ),
    )

    def found(**f: Any) -> list[str]:
        out = market.search_listings(db, None, market.Search(mp.ListingFilter(**f)))
        return [x.project_id for x in out]

    assert len(found()) == 2
    assert found(prefecture="20") == ["NAFM01"]
    assert found(prefecture="13") == []
    assert found(scheme="LGNA") == ["NAFM01"]
    everything = market.search_listings(db, None, market.Search())
    local = [x for x in everything if x.local_scheme]
    assert [(x.prefecture, x.local_scheme) for x in local] == [("20", "LGNA")]
    assert all(x.prefecture is None for x in everything if not x.local_scheme)


def test_the_owner_says_how_proceeds_are_used_and_a_stranger_cannot(nagano: dict[str, Any]) -> None:
    db, owner = nagano["db"], nagano["owner"]
    out = local_schemes.update_scheme(db, owner, "LGNA", proceeds_en="Schools' forest days.")
    assert (
        out.proceeds_en == "Schools' forest days." and out.proceeds_ja == "県有林の間伐に充てます。"
    )
    stranger = local_government(db, "KOCHI")
    with pytest.raises(Forbidden):
        local_schemes.update_scheme(db, stranger, "LGNA", proceeds_en="x")
    with pytest.raises(InvalidInput):
        local_schemes.update_scheme(db, owner, "LGNA", url="ftp://x")
    assert audit.verify(db).ok


@pytest.mark.full
def test_the_demo_runs_a_prefecture_s_scheme_with_three_projects_listings_and_a_named_buyer(
    db: Database,
) -> None:
    from tanso.demo import local as demo_local
    from tanso.demo import market as demo
    from tanso.demo.exchange_days import DemoClock, demo_days
    from tanso.services.trading.calendar import japan_calendar
    from tanso.services.trading.exchange import Exchange

    keys = demo.load(db)
    days = demo_days(dt.date(2026, 3, 2))
    clock = DemoClock(dt.datetime(2026, 2, 1, tzinfo=dt.UTC))
    db.clock = clock
    line = demo_local.seed(db, Exchange(db, japan_calendar()), keys, clock, days)
    assert "LGNA" in line and "named" in line
    page = local_schemes.programme(db, "LGNA")
    assert len(page.projects) == 3 and page.quantities.issued == 1_850
    assert page.quantities.sold == demo_local.BUYER_QUANTITY and len(page.buyers) == 1
    listed = market.search_listings(db, None, market.Search(mp.ListingFilter(prefecture="20")))
    assert {x.project_id for x in listed} == {"NAFM01", "NASOL01", "NAEV01"}
    assert audit.verify(db).ok
