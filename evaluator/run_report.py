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
  runtime could be asked for the thinking level (:func:`evaluator.thinking.thinking_applied`);
* ``counts`` — the words for the run's counts (:func:`counts_text`): what the CLI prints
  after ``# overall:`` and the page's count line with its label. A repeated run counts
  attempts and says so.
"""

from __future__ import annotations

from typing import Any

from evaluator.settings import effective_settings
from evaluator.stats import StatsError, by_case, pass_rates, speed_profile, stability
from evaluator.summary import SCORED, summarize
from evaluator.thinking import thinking_applied


def _cold_start(record: dict[str, Any]) -> dict[str, Any] | None:
    warmup = record.get("warmup")
    if not isinstance(warmup, dict):
        return None
    return {key: warmup.get(key) for key in ("ttft_ms", "total_ms", "status", "detail")}


def _repeat(settings: Any, most: int) -> int:
    """The run's repeat: its setting (a positive integer), at least the most attempts any
    case has (a record without the setting but with repeated case ids still repeats)."""
    given = settings.get("repeat") if isinstance(settings, dict) else None
    if isinstance(given, int) and not isinstance(given, bool) and given >= 1:
        return max(given, most)
    return max(1, most)


def _cases(count: int) -> str:
    return f"{count} case{'s' * (count != 1)}"


def _shape(cases: int, repeat: int) -> str:
    return f"{_cases(cases)} × {repeat}"


def counts_text(record: Any) -> dict[str, str]:
    """``{"unit", "overall", "statuses", "size"}``: the words for a run's counts, one
    wording for both shells. Every case result counts, so with repeats the counts are
    attempts:

    * ``unit``: ``cases``, or ``attempts`` when the run repeats its cases (the page's label);
    * ``overall``: ``5/9 cases pass (56%)``, or ``5/9 attempts pass (56%, 3 cases × 3)``
      for 3 cases repeated 3 times, then `` · 2 with a remark`` when passes carry one (the
      CLI's ``# overall:`` line; the percentage is the weighted ``pass_ratio``). Skips
      are left out, so the cases named are those with a scored attempt;
    * ``statuses``: ``5 pass · 1 fail · 0 skip · 0 error`` (``3 pass · 2 pass with a
      remark · …`` when some do), then `` (3 cases × 3)`` for a repeated run, naming every
      case, skipped ones too (the page's count line);
    * ``size``: ``22 cases``, or ``3 cases × 3 attempts`` (the CLI's header line).

    StatsError names a record without a list of cases."""
    if not isinstance(record, dict) or not isinstance(record.get("cases"), list):
        raise StatsError("record.cases: expected a run record with a list of cases")
    groups = by_case(record["cases"])
    s = summarize(record["cases"], 0.0)
    repeat = _repeat(record.get("settings"), max(map(len, groups.values()), default=0))
    unit = "attempts" if repeat > 1 else "cases"
    scored = sum(1 for g in groups.values() if any(r.get("status") in SCORED for r in g))
    ratio = s["pass_ratio"]
    pct = "-" if ratio is None else f"{ratio * 100:.0f}%"
    ran = s["passed"] + s["failed"] + s["errors"]
    remarked = s["passed_with_remark"]
    overall = (f"{s['passed']}/{ran} {unit} pass "
               f"({pct}{', ' + _shape(scored, repeat) if repeat > 1 else ''})"
               + (f" · {remarked} with a remark" if remarked else ""))
    passes = (f"{s['passed'] - remarked} pass · {remarked} pass with a remark" if remarked
              else f"{s['passed']} pass")
    statuses = (f"{passes} · {s['failed']} fail · {s['skipped']} skip · {s['errors']} error"
                + (f" ({_shape(len(groups), repeat)})" if repeat > 1 else ""))
    size = _cases(len(groups)) + (f" × {repeat} attempts" if repeat > 1 else "")
    return {"unit": unit, "overall": overall, "statuses": statuses, "size": size}


def run_report(record: Any) -> dict[str, Any]:
    """``{"pass_rates", "stability", "speed", "settings", "counts"}`` of one run record (module
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
        "counts": counts_text(record),
    }
