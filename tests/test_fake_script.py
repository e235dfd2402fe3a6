"""The fake runtime's scripts play conversations: answers by user turn and tool round, values
echoed or computed from the conversation, tool calls with scripted ids, a context limit
refused with HTTP 400, and every chat body readable in order (tests/fakes/script.py)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.fakes import ConfigError, load_config
from tests.fakes.script import resolve

TOOL = [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]
CONVERSATION: list[dict[str, Any]] = [
    {"match": "code word", "turn": 0, "content": "OK"},
    {"match": "code word?", "turn": 1, "echo_regex": r"code word (\w+)\.",
     "content": "It was {echo}."},
    {"match": "weather", "tool_round": 0, "content": "",
     "tool_calls": [{"id": None, "name": "get_weather", "arguments": '{"city": "Oslo"}'}]},
    {"match": "weather", "tool_round": 1, "content": "Paris too.",
     "tool_calls": [{"id": "call_b", "name": "get_weather", "arguments": {"city": "Paris"}}]},
    {"match": "weather", "tool_round": 2, "echo_regex": r'"temp_c": (-?\d+)',
     "echo_in": "last", "content": "{echo} degrees"},
    {"match": "times", "echo_regex": r"(\d+) times (\d+)", "compute": "product"},
    {"match": "plus", "echo_regex": r"(\d+) plus (\d+)", "compute": "sum"},
    {"match": "letter", "echo_regex": r"letter (?P<letter>\w) in (?P<word>\w+)",
     "compute": "counti"},
    {"match": "Pong", "match_in": "last", "content": "the last message said Pong"},
    {"match": "Ping", "match_in": "conversation", "content": "Ping was said"},
]


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def said(text: str, calls: tuple[tuple[str, str], ...] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {"role": "assistant", "content": text}
    if calls:
        out["tool_calls"] = [{"id": i, "type": "function",
                              "function": {"name": "get_weather", "arguments": a}}
                             for i, a in calls]
    return out


def tool(text: str) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": "c", "content": text}


WEATHER = user("What is the weather in Paris?")
RECALL = [user("Remember the code word heron."), said("OK"), user("What was the code word?")]
ROWS = [
    ([user("Remember the code word heron.")], "OK"),
    (RECALL, "It was heron."),
    ([WEATHER, said("", (("c", "{}"),)), tool('{"temp_c": -3}'),
      said("Paris too.", (("d", "{}"),)), tool('{"temp_c": 21}')], "21 degrees"),
    ([user("What is 17 times 83?")], "1411"),
    ([user("What is 4 plus 38?")], "42"),
    ([user("Count the letter R in strawberry")], "3"),
    ([user("Ping"), said("Pong?"), tool("Pong")], "the last message said Pong"),
    ([user("Ping"), said("yes"), user("and now?")], "Ping was said"),
    ([user("hi"), said("OK"), user("What was the code word?")], "I don't know."),  # no word
]


@pytest.mark.parametrize("messages, content", ROWS)
def test_the_first_entry_whose_conditions_hold_answers(messages: list[dict[str, Any]],
                                                       content: str) -> None:
    assert resolve(CONVERSATION, {"messages": messages})["content"] == content


def test_tool_rounds_count_from_the_last_user_message() -> None:
    first = resolve(CONVERSATION, {"messages": [WEATHER]})
    assert first["tool_calls"][0]["id"] is None
    second = resolve(CONVERSATION, {"messages": [WEATHER, said("", (("c", "{}"),)),
                                                 tool("x")]})
    assert (second["content"], second["tool_calls"][0]["id"]) == ("Paris too.", "call_b")
    again = [*RECALL, said("It was heron."), WEATHER]  # a new user turn: round 0 again
    assert resolve(CONVERSATION, {"messages": again})["tool_calls"][0]["id"] is None


def serve(fake_runtime: Any, dialect: str, **meta: Any) -> Any:
    return fake_runtime({"dialect": dialect, "models": [
        {"id": "m", "script": {"answers": CONVERSATION},
         "meta": {"capabilities": ["completion", "tools"], **meta}}]})


def chat(url: str, messages: list[dict[str, Any]]) -> httpx.Response:
    body = {"model": "m", "messages": messages, "tools": TOOL, "stream": True,
            "stream_options": {"include_usage": True}}
    return httpx.post(url + "/v1/chat/completions", json=body, timeout=5)


def calls_of(response: httpx.Response) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for line in response.text.splitlines():
        if line.startswith("data: {"):
            for choice in json.loads(line[6:])["choices"]:
                out += (choice.get("delta") or {}).get("tool_calls") or []
    return out


@pytest.mark.parametrize("dialect", ["ollama", "lmstudio", "vllm", "llamacpp", "mlx"])
def test_tool_call_ids_are_sent_as_scripted(fake_runtime: Any, dialect: str) -> None:
    fake = serve(fake_runtime, dialect)
    no_id = calls_of(chat(fake.base_url, [WEATHER]))
    assert no_id and not any("id" in call for call in no_id)
    named = calls_of(chat(fake.base_url, [WEATHER, said("", (("c", "{}"),)), tool("x")]))
    assert [call["id"] for call in named if "id" in call] == ["call_b"]
    whole = httpx.post(fake.base_url + "/v1/chat/completions", timeout=5, json={
        "model": "m", "messages": [WEATHER], "stream": False}).json()
    assert "id" not in whole["choices"][0]["message"]["tool_calls"][0]


def test_every_chat_body_is_kept_in_order(fake_runtime: Any) -> None:
    fake = serve(fake_runtime, "vllm")
    for messages in ([WEATHER], RECALL):
        assert chat(fake.base_url, messages).status_code == 200
    assert [body["messages"] for body in fake.requests] == [[WEATHER], RECALL]
    assert fake.requests[0]["tools"] == TOOL
    served = httpx.get(fake.base_url + "/__fake__/requests", timeout=5).json()
    assert served == {"requests": fake.requests, "warmups": []}
    assert not any(entry["path"].startswith("/__fake__") for entry in fake.log)


CONTEXT_WORDS = {"ollama": "context is 40", "lmstudio": "context is 40",
                 "vllm": "maximum context length is 40 tokens",
                 "llamacpp": "exceeds the available context size", "mlx": "context of 40"}


@pytest.mark.parametrize("dialect", list(CONTEXT_WORDS))
def test_a_prompt_over_the_context_gets_400(fake_runtime: Any, dialect: str) -> None:
    fake = serve(fake_runtime, dialect, context_length=40)
    fits = "Remember the code word heron." + " word" * 34  # 40 tokens: 39 words and a dot
    assert chat(fake.base_url, [user(fits)]).status_code == 200
    over = chat(fake.base_url, [user(fits + " more")])
    assert over.status_code == 400
    assert CONTEXT_WORDS[dialect] in over.text
    assert len(fake.requests) == 2  # a refused request is recorded too
    unlimited = serve(fake_runtime, dialect)  # no context_length: no limit
    assert chat(unlimited.base_url, [user(fits + " more" * 100_000)]).status_code == 200


@pytest.mark.parametrize("answer, needle", [
    ({"turn": -1}, "turn: expected a whole number >= 0, got -1"),
    ({"tool_round": "1"}, "tool_round: expected a whole number"),
    ({"match_in": "all"}, "match_in: 'all' is not one of"),
    ({"echo_in": "first"}, "echo_in: 'first' is not one of"),
    ({"echo_regex": "("}, "echo_regex: '\\(': missing \\)"),
    ({"echo_regex": "(a)", "compute": "divide"}, "compute: 'divide' is not one of"),
    ({"compute": "sum"}, "compute: needs an echo_regex"),
    ({"echo_regex": "(a)(b)", "compute": "counti"}, "named groups 'word' and 'letter'"),
    ({"tool_calls": [{"name": "f", "id": 3}]}, "tool_calls\\[0\\].id: expected a string"),
    ("hello", "answers\\[0\\]: expected an object"),
])
def test_a_bad_answer_names_the_key(answer: Any, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        load_config({"dialect": "vllm", "models": [{"id": "m",
                                                     "script": {"answers": [answer]}}]})
