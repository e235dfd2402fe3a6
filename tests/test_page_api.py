"""The browser's one entry point agrees with the direct Python calls, and never raises."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evaluator import capabilities, discovery, page_api
from evaluator.checks import run_check
from evaluator.request import build_request, plan_case
from evaluator.result import score_case, skipped_result
from evaluator.suite import load_suite
from evaluator.summary import rescore_record, run_record, summarize
from evaluator.transcript import assemble

TABLE = json.loads((Path(__file__).parent / "data" / "check_table.json").read_text("utf-8"))
SUITE = load_suite({"name": "s", "version": "1", "cases": [
    {"id": "echo", "input": "Say BENCH.", "expect": {"kind": "contains", "value": "BENCH"}},
    {"id": "see", "input": "Read.", "requires": ["vision"], "image": {"file": "i.png"},
     "expect": {"kind": "exact", "value": "V"}}]}, "s.yaml", {"i.png": b"\x89PNG"})
CASE = SUITE.cases[0]
TRANSCRIPT = {"url": "u", "request": {}, "status": 200, "ended_ms": 20.0, "error": None,
              "events": [[10.0, json.dumps({"choices": [{"delta": {"content": "BENCH"},
                                                         "finish_reason": "stop"}]})],
                         [11.0, "[DONE]"]]}
MODEL = {"id": "m", "runtime": "ollama", "base_url": "http://127.0.0.1:11434",
         "capabilities": ["streaming"]}
SETTINGS = {"temperature": 0, "max_tokens": 1024, "timeout_s": 120}


def call(op: str, **args: Any) -> Any:
    reply = json.loads(page_api.call(json.dumps({"op": op, "args": args})))
    assert reply["ok"] is True, reply
    return reply["value"]


def plain(value: Any) -> Any:
    return json.loads(json.dumps(value))


@pytest.mark.parametrize("row", TABLE, ids=[row["id"] for row in TABLE])
def test_check_table_through_the_bridge(row: dict[str, Any]) -> None:
    value = call("run_check", expect=row["expect"], answer=row["answer"],
                 tool_calls=row["tool_calls"])
    assert value == run_check(row["expect"], row["answer"], row["tool_calls"]).to_json()
    assert value["passed"] is row["passed"]


def test_ops_agree_with_direct_calls() -> None:
    case = CASE.to_json()
    result = score_case(CASE, TRANSCRIPT)
    record = run_record(SUITE, MODEL, SETTINGS, "2026-01-01T00:00:00Z", [result])
    assert call("suite_from_json", suite=SUITE.to_json()) == plain(SUITE.to_json())
    assert call("build_request", case=case, model_id="m", settings=SETTINGS) == \
        build_request(CASE, "m", SETTINGS)
    assert call("assemble", transcript=TRANSCRIPT) == plain(assemble(TRANSCRIPT).to_json())
    assert call("score_case", case=case, transcript=TRANSCRIPT) == plain(result)
    assert call("skipped_result", case=case, reason="r") == plain(skipped_result(CASE, "r"))
    assert call("summarize", results=[result], pass_threshold=0.6) == \
        summarize([result], 0.6)
    assert call("run_record", suite=SUITE.to_json(), model=MODEL, settings=SETTINGS,
                started_at="2026-01-01T00:00:00Z", results=[result]) == plain(record)
    ref = call("load_suite_json", suite=SUITE.to_json())  # what the page passes back
    assert call("run_record", suite_ref=ref, model=MODEL, settings=SETTINGS,
                started_at="2026-01-01T00:00:00Z", results=[result]) == plain(record)
    assert call("rescore_record", record=plain(record)) == plain(rescore_record(record))
    assert call("rescore_record", record=plain(record), suite=SUITE.to_json()) == \
        plain(rescore_record(record, SUITE))


def test_plan_case_skips_or_builds_the_request() -> None:
    see = SUITE.cases[1]
    skipped = call("plan_case", case=see.to_json(), model_id="m", caps=["streaming"],
                   settings=SETTINGS)
    assert skipped == {"skipped": plain(skipped_result(
        see, "requires vision; model has: streaming"))}
    assert skipped == plain(plan_case(see, "m", ["streaming"], SETTINGS))
    runs = call("plan_case", case=see.to_json(), model_id="m", caps=["vision"],
                settings=SETTINGS)
    assert runs == {"body": build_request(see, "m", SETTINGS), "path": "/v1/chat/completions",
                    "timeout_s": SETTINGS["timeout_s"], "max_bytes": 1_000_000}
    assert runs == plain(plan_case(see, "m", ["vision"], SETTINGS))


def test_run_settings_and_model_entry() -> None:
    assert call("run_settings") == {"temperature": 0, "max_tokens": 1024, "timeout_s": 120}
    assert call("run_settings", max_tokens=50, timeout_s=30.0) == \
        {"temperature": 0, "max_tokens": 50, "timeout_s": 30}
    assert call("run_settings", timeout_s=2.5)["timeout_s"] == 2.5
    for bad, field in (({"max_tokens": 0}, "max_tokens"), ({"max_tokens": 1.5}, "max_tokens"),
                       ({"timeout_s": -1}, "timeout_s"), ({"timeout_s": "9"}, "timeout_s")):
        reply = json.loads(page_api.call(json.dumps({"op": "run_settings", "args": bad})))
        assert reply["ok"] is False and reply["error"].startswith(f"{field}: expected")
    card = {"id": "qwen3:4b", "runtime": "ollama", "base_url": "http://127.0.0.1:11434",
            "capabilities": [{"name": "streaming", "source": "default"}, "tool-use"]}
    assert call("model_entry", **card) == {**card, "capabilities": ["streaming", "tool-use"]}


@pytest.mark.parametrize("ref, error", [
    ([], "suite_ref: expected an object"),
    ({"id": "s", "version": 1, "sha256": "x", "pass_threshold": 0.6},
     "suite_ref.version: expected a string"),
    ({"id": "s", "version": "1", "sha256": "x", "pass_threshold": True},
     "suite_ref.pass_threshold: expected a number"),
])
def test_run_record_with_a_bad_suite_ref(ref: Any, error: str) -> None:
    reply = json.loads(page_api.call(json.dumps({"op": "run_record", "args": {
        "suite_ref": ref, "model": MODEL, "settings": SETTINGS, "started_at": "x",
        "results": []}})))
    assert reply == {"ok": False, "error": error}


def test_capability_and_discovery_ops_agree() -> None:
    see = SUITE.cases[1]
    assert call("project", model_id="qwen3:4b", runtime="ollama", metadata=None) == \
        plain(capabilities.project("qwen3:4b", "ollama", None))
    assert call("skip_reason", case=see.to_json(), caps=["streaming"]) == \
        capabilities.skip_reason(see, ["streaming"])
    env = {"OLLAMA_HOST": "0.0.0.0:11500"}
    assert call("probe_plan", env=env) == plain(discovery.probe_plan(env))
    assert call("probe_plan", env={}, only=["mlx"]) == plain(discovery.probe_plan({}, ["mlx"]))
    plan_row = discovery.probe_plan({}, ["ollama"])[0]
    observation = {"status": 403, "body": "", "error": None, "elapsed_ms": 3.0}
    assert call("interpret_probe", plan_row=plan_row, observation=observation) == \
        plain(discovery.interpret_probe(plan_row, observation))
    assert call("cors_recipe", runtime="ollama", origin="https://x.example") == \
        discovery.cors_recipe("ollama", "https://x.example")
    assert call("discovery_table") == plain(discovery.discovery_table())


def test_load_suite_json_lists_cases() -> None:
    value = call("load_suite_json", suite=SUITE.to_json())
    assert (value["id"], value["sha256"], value["case_count"]) == ("s", SUITE.sha256, 2)
    assert value["cases"][1] == {"id": "see", "kind": "exact", "weight": 1, "tags": [],
                                 "requires": ["vision"], "has_image": True,
                                 "has_tools": False, "generated": False, "turns": 1,
                                 "tool_loop": False, "instances": ["see"]}


def test_load_suite_json_says_how_each_case_runs() -> None:
    from tests.test_conversation import engine_suite

    cases = {c["id"]: c for c in call("load_suite_json", suite=engine_suite().to_json())["cases"]}
    assert {k: cases["recall-two-turns"][k] for k in ("generated", "turns", "tool_loop")} == \
        {"generated": True, "turns": 3, "tool_loop": False}
    assert cases["weather-tool-loop"]["tool_loop"] is True
    assert cases["needle-sweep"]["instances"] == ["needle-sweep@256", "needle-sweep@1024",
                                                  "needle-sweep@8192"]


def test_v2_ops_agree_with_direct_calls() -> None:
    from evaluator.conversation import next_request
    from evaluator.expand import run_cases
    from evaluator.request import run_settings
    from evaluator.result import score_turns
    from tests.test_conversation import FIXTURE, engine_suite, exchange

    suite = engine_suite()
    for seed in (0, 7, 2**53 - 1):
        assert call("run_cases", suite=suite.to_json(), seed=seed) == \
            plain([c.to_json() for c in run_cases(suite, seed)])
    concrete = {c.id: c for c in run_cases(suite, 7)}
    settings = FIXTURE["settings"]
    for case_id, scripted in FIXTURE["cases"].items():
        case = concrete[case_id]
        _, transcripts, _ = exchange(case, scripted["answers"], "m", settings)
        for n in range(len(transcripts) + 1):
            assert call("next_request", case=case.to_json(), model_id="m", settings=settings,
                        transcripts=transcripts[:n]) == \
                plain(next_request(case, "m", settings, transcripts[:n]))
        assert call("score_turns", case=case.to_json(), transcripts=transcripts) == \
            plain(score_turns(case, transcripts))
    sweep = concrete["needle-sweep@8192"]
    for context in (None, 4096, 65536):
        assert call("plan_case", case=sweep.to_json(), model_id="m", caps=["streaming"],
                    settings=settings, context_length=context) == \
            plain(plan_case(sweep, "m", ["streaming"], settings, context))
    assert call("run_settings", seed=12345) == run_settings(seed=12345)
    reply = json.loads(page_api.call(json.dumps({"op": "run_cases", "args": {
        "suite": suite.to_json(), "seed": -1}})))
    assert reply == {"ok": False, "error": "seed: expected a whole number from 0 to "
                                           "9007199254740991, got -1"}
    reply = json.loads(page_api.call(json.dumps({"op": "plan_case", "args": {
        "case": suite.cases[1].to_json(), "model_id": "m", "caps": [], "settings": {}}})))
    assert reply["ok"] is False and "a template case" in reply["error"]


@pytest.mark.parametrize("request_json, error", [
    ("not json", "request is not JSON: "),
    ("[]", "request must be a JSON object {op, args}"),
    ('{"op": "nope"}', "unknown op 'nope' (known: "),
    ('{"op": ["x"]}', "unknown op ['x']"),
    ('{"op": "score_case", "args": []}', "op 'score_case': args must be an object"),
    ('{"op": "score_case", "args": {}}', "op 'score_case': missing argument 'case'"),
    ('{"op": "suite_from_json", "args": {"suite": {"id": "s", "cases": []}}}',
     "resolved suite: cases: must be a non-empty list"),
    (('{"op": "summarize", "args": {"results": [{"status": "pass", "weight": "x"}], '
     '"pass_threshold": 0.5}}'), "ValueError: could not convert string to float: 'x'"),
])
def test_errors_are_one_line_replies(request_json: str, error: str) -> None:
    reply = json.loads(page_api.call(request_json))
    assert reply["ok"] is False
    assert reply["error"].startswith(error)
    assert "\n" not in reply["error"]


def test_garbage_transcript_through_the_bridge_is_an_error_result() -> None:
    value = call("score_case", case=CASE.to_json(), transcript={"events": [[1, "<html>"]]})
    assert (value["status"], value["detail"]) == \
        ("error", "runtime sent non-JSON data: '<html>'")
