"""Measurement 6, against promptfoo: same cases, same deterministic server, wall time.

promptfoo (pinned below) is installed with npm into
``${LOCALRATE_CACHE:-~/.cache/localrate}/bench/promptfoo`` on first use. The benchmark
server answers from tests/fakes/scripts/strong.json as fast as it can, so the wall times
are the tools' own. Both run the cases one at a time: `localrate bench --json` (whole
process) and `promptfoo eval --max-concurrency 1` (whole process, no cache, no telemetry,
no database writes). promptfoo at its default concurrency is shown for information.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from tests.bench.common import (
    cache_root,
    localrate_cmd,
    measurement,
    median,
    row,
    skipped,
    streaming_server,
    time_process,
)
from tests.bench.m_suite import MODEL, SCRIPT, SUITE
from tests.bench.promptfoo_config import write_config

WEAK = SCRIPT.with_name("weak.json")  # a model that fails some cases: the checks must agree

PROMPTFOO_VERSION = "0.120.27"  # the newest release whose engines accept Node 20.20
TARGET = 0.5
QUIET_ENV = {"PROMPTFOO_DISABLE_TELEMETRY": "1", "PROMPTFOO_DISABLE_UPDATE": "1",
             "PROMPTFOO_CACHE_ENABLED": "false", "PROMPTFOO_DISABLE_SHARING": "1",
             "PROMPTFOO_DISABLE_REDTEAM_REMOTE_GENERATION": "1",
             "PROMPTFOO_DISABLE_WAL_MODE": "1", "NO_COLOR": "1", "CI": "1"}


def ensure_promptfoo(log: Any) -> Path | str:
    """The promptfoo executable (installing the pinned version), or why it cannot run."""
    folder = cache_root() / "bench" / "promptfoo"
    exe = folder / "node_modules" / ".bin" / "promptfoo"
    stamp = folder / "node_modules" / "promptfoo" / "package.json"
    try:
        installed = json.loads(stamp.read_text("utf-8")).get("version")
    except (OSError, ValueError):
        installed = None
    if exe.exists() and installed == PROMPTFOO_VERSION:
        return exe
    if shutil.which("npm") is None:
        return "npm is not installed"
    folder.mkdir(parents=True, exist_ok=True)
    log(f"bench: installing promptfoo@{PROMPTFOO_VERSION} into {folder} (once) ...")
    done = subprocess.run(["npm", "install", "--prefix", str(folder), "--no-audit",
                           "--no-fund", "--loglevel=error", f"promptfoo@{PROMPTFOO_VERSION}"],
                          check=False, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0 or not exe.exists():
        return f"npm install promptfoo@{PROMPTFOO_VERSION} failed: " \
               f"{done.stderr.strip()[-300:]}"
    return exe


def run_promptfoo(exe: Path, config: Path, concurrency: int, work: Path
                  ) -> tuple[float, int, int]:
    """(wall ms, passed, failed) of one `promptfoo eval`."""
    out = work / f"results-{concurrency}.json"
    env = {**os.environ, **QUIET_ENV, "PROMPTFOO_CONFIG_DIR": str(work / "home")}
    cmd = [str(exe), "eval", "-c", str(config), "--no-cache", "--no-write", "--no-table",
           "--no-progress-bar", "--max-concurrency", str(concurrency), "-o", str(out)]
    wall, done = time_process(cmd, env=env, timeout=600)
    try:
        stats = json.loads(out.read_text("utf-8"))["results"]["stats"]
    except (OSError, ValueError, KeyError) as exc:
        raise RuntimeError(f"promptfoo eval exited {done.returncode} without results: "
                           f"{(done.stderr or done.stdout).strip()[-400:]}") from exc
    return wall, int(stats["successes"]), int(stats["failures"]) + int(stats.get("errors", 0))


def run_localrate(base_url: str, case_ids: list[str]) -> tuple[float, int, int]:
    """(wall ms, passed, failed+errors) of one `localrate bench --json` on the cases."""
    cmd = [*localrate_cmd(), "bench", "--suite", SUITE, "--model", MODEL, "--base-url",
           base_url, "--runtime", "vllm", "--json"]
    for case_id in case_ids:
        cmd += ["--case", case_id]
    wall, done = time_process(cmd, timeout=600)
    try:
        summary = json.loads(done.stdout)["summary"]
    except (ValueError, KeyError) as exc:
        raise RuntimeError(f"localrate bench exited {done.returncode}: "
                           f"{done.stderr.strip()[-300:]}") from exc
    return wall, summary["passed"], summary["failed"] + summary["errors"]


def run(opts: Any) -> dict[str, Any]:
    """Rows: localrate and promptfoo wall times, the ratio, and both pass counts."""
    title = f"6. Against promptfoo {PROMPTFOO_VERSION} (same cases, same server)"
    exe = ensure_promptfoo(lambda t: None if opts.json else print(t, flush=True))
    if isinstance(exe, str):
        return skipped("promptfoo", title, exe)
    from server.rating import suites_io

    suite_json = suites_io.load(SUITE).to_json()
    out = measurement("promptfoo", title)
    work = Path(tempfile.mkdtemp(prefix="localrate-bench-promptfoo-"))
    runs = max(2, opts.runs // 2)
    with streaming_server(script=str(SCRIPT), model=MODEL) as url:
        config, case_ids = write_config(work, suite_json, url, MODEL)
        ours = [run_localrate(url, case_ids) for _ in range(runs)]
        theirs = [run_promptfoo(exe, config, 1, work) for _ in range(runs)]
        default = [run_promptfoo(exe, config, 4, work) for _ in range(max(1, runs // 2))]
    lr, pf = median([w for w, _, _ in ours]), median([w for w, _, _ in theirs])
    out["rows"].append(row("promptfoo eval, 1 at a time (baseline)", pf, "ms",
                           runs=[w for w, _, _ in theirs]))
    out["rows"].append(row("localrate bench", lr, "ms", baseline=pf,
                           runs=[w for w, _, _ in ours], target=f"<= {TARGET} x",
                           ok=lr is not None and pf is not None and lr / pf <= TARGET))
    out["rows"].append(row("promptfoo eval, --max-concurrency 4 (info)",
                           median([w for w, _, _ in default]), "ms",
                           runs=[w for w, _, _ in default]))
    out["rows"].append(row("localrate passed", ours[-1][1], "cases", baseline=theirs[-1][1],
                           target="same as promptfoo", ok=ours[-1][1] == theirs[-1][1]))
    with streaming_server(script=str(WEAK), model=MODEL) as url:
        config, _ = write_config(work / "weak", suite_json, url, MODEL)
        weak_ours, weak_theirs = run_localrate(url, case_ids), run_promptfoo(exe, config, 1,
                                                                           work / "weak")
    out["rows"].append(row("weak script: localrate passed", weak_ours[1], "cases",
                           baseline=weak_theirs[1], target="same as promptfoo",
                           ok=weak_ours[1] == weak_theirs[1]))
    out["notes"].append(f"{len(case_ids)} cases (tool-call cases left out); failed: "
                        f"localrate {ours[-1][2]}, promptfoo {theirs[-1][2]}")
    shutil.rmtree(work, ignore_errors=True)
    return out
