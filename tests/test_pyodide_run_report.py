"""Issue 14's ops inside the vendored Pyodide (under Node), as the page calls them: the run
report of a repeated run, settings, thinking fields, the warm-up and engine defaults. Every
reply must be byte for byte CPython's."""

from __future__ import annotations

import json
from typing import Any

import pytest

from evaluator import page_api
from tests.pyodide_harness import call_ops
from tests.test_pyodide_stats import SPEED

CASE = {"id": "c", "input": "Hi", "system": "Case.", "expect": {"kind": "contains",
                                                             "value": "x"}}
RECORD = {"model": {"id": "m", "runtime": "lmstudio"}, "cases": SPEED,
          "settings": {"temperature": 0, "repeat": 3, "thinking": "off"},
          "warmup": {"ttft_ms": 2400.5, "total_ms": 2600.0, "status": "ok", "detail": ""}}
SINGLE = {"model": {"id": "m", "runtime": "ollama"}, "settings": {"repeat": 1},
          "cases": [{"id": "a", "status": "pass", "score": 1.0, "remark": "r"},
                    {"id": "b", "status": "fail", "score": 0.0}]}
DONE = {"url": "u", "request": {}, "status": 200, "ended_ms": 9.5, "error": None,
        "events": [[4.0, json.dumps({"choices": [{"delta": {"content": "ready"},
                                                  "finish_reason": "stop"}]})],
                   [9.0, "[DONE]"]]}
REQUESTS: list[dict[str, Any]] = [
    {"op": "run_report", "args": {"record": RECORD}},
    {"op": "run_settings", "args": {"temperature": 0.7, "top_p": 0.9, "system": "Be brief.",
                                    "thinking": "high", "repeat": 5, "warmup": False,
                                    "seed": 3}},
    {"op": "run_settings", "args": {"repeat": 4}},
    {"op": "effective_settings", "args": {"settings": {"temperature": 0}}},
    *[{"op": "build_request", "args": {"case": CASE, "model_id": "m", "runtime": runtime,
                                       "settings": {"thinking": "off", "system": "Run."}}}
      for runtime in ("ollama", "llamacpp", "vllm", "mlx", "lmstudio", "openai")],
    {"op": "thinking_note", "args": {"runtime": "lmstudio", "thinking": "low"}},
    {"op": "attempt_order", "args": {"count": 2, "repeat": 3}},
    {"op": "with_attempt", "args": {"result": {"id": "c"}, "attempt": 2, "repeat": 3}},
    {"op": "warmup_request", "args": {"model_id": "m", "settings": {"temperature": 0.5}}},
    {"op": "warmup_outcome", "args": {"transcript": DONE}},
    {"op": "engine_defaults_plan", "args": {"runtime": "ollama", "base_url": "http://h:1",
                                            "model_id": "m"}},
    {"op": "parse_engine_defaults", "args": {
        "runtime": "ollama", "status": 200,
        "body": json.dumps({"parameters": "temperature                    0.6"})}},
    {"op": "merge_engine_defaults", "args": {"explicit": {"top_p": None},
                                             "engine": {"top_p": 0.95}}},
    {"op": "run_report", "args": {"record": SINGLE}},
]


@pytest.fixture(scope="module")
def replies(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    return call_ops(REQUESTS, tmp_path_factory.mktemp("pyodide-run-report"))


def test_pyodide_and_cpython_agree_byte_for_byte(replies: list[str]) -> None:
    assert replies == [page_api.call(json.dumps(r)) for r in REQUESTS]


def test_the_replies_say_what_the_page_shows(replies: list[str]) -> None:
    report, settings, bad = (json.loads(r) for r in replies[:3])
    assert report["ok"] and report["value"]["speed"]["cold_start"]["ttft_ms"] == 2400.5
    assert report["value"]["settings"]["thinking_applied"] is False
    assert report["value"]["stability"]["repeat"] == 1  # 17 cases, one attempt each
    assert settings["value"]["repeat"] == 5 and settings["value"]["warmup"] is False
    assert bad == {"ok": False, "error": "repeat: expected one of 1, 2, 3, 5, got 4"}


def test_the_count_line_says_attempts_only_for_a_repeated_run(replies: list[str]) -> None:
    repeated, single = json.loads(replies[0])["value"], json.loads(replies[-1])["value"]
    n = len(SPEED)
    scored = repeated["pass_rates"]["overall"]
    assert repeated["counts"]["unit"] == "attempts"
    assert repeated["counts"]["statuses"].endswith(f" ({n} cases × 3)")
    assert repeated["counts"]["overall"].startswith(
        f"{scored['passed']}/{scored['attempts']} attempts pass (")
    assert single["counts"] == {
        "unit": "cases", "overall": "1/2 cases pass (50%) · 1 with a remark",
        "statuses": "0 pass · 1 pass with a remark · 1 fail · 0 skip · 0 error",
        "size": "2 cases"}
