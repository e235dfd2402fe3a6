"""Multi-turn and tool-loop cases (evaluator/conversation.py, result.score_turns): the exact
request bodies of each turn and round, when an exchange ends, canned replies by arguments,
and scoring the whole exchange. tests/test_pyodide_conversation.py runs the same exchanges
inside Pyodide.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from evaluator.conversation import args_match, next_request, reply_for
from evaluator.errors import SuiteError
from evaluator.expand import run_cases
from evaluator.request import plan_case, run_settings
from evaluator.result import score_case, score_turns
from evaluator.suite import Case, Suite, case_from_json, load_suite, referenced_files
from evaluator.summary import run_record

DATA = Path(__file__).parent / "data" / "engine-suite"
FIXTURE = json.loads((DATA / "conversations.json").read_text(encoding="utf-8"))
SETTINGS = {"temperature": 0, "max_tokens": 256, "timeout_s": 60}
WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}}}}
TIME = {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}


def engine_suite() -> Suite:
    """tests/data/engine-suite/suite.yaml with the files it names (as a shell loads it)."""
    data = yaml.safe_load((DATA / "suite.yaml").read_text(encoding="utf-8"))
    files = {path: (DATA / path).read_bytes() for path in referenced_files(data)}
    return load_suite(data, "tests/data/engine-suite/suite.yaml", files)


def events(answer: dict[str, Any], usage: tuple[int, int] = (30, 4)) -> list[list[Any]]:
    """The SSE payloads of one answer: content in two chunks, then each tool call whole,
    then the finish with usage (times 10 ms apart)."""
    out: list[list[Any]] = []
    content = answer.get("content") or ""
    deltas: list[dict[str, Any]] = []
    if answer.get("reasoning"):
        deltas.append({"reasoning_content": answer["reasoning"]})
    if content:
        half = max(1, len(content) // 2)
        deltas += [{"content": content[:half]}, {"content": content[half:]}]
    for i, call in enumerate(answer.get("tool_calls") or []):
        deltas.append({"tool_calls": [{"index": i, "id": call.get("id"), "type": "function",
                                       "function": {"name": call["name"],
                                                    "arguments": call["arguments"]}}]})
    for i, delta in enumerate(deltas):
        out.append([10.0 * (i + 1), json.dumps({"choices": [
            {"index": 0, "delta": delta, "finish_reason": None}]})])
    finish = "tool_calls" if answer.get("tool_calls") else "stop"
    out.append([10.0 * (len(deltas) + 1), json.dumps({
        "choices": [{"index": 0, "delta": {}, "finish_reason": finish}],
        "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1]}})])
    out.append([10.0 * (len(deltas) + 1) + 1, "[DONE]"])
    return out


def transcript(body: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    if answer.get("error"):
        return {"url": "u", "request": body, "status": None, "events": [],
                "ended_ms": 5.0, "error": answer["error"]}
    return {"url": "u", "request": body, "status": 200, "events": events(answer),
            "ended_ms": 100.0, "error": None}


def exchange(case: Case, answers: list[dict[str, Any]], model_id: str = "m",
             settings: dict[str, Any] | None = None
             ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    """Run the loop a shell runs: (bodies sent, transcripts, the final next_request)."""
    settings = SETTINGS if settings is None else settings
    bodies: list[dict[str, Any]] = []
    transcripts: list[dict[str, Any]] = []
    while True:
        step = next_request(case, model_id, settings, transcripts)
        if "done" in step:
            return bodies, transcripts, step
        assert len(bodies) < len(answers), f"request {len(bodies) + 1} has no scripted answer"
        bodies.append(step["body"])
        transcripts.append(transcript(step["body"], answers[len(bodies) - 1]))


MODEL = {"id": "fake-model", "runtime": "llamacpp", "base_url": "http://127.0.0.1:8080",
         "capabilities": ["streaming", "tool-use"]}


def scripted_record(seed: int = 7, context: int | None = 4096) -> dict[str, Any]:
    """A run record of the engine suite: the fixture's answers for its two conversations,
    ``ok`` for every other case, sizes past ``context`` skipped."""
    suite = engine_suite()
    settings = run_settings(256, 60, seed)
    results = []
    for concrete in run_cases(suite, seed):
        plan = plan_case(concrete, MODEL["id"], MODEL["capabilities"], settings, context)
        if "skipped" in plan:
            results.append(plan["skipped"])
            continue
        scripted = FIXTURE["cases"].get(concrete.id, {"answers": [{"content": "ok"}]})
        _, transcripts, _ = exchange(concrete, scripted["answers"], MODEL["id"], settings)
        results.append(score_turns(concrete, transcripts))
    return run_record(suite, MODEL, settings, "2026-12-01T00:00:00Z", results)


def case(**extra: Any) -> Case:
    raw = {"id": "c", "input": "Go.", "expect": {"kind": "contains", "value": "done"}, **extra}
    return load_suite({"name": "t", "cases": [raw]}, "t.yaml", {}).cases[0]


@pytest.mark.parametrize("case_id", sorted(FIXTURE["cases"]))
def test_each_request_is_exactly_what_the_model_must_see(case_id: str) -> None:
    want = FIXTURE["cases"][case_id]
    concrete = {c.id: c for c in run_cases(engine_suite(), FIXTURE["seed"])}[case_id]
    bodies, transcripts, last = exchange(concrete, want["answers"], FIXTURE["model_id"],
                                         FIXTURE["settings"])
    assert bodies == want["bodies"]
    assert [list(b) for b in bodies] == [list(b) for b in want["bodies"]]  # key order too
    assert last == {"done": True, "end": want["end"]}
    first = plan_case(concrete, FIXTURE["model_id"], ["streaming", "tool-use"],
                      FIXTURE["settings"])
    assert first["body"] == bodies[0]
    result = score_turns(concrete, transcripts)
    assert (result["status"], result["detail"]) == (want["status"], want["detail"])
    assert [turn["sent"] for turn in result["turns"]] == \
        [body["messages"][len(prev["messages"]) + (1 if i else 0):]
         for i, (prev, body) in enumerate(zip([{"messages": []}, *bodies], bodies))]


ANSWER = {"content": "done"}
CALL_WEATHER = {"tool_calls": [{"id": "w1", "name": "get_weather",
                                "arguments": '{"city": "Rome"}'}]}
CALL_TIME = {"tool_calls": [{"id": "t1", "name": "get_time", "arguments": "{}"}]}
RESPONDS = {"get_weather": {"response": "sunny"}}
# (case keys, the model's answers, requests sent, end, kind of the last request)
SCENARIOS: list[tuple[str, dict[str, Any], list[dict[str, Any]], int, str]] = [
    ("single turn", {}, [ANSWER], 1, "answered"),
    ("follow-ups answered", {"followUps": ["More.", "Last."]}, [ANSWER] * 3, 3, "answered"),
    ("error ends it", {"followUps": ["More.", "Last."]},
     [ANSWER, {"error": "timed out after 60 s"}], 2, "error"),
    ("tool answered then text", {"tools": [WEATHER], "toolResponders": RESPONDS},
     [CALL_WEATHER, ANSWER], 2, "answered"),
    ("no responder for that tool", {"tools": [WEATHER, TIME], "toolResponders": RESPONDS},
     [CALL_TIME], 1, "no_responder"),
    ("a tool call with no responders at all", {"tools": [WEATHER], "followUps": ["More."]},
     [CALL_WEATHER], 1, "tool_call"),
    ("round cap", {"tools": [WEATHER], "toolResponders": RESPONDS, "maxToolRounds": 2},
     [CALL_WEATHER] * 3, 3, "round_cap"),
    ("default cap is 4", {"tools": [WEATHER], "toolResponders": RESPONDS},
     [CALL_WEATHER] * 5, 5, "round_cap"),
    ("rounds count per user turn",
     {"tools": [WEATHER], "toolResponders": RESPONDS, "maxToolRounds": 1,
      "followUps": ["Again."]},
     [CALL_WEATHER, ANSWER, CALL_WEATHER, ANSWER], 4, "answered"),
    ("parallel calls, one unanswered", {"tools": [WEATHER, TIME], "toolResponders": RESPONDS},
     [{"tool_calls": CALL_WEATHER["tool_calls"] + CALL_TIME["tool_calls"]}], 1,
     "no_responder"),
]


@pytest.mark.parametrize("keys, answers, sent, end", [row[1:] for row in SCENARIOS],
                         ids=[row[0] for row in SCENARIOS])
def test_when_the_exchange_ends(keys: dict[str, Any], answers: list[dict[str, Any]],
                                sent: int, end: str) -> None:
    bodies, transcripts, last = exchange(case(**keys), answers)
    assert (len(bodies), last) == (sent, {"done": True, "end": end})
    result = score_turns(case(**keys), transcripts)
    if case(**keys).conversational:
        assert result["exchange_end"] == end and len(result["turns"]) == sent
    else:  # one request: the single-turn result
        assert "turns" not in result and result["transcript"] == transcripts[0]


def test_tool_round_messages_and_parallel_replies() -> None:
    both = {"tools": [WEATHER, TIME], "toolResponders": {
        **RESPONDS, "get_time": {"response": {"time": "12:00"}}}}
    answers = [{"content": "Checking.", "tool_calls": [
        {"id": None, "name": "get_weather", "arguments": ""},
        {"id": "t1", "name": "get_time", "arguments": "{}"}]}, ANSWER]
    bodies, _, _ = exchange(case(**both), answers)
    assert bodies[1]["messages"][1:] == [
        {"role": "assistant", "content": "Checking.", "tool_calls": [
            {"id": "call_0_0", "type": "function",
             "function": {"name": "get_weather", "arguments": "{}"}},
            {"id": "t1", "type": "function",
             "function": {"name": "get_time", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_0_0", "content": "sunny"},
        {"role": "tool", "tool_call_id": "t1", "content": '{"time": "12:00"}'}]
    assert bodies[1]["tools"] == [WEATHER, TIME] and bodies[1]["stream"] is True


def test_the_assistant_turn_carries_the_answer_without_reasoning() -> None:
    answers = [{"content": "<think>hmm</think>First.", "reasoning": "more thought"}, ANSWER]
    bodies, _, _ = exchange(case(followUps=["Next?"]), answers)
    assert bodies[1]["messages"][1:] == [{"role": "assistant", "content": "First."},
                                        {"role": "user", "content": "Next?"}]


CALL = {"arguments": '{"city": "Paris", "days": 3, "metric": true, "at": {"lat": 48.8}}',
        "parsed": {"city": "Paris", "days": 3, "metric": True, "at": {"lat": 48.8}}}
MATCHES: list[tuple[Any, dict[str, Any], bool]] = [
    ("Paris", CALL, True),
    ('"city": "Paris"', CALL, True),
    ("paris", CALL, False),  # a substring, case and all
    ('"city":"Paris"', CALL, False),  # the text as the model wrote it
    ({"city": "Paris"}, CALL, True),
    ({"city": "Paris", "days": 3}, CALL, True),
    ({"days": "3"}, CALL, True),  # a template renders to text: '3' stands for 3
    ({"days": 3.0}, CALL, True),
    ({"days": 4}, CALL, False),
    ({"metric": True}, CALL, True),
    ({"metric": "true"}, CALL, True),
    ({"metric": 1}, CALL, False),  # true is not 1
    ({"at": {"lat": 48.8}}, CALL, True),
    ({"at": {"lon": 2.3}}, CALL, False),
    ({"city": "Lyon"}, CALL, False),
    ({"country": "FR"}, CALL, False),
    ({"city": None}, CALL, False),
    ({}, CALL, True),
    ({"city": "Paris"}, {"arguments": "{city: Paris", "parsed": None}, False),
    ("Paris", {"arguments": "{city: Paris", "parsed": None}, True),
    ({"tags": ["a", "b"]}, {"arguments": "", "parsed": {"tags": ["a", "b"]}}, True),
    ({"tags": ["a"]}, {"arguments": "", "parsed": {"tags": ["a", "b"]}}, False),
]


@pytest.mark.parametrize("contains, call, matched", MATCHES)
def test_args_contains(contains: Any, call: dict[str, Any], matched: bool) -> None:
    assert args_match(contains, call) is matched


def test_reply_is_the_first_matching_rule_else_the_response() -> None:
    responder = {"response": "default", "byArgs": [
        {"argsContains": "Par", "response": "first"},
        {"argsContains": {"city": "Paris"}, "response": "second"},
        {"argsContains": "Oslo", "response": {"temp_c": -3}}]}
    assert reply_for(responder, CALL) == "first"
    assert reply_for(responder, {"arguments": '{"city": "Oslo"}', "parsed": {"city": "Oslo"}}) \
        == '{"temp_c": -3}'
    assert reply_for(responder, {"arguments": "{}", "parsed": {}}) == "default"


def test_templates_are_refused_and_transcripts_must_be_a_list() -> None:
    template = case(generate={"vars": {"x": {"int": {"min": 1, "max": 2}}}}, input="{{x}}")
    with pytest.raises(SuiteError, match="template case"):
        next_request(template, "m", SETTINGS, [])
    with pytest.raises(TypeError, match="transcripts: expected a list"):
        next_request(case(), "m", SETTINGS, {})  # type: ignore[arg-type]


def test_score_turns_reads_the_whole_exchange() -> None:
    keys = {"tools": [WEATHER], "toolResponders": RESPONDS, "followUps": ["And now?"],
            "expect": [{"kind": "tool_call", "name": "get_weather"},
                       {"kind": "contains", "value": "done"}]}
    _, transcripts, _ = exchange(case(**keys), [CALL_WEATHER, {"content": "sunny"},
                                                {"content": "done, thanks"}])
    for event in transcripts[2]["events"]:  # a later first token on the last request
        event[0] += 20.0
    result = score_turns(case(**keys), transcripts)
    assert (result["status"], result["exchange_end"]) == ("pass", "answered")
    assert result["output"] == "done, thanks" and result["match"] == [[0, 4]]
    assert [t["kind"] for t in result["turns"]] == ["user", "tool", "user"]
    assert [t["output"] for t in result["turns"]] == ["", "sunny", "done, thanks"]
    assert result["tool_calls"] == [{"id": "w1", "name": "get_weather",
                                     "arguments": '{"city": "Rome"}', "parsed": {"city": "Rome"}}]
    # the first request's TTFT and speed; the exchange's time and tokens
    assert (result["ttft_ms"], result["tok_s"]) == (10.0, None)
    assert (result["total_ms"], result["tok_in"], result["tok_out"]) == (300.0, 90, 12)
    assert result["exchange_ttft_ms"] == 10.0 + 10.0 + 30.0
    # tok_s per request: None (one delta), 3/0.01 s = 300, 3/0.01 s... exchange: 8 tokens
    speeds = [t["tok_s"] for t in result["turns"]]
    assert speeds[0] is None and all(s and s > 0 for s in speeds[1:])
    assert result["exchange_tok_s"] == round(8 / sum(4 / s for s in speeds[1:]), 1)
    assert result["transcript"] is None and result["transcripts"] == transcripts
    assert result["case"] == case(**keys).to_json()


def test_score_turns_errors_name_the_request() -> None:
    keys = {"followUps": ["More."]}
    _, transcripts, _ = exchange(case(**keys), [ANSWER, {"error": "HTTP 400: context"}])
    failed = score_turns(case(**keys), transcripts)
    assert (failed["status"], failed["score"]) == ("error", 0.0)
    assert failed["detail"] == "HTTP 400: context (request 2 of the exchange)"
    short = score_turns(case(**keys), transcripts[:1])
    assert (short["status"], short["exchange_end"]) == ("error", "incomplete")
    assert short["detail"].startswith("the exchange stopped after 1 request,")
    _, done, _ = exchange(case(), [ANSWER])
    extra = score_turns(case(tools=[WEATHER], toolResponders=RESPONDS), done * 2)
    assert extra["status"] == "error"
    assert extra["detail"] == "2 requests were sent; the exchange ends after 1 request"


def test_round_cap_is_said_in_the_detail() -> None:
    keys = {"tools": [WEATHER], "toolResponders": RESPONDS, "maxToolRounds": 1,
            "expect": {"kind": "tool_call", "name": "get_weather"}}
    _, transcripts, _ = exchange(case(**keys), [CALL_WEATHER] * 2)
    result = score_turns(case(**keys), transcripts)
    assert result["status"] == "pass"
    assert result["detail"] == ("called get_weather with valid arguments (the model still "
                                "called tools after 1 tool rounds (maxToolRounds 1): the "
                                "exchange ended there)")


def test_single_turn_cases_keep_their_result_shape() -> None:
    _, transcripts, _ = exchange(case(), [ANSWER])
    assert score_turns(case(), transcripts) == score_case(case(), transcripts[0])
    assert "turns" not in score_case(case(), transcripts[0])
    with pytest.raises(ValueError, match="answered in one request, got 2"):
        score_turns(case(), transcripts * 2)
    with pytest.raises(ValueError, match="non-empty list"):
        score_turns(case(), [])
    # a conversational case scored from one transcript gets the exchange's shape
    one = score_case(case(followUps=["More."]), transcripts[0])
    assert one["exchange_end"] == "incomplete" and len(one["turns"]) == 1


def test_a_concrete_case_round_trips_with_its_conversation() -> None:
    for concrete in run_cases(engine_suite(), 3):
        assert case_from_json(concrete.to_json()) == concrete
