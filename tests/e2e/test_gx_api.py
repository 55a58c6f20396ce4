"""GX-ETS over REST (issue 19): each fiscal year's prices, public."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tanso.api.app import create_app
from tanso.store.db import Database


def test_the_prices_of_a_fiscal_year_are_public_with_their_status_and_source(
    db: Database,
) -> None:
    with TestClient(create_app(db)) as http:
        published = http.get("/v1/gx/prices/2026").json()
        assert (published["ceiling"], published["floor"]) == (4_300, 1_700)
        assert published["status"] == "published" and published["source"] == "METI-2025-12-19"
        provisional = http.get("/v1/gx/prices/2027").json()
        assert (provisional["ceiling"], provisional["floor"]) == (4_429, 1_751)
        assert provisional["status"] == "provisional" and provisional["basis_year"] == 2026
        before = http.get("/v1/gx/prices/2025")
        assert before.status_code == 404
        assert before.json()["error"]["code"] == "gx_prices_not_set"
        assert "FY2026" in before.json()["error"]["message"]
        assert http.get("/v1/gx/prices/1999").status_code == 422
