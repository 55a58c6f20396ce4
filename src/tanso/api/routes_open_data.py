"""Open data (issue 22, docs/open-data.md): the catalog of bulk files and the data dictionary,
public. The files themselves, the Atom feed and the pages are tanso.web.open_data's."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Response
from fastapi.responses import PlainTextResponse

from tanso.api.deps import DB, AnswerRoute
from tanso.api.schemas import answer, many
from tanso.services.marketdata import open_data
from tanso.web.i18n import texts

router = APIRouter(prefix="/v1/open-data", tags=["public"], route_class=AnswerRoute)

CatalogOut = answer(open_data.Catalog, "OpenDataCatalog")
DictionaryColumnOut = answer(open_data.DictionaryColumn, "OpenDataColumn")


def meaning(key: str) -> tuple[str, str]:
    """A dictionary entry's meaning in English and Japanese (the catalogs' texts)."""
    group = "open_data_dictionary"
    return texts("en", group)[key], texts("ja", group)[key]


def dictionary() -> list[open_data.DictionaryColumn]:
    return open_data.dictionary(meaning)


@router.get("", response_model=CatalogOut)
def catalog(db: DB) -> open_data.Catalog:
    """Every open dataset and its files (CSV and Parquet, a file a month or, for projects, one
    full file), with row counts and whether each is final; the licence (CC BY 4.0), the data
    dictionary and the Atom feed of final files."""
    return open_data.catalog(db)


@router.get(
    "/dictionary",
    response_model=many(DictionaryColumnOut),
    responses={200: {"content": {"text/csv": {}}}},
)
def data_dictionary(
    format: Literal["json", "csv"] = "json",
) -> list[open_data.DictionaryColumn] | Response:
    """The data dictionary: every column of every dataset with its type, Parquet type, CSV
    form, unit, whether it may be empty and its meaning in English and Japanese;
    `format=csv` for a spreadsheet."""
    entries = dictionary()
    if format == "csv":
        return PlainTextResponse(open_data.dictionary_csv(entries), media_type="text/csv")
    return entries
