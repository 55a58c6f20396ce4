"""The project map, drawn on the server as inline SVG from the boundary data the installation
ships (``data/project_map.json``, made by ``project_map_build`` from japanmap and world-atlas):
Japan by prefecture, shaded by the credits issued to its projects, and the JCM partner countries,
shaded the same way. Each region links to the project list filtered to it. No tile, no script,
no request leaving the page.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from markupsafe import Markup, escape

DATA = Path(__file__).resolve().parents[1] / "data" / "project_map.json"

SHADES = ("#e3ecf5", "#b8d3ea", "#86b4da", "#4f8fc5", "#2a6aa8", "#13467a")
"""Light for no credits, then five classes up to the most issued (colour-blind safe blues)."""
EMPTY = "#f3f4f6"


@cache
def boundaries() -> Mapping[str, Any]:
    """The shipped boundary data (read once)."""
    data: Mapping[str, Any] = json.loads(DATA.read_text(encoding="utf-8"))
    return data


def prefecture_names() -> dict[str, str]:
    """Each prefecture's Japanese name (as ``projects.region`` holds it) to its English one."""
    return {ja: p["name_en"] for ja, p in boundaries()["japan"]["prefectures"].items()}


def partner_names(lang: str) -> dict[str, str]:
    """Each JCM partner country's ISO code to its name in ``lang``."""
    key = "name_ja" if lang == "ja" else "name_en"
    return {a2: c[key] for a2, c in boundaries()["world"]["partners"].items()}


@dataclass(frozen=True, slots=True)
class Scale:
    """The classes of the legend: upper bounds of credits issued, log-spaced up to the most."""

    bounds: tuple[int, ...]

    @classmethod
    def of(cls, values: list[int]) -> Scale:
        top = max([v for v in values if v > 0], default=0)
        if top == 0:
            return cls(())
        steps = len(SHADES) - 1
        bounds = {_round(top ** ((i + 1) / steps)) for i in range(steps - 1)}
        return cls((*sorted(b for b in bounds if b < top), top))

    def shade(self, value: int) -> str:
        if value <= 0:
            return SHADES[0]
        for i, bound in enumerate(self.bounds):
            if value <= bound:
                return self._colour(i)
        return SHADES[-1]

    def _colour(self, i: int) -> str:
        """The darkest shade for the top class, however few classes there are."""
        return SHADES[len(SHADES) - len(self.bounds) + i]

    def legend(self) -> list[tuple[str, int, int]]:
        """(colour, from, to) of each class that has credits."""
        out, low = [], 1
        for i, bound in enumerate(self.bounds):
            out.append((self._colour(i), low, bound))
            low = bound + 1
        return out


def _round(value: float) -> int:
    """``value`` to one significant digit (at least 1): legend bounds a reader takes in."""
    if value < 1:
        return 1
    power: int = 10 ** (len(str(int(value))) - 1)
    return max(1, round(value / power) * power)


def _region(href: str, d: str, fill: str, title: str, kind: str, key: str, value: int) -> str:
    return (
        f'<a href="{escape(href)}" class="map-region" data-{kind}="{escape(key)}" '
        f'data-issued="{value}"><path d="{d}" fill="{fill}" stroke="#ffffff" '
        f'stroke-width="0.6"><title>{escape(title)}</title></path></a>'
    )


def _amount(value: int, lang: str, unit: str) -> str:
    return f"{value:,} {unit}" if value else "—"


def japan_svg(
    issued: Mapping[str, int], scale: Scale, lang: str, prefix: str, g: Mapping[str, str]
) -> Markup:
    """Japan by prefecture; ``issued`` by the prefecture's Japanese name."""
    japan = boundaries()["japan"]
    parts = []
    for ja, p in japan["prefectures"].items():
        value = issued.get(ja, 0)
        name = ja if lang == "ja" else p["name_en"]
        href = f"{prefix}/projects?prefecture={quote(ja)}"
        title = f"{name}: {_amount(value, lang, g['unit'])}"
        parts.append(_region(href, p["d"], scale.shade(value), title, "prefecture", ja, value))
    x1, y1, x2, y2 = japan["okinawa_inset"]
    inset = (
        f'<rect x="{x1}" y="{y1}" width="{round(x2 - x1, 1)}" height="{round(y2 - y1, 1)}" '
        'fill="none" stroke="#9aa5b1" stroke-width="0.8" stroke-dasharray="3 2"/>'
    )
    return Markup(
        f'<svg id="japan-map" class="project-map" viewBox="0 0 {japan["width"]} '
        f'{japan["height"]}" role="img" aria-labelledby="japan-map-title" '
        'xmlns="http://www.w3.org/2000/svg">'
        f'<title id="japan-map-title">{escape(g["map_japan"])}</title>'
        f"{inset}{''.join(parts)}</svg>"
    )


def world_svg(
    issued: Mapping[str, int], scale: Scale, lang: str, prefix: str, g: Mapping[str, str]
) -> Markup:
    """The JCM partner countries among the others; ``issued`` by ISO alpha-2 code."""
    world = boundaries()["world"]
    background = "".join(f'<path d="{d}"/>' for d in world["background"])
    parts = []
    for a2, c in world["partners"].items():
        value = issued.get(a2, 0)
        name = c["name_ja"] if lang == "ja" else c["name_en"]
        href = f"{prefix}/projects?country={a2}"
        title = f"{name}: {_amount(value, lang, g['unit'])}"
        parts.append(_region(href, c["d"], scale.shade(value), title, "country", a2, value))
    home = (
        f'<a href="{prefix}/projects?country=JP" class="map-region" data-country="JP">'
        f'<path d="{world["japan"]}" fill="#c0392b"><title>{escape(g["japan"])}</title>'
        "</path></a>"
    )
    return Markup(
        f'<svg id="world-map" class="project-map" viewBox="0 0 {world["width"]} '
        f'{world["height"]}" role="img" aria-labelledby="world-map-title" '
        'xmlns="http://www.w3.org/2000/svg">'
        f'<title id="world-map-title">{escape(g["map_world"])}</title>'
        f'<g fill="{EMPTY}" stroke="#d5d9de" stroke-width="0.4">{background}</g>'
        f"{''.join(parts)}{home}</svg>"
    )
