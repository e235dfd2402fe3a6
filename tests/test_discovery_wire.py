"""server/rating/discovery.py's HTTP/1.1 reader against raw bytes: every way a response can end."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from server.rating import discovery
from server.rating.discovery import fetch


@dataclass
class RawServer:
    port: int
    answers: list[bytes] = field(default_factory=list)  # one per connection, in order
    requests: list[bytes] = field(default_factory=list)  # what each connection sent

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/models"


@pytest.fixture
def raw() -> Iterator[RawServer]:
    """A loopback server that answers each connection with the next canned bytes, then
    closes; an answer ``b"HANG"`` accepts and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    server = RawServer(listener.getsockname()[1])
    held: list[socket.socket] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            server.requests.append(conn.recv(65_536))
            answer = server.answers.pop(0)
            if answer == b"HANG":
                held.append(conn)
                continue
            conn.sendall(answer)
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    yield server
    listener.close()
    for conn in held:
        conn.close()


@pytest.mark.parametrize(("wire", "status", "body"), [
    (b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n{\"a\":1}", 200, '{"a":1}'),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n4;x=y\r\n\":1}\r\n0\r\n\r\n",
     200, '{"a":1}'),
    (b"HTTP/1.0 404 Not Found\r\n\r\nno such path", 404, "no such path"),  # ends at close
    (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 200, "ok"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n\xff\xfe", 200, "\ufffd\ufffd"),
])
def test_bodies(raw: RawServer, wire: bytes, status: int, body: str) -> None:
    raw.answers.append(wire)
    obs = fetch("GET", raw.url(), None, 2.0)
    assert (obs["status"], obs["body"], obs["error"]) == (status, body, None)


@pytest.mark.parametrize("wire", [
    b"SSH-2.0-OpenSSH_9.2\r\n\r\n",  # not HTTP
    b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",  # closed mid-body
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",  # bad chunk size
    b"HTTP/1.1 200 OK\r\nContent-Le",  # closed mid-headers
    b"",  # closed at once
])
def test_garbage_is_a_network_error(raw: RawServer, wire: bytes) -> None:
    raw.answers.append(wire)
    obs = fetch("GET", raw.url(), None, 2.0)
    assert (obs["status"], obs["error"]) == (None, "network")


def test_body_too_big(raw: RawServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(discovery, "MAX_BODY", 10)
    raw.answers.append(b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n01234567890")
    obs = fetch("GET", raw.url(), None, 2.0)
    assert obs["status"] == 200 and obs["error"] == "body exceeded 10 bytes"


def test_hang_times_out_at_the_deadline(raw: RawServer) -> None:
    raw.answers.append(b"HANG")
    obs = fetch("GET", raw.url(), None, 0.3)
    assert (obs["status"], obs["error"]) == (None, "timeout")
    assert 280 <= obs["elapsed_ms"] < 1000


def test_closed_port_and_post_body(raw: RawServer) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    assert fetch("GET", f"http://127.0.0.1:{closed}/", None, 1.0)["error"] == "closed"
    raw.answers.append(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
    obs = fetch("POST", raw.url(), {"model": "m"}, 1.0)
    assert obs["status"] == 200 and obs["body"] == "{}"
    head, _, body = raw.requests[-1].partition(b"\r\n\r\n")
    assert head.startswith(b"POST /v1/models HTTP/1.1\r\n")
    assert b"Content-Type: application/json" in head and body == b'{"model": "m"}'
