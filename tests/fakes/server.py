"""The connection handler of one fake runtime: routing, CORS, chat streaming.

Besides the runtime's own routes it answers ``GET /__fake__/requests`` with
``{"requests": [...], "warmups": [...]}``: the JSON body of every chat request received so
far, in order (a test that runs the fake as a process reads them there; in-process tests
read ``FakeRuntime.requests``). The evaluator's warm-up request
(``evaluator.repeats.warmup_request``: its one user message is ``WARMUP_PROMPT``) is
answered like any other but kept apart, in ``warmups``, so the bodies of a run's cases
read the same with or without a warm-up. That route is neither logged nor recorded.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from evaluator.repeats import WARMUP_PROMPT

from . import faults
from .chunks import ChunkMaker, plan, stream_payloads, whole_body
from .config import Config, Model, context_tokens
from .dialects import DIALECTS, context_error, cors_policy, error_body, not_found
from .httpio import Request, Wire, read_request
from .listings import listing

CHAT_PATHS = ("/v1/chat/completions", "/chat/completions")
REQUESTS_PATH = "/__fake__/requests"  # the recorded chat bodies, for tests
PING_EVERY = 3   # with `comments`, a `: ping` line before the first and every 3rd event


def is_warmup(body: dict[str, Any]) -> bool:
    """Whether a chat body is the evaluator's warm-up request (module docstring)."""
    messages = body.get("messages")
    return isinstance(messages, list) and len(messages) == 1 and isinstance(
        messages[0], dict) and messages[0].get("content") == WARMUP_PROMPT


class App:
    """Serves one config; records what it received in `requests` and `log`."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.dialect = DIALECTS[cfg.dialect]
        self.cors = cors_policy(cfg)
        self.requests: list[Any] = []          # JSON bodies of chat requests
        self.warmups: list[Any] = []           # the evaluator's warm-up requests, apart
        self.log: list[dict[str, Any]] = []    # every request: method, path, headers, body
        self.tasks: set[asyncio.Task[None]] = set()
        self.count = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One connection: requests in a keep-alive loop until someone closes."""
        task = asyncio.current_task()
        if task is not None:
            self.tasks.add(task) 
        version = "HTTP/1.0" if self.dialect.http10 else "HTTP/1.1"
        wire = Wire(writer, version, self.dialect.server)
        try:
            while not wire.closed:
                req = await read_request(reader)
                if req is None:
                    break
                if req.method == "GET" and req.path == REQUESTS_PATH:
                    wire.extra_headers = []
                    await wire.send_json(200, {"requests": self.requests,
                                               "warmups": self.warmups})
                else:
                    self.log.append({"method": req.method, "path": req.path,
                                     "headers": dict(req.headers), "body": req.json()})
                    await self.dispatch(req, wire)
                if req.wants_close and not wire.closed:
                    await wire.close()
        except (ConnectionError, OSError):
            pass
        finally:
            # Every connection is closed here, on this loop's thread. One left open (an
            # HTTP/1.0 reply sent with Content-Length, which marks the wire closed) would
            # be closed by its StreamWriter's finalizer, on whatever thread the garbage
            # collector runs: that unregisters its old fd number from this loop's
            # selector, and with it the next connection given that number, whose request
            # then sits unread (the MLX dialect's "timed out" flake, found in CI).
            if not wire.closed:
                writer.transport.abort()
            elif not writer.transport.is_closing():
                writer.close()
            if task is not None:
                self.tasks.discard(task)

    async def dispatch(self, req: Request, wire: Wire) -> None:
        """CORS first, then the chat route or the dialect's listing routes."""
        wire.extra_headers = []
        if self.cors.refuses(req):            # Ollama: wrong origin -> 403, empty body
            await wire.send(403, b"", None)
            return
        if req.method == "OPTIONS":
            wire.extra_headers = self.cors.preflight_headers(req)
            if self.cfg.dialect == "vllm":
                await wire.send(200, b"OK", "text/plain; charset=utf-8")
            else:
                await wire.send(204 if self.cfg.dialect != "llamacpp" else 200, b"", None)
            return
        wire.extra_headers = self.cors.headers(req)
        if self.cfg.api_key is not None and \
                req.headers.get("authorization") != f"Bearer {self.cfg.api_key}":
            await wire.send_json(401, {"error": "Unauthorized"})  # as vLLM's --api-key
            return
        if req.path in CHAT_PATHS and req.method == "POST":
            await self.chat(req, wire)
            return
        if self.cfg.list_fault:
            await faults.list_fault(self.cfg.list_fault, wire, self.cfg.dialect)
            return
        reply = listing(self.cfg, req)
        if reply is None:
            ctype, body = not_found(self.cfg.dialect, req.method, req.path)
            await wire.send(404, body, ctype)
        elif isinstance(reply[1], str):
            await wire.send(reply[0], reply[1].encode(), "text/plain; charset=utf-8")
        else:
            await wire.send_json(*reply)

    def pick_model(self, name: Any) -> Model | None:
        """The requested model; single-model servers (llama.cpp, MLX) ignore the name."""
        model = self.cfg.model(name if isinstance(name, str) else None)
        if model is None and self.cfg.dialect in ("llamacpp", "mlx"):
            model = self.cfg.models[0] if self.cfg.models else Model(str(name or "model"))
        return model

    async def chat(self, req: Request, wire: Wire) -> None:
        """POST /v1/chat/completions: a scripted answer, streamed or whole, or a fault."""
        body = req.json()
        if not isinstance(body, dict):
            await wire.send_json(400, error_body(self.cfg.dialect, 400, "body is not JSON"))
            return
        (self.warmups if is_warmup(body) else self.requests).append(body)
        model = self.pick_model(body.get("model"))
        if model is None:
            msg = f"model '{body.get('model')}' not found"
            await wire.send_json(404, error_body(self.cfg.dialect, 404, msg))
            return
        limit, need = model.context_limit, context_tokens(body)
        if limit is not None and need > limit:
            await wire.send_json(400, context_error(self.cfg.dialect, need, limit))
            return
        answer = model.answer(body)
        fault = answer.get("fault") or self.cfg.fault
        size, delay = self.cfg.chunk_chars, self.cfg.delay_ms / 1000
        if fault == "drip":
            size, delay = 1, 0.3
        self.count += 1
        maker = ChunkMaker(self.dialect, model.id, f"chatcmpl-fake{self.count}")
        p = plan(self.cfg, self.dialect, body, answer, size)
        if fault and fault != "drip":
            payloads = stream_payloads(self.cfg, self.dialect, body, p, maker, size)
            filler = "All work and no play makes a fake runtime very verbose. " * 64

            def chunk(text: str = filler) -> dict[str, Any]:
                return maker.text("content", text)
            await faults.chat_fault(fault, wire, self.cfg.dialect, payloads, chunk,
                                    self.cfg.redirect_to)
        elif body.get("stream") is True:
            payloads = stream_payloads(self.cfg, self.dialect, body, p, maker, size)
            await self.stream(wire, payloads, delay)
        else:
            out = whole_body(self.cfg, self.dialect, p, maker)
            await wire.send(200, json.dumps(out).encode(), "application/json")

    async def stream(self, wire: Wire, payloads: list[dict[str, Any]], delay: float) -> None:
        """A normal SSE stream: payloads (with optional `: ping` lines), then [DONE]."""
        await wire.start_stream(200, faults.SSE)
        for i, payload in enumerate(payloads):
            if self.cfg.comments and i % PING_EVERY == 0:
                await wire.write(b": ping\n\n")
            if delay and i:
                await asyncio.sleep(delay)
            await wire.write(faults.sse(payload))
        await wire.write(faults.sse("[DONE]"))
        await wire.end()

    async def shutdown(self) -> None:
        """Cancel every open connection (hanging ones included)."""
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
