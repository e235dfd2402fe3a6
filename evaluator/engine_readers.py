"""The readers behind :func:`evaluator.engine_info.read_engine`, one per runtime.

Each takes the report being filled and the answers by plan key, and adds figures (each
``{"value", "source"}``) or notes. A figure is only taken when it has the type the runtime's
own source gives it (a count is a non-negative finite number, a name is text); anything else
is left out, with a note when it was the point of the request.
"""

from __future__ import annotations

from typing import Any

from evaluator.engine_answers import (
    Answer,
    Report,
    gigabytes,
    number,
    obj,
    put,
    snippet,
    text,
    whole,
)
from evaluator.prometheus import Sample, parse_prometheus, samples_named


def _version(report: Report, answer: Answer, doc: dict[str, Any] | None, key: str) -> None:
    if doc is None:
        return
    value = text(doc.get(key))
    if value is None:
        report.note(f"{answer.method} {answer.path}: no '{key}' text in the answer")
    else:
        report.version = {"value": value, "source": answer.where(key)}


def _ollama_entry(doc: dict[str, Any], model: str) -> dict[str, Any] | None:
    rows = [m for m in doc.get("models") or [] if isinstance(m, dict)] \
        if isinstance(doc.get("models"), list) else []
    names = {model, f"{model}:latest", model.removesuffix(":latest")}
    for row in rows:
        if row.get("name") in names or row.get("model") in names:
            return row
    return None


def read_ollama(report: Report, answers: dict[str, Answer]) -> None:
    """``/api/version`` and the rated model's row of ``/api/ps``."""
    version = answers["version"]
    _version(report, version, version.json(report), "version")
    ps = answers["ps"]
    doc = ps.json(report)
    if doc is None:
        return
    entry = _ollama_entry(doc, report.model)
    if entry is None:
        loaded = [str(m.get("name"))[:40] for m in doc.get("models") or []
                  if isinstance(m, dict)] if isinstance(doc.get("models"), list) else []
        report.note(f"{report.model} is not loaded in Ollama now (GET /api/ps lists: "
                    f"{', '.join(loaded) or 'nothing'})")
        return
    row = f"models[{snippet(entry.get('name') or report.model, 60)}]"
    size, vram = number(entry.get("size")), number(entry.get("size_vram"))
    put(report.memory, "total_bytes", size, ps.where(f"{row}.size"))
    put(report.memory, "gpu_bytes", vram, ps.where(f"{row}.size_vram"))
    if size and vram is not None:
        share = round(min(vram / size, 1.0), 4)
        put(report.memory, "gpu_fraction", share, ps.where(f"{row}.size_vram / size"))
        if vram == 0:
            report.note(f"{report.model} runs on the CPU: none of its {gigabytes(size)} is in "
                        "GPU memory (size_vram 0)")
        elif share < 1:
            report.note(f"{report.model} is partly off the GPU: {share:.0%} of its "
                        f"{gigabytes(size)} in GPU memory, the rest in system RAM")
    put(report.context, "loaded_tokens", number(entry.get("context_length")) or None,
        ps.where(f"{row}.context_length"))
    details = obj(entry.get("details"))
    put(report.details, "quantization", text(details.get("quantization_level")),
        ps.where(f"{row}.details.quantization_level"))
    put(report.details, "parameter_size", text(details.get("parameter_size")),
        ps.where(f"{row}.details.parameter_size"))


def _metrics(report: Report, answer: Answer, off_hint: str) -> list[Sample] | None:
    problem = answer.failed()
    if problem is not None:
        if answer.status in (404, 501) and off_hint:
            problem = f"{answer.method} {answer.path}: HTTP {answer.status} — {off_hint}"
        report.note(problem)
        return None
    samples = parse_prometheus(answer.body if isinstance(answer.body, str) else "")
    if not samples:
        report.note(f"{answer.method} {answer.path}: answered, but with no Prometheus "
                    f"samples: '{snippet(answer.body, 40)}'")
        return None
    return samples


def _gauge(samples: list[Sample], name: str, model: str | None = None) -> list[Sample]:
    found = samples_named(samples, name)
    if model is not None:
        mine = [s for s in found if s.labels.get("model_name") in (None, model)]
        found = mine or found
    return found


def read_llamacpp(report: Report, answers: dict[str, Answer]) -> None:
    """``/props`` (build, n_ctx, slots, file type) and ``/metrics`` when enabled."""
    props = answers["props"]
    doc = props.json(report)
    if doc is not None:
        _version(report, props, doc, "build_info")
        settings = doc.get("default_generation_settings")
        n_ctx = number(settings.get("n_ctx")) if isinstance(settings, dict) else None
        if n_ctx:
            put(report.context, "loaded_tokens", n_ctx,
                props.where("default_generation_settings.n_ctx"))
        elif number(doc.get("n_ctx")):  # older builds put it at the top level
            put(report.context, "loaded_tokens", doc["n_ctx"], props.where("n_ctx"))
        slots = number(doc.get("total_slots"))
        put(report.details, "slots", slots, props.where("total_slots"))
        if slots and slots > 1 and "loaded_tokens" in report.context:
            report.note(f"llama.cpp's n_ctx is per slot: {int(slots)} slots share the context")
        put(report.details, "quantization", text(doc.get("model_ftype")),
            props.where("model_ftype"))
    report.note("llama.cpp's server reports no memory figures over HTTP")
    metrics = answers["metrics"]
    samples = _metrics(report, metrics, "/metrics is off; start llama-server with --metrics")
    if samples is None:
        return
    for name, section, key in (("llamacpp:kv_cache_usage_ratio", report.kv_cache, "usage"),
                               ("llamacpp:kv_cache_tokens", report.kv_cache, "tokens"),
                               ("llamacpp:n_tokens_max", report.context,
                                "largest_seen_tokens")):
        found = _gauge(samples, name)
        if found:
            put(section, key, whole(found[0].value), metrics.where(name))
    if not report.kv_cache:
        report.note("this llama.cpp build exports no KV-cache gauge on /metrics (newer builds "
                    "dropped llamacpp:kv_cache_usage_ratio)")


def read_vllm(report: Report, answers: dict[str, Answer]) -> None:
    """``/version`` and ``/metrics`` (KV-cache use, cache config)."""
    version = answers["version"]
    _version(report, version, version.json(report), "version")
    metrics = answers["metrics"]
    samples = _metrics(report, metrics, "")
    if samples is None:
        return
    for name in ("vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"):
        found = _gauge(samples, name, report.model)
        if found:
            top = max(found, key=lambda s: s.value)
            put(report.kv_cache, "usage", top.value, metrics.where(name))
            if len(found) > 1:
                report.note(f"vLLM runs {len(found)} engines; the fullest KV cache is shown")
            break
    else:
        report.note("vLLM's /metrics has no vllm:kv_cache_usage_perc gauge")
    info = _gauge(samples, "vllm:cache_config_info", report.model)
    labels = info[0].labels if info else {}
    where = metrics.where("vllm:cache_config_info")
    blocks, size = _label_int(labels, "num_gpu_blocks"), _label_int(labels, "block_size")
    if blocks is not None and size is not None:
        put(report.kv_cache, "capacity_tokens", blocks * size,
            f"{where}{{num_gpu_blocks × block_size}}")
    put(report.kv_cache, "dtype", text(labels.get("cache_dtype")), f"{where}{{cache_dtype}}")
    share = _label_float(labels, "gpu_memory_utilization")
    put(report.memory, "gpu_memory_utilization", share, f"{where}{{gpu_memory_utilization}}")
    report.note("vLLM reports no memory in use over HTTP"
                + ("; gpu_memory_utilization is the share of GPU memory it may take"
                   if share is not None else ""))


def _label_int(labels: dict[str, str], name: str) -> int | None:
    value = labels.get(name, "")
    return int(value) if value.isdigit() else None


def _label_float(labels: dict[str, str], name: str) -> float | None:
    try:
        return number(float(labels.get(name, "")))
    except ValueError:
        return None


def read_lmstudio(report: Report, answers: dict[str, Answer]) -> None:
    """``/api/v0/models/{id}`` (else the rated model's row of ``/api/v0/models``)."""
    one, listing = answers["model"], answers["models"]
    entry, source = None, one
    if one.failed() is None:
        entry = one.json(report)
    if entry is None:
        doc = listing.json(report)
        rows = doc.get("data") if doc is not None else None
        for row in rows if isinstance(rows, list) else []:
            if isinstance(row, dict) and row.get("id") == report.model:
                entry, source = row, listing
                break
        else:
            problem = one.failed()
            if problem is not None:
                report.note(problem)
            if doc is not None:
                report.note(f"LM Studio does not list {report.model}")
    if entry is None:
        return
    row = "" if source is one else f"data[{snippet(report.model, 60)}]."
    for key, name in (("quantization", "quantization"), ("arch", "arch"),
                      ("format", "compatibility_type"), ("state", "state"),
                      ("type", "type")):
        put(report.details, key, text(entry.get(name)), source.where(row + name))
    put(report.context, "loaded_tokens", number(entry.get("loaded_context_length")) or None,
        source.where(row + "loaded_context_length"))
    put(report.context, "max_tokens", number(entry.get("max_context_length")) or None,
        source.where(row + "max_context_length"))
    state = text(entry.get("state"))
    if state is not None and state != "loaded":
        report.note(f"LM Studio says {report.model} is {state}")
    report.note("LM Studio's model info (/api/v0) tells neither its version nor memory in use")


def read_mlx(report: Report, answers: dict[str, Answer]) -> None:
    """localrate's MLX bridge: ``GET /v1/engine``."""
    engine = answers["engine"]
    if engine.status == 404:
        report.note("GET /v1/engine: HTTP 404 — not localrate's MLX bridge (mlx_lm.server "
                    "tells no version or memory)")
        return
    doc = engine.json(report)
    if doc is None:
        return
    versions = obj(doc.get("versions"))
    mlx_lm = text(versions.get("mlx-lm"))
    if mlx_lm is not None:
        report.version = {"value": f"mlx-lm {mlx_lm}", "source": engine.where("versions.mlx-lm")}
    put(report.details, "mlx_version", text(versions.get("mlx")), engine.where("versions.mlx"))
    put(report.details, "device", text(doc.get("device")), engine.where("device"))
    put(report.context, "max_tokens", number(doc.get("context_length")) or None,
        engine.where("context_length"))
    memory = obj(doc.get("memory"))
    for key in ("active_bytes", "peak_bytes", "cache_bytes"):
        put(report.memory, key, number(memory.get(key)), engine.where(f"memory.{key}"))
    notes = doc.get("notes")
    for line in notes if isinstance(notes, list) else []:
        if text(line):
            report.note(f"MLX bridge: {text(line)}")
