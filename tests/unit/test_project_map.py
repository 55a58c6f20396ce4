"""The project map's pieces without a database: the shipped boundary data (47 prefectures, the
JCM partner countries, small enough for a page), where a region lies, and the legend's classes
(every amount falls in exactly one, darker for more)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from tanso.domain import prefectures
from tanso.services.trading import instruments
from tanso.web import project_map
from tanso.web.project_map_build import JCM_PARTNERS

G = {"unit": "t", "map_japan": "Japan", "map_world": "JCM", "japan": "Japan"}


def test_the_shipped_boundaries_hold_every_prefecture_and_partner_and_stay_small() -> None:
    data = project_map.boundaries()
    assert list(data["japan"]["prefectures"]) == list(prefectures.NAMES)
    assert set(data["world"]["partners"]) == {a2 for a2, *_ in JCM_PARTNERS}
    assert {a2 for a2, *_ in JCM_PARTNERS} == set(instruments.JCM_PARTNERS)
    assert all(
        re.fullmatch(r"M[-0-9. lz M]+", p["d"]) for p in data["japan"]["prefectures"].values()
    )
    assert project_map.DATA.stat().st_size < 150_000
    assert "Apache" in data["sources"]["prefectures"] and "ISC" in data["sources"]["countries"]


def test_a_region_names_the_prefectures_it_lies_in() -> None:
    assert prefectures.named_in("宮城県・山形県・秋田県") == ["宮城県", "秋田県", "山形県"]
    assert prefectures.named_in("東京都ほか") == ["東京都"]
    assert prefectures.named_in("京都府") == ["京都府"]
    assert prefectures.named_in("関東地方") == []


def test_the_svg_links_each_region_to_the_filtered_list_in_its_language() -> None:
    scale = project_map.Scale.of([1_000])
    ja = str(project_map.japan_svg({"千葉県": 1_000}, scale, "ja", "/ja", G))
    assert ja.count("<path ") == 47
    assert 'href="/ja/projects?prefecture=%E5%8D%83%E8%91%89%E7%9C%8C"' in ja
    assert "<title>千葉県: 1,000 t</title>" in ja
    en = str(project_map.world_svg({"VN": 1_000}, scale, "en", "", G))
    assert 'href="/projects?country=VN"' in en and "<title>Viet Nam: 1,000 t</title>" in en


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 10**9), min_size=1, max_size=20), st.integers(0, 10**9))
def test_every_amount_falls_in_one_class_and_more_is_never_lighter(
    values: list[int], probe: int
) -> None:
    scale = project_map.Scale.of(values)
    legend = scale.legend()
    shades = list(project_map.SHADES)
    for v in [*values, probe]:
        if v <= 0:
            assert scale.shade(v) == shades[0]
        elif v <= max(values):
            classes = [c for c, low, high in legend if low <= v <= high]
            assert classes == [scale.shade(v)]
    ordered = sorted(v for v in values if v > 0)
    darkness = [shades.index(scale.shade(v)) for v in ordered]
    assert darkness == sorted(darkness)
    if ordered:
        assert scale.shade(ordered[-1]) == shades[-1]
