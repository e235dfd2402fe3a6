"""Hostile runtime data and records inside the vendored Pyodide (under Node), as the page
meets them: a stream event nested 50,000 deep, a flood of tool calls, a deep or malformed
imported record. Each must give the same reply as CPython, and the interpreter must live on
to answer the next request (before, the page's whole run died with Pyodide's fatal_error).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evaluator import page_api
from evaluator.safejson import MAX_DEPTH
from evaluator.suite import Case
from tests.pyodide_harness import call_ops

HERE = Path(__file__).parent
DEEP = 50_000
CASE = Case(id="echo", input="Say BENCH.", expect={"kind": "contains", "value": "BENCH"})


def event(delta: dict[str, Any], finish: str | None = None) -> str:
    return json.dumps({"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})


def transcript(*data: str) -> dict[str, Any]:
    events = [[float(i), d] for i, d in enumerate(data)]
    return {"url": "u", "request": {}, "status": 200, "events": events,
            "ended_ms": float(len(data)), "error": None}


DEEP_EVENT = "[" * DEEP + "]" * DEEP
DEEP_RUN = transcript(event({"content": "BEN"}), DEEP_EVENT, event({"content": "CH"}, "stop"),
                      "[DONE]")
FLOOD = transcript(*[event({"tool_calls": [{"index": i, "id": f"c{i}", "function": {
    "name": "get_weather", "arguments": "{}"}}]}) for i in range(2000)], "[DONE]")
REQUESTS: list[dict[str, Any]] = [
    {"op": "assemble", "args": {"transcript": DEEP_RUN}},
    {"op": "score_case", "args": {"case": CASE.to_json(), "transcript": DEEP_RUN}},
    {"op": "assemble", "args": {"transcript": FLOOD}},
    {"op": "read_records", "args": {"text": DEEP_EVENT, "source": "deep.json"}},
    {"op": "read_records", "args": {"text": '{"format": "localrate.run/2"}',
                                    "source": "run.json"}},
    {"op": "check_record_size", "args": {"source": "big.json", "size": 2**26 + 1}},
    {"op": "assemble", "args": {"transcript": transcript(event({"content": "still alive"},
                                                              "stop"))}},
]


@pytest.fixture(scope="module")
def replies(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    return [json.loads(r) for r in call_ops(REQUESTS, tmp_path_factory.mktemp("pyodide-records"))]


def test_pyodide_and_cpython_agree(replies: list[dict[str, Any]]) -> None:
    cpython = [json.loads(page_api.call(json.dumps(r))) for r in REQUESTS]
    assert replies == cpython


def test_a_deep_event_is_an_error_on_its_case_not_a_crash(
        replies: list[dict[str, Any]]) -> None:
    done, scored = replies[0], replies[1]
    assert done["ok"], done
    assert done["value"]["error"] == f"runtime sent JSON nested deeper than {MAX_DEPTH} levels"
    assert done["value"]["content"] == "BENCH"  # the events around it were still read
    assert scored["ok"] and scored["value"]["status"] == "error"
    assert scored["value"]["detail"] == done["value"]["error"]


def test_tool_calls_are_capped(replies: list[dict[str, Any]]) -> None:
    value = replies[2]["value"]
    assert (len(value["tool_calls"]), value["tool_calls_dropped"]) == (64, 2000 - 64)


def test_records_are_refused_with_one_line(replies: list[dict[str, Any]]) -> None:
    assert replies[3] == {"ok": False,
                          "error": f"deep.json: JSON nested deeper than {MAX_DEPTH} levels"}
    assert replies[4]["ok"] is False
    assert replies[4]["error"].startswith(
        "run.json: format: 'localrate.run/2' is an unsupported version")
    assert replies[5] == {"ok": False, "error": f"big.json: {2**26 + 1} bytes, more than the "
                                                f"{64 * 1024 * 1024} bytes a record may have"}


def test_the_interpreter_lives_on(replies: list[dict[str, Any]]) -> None:
    assert replies[-1]["ok"] and replies[-1]["value"]["content"] == "still alive"
