"""The open data pages and files (issue 22, docs/open-data.md), public, no login:

- ``/open-data`` (``/en/...``, ``/ja/...``): every dataset's files, the licence (CC BY 4.0) and
  how to credit it;
- ``/open-data/dictionary`` (``/en/...``, ``/ja/...``): every column's name, type, unit and
  meaning (the same as ``GET /v1/open-data/dictionary``, JSON or CSV);
- ``/open-data/{dataset}/{file}``: a file, CSV or Parquet (tanso.services.marketdata.open_data);
- ``/open-data.atom``: an Atom feed with one entry per final file (updated: when it became final);
- ``/open-data/LICENSE.txt``: the licence summary shipped with the installation.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import PlainTextResponse, Response
from feedgen.feed import FeedGenerator

from tanso.api.routes_open_data import dictionary
from tanso.services.marketdata import open_data
from tanso.web import kit
from tanso.web.i18n import texts
from tanso.web.kit import Lang

router = APIRouter(include_in_schema=False)

LICENCE_FILE = Path(__file__).parent.parent / "data" / "open-data-licence.txt"
FINAL_CACHE = "public, max-age=31536000, immutable"
PROVISIONAL_CACHE = "no-cache"


def _files(request: Request, lang: Lang) -> dict[str, Any]:
    return {"catalog": open_data.catalog(kit.db(request))}


def _dictionary(request: Request, lang: Lang) -> dict[str, Any]:
    return {"datasets": open_data.DATASETS, "entries": dictionary()}


def _publish(path: str, template: str, page: kit.PageContext, summary: str) -> None:
    """The page at ``path``, ``/en{path}`` and ``/ja{path}`` with the open-data texts."""

    def context(request: Request, lang: Lang) -> dict[str, Any]:
        return {
            "o": texts(lang, "open_data"),
            "d": texts(lang, "open_data_dictionary"),
            "licence": open_data.LICENCE,
        } | page(request, lang)

    kit.publish_page(router, path, template, context, summary)


_publish("/open-data", "open_data.html", _files, "Open data: every file, the licence.")
_publish(
    "/open-data/dictionary",
    "open_data_dictionary.html",
    _dictionary,
    "The open data dictionary: every column's type, unit and meaning.",
)


@cache
def _licence_text() -> str:
    return LICENCE_FILE.read_text(encoding="utf-8")


@router.get("/open-data/LICENSE.txt", response_class=PlainTextResponse)
def licence_text() -> PlainTextResponse:
    """The licence summary (CC BY 4.0), shipped with the installation."""
    return PlainTextResponse(_licence_text())


@router.get("/open-data.atom")
def feed(request: Request) -> Response:
    """An Atom feed of the published files: one entry per final file and form."""
    files = open_data.final_files(kit.db(request))
    o, d = texts("en", "open_data"), texts("en", "open_data_dictionary")
    base = str(request.base_url).rstrip("/")
    fg = FeedGenerator()
    fg.id("urn:tanso:open-data")
    fg.title(o["feed_title"])
    fg.link(href=f"{base}/open-data.atom", rel="self")
    fg.link(href=f"{base}/open-data", rel="alternate")
    fg.rights(open_data.LICENCE.name)
    fg.language("en")
    fg.updated(files[0].final_at if files else "1970-01-01T00:00:00Z")
    for f in reversed(files):  # feedgen puts the last added first
        for form in open_data.FORMS:
            path = f.csv if form == "csv" else f.parquet
            name = open_data.file_name(f.dataset, f.period, form)
            e = fg.add_entry()
            e.id(f"urn:tanso:open-data:{name}")
            e.title(name)
            e.updated(f.final_at)
            e.link(href=base + path, rel="alternate", type=open_data.MEDIA_TYPES[form])
            e.link(href=base + path, rel="enclosure", type=open_data.MEDIA_TYPES[form])
            e.summary(
                o["feed_entry"].format(
                    dataset=d[f.dataset], period=f.period, form=form.upper(), rows=f.rows
                )
            )
    body: bytes = fg.atom_str(pretty=True)
    return Response(body, media_type="application/atom+xml; charset=utf-8")


@router.get("/open-data/{dataset}/{name}")
def download(
    request: Request,
    dataset: Annotated[str, PathParam(min_length=1, max_length=16)],
    name: Annotated[str, PathParam(min_length=1, max_length=64)],
) -> Response:
    """A file of the catalog; a final one is the same bytes every time (cached for a year)."""
    built = open_data.build_file(kit.db(request), dataset, name)
    return Response(
        built.body,
        media_type=built.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{built.name}"',
            "Cache-Control": FINAL_CACHE if built.final else PROVISIONAL_CACHE,
        },
    )
