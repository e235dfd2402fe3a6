"""One generation at a time: the bridge's worker thread, its queue, and the token loop.

mlx-lm generation is not re-entrant, so every call into the model runs on one thread
(a single-worker executor) and requests take turns behind an `asyncio.Lock`. At most
`max_waiting` requests wait for their turn; one more gets 503 with Retry-After.
`run_generation()` advances the model's iterator one piece at a time, checks between
pieces whether the client went away, and always closes the iterator, which stops
generation.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import anyio
from starlette.types import Receive

from server.bridge_chat import BridgeError, ChatRequest
from server.bridge_gen import Generator, Piece
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

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(*args)` on the worker thread."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

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

    def close_later(self, iterator: Iterator[Piece]) -> None:
        """Close a model iterator on the worker thread (after any step in flight)."""
        close = getattr(iterator, "close", None)
        if close is not None:
            self._executor.submit(close)

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


async def run_generation(
    worker: Worker, gen: Generator, req: ChatRequest, receive: Receive
) -> AsyncIterator[tuple[str, Any]]:
    """Yield `("content"|"reasoning", text)`, `("tool", {"name","arguments"})`, then
    `("end", (finish_reason, prompt_tokens, completion_tokens))`, or `("gone", None)`
    when the client disconnected. Call while holding `worker.turn`."""
    splitter = OutputSplitter(gen.info.think, gen.info.tool, req.stop)
    iterator = await worker.call(gen.stream, req.messages, req.tools, req.params)
    prompt = completion = 0
    finish, made_call, done = "stop", False, False
    try:
        while not done:
            piece = await worker.call(next, iterator, None)
            if piece is None:
                events, done = splitter.finish(), True
            else:
                prompt, completion = piece.prompt_tokens, piece.completion_tokens
                finish = piece.finish_reason or finish
                events = splitter.feed(piece.text)
                done = piece.finish_reason is not None or splitter.stopped
                if done:
                    events += splitter.finish()
            for kind, value in events:
                items = _tool_events(gen, value, req.tools) if kind == "tool" else [(kind, value)]
                for item in items:
                    made_call = made_call or item[0] == "tool"
                    yield item
            if not done and await client_gone(receive):
                log.info("bridge: client disconnected, generation stopped")
                yield ("gone", None)
                return
        if splitter.stopped:
            finish = "stop"
        if made_call and finish == "stop":
            finish = "tool_calls"
        yield ("end", (finish, prompt, completion))
    finally:
        worker.close_later(iterator)
