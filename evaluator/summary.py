"""The run summary, the run record, and re-scoring a saved record.

``summarize`` computes, from case results:

* ``passed``, ``failed``, ``skipped``, ``errors``, ``total``: counts by status; ``passed``
  counts every pass, and ``passed_with_remark`` those of them that carry a ``remark`` (a
  judging rule let them through: ``acceptWithRemark``, ``forgiveFormatting``), so the clean
  passes are ``passed - passed_with_remark``;

* ``pass_ratio``: sum of ``weight * score`` over pass/fail/error cases divided by their
  weights (skips excluded, errors score 0), rounded to 4 places; null when nothing was
  scored;
* ``verdict``: ``pass`` when ``pass_ratio >= pass_threshold``, ``fail`` below, ``n/a`` when
  nothing was scored;
* ``avg_tok_s``: the mean decode speed over cases that have one;
* ``p95_ms``: nearest-rank 95th percentile of ``total_ms`` over the cases that ran;
* ``reasoning_ratio``: over cases with reasoning, the mean share of output tokens spent
  reasoning (``reasoning_tokens / tok_out``); null when no case reasoned.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from evaluator.errors import SuiteError
from evaluator.records import RECORD_FORMAT, RecordError
from evaluator.result import score_case, skipped_result
from evaluator.suite import DEFAULT_PASS_THRESHOLD, Case, Suite, case_from_json

SCORED = ("pass", "fail", "error")


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _p95(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(0.95 * len(ordered)) - 1]


def summarize(results: list[dict[str, Any]], pass_threshold: float) -> dict[str, Any]:
    """The summary block of a run record (see the module docstring)."""
    counts = {status: sum(1 for r in results if r.get("status") == status)
              for status in ("pass", "fail", "skip", "error")}
    scored = [r for r in results if r.get("status") in SCORED]
    weights = sum(float(r.get("weight", 1)) for r in scored)
    ratio = sum(float(r.get("weight", 1)) * float(r.get("score") or 0) for r in scored) \
        / weights if weights > 0 else None
    verdict = "n/a" if ratio is None else ("pass" if ratio >= pass_threshold else "fail")
    speeds = [float(r["tok_s"]) for r in scored if r.get("tok_s") is not None]
    totals = [float(r["total_ms"]) for r in scored if r.get("total_ms") is not None]
    shares = [r["reasoning_tokens"] / r["tok_out"] for r in scored
              if r.get("reasoning") and r.get("reasoning_tokens") is not None
              and r.get("tok_out")]
    remarked = sum(1 for r in results if r.get("status") == "pass" and r.get("remark"))
    return {"passed": counts["pass"], "passed_with_remark": remarked,
            "failed": counts["fail"], "skipped": counts["skip"],
            "errors": counts["error"], "total": len(results),
            "pass_ratio": _rounded(ratio, 4), "pass_threshold": pass_threshold,
            "verdict": verdict, "avg_tok_s": _rounded(_mean(speeds), 1),
            "p95_ms": _rounded(_p95(totals), 1),
            "reasoning_ratio": _rounded(_mean(shares), 3)}


class SuiteRef(NamedTuple):
    """What a run record needs of its suite. A shell that already had the suite checked
    (the page: ``load_suite_json``) passes this back instead of the whole suite."""

    id: str
    version: str
    sha256: str
    pass_threshold: float


def suite_ref(obj: Any) -> SuiteRef:
    """A SuiteRef from ``{"id", "version", "sha256", "pass_threshold"}`` (extra keys, such as
    the rest of ``load_suite_json``'s answer, are ignored); SuiteError naming a bad field."""
    if not isinstance(obj, dict):
        raise SuiteError("suite_ref: expected an object")
    for key in ("id", "version", "sha256"):
        if not isinstance(obj.get(key), str):
            raise SuiteError(f"suite_ref.{key}: expected a string")
    threshold = obj.get("pass_threshold")
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
        raise SuiteError("suite_ref.pass_threshold: expected a number")
    return SuiteRef(obj["id"], obj["version"], obj["sha256"], float(threshold))


def run_record(suite: Suite | SuiteRef, model: dict[str, Any], settings: dict[str, Any],
               started_at: str, results: list[dict[str, Any]]) -> dict[str, Any]:
    """The run record (CLI ``--json`` = page export = page import)."""
    return {"format": RECORD_FORMAT,
            "suite": {"id": suite.id, "version": suite.version, "sha256": suite.sha256},
            "model": model, "started_at": started_at, "settings": settings,
            "cases": results, "summary": summarize(results, suite.pass_threshold)}


def _case_for(result: dict[str, Any], suite: Suite | None, where: str) -> Case:
    found = suite.case(str(result.get("id"))) if suite is not None else None
    if found is not None:
        return found
    if result.get("case") is None:
        how = "no case in the suite has this id" if suite is not None \
            else "re-score with --suite to use the suite's definition"
        raise RecordError(f"{where}.case: missing: the record holds no copy of case "
                          f"{str(result.get('id'))[:40]!r}; {how}")
    return case_from_json(result.get("case"))


def rescore_record(record: dict[str, Any], suite: Suite | None = None, where: str = ""
                   ) -> dict[str, Any]:
    """Re-score every case from its stored transcript, then the summary.

    Case definitions come from ``suite`` when given (matched by id), else from each result's
    embedded ``case``. Skipped cases stay skipped. With nothing changed, the scoring fields
    are identical to the original's. Fields a shell added to a case result are kept.
    ``record`` should have passed ``evaluator.records`` (``read_records``); a case it cannot
    re-score raises :class:`RecordError` whose field path starts with ``where``
    (``runs[1]`` in a comparison).
    """
    prefix = f"{where}." if where else ""
    if record.get("format") != RECORD_FORMAT:
        raise RecordError(f"{prefix}format: expected {RECORD_FORMAT!r}, "
                          f"got {str(record.get('format'))[:40]!r}")
    results = []
    for i, old in enumerate(record.get("cases") or []):
        case = _case_for(old, suite, f"{prefix}cases[{i}]")
        new = skipped_result(case, str(old.get("detail", ""))) if old.get("status") == "skip" \
            else score_case(case, old.get("transcript"))
        results.append({**old, **new})
    old_summary = record.get("summary")
    old_summary = old_summary if isinstance(old_summary, dict) else {}
    threshold = suite.pass_threshold if suite is not None \
        else old_summary.get("pass_threshold", DEFAULT_PASS_THRESHOLD)
    out = {**record, "cases": results, "summary": summarize(results, threshold)}
    if suite is not None:
        out["suite"] = {"id": suite.id, "version": suite.version, "sha256": suite.sha256}
    return out
