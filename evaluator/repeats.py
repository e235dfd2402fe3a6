"""Repeats, the warm-up request and progress: what a shell needs to run a case N times.

* :func:`attempt_order` — the order a run sends its attempts: case-major (every attempt of
  a case, then the next case), so a record's ``cases`` holds each case's attempts together.
* :func:`with_attempt` — a case result as attempt ``i`` of ``repeat``: it gains
  ``"attempt": i`` (0-based) when ``repeat`` is above 1; a run of one attempt keeps the
  result as it was.
* :func:`warmup_request` — the warm-up sent before a model's first case (setting
  ``warmup``, on by default): a tiny prompt, a few tokens, the run's temperature, streamed
  like every case so its time to first token is measured the same way. It loads the model
  and warms the runtime, so the first case's times are not a cold start.
* :func:`warmup_outcome` — the record's ``warmup``: ``{"ttft_ms", "total_ms", "status",
  "detail"}`` read from the warm-up's transcript (``status`` ``ok`` or ``error``; the
  error's sentence in ``detail``). It is never a case result: it counts in no pass rate.

Progress and the time left are :func:`evaluator.eta.progress`.
"""

from __future__ import annotations

from typing import Any

from evaluator.request import CHAT_PATH, DEFAULT_SETTINGS, MAX_OUTPUT_BYTES
from evaluator.transcript import assemble

WARMUP_PROMPT = "Reply with the single word: ready"
WARMUP_MAX_TOKENS = 8


def attempt_order(count: int, repeat: int) -> list[tuple[int, int]]:
    """``(case index, attempt)`` pairs of ``count`` cases run ``repeat`` times, case-major."""
    return [(i, a) for i in range(count) for a in range(repeat)]


def with_attempt(result: dict[str, Any], attempt: int, repeat: int) -> dict[str, Any]:
    """``result`` as attempt ``attempt`` (0-based) of ``repeat`` (module docstring)."""
    return result if repeat <= 1 else {**result, "attempt": attempt}


def warmup_request(model_id: str, settings: dict[str, Any]) -> dict[str, Any]:
    """The warm-up request, shaped as ``plan_case``'s answer: ``{"body", "path",
    "timeout_s", "max_bytes"}``."""
    merged = {**DEFAULT_SETTINGS, **settings}
    body = {"model": model_id, "messages": [{"role": "user", "content": WARMUP_PROMPT}],
            "stream": True, "stream_options": {"include_usage": True},
            "temperature": merged["temperature"], "max_tokens": WARMUP_MAX_TOKENS}
    return {"body": body, "path": CHAT_PATH, "timeout_s": merged["timeout_s"],
            "max_bytes": MAX_OUTPUT_BYTES}


def _round1(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def warmup_outcome(transcript: Any) -> dict[str, Any]:
    """The record's ``warmup`` from the warm-up's transcript (module docstring)."""
    done = assemble(transcript)
    return {"ttft_ms": _round1(done.ttft_ms), "total_ms": _round1(done.total_ms),
            "status": "ok" if done.error is None else "error", "detail": done.error or ""}
