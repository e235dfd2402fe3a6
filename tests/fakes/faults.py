"""Fault modes: the ways a runtime (or what sits on its port) misbehaves on the wire.

Chat faults (config `fault`, or `"fault"` on a scripted answer): http500, non_json, cut,
hang, reset, huge, bad_utf8, wrong_type, empty403, drip (drip is a slow normal stream and
is handled by the server), redirect (307 to config `redirect_to`), deep_json (an event
nested DEEP_LEVELS deep amid the normal stream), tool_flood (TOOL_FLOOD whole tool calls,
one per delta, before the normal stream). Listing faults (config `list_fault`, applied to every
non-chat endpoint): hang, http500, garbage, empty403, closed, reset, wrong_type, loading
(llama.cpp's 503), cut (a truncated JSON body).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from .dialects import error_body
from .httpio import Wire

SSE = "text/event-stream"
HTML_PAGE = (b"<!DOCTYPE html><html><head><title>Welcome</title></head>"
             b"<body><h1>It works!</h1><p>This is not an LLM runtime.</p></body></html>")
BAD_BYTES = b"\xff\xfe\xc3\x28"   # never valid UTF-8
HUGE_CAP = 512 * 1024 * 1024      # a runaway safety net; clients stop long before
DEEP_LEVELS = 50_000
TOOL_FLOOD = 3_000


def sse(payload: dict[str, Any] | str) -> bytes:
    """One SSE event: `data: <json>` and a blank line."""
    text = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    return b"data: " + text.encode("utf-8") + b"\n\n"


async def forever() -> None:
    """Stall until the server is stopped (the task is then cancelled)."""
    await asyncio.Event().wait()


def flood_call(i: int) -> dict[str, Any]:
    """The i-th tool call of the `tool_flood` fault, whole in one delta."""
    call = {"index": i, "id": f"call_{i}", "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
    return {"object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": {"tool_calls": [call]}, "finish_reason": None}]}


async def chat_fault(name: str, wire: Wire, dialect: str, payloads: list[dict[str, Any]],
                     content_chunk: Any, location: str = "") -> None:
    """Misbehave as `name` on a chat request. `payloads` is the normal stream; `location`
    is where `redirect` points."""
    if name == "redirect":
        wire.writer.write(wire.head(307, [("Location", location), ("Content-Length", "0")]))
        await wire.writer.drain()
    elif name in ("deep_json", "tool_flood"):
        await wire.start_stream(200, SSE)
        if name == "tool_flood":
            for i in range(TOOL_FLOOD):
                await wire.write(sse(flood_call(i)))
        for i, p in enumerate(payloads):
            if i == 1 and name == "deep_json":
                await wire.write(sse("[" * DEEP_LEVELS + "]" * DEEP_LEVELS))
            await wire.write(sse(p))
        await wire.write(sse("[DONE]"))
        await wire.end()
    elif name == "http500":
        await wire.send_json(500, error_body(dialect, 500, "fake runtime: internal error"))
    elif name == "wrong_type":
        await wire.send(200, HTML_PAGE, "text/html; charset=utf-8")
    elif name == "empty403":
        await wire.send(403, b"", None)
    elif name == "non_json":
        await wire.start_stream(200, SSE)
        for _ in range(3):
            await wire.write(b"data: <html>oops</html>\n\n")
        await wire.end()
    elif name == "cut":
        await wire.start_stream(200, SSE)
        for p in payloads[: max(1, (len(payloads) - 2) // 2)]:
            await wire.write(sse(p))
        await wire.end()
        await wire.close()
    elif name in ("hang", "reset"):
        await wire.start_stream(200, SSE)
        for p in payloads[:2]:
            await wire.write(sse(p))
        if name == "hang":
            await forever()
        await asyncio.sleep(0.05)
        wire.reset()
    elif name == "huge":
        await wire.start_stream(200, SSE)
        sent = 0
        while sent < HUGE_CAP:
            data = sse(content_chunk())
            await wire.write(data)
            sent += len(data)
        await wire.close()
    elif name == "bad_utf8":
        await wire.start_stream(200, SSE)
        for i, p in enumerate(payloads):
            await wire.write(sse(p))
            if i == 0:
                marked = sse(content_chunk("@@BAD@@"))
                await wire.write(marked.replace(b"@@BAD@@", BAD_BYTES))
        await wire.write(sse("[DONE]"))
        await wire.end()
    else:
        raise ValueError(f"fake runtime: unknown chat fault {name!r}")


async def list_fault(name: str, wire: Wire, dialect: str) -> None:
    """Misbehave as `name` on a listing or metadata endpoint."""
    if name == "hang":
        await forever()
    elif name == "http500":
        await wire.send_json(500, error_body(dialect, 500, "fake runtime: internal error"))
    elif name == "garbage":
        await wire.send(200, b"<html>oops</html>{not json", "application/json")
    elif name == "empty403":
        await wire.send(403, b"", None)
    elif name == "closed":
        await wire.close()
    elif name == "reset":
        wire.reset()
    elif name == "wrong_type":
        await wire.send(200, HTML_PAGE, "text/html; charset=utf-8")
    elif name == "loading":
        await wire.send_json(503, {"error": {"code": 503, "message": "Loading model",
                                             "type": "unavailable_error"}})
    elif name == "cut":
        await wire.send(200, b'{"object": "list", "data": [{"id": "mod', "application/json")
    else:
        raise ValueError(f"fake runtime: unknown list fault {name!r}")
