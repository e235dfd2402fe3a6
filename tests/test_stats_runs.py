"""evaluator.stats_runs: pass rates with intervals, stability, the speed profile, pooling."""

from __future__ import annotations

import statistics
import time
from typing import Any

import pytest

from evaluator.stats import (
    StatsError,
    attempts,
    by_case,
    pass_rates,
    pool_check,
    speed_profile,
    stability,
    wilson,
)
from evaluator.summary import summarize


def attempt(case_id: str, status: str, n: int | None = None, **fields: Any) -> dict[str, Any]:
    result: dict[str, Any] = {"id": case_id, "status": status, "weight": 1,
                              "score": 1.0 if status == "pass" else 0.0, "tags": ["t"],
                              "output": "BENCH", "tool_calls": []}
    if n is not None:
        result["attempt"] = n
    result.update(fields)
    return result


# --- grouping ----------------------------------------------------------------------------

def test_attempts_are_grouped_by_case_in_attempt_order() -> None:
    results = [attempt("b", "pass", 1), attempt("a", "fail"), attempt("b", "fail", 0),
               {"id": "c", "tags": ["x"], "attempts": [{"status": "pass"}, {"status": "fail"}]}]
    groups = by_case(results)
    assert list(groups) == ["b", "a", "c"]
    assert [r["status"] for r in groups["b"]] == ["fail", "pass"]  # by "attempt"
    assert [r["id"] for r in attempts(results)] == ["b", "a", "b", "c", "c"]
    assert groups["c"][1] == {"id": "c", "tags": ["x"], "status": "fail"}


@pytest.mark.parametrize(("results", "message"), [
    ({"id": "a"}, "results: expected a list"), ([3], r"results\[0\]: expected an object"),
    ([{"status": "pass"}], r"results\[0\].id: expected a string"),
    ([{"id": "a", "attempts": [1]}], r"results\[0\].attempts\[0\]: expected an object"),
])
def test_bad_results_are_named(results: Any, message: str) -> None:
    with pytest.raises(StatsError, match=message):
        stability(results)


# --- pass rates --------------------------------------------------------------------------

def test_one_attempt_per_case_gives_the_plain_wilson_interval() -> None:
    results = [attempt(f"c{i}", "pass" if i < 18 else "fail") for i in range(22)]
    results.append(attempt("skipped", "skip"))
    results.append(attempt("broken", "error"))
    overall = pass_rates(results)["overall"]
    low, high = wilson(18, 23)
    assert overall == {"passed": 18, "attempts": 23, "cases": 23, "rate": round(18 / 23, 4),
                       "low": round(low, 4), "high": round(high, 4)}


def test_repeats_count_attempts_but_do_not_narrow_the_interval() -> None:
    once = [attempt(f"c{i}", "pass" if i < 6 else "fail") for i in range(10)]
    five = [attempt(r["id"], r["status"], n) for r in once for n in range(5)]
    single, repeated = pass_rates(once)["overall"], pass_rates(five)["overall"]
    assert (repeated["passed"], repeated["attempts"], repeated["cases"]) == (30, 50, 10)
    assert (repeated["rate"], repeated["low"], repeated["high"]) == \
        (single["rate"], single["low"], single["high"])
    flaky = [attempt("a", "pass", 0), attempt("a", "fail", 1), attempt("b", "pass", 0),
             attempt("b", "pass", 1)]
    rate = pass_rates(flaky)["overall"]
    low, high = wilson(0.75 * 2, 2)  # k = rate * cases, n = cases
    assert (rate["rate"], rate["low"], rate["high"]) == (0.75, round(low, 4), round(high, 4))


def test_pass_rates_per_tag_and_with_nothing_scored() -> None:
    results = [attempt("a", "pass", tags=["json", "tools"]), attempt("b", "fail", tags=["json"]),
               attempt("c", "skip", tags=["vision"])]
    got = pass_rates(results)
    assert list(got["tags"]) == ["json", "tools", "vision"]
    assert (got["tags"]["json"]["passed"], got["tags"]["json"]["attempts"]) == (1, 2)
    assert got["tags"]["vision"] == {"passed": 0, "attempts": 0, "cases": 0, "rate": None,
                                     "low": 0.0, "high": 1.0}
    assert pass_rates([])["overall"]["rate"] is None


# --- stability ---------------------------------------------------------------------------

def test_stability_counts_k_of_n_distinct_answers_and_flags_disagreement() -> None:
    results = [
        attempt("same", "pass", output="The answer:  BENCH\n"),
        attempt("same", "pass", output=" The answer: BENCH"),
        attempt("same", "pass", output="the answer: BENCH"),  # case differs: another answer
        attempt("flaky", "pass"), attempt("flaky", "fail", output="no"),
        attempt("flaky", "error", output=""), attempt("flaky", "skip"),
        attempt("tool", "pass", output="", tool_calls=[
            {"name": "f", "arguments": '{"b": 1, "a": 2}', "parsed": {"b": 1, "a": 2}}]),
        attempt("tool", "pass", output="", tool_calls=[
            {"name": "f", "arguments": '{"a":2,"b":1}', "parsed": {"a": 2, "b": 1}}]),
        attempt("tool", "fail", output="", tool_calls=[
            {"name": "f", "arguments": '{"a": 2', "parsed": None}]),
    ]
    same, flaky, tool = stability(results)
    assert same == {"id": "same", "attempts": 3, "passed": 3, "errors": 0, "skipped": 0,
                    "distinct_answers": 2, "answer_of": [0, 0, 1], "flaky": False}
    assert (flaky["attempts"], flaky["passed"], flaky["errors"], flaky["skipped"]) == \
        (3, 1, 1, 1)
    assert (flaky["distinct_answers"], flaky["answer_of"], flaky["flaky"]) == \
        (2, [0, 1, None, None], True)
    assert (tool["distinct_answers"], tool["answer_of"], tool["flaky"]) == (2, [0, 0, 1], True)


def test_an_error_among_passes_is_flaky_and_one_attempt_never_is() -> None:
    rows = stability([attempt("a", "pass"), attempt("a", "error"), attempt("b", "fail")])
    assert [r["flaky"] for r in rows] == [True, False]
    assert rows[1]["distinct_answers"] == 1


# --- speed -------------------------------------------------------------------------------

def timed(case_id: str, ttft: float, tok_s: float, total: float, **fields: Any) -> dict[str, Any]:
    return attempt(case_id, "pass", ttft_ms=ttft, tok_s=tok_s, total_ms=total, **fields)


def test_speed_profile_medians_spreads_and_p95() -> None:
    results = [timed(f"c{i}", 100.0 + 10 * i, 20.0 + i, 1000.0 + 250 * i) for i in range(21)]
    results.append(attempt("skipped", "skip", ttft_ms=1.0, tok_s=1.0, total_ms=1.0))
    results.append(attempt("slow", "error", total_ms=120000.0))
    got = speed_profile(results)
    totals = [r["total_ms"] for r in results if r["status"] != "skip"]
    q1, median, q3 = statistics.quantiles(totals, n=4, method="inclusive")
    assert got["latency_ms"]["p95"] == summarize(results, 0.6)["p95_ms"]
    assert (got["latency_ms"]["median"], got["latency_ms"]["q1"], got["latency_ms"]["q3"]) == \
        (round(median, 1), round(q1, 1), round(q3, 1))
    assert (got["latency_ms"]["n"], got["latency_ms"]["max"]) == (22, 120000.0)
    assert (got["ttft_ms"]["n"], got["ttft_ms"]["median"], got["ttft_ms"]["min"]) == \
        (21, 200.0, 100.0)
    assert (got["decode_tok_s"]["median"], got["decode_tok_s"]["iqr"]) == (30.0, 10.0)
    assert got["prefill_tok_s"]["n"] == 0 and got["prefill_tok_s"]["source"] is None


def test_prefill_speed_and_its_source() -> None:
    results = [
        timed("usage", 500.0, 20.0, 900.0, tok_in=1000, tokens_source="usage"),
        timed("guess", 500.0, 20.0, 900.0, tok_in=1000, tokens_source="estimate"),
        timed("llama", 250.0, 20.0, 900.0, tok_in=1000, tokens_source="timings",
              prompt_per_second=3500.0),
        timed("talk", 200.0, 20.0, 900.0, tok_in=9999, tokens_source="usage",
              turns=[{"tok_in": 300, "ttft_ms": 200.0, "tokens_source": "usage"}]),
    ]
    got = speed_profile(results)["prefill_tok_s"]
    assert got["sources"] == {"prompt/ttft": 2, "timings": 1} and got["source"] == "mixed"
    assert (got["n"], got["min"], got["max"], got["median"]) == (3, 1500.0, 3500.0, 2000.0)
    given = speed_profile(results[:2], prompt_per_second=[None, 800.0])["prefill_tok_s"]
    assert (given["sources"], given["source"], given["max"]) == \
        ({"prompt/ttft": 1, "timings": 1}, "mixed", 2000.0)
    only = speed_profile(results[2:3])["prefill_tok_s"]
    assert (only["source"], only["median"]) == ("timings", 3500.0)
    with pytest.raises(StatsError, match="prompt_per_second: expected 4 values"):
        speed_profile(results, prompt_per_second=[1.0])


# --- pooling -----------------------------------------------------------------------------

def record(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"suite": {"id": "s", "sha256": "abc"},
                            "model": {"id": "m", "runtime": "ollama"},
                            "settings": {"temperature": 0, "max_tokens": 1024, "seed": 7}}
    for key, value in changes.items():
        base[key] = {**base[key], **value} if isinstance(value, dict) else value
    return base


def test_identical_runs_pool_and_zero_equals_zero_point_zero() -> None:
    assert pool_check(record(), record()) == {"poolable": True, "differences": []}
    assert pool_check(record(), record(settings={"temperature": 0.0}))["poolable"]


def test_what_differs_is_named() -> None:
    other = record(suite={"sha256": "def"}, model={"id": "n"},
                   settings={"seed": 8, "top_p": 0.9})
    assert pool_check(record(), other) == {"poolable": False, "differences": [
        {"field": "suite.sha256", "a": "abc", "b": "def"},
        {"field": "model.id", "a": "m", "b": "n"},
        {"field": "settings.seed", "a": 7, "b": 8},
        {"field": "settings.top_p", "a": None, "b": 0.9}]}
    unknown = pool_check({"settings": {}}, {"settings": {}})
    assert unknown["differences"] == [{"field": "suite.sha256", "a": None, "b": None}]
    assert not pool_check(record(), record(settings={"temperature": False}))["poolable"]


def test_many_distinct_answers_are_counted_quickly() -> None:
    results = [attempt("one", "fail", output=f"answer {i}") for i in range(100_000)]
    started = time.perf_counter()
    (row,) = stability(results)
    assert time.perf_counter() - started < 5  # a list lookup per answer took minutes
    assert (row["distinct_answers"], row["answer_of"][-1]) == (100_000, 99_999)
