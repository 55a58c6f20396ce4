"""The depth of a JSON text, measured before any parse and across chunk boundaries."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tanso.domain.json_depth import DepthGauge, too_deep

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='ab"\\[]{}\n/ü'),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(alphabet='k"\\[{', max_size=3), inner, max_size=3)
    ),
    max_leaves=30,
)


def depth_of(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((depth_of(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth_of(v) for v in value.values()), default=0)
    return 0


def test_a_thousand_deep_document_is_too_deep_and_its_strings_do_not_count() -> None:
    assert too_deep("[" * 1000 + "]" * 1000)
    assert too_deep('{"a":' * 33 + "1" + "}" * 33)
    assert not too_deep('{"a":' * 32 + "1" + "}" * 32)
    assert not too_deep(json.dumps({"text": "[" * 1000 + '\\"{' * 100}))
    assert not too_deep(b"[]" * 10_000)  # wide is not deep


@given(value=json_values, cuts=st.lists(st.integers(0, 400), max_size=8), limit=st.integers(0, 6))
def test_the_gauge_measures_the_depth_the_parser_sees_however_the_text_is_cut(
    value: Any, cuts: list[int], limit: int
) -> None:
    data = json.dumps(value, ensure_ascii=False).encode()
    gauge = DepthGauge(limit)
    points = sorted({min(c, len(data)) for c in cuts})
    refused = False
    for start, end in zip([0, *points], [*points, len(data)], strict=True):
        refused = gauge.feed(data[start:end]) or refused
    assert refused == (depth_of(value) > limit)
    if not refused:
        assert gauge.deepest == depth_of(value) and gauge.depth == 0
