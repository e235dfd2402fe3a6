"""Thinking mode as each runtime reads it: the evaluator's table, and the request body each
fake runtime receives from `localrate bench --thinking LEVEL` (sources in
docs/runtimes.md, "Thinking mode")."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from evaluator.page_api import call
from evaluator.settings import THINKING_LEVELS
from evaluator.thinking import thinking_applied, thinking_fields, thinking_note
from server.cli.main import main
from tests.test_cli import env_for

MODEL = "think:4b"
ANSWERS = {"answers": [{"match": "", "content": "Paris 4 hello"}]}
OFF_KWARGS = {"chat_template_kwargs": {"enable_thinking": False}}


def kwargs_level(level: str) -> dict[str, Any]:
    return {"chat_template_kwargs": {"enable_thinking": True, "reasoning_effort": level}}


# (runtime, level) -> the fields the body gains
TABLE = [
    ("ollama", "off", {"reasoning_effort": "none"}),
    ("ollama", "low", {"reasoning_effort": "low"}),
    ("ollama", "medium", {"reasoning_effort": "medium"}),
    ("ollama", "high", {"reasoning_effort": "high"}),
    ("openai", "off", {"reasoning_effort": "none"}),
    ("openai", "high", {"reasoning_effort": "high"}),
    *[(rt, "off", OFF_KWARGS) for rt in ("llamacpp", "vllm", "mlx")],
    *[(rt, level, kwargs_level(level)) for rt in ("llamacpp", "vllm", "mlx")
      for level in ("low", "medium", "high")],
    *[("lmstudio", level, {}) for level in THINKING_LEVELS],
    *[(rt, "default", {}) for rt in ("ollama", "llamacpp", "vllm", "mlx", "openai")],
    ("unknown-runtime", "high", {}),
]


@pytest.mark.parametrize(("runtime", "level", "fields"), TABLE)
def test_the_fields_each_runtime_reads(runtime: str, level: str,
                                       fields: dict[str, Any]) -> None:
    assert thinking_fields(runtime, level) == fields
    applied = level == "default" or bool(fields)
    assert thinking_applied(runtime, level) is applied
    assert (thinking_note(runtime, level) is None) is applied


def test_lm_studio_says_why_nothing_is_sent() -> None:
    note = thinking_note("lmstudio", "off")
    assert note is not None and "LM Studio" in note and "off" in note


def bench(env: dict[str, str], *args: str) -> Any:
    return CliRunner().invoke(main, ["bench", "--suite", "smoke", "--model", MODEL,
                                     "--json", "--no-warmup", *args],
                              env=env, catch_exceptions=False)


@pytest.mark.parametrize("dialect", ["ollama", "lmstudio", "vllm", "llamacpp", "mlx"])
@pytest.mark.parametrize("level", THINKING_LEVELS)
def test_the_fake_receives_the_runtimes_own_fields(fake_runtime: Any, dialect: str,
                                                   level: str) -> None:
    fake = fake_runtime({"dialect": dialect, "models": [{"id": MODEL, "script": ANSWERS}]})
    result = bench(env_for({dialect: fake}), "--thinking", level)
    assert result.exit_code == 0, result.output
    want = dict(TABLE_BY[(dialect, level)])
    assert len(fake.requests) == 3
    for body in fake.requests:
        assert {k: body[k] for k in ("reasoning_effort", "chat_template_kwargs")
                if k in body} == want
    record = json.loads(result.stdout)
    assert record["settings"].get("thinking", "default") == level
    warned = f"Warning: {MODEL}: thinking {level}" in result.stderr
    assert warned is (dialect == "lmstudio" and level != "default")


TABLE_BY = {(rt, level): fields for rt, level, fields in TABLE}


def test_a_base_url_alone_gets_the_openai_field(fake_runtime: Any) -> None:
    fake = fake_runtime({"dialect": "vllm", "models": [{"id": MODEL, "script": ANSWERS}]})
    result = bench({}, "--base-url", fake.base_url, "--thinking", "off")
    assert result.exit_code == 0, result.output
    assert {body["reasoning_effort"] for body in fake.requests} == {"none"}
    assert not any("chat_template_kwargs" in body for body in fake.requests)


def test_every_turn_of_a_conversation_carries_it() -> None:
    from evaluator.conversation import next_request
    from evaluator.suite import case_from_json
    case = case_from_json({"id": "two", "input": "Remember falcon.", "followUps": ["Word?"],
                           "expect": {"kind": "contains", "value": "falcon"}})
    done = {"url": "u", "request": {}, "status": 200, "ended_ms": 2.0, "error": None,
            "events": [[1.0, json.dumps({"choices": [{"delta": {"content": "OK"},
                                                      "finish_reason": "stop"}]})],
                       [2.0, "[DONE]"]]}
    settings = {"thinking": "off", "system": "Be brief."}
    first = next_request(case, "m", settings, [], "vllm")["body"]
    second = next_request(case, "m", settings, [done], "vllm")["body"]
    for body in (first, second):
        assert body["chat_template_kwargs"] == {"enable_thinking": False}
        assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert [m["role"] for m in second["messages"]] == ["system", "user", "assistant", "user"]


def test_the_page_op_sends_the_same_body() -> None:
    case = {"id": "c", "input": "Hi", "expect": {"kind": "contains", "value": "x"}}
    reply = json.loads(call(json.dumps({"op": "build_request", "args": {
        "case": case, "model_id": "m", "settings": {"thinking": "low"},
        "runtime": "ollama"}})))
    assert reply["ok"] and reply["value"]["reasoning_effort"] == "low"
    note = json.loads(call(json.dumps({"op": "thinking_note", "args": {
        "runtime": "lmstudio", "thinking": "high"}})))
    assert note["ok"] and "LM Studio" in note["value"]
