"""How long a suite takes (evaluator/suite_cost.py), counted by hand on small suites."""

from __future__ import annotations

from typing import Any

from evaluator.suite import load_suite
from evaluator.suite_cost import duration_note, suite_cost

SUITE: dict[str, Any] = {"name": "s", "version": "1", "cases": [
    # 2 words -> 2 tokens; one request; answer "yes" -> 1 token
    {"id": "one", "input": "alpha beta", "max_tokens": 10, "expect": {"kind": "exact", "value": "yes"}},
    # 3 + 1 + 1 = 5 tokens ("gamma delta epsilon", "more", "again") read by each of 3 requests
    {"id": "turns", "input": "gamma delta epsilon", "followUps": ["more", "again"],
     "expect": {"kind": "contains", "value": "x"}},
]}
ANSWERS = {"one": {"pass": ["yes"], "fail": ["no", "maybe"]},
           "turns": {"pass": [["a", "b", "x x"]], "fail": [["a", "b", "c"], "y"]}}


def test_cost_counts_requests_prompts_answers_and_caps() -> None:
    suite = load_suite(SUITE, "s.yaml", {})
    assert suite_cost(suite, ANSWERS) == {
        "cases": 2, "requests": 4, "prompt_tokens": 2 + 3 * 5,
        "answer_tokens": 1 + (1 + 1 + 2), "max_tokens": 10 + 3 * 1024}
    assert suite_cost(suite)["answer_tokens"] is None
    assert suite_cost(suite, {"one": ANSWERS["one"]})["answer_tokens"] is None  # one missing


def test_duration_note() -> None:
    cost = {"requests": 100, "prompt_tokens": 60_000, "answer_tokens": 2_400,
            "max_tokens": 120_000}
    # fixed = 100 * 0.2 + 60000 / 200 = 320 s; typical + 2400 / 20 = 440 s; cap + 6000 s
    assert duration_note(cost) == "about 7 min, at most 1.8 h (20 tok/s out, 200 tok/s in)"
    assert duration_note({**cost, "answer_tokens": None}, decode=100) == \
        "at most 25 min (100 tok/s out, 200 tok/s in)"
    assert duration_note({"requests": 1, "prompt_tokens": 0, "answer_tokens": 1,
                          "max_tokens": 10}) == \
        "about <1 min, at most <1 min (20 tok/s out, 200 tok/s in)"
