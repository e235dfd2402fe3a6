"""What a shell needs to send one case: the run settings, the request body, the path, the
time allowed and the output cap, all decided here (``plan_case``), so the CLI and the page
send exactly the same request and neither writes a default of its own."""

from __future__ import annotations

import math
from typing import Any

from evaluator.suite import Case

CHAT_PATH = "/v1/chat/completions"  # appended to a runtime's base URL
MAX_OUTPUT_BYTES = 1_000_000  # a response body past this is cut, and the case is an error
DEFAULT_SUITE_ID = "local-model-rating"  # the suite the page offers first
DEFAULT_SETTINGS: dict[str, Any] = {"temperature": 0, "max_tokens": 1024, "timeout_s": 120}
MAX_TOKENS_LIMIT = 131_072  # the largest max_tokens a user may ask for


class SettingsError(ValueError):
    """A run setting is out of range; the message names it."""


def run_settings(max_tokens: Any = None, timeout_s: Any = None) -> dict[str, Any]:
    """The settings of a run: ``DEFAULT_SETTINGS`` with the user's max tokens and per-case
    timeout (seconds) where given; SettingsError naming the field when one is out of range.
    A whole-number timeout is kept as an int (``120``, not ``120.0``) so both shells write
    the same record."""
    settings = dict(DEFAULT_SETTINGS)
    if max_tokens is not None:
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) \
                or not 1 <= max_tokens <= MAX_TOKENS_LIMIT:
            raise SettingsError(f"max_tokens: expected a whole number from 1 to "
                                f"{MAX_TOKENS_LIMIT}, got {max_tokens!r}")
        settings["max_tokens"] = max_tokens
    if timeout_s is not None:
        if isinstance(timeout_s, bool) or not isinstance(timeout_s, (int, float)) \
                or not math.isfinite(timeout_s) or timeout_s < 0.05:
            raise SettingsError(f"timeout_s: expected a number of seconds of at least 0.05, "
                                f"got {timeout_s!r}")
        settings["timeout_s"] = int(timeout_s) if float(timeout_s).is_integer() else timeout_s
    return settings


def model_entry(model_id: str, runtime: str, base_url: str, capabilities: Any) -> dict[str, Any]:
    """The run record's ``model`` object; ``capabilities`` as names or ``{name, source}``."""
    names = [c if isinstance(c, str) else c.get("name") for c in capabilities or []]
    return {"id": model_id, "runtime": runtime, "base_url": base_url,
            "capabilities": [n for n in names if isinstance(n, str)]}


def build_request(case: Case, model_id: str, settings: dict[str, Any]) -> dict[str, Any]:
    """The ``/v1/chat/completions`` body for ``case`` against ``model_id``.

    System message first when the case has one; the user content is the prompt string, or a
    text part plus an ``image_url`` part (a data URL) when the case has an image. Always
    streams and asks for usage. ``max_tokens`` is the settings' cap, or the case's own cap
    when that is smaller. Missing settings take ``DEFAULT_SETTINGS``.
    """
    merged = {**DEFAULT_SETTINGS, **settings}
    messages: list[dict[str, Any]] = []
    if case.system:
        messages.append({"role": "system", "content": case.system})
    if case.image:
        content: str | list[dict[str, Any]] = [
            {"type": "text", "text": case.input},
            {"type": "image_url", "image_url": {"url": case.image}},
        ]
    else:
        content = case.input
    messages.append({"role": "user", "content": content})
    body: dict[str, Any] = {"model": model_id, "messages": messages}
    if case.tools:
        body["tools"] = case.tools
    max_tokens = merged["max_tokens"]
    if case.max_tokens is not None and (max_tokens is None or case.max_tokens < max_tokens):
        max_tokens = case.max_tokens
    body.update({"stream": True, "stream_options": {"include_usage": True},
                 "temperature": merged["temperature"], "max_tokens": max_tokens})
    return body


def plan_case(case: Case, model_id: str, caps: Any, settings: dict[str, Any]) -> dict[str, Any]:
    """What running ``case`` on a model takes, in one call (the CLI and the page both ask):
    ``{"skipped": result}`` when the model lacks a capability the case requires (see
    ``capabilities.skip_reason``), else everything the shell needs to send it:
    ``{"body": build_request(...), "path": CHAT_PATH, "timeout_s": ..., "max_bytes": ...}``
    (POST ``body`` as JSON to the runtime's base URL + ``path``; give up after
    ``timeout_s``; cut the response after ``max_bytes``)."""
    from evaluator.capabilities import skip_reason
    from evaluator.result import skipped_result

    reason = skip_reason(case, caps)
    if reason is not None:
        return {"skipped": skipped_result(case, reason)}
    timeout = settings.get("timeout_s", DEFAULT_SETTINGS["timeout_s"])
    return {"body": build_request(case, model_id, settings), "path": CHAT_PATH,
            "timeout_s": timeout, "max_bytes": MAX_OUTPUT_BYTES}
