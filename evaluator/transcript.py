"""Transcript assembly: rebuild one response from the raw events a shell recorded.

A transcript is ``{"url", "request", "status", "events": [[ms, data], ...], "ended_ms",
"error"}``, and ``with_key: true`` when the shell sent the endpoint's API key (then a 401
or 403 reads "key rejected: ..."); ``events`` holds every SSE ``data:`` payload (or one
whole non-streaming JSON body). ``assemble()`` understands the five runtimes' dialects:

* content in ``delta.content``; reasoning in ``delta.reasoning`` (Ollama, vLLM, MLX),
  ``delta.reasoning_content`` (LM Studio, llama.cpp, old vLLM) or inline ``<think>…</think>``
  in the content, split out after the whole content is joined (so tags may span chunks);
* tool calls whole in one delta (Ollama, MLX; parallel calls may all say ``index: 0``) or in
  fragments (``id`` and name first, ``arguments`` pieces concatenated by ``index``). At an
  index already seen, a different ``id`` starts a new call, and so does a name arriving when
  the call there already has a name and complete JSON arguments;
* token counts from any chunk's ``usage`` (MLX sends it in an ``object: chat.completion``
  chunk, maybe with empty ``choices``), else llama.cpp's ``timings`` (``prompt_n``,
  ``predicted_n``, ``predicted_per_second``), else an estimate: one token per delta that
  carried content, reasoning or a tool-call piece (a non-streaming body: chars / 4).

Timings: ``ttft_ms`` is the time of the first event carrying content, reasoning or a tool
delta; ``decode_ms`` runs from that event to the last such event; ``tok_s`` is
``(tok_out - 1) / decode_s`` because N tokens have N - 1 gaps between them (null when
``decode_ms`` is 0 or ``tok_out`` < 2), except with llama.cpp timings, where the runtime's
own ``predicted_per_second`` is used. ``total_ms`` is the shell's ``ended_ms``.
``prompt_per_second`` is llama.cpp's own prefill speed (``timings.prompt_per_second``),
whatever the token counts came from; None from other runtimes.

Hostile streams: every event is parsed with :mod:`evaluator.safejson` (an event nested
deeper than ``MAX_DEPTH`` levels is an error on the case, never a ``RecursionError``); at most
``MAX_TOOL_CALLS`` tool calls are kept, the number dropped is in ``tool_calls_dropped``; lone
surrogates (``"\\ud800"`` in the JSON) become U+FFFD, so every string can be written out as
UTF-8. A redirect (status 3xx, or the ``redirect`` object a shell records, see
:func:`redirect_error`) is an error: localrate never follows one.

``assemble()`` never raises: any transcript, however broken, gives an :class:`Assembled`
whose ``error`` says what went wrong.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from evaluator.checks import strip_reasoning
from evaluator.safejson import MAX_DEPTH, DeepJSONError, finite_number, loads

NON_JSON_PREVIEW = 60
MAX_TOOL_CALLS = 64  # tool calls kept per response; the rest are counted, not kept
LOCATION_PREVIEW = 200
_SURROGATE = re.compile("[\ud800-\udfff]")
_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")


@dataclass(frozen=True)
class Assembled:
    """One response, rebuilt. Times in milliseconds since the request was sent."""

    content: str = ""
    reasoning: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    finish_reason: str | None = None
    tok_in: int | None = None
    tok_out: int | None = None
    tokens_source: str = "estimate"
    ttft_ms: float | None = None
    total_ms: float | None = None
    decode_ms: float | None = None
    tok_s: float | None = None
    error: str | None = None
    reasoning_tokens: int | None = None
    tool_calls_dropped: int = 0
    prompt_per_second: float | None = None  # llama.cpp's own prefill speed (its timings)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON form."""
        return asdict(self)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _clean(value: Any) -> Any:
    """``value`` with every lone surrogate in its strings (keys too) replaced by U+FFFD."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    return value


def _parse(text: str) -> Any:
    """Depth-bounded ``json.loads`` of text from outside, lone surrogates replaced."""
    obj = loads(text)
    return _clean(obj) if _ESCAPED_SURROGATE.search(text) else obj


def redirect_error(transcript: dict[str, Any]) -> str | None:
    """The case's error when the response was a redirect, else None.

    The CLI records the status (3xx) and ``redirect: {"status", "location"}``; the page's
    ``fetch(..., {redirect: "manual"})`` sees only an opaque redirect and records
    ``redirect: {"status": null, "location": null}``.
    """
    status = _int(transcript.get("status"))
    info = transcript.get("redirect")
    if status is not None and not 300 <= status < 400:
        status = None
    if status is None and not isinstance(info, dict):
        return None
    info = _mapping(info)
    status = status if status is not None else _int(info.get("status"))
    where = " ".join(_text(info.get("location")).split())[:LOCATION_PREVIEW]
    answered = (f"HTTP {status} (redirect to {where})" if where else f"HTTP {status} (a redirect)"
                ) if status is not None else "with a redirect (the browser does not say where to)"
    return (f"the runtime answered {answered}; localrate does not follow redirects — "
            "use the final address as the base URL")


def _error_message(error: Any) -> str:
    if isinstance(error, dict):
        error = error.get("message") or error.get("error") or json.dumps(error)
    return " ".join(str(error).split())[:200]


class _Calls:
    """Tool calls rebuilt from whole or fragmented deltas."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.at: dict[Any, int] = {}
        self.too_deep = False  # a kept call's arguments nest deeper than MAX_DEPTH

    def _complete(self, call: dict[str, Any]) -> bool:
        if not call["name"]:
            return False
        try:
            loads(call["arguments"])
        except ValueError:
            return False
        return True

    def add(self, piece: Any) -> None:
        if not isinstance(piece, dict):
            return
        fn = _mapping(piece.get("function"))
        call_id, name, args = _text(piece.get("id")), _text(fn.get("name")), fn.get("arguments")
        args = json.dumps(args, ensure_ascii=False) if isinstance(args, (dict, list)) \
            else _text(args)
        index = piece.get("index", len(self.calls) if name else len(self.calls) - 1)
        pos = self.at.get(index) if isinstance(index, (int, str)) else None
        current = self.calls[pos] if pos is not None else None
        if current is None or (call_id and current["id"] and call_id != current["id"]) \
                or (name and not call_id and self._complete(current)):
            self.at[index] = len(self.calls)
            self.calls.append({"id": call_id, "name": name, "arguments": args})
            return
        current["id"] = current["id"] or call_id
        current["name"] = current["name"] or name
        current["arguments"] += args

    def result(self) -> tuple[list[dict[str, Any]], int]:
        """The first ``MAX_TOOL_CALLS`` calls with their parsed arguments, and how many more
        there were."""
        out: list[dict[str, Any]] = []
        dropped = 0
        for call in self.calls:
            raw = call["arguments"]
            if not call["name"] and not raw:
                continue  # an empty piece of garbage, not a call
            if len(out) == MAX_TOOL_CALLS:
                dropped += 1
                continue
            try:
                parsed = _parse(raw) if raw.strip() else {}
            except DeepJSONError:
                self.too_deep, parsed = True, None
            except ValueError:
                parsed = None
            out.append({**call, "parsed": parsed})
        return out, dropped


class _Reader:
    """Walks the events once, collecting pieces; ``finish()`` builds the Assembled."""

    def __init__(self) -> None:
        self.content: list[str] = []
        self.reasoning: list[str] = []
        self.calls = _Calls()
        self.usage: dict[str, Any] | None = None
        self.timings: dict[str, Any] | None = None
        self.finish_reason: str | None = None
        self.done = False
        self.first: float | None = None
        self.last: float | None = None
        self.deltas = 0
        self.end: float | None = None
        self.runtime_error: str | None = None
        self.non_json: str | None = None
        self.too_deep = False

    def event(self, ms: float | None, data: str) -> None:
        self.end = ms if ms is not None else self.end
        if data.strip() == "[DONE]":
            self.done = True
            return
        try:
            obj = _parse(data)
        except DeepJSONError:
            self.too_deep = True
            return
        except ValueError:
            self.non_json = self.non_json or data.strip()[:NON_JSON_PREVIEW]
            return
        if not isinstance(obj, dict):
            self.non_json = self.non_json or data.strip()[:NON_JSON_PREVIEW]
            return
        if obj.get("error"):
            self.runtime_error = self.runtime_error or _error_message(obj["error"])
            return
        if isinstance(obj.get("usage"), dict):
            self.usage = obj["usage"]
        if isinstance(obj.get("timings"), dict):
            self.timings = obj["timings"]
        choices = obj.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            self.choice(ms, choices[0])

    def choice(self, ms: float | None, choice: dict[str, Any]) -> None:
        if isinstance(choice.get("finish_reason"), str):
            self.finish_reason = choice["finish_reason"]
        whole = isinstance(choice.get("message"), dict)
        delta = choice["message"] if whole else choice.get("delta")
        if not isinstance(delta, dict):
            return
        pieces = [_text(delta.get("content")),
                  _text(delta.get("reasoning")) or _text(delta.get("reasoning_content"))]
        self.content.append(pieces[0])
        self.reasoning.append(pieces[1])
        tools = delta.get("tool_calls")
        tools = tools if isinstance(tools, list) else []
        for piece in tools:
            self.calls.add(piece)
        count = sum(1 for p in pieces if p) + len(tools)
        if whole:
            chars = sum(len(p) for p in pieces) + sum(len(json.dumps(t)) for t in tools)
            count = max(1, round(chars / 4)) if count else 0
        if count:
            self.deltas += count
            if ms is not None:
                self.first = ms if self.first is None else self.first
                self.last = ms

    def tokens(self) -> tuple[int | None, int | None, str, float | None]:
        """``(tok_in, tok_out, tokens_source, runtime tok/s)``."""
        usage, timings = self.usage, self.timings
        if usage is not None and _int(usage.get("completion_tokens")) is not None:
            return _int(usage.get("prompt_tokens")), _int(usage["completion_tokens"]), \
                "usage", None
        if timings is not None and _int(timings.get("predicted_n")) is not None:
            return _int(timings.get("prompt_n")), _int(timings["predicted_n"]), "timings", \
                finite_number(timings.get("predicted_per_second"))
        return None, self.deltas, "estimate", None

    def diagnose(self, transcript: dict[str, Any], calls_too_deep: bool) -> str | None:
        problem = self._diagnose(transcript, calls_too_deep)
        status = _int(transcript.get("status"))
        if problem is not None and transcript.get("with_key") is True and status in (401, 403):
            return f"key rejected: {problem}"  # the endpoint refused the API key it was sent
        return problem

    def _diagnose(self, transcript: dict[str, Any], calls_too_deep: bool) -> str | None:
        if transcript.get("error"):
            return _error_message(transcript["error"])
        redirect = redirect_error(transcript)
        if redirect is not None:
            return redirect
        if self.too_deep or calls_too_deep:
            return f"runtime sent JSON nested deeper than {MAX_DEPTH} levels"
        if self.runtime_error is not None:
            return f"runtime error: {self.runtime_error}"
        status = _int(transcript.get("status"))
        if status is not None and status >= 400:
            return f"HTTP {status}"
        if self.non_json is not None:
            return f"runtime sent non-JSON data: {self.non_json!r}"
        if not self.done and self.finish_reason is None:
            return "stream ended without [DONE]"
        return None

    def finish(self, transcript: dict[str, Any]) -> Assembled:
        answer, inline = strip_reasoning("".join(self.content))
        reasoning = "\n\n".join(r for r in ("".join(self.reasoning).strip(), inline) if r)
        tok_in, tok_out, source, runtime_rate = self.tokens()
        decode = self.last - self.first if self.first is not None and self.last is not None \
            else None
        rate = runtime_rate
        if rate is None and decode and tok_out is not None and tok_out > 1:
            rate = (tok_out - 1) / (decode / 1000)
        calls, dropped = self.calls.result()
        return Assembled(
            content=answer, reasoning=reasoning, tool_calls=calls,
            finish_reason=self.finish_reason, tok_in=tok_in, tok_out=tok_out,
            tokens_source=source, ttft_ms=self.first,
            total_ms=finite_number(transcript.get("ended_ms")) or self.end, decode_ms=decode,
            tok_s=rate, error=self.diagnose(transcript, self.calls.too_deep),
            reasoning_tokens=self.reasoning_tokens(answer, reasoning, calls, tok_out),
            tool_calls_dropped=dropped,
            prompt_per_second=finite_number(_mapping(self.timings).get("prompt_per_second")))

    def reasoning_tokens(self, answer: str, reasoning: str, calls: list[dict[str, Any]],
                         tok_out: int | None) -> int | None:
        """The runtime's reasoning-token count, else tok_out split by character share."""
        if not reasoning:
            return None
        details = _mapping((self.usage or {}).get("completion_tokens_details"))
        if _int(details.get("reasoning_tokens")):
            return _int(details["reasoning_tokens"])
        if tok_out is None:
            return None
        chars = len(answer) + len(reasoning) + sum(len(c["arguments"]) for c in calls)
        return round(tok_out * len(reasoning) / chars)


def assemble(transcript: Any) -> Assembled:
    """Rebuild content, reasoning, tool calls, token counts and timings. Never raises."""
    if not isinstance(transcript, dict):
        return Assembled(error=f"transcript is not an object: {type(transcript).__name__}")
    reader = _Reader()
    events = transcript.get("events")
    for item in events if isinstance(events, list) else []:
        if isinstance(item, (list, tuple)) and len(item) == 2 and isinstance(item[1], str):
            reader.event(finite_number(item[0]), item[1])
    return reader.finish(transcript)
