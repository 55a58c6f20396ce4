"""A sealed bid below the reserve (issue 18, defect 10): the clearing rules accept it and count it
in the demand curve, but it cannot win, so the bidder is told so at once, with its price and
the reserve (public, one of the auction's terms), in the API answer and on the auction's page,
in English and Japanese. Both backends."""

from __future__ import annotations

import html
from typing import Any

from tanso.services.access import users
from tanso.services.venues import sealed_auctions as sa
from tests.e2e.test_portal import csrf
from tests.e2e.test_sealed_auctions_api import _offer
from tests.e2e.test_sealed_auctions_api import clients as clients
from tests.e2e.test_sealed_auctions_portal import bid, offer
from tests.e2e.test_sealed_auctions_portal import site as site
from tests.integration.test_sealed_auctions import DURING


def test_the_api_answers_a_bid_below_the_reserve_with_a_warning(clients: dict[str, Any]) -> None:
    c = clients
    a = _offer(c)  # reserve 1,000
    c["clock"].set(DURING)
    low = c["B1"].request(
        "POST",
        f"/v1/sealed-auctions/{a.id}/bids",
        json={"account_id": "B1-MAIN", "price": 900, "quantity": 10},
    )
    assert low["below_reserve"] is True
    assert low["warning"] == (
        "Your price of 900 per tonne is below the reserve price of 1,000: this bid cannot win "
        "unless you raise it to at least the reserve."
    )
    assert c["B1"].my_sealed_bids(a.id)[0].below_reserve is True
    raised = c["B1"].amend_sealed_bid(low["id"], price=1_000)  # at the reserve it may win
    assert raised.below_reserve is False and raised.warning is None
    fine = c["B2"].request(
        "POST",
        f"/v1/sealed-auctions/{a.id}/bids",
        json={"account_id": "B2-MAIN", "price": 1_200, "quantity": 10},
    )
    assert fine["below_reserve"] is False and "warning" not in fine


def test_the_auction_page_warns_of_a_bid_below_the_reserve(site: dict[str, Any]) -> None:
    aid = offer(site)  # reserve 1,000
    site["clock"].set(DURING)
    page = site["B1"].get(f"/portal/auctions/{aid}").text
    assert "The reserve price is 1,000 per tonne" in page  # next to the bid's price
    r = bid(site, "B1", aid, 900, 10)
    assert r.status_code == 200 and "sent and sealed" in r.text
    text = html.unescape(r.text)
    assert 'id="below-reserve"' in text
    assert "Your price of 900 per tonne is below the reserve price of 1,000" in text
    assert 'data-below-reserve="true"' in text  # and in the list of the bidder's bids
    ja = site["B1"].get(f"/portal/auctions/{aid}?lang=ja").text
    assert "最低落札価格未満：落札できません" in ja
    # raised to the reserve: no warning
    b1 = sa.own_bids(site["db"], users.actor_for(users.UserRole.TRADER, "B1", frozenset()))[0]
    http = site["B1"]
    r = http.post(
        f"/portal/auctions/bids/{b1.id}/amend",
        data={"csrf": csrf(http, "/portal/auctions"), "price": "1000", "quantity": "10"},
    )
    assert r.status_code == 200 and 'id="below-reserve"' not in r.text
    assert 'data-below-reserve="true"' not in r.text
    # a bid at or above the reserve is not warned of
    ok = bid(site, "B2", aid, 1_000, 10)
    assert ok.status_code == 200 and 'id="below-reserve"' not in ok.text
