"""Issue 11, findings 2 and 4: what one request may cost the bridge.

A prompt is measured against the model's context (413 naming both numbers), the number
of messages is capped, prefill stops between chunks when the client leaves, a waiter that
leaves gives its place back, and shutdown stops a running prefill. Transport matters
here, so the disconnect tests run the app under the real uvicorn setup on loopback.
"""

from __future__ import annotations

import itertools
import json
import socket
import threading
import time
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from server.mlx_bridge.app import make_app
from server.mlx_bridge.gen import PREFILL_MAX, next_chunk, prefill
from server.mlx_bridge.parse import MAX_MESSAGES
from tests.bridge_fake import (
    BASE,
    CHAT,
    FakeGenerator,
    ask,
    raw_request,
    serving_in_thread,
    wait_for,
)


def words(n: int) -> list[dict[str, Any]]:
    return [{"role": "user", "content": "w " * n}]


def client(gen: FakeGenerator, **options: Any) -> TestClient:
    return TestClient(make_app(gen, **options), base_url=BASE)


@pytest.mark.parametrize("stream", [False, True])
def test_prompt_plus_max_tokens_over_the_context_is_413(stream: bool) -> None:
    gen = FakeGenerator(["x"], context=100)
    body = ask(messages=words(90), max_tokens=10, stream=stream)  # 96 + 10 > 100
    response = client(gen).post(CHAT, json=body)
    assert response.status_code == 413, response.text
    error = response.json()["error"]
    assert error["type"] == "request_too_large"
    for number in ("96 tokens", "max_tokens is 10", "context of 100 tokens"):
        assert number in error["message"]
    assert gen.calls == []  # no generation started


def test_a_prompt_that_fills_the_context_is_413_without_max_tokens() -> None:
    gen = FakeGenerator(["x"], context=100)
    response = client(gen).post(CHAT, json=ask(messages=words(94)))  # 100 tokens
    assert response.status_code == 413
    assert "the prompt is 100 tokens" in response.json()["error"]["message"]


def test_left_out_max_tokens_is_fitted_into_the_context() -> None:
    gen = FakeGenerator(["x"], context=100)
    response = client(gen).post(CHAT, json=ask(messages=words(90)))  # 96 tokens
    assert response.status_code == 200
    assert gen.calls[0][1].max_tokens == 4


def test_max_tokens_alone_over_the_context_is_413_before_the_model() -> None:
    gen = FakeGenerator(["x"], context=100)
    response = client(gen).post(CHAT, json=ask(max_tokens=100))
    assert response.status_code == 413
    assert "max_tokens is 100" in response.json()["error"]["message"]
    assert gen.encoded == []


def test_too_many_messages_is_413_before_the_model() -> None:
    gen = FakeGenerator(["x"])
    messages = [{"role": "user", "content": "hi"}] * (MAX_MESSAGES + 1)
    response = client(gen).post(CHAT, json=ask(messages=messages))
    assert response.status_code == 413
    assert f"{MAX_MESSAGES + 1} messages" in response.json()["error"]["message"]
    assert str(MAX_MESSAGES) in response.json()["error"]["message"]
    assert gen.encoded == []


@pytest.mark.parametrize(
    ("size", "elapsed", "expected"),
    [(16, 0.1, 32), (16, 0.4, 16), (16, 1.6, 4), (16, 30.0, 1), (2048, 0.01, PREFILL_MAX),
     (8, 0.0, 16)],
)
def test_next_prefill_chunk(size: int, elapsed: float, expected: int) -> None:
    assert next_chunk(size, elapsed) == expected


def test_prefill_runs_in_chunks_and_stops_between_them() -> None:
    now = [0.0]
    chunks: list[tuple[int, int]] = []
    stop = threading.Event()

    def run_chunk(start: int, end: int) -> None:
        chunks.append((start, end))
        now[0] += (end - start) * 0.1  # 10 tokens/s: a slow CPU
        if len(chunks) == 3:
            stop.set()  # the client left during the third chunk

    assert prefill(10_000, run_chunk, stop, clock=lambda: now[0]) is False
    assert len(chunks) == 3
    assert chunks[0] == (0, 16)
    assert all(end - start <= 16 for start, end in chunks)  # sized to ~0.4 s each

    whole: list[tuple[int, int]] = []
    assert prefill(50, lambda a, b: whole.append((a, b)), threading.Event()) is True
    assert whole[0][0] == 0 and whole[-1][1] == 49  # the last token is left to decode
    assert all(a == b for (_, a), (b, _) in itertools.pairwise(whole))


def test_a_client_leaving_during_prefill_frees_the_bridge() -> None:
    gen = FakeGenerator(["ok"], prefill_s=60, slow_over=20)
    app = make_app(gen)
    with serving_in_thread(app) as port:
        sock = raw_request(port, ask(messages=words(50), stream=True))
        assert gen.prefilling.wait(10)
        sock.close()
        left = time.monotonic()
        answer = httpx.post(f"http://127.0.0.1:{port}{CHAT}", json=ask(), timeout=30)
        waited = time.monotonic() - left
        assert answer.status_code == 200
        assert gen.prefill_stopped.is_set()
        assert waited < 5  # was: the whole 60 s prefill


def test_a_waiter_that_leaves_gives_its_place_back() -> None:
    gate = threading.Event()
    gen = FakeGenerator(["a", "b"], gate=gate)
    app = make_app(gen, max_waiting=1)
    worker = app.state.worker
    with serving_in_thread(app) as port:
        url = f"http://127.0.0.1:{port}{CHAT}"
        results: list[httpx.Response] = []
        first = threading.Thread(target=lambda: results.append(httpx.post(url, json=ask(),
                                                                         timeout=30)))
        first.start()
        assert gen.started.wait(10)
        waiter = raw_request(port, ask())
        assert wait_for(lambda: worker._admitted == 2)
        waiter.close()
        assert wait_for(lambda: worker._admitted == 1)  # the place is given back at once
        third: list[httpx.Response] = []
        late = threading.Thread(target=lambda: third.append(httpx.post(url, json=ask(),
                                                                       timeout=30)))
        late.start()
        assert wait_for(lambda: worker._admitted == 2)
        gate.set()
        first.join(20)
        late.join(20)
        assert results[0].status_code == 200
        assert third[0].status_code == 200  # was: 503, the place still held
        assert worker.generations == 2  # the waiter that left never reached the model


def test_shutdown_stops_a_running_prefill() -> None:
    gen = FakeGenerator(["ok"], prefill_s=60)
    app = make_app(gen)
    with serving_in_thread(app) as port:
        sock = raw_request(port, ask(stream=True))
        assert gen.prefilling.wait(10)
        app.state.worker.shutdown()
        assert gen.prefill_stopped.wait(5)
        reply = b""
        while b"[DONE]" not in reply and (data := sock.recv(65536)):
            reply += data
        sock.close()
    assert b"200" in reply.splitlines()[0]
    assert b"shutting down" in reply
    model_threads = [t for t in threading.enumerate() if t.name == "localrate-mlx"]
    assert model_threads and all(t.daemon for t in model_threads)


def test_streamed_413_is_json_not_an_event_stream() -> None:
    gen = FakeGenerator(["x"], context=50)
    response = client(gen).post(CHAT, json=ask(messages=words(60), stream=True))
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/json")
    assert json.loads(response.text)["error"]["code"] == 413


def test_a_body_that_never_finishes_is_408() -> None:
    app = make_app(FakeGenerator(["x"]), body_timeout_s=0.3)
    with serving_in_thread(app) as port:
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(f"POST {CHAT} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: "
                     "application/json\r\nContent-Length: 1000\r\n\r\n{\"mess".encode())
        reply = b""
        while b"not received" not in reply and (data := sock.recv(65536)):
            reply += data  # the head and the body may arrive in separate segments
        sock.close()
    assert reply.startswith(b"HTTP/1.1 408")
    assert b"not received within 0.3 s" in reply


@pytest.mark.parametrize("stream", [False, True])
def test_requests_after_shutdown_get_503_not_a_hang(stream: bool) -> None:
    gen = FakeGenerator(["x"])
    app = make_app(gen)
    c = TestClient(app, base_url=BASE)
    assert c.post(CHAT, json=ask()).status_code == 200
    app.state.worker.shutdown()
    response = c.post(CHAT, json=ask(stream=stream))
    assert response.status_code == 503
    assert "shutting down" in response.json()["error"]["message"]
