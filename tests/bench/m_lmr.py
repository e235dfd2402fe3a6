"""Measurement 9, local-model-rating 1.0: what the page downloads and how fast it scores.

Payload: the resolved suite as the build writes it (suites/<id>.<hash>.json: every case,
the images inline as data URLs; haystacks are not in it, the evaluator makes them from
the seed) and its gzip size (level 9, as the build precompresses it), against a target of
1.5 MB. Scoring: every concrete case of the full suite answered with its reference
answers (evaluator/references.py; seed 0), scored the way the page scores a run
(``score_turns`` per case, one call each, after ``load_suite_json`` as on the page) in the
page's worker against a target of 300 ms, and in CPython (the baseline). Re-scoring the
whole record (``rescore_record``, which also re-checks every case and its JSON Schemas
against the metaschema, as an import does) is shown for information.
"""

from __future__ import annotations

import gzip
import json
import time
from typing import Any

from tests.bench.common import ROOT, measurement, median, row

TITLE = "9. local-model-rating 1.0: payload and scoring"
FULL = ROOT / "suites" / "local-model-rating"
PAYLOAD_MB, SCORE_MS = 1.5, 300.0
MB = 1_000_000


def reference_record(seed: int = 0) -> dict[str, Any]:
    """The run record of a model answering every case with its first right answer."""
    from evaluator.expand import run_cases
    from evaluator.references import exchange, rendered, replies, reply_transcript
    from evaluator.request import model_entry, run_settings
    from evaluator.result import score_turns
    from evaluator.summary import run_record
    from server.rating import suites_io

    suite = suites_io.load(str(FULL))
    answers = suites_io.load_answers(FULL) or {}
    results = []
    for case in run_cases(suite, seed):
        where = case.template or case.id
        answer = rendered(case, answers.get(where), where)["pass"][0]
        transcripts = [reply_transcript(body, reply)
                       for body, reply in exchange(case, replies(answer, where), where)]
        results.append(score_turns(case, transcripts))
    model = model_entry("reference-model", "ollama", "http://127.0.0.1:11434", ["tool-use",
                                                                             "vision"])
    return run_record(suite, model, run_settings(seed=seed), "2026-11-30T00:00:00Z", results)


def suite_json() -> dict[str, Any]:
    """The resolved suite as the page downloads it (and hands to ``load_suite_json``)."""
    from server.rating import suites_io

    return dict(suites_io.load(str(FULL)).to_json())


def payload() -> tuple[int, int]:
    """(raw bytes, gzip bytes) of the resolved suite JSON the page downloads."""
    body = json.dumps(suite_json(), ensure_ascii=False).encode()
    return len(body), len(gzip.compress(body, compresslevel=9, mtime=0))


WORKER_JS = """
async ([moduleUrl, record, suite]) => {
  const m = await import(moduleUrl);
  await m.ready;
  await m.call("load_suite_json", { suite });  // as the page does when the suite is picked
  const t0 = performance.now();
  for (const c of record.cases) {
    await m.call("score_turns", { case: c.case, transcripts: c.transcripts || [c.transcript] });
  }
  const t1 = performance.now();
  await m.call("rescore_record", { record, suite: null });
  return { score: t1 - t0, rescore: performance.now() - t1 };
}
"""


def cpython_scoring(record: dict[str, Any], runs: int) -> tuple[list[float], list[float]]:
    """(score_turns over every case, rescore_record) ms in this interpreter."""
    from evaluator.result import score_turns
    from evaluator.suite import case_from_json
    from evaluator.summary import rescore_record

    cases = [(case_from_json(c["case"]), c.get("transcripts") or [c["transcript"]])
             for c in record["cases"]]
    score, rescore = [], []
    for _ in range(runs):
        start = time.perf_counter()
        for case, transcripts in cases:
            score_turns(case, transcripts)
        score.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        rescore_record(record, None)
        rescore.append((time.perf_counter() - start) * 1000)
    return score, rescore


def cpython_calls(record: dict[str, Any], runs: int) -> list[float]:
    """ms for the page's exact calls in this interpreter: ``page_api.call`` with the JSON the
    page sends for each case (decoding, reading the case back, scoring, encoding)."""
    from evaluator import page_api

    requests = [json.dumps({"op": "score_turns", "args": {
        "case": c["case"], "transcripts": c.get("transcripts") or [c["transcript"]]}})
        for c in record["cases"]]
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        for request in requests:
            page_api.call(request)
        out.append((time.perf_counter() - start) * 1000)
    return out


def worker_scoring(page: Any, record: dict[str, Any], runs: int) -> dict[str, list[float]]:
    """The same two figures in the page's worker (a settled page, as a visitor has it, with
    the suite loaded first, as the page loads it before a run)."""
    suite = suite_json()
    module = page.manifest["assets"]["js/evaluator.mjs"]
    ctx = page.context()
    try:
        tab = ctx.new_page()
        page.settled(tab)
        got = [tab.evaluate(WORKER_JS, [module, record, suite]) for _ in range(runs)]
        return {"score": [g["score"] for g in got], "rescore": [g["rescore"] for g in got]}
    finally:
        ctx.close()


def run(opts: Any) -> dict[str, Any]:
    """Rows: payload raw and gzip; rescore_record in CPython and in the page's worker."""
    out = measurement("lmr", TITLE)
    raw, packed = payload()
    out["rows"].append(row("suite JSON the page downloads, raw", raw / MB, "MB"))
    out["rows"].append(row("the same, gzip -9 (on the wire)", packed / MB, "MB",
                           target=f"<= {PAYLOAD_MB:g} MB", ok=packed / MB <= PAYLOAD_MB))
    record = reference_record()
    summary = record["summary"]
    out["notes"].append(f"{len(record['cases'])} concrete cases (seed 0); the reference "
                        f"answers pass {summary['passed']} of {summary['total']}")
    score, rescore = cpython_scoring(record, max(opts.runs, 5))
    n = len(record["cases"])
    out["rows"].append(row(f"CPython: score_turns x {n} (baseline)", median(score), "ms",
                           runs=score))
    calls = cpython_calls(record, max(opts.runs, 5))
    out["rows"].append(row(f"CPython: page_api.call score_turns x {n}, JSON in and out (info)",
                           median(calls), "ms", runs=calls))
    page = getattr(opts, "page", None)
    worker = worker_scoring(page, record, opts.runs) if page is not None else None
    if worker is not None:
        value = median(worker["score"])
        out["rows"].append(row(f"worker: score_turns x {n} (one call each)", value, "ms",
                               baseline=median(score), runs=worker["score"],
                               target=f"<= {SCORE_MS:g} ms",
                               ok=value is not None and value <= SCORE_MS))
    out["rows"].append(row("CPython: rescore_record, whole record (info)", median(rescore),
                           "ms", runs=rescore))
    if worker is not None:
        out["rows"].append(row("worker: rescore_record, whole record (info)",
                               median(worker["rescore"]), "ms", baseline=median(rescore),
                               runs=worker["rescore"]))
    else:
        out["notes"].append(f"worker scoring not measured: {opts.page_skip_reason or 'no page'}")
    return out
