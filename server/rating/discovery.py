"""Discovery over HTTP: run the evaluator's probe plan in parallel, on plain sockets.

What to probe, how to read the answers and which metadata to fetch are the evaluator's
calls (``evaluator.discovery``); this module only sends the requests, times them and hands
back what came over the wire. Every request has its own thread and deadline, so one dead
or hanging port never delays the others. Always 127.0.0.1 (the plan says so), no proxies.

The requests are a handful of small GETs (and Ollama's ``POST /api/show``) on loopback, so
they go out over the standard library's sockets rather than httpx: importing httpx,
httpcore and anyio (and asyncio with them) would cost `localrate discover` more start-up
time than the whole probe takes. Streaming a case (``server.rating.stream``) still uses httpx.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from evaluator.discovery import (
    PROBE_TIMEOUT_S,
    interpret_probe,
    merge_metadata,
    metadata_plan,
    probe_plan,
)
from evaluator.endpoints import auth_headers, env_keys, redact

MAX_BODY = 5_000_000  # a model list bigger than this is not a model list
MAX_HEAD = 65_536  # status line and headers


class _Bad(Exception):
    """The peer's bytes are not an HTTP/1.1 response we can read (→ ``"network"``)."""


class _Reader:
    """Buffered reads from a socket, each bounded by one overall deadline."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock, self.deadline, self.buf = sock, deadline, bytearray()

    def _more(self) -> bool:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        self.sock.settimeout(left)
        chunk = self.sock.recv(65_536)
        self.buf += chunk
        return bool(chunk)

    def until(self, mark: bytes, limit: int) -> bytes:
        while (end := self.buf.find(mark)) < 0:
            if len(self.buf) > limit:
                raise _Bad("header too long")
            if not self._more():
                raise _Bad("connection closed before the response ended")
        out = bytes(self.buf[:end])
        del self.buf[:end + len(mark)]
        return out

    def exactly(self, n: int) -> bytes:
        while len(self.buf) < n:
            if not self._more():
                raise _Bad("connection closed before the response ended")
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def rest(self, limit: int) -> bytes:
        """Everything until the peer closes, stopping once past ``limit`` bytes."""
        while len(self.buf) <= limit and self._more():
            pass
        return bytes(self.buf)


def _read_body(reader: _Reader, headers: dict[str, str]) -> tuple[bytes, str | None]:
    """The body (cut at MAX_BODY) and an error text when it was too big."""
    too_big = f"body exceeded {MAX_BODY} bytes"
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = bytearray()
        while True:
            size_line = reader.until(b"\r\n", MAX_HEAD).split(b";")[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                raise _Bad(f"bad chunk size {size_line[:20]!r}") from None
            if size == 0:
                return bytes(body), None
            if len(body) + size > MAX_BODY:
                return bytes(body), too_big
            body += reader.exactly(size)
            reader.exactly(2)  # the chunk's CRLF
    if "content-length" in headers:
        try:
            length = int(headers["content-length"])
        except ValueError:
            raise _Bad("bad Content-Length") from None
        if length > MAX_BODY:
            return b"", too_big
        return reader.exactly(length), None
    rest = reader.rest(MAX_BODY)
    return (rest[:MAX_BODY], too_big) if len(rest) > MAX_BODY else (rest, None)


def _exchange(method: str, url: str, body: Any, deadline: float,
              headers: Mapping[str, str] | None = None) -> tuple[int, bytes, str | None]:
    parts = urlsplit(url)
    https = parts.scheme == "https"
    host = parts.hostname or "127.0.0.1"
    port = parts.port or (443 if https else 80)
    payload = b"" if body is None else json.dumps(body).encode()
    head = [f"{method} {parts.path or '/'}{'?' + parts.query if parts.query else ''} HTTP/1.1",
            f"Host: {parts.netloc}", "Accept: application/json", "Connection: close",
            "User-Agent: localrate"]
    if body is not None:
        head += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
    # An API key (evaluator.endpoints.auth_headers: checked visible ASCII, this URL's own)
    head += [f"{name}: {value}" for name, value in (headers or {}).items()]
    request = ("\r\n".join(head) + "\r\n\r\n").encode() + payload

    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError
    sock = socket.create_connection((host, port), timeout=left)
    try:
        if https:  # only when a *_BASE_URL says so; loopback runtimes speak plain http
            import ssl

            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=host)
        sock.sendall(request)
        reader = _Reader(sock, deadline)
        while True:
            status_line, *lines = reader.until(b"\r\n\r\n", MAX_HEAD).decode(
                "latin-1").split("\r\n")
            fields = status_line.split(" ", 2)
            if len(fields) < 2 or not fields[0].startswith("HTTP/") or not fields[1].isdigit():
                raise _Bad(f"not an HTTP response: {status_line[:40]!r}")
            status = int(fields[1])
            if not 100 <= status < 200:
                break  # 1xx interim answers are skipped
        headers = {}
        for line in lines:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        if method == "HEAD" or status in (204, 304):
            return status, b"", None
        raw, error = _read_body(reader, headers)
        return status, raw, error
    finally:
        sock.close()


def fetch(method: str, url: str, body: Any, timeout: float,
          headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    """One request → an observation ``{status, body, error, elapsed_ms, with_key}``
    (``with_key``: ``headers`` carried an API key, so a 401/403 means the key was refused).

    ``error`` is ``"timeout"``, ``"closed"`` (connection refused: nothing listens),
    ``"network"`` (reset, unreachable, not HTTP), a too-big-body text, another failure's
    ``"<ExceptionName>: <text>"``, or None. The body is
    decoded with replacement characters, cut at MAX_BODY bytes.
    """
    start = time.perf_counter()
    status: int | None = None
    text: str | None = None
    error: str | None = None
    try:
        status, raw, error = _exchange(method, url, body, time.monotonic() + timeout, headers)
        text = raw.decode("utf-8", errors="replace")
        secrets = [v.split(" ", 1)[-1] for k, v in (headers or {}).items()
                   if k.lower() == "authorization"]
        text = redact(text, secrets) if secrets else text  # a key echoed back is not shown
    except TimeoutError:  # socket.timeout is TimeoutError
        error = "timeout"
    except ConnectionRefusedError:
        # Unlike a browser, we can tell a closed port from other network failures.
        error = "closed"
    except (OSError, _Bad, ValueError):
        error = "network"
    except Exception as exc:  # noqa: BLE001 - one request's failure must not end the others
        error = f"{type(exc).__name__}: {exc}"
    elapsed_ms = round((time.perf_counter() - start) * 1000, 1)
    return {"status": status, "body": text, "error": error, "elapsed_ms": elapsed_ms,
            "with_key": any(k.lower() == "authorization" for k in (headers or {}))}


def fetch_all(requests: list[dict[str, Any]], timeout: float) -> list[dict[str, Any]]:
    """``fetch`` every ``{method, url, body?, headers?, timeout_s?}`` at once, one thread
    each → observations.

    Each request keeps its own deadline (its ``timeout_s``, else ``timeout``), so the whole
    takes as long as the slowest one (plus a thread's start).
    """
    results: list[dict[str, Any] | None] = [None] * len(requests)

    def run(i: int, req: dict[str, Any]) -> None:
        results[i] = fetch(req["method"], req["url"], req.get("body"),
                           float(req.get("timeout_s", timeout)), req.get("headers"))

    threads = [threading.Thread(target=run, args=(i, req), daemon=True)
               for i, req in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out = []
    for result in results:  # in request order: fetch never raises, so each has one
        assert result is not None
        out.append(result)
    return out


def probe_all(plan: list[dict[str, Any]], timeout: float,
              keys: list[dict[str, str]] | None = None) -> list[dict[str, Any]]:
    """Probe every plan row in parallel → ``interpret_probe`` rows, in plan order. A row
    whose endpoint has a key in ``keys`` sends it (and only that row)."""
    observations = fetch_all([{"method": "GET", "url": row["url"],
                               "headers": auth_headers(row["url"], keys or [])}
                              for row in plan], timeout)
    return [interpret_probe(row, obs) for row, obs in zip(plan, observations)]


def fetch_metadata(model_rows: list[dict[str, Any]], timeout: float,
                   keys: list[dict[str, str]] | None = None) -> list[dict[str, Any]]:
    """Run every model's ``metadata_plan`` in parallel and ``merge_metadata`` → cards.

    Each request waits as long as its plan says (the page waits as long); ``timeout`` is
    for a request without one. Identical requests (LM Studio's one ``/api/v0/models`` for
    all its models) go out once.
    """
    plans = [metadata_plan(row) for row in model_rows]
    unique: dict[str, dict[str, Any]] = {}
    for plan in plans:
        for req in plan:
            unique.setdefault(_request_key(req), req)
    order = list(unique)
    by_key = dict(zip(order, fetch_all([{**unique[k], "headers": auth_headers(
        unique[k]["url"], keys or [])} for k in order], timeout)))
    cards = []
    for row, plan in zip(model_rows, plans):
        responses = []
        for req in plan:
            obs = by_key[_request_key(req)]
            responses.append({"url": req["url"], "status": obs["status"],
                              "body": obs["body"], "error": obs["error"]})
        cards.append(merge_metadata(row, responses))
    return cards


def _request_key(req: dict[str, Any]) -> str:
    return str(json.dumps([req["method"], req["url"], req.get("body")], sort_keys=True))


def discover_sync(env: Mapping[str, str], timeout: float = PROBE_TIMEOUT_S,
                  only: list[str] | None = None) -> dict[str, Any]:
    """Find runtimes and models: ``{"runtimes": [...], "models": [model cards]}``.

    ``env`` supplies the port overrides, ``LOCALRATE_DISCOVERY`` (see
    ``evaluator.discovery.probe_plan``) and the API keys (``OLLAMA_API_KEY``...,
    ``evaluator.endpoints.env_keys``: each to its runtime's endpoint only); ``only`` limits
    the runtimes further. A bad key is a ValueError naming its variable, never the key.
    """
    plan = probe_plan(dict(env), only=only)
    keys = env_keys(env, plan)
    runtimes = probe_all(plan, timeout, keys)
    model_rows = [m for rt in runtimes if rt["state"] == "up" for m in rt["models"]]
    models = fetch_metadata(model_rows, timeout, keys) if model_rows else []
    return {"runtimes": runtimes, "models": models}


async def discover(env: Mapping[str, str], timeout: float = PROBE_TIMEOUT_S,
                   only: list[str] | None = None) -> dict[str, Any]:
    """``discover_sync`` for async callers (``server.rating.bench``), off the event loop."""
    import asyncio  # here, not at the top: `localrate discover` never needs it (~30 ms)

    return await asyncio.to_thread(discover_sync, env, timeout, only)
