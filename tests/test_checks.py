"""The checks, as one table (tests/data/check_table.json) plus strip_reasoning/normalize,
the seed's aliases, lists of checks and describe_expect."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evaluator.checks import (
    CHECKS,
    NEGATED,
    Outcome,
    canonical_expect,
    describe_expect,
    normalize,
    run_check,
    strip_reasoning,
)
from evaluator.expectations import KINDS

TABLE: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "data" / "check_table.json").read_text(encoding="utf-8"))


def test_registry_keys_are_the_documented_kinds() -> None:
    assert list(CHECKS) == ["contains", "regex", "exact", "json_schema", "tool_call",
                            "no_tool_call", "not_contains"]
    assert list(KINDS) == list(CHECKS)
    assert NEGATED == {"not_contains": "contains"}


def test_table_covers_every_kind() -> None:
    kinds = {item.get("kind") for row in TABLE
             for item in (row["expect"] if isinstance(row["expect"], list) else [row["expect"]])
             if isinstance(item, dict) and isinstance(item.get("kind"), str)}
    assert set(CHECKS) <= kinds
    assert any(isinstance(row["expect"], list) for row in TABLE)
    assert len(TABLE) >= 40


@pytest.mark.parametrize("row", TABLE, ids=[row["id"] for row in TABLE])
def test_check_table(row: dict[str, Any]) -> None:
    outcome = run_check(row["expect"], row["answer"], row["tool_calls"])
    assert isinstance(outcome, Outcome)
    assert outcome.passed is row["passed"], outcome.reason
    assert_outcome_like(outcome, row)


def assert_outcome_like(outcome: Any, row: dict[str, Any]) -> None:
    """What every table row asks of an outcome: its score, a one-line reason (containing
    `reason_contains`), its match spans (`match`), every span inside the answer."""
    assert outcome.score == (1.0 if row["passed"] else 0.0)
    assert "\n" not in outcome.reason
    if "reason_contains" in row:
        assert row["reason_contains"] in outcome.reason
    if "match" in row:
        assert [list(span) for span in outcome.match] == row["match"]
    for start, end in outcome.match:
        assert 0 <= start <= end <= len(row["answer"])


@pytest.mark.parametrize("answer, value", [
    ("  BENCH  ", "BENCH"),
    ("```\nBENCH\n```", "BENCH"),
    ("\n```txt\nsay BENCH now\n```\n", "BENCH"),
])
def test_match_spans_point_into_the_stored_output(answer: str, value: str) -> None:
    for kind, expect in (("regex", {"pattern": value}), ("contains", {"value": value})):
        outcome = run_check({"kind": kind, **expect}, answer, [])
        (start, end), = outcome.match
        assert answer[start:end] == value


@pytest.mark.parametrize("text, answer, reasoning", [
    ("Paris", "Paris", ""),
    ("<think>capital?</think>\n\nParis", "Paris", "capital?"),
    ("<think>a</think>Par<think>b</think>is", "Paris", "a\n\nb"),
    ("<think>still thinking, cut off", "", "still thinking, cut off"),
    ("prompt-opened thought</think> Paris", "Paris", "prompt-opened thought"),
    ("<think></think>Paris", "Paris", ""),
    ("Paris <think>late", "Paris", "late"),
    ("naïve ☕ <think>ü</think>", "naïve ☕", "ü"),
])
def test_strip_reasoning(text: str, answer: str, reasoning: str) -> None:
    assert strip_reasoning(text) == (answer, reasoning)


@pytest.mark.parametrize("answer, text", [
    ("  x  ", "x"),
    ("```json\n{}\n```", "{}"),
    ("```\nline1\nline2\n```", "line1\nline2"),
    ("```\na\n```\n```\nb\n```", "```\na\n```\n```\nb\n```"),
    ("say ```x```", "say ```x```"),
])
def test_normalize(answer: str, text: str) -> None:
    body, offset = normalize(answer)
    assert body == text
    assert answer[offset:offset + len(body)] == body


def test_not_contains_is_exactly_the_inverse_of_contains() -> None:
    for answer in ("abc", "xyz", "", "ABC"):
        for value in ("b", "B"):
            pos = run_check({"kind": "contains", "value": value}, answer, [])
            neg = run_check({"kind": "not_contains", "value": value}, answer, [])
            assert pos.passed is not neg.passed
            assert pos.score + neg.score == 1.0


@pytest.mark.parametrize("answer, tool_calls", [(None, []), ("x", None), ("x", "nope")])
def test_run_check_never_raises_on_bad_inputs(answer: Any, tool_calls: Any) -> None:
    outcome = run_check({"kind": "tool_call", "name": "f"}, answer, tool_calls)
    assert outcome.passed is False
    assert outcome.reason == "no tool call, expected f"


@pytest.mark.parametrize("written, canonical", [
    ({"kind": "regex", "value": "^a$"}, {"kind": "regex", "pattern": "^a$"}),
    ({"kind": "regex", "value": "a", "flags": "i"}, {"kind": "regex", "flags": "i",
                                                    "pattern": "a"}),
    ({"kind": "regex", "pattern": "a", "value": "a"}, {"kind": "regex", "pattern": "a"}),
    ({"kind": "tool_call", "name": "f", "argsSchema": {"type": "object"}},
     {"kind": "tool_call", "name": "f", "arguments": {"type": "object"}}),
    ({"kind": "contains", "value": "a"}, {"kind": "contains", "value": "a"}),
    ({"kind": "exact", "value": "a", "extra": 1}, {"kind": "exact", "value": "a", "extra": 1}),
])
def test_aliases_fold_into_the_canonical_keys(written: dict[str, Any],
                                              canonical: dict[str, Any]) -> None:
    assert canonical_expect(written) == canonical
    assert describe_expect(written) == describe_expect(canonical)


@pytest.mark.parametrize("expect, text", [
    ({"kind": "contains", "value": "X", "case_sensitive": False}, 'contains "X" (any case)'),
    ({"kind": "not_contains", "value": "X"}, 'does not contain "X"'),
    ({"kind": "regex", "pattern": "^a$", "flags": "i"}, "matches /^a$/i"),
    ({"kind": "regex", "value": "^a$"}, "matches /^a$/"),
    ({"kind": "exact", "value": "X"}, 'is exactly "X"'),
    ({"kind": "tool_call", "name": "f"}, "calls f"),
    ({"kind": "tool_call", "name": "f", "argsSchema": {"type": "object"}},
     'calls f with arguments matching\n{\n  "type": "object"\n}'),
    ({"kind": "json_schema", "schema": {"type": "object"}},
     'JSON matching the schema\n{\n  "type": "object"\n}'),
    ({"kind": "no_tool_call"}, "calls no tool"),
    ([{"kind": "exact", "value": "42"}, {"kind": "no_tool_call"}],
     'is exactly "42" and calls no tool'),
    ([{"kind": "json_schema", "schema": {}}, {"kind": "no_tool_call"}],
     "JSON matching the schema and calls no tool\n{}"),
    ({"kind": "similar"}, '{\n  "kind": "similar"\n}'),
    ([], "[]"),
])
def test_describe_expect(expect: Any, text: str) -> None:
    assert describe_expect(expect) == text


def test_describe_expect_names_the_judging_rules_after_the_first_line() -> None:
    accept = [{"kind": "contains", "value": "forty-two", "remark": "spelled out"}]
    text = describe_expect({"kind": "exact", "value": "42"}, accept, True)
    first, *rest = text.splitlines()
    assert first == 'is exactly "42"'
    assert rest == ['also accepted, with the remark "spelled out": contains "forty-two"',
                    ("exact checks forgive cosmetic formatting (\\boxed{}, $…$, emphasis, "
                    "code spans, brackets, quotes, Unicode forms, letter case), with a remark")]


def _call(name: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"id": "c", "name": name, "arguments": json.dumps(args or {}), "parsed": args or {}}


@pytest.mark.parametrize(("calls", "passed", "reason"), [
    ([_call("search")], True, "called search with valid arguments"),
    ([_call("search"), _call("search")], True, "called search with valid arguments"),
    ([_call("search"), _call("weather")], False, "called search, weather, expected only search"),
    ([_call("weather")], False, "called weather, expected search"),
])
def test_tool_call_only_fails_a_model_that_also_calls_other_tools(
        calls: list[dict[str, Any]], passed: bool, reason: str) -> None:
    outcome = run_check({"kind": "tool_call", "name": "search", "only": True}, "", calls)
    assert (outcome.passed, outcome.reason) == (passed, reason)
    # without `only`, one right call among others passes
    assert run_check({"kind": "tool_call", "name": "search"}, "", calls).passed is (
        any(c["name"] == "search" for c in calls))


def test_bad_only_and_huge_values_are_one_bounded_line() -> None:
    from evaluator.expectations import expect_problem

    assert expect_problem({"kind": "tool_call", "name": "f", "only": "yes"}) == \
        "expect.only: expected true or false, got 'yes'"
    for bad in ({"kind": "exact", "value": ["x"] * 50_000},
                {"kind": "k" * 100_000}, ["x" * 100_000], {"kind": "regex", "pattern": "a",
                                                           "flags": "q" * 100_000}):
        problem = expect_problem(bad if isinstance(bad, dict) else bad[0])
        assert problem is not None and len(problem) < 200 and "\n" not in problem, problem[:300]
