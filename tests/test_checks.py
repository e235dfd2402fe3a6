"""The checks, as one table (tests/data/check_table.json) plus strip_reasoning/normalize."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evaluator.checks import CHECKS, NEGATED, Outcome, normalize, run_check, strip_reasoning

TABLE: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "data" / "check_table.json").read_text(encoding="utf-8"))


def test_registry_keys_are_the_documented_kinds() -> None:
    assert list(CHECKS) == ["contains", "regex", "exact", "json_schema", "tool_call",
                            "not_contains"]
    assert NEGATED == {"not_contains": "contains"}


def test_table_covers_every_kind() -> None:
    kinds = {row["expect"].get("kind") for row in TABLE}
    assert set(CHECKS) <= kinds
    assert len(TABLE) >= 40


@pytest.mark.parametrize("row", TABLE, ids=[row["id"] for row in TABLE])
def test_check_table(row: dict[str, Any]) -> None:
    outcome = run_check(row["expect"], row["answer"], row["tool_calls"])
    assert isinstance(outcome, Outcome)
    assert outcome.passed is row["passed"], outcome.reason
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
