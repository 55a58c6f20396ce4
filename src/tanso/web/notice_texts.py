"""The texts of notices (お知らせ): a notice's kind and parameters rendered in English or
Japanese from the ``notices`` group of the catalogs. The API and the portal both render here, so
a notice reads the same wherever it is shown; the notice itself stores no text."""

from __future__ import annotations

from typing import Any

from tanso.web.i18n import texts


def notice_text(kind: str, subject_id: str, params: dict[str, Any], lang: str) -> str:
    """One notice's text in ``lang`` (English for a language Tanso does not have)."""
    t = texts(lang if lang in ("en", "ja") else "en", "notices")
    values = {
        k: (f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else v)
        for k, v in params.items()
    }
    values["subject"] = subject_id
    code = str(params.get("reason_code", ""))
    values["reason"] = t.get(f"reason_{code}", code)
    template = t.get(kind)
    if template is None:
        return f"{kind} {subject_id}"
    try:
        return template.format(**values)
    except (KeyError, IndexError):
        return f"{kind} {subject_id}"
