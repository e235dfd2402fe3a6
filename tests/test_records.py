"""evaluator.records: reading a run record or comparison from outside, and its page_api ops."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from evaluator import page_api, records
from evaluator.records import (
    COMPARISON_FORMAT,
    MAX_RECORD_BYTES,
    RECORD_FORMAT,
    RecordError,
    check_size,
    read_records,
)
from evaluator.result import score_case, skipped_result
from evaluator.suite import Case, load_suite
from evaluator.summary import rescore_record, run_record

SUITE = load_suite({"name": "s", "version": "1", "cases": [
    {"id": "echo", "input": "Say BENCH.", "expect": {"kind": "contains", "value": "BENCH"}},
    {"id": "tool", "input": "Weather?", "requires": ["tool-use"],
     "expect": {"kind": "tool_call", "name": "get_weather"}}]}, "s.yaml", {})


def stream(text: str) -> dict[str, Any]:
    events = [[10.0, json.dumps({"choices": [{"delta": {"content": text}}]})],
              [20.0, json.dumps({"choices": [{"delta": {}, "finish_reason": "stop"}]})],
              [21.0, "[DONE]"]]
    return {"url": "u", "request": {"n": 1}, "status": 200, "events": events,
            "ended_ms": 22.0, "error": None}


def record() -> dict[str, Any]:
    cases: list[Case] = list(SUITE.cases)
    results = [score_case(cases[0], stream("BENCH")),
               skipped_result(cases[1], "requires tool-use; model has: streaming")]
    model = {"id": "m", "runtime": "ollama", "base_url": "http://127.0.0.1:11434",
             "capabilities": ["streaming"]}
    return run_record(SUITE, model, {"temperature": 0, "max_tokens": 64, "timeout_s": 5},
                      "2026-11-30T12:00:00Z", results)


def text(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


def error_of(obj: Any, source: str = "run.json") -> str:
    with pytest.raises(RecordError) as caught:
        read_records(obj if isinstance(obj, str) else text(obj), source)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_a_record_and_a_comparison_read_back_as_they_are() -> None:
    one = record()
    assert read_records(text(one), "run.json") == {"format": RECORD_FORMAT, "runs": [one]}
    two = {"format": COMPARISON_FORMAT, "runs": [one, one]}
    assert read_records(text(two), "both.json") == {"format": COMPARISON_FORMAT,
                                                    "runs": [one, one]}


def test_formats_live_here_and_nowhere_else() -> None:
    from evaluator import summary
    from server.cli import rate as cli_rate

    assert cli_rate.COMPARISON_FORMAT is records.COMPARISON_FORMAT
    assert not hasattr(summary, "COMPARISON_FORMAT")
    assert run_record(SUITE, {}, {}, "", [])["format"] == records.RECORD_FORMAT


def test_the_messages_name_the_source_and_the_field() -> None:
    bad = record()
    bad["cases"][1]["status"] = "x"
    comparison = {"format": COMPARISON_FORMAT, "runs": [record(), bad]}
    assert error_of(comparison) == ("run.json: runs[1].cases[1].status: expected one of pass, "
                                    "fail, skip, error, got 'x'")
    trick = record()
    trick["model"]["id"] = {"toString": "x"}
    assert error_of(trick) == "run.json: model.id: expected a string, got an object"
    assert error_of({**record(), "format": "localrate.run/2"}) == (
        "run.json: format: 'localrate.run/2' is an unsupported version (this localrate reads "
        "'localrate.run/1' and 'localrate.comparison/1')")
    assert error_of({k: v for k, v in record().items() if k != "cases"}) == \
        "run.json: cases: missing (expected a list)"
    assert error_of("{") == "run.json: not JSON (stopped at line 1)"
    assert error_of("[" * 101 + "]" * 101) == "run.json: JSON nested deeper than 100 levels"


def test_the_embedded_case_is_checked_as_a_suite_case() -> None:
    bad = record()
    bad["cases"][0]["case"]["weight"] = -1
    assert error_of(bad).startswith("run.json: cases[0].case.weight: ")
    odd = record()
    odd["cases"][0]["case"] = {"id": "odd", "input": 5}
    assert error_of(odd).startswith("run.json: cases[0].case.input: ")


def test_lone_surrogates_are_found_anywhere() -> None:
    bad = record()
    bad["cases"][0]["transcript"]["request"] = {"a b": ["ok", "\ud800"]}
    assert error_of(bad) == ("run.json: cases[0].transcript.request['a b'][1]: a lone "
                             "surrogate (not valid Unicode)")
    key = record()
    key["settings"]["\udfff"] = 1
    assert error_of(key) == "run.json: settings: a key holds a lone surrogate (not valid Unicode)"


def test_numbers_are_finite_and_exact_in_javascript() -> None:
    for value, got in ((2**53 + 1, "9007199254740993"), (10**30, "a huge number")):
        bad = record()
        bad["cases"][0]["tok_in"] = value
        assert error_of(bad) == ("run.json: cases[0].tok_in: expected an integer from -2**53 "
                                 f"to 2**53, got {got}")
    nan = text(record()).replace('"ended_ms": 22.0', '"ended_ms": NaN', 1)
    assert error_of(nan) == ("run.json: cases[0].transcript.ended_ms: expected a number from "
                             "-2**53 to 2**53, got NaN")


def test_the_size_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    assert MAX_RECORD_BYTES == 64 * 1024 * 1024
    check_size("run.json", MAX_RECORD_BYTES)
    with pytest.raises(RecordError, match=r"^run\.json: 65 bytes, more than the 64 bytes"):
        monkeypatch.setattr(records, "MAX_RECORD_BYTES", 64)
        check_size("run.json", 65)
    assert error_of("é" * 40) == "run.json: 80 bytes, more than the 64 bytes a record may have"


def test_what_read_records_accepts_rescores_without_surprise() -> None:
    for result in read_records(text(record()), "run.json")["runs"]:
        again = rescore_record(copy.deepcopy(result))
        assert again["summary"] == result["summary"]


def call(op: str, **args: Any) -> dict[str, Any]:
    return dict(json.loads(page_api.call(json.dumps({"op": op, "args": args}))))


def test_the_bridge_ops() -> None:
    one = record()
    assert call("read_records", text=text(one), source="a.json") == \
        {"ok": True, "value": read_records(text(one), "a.json")}
    assert call("read_records", text='{"format": "localrate.run/2"}', source="a.json") == {
        "ok": False, "error": "a.json: format: 'localrate.run/2' is an unsupported version "
                              "(this localrate reads 'localrate.run/1' and "
                              "'localrate.comparison/1')"}
    assert call("read_records", text=5, source="a.json") == {
        "ok": False, "error": "op 'read_records': text and source must be strings"}
    assert call("check_record_size", source="a.json", size=MAX_RECORD_BYTES) == \
        {"ok": True, "value": None}
    assert call("check_record_size", source="a.json", size=MAX_RECORD_BYTES + 1) == {
        "ok": False, "error": f"a.json: {MAX_RECORD_BYTES + 1} bytes, more than the "
                              f"{MAX_RECORD_BYTES} bytes a record may have"}
    assert call("check_record_size", source="a.json", size="big") == {
        "ok": False, "error": "op 'check_record_size': source must be a string and size a "
                              "whole number of bytes"}


# --- suite engine v2: the run seed, expanded cases, conversations ----------------------

def test_a_run_with_templates_and_conversations_reads_back_as_it_is() -> None:
    from tests.test_conversation import scripted_record

    one = scripted_record()
    assert read_records(text(one), "run.json") == {"format": RECORD_FORMAT, "runs": [one]}
    assert one["settings"]["seed"] == 7
    recall = next(c for c in one["cases"] if c["id"] == "recall-two-turns")
    assert len(recall["turns"]) == len(recall["transcripts"]) == 3
    assert recall["case"]["drawn"] == {"word": "falcon"}


def _v2(where: tuple[Any, ...], value: Any) -> dict[str, Any]:
    from tests.test_conversation import scripted_record

    bad = json.loads(text(scripted_record()))  # as read from a file: nothing shared
    target: Any = bad
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value
    return bad


# cases[4] is weather-tool-loop (two tool rounds), cases[1] multiply (drawn)
V2_RECORD_ERRORS: list[tuple[tuple[Any, ...], Any, str]] = [
    (("settings", "seed"), -1, "settings.seed: expected an integer at least 0, got -1"),
    (("settings", "seed"), "7", "settings.seed: expected an integer, got '7'"),
    (("settings", "seed"), 2**53, ("settings.seed: expected an integer from 0 to "
                                  "9007199254740991, got 9007199254740992")),
    (("cases", 4, "turns"), {}, "cases[4].turns: expected a list, got an object"),
    (("cases", 4, "turns"), [], "cases[4].turns: expected a non-empty list, got an empty one"),
    (("cases", 4, "turns", 1, "kind"), 5, "cases[4].turns[1].kind: expected a string, got 5"),
    (("cases", 4, "turns", 0, "sent"), ["x"],
     "cases[4].turns[0].sent[0]: expected an object, got 'x'"),
    (("cases", 4, "turns", 0, "tok_out"), 1.5,
     "cases[4].turns[0].tok_out: expected an integer or null, got 1.5"),
    (("cases", 4, "turns", 0, "tool_calls", 0, "name"), 3,
     "cases[4].turns[0].tool_calls[0].name: expected a string or null, got 3"),
    (("cases", 4, "transcripts"), [], ("cases[4].transcripts: expected a non-empty list, got "
                                      "an empty one")),
    (("cases", 4, "transcripts", 1), "x",
     "cases[4].transcripts[1]: expected an object, got 'x'"),
    (("cases", 4, "transcripts", 2, "events", 0), [1],
     "cases[4].transcripts[2].events[0]: expected [ms, data], got a list"),
    (("cases", 4, "exchange_tok_s"), "fast",
     "cases[4].exchange_tok_s: expected a number or null, got 'fast'"),
    (("cases", 4, "case", "max_tool_rounds"), 0,
     "cases[4].case.max_tool_rounds: must be a whole number from 1 to 32, got 0"),
    (("cases", 1, "case", "drawn"), [1],
     "cases[1].case.drawn: must be a mapping of var names to values, got [1]"),
]


@pytest.mark.parametrize("where, value, message", V2_RECORD_ERRORS)
def test_v2_fields_are_checked(where: tuple[Any, ...], value: Any, message: str) -> None:
    assert error_of(_v2(where, value)) == f"run.json: {message}"
