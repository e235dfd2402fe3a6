"""What a report shows, computed once for the HTML and the Markdown report.

:func:`report_data` takes 1..``MAX_REPORT_RUNS`` run records (a list, a comparison
``{"runs": [...]}`` or one record; each should have passed ``evaluator.records``) and
returns plain data: the suite (id, version, sha256), per run the model, seed, localrate
version, settings, summary, pass rates with Wilson intervals overall and per tag
(:func:`evaluator.stats_runs.pass_rates`) and the speed profile
(:func:`evaluator.stats_runs.speed_profile`); the paired verdict of the first run against
each other run that shares cases (:func:`evaluator.stats_compare.compare_records`); and
the per-case statuses in run order. Strings are the records' own (the renderers escape
them); no base URL, output or transcript is taken.
"""

from __future__ import annotations

from typing import Any

from evaluator.records import run_list
from evaluator.stats_compare import compare_records
from evaluator.stats_math import StatsError
from evaluator.stats_runs import by_case, pass_rates, speed_profile
from evaluator.version import LOCALRATE_VERSION, record_version

MAX_REPORT_RUNS = 32
MAX_TEXT = 300  # a string from a record is cut to this many characters in a report


class ReportError(ValueError):
    """The records cannot make a report; one line."""


def runs_of(value: Any) -> list[dict[str, Any]]:
    """A list of records, a comparison or one record → the list (checked shallowly)."""
    return run_list(value, MAX_REPORT_RUNS, "report", ReportError)


def cut(value: Any) -> str:
    """A record's value as text of at most ``MAX_TEXT`` characters ('' for None)."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT - 1] + "…"


def _obj(record: dict[str, Any], key: str) -> dict[str, Any]:
    value = record.get(key)
    return value if isinstance(value, dict) else {}


def _cell(attempts: list[dict[str, Any]] | None) -> dict[str, Any] | None:
    if not attempts:
        return None
    statuses = [str(a.get("status")) for a in attempts]
    scored = [s for s in statuses if s != "skip"]
    passed = statuses.count("pass")
    if len(attempts) == 1:
        status = statuses[0]
    elif not scored:
        status = "skip"
    else:
        status = "pass" if passed == len(scored) else "fail" if passed == 0 else "flaky"
    return {"status": status, "passed": passed, "attempts": len(scored),
            "detail": cut(attempts[0].get("detail")) if status != "pass" else ""}


def report_data(records: Any) -> dict[str, Any]:
    """The report's content (see the module docstring)."""
    runs = runs_of(records)
    first = _obj(runs[0], "suite")
    suite = {k: cut(first.get(k)) for k in ("id", "version", "sha256")}
    same_suite = all(_obj(r, "suite").get("sha256") == first.get("sha256") for r in runs)
    out_runs: list[dict[str, Any]] = []
    groups = []
    for record in runs:
        model, settings, summary = (_obj(record, k) for k in ("model", "settings", "summary"))
        try:
            rates = pass_rates(record["cases"])
            speed = speed_profile(record["cases"])
        except StatsError as exc:
            raise ReportError(f"report: {exc}") from None
        groups.append(by_case(record["cases"]))
        out_runs.append({
            "model": cut(model.get("id")), "runtime": cut(model.get("runtime")),
            "suite": {k: cut(_obj(record, "suite").get(k)) for k in ("id", "version",
                                                                      "sha256")},
            "seed": settings.get("seed") if isinstance(settings.get("seed"), int) else None,
            "localrate_version": cut(record_version(record)) or None,
            "started_at": cut(record.get("started_at")),
            "settings": [(cut(k), cut(v if not isinstance(v, (list, dict)) else
                                      ", ".join(map(str, v)) if isinstance(v, list) else v))
                         for k, v in sorted(settings.items(), key=lambda kv: str(kv[0]))],
            "summary": {k: summary.get(k) for k in ("passed", "failed", "skipped", "errors",
                                                    "total", "pass_ratio", "verdict",
                                                    "pass_threshold")},
            "rates": rates, "speed": speed})
    ids: list[str] = []
    for group in groups:
        ids.extend(k for k in group if k not in ids)
    cases = [{"id": cut(case_id), "cells": [_cell(g.get(case_id)) for g in groups]}
             for case_id in ids]
    tags = sorted({t for r in out_runs for t in r["rates"]["tags"]})
    paired = []
    for i in range(1, len(runs)):
        try:
            result = compare_records(runs[0], runs[i])
        except StatsError:
            continue
        if result["cases"]:
            paired.append({"a": 0, "b": i, **{k: result[k] for k in (
                "verdict", "difference", "interval", "p_value", "cases", "a_wins", "b_wins",
                "ties", "same_suite")}, "method": result["method"]})
    return {"suite": suite, "same_suite": same_suite, "runs": out_runs, "tags": tags,
            "cases": cases, "paired": paired, "generator": LOCALRATE_VERSION}


def pct(value: Any) -> str:
    """0.8123 → ``81.2%``; None → ``–``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "–"
    return f"{100 * value:.1f}%"


def num(value: Any, unit: str = "") -> str:
    """A number to one decimal place with its unit; None → ``–``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "–"
    return f"{value:,.1f}{unit}"


def rate_text(rate: dict[str, Any]) -> str:
    """``81.2% [70.1–89.0%] · 13/16``."""
    return (f"{pct(rate.get('rate'))} [{pct(rate.get('low'))[:-1]}–{pct(rate.get('high'))}]"
            f" · {rate.get('passed')}/{rate.get('attempts')}")


def speed_rows(speed: dict[str, Any]) -> list[tuple[str, str]]:
    """The speed profile as label/text rows (median, with the spread)."""
    def row(key: str, unit: str) -> str:
        part = speed.get(key) or {}
        median = part.get("median")
        low, high = part.get("min"), part.get("max")
        extra = f" ({num(low)}–{num(high)})" if median is not None and low is not None else ""
        return f"{num(median, unit)}{extra}"
    latency = speed.get("latency_ms") or {}
    return [("TTFT", row("ttft_ms", " ms")),
            ("Prefill", row("prefill_tok_s", " tok/s")
             + (f" [{speed['prefill_tok_s'].get('source')}]"
                if (speed.get("prefill_tok_s") or {}).get("source") else "")),
            ("Decode", row("decode_tok_s", " tok/s")),
            ("Latency", row("latency_ms", " ms") + f", p95 {num(latency.get('p95'), ' ms')}")]


def verdict_text(pair: dict[str, Any], runs: list[dict[str, Any]]) -> str:
    """``A better``/``B better``/``within noise`` with the difference and its interval."""
    low, high = pair["interval"]
    return (f"{runs[pair['a']]['model']} vs {runs[pair['b']]['model']}: {pair['verdict']} · "
            f"difference {pct(pair['difference'])} [{pct(low)[:-1]}–{pct(high)}] · "
            f"p = {pair['p_value']:.3g} · {pair['cases']} paired cases")
