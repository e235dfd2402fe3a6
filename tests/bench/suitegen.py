"""Suites the benchmark writes into a temporary folder, and running `localrate bench` on one."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from tests.bench.common import localrate_cmd, time_process

ONE_CASE = """\
name: bench-one
version: 0.0.1
description: One case that any answer of the benchmark server passes.
passThreshold: 0.5
cases:
  - id: stream
    input: Stream as many tokens as you can.
    expect: {kind: contains, value: t1}
"""


def one_case_suite() -> Path:
    """A new temporary folder holding a one-case suite (the caller removes it)."""
    folder = Path(tempfile.mkdtemp(prefix="localrate-bench-suite-"))
    (folder / "suite.yaml").write_text(ONE_CASE, encoding="utf-8")
    return folder


def cli_bench(suite: str, model: str, base_url: str, *, env: dict[str, str] | None = None,
              timeout: float = 600.0) -> tuple[float, dict[str, Any]]:
    """Run ``localrate bench --json`` on ``suite``; return (wall ms, run record)."""
    cmd = [*localrate_cmd(), "bench", "--suite", suite, "--model", model,
           "--base-url", base_url, "--runtime", "vllm", "--json"]
    wall, done = time_process(cmd, env=env, timeout=timeout)
    try:
        record = json.loads(done.stdout)
    except ValueError as exc:
        raise RuntimeError(f"localrate bench exited {done.returncode} without JSON: "
                           f"{(done.stderr or done.stdout).strip()[-300:]}") from exc
    return wall, record
