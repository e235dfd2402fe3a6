"""One case's conversation: its follow-up turns and tool rounds, as a pure state machine.

A shell runs a case as a loop (the CLI and the page alike)::

    plan = plan_case(case, model_id, caps, settings, context_length)   # skip, or go on
    transcripts = []
    while "body" in (step := next_request(case, model_id, settings, transcripts)):
        transcripts.append(<send step["body"], record the transcript>)
    result = score_turns(case, transcripts)                # evaluator.result

:func:`next_request` replays the transcripts so far (:func:`replay`) and answers the next
request, or ``{"done": True, "end": ...}``. After each transcript, in order:

1. it ended in an error: done (``end: "error"``);
2. the model called tools: when the case has a responder for every tool called and fewer
   than ``maxToolRounds`` tool rounds were made in this user turn, the next request is the
   conversation so far + the assistant message with its ``tool_calls`` + one ``role: tool``
   message per call (``tool_call_id`` and the canned reply); else done (``no_responder``:
   a tool without a responder; ``round_cap``; ``tool_call``: the case answers no tools);
3. follow-ups remain: the conversation + the assistant's answer + the next user turn;
4. else done (``answered``).

Every request's body is ``plan_case``'s body (tools, stream, max_tokens, ...) with the
conversation as its ``messages``, shaped as the OpenAI chat API expects: assistant
``{"role": "assistant", "content": text, "tool_calls": [{"id", "type": "function",
"function": {"name", "arguments"}}]}`` and ``{"role": "tool", "tool_call_id", "content"}``.
The assistant's ``content`` is always a string (``""`` when it said nothing), never null:
Ollama refuses a null content. A call without an ``id`` gets ``call_<request>_<index>``;
empty arguments are sent as ``{}``.

A responder's reply is its first ``byArgs`` rule (in order) whose ``argsContains`` matches
the call, else its ``response``. A string ``argsContains`` matches when it is a substring
of the call's arguments text, exactly as the model wrote it; a mapping matches when it is a
subset of the parsed arguments (every key present, mappings compared the same way, lists
item by item, and a string equal to a number or true/false when it is that value's JS
``String()``: ``{a: '7'}`` matches ``{"a": 7}``). A reply that is not a string is sent as
its JSON text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from evaluator import jsvalue as js
from evaluator.request import (
    CHAT_PATH,
    DEFAULT_SETTINGS,
    MAX_OUTPUT_BYTES,
    build_request,
    first_messages,
)
from evaluator.suite import Case
from evaluator.transcript import Assembled, assemble

ENDS = ("answered", "error", "tool_call", "no_responder", "round_cap")


@dataclass(frozen=True)
class Step:
    """One request of the exchange: what it added to the conversation, and the answer."""

    kind: str  # "user" (the input or a follow-up) or "tool" (the replies of a tool round)
    sent: list[dict[str, Any]]
    done: Assembled


@dataclass
class Exchange:
    """The conversation replayed from its transcripts."""

    steps: list[Step] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)  # the next request's
    end: str | None = None  # None while another request is due; else one of ENDS
    note: str = ""  # why it ended, when that is worth saying
    extra: int = 0  # transcripts given after the end


def _same(expected: Any, actual: Any) -> bool:
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            key in actual and _same(value, actual[key]) for key, value in expected.items())
    if isinstance(expected, list):
        return isinstance(actual, list) and len(expected) == len(actual) and all(
            _same(e, a) for e, a in zip(expected, actual, strict=True))
    if isinstance(actual, (dict, list)) or expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, str) != isinstance(actual, str):
        return js.to_text(expected) == js.to_text(actual)
    if isinstance(expected, bool) or isinstance(actual, bool):
        return isinstance(expected, bool) and isinstance(actual, bool) and expected == actual
    return bool(expected == actual)


def args_match(contains: Any, call: dict[str, Any]) -> bool:
    """Whether a ``byArgs`` rule's ``argsContains`` matches a tool call (module docstring)."""
    if isinstance(contains, str):
        return contains in str(call.get("arguments") or "")
    return isinstance(call.get("parsed"), dict) and _same(contains, call["parsed"])


def _text(response: Any) -> str:
    return response if isinstance(response, str) else json.dumps(response, ensure_ascii=False)


def reply_for(responder: dict[str, Any], call: dict[str, Any]) -> str:
    """The canned reply of ``responder`` to ``call``: the first matching ``byArgs`` rule's
    response, else its ``response``."""
    for rule in responder.get("byArgs") or []:
        if args_match(rule.get("argsContains"), call):
            return _text(rule.get("response"))
    return _text(responder.get("response"))


def _assistant(done: Assembled, index: int) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": done.content}
    if done.tool_calls:
        message["tool_calls"] = [
            {"id": call.get("id") or f"call_{index}_{i}", "type": "function",
             "function": {"name": call.get("name") or "",
                          "arguments": call.get("arguments") or "{}"}}
            for i, call in enumerate(done.tool_calls)]
    return message


def _turn_note(case: Case, turn: int) -> str:
    total = 1 + len(case.follow_ups)
    return f" at turn {turn + 1} of {total}" if total > 1 else ""


def replay(case: Case, transcripts: list[dict[str, Any]]) -> Exchange:
    """The exchange ``transcripts`` make for ``case`` (rules in the module docstring)."""
    if not isinstance(transcripts, list):
        raise TypeError(f"transcripts: expected a list, got {type(transcripts).__name__}")
    ex = Exchange(messages=first_messages(case))
    kind, sent = "user", list(ex.messages)
    turn = rounds = 0
    responders = case.tool_responders or {}
    for index, transcript in enumerate(transcripts):
        if ex.end is not None:
            ex.extra = len(transcripts) - index
            break
        done = assemble(transcript)
        ex.steps.append(Step(kind, sent, done))
        if done.error is not None:
            ex.end = "error"
            continue
        if done.tool_calls:
            names = [str(call.get("name") or "") for call in done.tool_calls]
            missing = next((name for name in names if name not in responders), None)
            where = _turn_note(case, turn)
            if not responders:
                ex.end = "tool_call"
                ex.note = f"the model called {names[0] or 'a tool'}{where}: the exchange " \
                    "ended there" if case.follow_ups else ""
            elif missing is not None:
                ex.end = "no_responder"
                ex.note = f"the model called {missing or 'a tool without a name'}, which " \
                    f"has no responder{where}: the exchange ended there"
            elif rounds >= case.tool_rounds:
                ex.end = "round_cap"
                ex.note = f"the model still called tools after {rounds} tool rounds " \
                    f"(maxToolRounds {case.tool_rounds}){where}: the exchange ended there"
            else:
                assistant = _assistant(done, index)
                replies = [{"role": "tool", "tool_call_id": sent_call["id"],
                            "content": reply_for(responders[call["name"]], call)}
                           for sent_call, call in zip(assistant["tool_calls"],
                                                      done.tool_calls, strict=True)]
                ex.messages = [*ex.messages, assistant, *replies]
                kind, sent, rounds = "tool", replies, rounds + 1
            continue
        if turn < len(case.follow_ups):
            user = {"role": "user", "content": case.follow_ups[turn]}
            ex.messages = [*ex.messages, _assistant(done, index), user]
            kind, sent, turn, rounds = "user", [user], turn + 1, 0
            continue
        ex.end = "answered"
    return ex


def next_request(case: Case, model_id: str, settings: dict[str, Any],
                 transcripts: list[dict[str, Any]], runtime: str | None = None
                 ) -> dict[str, Any]:
    """The next request of the case's exchange, shaped as ``plan_case``'s answer
    (``{"body", "path", "timeout_s", "max_bytes"}``; with no transcripts, exactly its body),
    or ``{"done": True, "end": <one of ENDS>}`` when the exchange is over. The run's
    system prompt (``settings["system"]``) leads every request's messages, as in the
    first (:func:`evaluator.request.first_messages`)."""
    body = build_request(case, model_id, settings, runtime)
    ex = replay(case, transcripts)
    if ex.end is not None:
        return {"done": True, "end": ex.end}
    timeout = settings.get("timeout_s", DEFAULT_SETTINGS["timeout_s"])
    rest = ex.messages[len(first_messages(case)):]
    return {"body": {**body, "messages": [*body["messages"], *rest]}, "path": CHAT_PATH,
            "timeout_s": timeout, "max_bytes": MAX_OUTPUT_BYTES}
