"""Fake-runtime scripts that answer a suite with its reference answers, for one run seed.

``script_for(suite, answers, seed, label)`` turns the answers file of a suite into a
script for tests/fakes (tests/fakes/script.py): for every concrete case of the run, one
entry per request of its exchange, matched by the case's first user message (the whole
text, searched in the conversation), its user ``turn`` and its ``tool_round``. ``label``
``"pass"`` gives the "strong" model (each case's first right answer), ``"fail"`` the
"weak" one (each case's first trap answer, the classic wrong answer). Rating these
scripted models with ``localrate bench --seed SEED`` must give 100% and under 10%
(tests/test_suite_evidence.py; the figures are in docs/suite.md).
"""

from __future__ import annotations

from typing import Any

from evaluator.expand import run_cases
from evaluator.references import exchange, rendered, replies
from evaluator.suite import Suite
from tests.fakes.script import message_text


def _first_user(body: dict[str, Any]) -> str:
    return next(message_text(m.get("content")) for m in body["messages"]
                if m.get("role") == "user")


def _position(body: dict[str, Any]) -> tuple[int, int]:
    """(user turn, tool rounds since the last user message) of a request body."""
    messages = body["messages"]
    users = [i for i, m in enumerate(messages) if m.get("role") == "user"]
    rounds = sum(1 for m in messages[users[-1]:]
                 if m.get("role") == "assistant" and m.get("tool_calls"))
    return len(users) - 1, rounds


def script_for(suite: Suite, answers: dict[str, Any], seed: int, label: str,
               model: str) -> dict[str, Any]:
    entries = []
    for case in run_cases(suite, seed):
        template = case.template or case.id
        where = f"answers: {template!r}"
        answer = rendered(case, answers.get(template), where)[label][0]
        for body, reply in exchange(case, replies(answer, where), where):
            turn, tool_round = _position(body)
            entries.append({
                "case": case.id, "match": _first_user(body), "match_in": "conversation",
                "turn": turn, "tool_round": tool_round, "content": reply["content"],
                "tool_calls": [{"name": c["name"], "arguments": c.get("arguments", {})}
                               for c in reply["tool_calls"]],
                "expected_status": label})
    # the longest first message first: a case whose input holds another's is matched first
    entries.sort(key=lambda e: -len(e["match"]))
    return {"model": model, "answers": entries}
