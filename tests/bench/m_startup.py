"""Measurement 2, CLI start-up: whole-process wall time against `python -c pass`.

`localrate discover --json` runs with every runtime's base URL on a closed port of
127.0.0.1 (so each probe is refused at once), `localrate --help` as is. The baseline is
the same interpreter doing nothing, measured in the same run.
"""

from __future__ import annotations

from typing import Any

from tests.bench.common import (
    PYTHON,
    closed_ports_env,
    localrate_cmd,
    measurement,
    median,
    row,
    time_process,
)

TARGET_MS = 250.0


def timed(cmd: list[str], runs: int, env: dict[str, str] | None = None) -> list[float]:
    """Wall milliseconds of ``runs`` runs (one warm-up run first, not counted)."""
    time_process(cmd, env=env)
    times = []
    for _ in range(runs):
        ms, done = time_process(cmd, env=env)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode}: "
                               f"{done.stderr.strip()[-300:]}")
        times.append(ms)
    return times


def run(opts: Any) -> dict[str, Any]:
    """Median start-up of discover and --help, with their ratio to `python -c pass`."""
    out = measurement("startup", "2. CLI start-up (whole process)")
    runs = max(opts.runs * 2, 5)
    base = timed([PYTHON, "-c", "pass"], runs)
    base_ms = median(base)
    out["rows"].append(row("python -c pass (baseline)", base_ms, "ms", runs=base))
    env = closed_ports_env()
    for label, args, run_env in [("localrate discover --json (ports closed)",
                                  ["discover", "--json"], env),
                                 ("localrate --help", ["--help"], None)]:
        times = timed([*localrate_cmd(), *args], runs, run_env)
        value = median(times)
        out["rows"].append(row(label, value, "ms", baseline=base_ms, runs=times,
                               target=f"<= {TARGET_MS:g} ms",
                               ok=value is not None and value <= TARGET_MS))
    return out
