"""Server-side HTML: Jinja2 templates for reports and pages (English and Japanese).

One Jinja2 environment per language, each with Jinja2's i18n extension and that language's
gettext catalog installed (`tanso.web.i18n`), so a template may use ``_()``/``gettext`` as well
as the screen texts it is given (``t``).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from tanso.web.i18n import LANGUAGES, translations


def yen(value: int) -> str:
    """Integer yen with thousands separators (no floats anywhere)."""
    return f"¥{value:,}"


@cache
def environment(lang: str) -> Environment:
    """The templates' environment for ``lang`` (English for any other)."""
    env = Environment(
        loader=PackageLoader("tanso", "web/templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    env.filters["yen"] = yen
    env.filters["num"] = lambda v: f"{v:,}"
    return env


def render(template: str, **context: Any) -> str:
    """A template rendered in the context's ``lang`` (English when it names none)."""
    lang = context.get("lang", "en")
    env = environment(lang if lang in LANGUAGES else "en")
    return env.get_template(template).render(**context)
