"""市場のお知らせ: the operator's public market notices (halts, rule changes, market makers,
holidays, new instruments) and project developers' updates, as values checked on construction.

Pure: no database, no clock. A notice is written in English and Japanese; an update in English,
Japanese or both. Dates are ISO calendar dates (``2026-12-29``); a link is an absolute http(s)
address or a path on this site.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tanso.domain.errors import InvalidInput

KINDS = ("halt", "rule_change", "market_maker", "holiday", "new_instrument", "other")
"""What a market notice is about."""
LANGUAGES = ("en", "ja", "both")
"""The languages a project update is written in."""

MAX_TITLE = 200
MAX_BODY = 10_000
MAX_LINK = 500
MAX_REASON = 1_000
_TITLE_CONTROLS = {chr(c) for c in range(32)} | {"\x7f"}
_BODY_CONTROLS = _TITLE_CONTROLS - {"\n", "\t", "\r"}


def check_date(value: str, name: str) -> str:
    """``value`` if it is a calendar date written ``YYYY-MM-DD``."""
    try:
        ok = len(value) == 10 and dt.date.fromisoformat(value).isoformat() == value
    except ValueError:
        ok = False
    if not ok:
        raise InvalidInput(
            "invalid_date", f"{name} must be a date such as 2026-12-29; got {value!r}."
        )
    return value


def check_text(value: str, name: str, limit: int, *, required: bool, body: bool = False) -> str:
    """``value`` if it is within ``limit`` characters, not blank when required, and free of
    control characters (a body may hold line breaks and tabs)."""
    if required and not value.strip():
        raise InvalidInput("text_required", f"{name} is required and may not be blank.")
    if len(value) > limit:
        raise InvalidInput(
            "text_too_long", f"{name} may be at most {limit} characters; it has {len(value)}."
        )
    if set(value) & (_BODY_CONTROLS if body else _TITLE_CONTROLS):
        raise InvalidInput("invalid_text", f"{name} may not contain control characters.")
    return value


def check_link(link: str | None) -> str | None:
    """An absolute http(s) address or a path on this site (``/rules``), or None."""
    if link is None or link == "":
        return None
    check_text(link, "link", MAX_LINK, required=True)
    absolute = link.startswith(("https://", "http://")) and len(link) > len("https://")
    local = link.startswith("/") and not link.startswith("//")
    if not (absolute or local) or any(c.isspace() for c in link):
        raise InvalidInput(
            "invalid_link",
            "link must be an http(s) address or a path on this site such as /rules, "
            "without spaces.",
        )
    return link


@dataclass(frozen=True, slots=True)
class NoticeText:
    """What the operator writes in a market notice: both languages are required."""

    kind: str
    title_en: str
    title_ja: str
    body_en: str
    body_ja: str
    effective_on: str
    link: str | None = None

    def check(self) -> NoticeText:
        if self.kind not in KINDS:
            raise InvalidInput(
                "invalid_notice_kind",
                f"kind must be one of {', '.join(KINDS)}; got {self.kind!r}.",
            )
        check_text(self.title_en, "title_en", MAX_TITLE, required=True)
        check_text(self.title_ja, "title_ja", MAX_TITLE, required=True)
        check_text(self.body_en, "body_en", MAX_BODY, required=True, body=True)
        check_text(self.body_ja, "body_ja", MAX_BODY, required=True, body=True)
        check_date(self.effective_on, "effective_on")
        check_link(self.link)
        return self


def check_reason(reason: str) -> str:
    """Why a notice is withdrawn: required, one paragraph at most ``MAX_REASON`` long."""
    return check_text(reason, "reason", MAX_REASON, required=True, body=True)


@dataclass(frozen=True, slots=True)
class UpdateText:
    """A project developer's update: in English (``en``), Japanese (``ja``) or ``both``; the
    fields of a language not written stay empty."""

    language: str
    published_on: str
    title_en: str = ""
    body_en: str = ""
    title_ja: str = ""
    body_ja: str = ""

    def check(self) -> UpdateText:
        if self.language not in LANGUAGES:
            raise InvalidInput(
                "invalid_language",
                f"language must be one of {', '.join(LANGUAGES)}; got {self.language!r}.",
            )
        for lang in ("en", "ja"):
            written = self.language in (lang, "both")
            title, body = getattr(self, f"title_{lang}"), getattr(self, f"body_{lang}")
            if not written and (title or body):
                raise InvalidInput(
                    "text_not_in_language",
                    f"An update in {self.language!r} has no title_{lang} or body_{lang}; "
                    f"use language 'both' to write both.",
                )
            check_text(title, f"title_{lang}", MAX_TITLE, required=written)
            check_text(body, f"body_{lang}", MAX_BODY, required=written, body=True)
        check_date(self.published_on, "published_on")
        return self
