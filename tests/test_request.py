"""The request body for one case."""

from __future__ import annotations

import json
from typing import Any

import pytest

from evaluator.errors import SuiteError
from evaluator.haystack import estimate_tokens
from evaluator.request import (
    DEFAULT_SETTINGS,
    SettingsError,
    build_request,
    plan_case,
    prompt_estimate,
    run_settings,
)
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


# --- suite engine v2: the run seed, prompts that cannot fit the model's context --------

@pytest.mark.parametrize("seed, ok", [(0, True), (7, True), (2**31 - 1, True),
                                      (2**53 - 1, True), (2**53, False), (-1, False),
                                      (1.0, False), (True, False), ("7", False)])
def test_run_settings_carry_the_seed(seed: Any, ok: bool) -> None:
    if ok:
        assert run_settings(seed=seed) == {**DEFAULT_SETTINGS, "seed": seed}
    else:
        with pytest.raises(SettingsError, match=r"^seed: expected a whole number from 0 to "
                                                r"9007199254740991, got "):
            run_settings(seed=seed)
    assert "seed" not in run_settings()  # the shell draws it: no seed, no key


LONG = Case(id="long", input="word " * 3000, expect=EXPECT, system="Be brief.",
            follow_ups=("more " * 500,))
# (context length, max_tokens, the skip reason or None to run)
FITS: list[tuple[Any, int, str | None]] = [
    (None, 1024, None),  # unknown context: never skipped for size
    (8192, 1024, None),
    (4096, 1024, ("prompt needs about 3,503 tokens + 1,024 for the answer; the model's "
                 "context is 4,096")),
    (4527, 1024, None),  # exactly full
    (4526, 1024, ("prompt needs about 3,503 tokens + 1,024 for the answer; the model's "
                 "context is 4,526")),
    (4096, 64, None),
]


@pytest.mark.parametrize("context, max_tokens, reason", FITS)
def test_a_prompt_that_cannot_fit_is_skipped(context: Any, max_tokens: int,
                                             reason: str | None) -> None:
    assert prompt_estimate(LONG) == 3000 + 2 + 1 + 500  # words, "Be brief." and follow-ups
    settings = {**DEFAULT_SETTINGS, "max_tokens": max_tokens}
    plan = plan_case(LONG, "m", ["streaming"], settings, context)
    if reason is None:
        assert plan["body"] == build_request(LONG, "m", settings)
    else:
        assert plan["skipped"]["status"] == "skip" and plan["skipped"]["detail"] == reason


def test_tools_count_and_a_missing_capability_is_said_first() -> None:
    tooled = Case(id="t", input="Hi", expect=EXPECT, tools=TOOLS, requires=("tool-use",))
    assert prompt_estimate(tooled) == 1 + estimate_tokens(json.dumps(TOOLS))
    plan = plan_case(tooled, "m", ["streaming"], DEFAULT_SETTINGS, 10)
    assert plan["skipped"]["detail"] == "requires tool-use; model has: streaming"
    for bad in (0, -5, 1.5, True, "4096"):
        with pytest.raises(SettingsError, match="^context_length: expected a whole number"):
            plan_case(tooled, "m", ["tool-use"], DEFAULT_SETTINGS, bad)


def test_a_template_case_is_not_sent() -> None:
    template = Case(id="g", input="{{x}}", expect=EXPECT,
                    generate={"vars": {"x": {"pick": ["a"]}}})
    for send in (lambda: build_request(template, "m", DEFAULT_SETTINGS),
                 lambda: plan_case(template, "m", ["streaming"], DEFAULT_SETTINGS)):
        with pytest.raises(SuiteError, match=r"^case 'g': a template case \(generate or "
                                             r"sweep\) is expanded with run_cases"):
            send()
