"""Statistics of one run's attempts: pass rates with intervals, stability, speed, pooling.

Input is a run's case results (``record["cases"]``), one result per attempt: with repeats
a case id appears once per attempt (an optional integer ``attempt`` orders them; otherwise
the list order does). A result may instead hold its attempts as a list under
``"attempts"``; :func:`attempts` flattens both forms. Status ``pass`` passes; ``fail`` and
``error`` are scored non-passes; ``skip`` is left out. Weights and partial scores are not
used here (the summary's ``pass_ratio`` is the weighted figure).

* :func:`pass_rates` — overall and per tag: attempts passed over scored attempts, with a
  Wilson interval whose sample size is the number of CASES (``k = rate * cases``): attempts
  of one case are not independent (at temperature 0 they are near copies), so repeats
  do not narrow the interval. With one attempt per case this is the plain Wilson interval.
* :func:`stability` — per case: k of N passed, errors, distinct answers, flaky.
* :func:`speed_profile` — median and spread of TTFT, prefill tok/s, decode tok/s and
  end-to-end latency (with its nearest-rank p95) over every scored attempt.
* :func:`pool_check` — may two run records be pooled, and what differs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from evaluator.stats_math import Z95, StatsError, nearest_rank, spread, wilson

SCORED = ("pass", "fail", "error")


def attempts(results: Sequence[Any]) -> list[dict[str, Any]]:
    """Every attempt as its own result, in order: a result holding ``attempts`` (a list of
    results) gives those, each taking the holder's ``id`` and ``tags`` when it lacks them."""
    if not isinstance(results, (list, tuple)):
        raise StatsError("results: expected a list of case results")
    out: list[dict[str, Any]] = []
    for i, result in enumerate(results):
        if not isinstance(result, dict):
            raise StatsError(f"results[{i}]: expected an object")
        nested = result.get("attempts")
        if isinstance(nested, list):
            for j, attempt in enumerate(nested):
                if not isinstance(attempt, dict):
                    raise StatsError(f"results[{i}].attempts[{j}]: expected an object")
                out.append({"id": result.get("id"), "tags": result.get("tags"), **attempt})
        else:
            out.append(result)
    return out


def by_case(results: Sequence[Any]) -> dict[str, list[dict[str, Any]]]:
    """Attempts grouped by case id, cases in order of first appearance, attempts ordered by
    ``attempt`` where every attempt of the case has an integer one, else as listed."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for i, result in enumerate(attempts(results)):
        case_id = result.get("id")
        if not isinstance(case_id, str):
            raise StatsError(f"results[{i}].id: expected a string, got {case_id!r}")
        groups.setdefault(case_id, []).append(result)
    for case_id, group in groups.items():
        if len(group) > 1 and all(isinstance(r.get("attempt"), int) for r in group):
            groups[case_id] = sorted(group, key=lambda r: int(r["attempt"]))
    return groups


def _passed(result: dict[str, Any]) -> bool:
    return result.get("status") == "pass"


def _rate(cases: list[list[dict[str, Any]]], z: float) -> dict[str, Any]:
    """Pass rate of the scored attempts of ``cases``, Wilson interval on the case count."""
    scored = [[r for r in group if r.get("status") in SCORED] for group in cases]
    scored = [group for group in scored if group]
    tried = sum(len(group) for group in scored)
    passed = sum(1 for group in scored for r in group if _passed(r))
    rate = passed / tried if tried else None
    low, high = wilson((rate or 0.0) * len(scored), len(scored), z)
    return {"passed": passed, "attempts": tried, "cases": len(scored),
            "rate": None if rate is None else round(rate, 4),
            "low": round(low, 4), "high": round(high, 4)}


def pass_rates(results: Sequence[Any], z: float = Z95) -> dict[str, Any]:
    """``{"overall": R, "tags": {tag: R}}`` (tags sorted), ``R = {"passed", "attempts",
    "cases", "rate", "low", "high"}`` (see the module docstring; ``rate`` is None and the
    interval ``0..1`` when nothing was scored). A case's tags are its first attempt's."""
    groups = by_case(results)
    tagged: dict[str, list[list[dict[str, Any]]]] = {}
    for group in groups.values():
        tags = group[0].get("tags")
        for tag in tags if isinstance(tags, list) else []:
            if isinstance(tag, str):
                tagged.setdefault(tag, []).append(group)
    return {"overall": _rate(list(groups.values()), z),
            "tags": {tag: _rate(tagged[tag], z) for tag in sorted(tagged)}}


def answer_key(result: dict[str, Any]) -> str:
    """What counts as "the same answer": the output with surrounding whitespace removed and
    every run of whitespace made one space (case kept: checks may be case sensitive), and
    the tool calls in order, each as its name and its arguments (parsed arguments as
    canonical JSON, else the text normalised the same way)."""
    output = result.get("output")
    text = " ".join(output.split()) if isinstance(output, str) else ""
    calls = []
    for call in result.get("tool_calls") or []:
        if not isinstance(call, dict):
            continue
        parsed = call.get("parsed")
        raw = call.get("arguments")
        args = json.dumps(parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=False) \
            if parsed is not None else " ".join(raw.split()) if isinstance(raw, str) else ""
        calls.append([call.get("name"), args])
    return json.dumps([text, calls], ensure_ascii=False)


def stability(results: Sequence[Any]) -> list[dict[str, Any]]:
    """Per case, in order: ``{"id", "attempts", "passed", "errors", "skipped",
    "distinct_answers", "answer_of", "flaky"}``.

    ``attempts`` counts scored attempts (pass, fail, error) and ``passed`` those that
    passed: "k of N". ``distinct_answers`` counts different answers (:func:`answer_key`)
    among attempts that answered (pass or fail; an error has no answer), and ``answer_of``
    gives, per attempt in order, the index of its answer among them (None for an error or
    a skip). ``flaky`` is true when the scored attempts disagree: some passed, some not.
    """
    out = []
    for case_id, group in by_case(results).items():
        keys: dict[str, int] = {}  # answer -> its index, in order of first appearance
        answer_of: list[int | None] = []
        for result in group:
            if result.get("status") not in ("pass", "fail"):
                answer_of.append(None)
                continue
            answer_of.append(keys.setdefault(answer_key(result), len(keys)))
        tried = sum(1 for r in group if r.get("status") in SCORED)
        passed = sum(1 for r in group if _passed(r))
        out.append({"id": case_id, "attempts": tried, "passed": passed,
                    "errors": sum(1 for r in group if r.get("status") == "error"),
                    "skipped": sum(1 for r in group if r.get("status") == "skip"),
                    "distinct_answers": len(keys), "answer_of": answer_of,
                    "flaky": 0 < passed < tried})
    return out


def _positive(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if value > 0 and value != float("inf") else None


def _prefill(result: dict[str, Any], given: Any) -> tuple[float, str] | None:
    """Prefill tok/s of one attempt and its source: the runtime's own figure (llama.cpp's
    ``timings.prompt_per_second``, given as an argument or as the result's
    ``prompt_per_second``) -> ``timings``; else prompt tokens the runtime counted (``usage``
    or ``timings``, never an estimate) over TTFT -> ``prompt/ttft``. A conversational
    result uses its first request (``turns[0]``), whose TTFT it reports."""
    own = _positive(given) or _positive(result.get("prompt_per_second"))
    if own is not None:
        return own, "timings"
    turns = result.get("turns")
    first = turns[0] if isinstance(turns, list) and turns and isinstance(turns[0], dict) \
        else result
    tokens, ttft = _positive(first.get("tok_in")), _positive(first.get("ttft_ms"))
    if tokens is None or ttft is None or first.get("tokens_source") not in ("usage", "timings"):
        return None
    return tokens / (ttft / 1000), "prompt/ttft"


def speed_profile(results: Sequence[Any], prompt_per_second: Sequence[Any] | None = None
                  ) -> dict[str, Any]:
    """Speed over every scored attempt (pass, fail, error; the summary's ``p95_ms`` counts
    the same ones): ``{"ttft_ms", "prefill_tok_s", "decode_tok_s", "latency_ms"}``, each a
    :func:`spread` of the attempts that have the figure. ``prefill_tok_s`` adds
    ``"sources": {source: count}`` and ``"source"`` (the one source, ``mixed``, or None);
    ``latency_ms`` (``total_ms``) adds ``"p95"`` (nearest rank). ``prompt_per_second``,
    when given, holds the runtime's own prefill figure per attempt (None where it has
    none), in the order of :func:`attempts` ``(results)``.
    """
    every = attempts(results)
    if prompt_per_second is not None and not isinstance(prompt_per_second, (list, tuple)):
        raise StatsError("prompt_per_second: expected a list (one value per attempt)")
    if prompt_per_second is not None and len(prompt_per_second) != len(every):
        raise StatsError(f"prompt_per_second: expected {len(every)} values (one per "
                         f"attempt), got {len(prompt_per_second)}")
    given = list(prompt_per_second) if prompt_per_second is not None else [None] * len(every)
    pairs = [(r, g) for r, g in zip(every, given, strict=True) if r.get("status") in SCORED]
    scored = [r for r, _ in pairs]
    prefill = [p for p in (_prefill(r, g) for r, g in pairs) if p is not None]
    sources: dict[str, int] = {}
    for _, source in prefill:
        sources[source] = sources.get(source, 0) + 1
    totals = [v for v in (_positive(r.get("total_ms")) for r in scored) if v is not None]
    return {
        "ttft_ms": spread([v for v in (_positive(r.get("ttft_ms")) for r in scored)
                           if v is not None]),
        "prefill_tok_s": {**spread([v for v, _ in prefill]), "sources": sources,
                          "source": None if not sources else
                          next(iter(sources)) if len(sources) == 1 else "mixed"},
        "decode_tok_s": spread([v for v in (_positive(r.get("tok_s")) for r in scored)
                                if v is not None]),
        "latency_ms": {**spread(totals),
                       "p95": round(nearest_rank(sorted(totals), 0.95), 1) if totals else None},
    }


def _canonical(value: Any) -> Any:
    """Numbers as floats (``0`` and ``0.0`` are the same setting), recursively; a boolean
    stays apart from a number (``False`` is not ``0``)."""
    if isinstance(value, bool):
        return ("bool", value)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    return repr(value)


def _field(record: Any, *path: str) -> Any:
    value = record
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def pool_check(a: Any, b: Any) -> dict[str, Any]:
    """May run records ``a`` and ``b`` be pooled? ``{"poolable", "differences"}``.

    Pooling needs the same suite (``suite.sha256``, present in both), the same model
    (``model.id`` and ``model.runtime``) and the same settings: every key of either
    ``settings``, compared by value (``0`` equals ``0.0``; a missing key differs from any
    value). ``differences`` lists ``{"field", "a", "b"}`` in that order; a comparison of
    two models shows the ``settings.*`` ones.
    """
    differences = []
    sha_a, sha_b = _field(a, "suite", "sha256"), _field(b, "suite", "sha256")
    if sha_a is None or sha_a != sha_b:
        differences.append({"field": "suite.sha256", "a": sha_a, "b": sha_b})
    for key in ("id", "runtime"):
        if _field(a, "model", key) != _field(b, "model", key):
            differences.append({"field": f"model.{key}", "a": _field(a, "model", key),
                                "b": _field(b, "model", key)})
    settings_a, settings_b = _field(a, "settings"), _field(b, "settings")
    settings_a = settings_a if isinstance(settings_a, dict) else {}
    settings_b = settings_b if isinstance(settings_b, dict) else {}
    for key in sorted(set(settings_a) | set(settings_b), key=str):
        missing = key not in settings_a or key not in settings_b
        if missing or _canonical(settings_a[key]) != _canonical(settings_b[key]):
            differences.append({"field": f"settings.{key}", "a": settings_a.get(key),
                                "b": settings_b.get(key)})
    return {"poolable": not differences, "differences": differences}
