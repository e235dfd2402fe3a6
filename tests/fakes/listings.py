"""Model lists and metadata endpoints of each runtime, built from the config's models.

`meta` keys a model entry may override: capabilities (Ollama names: completion, tools,
insert, vision, embedding, thinking), context_length, family, parameter_size,
quantization_level, size, n_params, type (LM Studio llm/vlm/embeddings), state
(loaded/not-loaded), publisher, owned_by, and `entry` (a dict merged into the model's
entry of the main list: /api/tags for Ollama, /v1/models for the others).

Engine facts (engine.py): size_vram (Ollama /api/ps; default: all of `size`), num_ctx
(Ollama's loaded context, default 4096), loaded_context_length (LM Studio), model_ftype and
build_info (llama.cpp /props), metrics (llama.cpp: "off" (default, 501 as without
--metrics), "current" or "old" (the builds that still had llamacpp:kv_cache_usage_ratio);
vLLM: "current" (default) or "old" (vllm:gpu_cache_usage_perc only, before 0.9.2)),
kv_usage (the KV-cache gauge), version (vLLM /version, Ollama /api/version).

Sampling defaults (``--from-engine``): parameters (Ollama /api/show ``parameters``: a dict
written as Ollama writes its Modelfile's PARAMETER lines, ``%-30s %#v`` per value, one line
per item of a list) and params (entries of llama.cpp's /props
``default_generation_settings.params``, over ``n_predict -1, temperature 0.8``).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import unquote

from . import engine
from .config import Config, Model
from .httpio import Request

CREATED = 1_760_000_000
Reply = tuple[int, Any]  # (status, JSON object or plain str)


def _ctx(m: Model) -> int:
    return int(m.meta.get("context_length", 32768))


def _entry(m: Model, base: dict[str, Any]) -> dict[str, Any]:
    return {**base, **m.meta.get("entry", {})}


def _details(m: Model) -> dict[str, Any]:
    family = m.meta.get("family", m.id.split(":")[0].split("/")[-1].split("-")[0])
    return {"parent_model": "", "format": "gguf", "family": family, "families": [family],
            "parameter_size": m.meta.get("parameter_size", "4.0B"),
            "quantization_level": m.meta.get("quantization_level", "Q4_K_M")}


def ollama_tags(cfg: Config) -> dict[str, Any]:
    """GET /api/tags."""
    return {"models": [_entry(m, {
        "name": m.id, "model": m.id, "modified_at": "2025-10-09T12:00:00.000000000Z",
        "size": int(m.meta.get("size", 2_497_293_918)),
        "digest": hashlib.sha256(m.id.encode()).hexdigest(), "details": _details(m)})
        for m in cfg.models]}


def ollama_parameters(values: dict[str, Any]) -> str:
    """``/api/show``'s ``parameters`` text: ``%-30s %#v`` per value (Go quotes a string),
    a list giving one line per item (server/routes.go, GetModelInfo)."""
    lines = []
    for key, value in values.items():
        for item in value if isinstance(value, list) else [value]:
            lines.append(f"{key:<30} {json.dumps(item)}")
    return "\n".join(lines)


def ollama_show(cfg: Config, req: Request) -> Reply:
    """POST /api/show {"model": name} (older clients send "name")."""
    body = req.json() or {}
    name = body.get("model") or body.get("name")
    m = cfg.model(name)
    if m is None:
        return 404, {"error": f"model '{name}' not found"}
    details = _details(m)
    arch = details["family"]
    return 200, {
        "license": "", "modelfile": f"# fake Modelfile\nFROM {m.id}\n",
        "parameters": ollama_parameters(m.meta.get("parameters") or {}),
        "template": "{{ .Prompt }}", "details": details,
        "model_info": {"general.architecture": arch,
                       "general.parameter_count": int(m.meta.get("n_params", 4_000_000_000)),
                       f"{arch}.context_length": _ctx(m)},
        "capabilities": m.capabilities, "modified_at": "2025-10-09T12:00:00Z"}


def openai_models(cfg: Config) -> dict[str, Any]:
    """GET /v1/models in the dialect's own flavour."""
    d = cfg.dialect
    data = []
    for m in cfg.models:
        item: dict[str, Any] = {"id": m.id, "object": "model", "created": CREATED}
        if d == "ollama":
            item["owned_by"] = m.id.split("/")[0] if "/" in m.id else "library"
        elif d == "lmstudio":
            item = {"id": m.id, "object": "model", "owned_by": "organization_owner"}
        elif d == "vllm":
            item.update(owned_by="vllm", root=m.id, parent=None, max_model_len=_ctx(m),
                        permission=[{"id": "modelperm-fake", "object": "model_permission",
                                     "created": CREATED, "allow_sampling": True,
                                     "allow_logprobs": True, "allow_view": True,
                                     "organization": "*", "group": None,
                                     "is_blocking": False}])
        elif d == "llamacpp":
            item.update(owned_by="llamacpp", meta={
                "vocab_type": 2, "n_vocab": 49152, "n_ctx_train": _ctx(m), "n_embd": 576,
                "n_params": int(m.meta.get("n_params", 134_515_008)),
                "size": int(m.meta.get("size", 98_362_432))})
        if "owned_by" in m.meta:
            item["owned_by"] = m.meta["owned_by"]
        data.append(item if d == "ollama" else _entry(m, item))
    out: dict[str, Any] = {"object": "list", "data": data}
    if d == "llamacpp":  # the same object also carries an Ollama-style list
        out = {"models": [{"name": m.id, "model": m.id, "modified_at": "", "size": "",
                           "digest": "", "type": "model", "description": "", "tags": [""],
                           "capabilities": ["completion"], "parameters": "",
                           "details": {**_details(m), "family": "", "families": [""]}}
                          for m in cfg.models], **out}
    return out


def _lms_type(m: Model) -> str:
    caps = m.capabilities
    default = "embeddings" if "embedding" in caps else "vlm" if "vision" in caps else "llm"
    return str(m.meta.get("type", default))


def lmstudio_v0(cfg: Config) -> dict[str, Any]:
    """GET /api/v0/models."""
    return {"object": "list", "data": [lmstudio_v0_model(m) for m in cfg.models]}


def lmstudio_v0_model(m: Model) -> dict[str, Any]:
    """One model of /api/v0/models, as GET /api/v0/models/{id} also answers it; a loaded
    model also says its loaded_context_length."""
    entry = {"id": m.id, "object": "model", "type": _lms_type(m),
             "publisher": m.meta.get("publisher", "lmstudio-community"),
             "arch": _details(m)["family"], "compatibility_type": "gguf",
             "quantization": m.meta.get("quantization_level", "Q4_K_M"),
             "state": m.meta.get("state", "loaded"), "max_context_length": _ctx(m)}
    if entry["state"] == "loaded":
        entry["loaded_context_length"] = int(m.meta.get("loaded_context_length", _ctx(m)))
    return entry


def lmstudio_v1(cfg: Config) -> dict[str, Any]:
    """GET /api/v1/models (LM Studio 0.4+; shape reconstructed from its docs)."""
    out = []
    for m in cfg.models:
        loaded = m.meta.get("state", "loaded") == "loaded"
        out.append({"type": _lms_type(m), "publisher": m.meta.get("publisher", "lmstudio"),
                    "key": m.id, "display_name": m.id, "format": "gguf",
                    "max_context_length": _ctx(m),
                    "loaded_instances": [{"id": m.id, "config": {"context_length": _ctx(m)}}]
                    if loaded else [],
                    "capabilities": {"vision": "vision" in m.capabilities,
                                     "trained_for_tool_use": "tools" in m.capabilities}})
    return {"models": out}


def llamacpp_props(cfg: Config) -> dict[str, Any]:
    """GET /props (describes the first model), in the shape of a current llama-server."""
    m = cfg.models[0] if cfg.models else Model("model.gguf")
    params = {"n_predict": -1, "temperature": 0.8, **(m.meta.get("params") or {})}
    return {"default_generation_settings": {"params": params,
                                            "n_ctx": _ctx(m)},
            "total_slots": 1, "model_alias": m.id,
            "model_ftype": m.meta.get("model_ftype", "Q4_K_M"),
            "model_path": f"/models/{m.id}",
            "modalities": {"vision": "vision" in m.capabilities, "video": False,
                           "audio": False},
            "endpoint_slots": True, "endpoint_props": True,
            "endpoint_metrics": engine.metrics_mode(cfg) != "off",
            "chat_template": "{{ messages }}", "bos_token": "<|im_start|>",
            "eos_token": "<|im_end|>", "build_info": m.meta.get("build_info", "b6000-fake"),
            "is_sleeping": False}


def listing(cfg: Config, req: Request) -> Reply | None:
    """The reply to a non-chat endpoint of the dialect, or None when it has no such route."""
    d, key = cfg.dialect, (req.method, req.path.rstrip("/") or "/")
    routes: dict[tuple[str, str], Any] = {("GET", "/v1/models"): lambda: openai_models(cfg)}
    if d == "ollama":
        routes.update({("GET", "/api/tags"): lambda: ollama_tags(cfg),
                       ("GET", "/api/version"): lambda: {"version": engine.version(cfg)},
                       ("GET", "/api/ps"): lambda: engine.ollama_ps(cfg, _details),
                       ("GET", "/"): lambda: "Ollama is running"})
        if key == ("POST", "/api/show"):
            return ollama_show(cfg, req)
    elif d == "lmstudio":
        routes.update({("GET", "/api/v0/models"): lambda: lmstudio_v0(cfg),
                       ("GET", "/api/v1/models"): lambda: lmstudio_v1(cfg)})
        prefix = "/api/v0/models/"
        if req.method == "GET" and req.path.startswith(prefix):
            m = cfg.model(unquote(req.path[len(prefix):]))
            if m is None:  # LM Studio's answer to an unknown model
                return 404, {"error": f"Model '{unquote(req.path[len(prefix):])}' not found"}
            return 200, lmstudio_v0_model(m)
    elif d == "llamacpp":
        if key == ("GET", "/metrics"):
            return engine.llamacpp_metrics(cfg)
        routes.update({("GET", "/props"): lambda: llamacpp_props(cfg),
                       ("GET", "/health"): lambda: {"status": "ok"},
                       ("GET", "/models"): lambda: openai_models(cfg)})
    elif d in ("vllm", "mlx"):
        routes[("GET", "/health")] = lambda: {} if d == "mlx" else ""
        if d == "vllm":
            routes[("GET", "/version")] = lambda: {"version": engine.version(cfg)}
            if key == ("GET", "/metrics"):
                return engine.vllm_metrics(cfg)
    if key in routes:
        return 200, routes[key]()
    return None
