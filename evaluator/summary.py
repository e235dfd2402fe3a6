"""The run summary, the run record, and re-scoring a saved record.

``summarize`` computes, from case results:

Every result counts, so with repeats (one result per attempt) the figures count attempts.

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

A conversational case's result (``evaluator.result.score_turns``) counts with its first
request's ``tok_s`` and its whole exchange's ``total_ms``, ``tok_out`` and
``reasoning_tokens``.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from evaluator.errors import SuiteError
from evaluator.records import RECORD_FORMAT, RecordError
from evaluator.result import score_case, score_turns, skipped_result
from evaluator.suite import DEFAULT_PASS_THRESHOLD, Case, Suite, case_from_json
from evaluator.version import LOCALRATE_VERSION, VERSION_FIELD

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
               started_at: str, results: list[dict[str, Any]],
               warmup: dict[str, Any] | None = None, engine: dict[str, Any] | None = None,
               machine: dict[str, Any] | None = None) -> dict[str, Any]:
    """The run record (CLI ``--json`` = page export = page import). ``results`` hold every
    attempt of every case (with repeats a case id appears once per attempt, each with its
    ``attempt``; the summary counts attempts). It carries ``localrate_version``
    (:data:`evaluator.version.LOCALRATE_VERSION`). ``warmup`` (the warm-up's outcome,
    :func:`evaluator.repeats.warmup_outcome`) is written when a warm-up ran; ``engine``
    (:func:`evaluator.engine_info.read_engine`: what the runtime told of its version,
    memory, context and KV cache) and ``machine`` (:mod:`evaluator.machine`: the CLI's
    machine, or the browser's) when the shell read them."""
    record = {"format": RECORD_FORMAT, VERSION_FIELD: LOCALRATE_VERSION,
              "suite": {"id": suite.id, "version": suite.version, "sha256": suite.sha256},
              "model": model, "started_at": started_at, "settings": settings,
              "cases": results, "summary": summarize(results, suite.pass_threshold)}
    if warmup is not None:
        record["warmup"] = warmup
    if engine is not None:
        record["engine"] = engine
    if machine is not None:
        record["machine"] = machine
    return record


def _from_template(template: Case, result: dict[str, Any], seed: Any, where: str,
                   made_by: dict[str, list[Case]]) -> Case:
    """The concrete case of ``template`` that ``result`` ran, expanded again from the
    record's seed (so an edited suite's checks apply)."""
    from evaluator.expand import expand_case

    if seed is None:
        raise RecordError(f"{where}.id: case {template.id!r} of the suite is drawn from a "
                          "seed, and the record has none (settings.seed); re-score without "
                          "the suite to use the record's copy")
    if template.id not in made_by:
        made_by[template.id] = expand_case(template, seed)
    made = made_by[template.id]
    found = next((case for case in made if case.id == result.get("id")), None)
    if found is None:
        raise RecordError(f"{where}.id: the suite's case {template.id!r} makes no case "
                          f"{str(result.get('id'))[:40]!r} (ids: "
                          f"{', '.join(case.id for case in made)})")
    return found


def _case_for(result: dict[str, Any], suite: Suite | None, where: str, seed: Any,
              made_by: dict[str, list[Case]]) -> Case:
    copy = result.get("case")
    name = copy.get("template") if isinstance(copy, dict) else None
    found = suite.case(str(name if isinstance(name, str) else result.get("id"))) \
        if suite is not None else None
    if found is not None and found.is_template:
        return _from_template(found, result, seed, where, made_by)
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

    Case definitions come from ``suite`` when given (matched by id; a result of a template
    case is matched by its copy's ``template`` and expanded again with the record's
    ``settings.seed``), else from each result's embedded ``case``. A conversational case is
    re-scored from its ``transcripts`` (:func:`evaluator.result.score_turns`). Skipped cases
    stay skipped. With nothing changed, the scoring fields are identical to the original's.
    Fields a shell added to a case result are kept.
    ``record`` should have passed ``evaluator.records`` (``read_records``); a case it cannot
    re-score raises :class:`RecordError` whose field path starts with ``where``
    (``runs[1]`` in a comparison).
    """
    prefix = f"{where}." if where else ""
    if record.get("format") != RECORD_FORMAT:
        raise RecordError(f"{prefix}format: expected {RECORD_FORMAT!r}, "
                          f"got {str(record.get('format'))[:40]!r}")
    results = []
    settings = record.get("settings")
    seed = settings.get("seed") if isinstance(settings, dict) else None
    made_by: dict[str, list[Case]] = {}  # template id -> its concrete cases
    for i, old in enumerate(record.get("cases") or []):
        where = f"{prefix}cases[{i}]"
        case = _case_for(old, suite, where, seed, made_by)
        if old.get("status") == "skip":
            new = skipped_result(case, str(old.get("detail", "")))
        elif case.conversational:
            if not isinstance(old.get("transcripts"), list) or not old["transcripts"]:
                raise RecordError(f"{where}.transcripts: missing: case {case.id[:40]!r} "
                                  "takes one transcript per request")
            new = score_turns(case, old["transcripts"])
        else:
            new = score_case(case, old.get("transcript"))
        results.append({**old, **new})
    old_summary = record.get("summary")
    old_summary = old_summary if isinstance(old_summary, dict) else {}
    threshold = suite.pass_threshold if suite is not None \
        else old_summary.get("pass_threshold", DEFAULT_PASS_THRESHOLD)
    out = {**record, "cases": results, "summary": summarize(results, threshold)}
    if suite is not None:
        out["suite"] = {"id": suite.id, "version": suite.version, "sha256": suite.sha256}
    return out
