"""The bridge's token loop: one request's run on the model thread, events back to HTTP.

`run_generation()` runs one request on the model thread (server/mlx_bridge/turns.py): the chat
template (the prompt's token count is checked against the context: `fit_to_context`), then
the token loop (`generate()`), so the model never waits for the event loop. Events come
back through an `asyncio.Queue`. A client that goes away, or `Worker.shutdown()`, sets a
stop flag that the prefill looks at between chunks and the token loop between tokens; the
model's iterator is always closed, on the model thread.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncGenerator, Callable
from typing import Any

from server.mlx_bridge.chat import BridgeError, ChatRequest
from server.mlx_bridge.gen import Generator, GenParams
from server.mlx_bridge.parse import fit_to_context
from server.mlx_bridge.text import OutputSplitter
from server.mlx_bridge.turns import Worker

__all__ = ["generate", "run_generation"]
log = logging.getLogger("localrate.bridge")


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
        args = call.get("arguments", {}) if isinstance(call, dict) else {}
        name = call.get("name", "") if isinstance(call, dict) else ""
        events.append(
            (
                "tool",
                {
                    "name": str(name),
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
    prompt: list[int],
    params: GenParams,
    emit: Callable[[tuple[str, Any]], None],
    stop: threading.Event,
) -> None:
    """The token loop, run on the model thread: `emit()` each event of `run_generation`
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

    iterator = gen.stream(prompt, params, stop)
    completion = 0
    finish = "stop"
    try:
        for piece in iterator:
            completion = piece.completion_tokens
            finish = piece.finish_reason or finish
            emit_all(splitter.feed(piece.text))
            if piece.finish_reason is not None or splitter.stopped:
                break
            if stop.is_set():
                return
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
    emit(("end", (finish, len(prompt), completion)))


def _encode(gen: Generator, req: ChatRequest) -> tuple[list[int], GenParams]:
    """The prompt's tokens and the request's settings fitted to the context (413)."""
    try:
        extra = (req.template_kwargs,) if req.template_kwargs else ()  # none: as before
        prompt = gen.encode(req.messages, req.tools, *extra)
    except Exception as exc:  # noqa: BLE001 - chat templates raise on messages they refuse
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise BridgeError(
            400, f"messages: the model's chat template refused them ({type(exc).__name__}: "
            f"{first[:200]})"
        ) from None
    return prompt, fit_to_context(len(prompt), req, gen.info)


async def run_generation(
    worker: Worker, gen: Generator, req: ChatRequest, left: asyncio.Event
) -> AsyncGenerator[tuple[str, Any], None]:
    """Yield `("prompt", token_count)` once the prompt fits, then `("content"|"reasoning",
    text)`, `("tool", {"name","arguments"})`, then `("end", (finish_reason, prompt_tokens,
    completion_tokens))`; or `("gone", None)` as soon as `left` is set. A prompt over the
    context raises BridgeError(413) before the first event. Call while holding the turn,
    and close it (`contextlib.aclosing`): closing early stops generation."""
    loop = asyncio.get_running_loop()
    events: asyncio.Queue[tuple[str, Any] | None] = asyncio.Queue()
    stop = worker.stop_flag()

    def emit(event: tuple[str, Any] | None) -> None:
        try:
            loop.call_soon_threadsafe(events.put_nowait, event)
        except RuntimeError:
            stop.set()  # the event loop is gone

    def job() -> None:
        try:
            if stop.is_set():
                return
            worker.generations += 1
            prompt, params = _encode(gen, req)
            emit(("prompt", len(prompt)))
            generate(gen, req, prompt, params, emit, stop)
        except BaseException as exc:  # noqa: BLE001 - re-raised on the event loop
            emit(("error", exc))
        finally:
            emit(None)

    def gone(watch: asyncio.Future[Any]) -> None:
        if not watch.cancelled():
            events.put_nowait(("gone", None))

    def refused(future: asyncio.Future[None]) -> None:
        if not future.cancelled() and future.exception() is not None:  # the thread stopped
            events.put_nowait(("error", future.exception()))
            events.put_nowait(None)

    watch = asyncio.ensure_future(left.wait())
    watch.add_done_callback(gone)
    worker.call(job).add_done_callback(refused)
    try:
        while (event := await events.get()) is not None:
            if event[0] == "gone":
                stop.set()
                log.info("bridge: client disconnected, generation stopped")
                yield event
                return
            if event[0] == "error":
                raise event[1]
            yield event
    finally:
        stop.set()
        watch.cancel()
        worker.drop_flag(stop)
