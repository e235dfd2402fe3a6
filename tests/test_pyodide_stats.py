"""The statistics inside the vendored Pyodide (under Node), as the page computes them.

The whole reference table of tests/test_stats.py (published intervals, exact p-values,
huge n) and a paired comparison with repeats, stability, a speed profile, pass rates and
a pooling check go through ``evaluator.page_api.call`` inside Pyodide. Every reply must be
byte for byte CPython's, and the table's replies must hold the reference values.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from evaluator import page_api
from tests.pyodide_harness import call_ops
from tests.test_stats import check_table_replies, table_requests
from tests.test_stats_compare import runs

FIRST, SECOND = runs(20, 12, 2, 16, repeats=3)
SPEED = [{"id": f"c{i}", "status": "pass" if i % 3 else "fail", "ttft_ms": 90.0 + 7 * i,
          "tok_s": 18.5 + i / 3, "total_ms": 800.0 + 55.5 * i, "tok_in": 400 + i,
          "tokens_source": "usage" if i % 2 else "timings", "output": f" answer {i % 4} ",
          "tool_calls": [], "tags": ["t", f"g{i % 2}"], "attempt": i % 3}
         for i in range(17)]
RECORD = {"suite": {"sha256": "x"}, "model": {"id": "m", "runtime": "llamacpp"},
          "settings": {"temperature": 0, "seed": 1}}
TABLE = table_requests()
REQUESTS: list[dict[str, Any]] = TABLE + [
    {"op": "compare", "args": {"a": FIRST, "b": SECOND}},
    {"op": "compare_records", "args": {"a": {**RECORD, "cases": SECOND},
                                       "b": {**RECORD, "cases": FIRST}}},
    {"op": "stability", "args": {"results": SPEED}},
    {"op": "speed_profile", "args": {"results": SPEED}},
    {"op": "speed_profile", "args": {"results": SPEED[:2], "prompt_per_second": [812.5, None]}},
    {"op": "pass_rates", "args": {"results": SPEED}},
    {"op": "pool_check", "args": {"a": RECORD, "b": {**RECORD, "settings": {"seed": 2}}}},
]


@pytest.fixture(scope="module")
def replies(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    return call_ops(REQUESTS, tmp_path_factory.mktemp("pyodide-stats"))


def test_pyodide_and_cpython_agree_byte_for_byte(replies: list[str]) -> None:
    assert replies == [page_api.call(json.dumps(r)) for r in REQUESTS]


def test_the_reference_table_holds_in_pyodide(replies: list[str]) -> None:
    check_table_replies([json.loads(r) for r in replies[:len(TABLE)]])


def test_the_comparison_in_pyodide(replies: list[str]) -> None:
    compared, records = (json.loads(r)["value"] for r in replies[len(TABLE):len(TABLE) + 2])
    assert (compared["verdict"], compared["a_worse"], compared["cases"]) == \
        ("A better", False, 50)
    assert records["verdict"] == "B better" and records["a_worse"]
    assert records["same_suite"] and records["settings_differ"] == []
