"""One run's numbers, as the CLI prints them and the page shows them: ``run_report(record)``.

Everything comes from :mod:`evaluator.stats` over the record's ``cases`` (one result per
attempt), so both shells show the same figures:

* ``pass_rates`` — overall and per tag, each ``{"passed", "attempts", "cases", "rate",
  "low", "high"}``: attempts passed over scored attempts, with a Wilson 95% interval whose
  sample size is the number of cases (:func:`evaluator.stats.pass_rates`);
* ``stability`` — ``{"repeat", "flaky", "flaky_ids", "cases": [...]}``: per case, k of N
  passed, the number of distinct answers and ``flaky`` (attempts disagree)
  (:func:`evaluator.stats.stability`); ``repeat`` is the most attempts any case had;
* ``speed`` — TTFT, prefill tok/s (with its ``source``: ``timings`` = llama.cpp's own
  figure, ``prompt/ttft`` = prompt tokens the runtime counted over TTFT, ``mixed``),
  decode tok/s and end-to-end latency (median, quartiles, min, max; latency adds its
  nearest-rank ``p95``) over every scored attempt (:func:`evaluator.stats.speed_profile`),
  plus ``cold_start``: the warm-up's ``{"ttft_ms", "total_ms", "status", "detail"}``, or
  None when no warm-up ran;
* ``settings`` — every setting of the run with defaults filled in
  (:func:`evaluator.settings.effective_settings`) and ``thinking_applied``: whether the
  runtime could be asked for the thinking level (:func:`evaluator.thinking.thinking_applied`).
"""

from __future__ import annotations

from typing import Any

from evaluator.settings import effective_settings
from evaluator.stats import StatsError, pass_rates, speed_profile, stability
from evaluator.thinking import thinking_applied


def _cold_start(record: dict[str, Any]) -> dict[str, Any] | None:
    warmup = record.get("warmup")
    if not isinstance(warmup, dict):
        return None
    return {key: warmup.get(key) for key in ("ttft_ms", "total_ms", "status", "detail")}


def run_report(record: Any) -> dict[str, Any]:
    """``{"pass_rates", "stability", "speed", "settings"}`` of one run record (module
    docstring). StatsError names a record without a list of cases."""
    if not isinstance(record, dict) or not isinstance(record.get("cases"), list):
        raise StatsError("record.cases: expected a run record with a list of cases")
    cases = record["cases"]
    per_case = stability(cases)
    flaky = [row["id"] for row in per_case if row["flaky"]]
    settings = effective_settings(record.get("settings"))
    model = record.get("model")
    runtime = model.get("runtime") if isinstance(model, dict) else None
    return {
        "pass_rates": pass_rates(cases),
        "stability": {"repeat": max((r["attempts"] + r["skipped"] for r in per_case),
                                    default=0),
                      "flaky": len(flaky), "flaky_ids": flaky, "cases": per_case},
        "speed": {**speed_profile(cases), "cold_start": _cold_start(record)},
        "settings": {**settings,
                     "thinking_applied": thinking_applied(runtime, settings["thinking"])},
    }
