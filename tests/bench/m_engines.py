"""Measurement: the page in Chromium, Firefox ESR and WebKitGTK, side by side.

For each engine, through Selenium (tests/browser_engines.py), the page's own marks in ms
since navigation: the first discovery result (``localrate:first-probe``) and the
evaluator ready (``localrate:evaluator-ready``), cold (a new browser with an empty profile
per run) and on a returning visit (the same browser, once the first visit has saved its
Python snapshot: restored from it). One runtime answers (the benchmark's streaming server
as vLLM); the other runtime ports are closed. No targets: the Chromium figures with
targets are measurement 4 (page); this one compares the engines.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from tests.bench.common import closed_ports_env, measurement, median, row, skipped, streaming_server
from tests.bench.site import build, serve

TITLE = "Engines: first result and evaluator ready in Chromium, Firefox ESR, WebKitGTK"
MARKS = """return {first: performance.getEntriesByName("localrate:first-probe")[0]?.startTime ?? null,
  ready: performance.getEntriesByName("localrate:evaluator-ready")[0]?.startTime ?? null,
  restored: document.querySelector("[data-testid=evaluator-status]")?.dataset.restored}"""


def visit(page: Any, origin: str) -> dict[str, Any]:
    """Open the page, wait for the evaluator and the first probe; the marks."""
    page.goto(f"{origin}/local-models")
    page.wait_ready()
    return dict(page.until(lambda: (m := page.js(MARKS)) and m["first"] is not None and m, 30,
                           "the first-probe mark"))


def engine_runs(engine: str, origin: str, runs: int) -> tuple[str, dict[str, list[float]]]:
    """(the browser's version, {first, cold, warm: ms; restored: 1/0}) over `runs` fresh
    browsers of `engine`."""
    from tests.browser_engines import EnginePage, launch

    out: dict[str, list[float]] = {"first": [], "cold": [], "warm": [], "restored": []}
    version = ""
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix=f"lr-bench-{engine}-") as folder, \
                launch(engine, Path(folder)) as driver:
            page = EnginePage(driver, engine, origin)
            cold = visit(page, origin)
            page.wait_attr("[data-testid=evaluator-status]", "data-saved", "true", 90)
            if engine == "webkit":  # its WebDriver sessions keep Cache Storage in memory only
                page.hold_snapshot_cache()
            warm = visit(page, origin)
            out["first"].append(cold["first"])
            out["cold"].append(cold["ready"])
            out["warm"].append(warm["ready"])
            out["restored"].append(1.0 if warm["restored"] == "true" else 0.0)
            version = str(driver.capabilities.get("browserVersion"))
    return version, out


def run(opts: Any) -> dict[str, Any]:
    """Rows per engine: first discovery result, evaluator ready cold and restored."""
    from tests.browser_engines import ENGINES, missing

    if getattr(opts, "no_page", False):
        return skipped("engines", TITLE, "--no-page")
    gone = {e: missing(e) for e in ENGINES if missing(e)}
    if len(gone) == len(ENGINES):
        return skipped("engines", TITLE, f"no engine here: {gone}")
    out = measurement("engines", TITLE)
    with streaming_server(tokens=8) as url:
        site = build("engines", closed_ports_env({"VLLM_BASE_URL": url}))
        with serve(site) as origin:
            for engine in ENGINES:
                if engine in gone:
                    out["notes"].append(f"{engine}: not measured ({gone[engine]} missing)")
                    continue
                version, got = engine_runs(engine, origin, opts.runs)
                name = f"{engine} {version}"
                for key, label in (("first", "navigation -> first discovery result"),
                                   ("cold", "navigation -> evaluator ready, cold"),
                                   ("warm", "navigation -> evaluator ready, restored")):
                    out["rows"].append(row(f"{name}: {label}", median(got[key]), "ms",
                                           runs=got[key]))
                out["notes"].append(f"{name}: returning visits restored from the snapshot: "
                                    f"{int(sum(got['restored']))} of {len(got['restored'])}")
    return out
