"""The engine facts each fake runtime answers, in the real runtimes' shapes.

* Ollama ``GET /api/ps`` (server/routes.go ``PsHandler``, api/types.go
  ``ProcessModelResponse``): every loaded model with ``size``, ``size_vram``,
  ``context_length``, ``expires_at`` and ``details``; a model with ``meta.state:
  not-loaded`` is not listed. ``GET /api/version``: ``{"version"}``.
* llama.cpp ``GET /metrics``: 501 with llama-server's own error body unless the config's
  first model sets ``meta.metrics`` to ``current`` (the counters and gauges of a current
  build, as recorded from llama.cpp's server: no KV-cache gauge) or ``old`` (builds that
  still exported ``llamacpp:kv_cache_usage_ratio`` and ``llamacpp:kv_cache_tokens``).
* vLLM ``GET /version``: ``{"version"}``; ``GET /metrics``: the V1 engine's gauges with
  ``model_name`` and ``engine`` labels, ``vllm:kv_cache_usage_perc`` (``meta.metrics:
  old``: the name before 0.9.2, ``vllm:gpu_cache_usage_perc``) and ``vllm:cache_config_info``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from .config import Config, Model

_CACHE_CONFIG = ('vllm:cache_config_info{block_size="16",cache_dtype="auto",engine="0",'
                 'gpu_memory_utilization="0.9",num_gpu_blocks="27153",'
                 'enable_prefix_caching="True"} 1.0')
_DEFAULT_VERSIONS = {"ollama": "0.12.6", "vllm": "0.11.0"}


def _first(cfg: Config) -> Model:
    return cfg.models[0] if cfg.models else Model("model")


def version(cfg: Config) -> str:
    """The runtime's version string (``meta.version`` of the first model overrides)."""
    return str(_first(cfg).meta.get("version", _DEFAULT_VERSIONS.get(cfg.dialect, "0.0.0")))


def metrics_mode(cfg: Config) -> str:
    """``off``, ``current`` or ``old`` (see the module docstring)."""
    default = "current" if cfg.dialect == "vllm" else "off"
    return str(_first(cfg).meta.get("metrics", default))


def ollama_ps(cfg: Config, details: Callable[[Model], dict[str, Any]]) -> dict[str, Any]:
    """GET /api/ps: the loaded models, longest time left first (all the same here)."""
    rows = []
    for m in cfg.models:
        if m.meta.get("state", "loaded") != "loaded":
            continue
        size = int(m.meta.get("size", 2_497_293_918))
        rows.append({"name": m.id, "model": m.id, "size": size,
                     "digest": hashlib.sha256(m.id.encode()).hexdigest(), "details": details(m),
                     "expires_at": "2026-11-30T21:04:31.83753+00:00",
                     "size_vram": int(m.meta.get("size_vram", size)),
                     "context_length": int(m.meta.get("num_ctx", 4096))})
    return {"models": rows}


def _prometheus(rows: list[tuple[str, str, str, str]]) -> str:
    """``# HELP``/``# TYPE`` lines and one sample per (name, type, help, sample) row."""
    out = []
    for name, kind, text, sample in rows:
        out += [f"# HELP {name} {text}", f"# TYPE {name} {kind}", sample]
    return "\n".join(out) + "\n"


def llamacpp_metrics(cfg: Config) -> tuple[int, Any]:
    """GET /metrics of llama-server: 501 unless started with --metrics."""
    mode = metrics_mode(cfg)
    if mode == "off":
        return 501, {"error": {"code": 501, "message": "This server does not support metrics "
                               "endpoint. Start it with `--metrics`",
                               "type": "not_supported_error"}}
    m = _first(cfg)
    rows = [
        ("llamacpp:prompt_tokens_total", "counter", "Number of prompt tokens processed.",
         "llamacpp:prompt_tokens_total 31"),
        ("llamacpp:prompt_seconds_total", "counter", "Prompt process time",
         "llamacpp:prompt_seconds_total 0.090225"),
        ("llamacpp:tokens_predicted_total", "counter", "Number of generation tokens processed.",
         "llamacpp:tokens_predicted_total 8"),
        ("llamacpp:tokens_predicted_seconds_total", "counter", "Predict process time",
         "llamacpp:tokens_predicted_seconds_total 0.056397"),
        ("llamacpp:n_decode_total", "counter", "Total number of llama_decode() calls",
         "llamacpp:n_decode_total 8"),
    ]
    if mode == "old":
        rows += [
            ("llamacpp:kv_cache_usage_ratio", "gauge", "KV-cache usage (1 = full).",
             f"llamacpp:kv_cache_usage_ratio {m.meta.get('kv_usage', 0.125)}"),
            ("llamacpp:kv_cache_tokens", "gauge", "KV-cache tokens.",
             f"llamacpp:kv_cache_tokens {m.meta.get('kv_tokens', 512)}"),
        ]
    else:
        rows.append(("llamacpp:n_tokens_max", "counter",
                     "Largest observed sequence length", "llamacpp:n_tokens_max 38"))
    rows += [
        ("llamacpp:prompt_tokens_seconds", "gauge", "Average prompt throughput in tokens/s.",
         "llamacpp:prompt_tokens_seconds 343.585"),
        ("llamacpp:predicted_tokens_seconds", "gauge",
         "Average generation throughput in tokens/s.", "llamacpp:predicted_tokens_seconds 124.12"),
        ("llamacpp:requests_processing", "gauge", "Number of requests processing.",
         "llamacpp:requests_processing 0"),
        ("llamacpp:requests_deferred", "gauge", "Number of requests deferred.",
         "llamacpp:requests_deferred 0"),
    ]
    return 200, _prometheus(rows)


def vllm_metrics(cfg: Config) -> tuple[int, Any]:
    """GET /metrics of vllm serve (always on)."""
    m = _first(cfg)
    labels = f'engine="0",model_name="{m.id}"'
    kv = "vllm:gpu_cache_usage_perc" if metrics_mode(cfg) == "old" else "vllm:kv_cache_usage_perc"
    rows = [
        ("vllm:num_requests_running", "gauge", "Number of requests in model execution batches.",
         f"vllm:num_requests_running{{{labels}}} 0.0"),
        ("vllm:num_requests_waiting", "gauge", "Number of requests waiting to be processed.",
         f"vllm:num_requests_waiting{{{labels}}} 0.0"),
        (kv, "gauge", "KV-cache usage. 1 means 100 percent usage.",
         f"{kv}{{{labels}}} {m.meta.get('kv_usage', 0.0421)}"),
        ("vllm:prompt_tokens_total", "counter", "Number of prefill tokens processed.",
         f"vllm:prompt_tokens_total{{{labels}}} 85.0"),
        ("vllm:cache_config_info", "gauge", "Information of the LLMEngine CacheConfig",
         _CACHE_CONFIG),
    ]
    return 200, _prometheus(rows)
