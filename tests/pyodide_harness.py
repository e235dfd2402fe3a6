"""Run a Node script against the vendored Pyodide with this checkout's evaluator, once.

Every Pyodide parity test needs the same things: Node, the pinned Pyodide (fetched and
checked by the site's asset code), the evaluator zip the page loads, and a JSON payload
file. `run_node` does that and returns the runner's last stdout line; `call_ops` sends
page_api requests through tests/pyodide_ops_runner.mjs (the page's own `startPython`) and
returns the replies as strings, byte for byte as CPython's `page_api.call` would print them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from server.site import assets
from server.site.build import EVALUATOR_DIR

HERE = Path(__file__).resolve().parent
OPS_RUNNER = HERE / "pyodide_ops_runner.mjs"


def run_node(runner: Path, payload: Any, work: Path, timeout: float = 300) -> str:
    """`node RUNNER <pyodide dir> <evaluator zip> <payload.json>` → its last stdout line."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: the Pyodide tests need Node >= 18")
    folder = assets.fetch_pyodide(log=lambda _line: None)
    if folder is None:
        pytest.fail("npm is not installed: cannot fetch the pinned Pyodide for this test")
    zip_path = work / "evaluator.zip"
    zip_path.write_bytes(assets.build_evaluator_zip(assets.fetch_wheels(log=lambda _l: None),
                                                    EVALUATOR_DIR))
    path = work / "payload.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    proc = subprocess.run([node, str(runner), str(folder), str(zip_path), str(path)],
                          capture_output=True, text=True, timeout=timeout, check=False)
    assert proc.returncode == 0, f"{runner.name} failed:\n{proc.stderr[-3000:]}"
    return proc.stdout.strip().split("\n")[-1]  # not splitlines: U+2028 may be in a reply


def call_ops(requests: list[dict[str, Any]], work: Path, timeout: float = 300) -> list[str]:
    """Each `{"op", "args"}` request through `evaluator.page_api.call` inside Pyodide."""
    replies: list[str] = json.loads(run_node(OPS_RUNNER, [json.dumps(r) for r in requests],
                                             work, timeout))
    return replies
