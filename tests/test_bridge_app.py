"""The MLX bridge's HTTP side with a fake generator: routes, shapes, security, queue."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from server.mlx_bridge.app import is_loopback_host, make_app
from server.mlx_bridge.chat import ChatRequest
from server.mlx_bridge.gen import GenParams
from server.mlx_bridge.text import OutputSplitter
from server.mlx_bridge.worker import generate
from tests.bridge_fake import BASE, CHAT, FakeGenerator, ask, sse

THINK = ("<think>", "</think>")
TOOL = ("<tool_call>", "</tool_call>")
JSON = {"content-type": "application/json"}


def client(gen: FakeGenerator, **options: Any) -> TestClient:
    return TestClient(make_app(gen, **options), base_url=BASE)


def test_models_lists_only_the_served_model_with_metadata() -> None:
    body = client(FakeGenerator(["x"], tool=TOOL)).get("/v1/models").json()
    assert [m["id"] for m in body["data"]] == ["fake-model"]
    card = body["data"][0]
    assert card["owned_by"] == "localrate-mlx"
    assert card["capabilities"] == ["streaming", "tool-use", "function-calling"]
    assert card["context_length"] == 8192


def test_health_ok() -> None:
    assert client(FakeGenerator(["x"])).get("/health").json() == {
        "status": "ok",
        "model": "fake-model",
        "generations": 0,
    }


def test_non_streaming_completion_with_usage() -> None:
    body = client(FakeGenerator(["Hel", "lo", "."])).post(CHAT, json=ask()).json()
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "Hello."}
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["usage"] == {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}


@pytest.mark.parametrize("include_usage", [True, False])
def test_streaming_chunks_and_usage(include_usage: bool) -> None:
    response = client(FakeGenerator(["Hel", "lo"])).post(
        CHAT, json=ask(stream=True, stream_options={"include_usage": include_usage})
    )
    assert response.headers["content-type"].startswith("text/event-stream")
    # compact JSON, as OpenAI sends it: clients look for '"content":""' to skip the
    # empty first delta when they time tokens
    assert '"delta":{"role":"assistant","content":""}' in response.text
    events = sse(response.text)
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == "Hello"
    finishes = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
    assert finishes[-1] == "stop"
    usage = [c["usage"] for c in chunks if c.get("usage")]
    assert usage == (
        [{"prompt_tokens": 7, "completion_tokens": 2, "total_tokens": 9}] if include_usage else []
    )


def test_reasoning_goes_to_delta_reasoning() -> None:
    gen = FakeGenerator(["<thi", "nk>Let me ", "think.</th", "ink>Par", "is"], think=THINK)
    events = sse(client(gen).post(CHAT, json=ask(stream=True)).text)[:-1]
    deltas = [e["choices"][0]["delta"] for e in events]
    assert "".join(d.get("reasoning", "") for d in deltas) == "Let me think."
    assert "".join(d.get("content", "") for d in deltas) == "Paris"
    body = (
        client(FakeGenerator(["<think>hm</think>", "ok"], think=THINK))
        .post(CHAT, json=ask())
        .json()
    )
    assert body["choices"][0]["message"]["reasoning"] == "hm"
    assert body["choices"][0]["message"]["content"] == "ok"


def test_tool_calls_streamed_whole_with_finish_reason() -> None:
    call = '{"name": "get_weather", "arguments": {"city": "Paris"}}'
    gen = FakeGenerator(["<tool_", "call>" + call[:10], call[10:], "</tool_call>"], tool=TOOL)
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]
    events = sse(client(gen).post(CHAT, json=ask(stream=True, tools=tools)).text)[:-1]
    calls = [tc for e in events for tc in e["choices"][0]["delta"].get("tool_calls", [])]
    assert len(calls) == 1
    assert calls[0]["index"] == 0 and calls[0]["id"].startswith("call_")
    assert calls[0]["function"] == {"name": "get_weather", "arguments": '{"city": "Paris"}'}
    assert events[-1]["choices"][0]["finish_reason"] == "tool_calls"
    assert gen.encoded[0][1] == tools


def test_tools_refused_when_the_template_has_no_tool_support() -> None:
    response = client(FakeGenerator(["x"])).post(CHAT, json=ask(tools=[{"type": "function"}]))
    assert response.status_code == 400
    assert "tool" in response.json()["error"]["message"]


def test_stop_string_ends_generation_and_closes_the_model_iterator() -> None:
    gen = FakeGenerator(["one ", "two ST", "OP three", " four", " five"])
    body = client(gen).post(CHAT, json=ask(stop=["STOP"])).json()
    assert body["choices"][0]["message"]["content"] == "one two "
    assert body["choices"][0]["finish_reason"] == "stop"
    assert gen.closed.wait(5) and gen.yielded == 3
    assert gen.closed_on.startswith("localrate-mlx")  # mlx streams are per thread


def test_params_reach_the_generator() -> None:
    gen = FakeGenerator(["a", "b", "c", "d"])
    body = (
        client(gen).post(CHAT, json=ask(max_tokens=2, temperature=0.7, seed=42, top_p=0.9)).json()
    )
    assert gen.calls[0][1] == GenParams(max_tokens=2, temperature=0.7, top_p=0.9, seed=42)
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["choices"][0]["message"]["content"] == "ab"


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"[1, 2]", 400, "JSON object"),
        (json.dumps({"messages": []}).encode(), 400, "messages"),
        (json.dumps(ask(model="other")).encode(), 404, "'other' not found"),
        (json.dumps(ask(max_tokens=0)).encode(), 400, "max_tokens"),
        (json.dumps(ask(temperature="hot")).encode(), 400, "temperature"),
        (
            json.dumps(
                {"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}
            ).encode(),
            400,
            "text-only",
        ),
    ],
)
def test_json_errors(body: bytes, status: int, needle: str) -> None:
    response = client(FakeGenerator(["x"])).post(CHAT, content=body, headers=JSON)
    assert response.status_code == status
    assert needle in response.json()["error"]["message"]


def test_body_over_the_limit_is_413() -> None:
    response = client(FakeGenerator(["x"]), max_body=1000).post(CHAT, json=ask(pad="x" * 2000))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == 413


def test_unknown_route_is_json_404() -> None:
    response = client(FakeGenerator(["x"])).get("/v1/nothing")
    assert response.status_code == 404 and "error" in response.json()


@pytest.mark.parametrize(
    ("host", "ok"),
    [
        ("127.0.0.1:8081", True),
        ("localhost:8081", True),
        ("localhost", True),
        ("[::1]:8081", True),
        ("127.0.0.2", True),
        ("evil.example", False),
        ("evil.example:8081", False),
        ("192.168.1.10:8081", False),
        ("", False),
        ("127.0.0.1.evil.example", False),
    ],
)
def test_loopback_host_rule(host: str, ok: bool) -> None:
    assert is_loopback_host(host) is ok


def test_foreign_host_header_is_refused() -> None:
    response = client(FakeGenerator(["x"])).get("/v1/models", headers={"host": "evil.example:8081"})
    assert response.status_code == 403
    assert "evil.example" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("http://127.0.0.1:8765", True),
        ("http://localhost:8765", True),
        ("https://rate.example.org", True),
        ("https://evil.example", False),
        ("http://127.0.0.1:9999", False),
    ],
)
def test_cors_allowlist(origin: str, allowed: bool) -> None:
    c = client(FakeGenerator(["x"]), allow_origins=["https://rate.example.org"])
    simple = c.get("/v1/models", headers={"origin": origin})
    assert simple.headers.get("access-control-allow-origin") == (origin if allowed else None)
    preflight = c.options(
        CHAT,
        headers={
            "origin": origin,
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type",
        },
    )
    assert preflight.headers.get("access-control-allow-origin") == (origin if allowed else None)


def test_full_queue_gets_503_with_retry_after() -> None:
    gate = threading.Event()
    gen = FakeGenerator(["a", "b"], gate=gate)
    app = make_app(gen, max_waiting=0)

    async def scenario() -> tuple[httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
            first = asyncio.create_task(http.post(CHAT, json=ask()))
            await asyncio.to_thread(gen.started.wait, 5)
            second = await http.post(CHAT, json=ask())
            gate.set()
            return await first, second

    first, second = asyncio.run(scenario())
    assert second.status_code == 503 and second.headers["retry-after"].isdigit()
    assert "busy" in second.json()["error"]["message"]
    assert first.status_code == 200 and first.json()["choices"][0]["message"]["content"] == "ab"


def test_client_disconnect_stops_generation() -> None:
    pieces = [f"w{i} " for i in range(200)]
    gen = FakeGenerator(pieces, delay=0.02)  # 4 s in all, unless stopped
    app = make_app(gen)
    body = json.dumps(ask(stream=True)).encode()
    chunks: list[bytes] = []

    async def scenario() -> None:
        gone = asyncio.Event()
        sent_body = False

        async def receive() -> dict[str, Any]:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": body, "more_body": False}
            await gone.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if len(chunks) == 3:
                    gone.set()

        scope = {
            "type": "http",
            "method": "POST",
            "path": CHAT,
            "raw_path": CHAT.encode(),
            "query_string": b"",
            "root_path": "",
            "scheme": "http",
            "http_version": "1.1",
            "headers": [(b"host", b"127.0.0.1:8081"), (b"content-type", b"application/json")],
            "client": ("127.0.0.1", 5555),
            "server": ("127.0.0.1", 8081),
        }
        await asyncio.wait_for(app(scope, receive, send), 10)
        # wait with the loop still running, as a server's is (a closed loop would
        # stop the worker's token loop on its own)
        assert await asyncio.to_thread(gen.closed.wait, 5)

    asyncio.run(scenario())
    assert gen.yielded < 50
    assert b"[DONE]" not in b"".join(chunks)


def test_token_loop_stops_between_tokens_when_told() -> None:
    gen = FakeGenerator([f"w{i} " for i in range(10)])
    req = ChatRequest([{"role": "user", "content": "hi"}], None, GenParams(), [], True, False)
    stop = threading.Event()
    events: list[tuple[str, Any]] = []

    def emit(event: tuple[str, Any]) -> None:
        events.append(event)
        if len(events) == 3:
            stop.set()  # what run_generation does when the client goes away

    generate(gen, req, [1] * 7, req.params, emit, stop)
    assert [e[1] for e in events] == ["w0 ", "w1 ", "w2 "]  # and no "end"
    assert gen.yielded == 3 and gen.closed.is_set()


def test_health_while_loading_and_after_a_failed_load() -> None:
    gate = threading.Event()

    def slow() -> FakeGenerator:
        gate.wait(10)
        return FakeGenerator(["x"])

    with TestClient(make_app(load=slow), base_url=BASE) as c:
        assert c.get("/health").status_code == 503
        assert c.post(CHAT, json=ask()).status_code == 503
        gate.set()
        for _ in range(100):
            if c.get("/health").status_code == 200:
                break
            threading.Event().wait(0.05)
        assert c.get("/v1/models").json()["data"][0]["id"] == "fake-model"

    def broken() -> FakeGenerator:
        raise OSError("no such model folder: /nowhere")

    with TestClient(make_app(load=broken), base_url=BASE) as c:
        for _ in range(100):
            if c.get("/health").status_code == 500:
                break
            threading.Event().wait(0.05)
        assert "/nowhere" in c.get("/health").json()["error"]


@pytest.mark.parametrize(
    ("pieces", "stop", "expected"),
    [
        (["ab", "c"], [], [("content", "ab"), ("content", "c")]),
        (["a<th", "ink>r</think>c"], [], [("content", "a"), ("reasoning", "r"), ("content", "c")]),
        (["x<t", "y"], [], [("content", "x"), ("content", "<ty")]),
        (["one S", "TOP two"], ["STOP"], [("content", "one "), ("content", "")]),
        (["<tool_call>{}", "</tool_call>after"], [], [("tool", "{}"), ("content", "after")]),
        (['<tool_call>{"a"'], [], [("tool", '{"a"')]),
        (["<think>unfinished"], [], [("reasoning", "unfinished")]),
    ],
)
def test_output_splitter(
    pieces: list[str], stop: list[str], expected: list[tuple[str, str]]
) -> None:
    splitter = OutputSplitter(THINK, TOOL, stop)
    events = [e for p in pieces for e in splitter.feed(p)] + splitter.finish()
    merged = [e for e in events if e[1] or e[0] == "tool"]
    want = [e for e in expected if e[1] or e[0] == "tool"]
    assert "".join(t for k, t in merged if k == "content") == "".join(
        t for k, t in want if k == "content"
    )
    assert [e for e in merged if e[0] != "content"] == [e for e in want if e[0] != "content"]
