"""evaluator.safejson: JSON from outside with a nesting bound."""

from __future__ import annotations

import json
import time

import pytest

from evaluator.safejson import MAX_DEPTH, DeepJSONError, depth, loads


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", 0),
        ('"[[[["', 0),
        ("[]", 1),
        ('{"a": [1, {"b": []}]}', 4),
        ('["]", "[", {"x": "\\"["}]', 2),
        ("[" * 5 + "]" * 5, 5),
    ],
)
def test_depth_table(text: str, expected: int) -> None:
    assert depth(text) == expected


def test_loads_agrees_with_json_within_the_bound() -> None:
    text = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert loads(text) == json.loads(text)
    assert loads(b'{"a": 1}') == {"a": 1}


@pytest.mark.parametrize("n", [MAX_DEPTH + 1, 50_000, 1_000_000])
def test_deep_json_is_a_clear_error_fast(n: int) -> None:
    start = time.perf_counter()
    with pytest.raises(DeepJSONError, match=f"deeper than {MAX_DEPTH} levels"):
        loads('{"a":' * n + "1" + "}" * n)
    assert time.perf_counter() - start < 5  # json.loads itself: RecursionError


def test_bad_json_is_still_a_value_error() -> None:
    with pytest.raises(ValueError):
        loads("[1,")
