"""The marketplace against SQLite and PostgreSQL: listings reserve their credits, purchases and
accepted offers settle by delivery versus payment, private things stay private, and the audit
replays every step."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select

from tanso.domain import marketplace as mp
from tanso.domain.errors import Conflict, Forbidden, InvalidInput, NotFound, TansoError
from tanso.services.clearing import settlement
from tanso.services.common import SYSTEM, Actor
from tanso.services.ledger import audit, cash
from tanso.services.venues import marketplace as market
from tanso.store import schema as t
from tanso.store.db import Database
from tests.conftest import add_issuance, add_participant, fund

TRADE_DAY = dt.date(2026, 1, 5)  # the counter clock's day: a Monday
T_PLUS_2 = dt.date(2026, 1, 7)


def credits(db: Database, account: str, status: str = "held") -> int:
    b = t.blocks.c
    q = select(func.coalesce(func.sum(b.serial_end - b.serial_start + 1), 0)).where(
        b.account_id == account, b.status == status
    )
    with db.read() as conn:
        return int(conn.execute(q).scalar_one())


def balance(db: Database, pid: str) -> tuple[int, int]:
    rows = [r for r in cash.balances(db, SYSTEM, pid) if r.currency == "JPY"]
    return (rows[0].balance, rows[0].reserved) if rows else (0, 0)


def listing(actor: Actor, issuance: str, quantity: int = 100, **terms: Any) -> market.NewListing:
    price = terms.pop("price", 3000)
    expires_at = terms.pop("expires_at", None)
    return market.NewListing(
        f"{actor.participant_id}-MAIN",
        mp.ListingTerms(price, quantity, **terms),
        issuance_id=issuance,
        expires_at=expires_at,
    )


@pytest.fixture
def market_db(db: Database) -> dict[str, Any]:
    seller = add_participant(db, "SELLER")
    buyer = add_participant(db, "BUYER")
    other = add_participant(db, "OTHER")
    issuance = add_issuance(db, "SELLER-MAIN", 500, vintage=2021, project="FOREST1")
    fund(db, "BUYER", 10_000_000)
    fund(db, "OTHER", 1_000_000)
    return {"db": db, "seller": seller, "buyer": buyer, "other": other, "issuance": issuance}


def test_a_listing_reserves_exactly_its_credits_and_withdrawal_releases_them(
    market_db: dict[str, Any],
) -> None:
    db, seller = market_db["db"], market_db["seller"]
    out = market.create_listing(db, seller, listing(seller, market_db["issuance"], 120))
    assert out.available == 120 and out.status == "open"
    assert credits(db, "SELLER-MAIN", "reserved") == 120
    assert credits(db, "SELLER-MAIN") == 380
    assert market.check_reservations(db) == []
    market.withdraw_listing(db, seller, out.id)
    assert credits(db, "SELLER-MAIN", "reserved") == 0
    assert credits(db, "SELLER-MAIN") == 500
    with pytest.raises(Conflict) as e:
        market.withdraw_listing(db, seller, out.id)
    assert e.value.code == "listing_not_open"
    assert market.check_reservations(db) == []
    assert audit.verify(db).ok


def test_a_listing_cannot_reserve_more_than_the_seller_holds(market_db: dict[str, Any]) -> None:
    db, seller = market_db["db"], market_db["seller"]
    with pytest.raises(Conflict) as e:
        market.create_listing(db, seller, listing(seller, market_db["issuance"], 501))
    assert e.value.code == "insufficient_credits"
    assert credits(db, "SELLER-MAIN") == 500


def test_a_purchase_settles_on_t_plus_2_in_the_daily_run_and_conserves_everything(
    market_db: dict[str, Any],
) -> None:
    db, seller, buyer = market_db["db"], market_db["seller"], market_db["buyer"]
    lst = market.create_listing(db, seller, listing(seller, market_db["issuance"], 100, lot=10))
    deal = market.buy(db, buyer, lst.id, 30, "BUYER-MAIN")
    assert deal.amount == 90_000 and deal.status == "pending"
    assert deal.due_date == T_PLUS_2.isoformat()
    assert balance(db, "BUYER") == (10_000_000, 90_000)
    assert credits(db, "SELLER-MAIN", "reserved") == 100  # 70 listed + 30 for the deal
    assert market.get_listing(db, None, lst.id).available == 70
    assert market.check_reservations(db) == []
    assert settlement.run(db, SYSTEM, T_PLUS_2 - dt.timedelta(days=1), early=True).settled == 0
    out = settlement.run(db, SYSTEM, T_PLUS_2, early=True)
    assert out.settled == 1
    assert credits(db, "BUYER-MAIN") == 30
    assert credits(db, "SELLER-MAIN", "reserved") == 70
    assert balance(db, "BUYER") == (10_000_000 - 90_000, 0)
    assert balance(db, "SELLER") == (90_000, 0)
    mine = market.deals(db, buyer)
    assert mine[0].status == "settled" and len(mine[0].serials or []) == 1
    assert market.deals(db, seller)[0].side == "sell"
    assert audit.verify(db).ok


def test_a_t_plus_0_purchase_settles_in_its_own_transaction(market_db: dict[str, Any]) -> None:
    db, seller, buyer = market_db["db"], market_db["seller"], market_db["buyer"]
    lst = market.create_listing(
        db, seller, listing(seller, market_db["issuance"], 50, settlement_days=0)
    )
    deal = market.buy(db, buyer, lst.id, 50, "BUYER-MAIN")
    assert deal.status == "settled" and deal.due_date == TRADE_DAY.isoformat()
    assert credits(db, "BUYER-MAIN") == 50
    assert balance(db, "SELLER") == (150_000, 0)
    assert balance(db, "BUYER") == (10_000_000 - 150_000, 0)
    assert market.get_listing(db, seller, lst.id).status == "sold_out"
    with pytest.raises(NotFound):  # a sold-out listing is no longer public
        market.get_listing(db, buyer, lst.id)
    assert audit.verify(db).ok


def test_fees_of_the_schedule_for_every_instrument_apply(market_db: dict[str, Any]) -> None:
    from tanso.domain.fees import FeeSchedule

    db, seller, buyer = market_db["db"], market_db["seller"], market_db["buyer"]
    settlement.set_fees(db, SYSTEM, "*", "buy", FeeSchedule(per_tonne=5))
    settlement.set_fees(db, SYSTEM, "*", "sell", FeeSchedule(per_trade=100))
    lst = market.create_listing(
        db, seller, listing(seller, market_db["issuance"], 10, settlement_days=0)
    )
    deal = market.buy(db, buyer, lst.id, 10, "BUYER-MAIN")
    assert deal.fee == 50
    assert balance(db, "BUYER")[0] == 10_000_000 - 30_000 - 50
    assert balance(db, "SELLER")[0] == 30_000 - 100
    assert audit.verify(db).ok


@pytest.mark.parametrize(
    ("quantity", "code", "kind"),
    [
        (101, "quantity_above_available", Conflict),
        (5, "quantity_below_minimum", InvalidInput),
        (25, "quantity_not_in_lots", InvalidInput),
        (0, "invalid_quantity", InvalidInput),
    ],
)
def test_a_purchase_outside_the_listing_terms_is_refused_and_moves_nothing(
    market_db: dict[str, Any], quantity: int, code: str, kind: type[TansoError]
) -> None:
    db, seller, buyer = market_db["db"], market_db["seller"], market_db["buyer"]
    lst = market.create_listing(
        db, seller, listing(seller, market_db["issuance"], 100, min_quantity=20, lot=10)
    )
    with pytest.raises(kind) as e:
        market.buy(db, buyer, lst.id, quantity, "BUYER-MAIN")
    assert e.value.code == code
    assert balance(db, "BUYER") == (10_000_000, 0)
    assert market.get_listing(db, None, lst.id).available == 100


def test_the_last_remainder_may_be_bought_whole_below_the_minimum(
    market_db: dict[str, Any],
) -> None:
    db, seller, buyer = market_db["db"], market_db["seller"], market_db["buyer"]
    lst = market.create_listing(
        db, seller, listing(seller, market_db["issuance"], 35, min_quantity=20, lot=10)
    )
    market.buy(db, buyer, lst.id, 30, "BUYER-MAIN")
    market.buy(db, buyer, lst.id, 5, "BUYER-MAIN")
    assert market.get_listing(db, seller, lst.id).status == "sold_out"
    assert market.check_reservations(db) == []


def test_a_buyer_cannot_buy_its_own_listing(market_db: dict[str, Any]) -> None:
    db, seller = market_db["db"], market_db["seller"]
    lst = market.create_listing(db, seller, listing(seller, market_db["issuance"], 100))
    with pytest.raises(Forbidden) as e:
        market.buy(db, seller, lst.id, 10, "SELLER-MAIN")
    assert e.value.code == "own_listing"


def test_a_buyer_without_the_cash_is_refused(market_db: dict[str, Any]) -> None:
    db, seller, other = market_db["db"], market_db["seller"], market_db["other"]
    lst = market.create_listing(db, seller, listing(seller, market_db["issuance"], 500))
    with pytest.raises(Conflict) as e:
        market.buy(db, other, lst.id, 400, "OTHER-MAIN")  # 1.2m yen > 1m
    assert e.value.code == "insufficient_cash"
    assert credits(db, "SELLER-MAIN", "reserved") == 500
    assert balance(db, "OTHER") == (1_000_000, 0)


def test_amending_reserves_or_releases_the_difference(market_db: dict[str, Any]) -> None:
    db, seller, buyer = market_db["db"], market_db["seller"], market_db["buyer"]
    lst = market.create_listing(db, seller, listing(seller, market_db["issuance"], 100))
    market.amend_listing(db, seller, lst.id, available=160)
    assert credits(db, "SELLER-MAIN", "reserved") == 160
    out = market.amend_listing(db, seller, lst.id, price=2500, available=40)
    assert (out.price, out.available) == (2500, 40)
    assert credits(db, "SELLER-MAIN", "reserved") == 40
    with pytest.raises(NotFound):
        market.amend_listing(db, buyer, lst.id, price=1)
    assert market.check_reservations(db) == []
    assert audit.verify(db).ok


def test_an_expired_listing_cannot_be_bought_and_the_sweep_releases_it(
    market_db: dict[str, Any],
) -> None:
    db, seller, buyer = market_db["db"], market_db["seller"], market_db["buyer"]
    soon = "2026-01-05T00:00:00.500000Z"  # the counter clock passes it after a few steps
    lst = market.create_listing(
        db, seller, listing(seller, market_db["issuance"], 100, expires_at=soon)
    )
    db.clock = lambda: "2026-01-05T01:00:00.000000Z"
    with pytest.raises(Conflict) as e:
        market.buy(db, buyer, lst.id, 10, "BUYER-MAIN")
    assert e.value.code == "listing_not_open"
    assert market.search_listings(db, None) == []
    assert credits(db, "SELLER-MAIN", "reserved") == 100
    out = market.sweep(db)
    assert out.listings == [lst.id]
    assert credits(db, "SELLER-MAIN", "reserved") == 0
    assert market.sweep(db) == market.Swept([], [])
    assert market.check_reservations(db) == []
    assert audit.verify(db).ok


def test_search_filters_and_sorts_and_hides_the_seller(market_db: dict[str, Any]) -> None:
    db, seller, buyer = market_db["db"], market_db["seller"], market_db["buyer"]
    old = add_issuance(db, "SELLER-MAIN", 300, vintage=2018, category="FOREST")
    a = market.create_listing(db, seller, listing(seller, market_db["issuance"], 100, price=3000))
    b = market.create_listing(db, seller, listing(seller, old, 100, price=5000))
    everything = market.search_listings(db, None)
    assert [x.id for x in everything] == [a.id, b.id]
    assert all(x.seller_id is None and x.account_id is None for x in everything)
    cheap = market.search_listings(db, buyer, market.Search(mp.ListingFilter(price_max=4000)))
    assert [x.id for x in cheap] == [a.id]
    forest = market.search_listings(db, None, market.Search(mp.ListingFilter(category="FOREST")))
    assert [x.id for x in forest] == [b.id]
    by_vintage = market.search_listings(db, None, market.Search(sort="vintage"))
    assert [x.id for x in by_vintage] == [b.id, a.id]
    assert market.search_listings(db, buyer, market.Search(mine=True)) == []
    mine = market.search_listings(db, seller, market.Search(mine=True))
    assert {x.id for x in mine} == {a.id, b.id} and all(x.mine for x in mine)
    assert market.search_listings(db, seller, market.Search(mine=False)) == []
    detail = market.get_listing(db, None, a.id)
    assert (
        detail.project is not None and detail.project.id == "FOREST1" and detail.seller_id is None
    )


def test_project_profiles_are_written_by_holders_and_shown_with_listings(
    market_db: dict[str, Any],
) -> None:
    db, seller, buyer = market_db["db"], market_db["seller"], market_db["buyer"]
    profile = market.Profile(
        "Managed forest in Gifu",
        "岐阜県の森林経営",
        (("Sylvera", "A"),),
        (("PDD", "https://example.org/pdd.pdf"),),
    )
    with pytest.raises(Forbidden):
        market.set_profile(db, buyer, "FOREST1", profile)
    out = market.set_profile(db, seller, "FOREST1", profile)
    assert out.ratings == [market.Rating("Sylvera", "A")] and out.documents[0].title == "PDD"
    info = market.project(db, "FOREST1")
    assert info.ratings == [market.Rating("Sylvera", "A")]
    assert info.documents[0].url == "https://example.org/pdd.pdf"
    bad = market.Profile(documents=(("x", "javascript:alert(1)"),))
    with pytest.raises(InvalidInput):
        market.set_profile(db, seller, "FOREST1", bad)
    assert audit.verify(db).ok


# ---------------------------------------------------------------- requests for quote


def offer(rfq: str, issuance: str, quantity: int = 40, **kw: Any) -> market.NewOffer:
    return market.NewOffer(
        rfq,
        "SELLER-MAIN",
        issuance,
        kw.pop("price", 2800),
        quantity,
        kw.pop("expires_at", "2026-01-06T00:00:00Z"),
        **kw,
    )


def test_an_rfq_answered_with_a_firm_offer_becomes_a_deal_when_accepted(
    market_db: dict[str, Any],
) -> None:
    db, seller, buyer = market_db["db"], market_db["seller"], market_db["buyer"]
    lst = market.create_listing(db, seller, listing(seller, market_db["issuance"], 100))
    rfq = market.create_rfq(db, buyer, 40, listing_id=lst.id, note="a better price?")
    assert [r.id for r in market.rfqs(db, seller, "in")] == [rfq.id]
    assert market.rfqs(db, market_db["other"], "in") == []
    of = market.make_offer(db, seller, offer(rfq.id, market_db["issuance"]))
    assert credits(db, "SELLER-MAIN", "reserved") == 140
    deal = market.accept_offer(db, buyer, of.id, "BUYER-MAIN")
    assert deal.amount == 112_000 and deal.offer_id == of.id
    assert market.get_rfq(db, buyer, rfq.id).status == "filled"
    assert market.check_reservations(db) == []
    settlement.run(db, SYSTEM, T_PLUS_2, early=True)
    assert credits(db, "BUYER-MAIN") == 40
    assert balance(db, "SELLER") == (112_000, 0)
    with pytest.raises(Conflict):
        market.accept_offer(db, buyer, of.id, "BUYER-MAIN")
    assert audit.verify(db).ok


def test_a_project_rfq_reaches_holders_only_and_other_offers_lapse_on_accept(
    market_db: dict[str, Any],
) -> None:
    db, seller, buyer, other = (market_db[k] for k in ("db", "seller", "buyer", "other"))
    other_issuance = add_issuance(db, "OTHER-MAIN", 100, project="FOREST1")
    rfq = market.create_rfq(db, buyer, 40, project_id="FOREST1")
    assert [r.id for r in market.rfqs(db, other, "in")] == [rfq.id]
    a = market.make_offer(db, seller, offer(rfq.id, market_db["issuance"], price=3000))
    b = market.make_offer(
        db,
        other,
        market.NewOffer(rfq.id, "OTHER-MAIN", other_issuance, 2900, 40, "2026-01-06T00:00:00Z"),
    )
    seen_by_seller = market.get_rfq(db, seller, rfq.id)
    assert [o.id for o in seen_by_seller.offers] == [a.id]  # not the rival's offer
    assert not hasattr(seen_by_seller, "buyer_id")
    market.accept_offer(db, buyer, b.id, "BUYER-MAIN", calendar=None)
    assert market.get_rfq(db, seller, rfq.id).offers[0].status == "not_chosen"
    assert credits(db, "SELLER-MAIN", "reserved") == 0
    assert market.check_reservations(db) == []
    assert audit.verify(db).ok


def test_declined_withdrawn_and_expired_offers_release_their_credits(
    market_db: dict[str, Any],
) -> None:
    db, seller, buyer = market_db["db"], market_db["seller"], market_db["buyer"]
    rfq = market.create_rfq(db, buyer, 40, project_id="FOREST1")
    a = market.make_offer(db, seller, offer(rfq.id, market_db["issuance"]))
    market.decline_offer(db, buyer, a.id)
    b = market.make_offer(db, seller, offer(rfq.id, market_db["issuance"]))
    with pytest.raises(NotFound):  # only the seller withdraws, only the buyer declines
        market.withdraw_offer(db, buyer, b.id)
    market.withdraw_offer(db, seller, b.id)
    c = market.make_offer(
        db, seller, offer(rfq.id, market_db["issuance"], expires_at="2026-01-05T00:30:00Z")
    )
    assert credits(db, "SELLER-MAIN", "reserved") == 40
    db.clock = lambda: "2026-01-05T00:45:00.000000Z"
    with pytest.raises(Conflict) as e:
        market.accept_offer(db, buyer, c.id, "BUYER-MAIN")
    assert e.value.code == "offer_expired"
    assert market.get_rfq(db, buyer, rfq.id).offers[-1].status == "expired"
    assert market.sweep(db).offers == [c.id]
    assert credits(db, "SELLER-MAIN") == 500
    assert market.check_reservations(db) == []
    assert audit.verify(db).ok


def test_others_rfqs_offers_and_deals_answer_like_missing_ones(
    market_db: dict[str, Any],
) -> None:
    db, seller, buyer, other = (market_db[k] for k in ("db", "seller", "buyer", "other"))
    lst = market.create_listing(db, seller, listing(seller, market_db["issuance"], 100))
    rfq = market.create_rfq(db, buyer, 40, listing_id=lst.id)
    of = market.make_offer(db, seller, offer(rfq.id, market_db["issuance"]))
    deal = market.buy(db, buyer, lst.id, 10, "BUYER-MAIN")
    for call in (
        lambda: market.get_rfq(db, other, rfq.id),
        lambda: market.get_rfq(db, other, "RQ-999999"),
        lambda: market.accept_offer(db, other, of.id, "OTHER-MAIN"),
        lambda: market.decline_offer(db, other, of.id),
        lambda: market.get_deal(db, other, deal.id),
        lambda: market.make_offer(
            db,
            other,
            market.NewOffer(rfq.id, "OTHER-MAIN", market_db["issuance"], 1, 1, "2027-01-01Z"),
        ),
        lambda: market.cancel_rfq(db, seller, rfq.id),
    ):
        with pytest.raises(NotFound):
            call()
    market.withdraw_listing(db, seller, lst.id)
    with pytest.raises(NotFound):
        market.get_listing(db, buyer, lst.id)
    assert market.get_listing(db, seller, lst.id).status == "withdrawn"


def test_a_cancelled_rfq_releases_its_open_offers(market_db: dict[str, Any]) -> None:
    db, seller, buyer = market_db["db"], market_db["seller"], market_db["buyer"]
    rfq = market.create_rfq(db, buyer, 40, project_id="FOREST1")
    market.make_offer(db, seller, offer(rfq.id, market_db["issuance"]))
    out = market.cancel_rfq(db, buyer, rfq.id)
    assert out.status == "cancelled" and out.offers[0].status == "declined"
    assert credits(db, "SELLER-MAIN") == 500
    with pytest.raises(Conflict):
        market.make_offer(db, seller, offer(rfq.id, market_db["issuance"]))
    assert audit.verify(db).ok


def test_only_the_operator_or_the_system_sweeps(market_db: dict[str, Any]) -> None:
    with pytest.raises(Forbidden):
        market.sweep(market_db["db"], market_db["seller"])
    assert market.sweep(market_db["db"]) == market.Swept([], [])
