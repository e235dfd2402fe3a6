"""A fake `Generator` for the MLX bridge's tests, and small helpers to talk to the bridge.

`FakeGenerator` counts one prompt token per word (plus 6 for the template), yields fixed
pieces `delay` seconds apart, and can simulate a slow prefill (`prefill_s`, for prompts of
more than `slow_over` tokens) that looks at the stop flag every 50 ms, as
`bridge_gen.prefill` does between chunks. It records what reached it, whether its
iterator was closed and on which thread. `serving_in_thread` runs an app under the real
uvicorn configuration (server/cli/serving.py) on a free loopback port.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from server.cli import serving
from server.mlx_bridge.gen import GenParams, ModelInfo, Piece, capabilities_for

BASE = "http://127.0.0.1:8081"
CHAT = "/v1/chat/completions"
TEMPLATE_TOKENS = 6


class FakeGenerator:
    """Yields fixed pieces; see the module docstring."""

    def __init__(
        self,
        pieces: list[str],
        think: tuple[str, str] | None = None,
        tool: tuple[str, str] | None = None,
        gate: threading.Event | None = None,
        delay: float = 0.0,
        prefill_s: float = 0.0,
        context: int = 8192,
        slow_over: int = 0,
    ) -> None:
        self.info = ModelInfo(
            "fake-model",
            capabilities_for(tool is not None, think is not None, context),
            context,
            think,
            tool,
        )
        self.pieces, self.gate, self.delay, self.prefill_s = pieces, gate, delay, prefill_s
        self.slow_over = slow_over  # only prompts longer than this take `prefill_s`
        self.encoded: list[tuple[Any, Any]] = []
        self.template_kwargs: list[dict[str, Any] | None] = []  # per encode, in order
        self.calls: list[tuple[list[int], GenParams]] = []
        self.started = threading.Event()
        self.prefilling = threading.Event()
        self.closed = threading.Event()
        self.prefill_stopped = threading.Event()
        self.closed_on = ""
        self.yielded = 0

    def encode(self, messages: list[dict[str, Any]], tools: Any,
               template_kwargs: dict[str, Any] | None = None) -> list[int]:
        self.encoded.append((messages, tools))
        self.template_kwargs.append(template_kwargs)
        words = 0
        for message in messages:
            content = message.get("content") or ""
            if isinstance(content, list):
                content = " ".join(part["text"] for part in content)
            words += len(content.split())
        return [1] * (TEMPLATE_TOKENS + words)

    def stream(
        self, prompt: list[int], params: GenParams, stop: threading.Event
    ) -> Iterator[Piece]:
        self.calls.append((prompt, params))

        def run() -> Iterator[Piece]:
            try:
                slow = len(prompt) > self.slow_over
                if slow:
                    self.prefilling.set()
                deadline = time.monotonic() + (self.prefill_s if slow else 0.0)
                while time.monotonic() < deadline:
                    if stop.is_set():
                        self.prefill_stopped.set()
                        return
                    time.sleep(0.05)
                for i, text in enumerate(self.pieces, start=1):
                    self.started.set()
                    if self.gate is not None:
                        self.gate.wait(10)
                    time.sleep(self.delay)
                    self.yielded = i
                    last = i == len(self.pieces)
                    finish = "stop" if last else ("length" if i == params.max_tokens else None)
                    yield Piece(text, len(prompt), i, finish)
                    if finish:
                        return
            finally:
                self.closed_on = threading.current_thread().name
                self.closed.set()

        return run()

    def parse_tool_call(self, text: str, tools: Any) -> list[dict[str, Any]]:
        return [json.loads(text)]


def ask(**extra: Any) -> dict[str, Any]:
    """A small chat body for the fake model."""
    return {"model": "fake-model", "messages": [{"role": "user", "content": "hi"}], **extra}


def sse(text: str) -> list[Any]:
    """The data payloads of an SSE body, JSON-decoded except [DONE]."""
    out: list[Any] = []
    for block in text.split("\n\n"):
        if block.startswith("data: "):
            data = block[6:]
            out.append(data if data == "[DONE]" else json.loads(data))
    return out


def chat_scope(*headers: tuple[bytes, bytes]) -> dict[str, Any]:
    """The ASGI scope of a POST to the chat route from 127.0.0.1, Host 127.0.0.1:8081 plus
    `headers`: for tests that drive the app's ASGI callable by hand."""
    return {
        "type": "http", "method": "POST", "path": CHAT, "raw_path": CHAT.encode(),
        "query_string": b"", "root_path": "", "scheme": "http", "http_version": "1.1",
        "headers": [(b"host", b"127.0.0.1:8081"), *headers],
        "client": ("127.0.0.1", 5555), "server": ("127.0.0.1", 8081),
    }


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving_in_thread(app: Any, cap: int = 64, head_s: float | None = None) -> Iterator[int]:
    """Serve `app` with `serving.server` on 127.0.0.1 in a thread; yield the port."""
    port = free_port()
    server = serving.server(app, "127.0.0.1", port, cap=cap, log_level="warning")
    if head_s is not None:
        protocol = server.config.http
        quick = type("Quick", (protocol,), {"request_head_s": head_s})  # type: ignore[misc]
        server.config.http = quick
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        worker = getattr(getattr(app, "state", None), "worker", None)
        if worker is not None:
            worker.shutdown()
        thread.join(10)


def raw_request(port: int, body: dict[str, Any], path: str = CHAT) -> socket.socket:
    """Send a JSON POST over a plain socket (so the test decides when the client leaves)."""
    data = json.dumps(body).encode()
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
    )
    sock.sendall(head.encode() + data)
    return sock


def wait_for(condition: Any, timeout_s: float = 10.0) -> bool:
    """Poll `condition()` every 20 ms until it is true or `timeout_s` passes."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True
