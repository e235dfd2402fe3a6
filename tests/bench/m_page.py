"""Measurement 4, the page: first discovery result and model card, evaluator ready, scoring.

Times are the page's own clock, ms since navigation (tests/bench/page_script.py). Cold =
a fresh incognito-like browser context (empty HTTP cache, nothing saved); warm = a
returning visitor: a fresh browser profile on disk, a first visit, and a reload once that
visit has saved its Python snapshot (page_runs.PageBench.load_times). Its baseline is the
same snapshot restored by ``loadPyodide()`` alone in that profile; the same reload in an
incognito-like context (no code cache) and with the snapshot deleted are shown for
information. Scoring:
a record of classic-rating with its transcripts (the CLI's run on the benchmark server,
strong script) re-scored in the page's worker, against CPython scoring the same
transcripts with ``evaluator.result.score_case`` (the baseline).
"""

from __future__ import annotations

import time
from typing import Any

from tests.bench.common import measurement, median, row, skipped, streaming_server
from tests.bench.m_suite import MODEL, SCRIPT, SUITE, in_process

FIRST_MS, CARD_MS, COLD_MS, WARM_MS, SCORE_MS = 300.0, 400.0, 3000.0, 1000.0, 100.0
TITLE = "4. Page: discovery, evaluator start, scoring"


def cpython_scoring(record: dict[str, Any], runs: int) -> tuple[list[float], list[float]]:
    """(score_case over every transcript, rescore_record) ms in this interpreter."""
    from evaluator.result import score_case
    from evaluator.summary import rescore_record
    from server.rating import suites_io

    cases = {c.id: c for c in suites_io.load(SUITE).cases}
    per_case, whole = [], []
    for _ in range(runs):
        start = time.perf_counter()
        for result in record["cases"]:
            if result.get("transcript"):
                score_case(cases[result["id"]], result["transcript"])
        per_case.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        rescore_record(record, None)
        whole.append((time.perf_counter() - start) * 1000)
    return per_case, whole


def judged(out: dict[str, Any], label: str, values: list[float], limit: float,
           baseline: float | None = None) -> None:
    """Append a row judged against ``<= limit`` ms."""
    value = median(values)
    out["rows"].append(row(label, value, "ms", baseline=baseline, runs=values,
                           target=f"<= {limit:g} ms", ok=value is not None and value <= limit))


def run(opts: Any) -> dict[str, Any]:
    """Rows: first probe result, cold and warm ready, worker vs CPython scoring."""
    page = getattr(opts, "page", None)
    if page is None:
        return skipped("page", TITLE, opts.page_skip_reason or "no page")
    out = measurement("page", TITLE)
    times = page.load_times(opts.runs)
    judged(out, "navigation -> first discovery result (cold)", times["first"], FIRST_MS)
    judged(out, "navigation -> first model card visible (cold)", page.card_times(opts.runs),
           CARD_MS)
    bare = page.bare_pyodide(min(opts.runs, 3))
    bare_ms = median(bare)
    out["rows"].append(row("loadPyodide() alone, cold, no page code (baseline)", bare_ms,
                           "ms", runs=bare))
    judged(out, "Pyodide + evaluator ready, cold cache", times["cold"], COLD_MS, bare_ms)
    restore_ms = median(times["restore_alone"])
    out["rows"].append(row("loadPyodide() restoring the saved snapshot alone (baseline)",
                           restore_ms, "ms", runs=times["restore_alone"]))
    judged(out, "Pyodide + evaluator ready, warm (returning visitor)", times["warm"],
           WARM_MS, restore_ms)
    out["rows"].append(row("same reload, incognito-like context: no code cache (info)",
                           median(times["incognito"]), "ms", runs=times["incognito"]))
    out["rows"].append(row("same reload, snapshot deleted (info)",
                           median(times["unsaved"]), "ms", runs=times["unsaved"]))
    out["notes"].append(f"warm loads restored from the snapshot: {sum(times['restored'])} of "
                        f"{len(times['restored'])}")
    stages = "; ".join(f"{ms} ms {text}" for ms, text in times["stages"])
    out["notes"].append(f"evaluator-status during the last cold load: {stages}")
    with streaming_server(script=str(SCRIPT), model=MODEL) as url:
        _, record = in_process(url)
    cp_cases, cp_whole = cpython_scoring(record, max(opts.runs, 5))
    worker = page.score_in_worker(record, opts.runs)
    n = sum(1 for c in record["cases"] if c.get("transcript"))
    out["rows"].append(row(f"CPython: score_case x {n} (baseline)", median(cp_cases), "ms",
                           runs=cp_cases))
    judged(out, f"worker: score_case x {n} (one call each)", worker["per_case"], SCORE_MS,
           median(cp_cases))
    out["rows"].append(row("CPython: rescore_record (baseline)", median(cp_whole), "ms",
                           runs=cp_whole))
    judged(out, "worker: rescore_record (one call)", worker["rescore"], SCORE_MS,
           median(cp_whole))
    return out
