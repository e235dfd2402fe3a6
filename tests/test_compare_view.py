"""evaluator.compare_view, chart_layout and eta: the page's comparison, chart and progress,
in CPython and (the same requests) in Pyodide."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path
from typing import Any

import pytest

from evaluator import page_api
from evaluator.chart_layout import scatter_layout
from evaluator.compare_view import comparison, labels, matrix, pareto_frontier
from evaluator.eta import duration_text, progress
from evaluator.stats_math import StatsError
from tests.pyodide_harness import call_ops


def result(case_id: str, status: str, attempt: int, output: str = "x", ms: float = 100.0,
           tags: tuple[str, ...] = ("t",), tok_s: float | None = 20.0) -> dict[str, Any]:
    return {"id": case_id, "status": status, "attempt": attempt, "output": output,
            "tool_calls": [], "total_ms": ms, "tags": list(tags), "tok_s": tok_s,
            "weight": 1, "score": 1.0 if status == "pass" else 0.0}


def record(model: str, cases: list[dict[str, Any]]) -> dict[str, Any]:
    return {"format": "localrate.run/1", "suite": {"id": "s", "sha256": "abc"},
            "model": {"id": model, "runtime": "ollama"}, "settings": {"temperature": 0},
            "cases": cases}


# A: c1 pass pass, c2 pass fail (flaky), c3 fail fail, c4 pass pass (attempts listed out
# of order), c5 skip. B: c1 pass pass, c2 pass pass, c3 pass pass, c5 skip; no c4.
A = record("model-a", [result("c1", "pass", 1, ms=90), result("c1", "pass", 2, ms=110),
                       result("c2", "pass", 1, "yes"), result("c2", "fail", 2, "no"),
                       result("c3", "fail", 1), result("c3", "fail", 2),
                       result("c4", "pass", 2, ms=300), result("c4", "pass", 1, ms=100,
                                                               tags=("t", "u")),
                       result("c5", "skip", 1)])
B = record("model-b", [result(c, "pass", n) for c in ("c1", "c2", "c3") for n in (1, 2)]
           + [result("c5", "skip", 1)])


def test_matrix_cells_and_filters() -> None:
    m = matrix([A, B])
    assert [r["id"] for r in m["rows"]] == ["c1", "c2", "c3", "c4", "c5"]
    c1, c2, c3, c4, c5 = m["rows"]
    assert c1["cells"][0] == {"status": "pass", "passed": 2, "attempts": 2, "distinct": 1,
                              "flaky": False, "ms": 100.0, "index": [0, 1]}
    assert c2["cells"][0]["status"] == "flaky" and c2["cells"][0]["distinct"] == 2
    assert c3["cells"][0]["status"] == "fail" and c3["cells"][1]["status"] == "pass"
    assert c4["cells"][0]["index"] == [7, 6]  # attempt 1 first
    assert c4["cells"][1] is None
    assert c5["cells"][0]["status"] == "skip"
    assert m["filters"] == {"all": [0, 1, 2, 3, 4], "failures": [1, 2], "different": [1, 2, 3],
                            "flaky": [1]}


def test_error_cells() -> None:
    m = matrix([record("e", [result("c", "error", 1), result("c", "error", 2)]),
                record("f", [result("c", "error", 1), result("c", "fail", 2)])])
    assert [c["status"] for c in m["rows"][0]["cells"]] == ["error", "fail"]


@pytest.mark.parametrize(("points", "front"), [
    ([[10, 0.5], [20, 0.4], [5, 0.9], [4, 0.8]], [2, 0, 1]),  # in order of x
    ([[10, 0.5], [10, 0.5]], [0, 1]),  # equal points are both on it
    ([[10, 0.5], [10, 0.6]], [1]),  # same x: the higher dominates
    ([[None, 0.9], [10, 0.5]], [1]),  # no speed: never on it
    ([], []),
])
def test_pareto_frontier(points: list[Any], front: list[int]) -> None:
    assert pareto_frontier(points) == front


def test_labels_are_short_and_unique() -> None:
    long = "x" * 40
    got = labels([record("m", []), record("m", []), record(long, []), {"cases": []}])
    assert got == ["m", "m (2)", "x" * 27 + "…", "?"]


def test_comparison_figures_and_paired_verdict() -> None:
    got = comparison([A, B])
    a, b = got["runs"]
    assert (a["label"], a["pass"]["passed"], a["pass"]["attempts"], a["pass"]["cases"]) == \
        ("model-a", 5, 8, 4)
    assert b["pass"]["rate"] == 1.0 and b["decode_tok_s"] == 20.0
    assert [t["tag"] for t in got["tags"]] == ["t", "u"]
    assert got["tags"][1]["runs"][1] is None
    paired = got["paired"]
    assert (paired["a_label"], paired["b_label"], paired["cases"]) == ("model-a", "model-b", 3)
    # B wins c2 and c3 (two discordant cases, none for A): the exact two-sided binomial
    # p of 0 successes in 2 at 1/2 is 2 * (1/2)**2 = 0.5
    assert paired["p_value"] == pytest.approx(0.5)
    assert paired["verdict"] == "within noise" and "McNemar" in paired["method"]
    assert comparison([B, A], a=1, b=0)["paired"]["difference"] == paired["difference"]
    assert comparison([A])["paired"] is None


def test_many_cases_make_a_verdict() -> None:
    strong = record("s", [result(f"c{i}", "pass", 1) for i in range(20)])
    weak = record("w", [result(f"c{i}", "pass" if i < 6 else "fail", 1) for i in range(20)])
    paired = comparison([weak, strong])["paired"]
    assert paired["verdict"] == "B better" and paired["a_worse"]
    assert paired["p_value"] == pytest.approx(2 * 0.5 ** 14)  # 0 of 14, two-sided


@pytest.mark.parametrize(("args", "message"), [
    ({"records": "x"}, "records: expected a list"),
    ({"records": [A, B], "a": 2}, "a: expected a run index from 0 to 1"),
    ({"records": [A, B], "b": 0}, "a and b: expected two different runs"),
    ({"records": [{"cases": 3}]}, r"records\[0\].cases"),
])
def test_bad_comparison_arguments(args: dict[str, Any], message: str) -> None:
    with pytest.raises(StatsError, match=message):
        comparison(**args)


def _boxes_overlap(a: list[float], b: list[float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.mark.parametrize("width", [390, 1000])
@pytest.mark.parametrize("seed", range(12))
def test_labels_never_overlap(width: int, seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(2, 9)
    # crowded: every point near the same place, like two runs of one model
    points = [{"x": 20 + rng.random() * 3, "y": 0.7 + rng.random() * 0.05, "low": 0.5,
               "high": 0.85} for _ in range(n)]
    sizes = [[rng.randint(40, 200), 15, 12] for _ in range(n)]
    got = scatter_layout(points, sizes, width, [0, 1])
    boxes = [p["label"]["box"] for p in got["points"]]
    for a, b in itertools.combinations(boxes, 2):
        assert not _boxes_overlap(a, b), (a, b)
    for p, (w, h, _) in zip(got["points"], sizes, strict=True):
        box = p["label"]["box"]
        assert box[2] - box[0] == pytest.approx(w) and box[3] - box[1] == pytest.approx(h)
        assert box[0] >= 0 and box[2] <= got["width"] and box[3] <= got["height"]
        for q in got["points"]:  # no label covers a point
            r = 5
            assert not _boxes_overlap(box, [q["cx"] - r, q["cy"] - r, q["cx"] + r, q["cy"] + r])
        if not p["label"]["in_key"]:
            assert box[3] <= got["plot"][3]  # clear of the x axis's text


def _crosses(box: list[float], a: list[float], b: list[float]) -> bool:
    """Whether the segment a-b passes through the box (sampled every 0.5 px)."""
    steps = 400
    return any(box[0] < a[0] + (b[0] - a[0]) * k / steps < box[2]
               and box[1] < a[1] + (b[1] - a[1]) * k / steps < box[3] for k in range(steps + 1))


@pytest.mark.parametrize("seed", range(8))
def test_labels_stay_off_the_frontier(seed: int) -> None:
    rng = random.Random(100 + seed)
    points = [{"x": rng.uniform(1, 60), "y": rng.uniform(0.1, 1.0), "low": None, "high": None}
              for _ in range(5)]
    front = pareto_frontier([[p["x"], p["y"]] for p in points])
    got = scatter_layout(points, [[rng.randint(60, 160), 15, 12] for _ in points], 390, front)
    line = got["frontier"]
    assert len(line) == len(front)
    for p in got["points"]:
        for a, b in itertools.pairwise(line):
            assert not _crosses(p["label"]["box"], a, b)


def test_two_runs_at_the_same_spot_get_two_places() -> None:
    points = [{"x": 30, "y": 0.8, "low": 0.6, "high": 0.9}] * 2
    got = scatter_layout(points, [[120, 15, 12]] * 2, 390)
    first, second = (p["label"] for p in got["points"])
    assert first["box"] != second["box"] and not _boxes_overlap(first["box"], second["box"])


def test_scale_frontier_and_missing_points() -> None:
    points = [{"x": 10, "y": 1.0, "low": 0.8, "high": 1.0}, {"x": None, "y": 0.5},
              {"x": 40, "y": None}]
    got = scatter_layout(points, [[50, 15, 12]] * 3, 600, [0])
    left, top, right, bottom = got["plot"]
    assert got["points"][2] is None
    assert got["points"][1]["cx"] == left and got["points"][1]["bar"] is None
    assert got["points"][0]["cy"] == top and got["points"][0]["bar"] == [
        pytest.approx(top + 0.2 * (bottom - top), abs=0.1), top]
    assert got["x_ticks"][-1]["text"] == "20" and got["x_ticks"][-1]["at"] == right
    assert [t["anchor"] for t in got["x_ticks"]] == ["middle"] * 4 + ["end"]
    assert got["frontier"] == [[got["points"][0]["cx"], top]]
    assert [t["text"] for t in got["y_ticks"]] == ["0%", "25%", "50%", "75%", "100%"]


def test_crowded_labels_go_to_the_key() -> None:
    points = [{"x": 5, "y": 0.5, "low": 0.0, "high": 1.0}] * 30
    got = scatter_layout(points, [[230, 15, 12]] * 30, 300)
    keyed = [p["label"] for p in got["points"] if p["label"]["in_key"]]
    assert keyed and got["height"] > got["key_top"]
    assert all(label["box"][1] >= got["key_top"] for label in keyed)


@pytest.mark.parametrize(("args", "message"), [
    (([{"x": 1, "y": 1}], [], 300), "sizes: expected 1"),
    (([{"x": "1", "y": 1}], [[1, 1, 1]], 300), r"points\[0\].x"),
    (([{"x": 1, "y": 1}], [[1, 1]], 300), r"sizes\[0\]"),
    (([], [], "wide"), "width"),
])
def test_bad_layout_arguments(args: tuple[Any, ...], message: str) -> None:
    with pytest.raises(StatsError, match=message):
        scatter_layout(*args)


@pytest.mark.parametrize(("done", "total", "elapsed", "left", "text"), [
    (0, 10, 0, None, "0 / 10 attempts · time left known after the first"),
    (2, 10, 4000, 16000.0, "2 / 10 attempts · about 16 s left"),
    (1, 1, 500, 0, "1 / 1 attempt"),
    (3, 123, 9000, 360000.0, "3 / 123 attempts · about 6 min left"),
])
def test_progress(done: int, total: int, elapsed: float, left: Any, text: str) -> None:
    got = progress(done, total, elapsed)
    assert (got["remaining_ms"], got["text"]) == (left, text)


@pytest.mark.parametrize(("ms", "text"), [(0, "0 s"), (59_001, "1 min"), (60_001, "2 min"),
                                          (3_600_000, "1 h 00 min"), (3_900_000, "1 h 05 min")])
def test_duration_text(ms: float, text: str) -> None:
    assert duration_text(ms) == text


@pytest.mark.parametrize(("args", "message"), [((5, 4, 0), "done: 5 is more"),
                                               ((-1, 4, 0), "done"), ((1, 4, -2), "elapsed_ms")])
def test_bad_progress(args: tuple[Any, ...], message: str) -> None:
    with pytest.raises(StatsError, match=message):
        progress(*args)


REQUESTS: list[dict[str, Any]] = [
    {"op": "comparison", "args": {"records": [A, B]}},
    {"op": "scatter_layout", "args": {"points": [{"x": 30, "y": 0.8, "low": 0.6, "high": 0.9}]
                                      * 2, "sizes": [[120, 15, 12]] * 2, "width": 390,
                                      "frontier": [0, 1]}},
    {"op": "progress", "args": {"done": 2, "total": 10, "elapsed_ms": 4000}},
    {"op": "progress", "args": {"done": 5, "total": 4, "elapsed_ms": 0}},
]


def test_page_api_ops() -> None:
    replies = [json.loads(page_api.call(json.dumps(r))) for r in REQUESTS]
    assert replies[0]["value"] == comparison([A, B])
    assert replies[2]["value"]["text"] == "2 / 10 attempts · about 16 s left"
    assert replies[3] == {"ok": False, "error": "StatsError: done: 5 is more than the total 4"}


def test_pyodide_and_cpython_agree(tmp_path: Path) -> None:
    replies = call_ops(REQUESTS, tmp_path)
    assert replies == [page_api.call(json.dumps(r)) for r in REQUESTS]
