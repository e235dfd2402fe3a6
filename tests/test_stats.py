"""evaluator.stats against values computed without it.

Published worked examples and hand-exact p-values live in tests/data/stats_reference.json
(each row cites its source); the huge-n rows and an exhaustive grid of small tables are
checked against references computed here by other methods: the Wilson limits as roots of
the score equation found by bisection, the McNemar p-value as the sum of every outcome no
likelier than the one observed (Fractions), or as a log-space sum for n = 100,000. The
quartiles are checked against the standard library's ``statistics.quantiles``.
tests/test_pyodide_stats.py runs the same table inside Pyodide.
"""

from __future__ import annotations

import ast
import json
import math
import operator
import statistics
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from evaluator import page_api
from evaluator.stats import (
    StatsError,
    mcnemar_exact,
    nearest_rank,
    newcombe_paired,
    quantile,
    spread,
    wilson,
)

REFERENCE = json.loads((Path(__file__).parent / "data" / "stats_reference.json")
                       .read_text(encoding="utf-8"))
Z = statistics.NormalDist().inv_cdf(0.975)  # not the evaluator's constant
OPS = {ast.Add: operator.add, ast.Mult: operator.mul, ast.Div: operator.truediv}


def exact(text: str) -> Fraction:
    """A hand-written fraction of the table ("2*(1+8)/256"), evaluated in Fractions."""
    def value(node: ast.expr) -> Fraction:
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return Fraction(node.value)
        if isinstance(node, ast.BinOp) and type(node.op) in OPS:
            result: Fraction = OPS[type(node.op)](value(node.left), value(node.right))
            return result
        raise ValueError(f"not a fraction: {text!r}")
    return min(Fraction(1), value(ast.parse(text, mode="eval").body))


def close(got: float, published: float, digits: int) -> bool:
    """``got`` rounds to the published figure: within half a unit of its last digit."""
    return bool(abs(got - published) <= 0.5 * 10 ** -digits + 1e-12)


def score_root(k: float, n: int, low: bool) -> float:
    """A Wilson limit as a root of (k/n - p)^2 = z^2 p (1 - p) / n, by bisection."""
    p_hat = k / n
    lo, hi = (0.0, p_hat) if low else (p_hat, 1.0)
    for _ in range(200):
        mid = (lo + hi) / 2
        outside = (p_hat - mid) ** 2 > Z ** 2 * mid * (1 - mid) / n
        if outside == low:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def p_by_ordering(b: int, c: int) -> Fraction:
    """Two-sided exact binomial p (probability 1/2): every outcome no likelier than b."""
    n = b + c
    seen = math.comb(n, b)
    return Fraction(sum(math.comb(n, i) for i in range(n + 1) if math.comb(n, i) <= seen),
                    2 ** n)


def p_by_logs(b: int, c: int) -> float:
    n, m = b + c, min(b, c)
    if b == c:
        return 1.0
    logs = [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) - n * math.log(2)
            for i in range(m + 1)]
    top = max(logs)
    return min(1.0, 2 * math.exp(top) * math.fsum(math.exp(v - top) for v in logs))


# --- Wilson ------------------------------------------------------------------------------

@pytest.mark.parametrize("row", REFERENCE["wilson"], ids=lambda r: f"{r['k']}/{r['n']}")
def test_wilson_matches_published_examples(row: dict[str, Any]) -> None:
    low, high = wilson(row["k"], row["n"])
    assert close(low, row["low"], row["digits"]) and close(high, row["high"], row["digits"])


GRID = [(k, n) for n in (1, 2, 5, 16, 97) for k in range(n + 1)] + \
    [tuple(r) for r in REFERENCE["huge"]["wilson"]] + [(2.5, 3), (14.4, 22)]


@pytest.mark.parametrize(("k", "n"), GRID)
def test_wilson_limits_solve_the_score_equation(k: float, n: int) -> None:
    low, high = wilson(k, n)
    assert 0.0 <= low <= k / n <= high <= 1.0
    assert low == pytest.approx(score_root(k, n, True), rel=1e-9, abs=1e-15)
    assert high == pytest.approx(score_root(k, n, False), rel=1e-9, abs=1e-15)


def test_wilson_edges() -> None:
    assert wilson(0, 0) == (0.0, 1.0)  # nothing observed: every rate is possible
    assert wilson(0, 7)[0] == 0.0 and wilson(7, 7)[1] == 1.0  # exactly, not 1e-17
    assert wilson(0, 10 ** 15)[0] == 0.0 and wilson(10 ** 15, 10 ** 15)[1] == 1.0
    assert wilson(3, 10, z=1.0)[1] - wilson(3, 10, z=1.0)[0] < \
        wilson(3, 10)[1] - wilson(3, 10)[0]


@pytest.mark.parametrize(("args", "message"), [
    ((5, 4), "k: expected 0 <= k <= n (4), got 5"), ((-1, 4), "k: expected 0 <= k <= n"),
    ((1, -4), "n: expected a whole number >= 0"), ((1, 4.0), "n: expected a whole number"),
    ((True, 4), "k: expected a finite number"), ((float("nan"), 4), "k: expected a finite"),
    ((1, 4, 0), "z: expected a number > 0"),
])
def test_wilson_refuses_bad_arguments(args: tuple[Any, ...], message: str) -> None:
    with pytest.raises(StatsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        wilson(*args)


# --- McNemar -----------------------------------------------------------------------------

@pytest.mark.parametrize("row", REFERENCE["mcnemar_exact"],
                         ids=lambda r: f"{r['b']}-{r['c']}-{r['source']}")
def test_mcnemar_matches_the_table(row: dict[str, Any]) -> None:
    got = mcnemar_exact(row["b"], row["c"])
    if "exact" in row:
        assert got == float(exact(row["exact"]))  # exact, then rounded once
    else:
        assert close(got, row["p"], row["digits"])


def test_mcnemar_equals_the_likelihood_ordering_sum_on_every_small_table() -> None:
    for b in range(31):
        for c in range(31):
            assert mcnemar_exact(b, c) == float(p_by_ordering(b, c)), (b, c)
    assert mcnemar_exact(1480, 1520) == float(p_by_ordering(1480, 1520))


@pytest.mark.parametrize(("b", "c"), [tuple(r) for r in REFERENCE["huge"]["mcnemar_exact"]])
def test_mcnemar_huge_tables(b: int, c: int) -> None:
    started = time.perf_counter()
    got = mcnemar_exact(b, c)
    assert time.perf_counter() - started < 5  # quick at 100,000 pairs and at 2,000,000
    assert got == pytest.approx(p_by_logs(b, c), rel=1e-7, abs=1e-300)
    assert mcnemar_exact(c, b) == got


def test_mcnemar_refuses_bad_counts() -> None:
    for b, c in ((-1, 2), (1.5, 2), (True, 2), (1, "2")):
        with pytest.raises(StatsError, match="expected a whole number >= 0"):
            mcnemar_exact(b, c)  # type: ignore[arg-type]


# --- Newcombe ----------------------------------------------------------------------------

@pytest.mark.parametrize("row", REFERENCE["newcombe_paired"], ids=lambda r: r["source"])
def test_newcombe_matches_published_examples(row: dict[str, Any]) -> None:
    a, b, c, d = row["table"]
    low, high = newcombe_paired(a, b, c, d)
    assert close((b - c) / (a + b + c + d), row["estimate"], 4)
    assert close(low, row["low"], row["digits"]) and close(high, row["high"], row["digits"])


@pytest.mark.parametrize("table", [(0, 3, 0, 0), (0, 0, 3, 0), (5, 0, 0, 0), (0, 0, 0, 5),
                                   (0, 9, 1, 0), (100000, 4900, 5100, 100000), (2, 2, 2, 2)])
def test_newcombe_edges_stay_inside_and_mirror(table: tuple[int, int, int, int]) -> None:
    a, b, c, d = table
    low, high = newcombe_paired(a, b, c, d)
    theta = (b - c) / (a + b + c + d)
    assert -1.0 <= low <= theta <= high <= 1.0
    mirrored = newcombe_paired(a, c, b, d)
    assert mirrored == pytest.approx((-high, -low), abs=1e-12)


def test_newcombe_empty_table_and_bad_cells() -> None:
    assert newcombe_paired(0, 0, 0, 0) == (-1.0, 1.0)
    with pytest.raises(StatsError, match="c: expected a number >= 0"):
        newcombe_paired(1, 1, -1, 1)


# --- spreads -----------------------------------------------------------------------------

@pytest.mark.parametrize("values", [[4.0], [3.0, 1.0], [5, 1, 4, 2, 3], [1.5, 9.25, 3.0,
                                    3.0, 120.0, 7.5, 2.25, 40.0], list(range(100, 0, -3))])
def test_quartiles_agree_with_the_standard_library(values: list[float]) -> None:
    ordered = sorted(values)
    if len(values) >= 2:
        q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
        assert (quantile(ordered, 0.25), quantile(ordered, 0.5), quantile(ordered, 0.75)) == \
            pytest.approx((q1, q2, q3))
    assert quantile(ordered, 0.5) == pytest.approx(statistics.median(values))
    got = spread(values)
    assert (got["n"], got["min"], got["max"]) == (len(values), min(values), max(values))
    assert got["iqr"] == pytest.approx(got["q3"] - got["q1"], abs=0.11)  # type: ignore[operator]


def test_nearest_rank_and_empty_spread() -> None:
    assert nearest_rank(list(range(1, 21)), 0.95) == 19
    assert nearest_rank([7.0], 0.95) == 7.0
    assert spread([])["median"] is None and spread([])["n"] == 0
    with pytest.raises(StatsError):
        quantile([], 0.5)


# --- through the page's entry point -------------------------------------------------------

def table_requests() -> list[dict[str, Any]]:
    """Every row of the reference table as a page_api request (shared with Pyodide)."""
    requests: list[dict[str, Any]] = []
    for row in REFERENCE["wilson"]:
        requests.append({"op": "wilson", "args": {"k": row["k"], "n": row["n"]}})
    for k, n in REFERENCE["huge"]["wilson"]:
        requests.append({"op": "wilson", "args": {"k": k, "n": n}})
    for row in REFERENCE["newcombe_paired"]:
        requests.append({"op": "newcombe_paired",
                         "args": dict(zip("abcd", row["table"], strict=True))})
    for row in REFERENCE["mcnemar_exact"]:
        requests.append({"op": "mcnemar_exact", "args": {"b": row["b"], "c": row["c"]}})
    for b, c in REFERENCE["huge"]["mcnemar_exact"]:
        requests.append({"op": "mcnemar_exact", "args": {"b": b, "c": c}})
    requests.append({"op": "wilson", "args": {"k": 5, "n": 4}})
    return requests


def check_table_replies(replies: list[dict[str, Any]]) -> None:
    """The replies to :func:`table_requests` hold the reference values."""
    values = iter(replies)
    for row in REFERENCE["wilson"]:
        low, high = next(values)["value"]
        assert close(low, row["low"], row["digits"]) and close(high, row["high"], row["digits"])
    for k, n in REFERENCE["huge"]["wilson"]:
        low, high = next(values)["value"]
        assert low == pytest.approx(score_root(k, n, True), rel=1e-9, abs=1e-15)
        assert high == pytest.approx(score_root(k, n, False), rel=1e-9, abs=1e-15)
    for row in REFERENCE["newcombe_paired"]:
        low, high = next(values)["value"]
        assert close(low, row["low"], row["digits"]) and close(high, row["high"], row["digits"])
    for row in REFERENCE["mcnemar_exact"]:
        got = next(values)["value"]
        assert got == float(exact(row["exact"])) if "exact" in row \
            else close(got, row["p"], row["digits"])
    for b, c in REFERENCE["huge"]["mcnemar_exact"]:
        assert next(values)["value"] == pytest.approx(p_by_logs(b, c), rel=1e-7, abs=1e-300)
    assert next(values) == {"ok": False,
                            "error": "StatsError: k: expected 0 <= k <= n (4), got 5"}


def test_the_table_through_page_api() -> None:
    replies = [json.loads(page_api.call(json.dumps(r))) for r in table_requests()]
    check_table_replies(replies)
