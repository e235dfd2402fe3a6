"""server/rating/stream.py: the SSE parser (and the page's, which must agree), and send_case
against every fake dialect and fault."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from server.rating.stream import SSEParser, send_case

DIALECTS = ["ollama", "lmstudio", "vllm", "llamacpp", "mlx"]
BODY = {"model": "m1", "messages": [{"role": "user", "content": "Reply with exactly: PONG."}],
        "stream": True, "stream_options": {"include_usage": True}, "temperature": 0,
        "max_tokens": 64}
SCRIPT = {"answers": [{"match": "PONG", "content": "PONG"}]}


def parse(chunks: list[bytes]) -> list[str]:
    parser = SSEParser()
    out: list[str] = []
    for chunk in chunks:
        out += parser.feed(chunk)
    return out + parser.close()


SSE_TABLE = [
    ([b"data: a\n\ndata: b\n\n"], ["a", "b"]),
    ([b"data: a\r\n\r\ndata: b\r\n\r\n"], ["a", "b"]),
    ([b"data: a\r\rdata: b\r\r"], ["a", "b"]),
    ([b"data: a\r", b"\n\r\n"], ["a"]),
    ([b"data: a\r", b"\ndata: b\n\n"], ["a\nb"]),  # "\r" then "\n" is one line end
    ([b"da", b"ta: {\"x\"", b": 1}\n", b"\n"], ['{"x": 1}']),
    ([b": ping\n\ndata: a\n\n: keepalive 12/40\n\n"], ["a"]),
    ([b"data: line1\ndata: line2\n\n"], ["line1\nline2"]),
    ([b"data:nospace\n\n"], ["nospace"]),
    ([b"event: message\nid: 3\nretry: 10\ndata: a\n\n"], ["a"]),
    ([b"data: [DONE]"], ["[DONE]"]),
    ([b"data: [DONE]\n"], ["[DONE]"]),
    ([b"data: \xff\xfe ok\n\n"], ["\ufffd\ufffd ok"]),
    ([b"data: caf\xc3", b"\xa9\n\n"], ["caf\u00e9"]),
    ([b"\n\n\n"], []),
    ([b"data: " + str(i).encode() + b"\n\n" for i in range(3)] * 2 + [b"data: x\r"],
     ["0", "1", "2", "0", "1", "2", "x"]),
    ([b"".join(b"data: %d\r\n\r\n" % i for i in range(2000))], [str(i) for i in range(2000)]),
]


@pytest.mark.parametrize("chunks, payloads", SSE_TABLE)
def test_sse_parser(chunks: list[bytes], payloads: list[str]) -> None:
    assert parse(chunks) == payloads


def test_the_pages_sse_parser_agrees() -> None:
    """web/js/stream.mjs's SseParser (under Node, fed as the page feeds it) gives the same
    payloads as server/rating/stream.py's on every row of the table."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed (./dev.sh test installs it with apt-get)")
    rows = [[list(chunk) for chunk in chunks] for chunks, _ in SSE_TABLE]
    done = subprocess.run([node, str(Path(__file__).parent / "sse_runner.mjs")],
                          input=json.dumps(rows), capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout) == [payloads for _, payloads in SSE_TABLE]


def run(url: str, timeout_s: float = 10, **kw: Any) -> dict[str, Any]:
    return asyncio.run(send_case(url, BODY, timeout_s, **kw))


def chat_url(fake: Any) -> str:
    return fake.base_url + "/v1/chat/completions"


@pytest.mark.parametrize("dialect", DIALECTS)
def test_each_dialect_streams_events(fake_runtime: Any, dialect: str) -> None:
    fake = fake_runtime({"dialect": dialect, "models": [{"id": "m1", "script": SCRIPT}]})
    seen: list[str] = []
    t = run(chat_url(fake), on_delta=lambda ms, payload: seen.append(payload))
    assert t["error"] is None
    assert t["status"] == 200
    assert t["url"] == chat_url(fake)
    assert t["request"] == BODY
    payloads = [p for _, p in t["events"]]
    assert payloads[-1] == "[DONE]"
    assert seen == payloads
    text = "".join(
        (c.get("delta") or {}).get("content") or ""
        for p in payloads[:-1] for c in json.loads(p).get("choices") or [])
    assert "PONG" in text
    times = [ms for ms, _ in t["events"]]
    assert times == sorted(times) and times[0] >= 0
    assert t["ended_ms"] >= times[-1]


def faulty(fake_runtime: Any, fault: str, dialect: str = "llamacpp") -> str:
    fake = fake_runtime({"dialect": dialect, "fault": fault,
                         "models": [{"id": "m1", "script": SCRIPT}]})
    return chat_url(fake)


def test_http500_reports_status_and_body(fake_runtime: Any) -> None:
    t = run(faulty(fake_runtime, "http500"))
    assert t["status"] == 500
    assert t["error"].startswith("HTTP 500: ")
    assert len(t["error"]) <= len("HTTP 500: ") + 200
    assert t["events"] == []


def test_empty_403(fake_runtime: Any) -> None:
    t = run(faulty(fake_runtime, "empty403", "ollama"))
    assert (t["status"], t["error"]) == (403, "HTTP 403 (empty body)")


def test_hang_times_out_on_the_whole_request(fake_runtime: Any) -> None:
    url = faulty(fake_runtime, "hang")
    start = time.perf_counter()
    t = run(url, timeout_s=0.6)
    assert time.perf_counter() - start < 2.0
    assert t["error"] == "timed out after 0.6 s"
    assert t["ended_ms"] >= 550


def test_hang_reports_a_stall(fake_runtime: Any) -> None:
    t = run(faulty(fake_runtime, "hang"), timeout_s=5, stall_s=0.4)
    assert t["error"] == "no data for 0.4 s"


def test_drip_is_cut_by_the_case_timeout(fake_runtime: Any) -> None:
    start = time.perf_counter()
    t = run(faulty(fake_runtime, "drip"), timeout_s=0.8)
    assert time.perf_counter() - start < 2.5
    assert t["error"] == "timed out after 0.8 s"


def test_reset_is_a_transport_error(fake_runtime: Any) -> None:
    t = run(faulty(fake_runtime, "reset"))
    assert t["error"] is not None
    assert "connection" in t["error"]


def test_cut_stream_keeps_the_events_received(fake_runtime: Any) -> None:
    t = run(faulty(fake_runtime, "cut"))
    payloads = [p for _, p in t["events"]]
    assert "[DONE]" not in payloads
    assert payloads, "the events before the cut are kept"


def test_huge_output_is_capped(fake_runtime: Any) -> None:
    t = run(faulty(fake_runtime, "huge"), max_bytes=50_000)
    assert t["error"] == "output exceeded 50000 bytes"
    assert sum(len(p) for _, p in t["events"]) <= 50_000


def test_bad_utf8_never_crashes(fake_runtime: Any) -> None:
    t = run(faulty(fake_runtime, "bad_utf8"))
    assert t["error"] is None
    assert any("\ufffd" in p for _, p in t["events"])


@pytest.mark.parametrize("fault", ["non_json", "wrong_type"])
def test_garbage_is_recorded_not_judged(fake_runtime: Any, fault: str) -> None:
    t = run(faulty(fake_runtime, fault))
    assert t["status"] == 200
    assert t["error"] is None
    assert t["events"]


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_closed_port_is_a_connect_error() -> None:
    port = closed_port()
    t = run(f"http://127.0.0.1:{port}/v1/chat/completions")
    assert t["status"] is None
    assert t["error"].startswith(f"could not connect to http://127.0.0.1:{port}/")
    assert t["events"] == []


# -- hostile streams (issue 11) ------------------------------------------------------------

def node_path() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed (./dev.sh test installs it with apt-get)")
    return node


LONG_LINE = b"data: " + b"x" * 1_000_000  # 1 MB without a newline (24.6 s before the fix)
SMALL_CHUNKS = [LONG_LINE[i:i + 100] for i in range(0, len(LONG_LINE), 100)]


def test_a_long_line_in_small_chunks_is_linear() -> None:
    start = time.perf_counter()
    payloads = parse(SMALL_CHUNKS)
    assert time.perf_counter() - start < 3.0
    assert payloads == ["x" * 1_000_000]


def test_many_lines_in_small_chunks_are_linear() -> None:
    stream = b"".join(b"data: %d\r\n\r\n" % i for i in range(50_000))
    start = time.perf_counter()
    payloads = parse([stream[i:i + 7] for i in range(0, len(stream), 7)])
    assert time.perf_counter() - start < 3.0
    assert payloads == [str(i) for i in range(50_000)]


def test_the_pages_parser_is_linear_too() -> None:
    """The same 1 MB line, fed to web/js/stream.mjs's SseParser in 100-byte chunks under
    Node (11.9 s before the fix); the wall time includes starting Node."""
    rows = json.dumps([[list(chunk) for chunk in SMALL_CHUNKS]])
    start = time.perf_counter()
    done = subprocess.run([node_path(), str(Path(__file__).parent / "sse_runner.mjs")],
                          input=rows, capture_output=True, text=True, timeout=60, check=False)
    assert time.perf_counter() - start < 3.0
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout) == [["x" * 1_000_000]]


REDIRECT_ERROR = ("the runtime answered HTTP 307 (redirect to {to}); localrate does not "
                  "follow redirects — use the final address as the base URL")


def redirecting(fake_runtime: Any) -> tuple[Any, Any]:
    """A runtime that answers every chat request with 307 to a second, working one."""
    target = fake_runtime({"dialect": "ollama", "models": [{"id": "m1", "script": SCRIPT}]})
    fake = fake_runtime({"dialect": "ollama", "fault": "redirect",
                         "redirect_to": chat_url(target), "models": [{"id": "m1"}]})
    return fake, target


def test_the_cli_never_follows_a_redirect(fake_runtime: Any) -> None:
    from evaluator.transcript import assemble

    fake, target = redirecting(fake_runtime)
    t = run(chat_url(fake))
    assert (t["status"], t["events"], t["error"]) == (307, [], None)
    assert t["redirect"] == {"status": 307, "location": chat_url(target)}
    assert assemble(t).error == REDIRECT_ERROR.format(to=chat_url(target))
    assert target.log == []


def test_the_pages_record_never_follows_a_redirect(fake_runtime: Any) -> None:
    from evaluator.transcript import assemble

    fake, target = redirecting(fake_runtime)
    done = subprocess.run([node_path(), str(Path(__file__).parent / "record_runner.mjs"),
                           chat_url(fake), "10"], input=json.dumps(BODY), capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    t = json.loads(done.stdout)
    assert (t["status"], t["events"], t["error"]) == (307, [], None)
    assert t["redirect"] == {"status": 307, "location": chat_url(target)}
    assert assemble(t).error == REDIRECT_ERROR.format(to=chat_url(target))
    assert target.log == []


@pytest.mark.parametrize("fault, dialect", [("http500", "llamacpp"), ("empty403", "ollama"),
                                            ("hang", "llamacpp"), ("drip", "llamacpp"),
                                            ("huge", "llamacpp"), ("reset", "llamacpp"),
                                            ("cut", "llamacpp")])
def test_the_pages_record_words_transport_errors_as_the_cli(fake_runtime: Any, fault: str,
                                                            dialect: str) -> None:
    """The transport errors are worded in both shells (each records its own stream): the
    page's record() under Node and the CLI's send_case give the same status, error and
    payloads on one table of faults."""
    url = faulty(fake_runtime, fault, dialect)
    cli = run(url, timeout_s=1, max_bytes=1_000_000)
    done = subprocess.run([node_path(), str(Path(__file__).parent / "record_runner.mjs"),
                           url, "1"], input=json.dumps(BODY), capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    page = json.loads(done.stdout)
    assert cli["error"] is not None or fault == "cut"
    assert (page["status"], page["error"]) == (cli["status"], cli["error"])
    if fault != "drip":  # how much of a drip arrives in the time allowed varies

        def payloads(t: dict[str, Any]) -> list[str]:  # the fake numbers its answers
            return [re.sub(r"chatcmpl-fake\d+", "chatcmpl-fake", p) for _, p in t["events"]]

        assert payloads(page) == payloads(cli)
