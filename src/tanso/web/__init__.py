"""Server-side HTML: Jinja2 templates for reports and pages (English and Japanese)."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

env = Environment(
    loader=PackageLoader("tanso", "web/templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def yen(value: int) -> str:
    """Integer yen with thousands separators (no floats anywhere)."""
    return f"¥{value:,}"


env.filters["yen"] = yen
env.filters["num"] = lambda v: f"{v:,}"


def render(template: str, **context: Any) -> str:
    return env.get_template(template).render(**context)
