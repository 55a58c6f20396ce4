"""A points programme's test world, shared by the service and HTTP tests: the programme's own
member key (never sent to Tanso), its members' hashes, a business clock and a methodology."""

from __future__ import annotations

from typing import Any

from tanso.domain import points

KEY = b"the programme's own key, never sent to Tanso"


def member(n: int) -> str:
    return points.member_hash(KEY, f"member-{n}@ecoride.example")


class Days:
    def __init__(self, day: str) -> None:
        self.day, self.ticks = day, 0

    def __call__(self) -> str:
        self.ticks += 1
        return f"{self.day}T03:00:00.{self.ticks:06d}Z"


METHOD: dict[str, Any] = {
    "effective_from": "2026-04-01",
    "source": "EcoRide methodology v1 (illustrative), grams from MLIT transport factors",
    "actions": [
        {
            "code": "transit_ride",
            "name_en": "Transit ride",
            "name_ja": "公共交通の利用",
            "unit": "ride",
            "grams_per_unit": 300,
            "daily_cap_grams": 1200,
        },
        {
            "code": "cycled_km",
            "name_en": "Cycled km",
            "name_ja": "自転車走行距離",
            "unit": "km",
            "grams_per_unit": 130,
        },
    ],
    "double_counting": {
        "overlaps": ["municipal_inventory"],
        "settled": False,
        "treatment": "Points fund real credits; the reductions also count in municipal "
        "inventories, so no credits are issued for them.",
    },
}
