"""The web layer's UI texts: gettext catalogs (Babel), one per language, compiled on demand.

The catalogs live in ``locale/{en,ja}/LC_MESSAGES/messages.po`` with the template
``locale/messages.pot``. A message's context (``msgctxt``) is its screen group (``portal``,
``operator``, ``marketplace``, ``auctions``, ``usage``, ``public``, ``certificate``,
``daily_report``, ``claims``, ``scope3_category`` ...) and its id is the name the templates and
document renderers use (``t.place_order``); the English catalog holds the English text, the
Japanese one the Japanese text, spelt as docs/glossary.md fixes; no UI text lives in a Python
dictionary. ``make install`` compiles the ``.mo`` files (``pybabel compile -d
src/tanso/web/locale``); a missing or older ``.mo`` is compiled here at first use, so a fresh
clone works too.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from types import MappingProxyType

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
LANGUAGES = ("en", "ja")


def _paths(lang: str) -> tuple[Path, Path]:
    folder = LOCALE_DIR / lang / "LC_MESSAGES"
    return folder / f"{DOMAIN}.po", folder / f"{DOMAIN}.mo"


def compile_catalogs() -> list[str]:
    """Compile each language's ``.po`` whose ``.mo`` is missing or older; the languages done.
    A read-only installation keeps its ``.mo`` files (``translations`` then reads the ``.po``)."""
    done = []
    for lang in LANGUAGES:
        po, mo = _paths(lang)
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as f:
            catalog = read_po(f, locale=lang, domain=DOMAIN)
        try:
            fd, tmp = tempfile.mkstemp(dir=mo.parent, suffix=".mo")
            with os.fdopen(fd, "wb") as out:
                write_mo(out, catalog)
            os.replace(tmp, mo)
        except OSError:
            continue
        done.append(lang)
    return done


@cache
def translations(lang: str) -> NullTranslations:
    """The compiled catalog of ``lang`` (English for a language Tanso does not have)."""
    compile_catalogs()
    lang = lang if lang in LANGUAGES else "en"
    _po, mo = _paths(lang)
    if mo.exists() and mo.stat().st_mtime >= _po.stat().st_mtime:
        return Translations.load(str(LOCALE_DIR), [lang], DOMAIN)
    with _po.open("rb") as f:  # a read-only installation with no .mo: the .po itself
        catalog = read_po(f, locale=lang, domain=DOMAIN)
    return _FromCatalog(catalog)


class _FromCatalog(NullTranslations):
    def __init__(self, catalog: object) -> None:
        super().__init__()
        self._texts: dict[tuple[str | None, str], str] = {
            (m.context, str(m.id)): str(m.string)
            for m in catalog  # type: ignore[attr-defined]
            if m.id and m.string
        }

    def gettext(self, message: str) -> str:
        return self._texts.get((None, message), message)

    def pgettext(self, context: str, message: str) -> str:
        return self._texts.get((context, message), message)


@cache
def _keys() -> Mapping[str, tuple[str, ...]]:
    """The message ids of each screen group, from the catalogs' template (messages.pot)."""
    with (LOCALE_DIR / f"{DOMAIN}.pot").open("rb") as f:
        template = read_po(f, domain=DOMAIN)
    keys: dict[str, list[str]] = {}
    for m in template:
        if m.id and m.context:
            keys.setdefault(m.context, []).append(str(m.id))
    return MappingProxyType({group: tuple(ids) for group, ids in keys.items()})


@cache
def texts(lang: str, *groups: str) -> Mapping[str, str]:
    """The texts of ``groups`` in ``lang`` by id, a later group's text over an earlier one's."""
    catalog = translations(lang)
    merged: dict[str, str] = {}
    for group in groups:
        for key in _keys()[group]:
            merged[key] = str(catalog.pgettext(group, key))
    return MappingProxyType(merged)
