"""Measurement 5, suite overhead: wall time of the whole suite over the model time.

classic-rating (local-model-rating 0.3.0, the fixture in tests/data/suites; the figures stay
comparable with earlier runs) runs against the benchmark server answering from
tests/fakes/scripts/strong.json at a fixed token rate (so model time dominates, as with
a real model). The CLI's suite runs in-process through ``server.rating.bench.run_model`` (the code
`localrate bench` runs, without interpreter start-up); the whole `localrate bench` process
is reported too. Model time = sum of the cases' ``total_ms`` in the record.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.bench.common import ROOT, measurement, median, row, streaming_server
from tests.bench.suitegen import cli_bench

TARGET = 1.02
SCRIPT = ROOT / "tests" / "fakes" / "scripts" / "strong.json"
MODEL = "qwen3-vl:8b"  # the script's model: its id projects tool-use and vision
SUITE = str(ROOT / "tests" / "data" / "suites" / "classic-rating")  # a path: no env needed


def in_process(base_url: str) -> tuple[float, dict[str, Any]]:
    """(wall ms, record) of run_model on the whole suite, as `localrate bench` runs it."""
    from evaluator.capabilities import project
    from server.rating import bench, suites_io

    suite = suites_io.load(SUITE)
    target = bench.Target(MODEL, "vllm", base_url, project(MODEL, "vllm", None))
    settings = {"temperature": 0, "max_tokens": 1024, "timeout_s": 120}

    def timed() -> tuple[float, dict[str, Any]]:
        start = time.perf_counter()
        record = asyncio.run(bench.run_model(suite, list(suite.cases), target, settings))
        return (time.perf_counter() - start) * 1000, record

    # A thread of its own: Playwright's sync API keeps an event loop on this one.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(timed).result()


def model_ms(record: dict[str, Any]) -> float:
    """Sum of the cases' total_ms (skipped cases have none), plus the warm-up's: the
    warm-up is a request the model answers (on by default since issue 14), so its time is
    the model's, not the harness's."""
    warmup = record.get("warmup") or {}
    return float(sum(c.get("total_ms") or 0 for c in record["cases"])
                 + (warmup.get("total_ms") or 0))


def run(opts: Any) -> dict[str, Any]:
    """Rows: in-process ratio, whole-process ratio, page ratio."""
    out = measurement("suite", "5. Suite overhead (wall / sum of model times)")
    rate = 400.0 if opts.quick else 100.0
    ratios, whole, page_ratios = [], [], []
    per_case: dict[str, list[float]] = {"CLI": [], "page": []}
    with streaming_server(rate=rate, script=str(SCRIPT), model=MODEL) as url:
        for _ in range(opts.runs):
            wall, record = in_process(url)
            ratios.append(wall / model_ms(record))
            per_case["CLI"].append((wall - model_ms(record)) / len(record["cases"]))
        for _ in range(max(1, opts.runs // 2)):
            wall, record = cli_bench(SUITE, MODEL, url)
            whole.append(wall / model_ms(record))
        page = getattr(opts, "page", None)
        if page is not None:
            for wall, page_record in page.suite_runs(url, MODEL, opts.runs):
                page_ratios.append(wall / model_ms(page_record))
                per_case["page"].append((wall - model_ms(page_record))
                                        / len(page_record["cases"]))
    passed = record["summary"]["passed"]
    out["notes"].append(f"server at {rate:g} pieces/s; last CLI record: {passed} passed, "
                        f"model time {model_ms(record):.0f} ms")
    for shell, values in per_case.items():
        if values:
            out["notes"].append(f"{shell}: {median(values):.1f} ms per case outside the "
                                "model's time (wall - sum of total_ms, over the case count)")
    value = median(ratios)
    out["rows"].append(row("CLI suite (in-process run_model)", value, "x", ratio=value,
                           runs=ratios, target=f"<= {TARGET}",
                           ok=value is not None and value <= TARGET))
    value = median(whole)
    out["rows"].append(row("CLI whole process (incl. start-up, discovery)", value, "x",
                           ratio=value, runs=whole, target="(info)"))
    if page_ratios:
        value = median(page_ratios)
        out["rows"].append(row("page suite (click to summary)", value, "x", ratio=value,
                               runs=page_ratios, target=f"<= {TARGET}",
                               ok=value <= TARGET))
    elif getattr(opts, "page_skip_reason", None):
        out["notes"].append(f"page: skipped ({opts.page_skip_reason})")
    return out
