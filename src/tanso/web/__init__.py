"""Server-side HTML: Jinja2 templates for reports and pages (English and Japanese).

One Jinja2 environment per language, each with Jinja2's i18n extension and that language's
gettext catalog installed (`tanso.web.i18n`), so a template may use ``_()``/``gettext`` as well
as the screen texts it is given (``t``).
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from jinja2 import Environment, PackageLoader, select_autoescape

from tanso.services.compliance import gx
from tanso.services.ledger.participants import MAIN_ACCOUNT_NAME
from tanso.web.i18n import LANGUAGES, texts, translations


class DemoClockView(Protocol):
    """What the pages read of a virtual business clock (services/trading/virtual_clock.py)."""

    speed: float

    def now(self) -> dt.datetime: ...


_demo_clock: list[DemoClockView] = []
"""The demo clock this process's pages label, if the database runs on one."""


def show_demo_clock(clock: DemoClockView | None) -> None:
    """Label every page with the demo clock's time (None: the wall clock, no label)."""
    _demo_clock[:] = [clock] if clock is not None else []


DATE_FORMATS = {"en": "EEE d MMM y, HH:mm", "ja": "y年M月d日（EEE）H:mm"}


def demo_clock_note(lang: str) -> str | None:
    """The demo clock's label in ``lang``: its time now and its speed; None outside the demo."""
    if not _demo_clock:
        return None
    clock = _demo_clock[0]
    lang = lang if lang in LANGUAGES else "en"
    when = format_datetime(
        clock.now(), DATE_FORMATS[lang], tzinfo=ZoneInfo("Asia/Tokyo"), locale=lang
    )
    return texts(lang, "clock")["demo_clock"].format(when=when, speed=f"{clock.speed:g}")


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
    env.globals["demo_clock_note"] = demo_clock_note
    env.filters["account_name"] = lambda name: account_name(name, lang)
    env.filters["sector"] = lambda code: gx.sector_name(code, lang)
    return env


def account_name(name: str, lang: str) -> str:
    """An account's name in ``lang``: the default first account's in the page's language, any
    name a participant gave as given."""
    if name == MAIN_ACCOUNT_NAME and lang in LANGUAGES:
        return texts(lang, "portal")["main_account_name"]
    return name


def render(template: str, **context: Any) -> str:
    """A template rendered in the context's ``lang`` (English when it names none)."""
    lang = context.get("lang", "en")
    env = environment(lang if lang in LANGUAGES else "en")
    return env.get_template(template).render(**context)
