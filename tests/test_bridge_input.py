"""Issue 11, finding 5: malformed bodies get a 400 naming the field, never a 500.

Also: the error `type` always follows the status (405 is not a `server_error`), and a
client that leaves mid-upload is one log line, not a traceback.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from starlette.testclient import TestClient

from server.mlx_bridge.app import make_app
from server.mlx_bridge.chat import BridgeError
from tests.bridge_fake import BASE, CHAT, FakeGenerator, ask, chat_scope

JSON = {"content-type": "application/json"}
TOOL = ("<tool_call>", "</tool_call>")


def post(body: bytes | str, gen: FakeGenerator | None = None) -> Any:
    gen = gen or FakeGenerator(["x"], tool=TOOL)
    data = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    response = TestClient(make_app(gen), base_url=BASE).post(CHAT, content=data, headers=JSON)
    return response, gen


def msg(**fields: Any) -> str:
    return json.dumps(ask(messages=[{"role": "user", **fields}]))


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ("[" * 5000 + "]" * 5000, "nested deeper than 100"),
        ('{"messages": ' + "[" * 200 + "]" * 200 + "}", "nested deeper than 100"),
        (msg(content=[{"type": "text", "text": 5}]), "messages[0].content[0].text"),
        (msg(content=[5]), "messages[0].content[0]"),
        (msg(content=5), "messages[0].content"),
        (msg(content={"text": "hi"}), "messages[0].content"),
        (msg(content="hi", tool_calls=5), "messages[0].tool_calls"),
        (msg(content="hi", tool_calls=[5]), "messages[0].tool_calls[0]"),
        (msg(content="hi", tool_calls=[{"function": 5}]), "messages[0].tool_calls[0].function"),
        (msg(content="hi", tool_calls=[{"function": {"name": 5}}]),
         "messages[0].tool_calls[0].function.name"),
        (msg(content="hi", tool_calls=[{"function": {"name": "f", "arguments": 5}}]),
         "messages[0].tool_calls[0].function.arguments"),
        (msg(content="hi", name=5), "messages[0].name"),
        (msg(content="hi", tool_call_id=[]), "messages[0].tool_call_id"),
        (json.dumps(ask(messages=[{"role": 5, "content": "hi"}])), "messages[0].role"),
        (json.dumps(ask(messages=[{"role": "wizard", "content": "hi"}])), "messages[0].role"),
        (json.dumps(ask(messages=["hi"])), "messages[0]"),
        (json.dumps(ask(messages="hi")), "messages"),
        ('{"messages": [{"role": "user", "content": "\\ud800"}]}', "messages[0].content"),
        ('{"messages": [{"role": "user", "content": "hi"}], "stop": ["\\udfff"]}', "stop[0]"),
        ('{"messages": [{"role": "user", "content": "hi"}], "x\\ud800": 1}', "x"),
        (json.dumps(ask(tools=5)), "tools"),
        (json.dumps(ask(tools=[5])), "tools[0]"),
        (json.dumps(ask(tools=[{"type": "function", "function": {"name": 5}}])),
         "tools[0].function.name"),
        (json.dumps(ask(tools=[{"function": {"name": "f", "parameters": 5}}])),
         "tools[0].function.parameters"),
        (json.dumps(ask(stop=5)), "stop"),
        (json.dumps(ask(stop=["x"] * 17)), "stop"),
        (json.dumps(ask(stream="yes")), "stream"),
        (json.dumps(ask(stream_options=5)), "stream_options"),
        (json.dumps(ask(stream_options={"include_usage": "yes"})), "stream_options.include_usage"),
        (json.dumps(ask(seed=-1)), "seed"),
        (json.dumps(ask(seed=1.5)), "seed"),
        (json.dumps(ask(max_tokens=True)), "max_tokens"),
        (json.dumps(ask(model=5)), "model"),
        (json.dumps(ask(top_p=2)), "top_p"),
        (b'{"messages": [{"role": "user", "content": "\xff"}]}', "not valid JSON"),
    ],
)
def test_bad_fields_are_400_naming_the_field(body: bytes | str, where: str) -> None:
    response, gen = post(body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert where in error["message"]
    assert error["type"] == "invalid_request_error" and error["code"] == 400
    assert "\n" not in error["message"]
    assert gen.encoded == []


def test_a_template_that_refuses_the_messages_is_400() -> None:
    class Picky(FakeGenerator):
        def encode(self, messages: Any, tools: Any) -> list[int]:
            raise ValueError("Conversation roles must alternate user/assistant\nat line 1")

    response, _ = post(json.dumps(ask()), Picky(["x"]))
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert "chat template refused" in message and "alternate" in message
    assert "\n" not in message


def test_405_is_a_client_error_with_allow() -> None:
    c = TestClient(make_app(FakeGenerator(["x"])), base_url=BASE)
    response = c.get(CHAT)
    assert response.status_code == 405
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert "POST" in response.headers["allow"]
    assert c.delete("/health").json()["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    ("status", "kind"),
    [(400, "invalid_request_error"), (403, "permission_error"), (404, "not_found_error"),
     (405, "invalid_request_error"), (408, "invalid_request_error"),
     (413, "request_too_large"), (415, "invalid_request_error"), (500, "server_error"),
     (503, "overloaded_error")],
)
def test_error_type_follows_the_status(status: int, kind: str) -> None:
    assert BridgeError(status, "x").body()["error"] == {"message": "x", "type": kind,
                                                        "code": status}


def test_client_leaving_mid_upload_is_one_log_line(caplog: pytest.LogCaptureFixture) -> None:
    app = make_app(FakeGenerator(["x"]))
    parts = [{"type": "http.request", "body": b'{"messages": [', "more_body": True},
             {"type": "http.disconnect"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return parts.pop(0) if parts else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = chat_scope((b"content-type", b"application/json"), (b"content-length", b"5000"))
    with caplog.at_level(logging.INFO):
        asyncio.run(app(scope, receive, send))  # raised ClientDisconnect before
    records = [r for r in caplog.records if "upload" in r.getMessage()]
    assert len(records) == 1 and records[0].exc_info is None
    assert all(r.exc_info is None for r in caplog.records)
    assert sent[0]["status"] == 400
