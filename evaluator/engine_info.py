"""What a runtime tells about the engine behind a run: version, memory, context, KV cache.

Pure, like the rest of the evaluator: :func:`engine_plan` says which requests to send for a
runtime, the shell sends them (``server/rating/engine.py`` with the CLI's client, the page
with ``fetch``), and :func:`read_engine` reads the answers into one JSON object::

    {"runtime", "model",
     "version": {"value", "source"} | null,
     "memory": {"total_bytes"?, "gpu_bytes"?, "gpu_fraction"?, "active_bytes"?, ...},
     "context": {"loaded_tokens"?, "max_tokens"?, "largest_seen_tokens"?},
     "kv_cache": {"usage"?, "tokens"?, "capacity_tokens"?, "dtype"?} | null,
     "details": {"quantization"?, "arch"?, "format"?, "state"?, "slots"?, ...},
     "notes": ["one line each"]}

Every figure is ``{"value", "source"}``; the source names the request and the field it was
read from (``"GET /api/ps → models[qwen3:4b].size_vram"``). A runtime that is down, answers
500 or garbage, or times out gives a note, never an exception. What each runtime is asked
(checked against each one's own source; see docs/runtimes.md):

* Ollama: ``GET /api/version`` (``version``), ``GET /api/ps`` (the rated model's ``size``,
  ``size_vram``, ``context_length``, ``details.quantization_level``);
* llama.cpp: ``GET /props`` (``build_info``, ``default_generation_settings.n_ctx`` or an
  older top-level ``n_ctx``, ``total_slots``, ``model_ftype``) and ``GET /metrics`` when
  the server runs with ``--metrics`` (501 without it);
* vLLM: ``GET /version`` and ``GET /metrics`` (``vllm:kv_cache_usage_perc``, before 0.9.2
  ``vllm:gpu_cache_usage_perc``; ``vllm:cache_config_info``);
* LM Studio: ``GET /api/v0/models/{id}`` (and the list ``GET /api/v0/models`` for ids the
  single-model route does not take);
* MLX: localrate's bridge, ``GET /v1/engine`` (mlx and mlx-lm versions, MLX memory).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlsplit

from evaluator.discovery import _runtime_key
from evaluator.engine_answers import Answer, Report
from evaluator.engine_readers import (
    read_llamacpp,
    read_lmstudio,
    read_mlx,
    read_ollama,
    read_vllm,
)

__all__ = ["ENGINE_PATH", "engine_plan", "read_engine"]

ENGINE_PATH = "/v1/engine"  # the MLX bridge's own endpoint (server/mlx_bridge/app.py)

# (key, method, path) per runtime; "{id}" is the model id, quoted for a URL path.
_PLANS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "ollama": (("version", "GET", "/api/version"), ("ps", "GET", "/api/ps")),
    "llamacpp": (("props", "GET", "/props"), ("metrics", "GET", "/metrics")),
    "vllm": (("version", "GET", "/version"), ("metrics", "GET", "/metrics")),
    "lmstudio": (("model", "GET", "/api/v0/models/{id}"), ("models", "GET", "/api/v0/models")),
    "mlx": (("engine", "GET", ENGINE_PATH),),
}
_READERS: dict[str, Callable[[Report, dict[str, Answer]], None]] = {
    "ollama": read_ollama, "llamacpp": read_llamacpp, "vllm": read_vllm,
    "lmstudio": read_lmstudio, "mlx": read_mlx,
}


def _key(runtime: Any) -> str:
    return _runtime_key(runtime) if isinstance(runtime, str) else ""


def engine_plan(runtime: str, base_url: str, model_id: str) -> list[dict[str, Any]]:
    """The requests that describe the engine: ``[{"key", "method", "path", "url", "body"}]``.

    Empty for a runtime localrate reads nothing from (``read_engine`` then says so).
    """
    rows = _PLANS.get(_key(runtime), ())
    base = str(base_url).rstrip("/")
    out = []
    for key, method, path in rows:
        path = path.replace("{id}", quote(str(model_id), safe=""))
        out.append({"key": key, "method": method, "path": path, "url": base + path,
                    "body": None})
    return out


def _answers(runtime: str, model_id: str, responses: Any) -> dict[str, Answer]:
    """The answers by plan key; a response names its key, or its URL's path."""
    plan = engine_plan(runtime, "", model_id)
    by_path = {row["path"]: row for row in plan}
    by_key = {row["key"]: row for row in plan}
    out: dict[str, Answer] = {}
    for response in responses if isinstance(responses, list) else []:
        if not isinstance(response, dict):
            continue
        row = by_key.get(response.get("key")) if isinstance(response.get("key"), str) \
            else None
        if row is None:
            url = response.get("path") or response.get("url")
            row = by_path.get(urlsplit(url).path if isinstance(url, str) else "")
        if row is not None and row["key"] not in out:
            out[row["key"]] = Answer(row["key"], row["method"], row["path"],
                                     response.get("status"), response.get("body"),
                                     response.get("error"))
    for row in plan:  # a request the shell did not send (or lost) is a note, not a crash
        out.setdefault(row["key"], Answer(row["key"], row["method"], row["path"], None,
                                          None, "no answer recorded"))
    return out


def read_engine(runtime: str, model_id: str, responses: list[dict[str, Any]]) -> dict[str, Any]:
    """Read the answers to :func:`engine_plan` (``[{"key" or "url", "status", "body",
    "error"}]``, as the discovery observations) into the engine report (module docstring).
    Never raises on what a runtime sent."""
    name = _key(runtime)
    report = Report(name or str(runtime), str(model_id))
    reader = _READERS.get(name)
    if reader is None:
        report.note(f"localrate reads no engine facts from runtime {str(runtime)[:40]!r}")
        return report.to_json()
    try:
        reader(report, _answers(name, str(model_id), responses))
    except Exception as exc:  # noqa: BLE001 - a reader's slip must not cost the run
        report.note(f"could not read the engine's answers: {type(exc).__name__}: "
                    f"{str(exc)[:120]}")
    return report.to_json()
