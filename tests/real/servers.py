"""Start one real model server for a test module, and run the CLI against it.

Real-runtime tests FAIL when the demo model or a runtime is missing: the README's test
command installs them (`localrate demo-model`, `pip install xllamacpp 'mlx[cpu]' mlx-lm`).
Only MLX may be skipped, and only where it cannot be installed at all.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.procs import stop_process

REPO = Path(__file__).resolve().parents[2]
MODEL_ID = "SmolLM2-135M-Instruct"
TRANSCRIPTS = REPO / "tests" / "data" / "transcripts"
CLI = [sys.executable, "-c", "from server.cli.main import main; main()"]


def mlx_platform_reason() -> str | None:
    """Why mlx cannot be installed on this platform at all, or None where it can."""
    system, machine = sys.platform, platform.machine().lower()
    if system == "darwin" and machine == "arm64":
        return None
    if system == "linux" and machine in ("x86_64", "amd64", "aarch64", "arm64"):
        return None
    return f"mlx has no build for {system} {machine}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def base_url_from_env(name: str) -> str:
    """`$name` when set (a server the caller runs), else a free port on 127.0.0.1."""
    return os.environ.get(name) or f"http://127.0.0.1:{free_port()}"


def demo_model() -> Any:
    """The prepared demo model (downloads/converts on first use); raises when impossible."""
    from server.demo.model import PlainProgress, ensure_demo_model

    return ensure_demo_model(PlainProgress())


@contextmanager
def running(
    cmd: list[str],
    base_url: str,
    log: Path,
    timeout_s: float = 240.0,
    procs: list[subprocess.Popen[bytes]] | None = None,
) -> Iterator[str]:
    """Run `cmd` until `GET base_url/health` answers 200; stop it afterwards.

    On failure, the server's log is part of the error message. The process is appended
    to `procs` when given (for tests that signal it).
    """
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=REPO, env=env)
    if procs is not None:
        procs.append(proc)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{cmd[:4]} exited with {proc.returncode}:\n{log.read_text()}")
            try:
                if httpx.get(f"{base_url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{base_url} not ready after {timeout_s} s:\n{log.read_text()}")
            time.sleep(0.5)
        yield base_url
    finally:
        stop_process(proc, grace_s=20)


def cli_json(
    args: list[str], env: dict[str, str], timeout_s: float = 600.0
) -> tuple[int, Any, str]:
    """Run `localrate ARGS` in a subprocess; return (exit code, parsed stdout, stderr)."""
    done = subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, **env},
        timeout=timeout_s,
        check=False,
    )
    try:
        parsed = json.loads(done.stdout)
    except ValueError:
        parsed = None
    return done.returncode, parsed, done.stderr


def bench_smoke(runtime: str, base_url: str) -> dict[str, Any]:
    """`localrate bench --suite smoke --json` against the demo model on `runtime` (found by
    discovery at `base_url`); asserts it ran (exit 0 or 1) and returns the run record."""
    env = {f"{runtime.upper()}_BASE_URL": base_url, "LOCALRATE_DISCOVERY": runtime}
    args = ["bench", "--suite", "smoke", "--model", MODEL_ID, "--runtime", runtime,
            "--json", "--timeout", "180"]
    code, record, err = cli_json(args, env)
    assert code in (0, 1), err  # 0 pass / 1 below threshold; 3 would mean nothing ran
    assert record["model"]["runtime"] == runtime
    assert [c["id"] for c in record["cases"]] == ["capital-of-france", "echo-hello", "two-plus-two"]
    return dict(record)


def maybe_record(name: str, record: dict[str, Any]) -> None:
    """With LOCALRATE_RECORD=1, save a run record as a fixture transcript file."""
    if os.environ.get("LOCALRATE_RECORD") == "1":
        TRANSCRIPTS.mkdir(parents=True, exist_ok=True)
        (TRANSCRIPTS / name).write_text(
            json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
        )
