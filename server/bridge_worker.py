"""One generation at a time: the bridge's worker thread, its queue, and the token loop.

mlx-lm generation is not re-entrant, so every call into the model runs on one thread
(a single-worker executor) and requests take turns behind an `asyncio.Lock`. At most
`max_waiting` requests wait for their turn; one more gets 503 with Retry-After.
`run_generation()` runs the whole token loop (`generate()`) on that thread, so the model
never waits for the event loop: events come back through an `asyncio.Queue`, and a
client that goes away sets a stop flag the loop checks between tokens. The model's
iterator is always closed, on the worker thread, which stops generation.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncGenerator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import anyio
from starlette.types import Receive

from server.bridge_chat import BridgeError, ChatRequest
from server.bridge_gen import Generator
from server.bridge_text import OutputSplitter

log = logging.getLogger("localrate.bridge")
T = TypeVar("T")


class Worker:
    """Owns the model's thread, the turn lock and the count of admitted requests."""

    def __init__(
        self,
        generator: Generator | None,
        load: Callable[[], Generator] | None,
        max_waiting: int = 4,
        retry_after_s: int = 5,
    ) -> None:
        if generator is None and load is None:
            raise ValueError("Worker: give a generator or a load function")
        self.generator, self._load = generator, load
        self.load_error: str | None = None
        self.max_waiting, self.retry_after_s = max_waiting, retry_after_s
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="localrate-mlx")
        self._admitted = 0
        self._lock: asyncio.Lock | None = None

    async def start(self) -> None:
        """Load the model on the worker thread (when given a load function)."""
        if self.generator is not None or self._load is None:
            return
        try:
            self.generator = await self.call(self._load)
            log.info("bridge: serving %s", self.generator.info.id)
        except Exception as exc:  # noqa: BLE001 - shown by /health and every request
            self.load_error = f"{type(exc).__name__}: {exc}"
            log.error("bridge: the model failed to load: %s", self.load_error)

    def ready(self) -> Generator:
        """The loaded generator, or a 503/500 BridgeError saying why not."""
        if self.generator is not None:
            return self.generator
        if self.load_error is not None:
            raise BridgeError(500, f"the model failed to load: {self.load_error}")
        raise BridgeError(
            503, "the model is still loading", {"Retry-After": str(self.retry_after_s)}
        )

    def call(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """Start `fn(*args)` on the worker thread (now); await the result to get its value."""
        return asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def admit(self) -> None:
        """Take a place in the queue, or raise 503 when it is full."""
        if self._admitted >= 1 + self.max_waiting:
            raise BridgeError(
                503,
                f"the bridge is busy ({self._admitted} requests running or waiting); retry later",
                {"Retry-After": str(self.retry_after_s)},
            )
        self._admitted += 1

    def leave(self) -> None:
        self._admitted -= 1

    @property
    def turn(self) -> asyncio.Lock:
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


async def client_gone(receive: Receive) -> bool:
    """True when the client has disconnected (a non-blocking look at `receive`)."""
    message: dict[str, Any] = {}
    with anyio.CancelScope() as scope:
        scope.cancel()
        message = dict(await receive())
    return message.get("type") == "http.disconnect"


def _tool_events(
    gen: Generator, text: str, tools: list[dict[str, Any]] | None
) -> list[tuple[str, Any]]:
    """Parse one tool call's text; unparsable text goes back into the answer as is."""
    try:
        calls = gen.parse_tool_call(text, tools)
    except Exception as exc:  # noqa: BLE001 - parsers raise anything on bad model output
        log.warning("bridge: unparsable tool call (%s): %.80r", exc, text)
        start, end = gen.info.tool or ("", "")
        return [("content", f"{start}{text}{end}")]
    events: list[tuple[str, Any]] = []
    for call in calls:
        args = call.get("arguments", {})
        events.append(
            (
                "tool",
                {
                    "name": str(call.get("name", "")),
                    "arguments": args
                    if isinstance(args, str)
                    else json.dumps(args, ensure_ascii=False),
                },
            )
        )
    return events


def generate(
    gen: Generator,
    req: ChatRequest,
    emit: Callable[[tuple[str, Any]], None],
    stop: threading.Event,
) -> None:
    """The token loop, run on the worker thread: `emit()` each event of `run_generation`
    (but "gone"), return early once `stop` is set, and always close the model's iterator."""
    splitter = OutputSplitter(gen.info.think, gen.info.tool, req.stop)
    made_call = False

    def emit_all(events: list[tuple[str, str]]) -> None:
        nonlocal made_call
        for kind, value in events:
            items = _tool_events(gen, value, req.tools) if kind == "tool" else [(kind, value)]
            for item in items:
                made_call = made_call or item[0] == "tool"
                emit(item)

    iterator = gen.stream(req.messages, req.tools, req.params)
    prompt = completion = 0
    finish = "stop"
    try:
        for piece in iterator:
            prompt, completion = piece.prompt_tokens, piece.completion_tokens
            finish = piece.finish_reason or finish
            emit_all(splitter.feed(piece.text))
            if piece.finish_reason is not None or splitter.stopped:
                break
            if stop.is_set():
                return
        emit_all(splitter.finish())
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()
    if splitter.stopped:
        finish = "stop"
    if made_call and finish == "stop":
        finish = "tool_calls"
    emit(("end", (finish, prompt, completion)))


async def run_generation(
    worker: Worker, gen: Generator, req: ChatRequest, receive: Receive
) -> AsyncGenerator[tuple[str, Any], None]:
    """Yield `("content"|"reasoning", text)`, `("tool", {"name","arguments"})`, then
    `("end", (finish_reason, prompt_tokens, completion_tokens))`, or `("gone", None)`
    when the client disconnected. Call while holding `worker.turn`, and close it
    (`contextlib.aclosing`): closing early stops generation.

    The whole token loop (`generate`) runs on the worker thread, so the model never
    waits for the event loop; its events come back through an `asyncio.Queue`."""
    loop = asyncio.get_running_loop()
    events: asyncio.Queue[tuple[str, Any] | None] = asyncio.Queue()
    stop = threading.Event()

    def emit(event: tuple[str, Any] | None) -> None:
        loop.call_soon_threadsafe(events.put_nowait, event)

    def job() -> None:
        try:
            generate(gen, req, emit, stop)
        finally:
            emit(None)

    done = worker.call(job)
    try:
        while (event := await events.get()) is not None:
            yield event
            if event[0] != "end" and await client_gone(receive):
                log.info("bridge: client disconnected, generation stopped")
                yield ("gone", None)
                return
        await done  # raises what the token loop raised
    finally:
        stop.set()
