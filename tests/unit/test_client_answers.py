"""`tanso.client` answers with typed, frozen values, sends the API's names, and catches a
server that breaks its own schema."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import httpx
import pydantic
import pytest

from tanso.client import Client
from tanso.services.trading.exchange import PlacedOrder

ORDER = {
    "id": "O7",
    "instrument": "ES",
    "participant_id": "ALPHA",
    "account_id": "ALPHA-MAIN",
    "side": "buy",
    "type": "limit",
    "price": 2_000,
    "quantity": 10,
    "remaining": 10,
    "filled": 0,
    "tif": "day",
    "status": "open",
    "reason": None,
    "client_order_id": None,
    "created_at": "2026-01-05T00:00:00.000000Z",
    "trades": [],
    "events": [{"event": "accepted", "id": "O7"}],
}


def client(answer: Any, sent: list[dict[str, Any]]) -> Client:
    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content or b"null"))
        return httpx.Response(201, json=answer)

    return Client("http://tanso.test", "tk_x", transport=httpx.MockTransport(handler))


def test_an_order_comes_back_as_the_frozen_use_case_answer_and_goes_out_as_quantity() -> None:
    sent: list[dict[str, Any]] = []
    order = client(ORDER | {"new_field": 1}, sent).place_order(
        "ES", "buy", quantity=10, price=2_000
    )
    assert isinstance(order, PlacedOrder)  # the exchange's own dataclass
    assert (order.id, order.quantity, order.events[0]["event"]) == ("O7", 10, "accepted")
    assert not hasattr(order, "new_field")  # a field this client does not know yet is dropped
    with pytest.raises(dataclasses.FrozenInstanceError):
        order.status = "filled"  # type: ignore[misc]
    assert sent[0]["quantity"] == 10 and "qty" not in sent[0]


def test_an_answer_that_breaks_its_model_is_refused() -> None:
    broken = {k: v for k, v in ORDER.items() if k != "remaining"}
    with pytest.raises(pydantic.ValidationError):
        client(broken, []).place_order("ES", "buy", quantity=10, price=2_000)


def test_an_evaluation_is_asked_and_answered_with_reporting_year() -> None:
    """One name for the reporting year, out and back."""
    evaluation = client(
        {
            "allowed": True,
            "quantity": 5,
            "max_quantity": 5,
            "tonnes": 5,
            "scope": "1",
            "ruleset": "tanso-default@2026.1",
            "reasons": [],
            "purpose": "offset_scope1",
            "reporting_year": 2026,
            "date": "2026-01-05",
            "account_id": "ALPHA-MAIN",
            "lots": [],
            "position": {},
        },
        sent := [],
    ).evaluate_use("ALPHA-MAIN", "offset_scope1", quantity=5, reporting_year=2026)
    assert evaluation.reporting_year == 2026
    assert sent[0]["reporting_year"] == 2026 and "year" not in sent[0]
