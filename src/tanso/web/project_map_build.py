"""Build the boundary data of the project map (``src/tanso/data/project_map.json``) from the two
pinned sources, once, by hand; the installation ships the result and never fetches a tile:

- Japan by prefecture: ``japan.json`` of the PyPI package ``japanmap`` 0.6.0 (Apache-2.0,
  Saito Tsutomu), one polygon per prefecture (the part holding its capital), its borders shared;
- the JCM partner countries: ``countries-50m.json`` of the npm package ``world-atlas`` 2.0.2
  (ISC, Mike Bostock), Natural Earth's admin-0 boundaries 4.1.0 (public domain).

Both are projected to SVG user units and simplified (Douglas-Peucker on each shared border, so
neighbours still meet), coordinates rounded to one decimal. Run it as::

    pip download --no-deps -d /tmp/jm japanmap==0.6.0 && unzip -d /tmp/jm /tmp/jm/*.whl
    npm install                     # world-atlas is pinned in package.json
    python -m tanso.web.project_map_build /tmp/jm/japanmap/japan.json \
        node_modules/world-atlas/countries-50m.json > src/tanso/data/project_map.json

It is a tool, not part of the running exchange: nothing imports it.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

from tanso.domain.prefectures import PREFECTURES

Point = tuple[float, float]

JCM_PARTNERS = (
    ("MN", 496, "Mongolia", "モンゴル"),
    ("BD", 50, "Bangladesh", "バングラデシュ"),
    ("ET", 231, "Ethiopia", "エチオピア"),
    ("KE", 404, "Kenya", "ケニア"),
    ("MV", 462, "Maldives", "モルディブ"),
    ("VN", 704, "Viet Nam", "ベトナム"),
    ("LA", 418, "Lao PDR", "ラオス"),
    ("ID", 360, "Indonesia", "インドネシア"),
    ("CR", 188, "Costa Rica", "コスタリカ"),
    ("PW", 585, "Palau", "パラオ"),
    ("KH", 116, "Cambodia", "カンボジア"),
    ("MX", 484, "Mexico", "メキシコ"),
    ("SA", 682, "Saudi Arabia", "サウジアラビア"),
    ("CL", 152, "Chile", "チリ"),
    ("MM", 104, "Myanmar", "ミャンマー"),
    ("TH", 764, "Thailand", "タイ"),
    ("PH", 608, "Philippines", "フィリピン"),
    ("SN", 686, "Senegal", "セネガル"),
    ("TN", 788, "Tunisia", "チュニジア"),
    ("AZ", 31, "Azerbaijan", "アゼルバイジャン"),
    ("MD", 498, "Moldova", "モルドバ"),
    ("GE", 268, "Georgia", "ジョージア"),
    ("LK", 144, "Sri Lanka", "スリランカ"),
    ("UZ", 860, "Uzbekistan", "ウズベキスタン"),
    ("PG", 598, "Papua New Guinea", "パプアニューギニア"),
    ("AE", 784, "United Arab Emirates", "アラブ首長国連邦"),
    ("KG", 417, "Kyrgyz Republic", "キルギス"),
    ("KZ", 398, "Kazakhstan", "カザフスタン"),
    ("UA", 804, "Ukraine", "ウクライナ"),
    ("TZ", 834, "Tanzania", "タンザニア"),
)
"""The JCM (二国間クレジット制度) partner countries: ISO 3166 alpha-2, numeric, EN, JA; the same
countries as ``JCM_PARTNERS`` of services/trading/instruments.py (a test holds them equal)."""

JAPAN = 392

# Japan panel: equirectangular at 36°N, Okinawa moved north-east into an inset as japanmap does
JP_SCALE = 32.0
JP_WEST, JP_NORTH = 128.0, 45.8
JP_COS = math.cos(math.radians(36))
OKINAWA_SHIFT = (4.5, 5.0)
# World panel: plate carrée from 120°W eastwards to 180°, 60°N to 56°S
W_WEST, W_EAST, W_NORTH, W_SOUTH = -120.0, 180.0, 60.0, -56.0
W_SCALE = 3.4
TOLERANCE = 0.7
"""Douglas-Peucker tolerance in SVG user units (about a pixel at the size the page shows)."""


def _simplify(points: Sequence[Point], tolerance: float) -> list[Point]:
    """Douglas-Peucker, iterative; the first and last points always stay."""
    if len(points) < 3:
        return list(points)
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        (x1, y1), (x2, y2) = points[first], points[last]
        dx, dy = x2 - x1, y2 - y1
        norm = math.hypot(dx, dy)
        worst, index = 0.0, -1
        for i in range(first + 1, last):
            px, py = points[i]
            if norm == 0:
                d = math.hypot(px - x1, py - y1)
            else:
                d = abs(dy * px - dx * py + x2 * y1 - y2 * x1) / norm
            if d > worst:
                worst, index = d, i
        if index >= 0 and worst > tolerance:
            keep[index] = True
            stack.append((first, index))
            stack.append((index, last))
    return [p for p, k in zip(points, keep, strict=True) if k]


def _path(rings: Sequence[Sequence[Point]]) -> str:
    """An SVG path of closed rings, one decimal, relative moves after the first point."""
    parts = []
    for ring in rings:
        if len(ring) < 3:
            continue
        out = []
        px, py = round(ring[0][0], 1), round(ring[0][1], 1)
        out.append(f"M{px:g} {py:g}")
        for x, y in ring[1:]:
            x, y = round(x, 1), round(y, 1)
            if (x, y) == (px, py):
                continue
            out.append(f"l{round(x - px, 1):g} {round(y - py, 1):g}")
            px, py = x, y
        parts.append("".join(out) + "z")
    return "".join(parts)


def _japan_point(lon: float, lat: float, okinawa: bool) -> Point:
    if okinawa:
        lon, lat = lon + OKINAWA_SHIFT[0], lat + OKINAWA_SHIFT[1]
    return ((lon - JP_WEST) * JP_COS * JP_SCALE, (JP_NORTH - lat) * JP_SCALE)


def prefectures(japan_json: Path) -> dict[str, dict[str, Any]]:
    """Each prefecture's path, from japanmap's points (qp) and its borders by neighbour (qo)."""
    qp, qo = json.loads(japan_json.read_text())
    out: dict[str, dict[str, Any]] = {}
    simplified: dict[tuple[int, ...], list[Point]] = {}
    for k, (ja, en) in enumerate(PREFECTURES):
        okinawa = k == 46
        ring: list[Point] = []
        for _neighbour, indices in qo[k]:
            key = tuple(indices)
            back = tuple(reversed(indices))
            if key in simplified:
                part = simplified[key]
            elif back in simplified:
                part = list(reversed(simplified[back]))
            else:
                pts = [_japan_point(qp[i][0][0], qp[i][0][1], okinawa) for i in indices]
                part = _simplify(pts, TOLERANCE / 2)
                simplified[key] = part
            ring.extend(part if not ring else part[1:])
        out[ja] = {"code": k + 1, "name_en": en, "d": _path([ring])}
    return out


def _arcs(topology: dict[str, Any]) -> list[list[Point]]:
    """The topology's arcs in longitude and latitude (delta-decoded, de-quantised)."""
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        pts = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            pts.append((x * sx + tx, y * sy + ty))
        arcs.append(pts)
    return arcs


def _world_point(lon: float, lat: float) -> Point:
    return ((lon - W_WEST) * W_SCALE, (W_NORTH - lat) * W_SCALE)


def countries(countries_json: Path) -> tuple[list[str], str, dict[str, dict[str, Any]]]:
    """The background (every other country but Antarctica), Japan and each JCM partner."""
    topology = json.loads(countries_json.read_text())
    arcs = [_simplify([_world_point(*p) for p in a], TOLERANCE) for a in _arcs(topology)]

    def arc(i: int) -> list[Point]:
        return arcs[i] if i >= 0 else list(reversed(arcs[~i]))

    def rings(geometry: dict[str, Any]) -> list[list[Point]]:
        polygons = geometry.get("arcs", [])
        if geometry["type"] == "Polygon":
            polygons = [polygons]
        elif geometry["type"] != "MultiPolygon":
            return []
        out = []
        for polygon in polygons:
            for ring_arcs in polygon:
                ring: list[Point] = []
                for i in ring_arcs:
                    ring.extend(arc(i) if not ring else arc(i)[1:])
                xs = [p[0] for p in ring]
                ys = [p[1] for p in ring]
                big_enough = (max(xs) - min(xs)) + (max(ys) - min(ys)) > 2.0
                wraps = any(abs(a[0] - b[0]) > 180 * W_SCALE for a, b in pairwise(ring))
                if big_enough and not wraps and _visible(ring):
                    out.append(ring)
        return out

    partners = {numeric: (a2, en, ja) for a2, numeric, en, ja in JCM_PARTNERS}
    background: list[str] = []
    chosen: dict[str, dict[str, Any]] = {}
    japan = ""
    for g in topology["objects"]["countries"]["geometries"]:
        numeric = int(g["id"]) if str(g.get("id", "")).isdigit() else None
        if numeric == 10:  # Antarctica
            continue
        if numeric in partners:
            a2, en, ja = partners[numeric]
            found = rings(g)
            if not found:  # an atoll smaller than the tolerance: keep it as a dot
                found = _dot(g, arcs)
            chosen[a2] = {"numeric": numeric, "name_en": en, "name_ja": ja, "d": _path(found)}
        elif numeric == JAPAN:
            japan = _path(rings(g))
        else:
            d = _path(rings(g))
            if d:
                background.append(d)
    return background, japan, chosen


def _visible(ring: Sequence[Point]) -> bool:
    width = (W_EAST - W_WEST) * W_SCALE
    height = (W_NORTH - W_SOUTH) * W_SCALE
    return any(0 <= x <= width and 0 <= y <= height for x, y in ring)


def _dot(geometry: dict[str, Any], arcs: list[list[Point]]) -> list[list[Point]]:
    """A small square where an island state's atolls are, so that it can still be clicked."""
    indices: list[int] = []

    def walk(value: Any) -> None:
        if isinstance(value, int):
            indices.append(value if value >= 0 else ~value)
        else:
            for v in value:
                walk(v)

    walk(geometry.get("arcs", []))
    pts = [p for i in indices for p in arcs[i]]
    cx = sum(p[0] for p in pts) / len(pts)
    cy = sum(p[1] for p in pts) / len(pts)
    r = 3.0
    return [[(cx - r, cy - r), (cx + r, cy - r), (cx + r, cy + r), (cx - r, cy + r)]]


def build(japan_json: Path, countries_json: Path) -> dict[str, Any]:
    """The shipped map data: both panels' sizes, paths and where they came from."""
    background, japan, partners = countries(countries_json)
    return {
        "sources": {
            "prefectures": "japanmap 0.6.0 (PyPI), japan.json; Apache License 2.0, Saito Tsutomu",
            "countries": "world-atlas 2.0.2 (npm), countries-50m.json; ISC licence, Mike "
            "Bostock; Natural Earth 4.1.0 admin-0 boundaries, public domain",
        },
        "japan": {
            "width": round((146.0 - JP_WEST) * JP_COS * JP_SCALE),
            "height": round((JP_NORTH - 30.2) * JP_SCALE),
            "okinawa_inset": [
                round(v, 1)
                for v in (*_japan_point(126.4, 27.1, True), *_japan_point(128.5, 25.9, True))
            ],
            "prefectures": prefectures(japan_json),
        },
        "world": {
            "width": round((W_EAST - W_WEST) * W_SCALE),
            "height": round((W_NORTH - W_SOUTH) * W_SCALE),
            "japan": japan,
            "background": background,
            "partners": partners,
        },
    }


def main(argv: Sequence[str]) -> None:
    japan_json, countries_json = (Path(a) for a in argv)
    json.dump(build(japan_json, countries_json), sys.stdout, ensure_ascii=False, indent=0)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1:])
