"""The marketplace's typed answers: an idempotent replay rebuilds the same dataclass, and a
field answered only in some cases stays out of the plain answer while it is absent."""

from __future__ import annotations

from tanso.services.common import loader, plain
from tanso.services.venues import marketplace as m

OFFER = m.Offer("OF-1", "RQ-1", "I-1", 1_000, 20, 20_000, "JPY", 2, "2026-01-06Z", "open", "t")


def test_an_rfq_with_its_offers_is_rebuilt_from_its_stored_answer() -> None:
    rfq = m.Rfq("RQ-1", None, "P1", 20, "", "open", "t", "buy", "Forest", [OFFER])
    assert loader(m.Rfq)(plain(rfq)) == rfq
    assert isinstance(loader(m.Rfq)(plain(rfq)).offers[0], m.Offer)


def test_a_purchase_carries_serials_only_once_settled() -> None:
    terms = ("MD-1", "ML-1", None, "P1", "I-1", 1_000, 20, 20_000, 0, "JPY", "A-1", "d", "d")
    pending = m.Purchase(*terms, "pending")
    settled = m.Purchase(*terms, "settled", ["I-1-1-20"])
    assert "serials" not in plain(pending) and plain(settled)["serials"] == ["I-1-1-20"]
    assert loader(m.Purchase)(plain(settled)) == settled


def test_a_profile_keeps_its_ratings_and_documents_in_order() -> None:
    profile = m.ProjectProfile(
        "P1", "en", "ja", [m.Rating("Sylvera", "A")], [m.Document("PDD", "https://x.org/p")]
    )
    assert plain(profile)["ratings"] == [{"agency": "Sylvera", "grade": "A"}]
    assert loader(m.ProjectProfile)(plain(profile)) == profile
