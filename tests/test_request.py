"""The request body for one case."""

from __future__ import annotations

from typing import Any

import pytest

from evaluator.request import DEFAULT_SETTINGS, build_request
from evaluator.suite import Case

EXPECT = {"kind": "contains", "value": "x"}
TOOLS = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]


def test_plain_case() -> None:
    body = build_request(Case(id="a", input="Hi", expect=EXPECT), "qwen3:4b", DEFAULT_SETTINGS)
    assert body == {
        "model": "qwen3:4b",
        "messages": [{"role": "user", "content": "Hi"}],
        "stream": True, "stream_options": {"include_usage": True},
        "temperature": 0, "max_tokens": 1024,
    }


def test_system_image_and_tools() -> None:
    case = Case(id="a", input="Read", expect=EXPECT, system="Be brief.",
                image="data:image/png;base64,AA==", tools=TOOLS)
    body = build_request(case, "m", {"temperature": 0.2, "max_tokens": 50, "timeout_s": 5})
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [
            {"type": "text", "text": "Read"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA=="}}]},
    ]
    assert body["tools"] == TOOLS
    assert (body["temperature"], body["max_tokens"]) == (0.2, 50)
    assert "timeout_s" not in body


@pytest.mark.parametrize("case_cap, settings, expected", [
    (None, {}, 1024),
    (64, {}, 64),
    (4096, {"max_tokens": 1024}, 1024),
    (64, {"max_tokens": 32}, 32),
    (64, {"max_tokens": None}, 64),
])
def test_max_tokens_smaller_cap_wins(case_cap: int | None, settings: dict[str, Any],
                                     expected: int) -> None:
    case = Case(id="a", input="x", expect=EXPECT, max_tokens=case_cap)
    assert build_request(case, "m", settings)["max_tokens"] == expected
