"""Case results: one scored (or skipped) case, as a plain JSON-able dict.

A case result carries everything a shell shows (status, score, timings, output, the check's
reason, match spans for highlighting), the raw ``transcript`` it came from and a copy of the
``case`` definition, so a saved record can be re-scored on its own. Milliseconds and tok/s
are rounded to one decimal so the JSON is stable. When the runtime sent more tool calls than
``MAX_TOOL_CALLS``, ``tool_calls_dropped`` counts the ones not kept and ``detail`` says so.
A case is judged by :func:`evaluator.judge.judge` (its checks, then ``forgiveFormatting`` and
``acceptWithRemark``); a pass that one of those let through carries its ``remark`` (a clean
pass, a failure and a skip have ``remark`` null), and ``detail`` says so too.
"""

from __future__ import annotations

from typing import Any

from evaluator.expectations import describe_expect
from evaluator.judge import judge
from evaluator.suite import Case
from evaluator.transcript import MAX_TOOL_CALLS, assemble


def _round1(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _base(case: Case) -> dict[str, Any]:
    return {"id": case.id, "status": "skip", "score": None, "weight": case.weight,
            "ttft_ms": None, "total_ms": None, "tok_in": None, "tok_out": None,
            "tok_s": None, "tokens_source": None, "reasoning_tokens": None,
            "tool_calls": [], "output": "", "reasoning": "", "detail": "", "match": [],
            "finish_reason": None, "tags": list(case.tags), "transcript": None,
            "tool_calls_dropped": 0, "remark": None,
            "expected": describe_expect(case.expect, case.accept_with_remark,
                                        case.forgive_formatting),
            "case": case.to_json()}


def _dropped_note(dropped: int) -> str:
    return (f" ({dropped} more tool calls were dropped: only the first {MAX_TOOL_CALLS} "
            "are kept)") if dropped else ""


def score_case(case: Case, transcript: dict[str, Any]) -> dict[str, Any]:
    """Assemble ``transcript`` and judge it by the case's checks and judging rules.

    ``status`` is ``error`` (score 0) when the request or stream failed, with the reason in
    ``detail``; otherwise ``pass``/``fail`` with the check's reason in ``detail``.
    """
    done = assemble(transcript)
    result = _base(case)
    result.update({
        "ttft_ms": _round1(done.ttft_ms), "total_ms": _round1(done.total_ms),
        "tok_in": done.tok_in, "tok_out": done.tok_out, "tok_s": _round1(done.tok_s),
        "tokens_source": done.tokens_source, "reasoning_tokens": done.reasoning_tokens,
        "tool_calls": done.tool_calls, "output": done.content, "reasoning": done.reasoning,
        "finish_reason": done.finish_reason, "transcript": transcript,
        "tool_calls_dropped": done.tool_calls_dropped,
    })
    note = _dropped_note(done.tool_calls_dropped)
    if done.error is not None:
        result.update({"status": "error", "score": 0.0, "detail": done.error + note})
        return result
    outcome = judge(case.expect, done.content, done.tool_calls, case.accept_with_remark,
                    case.forgive_formatting)
    result.update({"status": "pass" if outcome.passed else "fail", "score": outcome.score,
                   "detail": outcome.reason + note, "remark": outcome.remark,
                   "match": [[a, b] for a, b in outcome.match]})
    return result


def skipped_result(case: Case, reason: str) -> dict[str, Any]:
    """A ``skip`` result (the model lacks a capability); ``detail`` is the reason."""
    result = _base(case)
    result["detail"] = reason
    return result
