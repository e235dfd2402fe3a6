"""Scripted answers: which entry of a model's script answers a chat request, and its text.

A script is ``{"answers": [entry, ...]}``; the first entry whose conditions all hold
answers (none: ``DEFAULT_ANSWER``, "I don't know."). An entry's keys:

``match``
    a substring (default ``""``) looked for in the text ``match_in`` names:
    ``"user"`` (default) the last user message; ``"last"`` the request's last message,
    whatever its role (a ``role: tool`` reply after a tool call); ``"conversation"`` every
    message's text, joined by newlines.
``turn``
    the 0-based user turn the request answers: the number of user messages minus one
    (a follow-up is turn 1, 2, ...; tool rounds do not add turns).
``tool_round``
    how many tool rounds came since the last user message: the assistant messages that
    carry ``tool_calls`` after it (0: the turn's first request; 1: after one tool reply).
``nth``
    the request's occurrence: how many earlier requests to this model carried exactly the
    same ``messages`` (0: the first time). Attempt ``i`` of a repeated case sends the same
    first request each time, so ``nth: i`` answers that attempt alone (the evaluator's
    warm-up request never counts: it has messages of its own).
``echo_regex``
    a Python regular expression searched in the text ``echo_in`` names (same values as
    ``match_in``; default ``"conversation"``, the first match in message order). The entry
    applies only when it matches. The value is ``compute`` applied to the match when given,
    else its first group (the whole match when it has no group). ``{echo}`` in
    ``content``, ``reasoning`` and string tool-call ``arguments`` is replaced by it; without
    ``content`` the answer is the value itself.
``compute``
    ``"product"`` (the groups multiplied as integers), ``"sum"`` (added), or ``"counti"``
    (how often the named group ``letter`` occurs in the named group ``word``, ignoring case).

What an entry answers: ``content``, ``reasoning``, ``tool_calls`` (``[{"name",
"arguments" (object or JSON text), "id"?}]``: an ``id`` string is sent as it is, ``"id":
null`` sends the call without an id, no ``id`` key lets the dialect make one), ``fault``.
``case``, ``expected_status`` and ``note`` are for the reader only.
"""

from __future__ import annotations

import re
from typing import Any

DEFAULT_ANSWER: dict[str, Any] = {"case": None, "match": "", "content": "I don't know."}
SCOPES = ("user", "last", "conversation")
COMPUTE = ("product", "sum", "counti")
ECHO = "{echo}"


class ScriptError(ValueError):
    """A bad script entry; the message names the key."""


def message_text(content: Any) -> str:
    """The text of a message's content: a string, or the text parts of a content list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content
                       if isinstance(p, dict) and p.get("type") == "text")
    return ""


def _messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in body.get("messages") or [] if isinstance(m, dict)]


def last_user_text(body: dict[str, Any]) -> str:
    """The text of the last user message of a chat request body."""
    for msg in reversed(_messages(body)):
        if msg.get("role") == "user":
            return message_text(msg.get("content"))
    return ""


def scope_text(body: dict[str, Any], scope: str) -> str:
    """The text an entry's ``match_in`` / ``echo_in`` names (module docstring)."""
    messages = _messages(body)
    if scope == "last":
        return message_text(messages[-1].get("content")) if messages else ""
    if scope == "conversation":
        return "\n".join(message_text(m.get("content")) for m in messages)
    return last_user_text(body)


def user_turn(body: dict[str, Any]) -> int:
    """The 0-based user turn of a request: its user messages minus one."""
    return sum(1 for m in _messages(body) if m.get("role") == "user") - 1


def tool_round(body: dict[str, Any]) -> int:
    """The tool rounds since the last user message (assistant messages with tool_calls)."""
    rounds = 0
    for msg in reversed(_messages(body)):
        if msg.get("role") == "user":
            break
        if msg.get("role") == "assistant" and msg.get("tool_calls"):
            rounds += 1
    return rounds


def _computed(how: str | None, found: re.Match[str]) -> str:
    if how == "product" or how == "sum":
        numbers = [int(g) for g in found.groups()]
        total = 1 if how == "product" else 0
        for n in numbers:
            total = total * n if how == "product" else total + n
        return str(total)
    if how == "counti":
        word, letter = found.group("word").lower(), found.group("letter").lower()
        return str(word.count(letter)) if letter else "0"
    return found.group(1) if found.re.groups else found.group(0)


def _fill(value: Any, echo: str) -> Any:
    return value.replace(ECHO, echo) if isinstance(value, str) else value


def resolve(answers: list[dict[str, Any]], body: dict[str, Any], nth: int = 0
            ) -> dict[str, Any]:
    """The answer to ``body`` (its ``nth`` occurrence, see ``nth`` in the module docstring):
    the first entry whose conditions hold, ``{echo}`` filled."""
    for entry in answers:
        if "nth" in entry and entry["nth"] != nth:
            continue
        if str(entry.get("match", "")) not in scope_text(body, entry.get("match_in", "user")):
            continue
        if "turn" in entry and entry["turn"] != user_turn(body):
            continue
        if "tool_round" in entry and entry["tool_round"] != tool_round(body):
            continue
        if "echo_regex" not in entry:
            return entry
        text = scope_text(body, entry.get("echo_in", "conversation"))
        found = re.search(entry["echo_regex"], text)
        if found is None:
            continue
        echo = _computed(entry.get("compute"), found)
        out = {**entry, "content": _fill(entry.get("content", ECHO), echo),
               "reasoning": _fill(entry.get("reasoning"), echo)}
        if entry.get("tool_calls"):
            out["tool_calls"] = [{**call, "arguments": _fill(call.get("arguments", {}), echo)}
                                 for call in entry["tool_calls"]]
        return out
    return DEFAULT_ANSWER


def check_entry(entry: Any, faults: tuple[str, ...]) -> None:
    """Raise ScriptError naming the key when an answer entry is malformed."""
    if not isinstance(entry, dict):
        raise ScriptError(f"expected an object, got {entry!r}")
    fault = entry.get("fault")
    if fault is not None and fault not in faults:
        raise ScriptError(f"fault {fault!r} is not one of {faults}")
    for key in ("match_in", "echo_in"):
        if key in entry and entry[key] not in SCOPES:
            raise ScriptError(f"{key}: {entry[key]!r} is not one of {SCOPES}")
    for key in ("turn", "tool_round", "nth"):
        value = entry.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ScriptError(f"{key}: expected a whole number >= 0, got {value!r}")
    if "compute" in entry and entry["compute"] not in COMPUTE:
        raise ScriptError(f"compute: {entry['compute']!r} is not one of {COMPUTE}")
    if "echo_regex" in entry:
        try:
            pattern = re.compile(entry["echo_regex"])
        except (re.error, TypeError) as exc:
            raise ScriptError(f"echo_regex: {entry['echo_regex']!r}: {exc}") from None
        if entry.get("compute") == "counti" and not {"word", "letter"} <= set(
                pattern.groupindex):
            raise ScriptError("compute 'counti' needs the named groups 'word' and 'letter'")
    elif "compute" in entry:
        raise ScriptError("compute: needs an echo_regex")
    for i, call in enumerate(entry.get("tool_calls") or []):
        if not isinstance(call, dict) or not isinstance(call.get("name", ""), str):
            raise ScriptError(f"tool_calls[{i}]: expected an object with a string 'name'")
        if "id" in call and call["id"] is not None and not isinstance(call["id"], str):
            raise ScriptError(f"tool_calls[{i}].id: expected a string or null")
