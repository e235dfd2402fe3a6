"""The MLX bridge: an OpenAI-compatible endpoint backed by mlx-lm, in-process.

Routes: `GET /v1/models`, `GET /health`, `GET /v1/engine` (mlx and mlx-lm versions, device
and MLX memory: server/mlx_bridge/engine.py), `POST /v1/chat/completions` (streaming or not).
Security defaults (see `make_app`):

* meant to bind 127.0.0.1 (the CLI's default);
* a request whose Host header is not a loopback name gets 403 (DNS rebinding);
* a request from a foreign web page does no work: an Origin not on the allowlist, or a
  browser's cross-site request without one, gets 403; a POST that is not
  `application/json` gets 415 (server/mlx_bridge/guard.py);
* CORS allowlist: the page's own origins (`http://127.0.0.1:<page port>`,
  `http://localhost:<page port>`) plus the configured ones; never `*` unless configured;
* bodies over `max_body` bytes get 413, bodies nested deeper than 100 levels or not sent
  within `body_timeout_s` get 400 / 408; a prompt that does not fit the model's context
  with its max_tokens gets 413 (server/mlx_bridge/parse.py);
* one generation at a time, `max_waiting` more may wait, then 503 with Retry-After; a
  client that leaves (waiting, in prefill or decoding) frees its place at once;
* errors are JSON whose `type` follows the status: 400 bad body, 403, 404 unknown model
  or path, 405, 408, 413, 415, 503 busy/loading.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import aclosing, asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from server.mlx_bridge.chat import BridgeError, ChatRequest, Reply
from server.mlx_bridge.engine import engine_facts
from server.mlx_bridge.gen import Generator
from server.mlx_bridge.guard import (
    ForeignPageMiddleware,
    LoopbackHostMiddleware,
    error_response,
    is_loopback_host,
)
from server.mlx_bridge.parse import BODY_TIMEOUT_S, parse_chat, read_json
from server.mlx_bridge.turns import Departure, Worker
from server.mlx_bridge.worker import run_generation

__all__ = ["is_loopback_host", "make_app", "make_mlx_app", "page_origins"]
log = logging.getLogger("localrate.bridge")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8081
DEFAULT_PAGE_PORT = 8765
MAX_BODY = 4 * 1024 * 1024
OWNED_BY = "localrate-mlx"


def page_origins(page_port: int) -> list[str]:
    """The page's own origins, allowed by default."""
    return [f"http://127.0.0.1:{page_port}", f"http://localhost:{page_port}"]


def _sse(obj: Any) -> bytes:
    """One Server-Sent Event, compact JSON as OpenAI sends it (`"content":""`, no spaces)."""
    return f"data: {json.dumps(obj, ensure_ascii=False, separators=(',', ':'))}\n\n".encode()


def _failed(exc: Exception) -> BridgeError:
    """A generation that raised: logged, and answered as a 500."""
    log.error("bridge: generation failed: %s: %s", type(exc).__name__, exc)
    return BridgeError(500, f"generation failed: {type(exc).__name__}: {exc}")


class ChatResponse(Response):
    """Runs one admitted chat request when Starlette sends the response.

    Owning the ASGI call means the queue place is always given back (in `finally`), and
    `receive` is watched for a disconnect the whole time: while waiting for the turn (the
    place is given up), during prefill and between tokens (generation stops).
    """

    def __init__(self, worker: Worker, gen: Generator, req: ChatRequest) -> None:
        self.worker, self.gen, self.req = worker, gen, req
        self.background = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        departure = Departure(receive)
        try:
            if not await self.worker.wait_turn(departure.left):
                log.info("bridge: client left while waiting for its turn")
                return
            try:
                events = run_generation(self.worker, self.gen, self.req, departure.left)
                async with aclosing(events):
                    if self.req.stream:
                        await self._stream(events, scope, receive, send)
                    else:
                        await self._complete(events, scope, receive, send)
            finally:
                self.worker.turn.release()
        finally:
            departure.close()
            self.worker.leave()

    async def _stream(
        self, events: AsyncIterator[tuple[str, Any]], scope: Scope, receive: Receive, send: Send
    ) -> None:
        try:
            first = await anext(events)
        except BridgeError as exc:  # the prompt does not fit, or its template refused it
            await error_response(exc)(scope, receive, send)
            return
        except StopAsyncIteration:  # stopped before it began: the bridge is closing
            await error_response(BridgeError.shutting_down())(
                scope, receive, send
            )
            return
        if first[0] == "gone":
            return
        headers = [
            (b"content-type", b"text/event-stream; charset=utf-8"),
            (b"cache-control", b"no-cache"),
            (b"x-accel-buffering", b"no"),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        reply = Reply(self.gen.info.id)
        await send(
            {"type": "http.response.body", "body": _sse(reply.first_chunk()), "more_body": True}
        )
        error: BridgeError | None = BridgeError.shutting_down()
        try:
            async for kind, value in events:
                if kind == "gone":
                    return
                if kind == "end":
                    error = None
                    finish, prompt, completion = value
                    body = _sse(reply.last_chunk(finish))
                    if self.req.include_usage:
                        body += _sse(reply.usage_chunk(prompt, completion))
                else:
                    body = _sse(reply.add(kind, value))
                await send({"type": "http.response.body", "body": body, "more_body": True})
        except OSError:
            return  # the client went away mid-send
        except Exception as exc:  # noqa: BLE001 - after the headers: report in the stream
            error = _failed(exc)
        if error is not None:
            await send(
                {"type": "http.response.body", "body": _sse(error.body()), "more_body": True}
            )
        await send({"type": "http.response.body", "body": b"data: [DONE]\n\n", "more_body": False})

    async def _complete(
        self, events: AsyncIterator[tuple[str, Any]], scope: Scope, receive: Receive, send: Send
    ) -> None:
        reply = Reply(self.gen.info.id)
        response: Response | None = None
        try:
            async for kind, value in events:
                if kind == "gone":
                    return
                if kind == "end":
                    response = JSONResponse(reply.completion(*value))
                elif kind != "prompt":
                    reply.add(kind, value)
        except BridgeError as exc:
            response = error_response(exc)
        except Exception as exc:  # noqa: BLE001 - any failure becomes a 500 JSON body
            response = error_response(_failed(exc))
        if response is None:  # stopped without an end: the bridge is shutting down
            response = error_response(BridgeError.shutting_down())
        await response(scope, receive, send)


def make_app(
    generator: Generator | None = None,
    *,
    load: Callable[[], Generator] | None = None,
    page_port: int = DEFAULT_PAGE_PORT,
    allow_origins: Iterable[str] = (),
    allow_hosts: Iterable[str] = (),
    max_body: int = MAX_BODY,
    max_waiting: int = 4,
    body_timeout_s: float = BODY_TIMEOUT_S,
) -> Starlette:
    """The bridge app, serving `generator`, or the one `load()` returns (called once, on
    the model thread, at startup; `/health` says 503 "loading" until then). The lifespan's
    end (and `app.state.worker.shutdown()`) stops any running generation."""
    worker = Worker(generator, load, max_waiting=max_waiting)

    async def models(request: Request) -> Response:
        gen = worker.ready()
        info = gen.info
        card = {
            "id": info.id,
            "object": "model",
            "created": info.created,
            "owned_by": OWNED_BY,
            "capabilities": info.capabilities,
            "context_length": info.context_length,
            "max_model_len": info.context_length,
        }
        return JSONResponse({"object": "list", "data": [card]})

    async def health(request: Request) -> Response:
        if worker.generator is not None:
            return JSONResponse(
                {"status": "ok", "model": worker.generator.info.id,
                 "generations": worker.generations}
            )
        if worker.load_error is not None:
            return JSONResponse({"status": "error", "error": worker.load_error}, status_code=500)
        return JSONResponse({"status": "loading"}, status_code=503)

    async def engine(request: Request) -> Response:
        return JSONResponse(engine_facts(worker.ready(), worker.generations))

    async def chat(request: Request) -> Response:
        gen = worker.ready()
        try:
            body = await read_json(request, max_body, body_timeout_s)
        except ClientDisconnect:
            log.info("bridge: the client left during the upload")
            return error_response(BridgeError(400, "the client left during the upload"))
        req = parse_chat(body, gen.info)
        worker.admit()
        return ChatResponse(worker, gen, req)

    async def on_error(request: Request, exc: Exception) -> Response:
        return error_response(exc if isinstance(exc, BridgeError) else BridgeError(500, str(exc)))

    async def no_route(request: Request, exc: Exception) -> Response:
        status = int(getattr(exc, "status_code", 404))
        what = "method not allowed here" if status == 405 else "no such route"
        headers = dict(getattr(exc, "headers", None) or {})  # 405 names the Allow-ed ones
        return error_response(
            BridgeError(status, f"{request.method} {request.url.path}: {what}", headers)
        )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> Any:
        loading = asyncio.create_task(worker.start())  # /health says "loading" meanwhile
        yield
        loading.cancel()
        worker.shutdown()

    origins = [*page_origins(page_port), *allow_origins]
    app = Starlette(
        routes=[
            Route("/v1/models", models, methods=["GET"]),
            Route("/health", health, methods=["GET"]),
            Route("/v1/engine", engine, methods=["GET"]),
            Route("/v1/chat/completions", chat, methods=["POST"]),
        ],
        middleware=[
            Middleware(LoopbackHostMiddleware, extra_hosts=tuple(allow_hosts)),
            Middleware(ForeignPageMiddleware, allow_origins=origins),
            Middleware(
                CORSMiddleware,
                allow_origins=origins,
                allow_methods=["GET", "POST"],
                allow_headers=["authorization", "content-type"],
                max_age=600,
            ),
        ],
        exception_handlers={BridgeError: on_error, 404: no_route, 405: no_route},
        lifespan=lifespan,
    )
    app.state.worker = worker
    return app


def make_mlx_app(model: str, model_id: str | None = None, **options: Any) -> Starlette:
    """The bridge serving an MLX model folder or Hugging Face id with mlx-lm; the model
    loads in the background on the worker thread. `options` go to `make_app`."""

    def load() -> Generator:
        from server.mlx_bridge.gen import MlxGenerator

        return MlxGenerator(model, model_id)

    return make_app(load=load, **options)
