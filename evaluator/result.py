"""Case results: one scored (or skipped) case, as a plain JSON-able dict.

A case result carries everything a shell shows (status, score, timings, output, the check's
reason, match spans for highlighting), the raw ``transcript`` it came from and a copy of the
``case`` definition, so a saved record can be re-scored on its own. Milliseconds and tok/s
are rounded to one decimal so the JSON is stable. ``prompt_per_second`` (llama.cpp's own
prefill speed, from its ``timings``; a conversational case: its first request's) is
present only when the runtime reported it. When the runtime sent more tool calls than
``MAX_TOOL_CALLS``, ``tool_calls_dropped`` counts the ones not kept and ``detail`` says so.
A case is judged by :func:`evaluator.judge.judge` (its checks, then ``forgiveFormatting`` and
``acceptWithRemark``); a pass that one of those let through carries its ``remark`` (a clean
pass, a failure and a skip have ``remark`` null), and ``detail`` says so too.

A conversational case (``followUps`` or ``toolResponders``) takes one transcript per
request (:mod:`evaluator.conversation`) and is scored by :func:`score_turns` (``score_case``
passes its one transcript there). Its result has the same fields, read across the
exchange: ``output``, ``reasoning``, ``finish_reason`` and ``match`` are the final answer's;
``tool_calls`` holds every call of every request (the checks see them all); ``ttft_ms`` and
``tok_s`` are the first request's; ``total_ms``, ``tok_in``, ``tok_out`` and
``reasoning_tokens`` add up every request; and it adds:

* ``turns``: one entry per request, ``{"kind": "user"|"tool", "sent": [the messages this
  request added], "output", "reasoning", "tool_calls", "finish_reason", "error",
  "ttft_ms", "total_ms", "tok_in", "tok_out", "tok_s", "tokens_source"}``;
* ``transcripts``: the raw transcripts, in order (``transcript`` is null), so a saved
  record re-scores on its own;
* ``exchange_ttft_ms``: the time spent waiting for first tokens over every request;
* ``exchange_tok_s``: decode speed over the exchange (output tokens over the decode time,
  each request's decode time being its ``tok_out / tok_s``);
* ``exchange_end``: why the exchange ended (:data:`evaluator.conversation.ENDS`, or
  ``incomplete`` when the transcripts stop before it ends: an ``error`` result).
"""

from __future__ import annotations

from typing import Any

from evaluator.conversation import replay
from evaluator.expectations import describe_expect
from evaluator.judge import judge
from evaluator.suite import Case
from evaluator.transcript import MAX_TOOL_CALLS, Assembled, assemble


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
    ``detail``; otherwise ``pass``/``fail`` with the check's reason in ``detail``. A
    conversational case is scored by :func:`score_turns` with this one transcript.
    """
    if case.conversational:
        return score_turns(case, [transcript])
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
    _prefill_speed(result, done)
    note = _dropped_note(done.tool_calls_dropped)
    if done.error is not None:
        result.update({"status": "error", "score": 0.0, "detail": done.error + note})
        return result
    _judged(result, case, done.content, done.tool_calls, note)
    return result


def _prefill_speed(result: dict[str, Any], done: Assembled) -> None:
    """``prompt_per_second`` (llama.cpp's own prefill tok/s, one decimal) when the runtime
    reported it; absent otherwise, so other runtimes' results keep their shape."""
    if done.prompt_per_second is not None:
        result["prompt_per_second"] = _round1(done.prompt_per_second)


def _judged(result: dict[str, Any], case: Case, answer: str, tool_calls: list[Any],
            note: str) -> None:
    outcome = judge(case.expect, answer, tool_calls, case.accept_with_remark,
                    case.forgive_formatting, checked=True)
    result.update({"status": "pass" if outcome.passed else "fail", "score": outcome.score,
                   "detail": outcome.reason + note, "remark": outcome.remark,
                   "match": [[a, b] for a, b in outcome.match]})


def _sum(values: list[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def _turn(kind: str, sent: list[dict[str, Any]], done: Assembled) -> dict[str, Any]:
    return {"kind": kind, "sent": sent, "output": done.content, "reasoning": done.reasoning,
            "tool_calls": done.tool_calls, "finish_reason": done.finish_reason,
            "error": done.error, "ttft_ms": _round1(done.ttft_ms),
            "total_ms": _round1(done.total_ms), "tok_in": done.tok_in,
            "tok_out": done.tok_out, "tok_s": _round1(done.tok_s),
            "tokens_source": done.tokens_source}


def _requests(n: int) -> str:
    return "1 request" if n == 1 else f"{n} requests"


def _exchange_speed(steps: list[Assembled]) -> float | None:
    timed = [(d.tok_out, d.tok_s) for d in steps if d.tok_out and d.tok_s and d.tok_s > 0]
    if not timed:
        return None
    return sum(n for n, _ in timed) / sum(n / speed for n, speed in timed)


def score_turns(case: Case, transcripts: list[dict[str, Any]]) -> dict[str, Any]:
    """Score a case from the transcripts of every request its exchange made, in order.

    A case that is not conversational takes exactly one transcript (``score_case``). For a
    conversational one the final answer is judged, with every tool call of every request;
    the fields are in the module docstring. ``status`` is ``error`` when a request failed,
    when the transcripts stop before the exchange ends, or when there are more of them than
    the exchange makes. Raises ValueError when ``transcripts`` is not a non-empty list.
    """
    if not isinstance(transcripts, list) or not transcripts:
        raise ValueError("transcripts: expected a non-empty list (one per request sent)")
    if not case.conversational:
        if len(transcripts) != 1:
            raise ValueError(f"transcripts: case {case.id!r} is answered in one request, "
                             f"got {len(transcripts)} transcripts")
        return score_case(case, transcripts[0])
    ex = replay(case, transcripts)
    steps = [step.done for step in ex.steps]
    first, last = steps[0], steps[-1]
    calls = [call for done in steps for call in done.tool_calls]
    dropped = sum(done.tool_calls_dropped for done in steps)
    sources = {done.tokens_source for done in steps}
    result = _base(case)
    result.update({
        "ttft_ms": _round1(first.ttft_ms), "tok_s": _round1(first.tok_s),
        "total_ms": _round1(sum(d.total_ms for d in steps if d.total_ms is not None)
                            if any(d.total_ms is not None for d in steps) else None),
        "tok_in": _sum([d.tok_in for d in steps]), "tok_out": _sum([d.tok_out for d in steps]),
        "tokens_source": sources.pop() if len(sources) == 1 else "estimate",
        "reasoning_tokens": _sum([d.reasoning_tokens for d in steps]),
        "tool_calls": calls, "output": last.content, "reasoning": last.reasoning,
        "finish_reason": last.finish_reason, "transcript": None,
        "tool_calls_dropped": dropped,
        "turns": [_turn(step.kind, step.sent, step.done) for step in ex.steps],
        "transcripts": transcripts,
        "exchange_ttft_ms": _round1(sum(d.ttft_ms for d in steps if d.ttft_ms is not None)
                                    if any(d.ttft_ms is not None for d in steps) else None),
        "exchange_tok_s": _round1(_exchange_speed(steps)),
        "exchange_end": ex.end or "incomplete",
    })
    _prefill_speed(result, first)
    note = _dropped_note(dropped) + (f" ({ex.note})" if ex.note else "")
    of = f" (request {len(steps)} of the exchange)" if len(steps) > 1 else ""
    if ex.end == "error":
        result.update({"status": "error", "score": 0.0,
                       "detail": str(last.error) + of + _dropped_note(dropped)})
    elif ex.end is None:
        result.update({"status": "error", "score": 0.0,
                       "detail": f"the exchange stopped after {_requests(len(steps))}, before "
                                 "the model's final answer (no more transcripts)"})
    elif ex.extra:
        result.update({"status": "error", "score": 0.0,
                       "detail": f"{len(transcripts)} requests were sent; the exchange ends "
                                 f"after {_requests(len(steps))}"})
    else:
        _judged(result, case, last.content, calls, note)
    return result


def skipped_result(case: Case, reason: str) -> dict[str, Any]:
    """A ``skip`` result (the model lacks a capability); ``detail`` is the reason."""
    result = _base(case)
    result["detail"] = reason
    return result
