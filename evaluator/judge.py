"""Judging a case: its checks, then what the case forgives or also accepts, with a remark.

``judge(expect, answer, tool_calls, accept, forgive)`` gives one :class:`Outcome`, in order:

1. Every check of ``expect`` (one, or a list) passes: a clean pass, ``remark`` None.
2. ``forgive`` (a case's ``forgiveFormatting: true``): each failed ``exact`` check is tried
   again with cosmetic wrapping removed (:mod:`evaluator.forgive`). When every check that
   failed is an ``exact`` check that passes so, the case passes with the remark
   ``formatting forgiven: <rules>``, naming each rule that was needed. It does nothing for
   the other kinds: ``contains`` already finds the text inside any wrapping, and a
   ``regex``, ``json_schema`` or tool check is kept as written.
3. ``accept`` (a case's ``acceptWithRemark``): when every check that failed is a
   ``contains``, ``regex`` or ``exact`` check (:data:`ACCEPT_KINDS`, what an accepted answer
   stands in for), the first clause, in order, that the answer matches passes the case with
   that clause's ``remark``. A failed ``not_contains``, ``json_schema``, ``tool_call`` or
   ``no_tool_call`` check is never rescued: an answer that calls a tool the case forbids
   still fails. Clauses are matched strictly (no cosmetic forgiving).

Otherwise the strict outcome stands; its reason names the first check that failed.
A clause is ``{kind: contains|regex|exact, value, remark}`` (a regex also takes ``pattern``
and ``flags``, a contains ``case_sensitive``); :func:`accept_problem` validates a list of
them, regexes through the same guard as a regex check.
"""

from __future__ import annotations

import json
from typing import Any

from evaluator import forgive as cosmetic
from evaluator.checks import Outcome, check_each, checks_of, combine, normalize
from evaluator.expectations import canonical_expect, expect_problem
from evaluator.suite_files import shown

ACCEPT_KINDS: tuple[str, ...] = ("contains", "regex", "exact")
FORGIVABLE_KINDS: tuple[str, ...] = ("exact",)
MAX_ACCEPT = 16
MAX_REMARK_CHARS = 300


def accept_problem(raw: Any, where: str) -> str | None:
    """Why ``raw`` is not a list of accepted-answer clauses (``"field: what"``, the field
    starting with ``where``), or None."""
    if not isinstance(raw, list):
        return f"{where}: must be a list of {{kind, value, remark}}, got {shown(raw)}"
    if len(raw) > MAX_ACCEPT:
        return f"{where}: at most {MAX_ACCEPT} clauses, got {len(raw)}"
    for i, clause in enumerate(raw):
        at = f"{where}[{i}]"
        if not isinstance(clause, dict):
            return f"{at}: must be a mapping {{kind, value, remark}}, got {shown(clause)}"
        kind = clause.get("kind")
        if kind is None:
            return f"{at}.kind: missing"
        if not isinstance(kind, str) or kind not in ACCEPT_KINDS:
            return f"{at}.kind: must be one of {', '.join(ACCEPT_KINDS)}, got {shown(kind)}"
        problem = expect_problem({k: v for k, v in clause.items() if k != "remark"}, at)
        if problem is not None:
            return problem
        remark = clause.get("remark")
        if remark is None:
            return f"{at}.remark: missing (say what is remarkable about this answer)"
        if not isinstance(remark, str) or not remark.strip():
            return f"{at}.remark: must be a non-empty string, got {shown(remark)}"
        if len(remark) > MAX_REMARK_CHARS:
            return f"{at}.remark: longer than {MAX_REMARK_CHARS} characters"
    return None


def canonical_accept(raw: list[dict[str, Any]]) -> tuple[dict[str, Any], ...]:
    """Valid clauses with their aliases folded (a regex's ``value`` into ``pattern``)."""
    return tuple(canonical_expect(dict(clause)) for clause in raw)


def judge(expect: Any, answer: str, tool_calls: Any, accept: Any = (),
          forgive: bool = False, checked: bool = False) -> Outcome:
    """The case's outcome under its checks and judging rules (see the module docstring).
    Never raises: a bad ``expect`` is a failed Outcome, as in ``run_check``. ``checked``
    says ``expect`` comes from a :class:`evaluator.suite.Case`, which was validated when it
    was made, so it is not validated again (a JSON Schema's metaschema check costs
    milliseconds, per case and attempt)."""
    problem = None if checked else expect_problem(expect)
    if problem is not None:
        return Outcome(False, 0.0, f"invalid expect: {problem}")
    answer = answer if isinstance(answer, str) else ""
    items = [canonical_expect(item) for item in checks_of(expect)]
    outcomes = check_each(items, answer, tool_calls)
    strict = combine(outcomes)
    if strict.passed:
        return strict
    failed = [item["kind"] for item, outcome in zip(items, outcomes, strict=True)
              if not outcome.passed]
    if forgive is True and all(kind in FORGIVABLE_KINDS for kind in failed):
        forgiven = _forgiven(items, outcomes, answer)
        if forgiven is not None:
            return forgiven
    if isinstance(accept, (list, tuple)) and all(kind in ACCEPT_KINDS for kind in failed):
        for clause in accept:
            accepted = _accepted(clause, outcomes, strict, answer)
            if accepted is not None:
                return accepted
    return strict


def _forgiven(items: list[dict[str, Any]], outcomes: list[Outcome], answer: str
              ) -> Outcome | None:
    text, offset = normalize(answer)
    rules: list[str] = []
    rescued = []
    for item, outcome in zip(items, outcomes, strict=True):
        if outcome.passed:
            rescued.append(outcome)
            continue
        found = cosmetic.unwrap(text, str(item["value"]).strip())
        if found is None:
            return None
        start, end, used = found
        rules.extend(rule for rule in used if rule not in rules)
        rescued.append(Outcome(True, 1.0, "output is exactly the expected text once cosmetic "
                                          f"formatting is removed ({', '.join(used)})",
                               [(offset + start, offset + end)]))
    return combine(rescued, remark=f"formatting forgiven: {', '.join(rules)}")


def _accepted(clause: Any, outcomes: list[Outcome], strict: Outcome, answer: str
              ) -> Outcome | None:
    if not isinstance(clause, dict):
        return None
    check = {key: value for key, value in clause.items() if key != "remark"}
    matched = combine(check_each(check, answer, []))
    if not matched.passed:
        return None
    spans = sorted({*matched.match, *(s for o in outcomes if o.passed for s in o.match)})
    remark = str(clause.get("remark") or "accepted with a remark")
    quoted = json.dumps(remark, ensure_ascii=False)
    return Outcome(True, 1.0, f"accepted with the remark {quoted}: {matched.reason} (strict: "
                              f"{strict.reason})", spans, remark)
