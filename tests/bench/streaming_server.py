"""A deterministic OpenAI-style streaming server for the benchmark (raw asyncio).

Answers ``POST /v1/chat/completions`` with ``chat.completion.chunk`` Server-Sent Events:
``--tokens N`` content tokens as fast as the socket takes them, or at ``--rate`` tokens
per second (scheduled against the start, so sleeps never drift), then a finish chunk, a
usage chunk and ``[DONE]``. With ``--script FILE`` (the fake runtime's scripts, e.g.
tests/fakes/scripts/strong.json: ``{"answers": [{"match", "content", "reasoning"?,
"tool_calls"?}]}``) a prompt containing an answer's ``match`` gets that answer instead.
``"stream": false`` gets one ``chat.completion`` body. ``GET /v1/models`` lists one
model, so discovery finds it when pointed at through e.g. ``VLLM_BASE_URL``. Every
response allows any origin, and ``OPTIONS`` answers CORS preflights, so the page can use it.

Run it::

    python -m tests.bench.streaming_server --tokens 500 --rate 200 [--port 0]

It prints ``ready http://127.0.0.1:PORT`` once it listens; SIGTERM stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.fakes.config import read_script

CORS = (b"Access-Control-Allow-Origin: *\r\n"
        b"Access-Control-Allow-Methods: GET, POST, OPTIONS\r\n"
        b"Access-Control-Allow-Headers: *\r\n"
        b"Access-Control-Allow-Private-Network: true\r\n"
        b"Access-Control-Max-Age: 600\r\n")
PIECE_CHARS = 4  # a scripted answer streams in pieces of this many characters


@dataclass
class Settings:
    """What the server answers: a model id, a token count and rate, an optional script."""

    model: str = "bench-model"
    tokens: int = 256
    rate: float | None = None          # tokens per second; None = as fast as possible
    answers: list[dict[str, Any]] = field(default_factory=list)


def find_answer(settings: Settings, body: dict[str, Any]) -> dict[str, Any] | None:
    """The scripted answer whose ``match`` occurs in the request's messages, or None."""
    text = json.dumps(body.get("messages", []), ensure_ascii=False)
    for answer in settings.answers:
        needle = json.dumps(answer.get("match", ""), ensure_ascii=False)[1:-1]
        if needle and needle in text:
            return answer
    return None


def plan(settings: Settings, body: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    """The deltas to stream for ``body`` and the finish reason."""
    answer = find_answer(settings, body)
    if answer is None:
        return [{"content": f" t{i}"} for i in range(settings.tokens)], "stop"
    deltas: list[dict[str, Any]] = []
    reasoning = str(answer.get("reasoning") or "")
    content = str(answer.get("content") or "")
    for i in range(0, len(reasoning), PIECE_CHARS):
        deltas.append({"reasoning_content": reasoning[i:i + PIECE_CHARS]})
    for i in range(0, len(content), PIECE_CHARS):
        deltas.append({"content": content[i:i + PIECE_CHARS]})
    calls = answer.get("tool_calls") or []
    for i, call in enumerate(calls):
        deltas.append({"tool_calls": [{"index": i, "id": f"call_{i}", "type": "function",
                                       "function": {"name": call["name"], "arguments":
                                                    json.dumps(call.get("arguments", {}))}}]})
    return deltas, ("tool_calls" if calls else "stop")


def chunk(settings: Settings, choices: list[Any], **extra: Any) -> bytes:
    """One SSE event holding a chat.completion.chunk."""
    obj = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 0,
           "model": settings.model, "choices": choices, **extra}
    return b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"


def whole(settings: Settings, deltas: list[dict[str, Any]], finish: str) -> dict[str, Any]:
    """The non-streaming ``chat.completion`` body for the same deltas."""
    content = "".join(d.get("content", "") for d in deltas)
    reasoning = "".join(d.get("reasoning_content", "") for d in deltas)
    calls = [d["tool_calls"][0] for d in deltas if "tool_calls" in d]
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if reasoning:
        message["reasoning_content"] = reasoning
    if calls:
        message["tool_calls"] = [{k: v for k, v in c.items() if k != "index"} for c in calls]
    return {"id": "chatcmpl-bench", "object": "chat.completion", "created": 0,
            "model": settings.model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 10, "completion_tokens": len(deltas),
                      "total_tokens": 10 + len(deltas)}}


class Handler:
    """One HTTP/1.1 exchange per connection (``Connection: close``)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def __call__(self, reader: asyncio.StreamReader,
                       writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = (lines[0].split(" ") + ["", ""])[:3]
            headers = {k.strip().lower(): v.strip() for k, _, v in
                       (line.partition(":") for line in lines[1:] if line)}
            size = int(headers.get("content-length") or 0)
            raw = await reader.readexactly(size) if size else b""
            await self.route(method, path.split("?")[0], raw, writer)
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()

    async def route(self, method: str, path: str, raw: bytes,
                    writer: asyncio.StreamWriter) -> None:
        if method == "OPTIONS":
            writer.write(b"HTTP/1.1 204 No Content\r\n" + CORS +
                         b"Content-Length: 0\r\nConnection: close\r\n\r\n")
        elif method == "GET" and path == "/v1/models":
            self.send_json(writer, 200, {"object": "list", "data": [
                {"id": self.settings.model, "object": "model", "owned_by": "bench",
                 "max_model_len": 32768}]})
        elif method == "POST" and path == "/v1/chat/completions":
            body = json.loads(raw or b"{}")
            if body.get("stream"):
                await self.stream(body, writer)
            else:
                deltas, finish = plan(self.settings, body)
                self.send_json(writer, 200, whole(self.settings, deltas, finish))
        else:
            self.send_json(writer, 404, {"error": {"message": f"no route {method} {path}"}})
        await writer.drain()

    def send_json(self, writer: asyncio.StreamWriter, status: int, obj: Any) -> None:
        data = json.dumps(obj).encode()
        writer.write(f"HTTP/1.1 {status} X\r\n".encode() + CORS +
                     b"Content-Type: application/json\r\nConnection: close\r\n" +
                     f"Content-Length: {len(data)}\r\n\r\n".encode() + data)

    async def stream(self, body: dict[str, Any], writer: asyncio.StreamWriter) -> None:
        settings = self.settings
        deltas, finish = plan(settings, body)
        writer.write(b"HTTP/1.1 200 OK\r\n" + CORS +
                     b"Content-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                     b"Connection: close\r\n\r\n")
        writer.write(chunk(settings, [{"index": 0, "delta": {"role": "assistant",
                                                             "content": ""},
                                       "finish_reason": None}]))
        await writer.drain()
        start = time.perf_counter()
        for i, delta in enumerate(deltas):
            if settings.rate:
                wait = start + i / settings.rate - time.perf_counter()
                if wait > 0:
                    await asyncio.sleep(wait)
            writer.write(chunk(settings, [{"index": 0, "delta": delta,
                                           "finish_reason": None}]))
            if settings.rate:
                await writer.drain()
        writer.write(chunk(settings, [{"index": 0, "delta": {}, "finish_reason": finish}]))
        writer.write(chunk(settings, [], usage={
            "prompt_tokens": 10, "completion_tokens": len(deltas),
            "total_tokens": 10 + len(deltas)}))
        writer.write(b"data: [DONE]\n\n")


def load_answers(path: str | None) -> list[dict[str, Any]]:
    """The ``answers`` list of a fake-runtime script file (empty without one)."""
    if not path:
        return []
    answers = read_script(path, Path.cwd(), "--script").get("answers")
    if isinstance(answers, list):
        return answers
    raise ValueError(f"{path}: expected an object with an 'answers' list")


async def serve(settings: Settings, host: str, port: int) -> None:
    """Listen, print the ready line, serve until SIGINT/SIGTERM."""
    server = await asyncio.start_server(Handler(settings), host, port, backlog=1024)
    print(f"ready http://{host}:{server.sockets[0].getsockname()[1]}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()


def main(argv: list[str] | None = None) -> int:
    """Command line: --tokens N [--rate R] [--script FILE] [--model ID] [--port P]."""
    parser = argparse.ArgumentParser(prog="python -m tests.bench.streaming_server")
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--rate", type=float, default=None, help="tokens per second")
    parser.add_argument("--script", default=None, help="fake-runtime script JSON")
    parser.add_argument("--model", default="bench-model")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        settings = Settings(args.model, args.tokens, args.rate, load_answers(args.script))
        asyncio.run(serve(settings, args.host, args.port))
    except (OSError, ValueError) as exc:
        print(f"streaming server: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
