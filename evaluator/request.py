"""What a shell needs to send one case: the run settings, the request body, the path, the
time allowed and the output cap, all decided here (``plan_case``), so the CLI and the page
send exactly the same request and neither writes a default of its own.

The run seed (``settings["seed"]``) is drawn by the shell, since the evaluator has no source
of randomness: the CLI takes ``--seed N`` or ``secrets.randbelow(2**31)``, the page its
seed field or ``crypto.getRandomValues``. ``run_settings`` checks its range (0 to 2**53 - 1,
what JSON and JavaScript hold exactly).

A case whose prompt cannot fit the model's known context is skipped, not sent:
``plan_case`` estimates the prompt with :func:`evaluator.haystack.estimate_tokens` over the
system prompt, the input, every follow-up and the tools' JSON (:func:`prompt_estimate`;
images are not counted) and skips when that plus the answer's ``max_tokens`` exceeds the
context length the shell passes (from ``capabilities.context_length``; unknown: never).
"""

from __future__ import annotations

import json
import math
from typing import Any

from evaluator.casespec import seed_problem
from evaluator.errors import SuiteError
from evaluator.haystack import estimate_tokens
from evaluator.suite import Case

CHAT_PATH = "/v1/chat/completions"  # appended to a runtime's base URL
MAX_OUTPUT_BYTES = 1_000_000  # a response body past this is cut, and the case is an error
DEFAULT_SUITE_ID = "local-model-rating"  # the suite the page offers first
DEFAULT_SETTINGS: dict[str, Any] = {"temperature": 0, "max_tokens": 1024, "timeout_s": 120}
MAX_TOKENS_LIMIT = 131_072  # the largest max_tokens a user may ask for


class SettingsError(ValueError):
    """A run setting is out of range; the message names it."""


def check_seed(seed: Any) -> int:
    """``seed`` when it is a valid run seed, else SettingsError naming it."""
    problem = seed_problem(seed)
    if problem is not None:
        raise SettingsError(f"seed: {problem}")
    return int(seed)


def run_settings(max_tokens: Any = None, timeout_s: Any = None, seed: Any = None
                 ) -> dict[str, Any]:
    """The settings of a run: ``DEFAULT_SETTINGS`` with the user's max tokens and per-case
    timeout (seconds) where given, and the run ``seed`` (the shell's, see the module
    docstring; absent when None); SettingsError naming the field when one is out of range.
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
    if seed is not None:
        settings["seed"] = check_seed(seed)
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
    _not_template(case)
    merged = {**DEFAULT_SETTINGS, **settings}
    body: dict[str, Any] = {"model": model_id, "messages": first_messages(case)}
    if case.tools:
        body["tools"] = case.tools
    body.update({"stream": True, "stream_options": {"include_usage": True},
                 "temperature": merged["temperature"], "max_tokens": _max_tokens(case, merged)})
    return body


def _max_tokens(case: Case, settings: dict[str, Any]) -> Any:
    """The settings' max_tokens, or the case's own cap when that is smaller."""
    max_tokens = settings.get("max_tokens", DEFAULT_SETTINGS["max_tokens"])
    if case.max_tokens is not None and (max_tokens is None or case.max_tokens < max_tokens):
        max_tokens = case.max_tokens
    return max_tokens


def _not_template(case: Case) -> None:
    if case.is_template:
        raise SuiteError(f"case {case.id!r}: a template case (generate or sweep) is expanded "
                         "with run_cases(suite, seed) before it is sent")


def first_messages(case: Case) -> list[dict[str, Any]]:
    """The messages of the case's first request: the system prompt when the case has one,
    then the user's input (a text part and an ``image_url`` part when it has an image)."""
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
    return messages


def _prompt_parts(case: Case) -> list[str]:
    parts = [case.system or "", case.input, *case.follow_ups]
    if case.tools:
        parts.append(json.dumps(case.tools, ensure_ascii=False))
    return parts


def _prompt_chars(case: Case) -> int:
    return sum(len(part) for part in _prompt_parts(case))


def prompt_estimate(case: Case) -> int:
    """The estimated tokens of everything the case itself puts in its prompts: system,
    input, every follow-up, and the tools' JSON (images are not counted)."""
    return sum(estimate_tokens(part) for part in _prompt_parts(case))


def context_reason(case: Case, settings: dict[str, Any], context_length: Any) -> str | None:
    """Why ``case`` cannot fit a context of ``context_length`` tokens, or None (also when
    the context is unknown: None)."""
    if context_length is None:
        return None
    if isinstance(context_length, bool) or not isinstance(context_length, int) \
            or context_length < 1:
        raise SettingsError(f"context_length: expected a whole number of tokens of at least "
                            f"1, or null, got {context_length!r}")
    answer = _max_tokens(case, settings) or 0
    # Cheap first: no character counts more than 2 tokens, so a prompt of n characters
    # fits when 2n does (the page asks this for every case; most are far from the limit).
    if 2 * _prompt_chars(case) + answer <= context_length:
        return None
    need = prompt_estimate(case)
    if need + answer <= context_length:
        return None
    return (f"prompt needs about {need:,} tokens + {answer:,} for the answer; the model's "
            f"context is {context_length:,}")


def plan_case(case: Case, model_id: str, caps: Any, settings: dict[str, Any],
              context_length: Any = None) -> dict[str, Any]:
    """What running ``case`` on a model takes, in one call (the CLI and the page both ask):
    ``{"skipped": result}`` when the model lacks a capability the case requires (see
    ``capabilities.skip_reason``) or the prompt cannot fit its known ``context_length``
    (:func:`context_reason`), else everything the shell needs to send it:
    ``{"body": build_request(...), "path": CHAT_PATH, "timeout_s": ..., "max_bytes": ...}``
    (POST ``body`` as JSON to the runtime's base URL + ``path``; give up after
    ``timeout_s``; cut the response after ``max_bytes``)."""
    from evaluator.capabilities import skip_reason
    from evaluator.result import skipped_result

    _not_template(case)
    too_long = context_reason(case, settings, context_length)
    reason = skip_reason(case, caps) or too_long
    if reason is not None:
        return {"skipped": skipped_result(case, reason)}
    timeout = settings.get("timeout_s", DEFAULT_SETTINGS["timeout_s"])
    return {"body": build_request(case, model_id, settings), "path": CHAT_PATH,
            "timeout_s": timeout, "max_bytes": MAX_OUTPUT_BYTES}
