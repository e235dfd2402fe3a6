"""The streaming client: send one case's request, record the raw transcript.

``send_case`` POSTs the request body, reads the Server-Sent Events stream and records every
``data:`` payload with the milliseconds since the request was sent. It never interprets
content: assembling the answer, finding ``[DONE]`` or diagnosing garbage is the evaluator's
job (``evaluator.transcript.assemble``). It only reports transport failures in ``error``:
timeout, stall, reset, HTTP status >= 400, output cap. Redirects are never followed: a 3xx
answer is recorded with ``redirect: {"status", "location"}`` and its body is not read; the
evaluator makes that the case's error.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from typing import Any

from evaluator.endpoints import redact
from evaluator.request import MAX_OUTPUT_BYTES
from server.rating.client import httpx_module, make_client

_LINE_END = re.compile(rb"\r\n|\n|\r")


class SSEParser:
    """Incremental SSE parser over bytes: ``feed()`` returns the complete ``data`` payloads.

    Lines end with ``\\n``, ``\\r\\n`` or ``\\r``; lines starting with ``:`` are comments;
    several ``data:`` lines before a blank line make one payload joined by ``\\n``; other
    fields (``event:``, ``id:``, ``retry:``) are ignored. Bytes are decoded per line with
    replacement characters, so invalid UTF-8 never raises.

    Linear time however the stream is cut: the pieces of an unfinished line are kept in a
    list and joined once, when its end arrives, and each byte is scanned for a line end once.
    """

    def __init__(self) -> None:
        self._pending: list[bytes] = []  # the unfinished line, in pieces; no line end inside
        self._cr = False  # the last piece ends with "\r": a line end, maybe half of "\r\n"
        self._data: list[str] = []

    def _take(self, tail: bytes) -> str:
        """The pending pieces plus ``tail``, as one decoded line; nothing stays pending."""
        raw = b"".join([*self._pending, tail]) if self._pending else tail
        self._pending = []
        return raw.decode("utf-8", errors="replace")

    def feed(self, chunk: bytes) -> list[str]:
        """Add bytes; return the payloads completed by them."""
        out: list[str] = []
        if not chunk:
            return out
        pos = 0  # start of the first line in chunk not read yet
        if self._cr:
            self._cr = False
            self._line(self._take(b"")[:-1], out)
            pos = 1 if chunk.startswith(b"\n") else 0
        while True:
            match = _LINE_END.search(chunk, pos)
            if match is None:
                break
            if match.group() == b"\r" and match.end() == len(chunk):
                self._cr = True  # a "\r" at the end may be the first half of "\r\n"
                break
            self._line(self._take(chunk[pos:match.start()]), out)
            pos = match.end()
        if pos < len(chunk):
            self._pending.append(chunk[pos:])
        return out

    def close(self) -> list[str]:
        """End of stream: the last line and a payload not followed by a blank line."""
        out: list[str] = []
        if self._pending:
            self._line(self._take(b"").removesuffix("\r"), out)
        self._cr = False
        self._line("", out)
        return out

    def _line(self, line: str, out: list[str]) -> None:
        if line == "":
            if self._data:
                out.append("\n".join(self._data))
                self._data = []
            return
        if line.startswith(":"):
            return
        name, _, value = line.partition(":")
        if name == "data":
            self._data.append(value.removeprefix(" "))


def _seconds(value: float) -> str:
    return f"{value:g}"


def _is_sse(content_type: str | None, first: bytes) -> bool:
    if content_type:
        return "text/event-stream" in content_type.lower()
    return first.lstrip().startswith((b"data:", b":"))  # no header at all: sniff


async def send_case(url: str, body: dict[str, Any], timeout_s: float,
                    max_bytes: int = MAX_OUTPUT_BYTES,
                    on_delta: Callable[[float, str], None] | None = None,
                    stall_s: float | None = None,
                    headers: dict[str, str] | None = None) -> dict[str, Any]:
    """POST ``body`` to ``url`` and record the transcript (shape in docs/architecture.md).

    ``headers`` (``evaluator.endpoints.auth_headers`` for ``url``) go with the request
    and nowhere else: they are not recorded, and a key a runtime echoes back is replaced
    by ``[api key]`` in the recorded events and error.

    ``timeout_s`` bounds the whole request; ``stall_s`` (default ``timeout_s``) bounds the
    wait for each piece of data. ``on_delta(ms, payload)`` is called per event, for live
    display only. Never raises for transport problems: they end up in ``error``.
    """
    httpx = httpx_module()
    transcript: dict[str, Any] = {"url": url, "request": body, "status": None,
                                  "events": [], "ended_ms": None, "error": None}
    if headers:
        transcript["with_key"] = True  # an API key was sent (never the key itself)
    events: list[list[Any]] = transcript["events"]
    stall = stall_s if stall_s is not None else timeout_s
    limits = httpx.Timeout(connect=timeout_s, read=stall, write=timeout_s, pool=timeout_s)
    client = make_client(limits, [url])  # made before the clock starts: not the model's time
    start = time.perf_counter()

    def now_ms() -> float:
        return round((time.perf_counter() - start) * 1000, 1)

    def record(payload: str) -> None:
        ms = now_ms()
        events.append([ms, payload])
        if on_delta is not None:
            on_delta(ms, payload)

    try:
        async with (client, asyncio.timeout(timeout_s),
                    client.stream("POST", url, json=body, headers=headers) as response):
            transcript["status"] = response.status_code
            if 300 <= response.status_code < 400:  # never followed, body unread (docstring)
                transcript["redirect"] = {"status": response.status_code,
                                          "location": response.headers.get("location")}
            else:
                transcript["error"] = await _read_body(response, max_bytes, record)
    except TimeoutError:
        transcript["error"] = f"timed out after {_seconds(timeout_s)} s"
    except httpx.ConnectTimeout:
        transcript["error"] = f"could not connect within {_seconds(timeout_s)} s"
    except httpx.ReadTimeout:
        transcript["error"] = f"no data for {_seconds(stall)} s"
    except httpx.ConnectError as exc:
        transcript["error"] = f"could not connect to {url}: {_reason(exc)}"
    except (httpx.ReadError, httpx.WriteError):
        transcript["error"] = "connection reset by the runtime"
    except httpx.RemoteProtocolError as exc:
        transcript["error"] = f"connection closed by the runtime mid-response: {_reason(exc)}"
    except httpx.HTTPError as exc:
        transcript["error"] = f"transport error: {type(exc).__name__}: {_reason(exc)}"
    transcript["ended_ms"] = now_ms()
    secrets = [v.split(" ", 1)[-1] for k, v in (headers or {}).items()
               if k.lower() == "authorization"]
    if secrets:
        if transcript["error"]:
            transcript["error"] = redact(transcript["error"], secrets)
        for event in events:
            event[1] = redact(event[1], secrets)
    return transcript


async def _read_body(response: Any, max_bytes: int, record: Callable[[str], None]
                     ) -> str | None:
    """Read the response into events; return the transport error or None."""
    total = 0
    chunks = response.aiter_bytes()
    if response.status_code >= 400:
        raw = bytearray()
        async for chunk in chunks:
            raw += chunk
            if len(raw) > max_bytes:
                break
        text = " ".join(raw.decode("utf-8", errors="replace").split())
        if not text:
            return f"HTTP {response.status_code} (empty body)"
        return f"HTTP {response.status_code}: {text[:200]}"
    parser: SSEParser | None = None
    raw = bytearray()
    first = True
    async for chunk in chunks:
        if first:
            first = False
            if _is_sse(response.headers.get("content-type"), chunk):
                parser = SSEParser()
        total += len(chunk)
        over = total > max_bytes
        if over:
            chunk = chunk[:max(0, len(chunk) - (total - max_bytes))]
        if parser is not None:
            for payload in parser.feed(chunk):
                record(payload)
        else:
            raw += chunk
        if over:
            if parser is None:
                record(raw.decode("utf-8", errors="replace"))
            return f"output exceeded {max_bytes} bytes"
    if parser is not None:
        for payload in parser.close():
            record(payload)
    elif raw:
        record(raw.decode("utf-8", errors="replace"))
    return None


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:200]
