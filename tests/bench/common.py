"""Shared helpers of the benchmark: processes on loopback, timing, result rows.

Every measurement returns a dict ``{"name", "title", "rows": [...], "skipped": reason|None,
"notes": [...]}``; a row is ``{"metric", "value", "unit", "baseline", "ratio", "target",
"ok", "runs"}`` where ``target`` is a short text (``"<= 250 ms"``) and ``ok`` is True,
False or None (nothing to judge).
"""

from __future__ import annotations

import contextlib
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from tests.procs import stop_process

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
RUNTIME_ENVS = ["OLLAMA_BASE_URL", "LM_STUDIO_BASE_URL", "VLLM_BASE_URL",
                "LLAMACPP_BASE_URL", "MLX_BASE_URL"]


def localrate_cmd() -> list[str]:
    """The ``localrate`` console script of this venv, or ``python -m`` on server.cli.main."""
    script = Path(PYTHON).with_name("localrate")
    if script.exists():
        return [str(script)]
    return [PYTHON, "-c", "from server.cli.main import main; main()"]


def cache_root() -> Path:
    """``$LOCALRATE_CACHE`` or ~/.cache/localrate."""
    return Path(os.environ.get("LOCALRATE_CACHE") or Path.home() / ".cache" / "localrate")


def median(values: Sequence[float]) -> float | None:
    """The median, or None for no values."""
    return statistics.median(values) if values else None


def measurement(name: str, title: str) -> dict[str, Any]:
    """An empty measurement result."""
    return {"name": name, "title": title, "rows": [], "skipped": None, "notes": []}


def skipped(name: str, title: str, reason: str) -> dict[str, Any]:
    """A measurement that could not run here, with the reason."""
    out = measurement(name, title)
    out["skipped"] = reason
    return out


def row(metric: str, value: float | None, unit: str, *, baseline: float | None = None,
        ratio: float | None = None, target: str = "", ok: bool | None = None,
        runs: Sequence[float] = ()) -> dict[str, Any]:
    """One line of the table; ``ratio`` defaults to value / baseline."""
    if ratio is None and value is not None and baseline:
        ratio = value / baseline
    return {"metric": metric, "value": _round(value), "unit": unit,
            "baseline": _round(baseline), "ratio": _round(ratio, 3), "target": target,
            "ok": ok, "runs": [_round(v) for v in runs]}


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(float(value), digits)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (closed again at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def closed_ports_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment with every runtime's base URL on a closed port of 127.0.0.1."""
    env = dict(os.environ)
    env.pop("OLLAMA_HOST", None)
    env.pop("LOCALRATE_DISCOVERY", None)
    for name in RUNTIME_ENVS:
        env[name] = f"http://127.0.0.1:{free_port()}"
    env.update(extra or {})
    return env


@contextlib.contextmanager
def hanging_port() -> Iterator[int]:
    """A port that accepts connections and never answers (closed on exit)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)  # the kernel completes handshakes; nobody ever reads
    try:
        yield int(sock.getsockname()[1])
    finally:
        sock.close()


@contextlib.contextmanager
def process(cmd: list[str], ready_prefix: str = "ready ", timeout: float = 60.0,
            env: dict[str, str] | None = None) -> Iterator[str]:
    """Start ``cmd``; yield the rest of its first stdout line starting with ready_prefix."""
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + timeout
        assert proc.stdout is not None
        while True:
            line = proc.stdout.readline()
            if line.startswith(ready_prefix):
                break
            if not line or time.monotonic() > deadline:
                err = proc.stderr.read() if proc.stderr and proc.poll() is not None else ""
                raise RuntimeError(f"{' '.join(cmd[:4])}: no '{ready_prefix}' line: "
                                   f"{(line or err).strip()[:300]}")
        yield line[len(ready_prefix):].strip()
    finally:
        stop_process(proc, grace_s=5)


@contextlib.contextmanager
def streaming_server(tokens: int = 256, rate: float | None = None,
                     script: str | None = None, model: str = "bench-model"
                     ) -> Iterator[str]:
    """Run tests.bench.streaming_server in its own process; yield its base URL."""
    cmd = [PYTHON, "-m", "tests.bench.streaming_server", "--tokens", str(tokens),
           "--model", model]
    if rate:
        cmd += ["--rate", str(rate)]
    if script:
        cmd += ["--script", script]
    with process(cmd, timeout=20) as url:
        yield url


def time_process(cmd: list[str], env: dict[str, str] | None = None,
                 timeout: float = 60.0) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Run ``cmd`` to its end; return (wall milliseconds, completed process)."""
    start = time.perf_counter()
    done = subprocess.run(cmd, check=False, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)
    return (time.perf_counter() - start) * 1000, done


def repeat(n: int, fn: Callable[[], float]) -> list[float]:
    """Call ``fn`` n times; its return values in order."""
    return [fn() for _ in range(n)]
