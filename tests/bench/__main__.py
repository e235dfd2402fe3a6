"""The localrate benchmark: ``python -m tests.bench [--quick] [--json] [--only NAME ...]``.

Starts what it needs on 127.0.0.1 (a deterministic streaming server, the page server,
Chromium), repeats each measurement, and prints medians with ratios against a baseline
measured in the same run. Measurements (``--only`` names): stream, startup, hang, page,
suite, promptfoo, static, bridge, lmr, engines. The targets and methods are in docs/performance.md.
Exit code: 0 every judged figure meets its target, 1 at least one misses, 2 a measurement
crashed.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import traceback
from pathlib import Path
from typing import Any

from tests.bench.report import print_measurement, summary_line

MEASURES: dict[str, str] = {
    "stream": "tests.bench.m_stream",
    "startup": "tests.bench.m_startup",
    "hang": "tests.bench.m_hang",
    "page": "tests.bench.m_page",
    "suite": "tests.bench.m_suite",
    "promptfoo": "tests.bench.m_promptfoo",
    "static": "tests.bench.m_static",
    "bridge": "tests.bench.m_bridge",
    "lmr": "tests.bench.m_lmr",
    "engines": "tests.bench.m_engines",
}
NEEDS_PAGE = {"stream", "hang", "page", "suite", "lmr"}


def parse(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m tests.bench",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer repetitions and shorter runs (a smoke run)")
    parser.add_argument("--json", action="store_true", help="print JSON only")
    parser.add_argument("--only", nargs="+", choices=list(MEASURES), metavar="NAME",
                        help=f"run only these: {', '.join(MEASURES)}")
    parser.add_argument("--runs", type=int, default=None,
                        help="repetitions per figure (default 3 quick, 7 full)")
    parser.add_argument("--no-page", action="store_true",
                        help="skip every browser measurement")
    parser.add_argument("--show", metavar="FILE",
                        help="print the tables of a saved --json run and exit")
    opts = parser.parse_args(argv)
    opts.runs = opts.runs or (3 if opts.quick else 7)
    return opts


def log(opts: argparse.Namespace, text: str) -> None:
    """Progress on stderr (silent with --json)."""
    if not opts.json:
        print(text, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run the chosen measurements and print them."""
    opts = parse(argv)
    if opts.show:
        return show(opts.show)
    names = opts.only or list(MEASURES)
    opts.page, opts.page_skip_reason = None, None
    results: list[dict[str, Any]] = []
    crashed = False
    try:
        if not opts.no_page and NEEDS_PAGE & set(names):
            from tests.bench.page_runs import open_page

            opts.page, opts.page_skip_reason = open_page(opts, lambda t: log(opts, t))
        elif opts.no_page:
            opts.page_skip_reason = "--no-page"
        for name in names:
            log(opts, f"bench: {name} ...")
            try:
                result = importlib.import_module(MEASURES[name]).run(opts)
            except Exception as exc:  # noqa: BLE001 - one crash must not hide the others
                crashed = True
                result = {"name": name, "title": name, "rows": [], "skipped": None,
                          "notes": [], "error": f"{type(exc).__name__}: {exc}"}
                log(opts, traceback.format_exc())
            results.append(result)
            if not opts.json:
                print_measurement(result)
    finally:
        if opts.page is not None:
            opts.page.close()
    if opts.json:
        print(json.dumps({"format": "localrate.bench/1", "quick": opts.quick,
                          "runs": opts.runs, "machine": machine(), "measurements": results},
                         indent=2))
    else:
        print(summary_line(results))
    missed = any(r.get("ok") is False for m in results for r in m["rows"])
    return 2 if crashed else 1 if missed else 0


def show(path: str) -> int:
    """Print the tables of a saved ``--json`` run."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        results = data["measurements"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"--show {path}: not a saved benchmark run ({exc})", file=sys.stderr)
        return 2
    print(f"machine: {data.get('machine')}; runs: {data.get('runs')}; "
          f"quick: {data.get('quick')}")
    for result in results:
        print_measurement(result)
    print(summary_line(results))
    return 0


def machine() -> dict[str, Any]:
    """Cores, architecture and CPU model of this machine."""
    import os
    import platform

    cpu = ""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        text = ""
    for line in text.splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return {"nproc": os.cpu_count(), "arch": platform.machine(), "cpu": cpu,
            "python": platform.python_version()}


if __name__ == "__main__":
    sys.exit(main())
