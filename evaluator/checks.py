"""The checks: one function per ``expect.kind``, each returning an :class:`Outcome`.

Kinds and their ``expect`` keys:

* ``contains {value, case_sensitive?}`` - the answer contains ``value`` (case-sensitive unless
  ``case_sensitive: false``). ``not_contains {value}`` is its inverse, derived from it in one
  place (``NEGATED``), never written twice.
* ``regex {pattern, flags?}`` - Python ``re.search``; flags is a combination of ``i``, ``m``,
  ``s``. A pattern that could backtrack too long is refused and the text it sees is capped
  (:mod:`evaluator.regex_guard`); the reason says when the answer was cut.
* ``exact {value}`` - the normalised answer equals ``value`` (also stripped).
* ``json_schema {schema}`` - the normalised answer parses as JSON and validates against the
  schema (Draft 2020-12, no format checking); every error is reported with its JSON path.
* ``tool_call {name, arguments?, only?}`` - one of the captured tool calls has ``name`` (with
  ``only: true``, every call has it: a model calling every tool fails) and, when an
  ``arguments`` schema is given, its parsed arguments validate against it.
* ``no_tool_call {}`` - the answer calls no tool; the reason names the calls made.

The seed's and the peer's spellings are aliases: a ``regex`` check may carry its pattern as
``value``, a ``tool_call`` its schema as ``argsSchema``. What a case may expect (the kinds, their
keys and aliases, validating and describing an ``expect``) is :mod:`evaluator.expectations`;
this module runs the checks, and accepts either spelling.

``expect`` may also be a list of checks: every check must pass. The reason of a failure names
the first check that failed (``check 2 of 2: ...``), and the match spans are those of every
check. :func:`check_each` and :func:`combine` are the two halves of :func:`run_check`, so that
:mod:`evaluator.judge` can rescue single failed checks.

Normalisation for ``exact``, ``regex`` and ``json_schema``: surrounding whitespace is stripped,
and when the whole remaining answer is one Markdown code fence (```` ```lang\\n...\\n``` ````)
its body is used instead. ``contains``/``not_contains`` see the answer as is.

Every ``Outcome.match`` span is a ``(start, end)`` offset into the answer the case result
stores as ``output`` (reasoning removed, before normalisation), so a shell can highlight it.
No check reads files, touches the network or prints.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from evaluator import regex_guard, safejson
from evaluator.expectations import (
    canonical_expect,
    checks_of,
    describe_expect,
    expect_problem,
    regex_flags,
)
from evaluator.schemas import schema_errors

__all__ = ["CHECKS", "NEGATED", "Outcome", "canonical_expect", "check_each", "checks_of",
           "combine", "describe_expect", "expect_problem", "normalize", "preview", "run_check",
           "strip_reasoning"]

PREVIEW_CHARS = 80
MAX_NAMED_CALLS = 8  # tool names a no_tool_call reason lists
_FENCE = re.compile(r"```[^\n`]*\n(.*?)\n?```", re.DOTALL)
_THINK_OPEN = "<think>"
_THINK_CLOSE = "</think>"


@dataclass(frozen=True)
class Outcome:
    """The result of one check: the one shape every check returns."""

    passed: bool
    score: float
    reason: str
    match: list[tuple[int, int]] = field(default_factory=list)
    remark: str | None = None  # a pass that a judging rule let through says which (judge)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON form (spans as two-item lists)."""
        return {"passed": self.passed, "score": self.score, "reason": self.reason,
                "match": [[a, b] for a, b in self.match], "remark": self.remark}


def _ok(reason: str, match: list[tuple[int, int]] | None = None) -> Outcome:
    return Outcome(True, 1.0, reason, match or [])


def _fail(reason: str, match: list[tuple[int, int]] | None = None) -> Outcome:
    return Outcome(False, 0.0, reason, match or [])


def preview(text: str, limit: int = PREVIEW_CHARS) -> str:
    """``text`` as a one-line quoted string, cut to ``limit`` characters (``"..."…``)."""
    if not text:
        return "empty output"
    cut = text if len(text) <= limit else text[:limit] + "…"
    return json.dumps(cut, ensure_ascii=False)


def strip_reasoning(text: str) -> tuple[str, str]:
    """Split inline ``<think>…</think>`` blocks out of ``text``; return ``(answer, reasoning)``.

    Every closed block is removed. An unclosed ``<think>`` makes the rest of the text
    reasoning (a model cut off mid-thought has no answer yet). A ``</think>`` with no opening
    tag (templates that put ``<think>`` in the prompt) makes everything before it reasoning.
    When something was removed the answer is stripped of surrounding whitespace; text with no
    think tags is returned unchanged.
    """
    if _THINK_OPEN not in text and _THINK_CLOSE not in text:
        return text, ""
    answer: list[str] = []
    thoughts: list[str] = []
    rest = text
    head, sep, tail = rest.partition(_THINK_CLOSE)
    if sep and _THINK_OPEN not in head:
        thoughts.append(head)
        rest = tail
    while rest:
        before, sep, after = rest.partition(_THINK_OPEN)
        answer.append(before)
        if not sep:
            break
        inside, sep, rest = after.partition(_THINK_CLOSE)
        thoughts.append(inside)
    reasoning = "\n\n".join(t.strip() for t in thoughts if t.strip())
    return "".join(answer).strip(), reasoning


def normalize(answer: str) -> tuple[str, int]:
    """The text ``exact``/``regex``/``json_schema`` see, and its offset within ``answer``."""
    stripped = answer.strip()
    offset = len(answer) - len(answer.lstrip())
    fence = _FENCE.fullmatch(stripped)
    if fence and "\n```" not in fence.group(1):
        return fence.group(1), offset + fence.start(1)
    return stripped, offset


def _phrase(expect: dict[str, Any]) -> str:
    """What a contains check wants, as it reads after "expected output (not) to ..."."""
    value = json.dumps(expect.get("value", ""), ensure_ascii=False)
    if expect.get("case_sensitive") is False:
        return f"contain {value} (any case)"
    return f"contain {value}"


def check_contains(expect: dict[str, Any], answer: str, tool_calls: list[dict[str, Any]]
                   ) -> Outcome:
    """The answer contains ``value``; match spans are every occurrence."""
    flags = re.IGNORECASE if expect.get("case_sensitive") is False else 0
    spans = [m.span() for m in re.finditer(re.escape(expect["value"]), answer, flags)]
    if spans:
        return _ok(f"output contains {json.dumps(expect['value'], ensure_ascii=False)}", spans)
    return _fail(f"expected output to {_phrase(expect)}, got {preview(answer)}")


def check_regex(expect: dict[str, Any], answer: str, tool_calls: list[dict[str, Any]]
                ) -> Outcome:
    """``re.search`` of ``pattern`` in the normalised answer (at most the guard's cap of it:
    the reason says when the answer was cut)."""
    text, offset = normalize(answer)
    found, seen = regex_guard.search(expect["pattern"], text, regex_flags(expect.get("flags", "")))
    shown = f"/{expect['pattern']}/{expect.get('flags', '')}"
    cut = regex_guard.cut_note(seen, len(text))
    if found is None:
        return _fail(f"expected output to match {shown}, got {preview(text)}{cut}")
    start, end = found.span()
    return _ok(f"output matches {shown}{cut}", [(start + offset, end + offset)])


def check_exact(expect: dict[str, Any], answer: str, tool_calls: list[dict[str, Any]]
                ) -> Outcome:
    """The normalised answer equals ``value`` (stripped)."""
    text, offset = normalize(answer)
    want = expect["value"].strip()
    if text == want:
        return _ok("output is exactly the expected text", [(offset, offset + len(text))])
    return _fail(f"expected exactly {preview(want)}, got {preview(text)}")


def check_json_schema(expect: dict[str, Any], answer: str, tool_calls: list[dict[str, Any]]
                      ) -> Outcome:
    """The normalised answer is JSON that validates against ``schema``."""
    text, offset = normalize(answer)
    if not text:
        return _fail("expected JSON, got empty output")
    try:
        doc = safejson.loads(text)
    except safejson.DeepJSONError:
        return _fail(f"expected JSON, got JSON nested deeper than {safejson.MAX_DEPTH} levels")
    except ValueError:
        # No message or position from json: both differ between Python versions (CPython
        # 3.11 and Pyodide's 3.14 report different columns), and the page and the CLI
        # must give the same reason.
        return _fail(f"expected JSON, got invalid JSON: {preview(text)}")
    errors = schema_errors(expect["schema"], doc)
    if errors:
        return _fail("; ".join(errors))
    return _ok("output is JSON matching the schema", [(offset, offset + len(text))])


def _call_arguments(call: dict[str, Any]) -> tuple[bool, Any]:
    """``(ok, value)``: the call's parsed arguments, parsing the string form when needed."""
    if "parsed" in call and call["parsed"] is not None:
        return True, call["parsed"]
    raw = call.get("arguments")
    if isinstance(raw, (dict, list)):
        return True, raw
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return True, {}
    try:
        return True, safejson.loads(str(raw))
    except ValueError:  # bad or too deeply nested JSON
        return False, raw


def check_tool_call(expect: dict[str, Any], answer: str, tool_calls: list[dict[str, Any]]
                    ) -> Outcome:
    """One captured call has ``name`` and (when given) arguments valid against the schema."""
    want = expect["name"]
    calls = [c for c in tool_calls if isinstance(c, dict)]
    if not calls:
        return _fail(f"no tool call, expected {want}")
    named = [c for c in calls if c.get("name") == want]
    seen = ", ".join(str(c.get("name") or "?") for c in calls)
    if not named:
        return _fail(f"called {seen}, expected {want}")
    if expect.get("only") is True and len(named) < len(calls):
        return _fail(f"called {seen}, expected only {want}")
    problems: list[str] = []
    for call in named:
        ok, args = _call_arguments(call)
        if not ok:
            problems.append(f"{want} arguments are not valid JSON: {preview(str(args))}")
            continue
        errors = schema_errors(expect["arguments"], args) if "arguments" in expect else []
        if not errors:
            return _ok(f"called {want} with valid arguments")
        problems.append(f"{want} arguments: " + "; ".join(errors))
    return _fail(" | ".join(problems))


def check_no_tool_call(expect: dict[str, Any], answer: str, tool_calls: list[dict[str, Any]]
                       ) -> Outcome:
    """No tool was called; a failure names the calls made (each name once, with a count)."""
    calls = [c for c in tool_calls if isinstance(c, dict)]
    if not calls:
        return _ok("no tool call")
    counts: dict[str, int] = {}
    for call in calls:
        name = str(call.get("name") or "?")
        counts[name] = counts.get(name, 0) + 1
    named = [name if n == 1 else f"{name} ({n} calls)" for name, n in counts.items()]
    more = len(named) - MAX_NAMED_CALLS
    shown = ", ".join(named[:MAX_NAMED_CALLS]) + (f" and {more} more" if more > 0 else "")
    return _fail(f"expected no tool call, called {shown}")


Check = Callable[[dict[str, Any], str, list[dict[str, Any]]], Outcome]

_POSITIVE: dict[str, Check] = {
    "contains": check_contains,
    "regex": check_regex,
    "exact": check_exact,
    "json_schema": check_json_schema,
    "tool_call": check_tool_call,
    "no_tool_call": check_no_tool_call,
}

# negated kind -> the kind it inverts. The one place an inverse is defined.
NEGATED: dict[str, str] = {"not_contains": "contains"}


def _negate(kind: str) -> Check:
    base = _POSITIVE[kind]

    def negated(expect: dict[str, Any], answer: str, tool_calls: list[dict[str, Any]]
                ) -> Outcome:
        outcome = base({**expect, "kind": kind}, answer, tool_calls)
        if outcome.passed:
            at = outcome.match[0][0] if outcome.match else 0
            return _fail(f"expected output not to {_phrase(expect)}, found at {at}: "
                         f"{preview(answer)}", outcome.match)
        return _ok(f"output does not {_phrase(expect)}")

    negated.__doc__ = f"The inverse of {kind!r}."
    return negated


CHECKS: dict[str, Check] = {
    **_POSITIVE,
    **{negated: _negate(kind) for negated, kind in NEGATED.items()},
}


def check_each(expect: Any, answer: str, tool_calls: Any) -> list[Outcome]:
    """The outcome of every check ``expect`` holds, in order (``expect`` must be valid:
    see :func:`expect_problem`). A check that raises is a failed Outcome, never an error."""
    if not isinstance(answer, str):
        answer = ""
    calls = list(tool_calls) if isinstance(tool_calls, list) else []
    outcomes = []
    for item in checks_of(expect):
        try:
            outcomes.append(CHECKS[item["kind"]](canonical_expect(item), answer, calls))
        except Exception as err:  # noqa: BLE001 - a check reports, it never crashes a run
            reason = " ".join(f"check failed: {type(err).__name__}: {err}".split())[:200]
            outcomes.append(_fail(reason))
    return outcomes


def combine(outcomes: list[Outcome], remark: str | None = None) -> Outcome:
    """One Outcome for a list of checks: passed when every one passed; the reason is that of
    the first one that failed (``check i of n: ...``), or every reason when all passed; the
    match spans of all of them, in order, each once."""
    if len(outcomes) == 1:
        one = outcomes[0]
        return Outcome(one.passed, one.score, one.reason, one.match, remark)
    spans = sorted({span for outcome in outcomes for span in outcome.match})
    failed = next(((i, o) for i, o in enumerate(outcomes, 1) if not o.passed), None)
    if failed is not None:
        return Outcome(False, 0.0, f"check {failed[0]} of {len(outcomes)}: {failed[1].reason}",
                       spans, remark)
    return Outcome(True, 1.0, "; ".join(o.reason for o in outcomes), spans, remark)


def run_check(expect: Any, answer: str, tool_calls: list[dict[str, Any]]) -> Outcome:
    """Run the check(s) ``expect`` describes (one, or a list that must all pass).
    Never raises: a bad ``expect`` is a failed Outcome."""
    problem = expect_problem(expect)
    if problem is not None:
        return _fail(f"invalid expect: {problem}")
    return combine(check_each(expect, answer, tool_calls))
