"""Transcript assembly for each runtime dialect, a non-stream body, and every garbage mode."""

from __future__ import annotations

import json
from typing import Any

import pytest

from evaluator.transcript import MAX_TOOL_CALLS, Assembled, assemble


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None,
          **extra: Any) -> str:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return json.dumps({"object": "chat.completion.chunk", "choices": choices, **extra})


def transcript(events: list[tuple[float, str]], ended: float | None = None,
               status: int | None = 200, error: str | None = None) -> dict[str, Any]:
    return {"url": "http://127.0.0.1:1/v1/chat/completions", "request": {}, "status": status,
            "events": [[t, d] for t, d in events],
            "ended_ms": ended if ended is not None else (events[-1][0] + 1 if events else 5.0),
            "error": error}


def tool(index: int, call_id: str | None = None, name: str | None = None,
         args: Any = None) -> dict[str, Any]:
    fn: dict[str, Any] = {}
    if name is not None:
        fn["name"] = name
    if args is not None:
        fn["arguments"] = args
    piece: dict[str, Any] = {"index": index, "function": fn}
    if call_id is not None:
        piece.update({"id": call_id, "type": "function"})
    return piece


USAGE = {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25}


def test_ollama_reasoning_and_whole_calls_reusing_index_0() -> None:
    done = assemble(transcript([
        (100.0, chunk({"role": "assistant", "content": "", "reasoning": "Two cities"})),
        (120.0, chunk({"content": "", "tool_calls": [
            tool(0, "call_a", "get_weather", '{"city":"Paris"}')]})),
        (140.0, chunk({"content": "", "tool_calls": [
            tool(0, "call_b", "get_weather", '{"city":"Rome"}')]})),
        (150.0, chunk({"content": ""}, "tool_calls")),
        (151.0, chunk(None, usage=USAGE)),
        (152.0, "[DONE]"),
    ], ended=153.0))
    assert done.error is None
    assert done.reasoning == "Two cities"
    assert [(c["id"], c["parsed"]) for c in done.tool_calls] == [
        ("call_a", {"city": "Paris"}), ("call_b", {"city": "Rome"})]
    assert (done.tok_in, done.tok_out, done.tokens_source) == (20, 5, "usage")
    assert (done.ttft_ms, done.decode_ms, done.total_ms) == (100.0, 40.0, 153.0)
    assert done.tok_s == pytest.approx(4 / 0.040)
    assert done.finish_reason == "tool_calls"


def test_whole_calls_without_ids_at_index_0_and_object_arguments() -> None:
    done = assemble(transcript([
        (1.0, chunk({"tool_calls": [tool(0, None, "a", {"x": 1})]})),
        (2.0, chunk({"tool_calls": [tool(0, None, "b", {"y": [2]})]}), ),
        (3.0, chunk({}, "tool_calls")),
    ]))
    assert [(c["name"], c["arguments"], c["parsed"]) for c in done.tool_calls] == [
        ("a", '{"x": 1}', {"x": 1}), ("b", '{"y": [2]}', {"y": [2]})]
    assert done.error is None


def test_lmstudio_reasoning_content_fragments_no_usage() -> None:
    done = assemble(transcript([
        (10.0, chunk({"role": "assistant", "reasoning_content": "Think"})),
        (20.0, chunk({"reasoning_content": "ing."})),
        (30.0, chunk({"tool_calls": [tool(0, "c1", "get_weather", "")]})),
        (40.0, chunk({"tool_calls": [tool(0, args='{"ci')]})),
        (50.0, chunk({"tool_calls": [tool(0, args='ty": "Oslo"}')]})),
        (60.0, chunk({"tool_calls": [tool(1, "c2", "get_time", "{}")]})),
        (70.0, chunk({}, "tool_calls")),
        (71.0, "[DONE]"),
    ]))
    assert done.reasoning == "Thinking."
    assert done.tool_calls == [
        {"id": "c1", "name": "get_weather", "arguments": '{"city": "Oslo"}',
         "parsed": {"city": "Oslo"}},
        {"id": "c2", "name": "get_time", "arguments": "{}", "parsed": {}}]
    assert (done.tok_in, done.tok_out, done.tokens_source) == (None, 6, "estimate")
    assert done.tok_s == pytest.approx(5 / 0.050)


def test_lmstudio_inline_think_split_across_chunks() -> None:
    pieces = ["<thi", "nk>Let me", " see</th", "ink>\n\nPar", "is."]
    events = [(float(i), chunk({"content": p})) for i, p in enumerate(pieces, start=1)]
    done = assemble(transcript([*events, (9.0, chunk({}, "stop")), (10.0, "[DONE]")]))
    assert (done.content, done.reasoning) == ("Paris.", "Let me see")
    assert done.reasoning_tokens is not None and 0 < done.reasoning_tokens <= done.tok_out


def test_vllm_fragments_and_usage_with_reasoning_details() -> None:
    usage = {**USAGE, "completion_tokens": 9, "completion_tokens_details":
             {"reasoning_tokens": 4}}
    done = assemble(transcript([
        (5.0, chunk({"role": "assistant", "content": ""})),
        (8.0, chunk({"reasoning": "hmm"})),
        (9.0, chunk({"tool_calls": [tool(0, "chatcmpl-tool-1", "f", "")]})),
        (10.0, chunk({"tool_calls": [tool(0, args='{"a": ')]})),
        (11.0, chunk({"tool_calls": [tool(0, args="1}")]})),
        (12.0, chunk({}, "tool_calls")),
        (13.0, chunk(None, usage=usage)),
        (14.0, "[DONE]"),
    ]))
    assert done.tool_calls[0]["parsed"] == {"a": 1}
    assert (done.tok_out, done.reasoning_tokens, done.ttft_ms) == (9, 4, 8.0)


def test_llamacpp_timings_when_no_usage() -> None:
    done = assemble(transcript([
        (15.0, chunk({"content": "The capital"})),
        (25.0, chunk({"content": " is Paris."})),
        (26.0, chunk({}, "stop", timings={"prompt_n": 12, "predicted_n": 8,
                                          "predicted_per_second": 93.5})),
        (27.0, "[DONE]"),
    ]))
    assert done.content == "The capital is Paris."
    assert (done.tok_in, done.tok_out, done.tokens_source, done.tok_s) == \
        (12, 8, "timings", 93.5)


def test_mlx_repeated_role_and_usage_in_chat_completion_object() -> None:
    events = [(float(t), chunk({"role": "assistant", "content": c}))
              for t, c in ((30, "Hel"), (40, "lo"), (50, "!"))]
    final = json.dumps({"object": "chat.completion", "choices": [],
                        "usage": {"prompt_tokens": 7, "completion_tokens": 3}})
    done = assemble(transcript([*events, (51.0, chunk({"role": "assistant"}, "stop")),
                                (52.0, final), (53.0, "[DONE]")]))
    assert (done.content, done.tok_in, done.tok_out, done.tokens_source) == \
        ("Hello!", 7, 3, "usage")
    assert (done.ttft_ms, done.decode_ms, done.tok_s) == (30.0, 20.0, 100.0)


def test_non_stream_body() -> None:
    body = {"object": "chat.completion", "choices": [{"index": 0, "finish_reason": "stop",
            "message": {"role": "assistant", "content": "<think>x</think>Paris is the capital.",
                        "tool_calls": [{"id": "c", "function": {"name": "f",
                                                                "arguments": "{}"}}]}}]}
    done = assemble(transcript([(400.0, json.dumps(body))], ended=401.0))
    assert done.error is None
    assert (done.content, done.reasoning, done.finish_reason) == \
        ("Paris is the capital.", "x", "stop")
    assert done.tool_calls[0]["name"] == "f"
    assert (done.ttft_ms, done.decode_ms, done.tok_s, done.tokens_source) == \
        (400.0, 0.0, None, "estimate")
    assert done.tok_out is not None and done.tok_out > 1


def test_single_token_has_no_rate() -> None:
    done = assemble(transcript([(5.0, chunk({"content": "A"}, "stop"))]))
    assert (done.tok_out, done.tok_s, done.error) == (1, None, None)


GARBAGE: list[tuple[str, Any, str | None]] = [
    ("shell-error-passes-through",
     transcript([(1.0, chunk({"content": "Hi"}))], error="timed out after 120 s"),
     "timed out after 120 s"),
    ("error-object", transcript([(1.0, json.dumps({"error": {"message": "model 'x' not found",
                                                             "type": "not_found"}}))]),
     "runtime error: model 'x' not found"),
    ("error-string", transcript([(1.0, json.dumps({"error": "out of memory"}))]),
     "runtime error: out of memory"),
    ("non-json", transcript([(1.0, chunk({"content": "a"})), (2.0, "<html>Bad Gateway"),
                             (3.0, "[DONE]")]), "runtime sent non-JSON data: '<html>Bad Gateway'"),
    ("non-json-truncated", transcript([(1.0, "x" * 100)]),
     "runtime sent non-JSON data: '" + "x" * 60 + "'"),
    ("json-not-object", transcript([(1.0, "[1, 2]")]), "runtime sent non-JSON data: '[1, 2]'"),
    ("truncated", transcript([(1.0, chunk({"content": "Par"}))]), "stream ended without [DONE]"),
    ("no-events", transcript([]), "stream ended without [DONE]"),
    ("http-status", transcript([(1.0, "")], status=500), "HTTP 500"),
    ("http-status-with-error-body", transcript([(1.0, json.dumps({"error": "bad model"}))],
                                               status=404), "runtime error: bad model"),
    ("not-a-dict", "garbage", "transcript is not an object: str"),
    ("none", None, "transcript is not an object: NoneType"),
    ("events-not-list", {"events": "nope"}, "stream ended without [DONE]"),
    ("malformed-event-entries", {"events": [1, [1], [None, 5], ["x", chunk({"content": "a"},
                                                                          "stop")]]}, None),
    ("weird-chunk-shapes", transcript([(1.0, json.dumps({"choices": "x"})),
                                       (2.0, json.dumps({"choices": [None]})),
                                       (3.0, json.dumps({"choices": [{"delta": []}]})),
                                       (4.0, chunk({"content": 5, "tool_calls": [None, 3]})),
                                       (5.0, chunk({"tool_calls": [{"function": "x"}]})),
                                       (6.0, "[DONE]")]), None),
]


@pytest.mark.parametrize("raw, error", [row[1:] for row in GARBAGE],
                         ids=[row[0] for row in GARBAGE])
def test_garbage_never_raises(raw: Any, error: str | None) -> None:
    done = assemble(raw)
    assert isinstance(done, Assembled)
    assert done.error == error
    assert all(call["name"] or call["arguments"] for call in done.tool_calls)
    json.dumps(done.to_json(), allow_nan=False)


def test_to_json_has_the_contract_fields() -> None:
    keys = set(assemble(transcript([])).to_json())
    assert {"content", "reasoning", "tool_calls", "finish_reason", "tok_in", "tok_out",
            "tokens_source", "ttft_ms", "total_ms", "decode_ms", "tok_s", "error"} <= keys


# -- hostile streams (issue 11) ------------------------------------------------------------

DEEP = "[" * 50_000 + "]" * 50_000
DEEP_ERROR = "runtime sent JSON nested deeper than 100 levels"
REDIRECT_TAIL = "; localrate does not follow redirects — use the final address as the base URL"


def test_a_deep_event_is_an_error_and_the_other_events_are_still_read() -> None:
    done = assemble(transcript([(1.0, chunk({"content": "Par"})), (2.0, DEEP),
                                (3.0, chunk({"content": "is"}, "stop")), (4.0, "[DONE]")]))
    assert done.error == DEEP_ERROR
    assert done.content == "Paris"


def test_deep_tool_call_arguments_are_an_error_too() -> None:
    done = assemble(transcript([
        (1.0, chunk({"tool_calls": [tool(0, "c1", "get_weather", "[" * 5000 + "]" * 5000)]},
                    "tool_calls")), (2.0, "[DONE]")]))
    assert done.error == DEEP_ERROR
    assert done.tool_calls[0]["parsed"] is None


def test_json_at_the_depth_bound_is_read() -> None:
    nested: Any = "x"
    for _ in range(90):
        nested = [nested]
    done = assemble(transcript([(1.0, chunk({"content": "ok"}, "stop", extra=nested)),
                                (2.0, "[DONE]")]))
    assert (done.error, done.content) == (None, "ok")


def test_lone_surrogates_become_replacement_characters() -> None:
    raw = '{"choices": [{"delta": {"content": "a\\ud800b", "tool_calls": [{"index": 0, ' \
          '"id": "c", "function": {"name": "f\\udfff", "arguments": "{\\"k\\": \\"\\\\ud800\\"}"' \
          '}}]}, "finish_reason": "stop"}]}'
    done = assemble(transcript([(1.0, raw), (2.0, "[DONE]")]))
    assert done.content == "a\ufffdb"
    assert done.tool_calls[0]["name"] == "f\ufffd"
    assert done.tool_calls[0]["parsed"] == {"k": "\ufffd"}
    json.dumps(done.to_json(), ensure_ascii=False).encode("utf-8")  # writable as UTF-8


def test_thousands_of_tool_call_deltas_keep_64() -> None:
    whole = [(float(i), chunk({"tool_calls": [tool(i, f"c{i}", "get_weather", "{}")]}))
             for i in range(3000)]
    done = assemble(transcript([*whole, (3000.0, chunk({}, "tool_calls")), (3001.0, "[DONE]")]))
    assert done.error is None
    assert len(done.tool_calls) == MAX_TOOL_CALLS == 64
    assert done.tool_calls_dropped == 3000 - 64
    assert [c["id"] for c in done.tool_calls] == [f"c{i}" for i in range(64)]
    assert done.tok_out == 3000  # every delta is still counted as output


def test_fragmented_calls_past_the_cap_are_counted_not_kept() -> None:
    pieces = []
    for i in range(100):
        pieces.append((float(i), chunk({"tool_calls": [tool(i, f"c{i}", "f", '{"a"')]})))
        pieces.append((float(i), chunk({"tool_calls": [tool(i, args=": 1}")]})))
    done = assemble(transcript([*pieces, (200.0, "[DONE]")]))
    assert (len(done.tool_calls), done.tool_calls_dropped) == (64, 36)
    assert all(c["parsed"] == {"a": 1} for c in done.tool_calls)


REDIRECTS = [
    ("cli", {"status": 307, "redirect": {"status": 307, "location": "http://127.0.0.1:9/v1"}},
     "the runtime answered HTTP 307 (redirect to http://127.0.0.1:9/v1)"),
    ("cli-no-location", {"status": 302, "redirect": {"status": 302, "location": None}},
     "the runtime answered HTTP 302 (a redirect)"),
    ("status-only", {"status": 308}, "the runtime answered HTTP 308 (a redirect)"),
    ("page-opaque", {"status": None, "redirect": {"status": None, "location": None}},
     "the runtime answered with a redirect (the browser does not say where to)"),
    ("location-is-one-line", {"status": 301, "redirect": {"location": "http://x/\n" + "a" * 300}},
     "the runtime answered HTTP 301 (redirect to http://x/ " + "a" * 190 + ")"),
]


@pytest.mark.parametrize("fields, start", [r[1:] for r in REDIRECTS],
                         ids=[r[0] for r in REDIRECTS])
def test_a_redirect_is_named_and_never_scored(fields: dict[str, Any], start: str) -> None:
    raw = transcript([(1.0, chunk({"content": "redirected answer"}, "stop")), (2.0, "[DONE]")])
    done = assemble({**raw, **fields})
    assert done.error == start + REDIRECT_TAIL


def test_a_transport_error_still_wins_over_a_redirect() -> None:
    done = assemble({"status": 307, "redirect": {"status": 307, "location": "x"},
                     "error": "timed out after 1 s", "events": []})
    assert done.error == "timed out after 1 s"
