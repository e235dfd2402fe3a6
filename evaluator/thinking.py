"""Thinking mode, sent the way each runtime reads it.

``thinking_fields(runtime, level)`` is what a chat request body gains for the run setting
``thinking`` (:mod:`evaluator.settings`). ``default`` sends nothing: the engine decides.
Each row was checked in the runtime's own source or documentation (cited in
docs/runtimes.md, "Thinking mode"):

* **ollama** — its OpenAI layer reads ``reasoning_effort`` (``openai/openai.go``,
  ``thinkFromReasoningEffort``): ``"none"`` turns thinking off, ``low``/``medium``/``high``
  pass through as its ``think`` level.
* **llamacpp**, **vllm**, **mlx** (mlx-lm's server and localrate's MLX bridge) — each
  passes the body's ``chat_template_kwargs`` to the model's chat template: ``off`` is
  ``{"enable_thinking": false}`` (Qwen3-style templates); a level is
  ``{"enable_thinking": true, "reasoning_effort": level}`` (templates that read an effort,
  such as gpt-oss's, see it; others ignore it).
* **openai** (a server given by ``--base-url`` alone) — the OpenAI API's own
  ``reasoning_effort`` (``"none"`` for off).
* **lmstudio** — its ``/v1/chat/completions`` documents no thinking control, so nothing
  is sent; :func:`thinking_note` says so, and the run report shows it as not applied.
"""

from __future__ import annotations

from typing import Any

TEMPLATE_KWARGS = ("llamacpp", "vllm", "mlx")
EFFORT_FIELD = ("ollama", "openai")
NOT_SUPPORTED = ("lmstudio",)


def thinking_fields(runtime: Any, level: Any) -> dict[str, Any]:
    """The body fields that ask ``runtime`` for thinking ``level`` (module docstring);
    ``{}`` for ``default``, for LM Studio and for an unknown runtime."""
    if level in (None, "default") or runtime in NOT_SUPPORTED:
        return {}
    if runtime in EFFORT_FIELD:
        return {"reasoning_effort": "none" if level == "off" else level}
    if runtime in TEMPLATE_KWARGS:
        if level == "off":
            return {"chat_template_kwargs": {"enable_thinking": False}}
        return {"chat_template_kwargs": {"enable_thinking": True, "reasoning_effort": level}}
    return {}


def thinking_applied(runtime: Any, level: Any) -> bool:
    """Whether the requests ask ``runtime`` for ``level`` (``default`` is always true:
    it asks for nothing)."""
    return level in (None, "default") or bool(thinking_fields(runtime, level))


def thinking_note(runtime: Any, level: Any) -> str | None:
    """A warning for a level the runtime cannot be asked for, else None."""
    if thinking_applied(runtime, level):
        return None
    if runtime in NOT_SUPPORTED:
        return (f"thinking {level}: LM Studio's chat completions take no thinking "
                "control; its own setting applies")
    return f"thinking {level}: runtime {str(runtime)[:40]!r} has no known thinking control"
