"""The OpenAI-compatible request body for one case."""

from __future__ import annotations

from typing import Any

from evaluator.suite import Case

DEFAULT_SETTINGS: dict[str, Any] = {"temperature": 0, "max_tokens": 1024, "timeout_s": 120}


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
    ``capabilities.skip_reason``), else ``{"body": build_request(...)}``."""
    from evaluator.capabilities import skip_reason
    from evaluator.result import skipped_result

    reason = skip_reason(case, caps)
    if reason is not None:
        return {"skipped": skipped_result(case, reason)}
    return {"body": build_request(case, model_id, settings)}
