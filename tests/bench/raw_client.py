"""The baseline: a minimal raw-socket streaming client that measures TTFT and tok/s.

No HTTP library, no JSON parsing of the events: it sends one HTTP/1.1 POST, reads the
response bytes, splits Server-Sent Events on blank lines, and time-stamps every event that
carries a ``"content"`` delta with a non-empty value. Timings follow the evaluator's
definitions (evaluator/transcript.py): TTFT = first token event since the request was
started (before connecting), tok/s = (tokens - 1) / (last token - first token). The usage
chunk's ``completion_tokens`` gives ``usage_tok_s`` over the same window.
"""

from __future__ import annotations

import json
import re
import socket
import time
from typing import Any
from urllib.parse import urlsplit

# A delta whose content is a non-empty string, with or without a space after the colon
# (servers differ; `"content": ""` must not count as a token).
TOKEN_CONTENT = re.compile(rb'"content":\s*"(?!")')


def stream(url: str, body: dict[str, Any], timeout_s: float = 60.0) -> dict[str, float]:
    """POST ``body`` to ``url``; return ``{"ttft_ms", "total_ms", "tok_out", "tok_s"}``."""
    parts = urlsplit(url)
    payload = json.dumps(body).encode()
    request = (f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
               "Content-Type: application/json\r\nAccept: text/event-stream\r\n"
               f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
               ).encode() + payload
    start = time.perf_counter()
    stamps: list[float] = []
    usage = 0
    with socket.create_connection((parts.hostname, parts.port or 80), timeout_s) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(request)
        buffer = b""
        in_body = False
        while True:
            data = sock.recv(65536)
            if not data:
                break
            now = time.perf_counter()
            buffer += data
            if not in_body:
                _head, sep, rest = buffer.partition(b"\r\n\r\n")
                if not sep:
                    continue
                in_body, buffer = True, rest
            events = buffer.split(b"\n\n")
            buffer = events.pop()
            for event in events:
                if TOKEN_CONTENT.search(event):
                    stamps.append(now)
                elif b'"completion_tokens":' in event:
                    usage = _completion_tokens(event)
    end = time.perf_counter()
    tok = len(stamps)
    decode = (stamps[-1] - stamps[0]) if tok > 1 else 0.0
    nan = float("nan")
    return {"ttft_ms": (stamps[0] - start) * 1000 if stamps else nan,
            "total_ms": (end - start) * 1000, "tok_out": float(tok),
            "tok_s": (tok - 1) / decode if decode > 0 else nan,
            "usage": float(usage),
            "usage_tok_s": (usage - 1) / decode if decode > 0 and usage else nan}


def _completion_tokens(event: bytes) -> int:
    """The usage chunk's completion_tokens (0 when the event is not one)."""
    try:
        obj = json.loads(event.partition(b"data:")[2])
        return int(obj["usage"]["completion_tokens"])
    except (ValueError, KeyError, TypeError):
        return 0
