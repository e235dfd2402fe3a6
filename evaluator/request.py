"""What a shell needs to send one case: the run settings, the request body, the path, the
time allowed and the output cap, all decided here (``plan_case``), so the CLI and the page
send exactly the same request and neither writes a default of its own.

The run seed (``settings["seed"]``) is drawn by the shell, since the evaluator has no source
of randomness: the CLI takes ``--seed N`` or ``secrets.randbelow(2**31)``, the page its
seed field or ``crypto.getRandomValues``. ``run_settings`` (:mod:`evaluator.settings`) checks
its range (0 to 2**53 - 1,
what JSON and JavaScript hold exactly).

A case whose prompt cannot fit the model's known context is skipped, not sent:
``plan_case`` estimates the prompt with :func:`evaluator.haystack.estimate_tokens` over the
system prompt, the input, every follow-up and the tools' JSON (:func:`prompt_estimate`;
images are not counted) and skips when that plus the answer's ``max_tokens`` exceeds the
context length the shell passes (from ``capabilities.context_length``; unknown: never).
"""

from __future__ import annotations

import json
from typing import Any

from evaluator.errors import SuiteError
from evaluator.haystack import estimate_tokens
from evaluator.settings import (
    DEFAULT_SETTINGS,
    MAX_TOKENS_LIMIT,
    SettingsError,
    check_seed,
    run_settings,
    system_prompt,
)
from evaluator.suite import Case
from evaluator.thinking import thinking_fields

CHAT_PATH = "/v1/chat/completions"  # appended to a runtime's base URL
MAX_OUTPUT_BYTES = 1_000_000  # a response body past this is cut, and the case is an error
DEFAULT_SUITE_ID = "local-model-rating"  # the suite the page offers first
__all__ = ["CHAT_PATH", "DEFAULT_SETTINGS", "DEFAULT_SUITE_ID", "MAX_OUTPUT_BYTES",
           "MAX_TOKENS_LIMIT", "SettingsError", "build_request", "check_seed",
           "context_reason", "first_messages", "model_entry", "plan_case", "prompt_estimate",
           "run_settings"]


def model_entry(model_id: str, runtime: str, base_url: str, capabilities: Any) -> dict[str, Any]:
    """The run record's ``model`` object; ``capabilities`` as names or ``{name, source}``."""
    names = [c if isinstance(c, str) else c.get("name") for c in capabilities or []]
    return {"id": model_id, "runtime": runtime, "base_url": base_url,
            "capabilities": [n for n in names if isinstance(n, str)]}


def build_request(case: Case, model_id: str, settings: dict[str, Any],
                  runtime: str | None = None) -> dict[str, Any]:
    """The ``/v1/chat/completions`` body for ``case`` against ``model_id`` on ``runtime``.

    One system message first when the run or the case has a system prompt
    (:func:`evaluator.settings.system_prompt`); the user content is the prompt string, or a
    text part plus an ``image_url`` part (a data URL) when the case has an image. Always
    streams and asks for usage. ``max_tokens`` is the settings' cap, or the case's own cap
    when that is smaller; ``top_p`` when the settings have one; the thinking setting as
    the runtime reads it (:func:`evaluator.thinking.thinking_fields`). Missing settings take
    ``DEFAULT_SETTINGS``. The run seed is never sent (see :mod:`evaluator.settings`).
    """
    _not_template(case)
    merged = {**DEFAULT_SETTINGS, **settings}
    body: dict[str, Any] = {"model": model_id,
                            "messages": first_messages(case, merged.get("system"))}
    if case.tools:
        body["tools"] = case.tools
    body.update({"stream": True, "stream_options": {"include_usage": True},
                 "temperature": merged["temperature"], "max_tokens": _max_tokens(case, merged)})
    if merged.get("top_p") is not None:
        body["top_p"] = merged["top_p"]
    body.update(thinking_fields(runtime, merged.get("thinking")))
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


def first_messages(case: Case, run_system: Any = None) -> list[dict[str, Any]]:
    """The messages of the case's first request: the system prompt when the run or the
    case has one (the run's first, :func:`evaluator.settings.system_prompt`), then the
    user's input (a text part and an ``image_url`` part when it has an image)."""
    messages: list[dict[str, Any]] = []
    system = system_prompt(run_system, case.system)
    if system:
        messages.append({"role": "system", "content": system})
    if case.image:
        content: str | list[dict[str, Any]] = [
            {"type": "text", "text": case.input},
            {"type": "image_url", "image_url": {"url": case.image}},
        ]
    else:
        content = case.input
    messages.append({"role": "user", "content": content})
    return messages


def _prompt_parts(case: Case, run_system: Any = None) -> list[str]:
    parts = [system_prompt(run_system, case.system) or "", case.input, *case.follow_ups]
    if case.tools:
        parts.append(json.dumps(case.tools, ensure_ascii=False))
    return parts


def _prompt_chars(case: Case, run_system: Any = None) -> int:
    return sum(len(part) for part in _prompt_parts(case, run_system))


def prompt_estimate(case: Case, run_system: Any = None) -> int:
    """The estimated tokens of everything the case puts in its prompts: system (the run's
    too, when given), input, every follow-up, and the tools' JSON (images are not
    counted)."""
    return sum(estimate_tokens(part) for part in _prompt_parts(case, run_system))


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
    run_system = settings.get("system")
    if 2 * _prompt_chars(case, run_system) + answer <= context_length:
        return None
    need = prompt_estimate(case, run_system)
    if need + answer <= context_length:
        return None
    return (f"prompt needs about {need:,} tokens + {answer:,} for the answer; the model's "
            f"context is {context_length:,}")


def plan_case(case: Case, model_id: str, caps: Any, settings: dict[str, Any],
              context_length: Any = None, runtime: str | None = None) -> dict[str, Any]:
    """What running ``case`` on a model takes, in one call (the CLI and the page both ask):
    ``{"skipped": result}`` when the model lacks a capability the case requires (see
    ``capabilities.skip_reason``) or the prompt cannot fit its known ``context_length``
    (:func:`context_reason`), else everything the shell needs to send it:
    ``{"body": build_request(...), "path": CHAT_PATH, "timeout_s": ..., "max_bytes": ...}``
    (``runtime`` shapes the thinking setting, :func:`build_request`)
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
    return {"body": build_request(case, model_id, settings, runtime), "path": CHAT_PATH,
            "timeout_s": timeout, "max_bytes": MAX_OUTPUT_BYTES}
