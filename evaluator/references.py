"""Reference answers: every case of a suite, proven to pass its right answers and fail its traps.

A suite may ship an answers file (``answers.yaml`` beside ``suite.yaml``; parsed, it is
the mapping this module reads). It maps each case id (the template id, so a sweep's sizes
and every draw share one entry) to::

    {"derive": {name: expr, ...},   # optional: JS-subset expressions over the drawn vars
     "pass": [answer, ...],         # at least one
     "fail": [answer, ...]}         # at least two (the classic trap among them)

An ``answer`` is what the model says, in one of three shapes:

* a string: the reply to a one-request case;
* ``{"content"?: str, "tool_calls"?: [{"name", "arguments"}]}``: one reply with tool calls;
* a list of those: one reply per request of a conversational case (each follow-up turn and
  each tool round takes the next one), in order.

Strings are ``{{name}}`` templates over the case's drawn vars (and the ``derive`` names,
evaluated by :mod:`evaluator.expr` after the draw), so a parameterized case's right answer
comes from its drawn values, never typed by hand.

:func:`check_answers` expands the suite for a seed, turns each answer into the transcript a
streaming runtime would send (:func:`reply_transcript`), replays conversational cases through
:func:`evaluator.conversation.next_request` exactly as a shell does, and scores them with
:mod:`evaluator.result`. It returns one row per answer; the caller asserts on them. Pure and
deterministic, so the same rows come out in CPython and in Pyodide.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from evaluator import draw, expr
from evaluator import jsvalue as js
from evaluator.conversation import next_request
from evaluator.expand import render_all, run_cases
from evaluator.request import DEFAULT_SETTINGS
from evaluator.result import score_turns
from evaluator.suite import Case, Suite

MODEL_ID = "reference-model"
MIN_PASS, MIN_FAIL = 1, 2


class AnswersError(ValueError):
    """A malformed answers file; the message names the case and the field."""


def _reply(answer: Any, where: str) -> dict[str, Any]:
    if isinstance(answer, str):
        return {"content": answer, "tool_calls": []}
    if not isinstance(answer, Mapping):
        raise AnswersError(f"{where}: expected a string, a mapping or a list of them")
    content = answer.get("content", "")
    calls = answer.get("tool_calls", [])
    if not isinstance(content, str) or not isinstance(calls, list):
        raise AnswersError(f"{where}: content must be a string and tool_calls a list")
    for j, call in enumerate(calls):
        if not isinstance(call, Mapping) or not isinstance(call.get("name"), str):
            raise AnswersError(f"{where}.tool_calls[{j}]: expected {{name, arguments}}")
    return {"content": content, "tool_calls": list(calls)}


def replies(answer: Any, where: str) -> list[dict[str, Any]]:
    """The replies one answer makes, one per request (module docstring for the shapes)."""
    if isinstance(answer, list):
        if not answer:
            raise AnswersError(f"{where}: an empty list answers nothing")
        return [_reply(item, f"{where}[{i}]") for i, item in enumerate(answer)]
    return [_reply(answer, where)]


def reply_transcript(body: Mapping[str, Any], reply: Mapping[str, Any]) -> dict[str, Any]:
    """The transcript of a streaming OpenAI-style runtime answering ``body`` with ``reply``:
    the content in one delta, each tool call in one delta, usage, then ``[DONE]``."""
    events: list[list[Any]] = []

    def add(payload: dict[str, Any]) -> None:
        events.append([10.0 * (len(events) + 1), json.dumps(payload)])

    if reply["content"]:
        add({"choices": [{"index": 0, "delta": {"content": reply["content"]},
                          "finish_reason": None}]})
    for i, call in enumerate(reply["tool_calls"]):
        args = call.get("arguments", {})
        text = args if isinstance(args, str) else json.dumps(args)
        add({"choices": [{"index": 0, "finish_reason": None, "delta": {"tool_calls": [
            {"index": i, "id": f"ref_{i}", "type": "function",
             "function": {"name": call["name"], "arguments": text}}]}}]})
    finish = "tool_calls" if reply["tool_calls"] else "stop"
    add({"choices": [{"index": 0, "delta": {}, "finish_reason": finish}],
         "usage": {"prompt_tokens": 10, "completion_tokens": max(1, len(events))}})
    events.append([events[-1][0] + 1.0, "[DONE]"])
    return {"url": "reference", "request": dict(body), "status": 200, "events": events,
            "ended_ms": events[-1][0] + 1.0, "error": None}


def _values(case: Case, entry: Mapping[str, Any], where: str) -> dict[str, object]:
    values: dict[str, object] = dict(case.drawn or {})
    derive = entry.get("derive", {})
    if not isinstance(derive, Mapping):
        raise AnswersError(f"{where}.derive: expected a mapping of name: expression")
    for name, source in derive.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise AnswersError(f"{where}.derive: {name!r} is not a name (quote YAML's "
                               "off/on/yes/no keys)")
        try:
            values[name] = draw.plain(expr.evaluate(expr.parse(source), values),
                                      f"{where}.derive.{name}")
        except (js.ExprError, ValueError) as exc:
            raise AnswersError(f"{where}.derive.{name}: {exc}") from None
    return values


def exchange(case: Case, given: list[dict[str, Any]], where: str
             ) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """The (request body, reply) pairs of ``case`` answered by ``given`` in turn, requests
    made by :func:`evaluator.conversation.next_request` exactly as a shell makes them.
    AnswersError when the exchange needs more replies than given, or fewer."""
    settings = dict(DEFAULT_SETTINGS)
    pairs: list[tuple[dict[str, Any], dict[str, Any]]] = []
    transcripts: list[dict[str, Any]] = []
    while "body" in (step := next_request(case, MODEL_ID, settings, transcripts)):
        if len(pairs) == len(given):
            raise AnswersError(f"{where}: request {len(given) + 1} of the exchange has no "
                               "reply")
        pairs.append((step["body"], given[len(pairs)]))
        transcripts.append(reply_transcript(*pairs[-1]))
        if not case.conversational:
            break
    if len(pairs) != len(given):
        raise AnswersError(f"{where}: the exchange ends after {len(pairs)} requests, but "
                           f"{len(given)} replies are given")
    return pairs


def score_answer(case: Case, answer: Any, where: str) -> dict[str, Any]:
    """The result a model answering ``answer`` gets on the concrete ``case``."""
    transcripts = [reply_transcript(body, reply)
                   for body, reply in exchange(case, replies(answer, where), where)]
    return score_turns(case, transcripts)


def rendered(case: Case, entry: Any, where: str) -> dict[str, list[Any]]:
    """The ``pass`` and ``fail`` answers of one answers-file entry for the concrete
    ``case``, rendered with its drawn values; AnswersError when the entry is malformed."""
    if not isinstance(entry, Mapping):
        raise AnswersError(f"{where}: missing (every case needs pass and fail answers)")
    values = _values(case, entry, where)
    out: dict[str, list[Any]] = {}
    for label, least in (("pass", MIN_PASS), ("fail", MIN_FAIL)):
        given = entry.get(label)
        if not isinstance(given, list) or len(given) < least:
            raise AnswersError(f"{where}.{label}: expected a list of at least {least}")
        out[label] = []
        for i, answer in enumerate(given):
            try:
                out[label].append(render_all(answer, values))
            except js.ExprError as exc:
                raise AnswersError(f"{where}.{label}[{i}]: {exc}") from None
    return out


def check_answers(suite: Suite, answers: Mapping[str, Any], seed: int) -> list[dict[str, Any]]:
    """One row per answer of every concrete case at ``seed``: ``{"case", "label" ("pass" or
    "fail"), "index", "status", "ok", "detail", "answer"}``; ``ok`` is whether the status is
    the label. Raises AnswersError for a missing entry, too few answers, an answer of the
    wrong shape, or an entry whose case the suite does not have."""
    if not isinstance(answers, Mapping):
        raise AnswersError("answers: expected a mapping of case id to answers")
    ids = {case.id for case in suite.cases}
    for name in answers:
        if name not in ids:
            raise AnswersError(f"answers: {name!r} is not a case of suite {suite.id!r}")
    rows: list[dict[str, Any]] = []
    for case in run_cases(suite, seed):
        template = case.template or case.id
        where = f"answers: {template!r}"
        for label, given in rendered(case, answers.get(template), where).items():
            for i, answer in enumerate(given):
                result = score_answer(case, answer, f"{where}.{label}[{i}]")
                status = result["status"]
                rows.append({"case": case.id, "label": label, "index": i, "status": status,
                             "ok": status == label, "detail": result["detail"],
                             "answer": answer})
    return rows
