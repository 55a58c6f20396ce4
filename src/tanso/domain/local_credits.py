"""Local-government credit schemes (自治体クレジット): prefectures, scheme codes, methodologies.

A prefecture or municipality runs a credit scheme of its own (as 長野県's 森林CO2吸収評価認証制度
or 京都市's DO YOU KYOTO? クレジット do): it certifies reductions and removals of local projects
under its own methodologies, and the credits carry the region and the scheme. This module holds
the pure rules: the 47 prefectures by their JIS X 0401 code, the form of a scheme code (a scheme
code of the registry, so serials and the ordinary registry work unchanged) and what a
methodology must state. No I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from tanso.domain.errors import InvalidInput

SCHEME_CODE_RE = re.compile(r"^LG[A-Z]{2}$")
"""A local scheme's code: ``LG`` and two letters (``LGNA``), a registry scheme code and the
first part of its credits' serials (``LGNA-RM-NAFM01-1-1-500``)."""
METHODOLOGY_CODE_RE = re.compile(r"^[A-Z][A-Z0-9_]{1,39}$")
CREDIT_TYPES = ("ER", "RM", "FM")
"""What a local methodology certifies: reductions, removals, forest management."""
MECHANISMS = ("reduction", "removal")
NATURES = ("nature", "technology")
MAX_METHODOLOGIES = 30
MAX_TEXT = 2000
MAX_NAME = 300

PREFECTURES: Mapping[str, tuple[str, str]] = {
    "01": ("Hokkaido", "北海道"),
    "02": ("Aomori", "青森県"),
    "03": ("Iwate", "岩手県"),
    "04": ("Miyagi", "宮城県"),
    "05": ("Akita", "秋田県"),
    "06": ("Yamagata", "山形県"),
    "07": ("Fukushima", "福島県"),
    "08": ("Ibaraki", "茨城県"),
    "09": ("Tochigi", "栃木県"),
    "10": ("Gunma", "群馬県"),
    "11": ("Saitama", "埼玉県"),
    "12": ("Chiba", "千葉県"),
    "13": ("Tokyo", "東京都"),
    "14": ("Kanagawa", "神奈川県"),
    "15": ("Niigata", "新潟県"),
    "16": ("Toyama", "富山県"),
    "17": ("Ishikawa", "石川県"),
    "18": ("Fukui", "福井県"),
    "19": ("Yamanashi", "山梨県"),
    "20": ("Nagano", "長野県"),
    "21": ("Gifu", "岐阜県"),
    "22": ("Shizuoka", "静岡県"),
    "23": ("Aichi", "愛知県"),
    "24": ("Mie", "三重県"),
    "25": ("Shiga", "滋賀県"),
    "26": ("Kyoto", "京都府"),
    "27": ("Osaka", "大阪府"),
    "28": ("Hyogo", "兵庫県"),
    "29": ("Nara", "奈良県"),
    "30": ("Wakayama", "和歌山県"),
    "31": ("Tottori", "鳥取県"),
    "32": ("Shimane", "島根県"),
    "33": ("Okayama", "岡山県"),
    "34": ("Hiroshima", "広島県"),
    "35": ("Yamaguchi", "山口県"),
    "36": ("Tokushima", "徳島県"),
    "37": ("Kagawa", "香川県"),
    "38": ("Ehime", "愛媛県"),
    "39": ("Kochi", "高知県"),
    "40": ("Fukuoka", "福岡県"),
    "41": ("Saga", "佐賀県"),
    "42": ("Nagasaki", "長崎県"),
    "43": ("Kumamoto", "熊本県"),
    "44": ("Oita", "大分県"),
    "45": ("Miyazaki", "宮崎県"),
    "46": ("Kagoshima", "鹿児島県"),
    "47": ("Okinawa", "沖縄県"),
}
"""都道府県コード (JIS X 0401): code -> (English name, Japanese name)."""


def prefecture(code: str) -> str:
    """The JIS X 0401 code if it names a prefecture (``20`` or ``"20"``; ``7`` is ``07``)."""
    text = code.strip()
    if text.isascii() and text.isdigit() and len(text) <= 2:
        text = text.zfill(2)
    if text not in PREFECTURES:
        raise InvalidInput(
            "unknown_prefecture",
            f"{code!r} is not a prefecture code: use the JIS X 0401 code, 01 (Hokkaido) to "
            "47 (Okinawa), e.g. 20 for Nagano.",
        )
    return text


def prefecture_name(code: str, lang: str = "en") -> str:
    """A prefecture's name in English or Japanese (the code itself when unknown)."""
    names = PREFECTURES.get(code)
    if names is None:
        return code
    return names[1] if lang == "ja" else names[0]


def scheme_code(code: str) -> str:
    """Refuse a local scheme code that is not ``LG`` and two upper-case letters."""
    if not SCHEME_CODE_RE.fullmatch(code):
        raise InvalidInput(
            "invalid_local_scheme_code",
            f"{code!r} is not a local scheme code: 'LG' and two upper-case letters, e.g. LGNA; "
            "it becomes the first part of the scheme's serial numbers.",
        )
    return code


def text(value: str, name: str, limit: int = MAX_TEXT, *, required: bool = False) -> str:
    """A free text within its limit (and not blank when required)."""
    if len(value) > limit:
        raise InvalidInput("text_too_long", f"{name} may be at most {limit} characters.")
    if required and not value.strip():
        raise InvalidInput("text_required", f"{name} must not be empty.")
    return value


@dataclass(frozen=True, slots=True)
class Methodology:
    """A methodology of a local scheme: what it certifies (``credit_type``: ER reduction, RM
    removal, FM forest management), as a reduction or a removal, nature- or technology-based,
    and where it is published (``source_url`` and/or ``source_text``)."""

    code: str
    name_en: str
    name_ja: str
    credit_type: str
    mechanism: str
    nature: str
    source_url: str = ""
    source_text: str = ""

    def as_dict(self) -> dict[str, str]:
        return {
            "code": self.code,
            "name_en": self.name_en,
            "name_ja": self.name_ja,
            "credit_type": self.credit_type,
            "mechanism": self.mechanism,
            "nature": self.nature,
            "source_url": self.source_url,
            "source_text": self.source_text,
        }


def methodology(d: Mapping[str, Any]) -> Methodology:
    """A methodology from its fields, each checked; InvalidInput says which is wrong."""
    code = str(d.get("code", ""))
    if not METHODOLOGY_CODE_RE.fullmatch(code):
        raise InvalidInput(
            "invalid_methodology_code",
            f"{code!r} is not a methodology code: an upper-case letter, then 1 to 39 upper-case "
            "letters, digits or '_' (e.g. FOREST_MGMT).",
        )
    m = Methodology(
        code=code,
        name_en=text(str(d.get("name_en", "")), "name_en", MAX_NAME, required=True),
        name_ja=text(str(d.get("name_ja", "")), "name_ja", MAX_NAME, required=True),
        credit_type=str(d.get("credit_type", "ER")),
        mechanism=str(d.get("mechanism", "reduction")),
        nature=str(d.get("nature", "technology")),
        source_url=text(str(d.get("source_url", "")), "source_url", 500),
        source_text=text(str(d.get("source_text", "")), "source_text"),
    )
    if m.credit_type not in CREDIT_TYPES:
        raise InvalidInput(
            "invalid_credit_type",
            f"A local methodology certifies one of {', '.join(CREDIT_TYPES)}; "
            f"{m.code} says {m.credit_type!r}.",
        )
    if m.mechanism not in MECHANISMS:
        raise InvalidInput("invalid_mechanism", "mechanism must be 'reduction' or 'removal'.")
    if m.nature not in NATURES:
        raise InvalidInput("invalid_nature", "nature must be 'nature' or 'technology'.")
    if m.source_url:
        parts = urlsplit(m.source_url)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise InvalidInput(
                "invalid_source_url", f"The source of {m.code} must be an http(s) address."
            )
    if not (m.source_url or m.source_text.strip()):
        raise InvalidInput(
            "methodology_source_required",
            f"Methodology {m.code} needs its source: the address or the title of the "
            "document that publishes it.",
        )
    return m


def methodologies(items: Sequence[Mapping[str, Any]]) -> tuple[Methodology, ...]:
    """A scheme's methodologies: at least one, at most MAX_METHODOLOGIES, codes unique."""
    if not 1 <= len(items) <= MAX_METHODOLOGIES:
        raise InvalidInput(
            "invalid_methodologies",
            f"A local scheme has 1 to {MAX_METHODOLOGIES} methodologies; got {len(items)}.",
        )
    out = tuple(methodology(d) for d in items)
    codes = [m.code for m in out]
    if len(set(codes)) != len(codes):
        raise InvalidInput(
            "duplicate_methodology", "Each methodology of a scheme needs a code of its own."
        )
    return out
