"""Open data over HTTP (docs/open-data.md): the catalog, the dictionary (JSON, CSV, HTML in
English and Japanese), the pages, the files with their headers, the Atom feed and the licence."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from tanso.api.app import create_app
from tanso.services.marketdata import open_data as od
from tanso.store.db import Database
from tests.integration.test_indices import open_market, two_days
from tests.integration.test_open_data import retire, settle_and_close

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    # the scenario's test clock moves by a millisecond a reading: the cluster's leases would
    # not run out in it (the routes are covered in the cluster by the access matrix)
    pytest.mark.single_process("the market scenario runs on a test clock"),
]

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def http(db: Database) -> Iterator[TestClient]:
    m = open_market(db)
    two_days(m)
    retire(m)
    settle_and_close(m)
    with TestClient(create_app(db)) as client:
        yield client


def test_the_catalog_lists_each_dataset_its_files_and_the_licence(http: TestClient) -> None:
    got = http.get("/v1/open-data")
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["licence"]["id"] == "CC-BY-4.0"
    assert body["licence"]["url"] == "https://creativecommons.org/licenses/by/4.0/"
    assert body["feed"] == "/open-data.atom"
    datasets = {d["name"]: d for d in body["datasets"]}
    assert list(datasets) == list(od.DATASETS)
    trades = datasets["trades"]["files"]
    assert [(f["period"], f["rows"], f["final"]) for f in trades] == [("2026-01", 3, True)]
    assert trades[0]["csv"] == "/open-data/trades/tanso-trades-2026-01.csv"
    assert datasets["projects"]["period"] == "snapshot"


def test_each_file_downloads_with_its_type_name_and_cache_headers(http: TestClient) -> None:
    csv_answer = http.get("/open-data/trades/tanso-trades-2026-01.csv")
    assert csv_answer.status_code == 200
    assert csv_answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert 'filename="tanso-trades-2026-01.csv"' in csv_answer.headers["content-disposition"]
    assert "immutable" in csv_answer.headers["cache-control"]
    rows = list(csv.DictReader(io.StringIO(csv_answer.text)))
    assert [r["price"] for r in rows] == ["2000", "2001", "10000"]
    parquet = http.get("/open-data/trades/tanso-trades-2026-01.parquet")
    assert parquet.headers["content-type"] == "application/vnd.apache.parquet"
    assert pq.read_table(io.BytesIO(parquet.content)).num_rows == 3
    assert http.get("/open-data/trades/tanso-trades-2026-01.csv").content == csv_answer.content
    provisional = http.get("/v1/open-data").json()["datasets"]
    feb = [f for d in provisional for f in d["files"] if not f["final"]]
    for f in feb:
        assert http.get(f["csv"]).headers["cache-control"] == "no-cache"


def test_a_file_not_in_the_catalog_answers_404_with_a_code_and_a_sentence(
    http: TestClient,
) -> None:
    got = http.get("/open-data/trades/tanso-trades-2025-12.csv")
    assert got.status_code == 404
    assert got.json()["error"]["code"] == "open_data_file_not_found"
    assert "2026-01" in got.json()["error"]["message"]
    assert http.get("/open-data/orders/tanso-orders-2026-01.csv").status_code == 404


def test_the_dictionary_has_every_column_in_json_csv_and_both_languages(
    http: TestClient,
) -> None:
    entries = http.get("/v1/open-data/dictionary").json()
    expected = [(d.name, c.name) for d in od.DATASETS.values() for c in d.columns]
    assert [(e["dataset"], e["name"]) for e in entries] == expected
    for e in entries:
        assert e["meaning_en"] and e["meaning_ja"] and e["meaning_en"] != e["meaning_ja"], e
    price = next(e for e in entries if (e["dataset"], e["name"]) == ("trades", "price"))
    assert (price["type"], price["parquet_type"]) == ("integer", "int64")
    day = next(e for e in entries if (e["dataset"], e["name"]) == ("trades", "trade_date"))
    assert (day["parquet_type"], day["csv_form"]) == ("date32[day]", "YYYY-MM-DD")
    table = http.get("/v1/open-data/dictionary?format=csv")
    assert table.headers["content-type"].startswith("text/csv")
    assert len(list(csv.DictReader(io.StringIO(table.text)))) == len(expected)
    en, ja = http.get("/open-data/dictionary"), http.get("/ja/open-data/dictionary")
    assert "price per tonne" in en.text and "1 トン当たりの約定値段" in ja.text
    assert ja.headers["content-language"] == "ja"


def test_the_pages_list_the_files_and_the_licence_in_english_and_japanese(
    http: TestClient,
) -> None:
    en = http.get("/en/open-data")
    ja = http.get("/ja/open-data")
    assert en.status_code == ja.status_code == 200
    assert 'href="/open-data/trades/tanso-trades-2026-01.parquet"' in en.text
    assert "Creative Commons Attribution 4.0" in en.text and "Source: Tanso open data" in en.text
    assert "オープンデータ" in ja.text and "出典：Tanso オープンデータ" in ja.text
    assert 'href="/ja/open-data/dictionary"' in ja.text
    text = http.get("/open-data/LICENSE.txt")
    assert text.headers["content-type"].startswith("text/plain")
    assert "CC BY 4.0" in text.text and "表示 4.0" in text.text


def test_the_atom_feed_has_an_entry_per_final_file_and_form(http: TestClient) -> None:
    got = http.get("/open-data.atom")
    assert got.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(got.content)
    entries = feed.findall(f"{ATOM}entry")
    final = od.final_files(http.app.state.db)  # type: ignore[attr-defined]
    assert len(entries) == 2 * len(final)
    titles = [e.findtext(f"{ATOM}title") for e in entries]
    assert "tanso-trades-2026-01.csv" in titles and "tanso-trades-2026-01.parquet" in titles
    entry = entries[titles.index("tanso-trades-2026-01.csv")]
    link = entry.find(f"{ATOM}link")
    assert link is not None and link.get("href", "").endswith(
        "/open-data/trades/tanso-trades-2026-01.csv"
    )
    assert entry.findtext(f"{ATOM}id") == "urn:tanso:open-data:tanso-trades-2026-01.csv"
    assert (entry.findtext(f"{ATOM}updated") or "") >= "2026-01-31T15:00:00"
    assert http.get("/open-data.atom").content == got.content
