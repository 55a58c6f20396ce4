"""The web layer's gettext catalogs: complete in both languages, and the Japanese one spelt as
docs/glossary.md fixes."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

from tanso.web.i18n import LOCALE_DIR, compile_catalogs, texts

# spellings the glossary rules out, with the one it fixes
AVOIDED = {
    "ヴィンテージ": "ビンテージ",
    "カーボンクレジット": "カーボン・クレジット",
    "基準価格": "基準値段",
    "約定価格": "約定値段",
    "売買日": "約定日",
    "決済済み": "決済済",
    "決済不能": "決済不履行",
}


def _catalog(lang: str) -> list[tuple[str | None, str, str]]:
    with (LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return [(m.context, str(m.id), str(m.string)) for m in read_po(f) if m.id]


def test_every_message_has_an_english_and_a_japanese_text_with_the_same_placeholders() -> None:
    en = {(c, i): s for c, i, s in _catalog("en")}
    ja = {(c, i): s for c, i, s in _catalog("ja")}
    assert en and set(en) == set(ja)
    for key, english in en.items():
        assert english and ja[key], key
        assert set(re.findall(r"{\w*}", english)) == set(re.findall(r"{\w*}", ja[key])), key


def test_the_japanese_catalog_follows_the_glossary() -> None:
    glossary = (Path(__file__).parents[2] / "docs" / "glossary.md").read_text("utf-8")
    for avoided, fixed in AVOIDED.items():
        assert fixed in glossary
        assert not [i for _c, i, s in _catalog("ja") if avoided in s], avoided


def test_a_screen_group_reads_its_texts_from_the_compiled_catalog() -> None:
    compile_catalogs()
    assert (LOCALE_DIR / "ja" / "LC_MESSAGES" / "messages.mo").exists()
    assert texts("ja", "portal", "operator")["reference_price"] == "基準値段"
    assert texts("en", "portal")["place_order"] == "Place an order"
    # a later group's text wins over the portal's for the same id
    assert texts("en", "portal", "operator")["reason"] == "Reason (optional)"


def test_every_claim_and_reason_the_domain_can_state_has_its_wording_in_both_languages() -> None:
    from tanso.domain.claims import PRODUCT_PURPOSES, STATEMENT_PURPOSES

    codes = ["offset_scope1", "offset_scope2", "offset_scope3", "carbon_neutral_scope12"]
    codes += ["carbon_neutral", "net_zero", *STATEMENT_PURPOSES, *PRODUCT_PURPOSES]
    reasons = ["voluntary_without_ca", "not_eligible", "no_inventory", "exceeds_residual"]
    reasons += ["residual_not_covered", "net_zero_needs_reductions"]
    for lang in ("en", "ja"):
        claims = texts(lang, "claims")
        ids = [f"claim_{c}" for c in codes] + [f"title_{c}" for c in codes]
        ids += [f"reason_{r}" for r in reasons]
        assert [i for i in ids if i not in claims] == [], lang
    assert texts("ja", "scope3_category")["6"] == "出張"
