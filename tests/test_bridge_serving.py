"""Issue 11, findings 3 and 4: open files, idle connections, the log, and Ctrl-C.

The servers of `localrate serve` and `localrate bridge` run through server/cli/serving.py;
these tests run the bridge app (with the fake generator) under it, on loopback, in a
thread or, where limits or signals are involved, in a subprocess.
"""

from __future__ import annotations

import logging
import resource
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.cli.serving import OneLineLogs, connection_cap
from server.mlx_bridge.app import make_app
from tests.bridge_fake import FakeGenerator, ask, free_port, raw_request, serving_in_thread
from tests.procs import stop_process

REPO = Path(__file__).resolve().parents[1]
SERVER = textwrap.dedent(
    """
    import sys
    from server.cli import serving
    from server.mlx_bridge.app import make_app
    from tests.bridge_fake import FakeGenerator

    port, cap, prefill_s = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    app = make_app(FakeGenerator(["ok"], prefill_s=prefill_s))
    server = serving.server(app, "127.0.0.1", port, cap=cap, log_level="info")
    serving.quiet_logs()
    print("serving", flush=True)
    serving.run([server], on_stop=[app.state.worker.shutdown])
    print("stopped", flush=True)
    """
)


def limits(soft: int, hard: int) -> Any:
    return lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def python(code: str, soft: int, hard: int, *args: str, cwd: Path = REPO) -> str:
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          cwd=cwd, preexec_fn=limits(soft, hard), timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def start_server(tmp_path: Path, soft: int, cap: int, prefill_s: float = 0.0
                 ) -> tuple[subprocess.Popen[str], int, Path]:
    port, log = free_port(), tmp_path / "server.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-c", SERVER, str(port), str(cap),
                                 str(prefill_s)], stdout=out, stderr=subprocess.STDOUT,
                                text=True, cwd=REPO, preexec_fn=limits(soft, soft))  # noqa: PLW1509
    deadline = time.monotonic() + 20
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc, port, log
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_process(proc)
            raise RuntimeError(f"server did not start:\n{log.read_text()}")
        time.sleep(0.1)


# --- open files ---------------------------------------------------------------------

LOWERING = "import resource\nresource.setrlimit(resource.RLIMIT_NOFILE, (2048, 4096))\n"
GUARDED = ("import resource, sys; sys.path.insert(0, sys.argv[1]); "
           "from server.mlx_bridge.fdlimit import import_guarded; import_guarded('lowers'); "
           "print(*resource.getrlimit(resource.RLIMIT_NOFILE))")


@pytest.mark.parametrize(
    ("soft", "hard", "after"),
    [
        (256, 1024, "1024 1024"),  # hard below 4096: mlx-lm's call raised ValueError
        (256, 8192, "2048 8192"),  # the hard limit is not lowered to 4096
        (5000, 8192, "5000 8192"),  # the soft limit is not lowered to 2048
    ],
)
def test_a_module_cannot_lower_the_open_file_limit(
    tmp_path: Path, soft: int, hard: int, after: str
) -> None:
    (tmp_path / "lowers.py").write_text(LOWERING)
    assert python(GUARDED, soft, hard, str(tmp_path)) == after


def test_the_soft_limit_is_raised_to_the_hard_limit() -> None:
    code = ("from server.mlx_bridge.fdlimit import raise_open_file_limit as r, open_file_limits as o; "
            "r(); print(*o())")
    assert python(code, 256, 1024) == "1024 1024"


@pytest.mark.parametrize(("soft", "servers", "cap"),
                         [(20000, 2, 1024), (1024, 2, 448), (256, 1, 128), (64, 1, 16)])
def test_connection_cap_follows_the_limit(soft: int, servers: int, cap: int) -> None:
    assert connection_cap(soft, servers) == cap


# --- idle connections -----------------------------------------------------------------

def closed_within(sock: socket.socket, seconds: float) -> bool:
    sock.settimeout(seconds)
    try:
        while sock.recv(65536):
            pass
        return True
    except (TimeoutError, ConnectionResetError):
        return False
    finally:
        sock.close()


def test_idle_and_slow_connections_are_closed() -> None:
    with serving_in_thread(make_app(FakeGenerator(["x"])), head_s=0.5) as port:
        idle = socket.create_connection(("127.0.0.1", port))
        slow = socket.create_connection(("127.0.0.1", port))
        slow.sendall(b"GET /health HTTP/1.1\r\n")
        for _ in range(5):  # a header byte now and then never completes the request
            time.sleep(0.2)
            try:
                slow.sendall(b"X")
            except OSError:
                break  # already closed by the server
        kept = socket.create_connection(("127.0.0.1", port))
        kept.sendall(f"GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        assert b"200 OK" in kept.recv(65536)  # then idle after its response
        assert closed_within(idle, 5)
        assert closed_within(slow, 5)
        assert closed_within(kept, 5)


def test_a_long_response_is_not_cut_by_the_idle_deadline() -> None:
    gen = FakeGenerator(["a", "b", "c", "d"], delay=0.4)
    with serving_in_thread(make_app(gen), head_s=0.5) as port:
        answer = httpx.post(f"http://127.0.0.1:{port}/v1/chat/completions", json=ask(),
                            timeout=20)
    assert answer.json()["choices"][0]["message"]["content"] == "abcd"


def test_idle_connections_past_the_cap_do_not_starve_health() -> None:
    with serving_in_thread(make_app(FakeGenerator(["x"])), cap=16) as port:
        held = [socket.create_connection(("127.0.0.1", port)) for _ in range(48)]
        time.sleep(0.3)
        started = time.monotonic()
        health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=10)
        took = time.monotonic() - started
        closed = sum(closed_within(sock, 0.2) for sock in held)
    assert health.status_code == 200 and took < 5
    assert closed >= 48 - 16  # the longest-idle ones made room


# --- the log ----------------------------------------------------------------------------

def test_one_line_per_failure_and_repeats_summarised() -> None:
    now = [0.0]
    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(self.format(record))

    logger = logging.getLogger("test.bridge.flood")
    logger.propagate = False
    logger.addHandler(Keep())
    logger.addFilter(OneLineLogs(window_s=10, clock=lambda: now[0]))
    for _ in range(1000):
        try:
            raise OSError(24, "Too many open files")
        except OSError:
            logger.exception("socket.accept() out of system resource\nsocket: <fd 7>")
    now[0] = 11.0
    try:
        raise OSError(24, "Too many open files")
    except OSError:
        logger.exception("socket.accept() out of system resource\nsocket: <fd 9>")
    assert seen == [
        "socket.accept() out of system resource: OSError: [Errno 24] Too many open files",
        ("socket.accept() out of system resource: OSError: [Errno 24] Too many open files "
         "(and 999 more like it in 10 s)"),
    ]


def test_running_out_of_files_is_a_few_log_lines(tmp_path: Path) -> None:
    proc, port, log = start_server(tmp_path, soft=64, cap=1000)  # cap above the limit
    try:
        held = [socket.create_connection(("127.0.0.1", port)) for _ in range(120)]
        time.sleep(2.5)
        for sock in held:
            sock.close()
        time.sleep(1.5)
        health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=10)
    finally:
        stop_process(proc)
    text = log.read_text()
    assert health.status_code == 200
    assert "Too many open files" in text
    assert "Traceback" not in text
    errors = [line for line in text.splitlines()
              if not line.startswith("INFO:") and line not in ("serving", "stopped")]
    assert len(errors) <= 3, text  # was: a traceback per accept() retry


# --- Ctrl-C -----------------------------------------------------------------------------

def test_ctrl_c_during_a_long_prefill_stops_the_process(tmp_path: Path) -> None:
    proc, port, log = start_server(tmp_path, soft=1024, cap=64, prefill_s=600)
    try:
        sock = raw_request(port, ask(stream=True))
        deadline = time.monotonic() + 10
        while httpx.get(f"http://127.0.0.1:{port}/health").json()["generations"] < 1:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.3)  # in the fake prefill now
        proc.send_signal(signal.SIGINT)
        code = proc.wait(10)  # was: waited for the 600 s prefill
        sock.close()
    finally:
        stop_process(proc)
    text = log.read_text()
    assert code == 0, text
    assert "stopped" in text and "Traceback" not in text
