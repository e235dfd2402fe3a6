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


# Imports made inside a function in server/, each for the reason docs/architecture.md gives
# ("Imports sit at the top of modules, except these"): heavy or optional packages most
# commands never need, and the modules that would pull them in.
LAZY = {
    "rich": "tables and progress (report.py, run_print.py, compare.py, rate.py, demo)",
    "httpx": "only bench streams (client.py)",
    "yaml": "rescore reads no YAML (suites_io.py)",
    "ssl": "only for https (rating/discovery.py)",
    "asyncio": "the CLI's discover is synchronous (rating/discovery.py)",
    "mlx": "the optional mlx extra", "mlx_lm": "the optional mlx extra",
    "tokenizers": "the optional mlx extra", "gguf": "the optional mlx extra",
    "safetensors": "the optional mlx extra", "huggingface_hub": "the optional mlx extra",
    "server.cli.serving": "uvicorn", "server.site.app": "Starlette",
    "server.mlx_bridge.app": "Starlette", "server.mlx_bridge.gen": "mlx",
    "server.mlx_bridge.engine": "mlx", "server.mlx_bridge.fdlimit": "mlx (its import guard)",
    "server.demo.model": "site/app.py: only when it starts the bridge",
    "server.rating.report": "discover --json and compare --json print no table",
}


def lazy_imports(text: str) -> set[tuple[str, ...]]:
    """The imports a source makes inside its functions, each as the names it may go by
    (``from a.b import c`` is ``a.b`` or, when c is a module, ``a.b.c``)."""
    found: set[tuple[str, ...]] = set()
    for fn in ast.walk(ast.parse(text)):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(fn):
                if isinstance(node, ast.ImportFrom) and node.module:
                    found |= {(node.module, f"{node.module}.{a.name}") for a in node.names}
                elif isinstance(node, ast.Import):
                    found |= {(a.name,) for a in node.names}
    return found


def undocumented_lazy(sources: dict[str, str]) -> dict[str, set[str]]:
    """Module -> its in-function imports that LAZY does not name (by package prefix)."""
    def named(module: str) -> bool:
        return any(module == k or module.startswith(k + ".") for k in LAZY)
    out = {name: {names[-1] for names in lazy_imports(text) if not any(map(named, names))}
           for name, text in sources.items()}
    return {name: found for name, found in out.items() if found}


def test_imports_sit_at_the_top_except_the_documented_lazy_ones() -> None:
    sources = {module_name(p): p.read_text("utf-8") for p in (ROOT / "server").rglob("*.py")}
    assert undocumented_lazy(sources) == {}


def test_the_lazy_import_check_can_fail() -> None:
    text = "def f():\n    from evaluator.suite_cost import suite_cost\n    import json\n"
    assert undocumented_lazy({"m": text}) == {"m": {"evaluator.suite_cost.suite_cost", "json"}}
    assert undocumented_lazy({"m": "def f():\n    import rich.text\n"}) == {}
