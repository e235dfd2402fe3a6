"""Runs over time and quantisations side by side: grouping, trends, diffs, A/B tables.

* :func:`model_parts` reads a model id as family, base, size and quantisation
  (``qwen3:4b-q4_K_M`` → family ``qwen3``, size ``4b``, quant ``q4_k_m``, base
  ``qwen3:4b``), from the naming habits of Ollama tags, GGUF files and MLX repositories.
* :func:`history` groups run records by model (id and runtime) and suite (id), oldest
  first: per run the pass rate with its Wilson interval and the decode speed's median and
  quartiles (:mod:`evaluator.stats`), and against the run before it the cases whose status
  changed and the paired verdict (exact McNemar, Newcombe interval).
* :func:`trend_chart` places one group's points in a chart of a given size, the pass
  rate's and the decode speed's intervals included, and writes its legend and speed
  figures (the page draws it as inline SVG and only draws).
* :func:`quant_ab` finds records of one base model (same family, base and size, same suite
  hash) in two or more quantisations and tabulates each against the most precise one: the
  quality delta with the paired verdict, and the speed and memory deltas (memory from a
  record's ``engine`` facts, when present).
"""

from __future__ import annotations

import re
from typing import Any

from evaluator.safejson import finite_number
from evaluator.stats_compare import compare
from evaluator.stats_runs import pass_rates, speed_profile

_QUANT = re.compile(
    r"(?<![a-z0-9])(i?q[1-8](?:_(?:[0-9]|k|s|m|l|xs|xxs|nl))*|bf16|fp16|f16|fp32|f32|fp8"
    r"|int4|int8|[2-8]-?bit|awq|gptq|mxfp4)(?![a-z0-9])")
_SIZE = re.compile(r"(?<![a-z0-9.])((?:[0-9]+x)?[0-9]+(?:\.[0-9]+)?[bm])(?![a-z0-9])")
_BITS = {"f32": 32, "fp32": 32, "bf16": 16, "f16": 16, "fp16": 16, "fp8": 8, "int8": 8,
         "int4": 4, "awq": 4, "gptq": 4, "mxfp4": 4}


def model_parts(model_id: str) -> dict[str, Any]:
    """``{"family", "base", "size", "quant", "bits"}`` of a model id (None where the id
    does not say)."""
    name = model_id.strip().lower()
    name = name.rsplit("/", 1)[-1] if "/" in name else name
    name = re.sub(r"\.gguf$", "", name)
    quant_match = _QUANT.search(name)
    quant = quant_match.group(1) if quant_match else None
    base = name
    if quant_match:
        base = name[:quant_match.start()] + name[quant_match.end():]
    base = re.sub(r"[-_.]gguf(?![a-z0-9])", "", base)
    base = re.sub(r"[-_.:]{2,}", lambda m: m.group(0)[0], base).strip("-_.: ")
    size_match = _SIZE.search(base)
    size = size_match.group(1) if size_match else None
    family = base[:size_match.start()].strip("-_.: ") if size_match else base
    return {"family": family or base, "base": base, "size": size, "quant": quant,
            "bits": bits(quant)}


def bits(quant: str | None) -> int | None:
    """Bits per weight a quantisation name says (``q4_k_m`` → 4, ``bf16`` → 16)."""
    if quant is None:
        return None
    if quant in _BITS:
        return _BITS[quant]
    found = re.match(r"i?q([1-8])|([2-8])-?bit", quant)
    if found:
        return int(found.group(1) or found.group(2))
    return None


def _model(record: dict[str, Any]) -> dict[str, Any]:
    model = record.get("model")
    return model if isinstance(model, dict) else {}


def _suite(record: dict[str, Any]) -> dict[str, Any]:
    suite = record.get("suite")
    return suite if isinstance(suite, dict) else {}


def _point(record: dict[str, Any], index: int) -> dict[str, Any]:
    found = record.get("cases")
    cases = found if isinstance(found, list) else []
    rate = pass_rates(cases)["overall"]
    speed = speed_profile(cases)["decode_tok_s"]
    return {"index": index, "started_at": record.get("started_at"),
            "suite_sha256": _suite(record).get("sha256"),
            "rate": rate["rate"], "low": rate["low"], "high": rate["high"],
            "passed": rate["passed"], "attempts": rate["attempts"], "cases": rate["cases"],
            "tok_s": speed["median"], "tok_s_q1": speed["q1"], "tok_s_q3": speed["q3"]}


def _status(results: list[Any]) -> dict[str, str]:
    out: dict[str, list[str]] = {}
    for r in results:
        if isinstance(r, dict) and isinstance(r.get("id"), str):
            out.setdefault(r["id"], []).append(str(r.get("status")))
    return {k: v[0] if len(set(v)) == 1 else
            f"{sum(1 for s in v if s == 'pass')}/{len(v)} pass" for k, v in out.items()}


def _flip(value: Any) -> Any:
    """compare() gives a - b; a history and an A/B table show b - a (later minus earlier,
    this quant minus the reference)."""
    return None if value is None else -value + 0.0


def _flip_interval(interval: Any) -> Any:
    return None if not isinstance(interval, list) else [_flip(interval[1]), _flip(interval[0])]


def case_diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What changed from run ``before`` to run ``after``: the cases whose status differs
    (``{"id", "before", "after"}``, a case with repeats as ``k/n pass``), those only in one
    run, and the paired verdict of :func:`evaluator.stats.compare`."""
    a, b = before.get("cases") or [], after.get("cases") or []
    sa, sb = _status(a), _status(b)
    changed = [{"id": k, "before": sa[k], "after": sb[k]} for k in sb
               if k in sa and sa[k] != sb[k]]
    verdict = compare(a, b)
    return {"changed": changed, "only_before": [k for k in sa if k not in sb],
            "only_after": [k for k in sb if k not in sa],
            "same_suite": _suite(before).get("sha256") == _suite(after).get("sha256"),
            "verdict": verdict["verdict"], "difference": _flip(verdict["difference"]),
            "interval": _flip_interval(verdict["interval"]), "p_value": verdict["p_value"],
            "method": verdict["method"]}


def history(records: list[Any]) -> list[dict[str, Any]]:
    """Groups of runs of one model on one suite, oldest first (see the module docstring);
    only groups of two or more runs."""
    groups: dict[tuple[str, str, str], list[tuple[int, dict[str, Any]]]] = {}
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            continue
        model = _model(record)
        key = (str(model.get("id")), str(model.get("runtime")), str(_suite(record).get("id")))
        groups.setdefault(key, []).append((i, record))
    out = []
    for (model_id, runtime, suite_id), rows in groups.items():
        if len(rows) < 2:
            continue
        rows.sort(key=lambda row: (str(row[1].get("started_at") or ""), row[0]))
        points = [_point(record, i) for i, record in rows]
        for n in range(1, len(rows)):
            points[n]["previous"] = case_diff(rows[n - 1][1], rows[n][1])
        out.append({"model": model_id, "runtime": runtime, "suite": suite_id,
                    "runs": points})
    return out


def _speed_text(median: float | None, q1: float | None, q3: float | None) -> str:
    """``24.5 (q1–q3 22.0–27.0)``: a run's median decode tok/s and its quartiles, written
    as the page's numbers are (one decimal, thousands grouped)."""
    if median is None:
        return "–"
    return f"{median:,.1f}" + ("" if q1 is None or q3 is None else
                               f" (q1–q3 {q1:,.1f}–{q3:,.1f})")


SPEED_SHIFT = 7.0  # px: a run's speed marks sit this far right of its pass-rate marks


def trend_chart(points: list[dict[str, Any]], width: float, height: float,
                pad: float = 28.0) -> dict[str, Any]:
    """Where to draw one group's runs: per run ``x``, the pass rate's ``y`` with its
    interval (``y_low``, ``y_high``), and, at ``sx`` (:data:`SPEED_SHIFT` to the right,
    so the two bars never cover each other), the decode speed's median ``s`` with its
    interquartile range (``s_low`` at q1, ``s_high`` at q3, as :func:`history` gives them:
    :func:`evaluator.stats.spread`, type-7 quartiles), the speeds scaled so the axis top
    (``speed_max``) is the largest median or q3, so every bar fits; ``speed_text``, the
    run's speed as the page's table writes it; the axis ticks and the chart's ``legend``.
    Rates run 0..1 from the bottom up, speeds 0..``speed_max``."""
    n = len(points)
    inner_w, inner_h = max(width - 2 * pad, 1.0), max(height - 2 * pad, 1.0)
    speeds = [v for p in points
              for v in (finite_number(p.get(k)) for k in ("tok_s", "tok_s_q3")) if v is not None]
    top = max(speeds) if speeds else None

    def y(rate: float | None) -> float | None:
        return None if rate is None else round(pad + inner_h * (1 - rate), 1)

    def s(speed: float | None) -> float | None:
        return y(speed / top) if top and speed is not None else None

    placed = []
    for i, p in enumerate(points):
        x = pad + (inner_w * i / (n - 1) if n > 1 else inner_w / 2)
        median, q1, q3 = (finite_number(p.get(k)) for k in ("tok_s", "tok_s_q1", "tok_s_q3"))
        ranged = median is not None and q1 is not None and q3 is not None
        placed.append({"x": round(x, 1), "sx": round(x + SPEED_SHIFT, 1),
                       "y": y(p.get("rate")), "y_low": y(p.get("low")),
                       "y_high": y(p.get("high")), "s": s(median),
                       "s_low": s(q1) if ranged else None, "s_high": s(q3) if ranged else None,
                       "speed_text": _speed_text(median, q1, q3),
                       "label": str(p.get("started_at") or "")[:10]})
    legend = "Circles: pass rate with its 95% interval."
    if top:
        legend += (" Squares: median decode speed with its q1–q3 bar (the middle half of the"
                   f" run's cases), on a scale up to {top:,.1f} tok/s.")
    return {"width": width, "height": height, "points": placed, "speed_max": top,
            "ticks": [{"y": y(v), "label": f"{round(v * 100)}%"} for v in (0, 0.5, 1)],
            "legend": legend}


def _memory(record: dict[str, Any]) -> float | None:
    engine = record.get("engine")
    memory = engine.get("memory") if isinstance(engine, dict) else None
    total = memory.get("total_bytes") if isinstance(memory, dict) else None
    return finite_number(total.get("value") if isinstance(total, dict) else None)


def _delta(a: float | None, b: float | None, digits: int = 1) -> float | None:
    return None if a is None or b is None else round(b - a, digits)


def quant_ab(records: list[Any]) -> list[dict[str, Any]]:
    """Tables of one base model in several quantisations (see the module docstring): per
    group its ``reference`` (the most bits; the latest run of each quant is used) and one
    row per other quant."""
    groups: dict[tuple[str, str, str, str], dict[str, dict[str, Any]]] = {}
    for record in records:
        if not isinstance(record, dict):
            continue
        parts = model_parts(str(_model(record).get("id") or ""))
        if parts["quant"] is None:
            continue
        key = (parts["family"], parts["base"], str(parts["size"]),
               str(_suite(record).get("sha256")))
        seen = groups.setdefault(key, {})
        old = seen.get(parts["quant"])
        if old is None or str(record.get("started_at") or "") >= str(old.get("started_at")
                                                                        or ""):
            seen[parts["quant"]] = record
    tables = []
    for (family, base, size, sha), by_quant in groups.items():
        if len(by_quant) < 2:
            continue
        order = sorted(by_quant, key=lambda q: (-(bits(q) or 0), q))
        ref = by_quant[order[0]]
        ref_speed = speed_profile(ref.get("cases") or [])["decode_tok_s"]["median"]
        rows = []
        for quant in order[1:]:
            other = by_quant[quant]
            verdict = compare(ref.get("cases") or [], other.get("cases") or [])
            speed = speed_profile(other.get("cases") or [])["decode_tok_s"]["median"]
            mem_ref, mem = _memory(ref), _memory(other)
            rows.append({"quant": quant, "model": _model(other).get("id"),
                         "bits": bits(quant), "rate": verdict["b_rate"],
                         "quality_delta": _flip(verdict["difference"]),
                         "interval": _flip_interval(verdict["interval"]),
                         "p_value": verdict["p_value"],
                         "verdict": verdict["verdict"], "cases": verdict["cases"],
                         "tok_s": speed, "speed_delta": _delta(ref_speed, speed),
                         "memory_bytes": mem, "memory_delta": _delta(mem_ref, mem, 0)})
        tables.append({"family": family, "base": base, "size": None if size == "None"
                       else size, "suite_sha256": sha if sha != "None" else None,
                       "reference": {"quant": order[0], "model": _model(ref).get("id"),
                                     "bits": bits(order[0]),
                                     "rate": pass_rates(ref.get("cases") or [])["overall"]
                                     ["rate"], "tok_s": ref_speed,
                                     "memory_bytes": _memory(ref)},
                       "rows": rows})
    return tables
