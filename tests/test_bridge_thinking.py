"""The MLX bridge honours what localrate sends for thinking: the body's
`chat_template_kwargs` reach the chat template (as mlx-lm's own server passes them), and a
bad one is a 400 naming the field."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.testclient import TestClient

from evaluator.request import build_request
from evaluator.settings import run_settings
from evaluator.suite import case_from_json
from server.mlx_bridge.app import make_app
from tests.bridge_fake import BASE, CHAT, FakeGenerator, ask

CASE = case_from_json({"id": "c", "input": "Hi", "expect": {"kind": "contains", "value": "x"}})


def post(body: dict[str, Any]) -> tuple[Any, FakeGenerator]:
    gen = FakeGenerator(["ok"])
    response = TestClient(make_app(gen), base_url=BASE).post(CHAT, json=body)
    return response, gen


@pytest.mark.parametrize(("level", "kwargs"), [
    ("off", {"enable_thinking": False}),
    ("high", {"enable_thinking": True, "reasoning_effort": "high"}),
    ("default", None),
])
def test_localrates_thinking_reaches_the_template(level: str,
                                                  kwargs: dict[str, Any] | None) -> None:
    body = build_request(CASE, "fake-model", run_settings(thinking=level, max_tokens=16),
                         "mlx")
    response, gen = post({**body, "stream": False})
    assert response.status_code == 200, response.text
    assert gen.template_kwargs == [kwargs]


@pytest.mark.parametrize(("value", "where"), [
    ([1], "chat_template_kwargs: expected an object"),
    ({"tools": []}, "chat_template_kwargs.tools: not a name the chat template may take"),
    ({"add_generation_prompt": False}, "chat_template_kwargs.add_generation_prompt: not a"),
    ({"bad name": 1}, "chat_template_kwargs.bad name: not a name"),
    ({"enable_thinking": {"deep": True}}, ("chat_template_kwargs.enable_thinking: expected "
                                          "null, a boolean, a number or a short string")),
    ({f"k{i}": 1 for i in range(17)}, "chat_template_kwargs: at most 16 names"),
])
def test_a_bad_template_kwargs_is_a_400_naming_it(value: Any, where: str) -> None:
    response, gen = post(ask(chat_template_kwargs=value))
    assert response.status_code == 400
    assert json.loads(response.text)["error"]["message"].startswith(where)
    assert gen.encoded == []
