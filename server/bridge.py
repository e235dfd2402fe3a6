"""The MLX bridge: an OpenAI-compatible endpoint backed by mlx-lm, in-process.

Routes: `GET /v1/models`, `GET /health`, `POST /v1/chat/completions` (streaming or not).
Security defaults (see `make_app`):

* meant to bind 127.0.0.1 (the CLI's default);
* CORS allowlist: the page's own origins (`http://127.0.0.1:<page port>`,
  `http://localhost:<page port>`) plus the configured ones; never `*` unless configured;
  a foreign Origin gets no `Access-Control-Allow-Origin` header;
* a request whose Host header is not a loopback name or address gets 403 (DNS rebinding);
* bodies over `max_body` bytes get 413;
* errors are JSON: 400 bad body, 404 unknown model or path, 413, 503 busy/loading.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
from collections.abc import Callable, Iterable
from contextlib import aclosing, asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from server.bridge_chat import BridgeError, ChatRequest, Reply, parse_chat
from server.bridge_gen import Generator
from server.bridge_worker import Worker, client_gone, run_generation

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8081
DEFAULT_PAGE_PORT = 8765
MAX_BODY = 4 * 1024 * 1024
OWNED_BY = "localrate-mlx"


def page_origins(page_port: int) -> list[str]:
    """The page's own origins, allowed by default."""
    return [f"http://127.0.0.1:{page_port}", f"http://localhost:{page_port}"]


def is_loopback_host(host_header: str | None, extra: Iterable[str] = ()) -> bool:
    """True for `localhost`, `127.x.y.z`, `[::1]` (any port), or a name in `extra`."""
    if not host_header:
        return False
    host = host_header.strip().lower()
    if host.startswith("["):
        host = host[1:].split("]", 1)[0]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    if host in ("localhost", *(h.lower() for h in extra)):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def error_response(exc: BridgeError) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)


class LoopbackHostMiddleware:
    """Refuse (403 JSON) any request whose Host header is not a loopback name."""

    def __init__(self, app: ASGIApp, extra_hosts: Iterable[str] = ()) -> None:
        self.app, self.extra_hosts = app, tuple(extra_hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = dict(scope.get("headers") or [])
            host = headers.get(b"host", b"").decode("latin-1")
            if not is_loopback_host(host, self.extra_hosts):
                exc = BridgeError(
                    403,
                    f"Host header {host!r} is not a loopback name; the bridge "
                    "answers only localhost, 127.0.0.1 and [::1] "
                    "(DNS rebinding guard)",
                )
                await error_response(exc)(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def read_json(request: Request, limit: int) -> Any:
    """The request body parsed as JSON; 413 past `limit` bytes, 400 when not JSON."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BridgeError(413, f"request body of {declared} bytes is over the {limit}-byte limit")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BridgeError(413, f"request body is over the {limit}-byte limit")
        chunks.append(chunk)
    try:
        return json.loads(b"".join(chunks))
    except ValueError as exc:
        raise BridgeError(400, f"request body is not valid JSON: {exc}") from None


def _sse(obj: Any) -> bytes:
    """One Server-Sent Event, compact JSON as OpenAI sends it (`"content":""`, no spaces)."""
    return f"data: {json.dumps(obj, ensure_ascii=False, separators=(',', ':'))}\n\n".encode()


class ChatResponse(Response):
    """Runs one admitted chat request when Starlette sends the response.

    Owning the ASGI call means the queue place is always given back (in `finally`), and
    `receive` can be watched for a disconnect between tokens.
    """

    def __init__(self, worker: Worker, gen: Generator, req: ChatRequest) -> None:
        self.worker, self.gen, self.req = worker, gen, req
        self.background = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            async with self.worker.turn:
                if await client_gone(receive):
                    return
                if self.req.stream:
                    await self._stream(receive, send)
                else:
                    await self._complete(scope, receive, send)
        finally:
            self.worker.leave()

    async def _stream(self, receive: Receive, send: Send) -> None:
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
        events = run_generation(self.worker, self.gen, self.req, receive)
        try:
            async with aclosing(events):
                async for kind, value in events:
                    if kind == "gone":
                        return
                    if kind == "end":
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
            error = BridgeError(500, f"generation failed: {type(exc).__name__}: {exc}")
            await send(
                {"type": "http.response.body", "body": _sse(error.body()), "more_body": True}
            )
        await send({"type": "http.response.body", "body": b"data: [DONE]\n\n", "more_body": False})

    async def _complete(self, scope: Scope, receive: Receive, send: Send) -> None:
        reply = Reply(self.gen.info.id)
        events = run_generation(self.worker, self.gen, self.req, receive)
        try:
            async with aclosing(events):
                async for kind, value in events:
                    if kind == "gone":
                        return
                    if kind == "end":
                        response: Response = JSONResponse(reply.completion(*value))
                    else:
                        reply.add(kind, value)
        except Exception as exc:  # noqa: BLE001 - any failure becomes a 500 JSON body
            error = BridgeError(500, f"generation failed: {type(exc).__name__}: {exc}")
            response = error_response(error)
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
) -> Starlette:
    """The bridge app, serving `generator`, or the one `load()` returns (called once, on
    the worker thread, at startup; `/health` says 503 "loading" until then)."""
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
            return JSONResponse({"status": "ok", "model": worker.generator.info.id})
        if worker.load_error is not None:
            return JSONResponse({"status": "error", "error": worker.load_error}, status_code=500)
        return JSONResponse({"status": "loading"}, status_code=503)

    async def chat(request: Request) -> Response:
        gen = worker.ready()
        req = parse_chat(await read_json(request, max_body), gen.info)
        worker.admit()
        return ChatResponse(worker, gen, req)

    async def on_error(request: Request, exc: Exception) -> Response:
        return error_response(exc if isinstance(exc, BridgeError) else BridgeError(500, str(exc)))

    async def not_found(request: Request, exc: Exception) -> Response:
        return error_response(
            BridgeError(
                getattr(exc, "status_code", 404),
                f"{request.method} {request.url.path}: no such route",
            )
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
            Route("/v1/chat/completions", chat, methods=["POST"]),
        ],
        middleware=[
            Middleware(LoopbackHostMiddleware, extra_hosts=tuple(allow_hosts)),
            Middleware(
                CORSMiddleware,
                allow_origins=origins,
                allow_methods=["GET", "POST"],
                allow_headers=["authorization", "content-type"],
                max_age=600,
            ),
        ],
        exception_handlers={BridgeError: on_error, 404: not_found, 405: not_found},
        lifespan=lifespan,
    )
    app.state.worker = worker
    return app


def make_mlx_app(model: str, model_id: str | None = None, **options: Any) -> Starlette:
    """The bridge serving an MLX model folder or Hugging Face id with mlx-lm; the model
    loads in the background on the worker thread. `options` go to `make_app`."""

    def load() -> Generator:
        from server.bridge_gen import MlxGenerator

        return MlxGenerator(model, model_id)

    return make_app(load=load, **options)
