"""The suite engine's pure parts give the same results in CPython and in the page's Pyodide
(Python 3.14 under Node): every expression row and error of tests/test_expr.py, the pinned
draws and spec errors of tests/test_draw.py for several seeds, templates, the generator's
raw outputs, and haystacks (by hash) with their token estimates.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from evaluator import draw, expr, haystack
from tests.pyodide_harness import run_node
from tests.test_draw import PEER_SPEC, SPEC_ERRORS
from tests.test_expr import ERRORS, ROWS
from tests.test_haystack import NEEDLE, SAMPLES

HERE = Path(__file__).parent
RUNNER = HERE / "engine_runner.mjs"

Row = tuple[str, list[Any]]
SEEDS = [0, 1, 42, 2 ** 63 + 5, -7]
CASE_IDS = ["case-1", "\u00fcnic\u00f8de-case"]
TEMPLATE = "{{a}} x {{ b }} = {{product}}; {{price}} {{word}} {{missing}}"

# the longest and deepest expressions accepted: recursion must hold in Pyodide too
STRESS = ["1" + "+1" * 249, "-(" * 15 + "x" + ")" * 15, "[" * 31 + "x" + "]" * 31,
          "(((((((((((((((((((((((((((((((x)))))))))))))))))))))))))))))))" + ".length",
          "s.toUpperCase() + count(s, 'ab') + s.toLowerCase()"]
TABLE: list[Row] = [
    *[("expr", [source, variables]) for source, variables, _ in ROWS],
    *[("expr", [source, {"x": "deep", "s": "aB" * 2000}]) for source in STRESS],
    *[("expr", [source, variables]) for source, variables, _ in ERRORS],
    *[("draw", [PEER_SPEC, seed, case]) for seed in SEEDS for case in CASE_IDS],
    *[("draw", [spec, 3, "bad"]) for spec, _ in SPEC_ERRORS],
    *[("check", [spec]) for spec, _ in SPEC_ERRORS],
    ("check", [PEER_SPEC]),
    ("render", [TEMPLATE.replace(" {{missing}}", ""), draw.draw_vars(PEER_SPEC, 9, "r")]),
    ("render", [TEMPLATE, {"a": 1}]),
    ("rng", [1234567, 5]),
    ("rng", [2 ** 40 + 3, 8]),
    *[("haystack", [size, seed, needle, depth])
      for size, seed, needle, depth in [
          (1000, 1, NEEDLE, 50), (4096, 2, NEEDLE, 0.0), (4096, 2, NEEDLE, 100),
          (8192, 3, "Der Code lautet 4812 \u2014 \u2713.", 33.3), (131_072, 4, NEEDLE, 75),
          (50, 5, "", 50)]],
    *[("estimate", [text]) for text in SAMPLES.values()],
]


def _error_line(exc: Exception) -> str:
    kind = type(exc)
    module = "" if kind.__module__ == "builtins" else kind.__module__ + "."
    return f"!{module}{kind.__qualname__}: {exc}"


def _or_error(work: Callable[[], str]) -> str:
    try:
        return work()
    except (expr.ExprError, ValueError) as exc:
        return _error_line(exc)


def _haystack_key(args: list[Any]) -> str:
    text = haystack.haystack(*args)
    return f"{hashlib.sha256(text.encode('utf-8')).hexdigest()} {haystack.estimate_tokens(text)}"


def _rng(seed: int, count: int) -> str:
    rng = draw.Rng(seed)
    return ",".join(str(rng.next64()) for _ in range(count))


def cpython(op: str, args: list[Any]) -> str:
    """What the runner computes in Pyodide, computed here."""
    if op == "expr":
        return _or_error(lambda: expr.to_text(expr.evaluate(expr.parse(args[0]), args[1])))
    if op == "draw":
        return _or_error(lambda: json.dumps(draw.draw_vars(*args)))
    if op == "check":
        return json.dumps(draw.check_spec(args[0]))
    if op == "render":
        return _or_error(lambda: draw.render(*args))
    if op == "haystack":
        return _haystack_key(args)
    if op == "estimate":
        return str(haystack.estimate_tokens(args[0]))
    assert op == "rng"
    return _rng(*args)


@pytest.fixture(scope="module")
def pyodide(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    rows = [{"op": op, "call": json.dumps([args])} for op, args in TABLE]
    reply: dict[str, Any] = json.loads(run_node(RUNNER, rows,
                                                tmp_path_factory.mktemp("pyodide-engine")))
    return reply


def test_it_is_another_python(pyodide: dict[str, Any]) -> None:
    assert pyodide["python"].split()[0].startswith("3.")
    assert len(pyodide["results"]) == len(TABLE)
    # the table is what it says: errors, spec problems and every op are in it
    assert {op for op, _ in TABLE} == {"expr", "draw", "check", "render", "haystack",
                                       "estimate", "rng"}
    print("Pyodide Python", pyodide["python"].split()[0], "CPython", sys.version.split()[0])


@pytest.mark.parametrize("op", ["expr", "draw", "check", "render", "haystack", "estimate",
                                "rng"])
def test_pyodide_and_cpython_agree(pyodide: dict[str, Any], op: str) -> None:
    rows = [(i, args) for i, (kind, args) in enumerate(TABLE) if kind == op]
    theirs = [pyodide["results"][i] for i, _ in rows]
    ours = [cpython(op, args) for _, args in rows]
    mismatched = [(args, a, b) for (_, args), a, b in zip(rows, theirs, ours, strict=True)
                  if a != b]
    assert not mismatched, mismatched[:3]


def test_the_table_holds_errors_and_values(pyodide: dict[str, Any]) -> None:
    results = pyodide["results"]
    errors = [r for r in results if r.startswith("!evaluator.jsvalue.ExprError: ")]
    assert len(errors) == len(ERRORS) + len(SPEC_ERRORS) + 1  # + the {{missing}} render
    assert results[0] == "42"  # a * b
    draws = [json.loads(results[i]) for i, (op, a) in enumerate(TABLE)
             if op == "draw" and a[0] is PEER_SPEC]
    assert len({json.dumps(d) for d in draws}) == len(draws)  # seeds and cases differ
