"""How long a suite takes: its token budget, and a one-line estimate at a stated speed.

``suite_cost(suite, answers)`` counts, over the concrete cases of the trial seed (a sweep
once per size): the prompt tokens every request reads (a conversational case re-reads its
conversation, so each of its requests counts the prompt again), the output tokens of the
reference answers when an answers file is given (:mod:`evaluator.references`: the first
right answer of each case), and the output cap (each case's ``max_tokens``, else the
default). ``duration_note(cost)`` turns that into the line the page shows beside the suite
and ``localrate suites`` prints: about how long at :data:`DECODE_TOK_S` output and
:data:`PREFILL_TOK_S` prompt tokens per second (a small model on a laptop CPU), and how
long when every answer runs to its cap. Token counts are the shells' shared
estimate (:func:`evaluator.haystack.estimate_tokens`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from evaluator.expand import TRIAL_SEED, run_cases
from evaluator.haystack import estimate_tokens
from evaluator.references import AnswersError, rendered, replies
from evaluator.request import DEFAULT_SETTINGS, prompt_estimate
from evaluator.suite import Case, Suite

DECODE_TOK_S = 20
PREFILL_TOK_S = 200
PER_REQUEST_S = 0.2  # the fixed cost of one request: connection, template, first token


def _requests(case: Case) -> int:
    """Requests the case makes when the model answers as asked: one per user turn, plus
    one per tool round the case expects (its ``maxToolRounds`` bounds it; one assumed)."""
    return 1 + len(case.follow_ups) + (1 if case.tool_responders else 0)


def _answer_tokens(case: Case, answers: Mapping[str, Any]) -> int | None:
    template = case.template or case.id
    try:
        first = rendered(case, answers.get(template), f"answers: {template!r}")["pass"][0]
        given = replies(first, template)
    except AnswersError:
        return None
    return sum(estimate_tokens(r["content"]) + 8 * len(r["tool_calls"]) for r in given)


def suite_cost(suite: Suite, answers: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``{"cases", "requests", "prompt_tokens", "answer_tokens" (None without answers, or
    when a case has none), "max_tokens"}`` for the trial seed's concrete cases."""
    cases = run_cases(suite, TRIAL_SEED)
    requests = prompt = cap = 0
    answer: int | None = 0
    for case in cases:
        n = _requests(case)
        requests += n
        prompt += n * prompt_estimate(case)
        cap += n * (case.max_tokens or DEFAULT_SETTINGS["max_tokens"])
        got = _answer_tokens(case, answers) if answers is not None else None
        answer = None if got is None or answer is None else answer + got
    return {"cases": len(cases), "requests": requests, "prompt_tokens": prompt,
            "answer_tokens": answer, "max_tokens": cap}


def _minutes(seconds: float) -> str:
    minutes = seconds / 60
    if minutes < 1:
        return "<1 min"
    if minutes < 90:
        return f"{round(minutes)} min"
    return f"{minutes / 60:.1f} h"


def duration_note(cost: Mapping[str, Any], decode: float = DECODE_TOK_S,
                  prefill: float = PREFILL_TOK_S) -> str:
    """E.g. ``about 6 min, at most 2.1 h (20 tok/s out, 200 tok/s in)``: "about" from the
    reference answers' length when known; "at most" when every answer runs to its cap."""
    fixed = cost["requests"] * PER_REQUEST_S + cost["prompt_tokens"] / prefill
    longest = f"at most {_minutes(fixed + cost['max_tokens'] / decode)}"
    speeds = f"({decode:g} tok/s out, {prefill:g} tok/s in)"
    if cost.get("answer_tokens") is None:
        return f"{longest} {speeds}"
    return f"about {_minutes(fixed + cost['answer_tokens'] / decode)}, {longest} {speeds}"
