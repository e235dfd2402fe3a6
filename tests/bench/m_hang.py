"""Measurement 3, discovery with one port hanging (accepts, never answers).

CLI: `localrate discover --json --timeout T` with Ollama's base URL on the hanging port and
every other runtime on a closed port; the whole process must end within T + 50 ms over the
same command with every port closed (the baseline, so interpreter start-up is not counted
against the probe). The hanging runtime must be reported as ``timeout``. The page: time
until every runtime row shows a final state (tests/bench/page_runs.py).
"""

from __future__ import annotations

import json
from typing import Any

from tests.bench.common import (
    closed_ports_env,
    hanging_port,
    localrate_cmd,
    measurement,
    median,
    row,
    time_process,
)

PROBE_TIMEOUT_S = 1.5  # the CLI's and the page's default probe timeout
SLACK_MS = 50.0


def run(opts: Any) -> dict[str, Any]:
    """Rows: closed-ports baseline, hanging total, its excess over the probe timeout."""
    out = measurement("hang", "3. Discovery with one port hanging")
    cmd = [*localrate_cmd(), "discover", "--json", "--timeout", str(PROBE_TIMEOUT_S)]
    closed = closed_ports_env()
    base = [time_process(cmd, env=closed)[0] for _ in range(opts.runs)]
    base_ms = median(base)
    out["rows"].append(row("CLI, every port closed (baseline)", base_ms, "ms", runs=base))
    totals, states = [], []
    with hanging_port() as port:
        env = closed_ports_env({"OLLAMA_BASE_URL": f"http://127.0.0.1:{port}"})
        for _ in range(opts.runs):
            ms, done = time_process(cmd, env=env)
            totals.append(ms)
            runtimes = json.loads(done.stdout)["runtimes"]
            states.append(next(r["state"] for r in runtimes if r["runtime"] == "ollama"))
    total = median(totals)
    limit = PROBE_TIMEOUT_S * 1000 + SLACK_MS
    out["rows"].append(row("CLI, Ollama hanging: whole process", total, "ms",
                           baseline=base_ms, runs=totals))
    excess = total - base_ms if total is not None and base_ms is not None else None
    out["rows"].append(row("CLI, hang cost (total - baseline)", excess, "ms",
                           target=f"<= {limit:g} ms", ok=excess is not None and
                           excess <= limit and all(s == "timeout" for s in states)))
    if any(s != "timeout" for s in states):
        out["notes"].append(f"CLI: the hanging runtime was reported as {states}, "
                            "expected timeout")
    page = getattr(opts, "page", None)
    if page is not None:
        got = page.hang_times(opts.runs)
        value = median(got["span"])
        out["rows"].append(row("page, Ollama hanging: probes sent -> every row answered", value,
                               "ms", runs=got["span"], target=f"<= {limit:g} ms",
                               ok=value is not None and value <= limit))
        out["rows"].append(row("page, Ollama hanging: every row answered, since navigation",
                               median(got["raw"]), "ms", runs=got["raw"], target="(info)"))
        out["rows"].append(row("page, Ollama hanging: every row final (evaluator)",
                               median(got["final"]), "ms", runs=got["final"],
                               target="(info)"))
        out["notes"].append("page: ms since navigation, reload with a warm HTTP cache; a "
                            "row's final state needs Python, so it also waits for the "
                            "evaluator to be ready")
    elif getattr(opts, "page_skip_reason", None):
        out["notes"].append(f"page: skipped ({opts.page_skip_reason})")
    return out
