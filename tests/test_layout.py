"""server/'s layout (issue 10): no import cycle between its modules, lazy imports included,
and mypy strict covers server/ as it covers evaluator/."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(sources: dict[str, str]) -> dict[str, set[str]]:
    """Module -> the modules of ``sources`` it imports (anywhere in it, lazily too)."""
    graph: dict[str, set[str]] = {name: set() for name in sources}
    for name, text in sources.items():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ImportFrom) and node.module:
                wanted = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                wanted = [a.name for a in node.names]
            else:
                continue
            graph[name] |= {w for w in wanted if w in sources and w != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle a depth-first walk meets (empty when there is none)."""
    state: dict[str, int] = {}
    found: list[list[str]] = []

    def walk(node: str, path: list[str]) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                found.append([*path[path.index(nxt):], nxt])
            elif nxt not in state:
                walk(nxt, path)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            walk(node, [])
    return found


def test_server_has_no_import_cycle() -> None:
    sources = {module_name(p): p.read_text("utf-8") for p in (ROOT / "server").rglob("*.py")}
    assert len(sources) > 20
    assert cycles(import_graph(sources)) == []


@pytest.mark.parametrize("sources", [
    {"a": "import b", "b": "from a import x"},
    {"a": "def f():\n    from b import y", "b": "import c", "c": "import a"},
])
def test_the_cycle_check_can_fail(sources: dict[str, str]) -> None:
    assert cycles(import_graph(sources))


def test_mypy_is_strict_on_server_as_on_the_evaluator() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["mypy"]
    assert config["strict"] is True
    assert {"evaluator", "server"} <= set(config["files"])
    assert not config.get("exclude")
    ours = [o for o in config.get("overrides", [])
            for m in ([o["module"]] if isinstance(o["module"], str) else o["module"])
            if m.split(".")[0] in ("server", "evaluator")]
    assert not ours, f"mypy overrides for our own modules: {ours}"
