"""The layout's rules (ARCHITECTURE.md), read from the imports of every module under src/tanso:
no import cycles, a pure domain, use cases that never import an adapter, adapters that never
reach into the store, and a product that never imports the demo or the test harness."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
ADAPTERS = ("tanso.api", "tanso.web", "tanso.cli")
NOT_PRODUCT = ("tanso.demo", "tanso.harness")
# the doors from the product to the demo: `tanso init --demo`, `tanso serve --simulate`
DEMO_DOORS = {"tanso.cli", "tanso.api.app"}


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {
        module_name(p): p for p in SRC.rglob("*.py") if "migrations" not in p.relative_to(SRC).parts
    }


def imports(path: Path, known: dict[str, Path]) -> set[str]:
    """Every tanso module ``path`` imports, at module level or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("tanso")}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tanso"):
            for a in node.names:
                full = f"{node.module}.{a.name}"
                found.add(full if full in known else str(node.module))
    return {m for m in found if m in known}


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(path, known) - {name} for name, path in known.items()}


def cycles(graph: dict[str, set[str]]) -> Iterator[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()

    def visit(v: str) -> Iterator[list[str]]:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                yield from visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                yield sorted(component)

    for v in sorted(graph):
        if v not in index:
            yield from visit(v)


def test_no_module_imports_one_that_imports_it_back(graph: dict[str, set[str]]) -> None:
    assert list(cycles(graph)) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert list(cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}})) == [["a", "b", "c"]]


def test_the_domain_imports_only_the_domain(graph: dict[str, set[str]]) -> None:
    bad = {
        m: sorted(d for d in deps if not d.startswith("tanso.domain"))
        for m, deps in graph.items()
        if m.startswith("tanso.domain")
    }
    assert {m: d for m, d in bad.items() if d} == {}


def test_use_cases_never_import_an_adapter(graph: dict[str, set[str]]) -> None:
    bad = {
        m: sorted(d for d in deps if d.startswith(ADAPTERS))
        for m, deps in graph.items()
        if m.startswith("tanso.services")
    }
    assert {m: d for m, d in bad.items() if d} == {}


def test_adapters_call_use_cases_and_never_the_stores_sql(graph: dict[str, set[str]]) -> None:
    """They may name the `Database` type they pass on (tanso.store.db), no other part."""
    bad = {
        m: sorted(d for d in deps if d.startswith("tanso.store") and d != "tanso.store.db")
        for m, deps in graph.items()
        if m.startswith(ADAPTERS)
    }
    assert {m: d for m, d in bad.items() if d} == {}


def test_the_product_never_imports_the_demo_or_the_harness(graph: dict[str, set[str]]) -> None:
    bad = {
        m: sorted(d for d in deps if d.startswith(NOT_PRODUCT))
        for m, deps in graph.items()
        if not m.startswith(NOT_PRODUCT) and m not in DEMO_DOORS
    }
    assert {m: d for m, d in bad.items() if d} == {}
