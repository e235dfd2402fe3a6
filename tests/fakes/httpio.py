"""Hand-written HTTP/1.x on asyncio streams: read one request, write heads and bodies.

The fake runtime needs byte-level control over the wire (chunked or HTTP/1.0 bodies,
resets, cut streams, invalid UTF-8), so it does not use a framework.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any

REASONS = {200: "OK", 204: "No Content", 400: "Bad Request", 403: "Forbidden",
           404: "Not Found", 405: "Method Not Allowed", 500: "Internal Server Error",
           503: "Service Unavailable"}
MAX_HEAD = 64 * 1024


@dataclass
class Request:
    """One parsed HTTP request."""

    method: str
    path: str
    version: str
    headers: dict[str, str]
    body: bytes = b""
    query: str = ""

    def json(self) -> Any:
        """The body parsed as JSON, or None when it is empty or not JSON."""
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None

    @property
    def wants_close(self) -> bool:
        """True when the client asked to close the connection after this exchange."""
        conn = self.headers.get("connection", "").lower()
        return self.version == "HTTP/1.0" and "keep-alive" not in conn or "close" in conn


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    """Read one request; None when the client closed the connection first."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3:
        return None
    method, target, version = parts
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    path, _, query = target.partition("?")
    body = b""
    try:
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = await _read_chunked(reader)
        elif int(headers.get("content-length", "0") or 0) > 0:
            body = await reader.readexactly(int(headers["content-length"]))
    except (asyncio.IncompleteReadError, ConnectionError, ValueError):
        return None
    return Request(method.upper(), path, version, headers, body, query)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    """Decode a chunked request body."""
    out = bytearray()
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return bytes(out)
        out += await reader.readexactly(size)
        await reader.readexactly(2)


@dataclass
class Wire:
    """The response side of one connection: `version` is what the server speaks."""

    writer: asyncio.StreamWriter
    version: str = "HTTP/1.1"
    server: str = "fake-runtime"
    chunked: bool = False
    closed: bool = False
    extra_headers: list[tuple[str, str]] = field(default_factory=list)

    def head(self, status: int, headers: list[tuple[str, str]]) -> bytes:
        """Status line and headers, with Date/Server and the CORS extras appended."""
        lines = [f"{self.version} {status} {REASONS.get(status, 'Status')}",
                 f"Server: {self.server}", f"Date: {formatdate(usegmt=True)}"]
        lines += [f"{k}: {v}" for k, v in headers + self.extra_headers]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    async def send(self, status: int, body: bytes, content_type: str | None,
                   close: bool = False) -> None:
        """A complete response with Content-Length (HTTP/1.0 closes afterwards anyway)."""
        headers = [("Content-Length", str(len(body)))]
        if content_type:
            headers.insert(0, ("Content-Type", content_type))
        if close or self.version == "HTTP/1.0":
            headers.append(("Connection", "close"))
            self.closed = True
        self.writer.write(self.head(status, headers) + body)
        await self.writer.drain()

    async def send_json(self, status: int, obj: Any) -> None:
        """A JSON response."""
        await self.send(status, json.dumps(obj).encode(), "application/json")

    async def start_stream(self, status: int, content_type: str) -> None:
        """Begin a streamed body: chunked on HTTP/1.1, raw until close on HTTP/1.0."""
        headers = [("Content-Type", content_type), ("Cache-Control", "no-cache")]
        if self.version == "HTTP/1.1":
            headers.append(("Transfer-Encoding", "chunked"))
            self.chunked = True
        else:
            self.closed = True
        self.writer.write(self.head(status, headers))
        await self.writer.drain()

    async def write(self, data: bytes) -> None:
        """One piece of a streamed body (one HTTP chunk when chunked)."""
        if not data:
            return
        if self.chunked:
            data = b"%x\r\n%s\r\n" % (len(data), data)
        self.writer.write(data)
        await self.writer.drain()

    async def end(self) -> None:
        """Finish a streamed body cleanly (terminating chunk, or close on HTTP/1.0)."""
        if self.chunked:
            self.writer.write(b"0\r\n\r\n")
            await self.writer.drain()
            self.chunked = False
        else:
            await self.close()

    async def close(self) -> None:
        """Close the connection with a normal FIN."""
        self.closed = True
        try:
            self.writer.close()
            await self.writer.wait_closed()
        except (ConnectionError, OSError):
            pass

    def reset(self) -> None:
        """Close the connection abruptly: SO_LINGER 0 makes the kernel send RST."""
        self.closed = True
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()
