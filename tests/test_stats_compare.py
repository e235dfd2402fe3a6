"""evaluator.stats_compare: the paired comparison of two runs, on published tables.

Runs are built cell by cell from a paired 2x2 table (a: both pass, b: only A, c: only B,
d: neither), so the comparison must give the table's published Newcombe interval and its
exact McNemar p-value (tests/data/stats_reference.json).
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from evaluator import page_api
from evaluator.stats import (
    StatsError,
    compare,
    compare_records,
    mcnemar_exact,
    newcombe_paired,
)
from tests.test_stats import REFERENCE, close, exact


def runs(a: int, b: int, c: int, d: int, repeats: int = 1
         ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Run A's and run B's results for a paired table; each case answered ``repeats``
    times alike (temperature 0)."""
    cells = [("pass", "pass")] * a + [("pass", "fail")] * b + [("fail", "pass")] * c + \
        [("fail", "fail")] * d
    first: list[dict[str, Any]] = []
    second: list[dict[str, Any]] = []
    for i, (left, right) in enumerate(cells):
        for n in range(repeats):
            first.append({"id": f"case-{i}", "status": left, "attempt": n})
            second.append({"id": f"case-{i}", "status": right, "attempt": n})
    return first, second


@pytest.mark.parametrize("row", REFERENCE["newcombe_paired"], ids=lambda r: r["source"])
def test_compare_gives_the_published_interval(row: dict[str, Any]) -> None:
    a, b, c, d = row["table"]
    got = compare(*runs(a, b, c, d))
    low, high = got["interval"]
    assert close(low, row["low"], row["digits"]) and close(high, row["high"], row["digits"])
    assert close(got["difference"], row["estimate"], 4)
    assert got["table"] == {"both": a, "a_only": b, "b_only": c, "neither": d}
    assert (got["cases"], got["a_wins"], got["b_wins"], got["ties"]) == (a + b + c + d, b, c,
                                                                         a + d)
    assert got["p_value"] == mcnemar_exact(b, c)


def test_the_verdict_follows_the_exact_test() -> None:
    cavo = compare(*runs(59, 6, 16, 80))
    assert cavo["p_value"] == float(exact("2*(1+22+231+1540+7315+26334+74613)/4194304"))
    # the interval excludes 0, yet p = 0.0525 >= 0.05: the verdict is the test's
    assert cavo["interval"][1] < 0 and cavo["verdict"] == "within noise"
    assert not cavo["a_worse"]
    better = compare(*runs(20, 12, 2, 16))
    assert (better["verdict"], better["a_worse"]) == ("A better", False)
    first, second = runs(20, 12, 2, 16)
    worse = compare(second, first)
    assert (worse["verdict"], worse["a_worse"], worse["p_value"]) == \
        ("B better", True, float(exact("2*(1+14+91)/16384")))
    assert worse["interval"] == [-better["interval"][1], -better["interval"][0]]
    strict = compare(*runs(20, 12, 2, 16), alpha=0.01)
    assert strict["verdict"] == "within noise"


def test_repeats_at_temperature_zero_do_not_make_noise_significant() -> None:
    once = compare(*runs(10, 5, 1, 6))
    five = compare(*runs(10, 5, 1, 6, repeats=5))
    assert once["p_value"] == five["p_value"] == 2 * 7 / 64
    assert (once["verdict"], five["verdict"]) == ("within noise", "within noise")
    assert once["interval"] == five["interval"] and once["difference"] == five["difference"]
    assert mcnemar_exact(25, 5) < 0.001  # what pairing attempt i with attempt i would claim


def test_repeats_that_differ_fill_a_case_weighted_table() -> None:
    first = [{"id": "x", "status": "pass"}, {"id": "x", "status": "pass"},
             {"id": "y", "status": "fail"}, {"id": "y", "status": "fail"},
             {"id": "z", "status": "pass"}, {"id": "z", "status": "fail"}]
    second = [{"id": "x", "status": "pass"}, {"id": "x", "status": "error"},
              {"id": "y", "status": "pass"}, {"id": "y", "status": "fail"},
              {"id": "z", "status": "fail"}, {"id": "z", "status": "pass"}]
    got = compare(first, second)
    assert got["table"] == {"both": 0.75, "a_only": 0.75, "b_only": 0.75, "neither": 0.75}
    assert (got["a_wins"], got["b_wins"], got["ties"], got["difference"]) == (1, 1, 1, 0.0)
    assert (got["a_rate"], got["b_rate"]) == (0.5, 0.5)
    low, high = newcombe_paired(0.75, 0.75, 0.75, 0.75)
    assert got["interval"] == [round(low, 4), round(high, 4)]
    assert got["differing"] == [{"id": "x", "a": [2, 2], "b": [1, 2], "better": "A"},
                                {"id": "y", "a": [0, 2], "b": [1, 2], "better": "B"}]


def test_unpaired_and_empty_comparisons() -> None:
    first = [{"id": "both", "status": "pass"}, {"id": "a-only", "status": "pass"},
             {"id": "skipped-in-b", "status": "fail"}]
    second = [{"id": "both", "status": "fail"}, {"id": "skipped-in-b", "status": "skip"},
              {"id": "b-only", "status": "error"}]
    got = compare(first, second)
    assert got["cases"] == 1 and got["unpaired"] == {"a_only": ["a-only", "skipped-in-b"],
                                                     "b_only": ["b-only"]}
    empty = compare([], [])
    assert (empty["cases"], empty["difference"], empty["interval"], empty["p_value"],
            empty["verdict"]) == (0, None, [-1.0, 1.0], 1.0, "within noise")
    with pytest.raises(StatsError, match="alpha: expected a number between 0 and 1"):
        compare([], [], alpha=1.5)


def test_compare_records_adds_suite_settings_and_pass_rates() -> None:
    first, second = runs(20, 12, 2, 16)
    a = {"suite": {"sha256": "x"}, "model": {"id": "m1", "runtime": "ollama"},
         "settings": {"temperature": 0}, "cases": first}
    b = {"suite": {"sha256": "x"}, "model": {"id": "m2", "runtime": "ollama"},
         "settings": {"temperature": 0.7}, "cases": second}
    got = compare_records(a, b)
    assert got["verdict"] == "A better" and got["same_suite"]
    assert got["settings_differ"] == [{"field": "settings.temperature", "a": 0, "b": 0.7}]
    assert got["a_pass_rates"]["overall"]["passed"] == 32
    assert not compare_records(a, {**b, "suite": {"sha256": "y"}})["same_suite"]
    with pytest.raises(StatsError, match="b.cases: expected a run record"):
        compare_records(a, {"cases": None})


def test_page_api_answers_as_the_direct_calls() -> None:
    first, second = runs(20, 12, 2, 16, repeats=2)
    calls: list[tuple[str, dict[str, Any], Any]] = [
        ("compare", {"a": first, "b": second}, compare(first, second)),
        ("compare", {"a": first, "b": second, "alpha": 0.001},
         compare(first, second, alpha=0.001)),
        ("compare_records", {"a": {"cases": first}, "b": {"cases": second}},
         compare_records({"cases": first}, {"cases": second})),
    ]
    for op, args, direct in calls:
        reply = json.loads(page_api.call(json.dumps({"op": op, "args": args})))
        assert reply == {"ok": True, "value": json.loads(json.dumps(direct))}
    missing = json.loads(page_api.call(json.dumps({"op": "compare", "args": {"a": []}})))
    assert missing == {"ok": False, "error": "op 'compare': missing argument 'b'"}


def test_a_huge_comparison_finishes() -> None:
    first, second = runs(40_000, 10_500, 9_500, 40_000, repeats=1)
    started = time.perf_counter()
    got = compare(first, second)
    assert time.perf_counter() - started < 5  # 100,000 cases: far more than any suite
    assert (got["cases"], got["a_wins"], got["b_wins"]) == (100_000, 10_500, 9_500)
    assert got["p_value"] == mcnemar_exact(10_500, 9_500)
