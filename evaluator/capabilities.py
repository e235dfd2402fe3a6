"""Capability projection: model id + runtime metadata -> capability chips.

Two sources, merged by `project()`:

* the **id-pattern table** (`ID_PATTERNS`): first matching row wins, source ``"id"``;
* **runtime metadata** collected by discovery (`runtime_facts()`), source ``"runtime"``.

Merge rule (documented in docs/runtimes.md):

1. Start from the id row's capabilities.
2. Every capability the runtime reports is added (or re-labelled) with source ``"runtime"``.
3. The runtime may *remove* a capability the id implied only where its metadata is
   authoritative: Ollama's ``/api/show`` ``capabilities`` list for tool-use/function-calling,
   vision, reasoning/extended-thinking and embeddings; LM Studio's ``type`` and
   ``capabilities.vision`` for vision and embeddings; llama.cpp's ``modalities.vision``.
   A known context length is authoritative for ``128k-context`` and ``1m-context``.
4. An embeddings model keeps only ``embeddings`` and the context capabilities.
5. A chat model without ``streaming`` gets it with source ``"default"`` (every chat
   endpoint streams); so an unknown id yields ``[{"name": "streaming", "source": "default"}]``.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

__all__ = [
    "CAPABILITIES",
    "CONTEXT_1M",
    "CONTEXT_128K",
    "ID_PATTERNS",
    "IdPattern",
    "context_length",
    "match_id",
    "model_kind",
    "normalize_id",
    "project",
    "runtime_facts",
    "skip_reason",
]

CAPABILITIES: tuple[str, ...] = (
    "streaming",
    "tool-use",
    "function-calling",
    "structured-output",
    "reasoning",
    "extended-thinking",
    "vision",
    "embeddings",
    "code-fim",
    "128k-context",
    "1m-context",
)

CONTEXT_128K = 128_000
"""Context lengths at or above this get ``128k-context`` (131072 and 128000 both count)."""
CONTEXT_1M = 1_000_000
"""Context lengths at or above this get ``1m-context`` (and ``128k-context``)."""

_CONTEXT_CAPS = ("128k-context", "1m-context")
_TOOLS = ("tool-use", "function-calling")
_THINKING = ("reasoning", "extended-thinking")

# Ollama /api/show capability -> our capability names.
_OLLAMA_CAPS: dict[str, tuple[str, ...]] = {
    "completion": ("streaming",),
    "tools": _TOOLS,
    "insert": ("code-fim",),
    "vision": ("vision",),
    "embedding": ("embeddings",),
    "thinking": _THINKING,
}
# The ones whose *absence* from Ollama's list means the model lacks them.
_OLLAMA_AUTHORITATIVE = ("tools", "vision", "embedding", "thinking")


class IdPattern(NamedTuple):
    """One row of the id-pattern table: a regex over `normalize_id()` output."""

    pattern: str
    capabilities: tuple[str, ...]
    note: str


_S = "streaming"
_SO = "structured-output"
_QWEN3 = (_S, *_TOOLS, _SO, *_THINKING, "128k-context")
_QWEN25 = (_S, *_TOOLS, _SO, "128k-context")
_LLAMA31 = (_S, *_TOOLS, _SO, "128k-context")
_THINKER = (_S, _SO, *_THINKING, "128k-context")
_GEMMA = (_S, _SO)
_SEEING = (_S, "vision")

# First matching row wins: most specific first. Patterns are searched (re.search) in the
# normalised id, where every run of characters other than a-z0-9 became one "-"; so
# "-?" between a name and its version accepts both "llama3" and "llama-3".
ID_PATTERNS: tuple[IdPattern, ...] = (
    IdPattern(r"embed|(?<![a-z])bge-|minilm", ("embeddings",),
              "embedding models (*embed*, nomic-embed, bge, all-minilm): embeddings only"),
    IdPattern(r"deepseek-?r1(?![0-9])", _THINKER,
              "deepseek-r1 and its qwen/llama distills: no tool-use (Ollama template gap)"),
    IdPattern(r"llama-?3-2-.*vision", (_S, _SO, "vision", "128k-context"),
              "llama3.2-vision"),
    IdPattern(r"qwen-?3(?:-[0-9]+)?-?vl(?![a-z])", (*_QWEN3, "vision"), "qwen3-vl"),
    IdPattern(r"qwen-?2(?:-5)?-?vl(?![a-z])", (_S, _SO, "vision"), "qwen2-vl, qwen2.5-vl"),
    IdPattern(r"llava", _SEEING, "llava, bakllava, llava-llama3, llava-phi3"),
    IdPattern(r"minicpm-?v", _SEEING, "minicpm-v"),
    IdPattern(r"moondream", _SEEING, "moondream"),
    IdPattern(r"pixtral", (_S, _SO, "vision"), "pixtral"),
    IdPattern(r"gemma-?3(?![0-9n])-?(?:270m|1b)(?![0-9])", _GEMMA,
              "gemma-3 270m/1b: text only, 32k context"),
    IdPattern(r"gemma-?3(?![0-9n])", (*_GEMMA, "vision", "128k-context"),
              "gemma-3 4b/12b/27b (and untagged gemma3, which is 4b in Ollama): vision, "
              "128k context; no tool-use until upstream wires the chat template"),
    IdPattern(r"gemma-?3n", _GEMMA, "gemma-3n (text only in Ollama)"),
    IdPattern(r"gemma-?4(?![0-9])", (*_GEMMA, "128k-context"), "gemma-4"),
    IdPattern(r"(?<![a-z])vl(?![a-z])", _SEEING, "other *-vl vision-language models"),
    IdPattern(r"qwen-?3(?:-[0-9]+)?-?coder", (*_QWEN3, "code-fim"), "qwen3-coder"),
    IdPattern(r"qwen-?2-5-?coder", (*_QWEN25, "code-fim"), "qwen2.5-coder"),
    IdPattern(r"qwen-?3(?![0-9])", _QWEN3, "qwen3 and its point releases (qwen3.5, qwen3.6)"),
    IdPattern(r"qwen-?2-5(?![0-9])", _QWEN25, "qwen2.5"),
    IdPattern(r"deepseek-?coder", (_S, "tool-use", _SO, "code-fim"), "deepseek-coder (v2)"),
    IdPattern(r"code-?llama", (_S, "code-fim"), "codellama: base model, no tool-use"),
    IdPattern(r"llama-?4(?![0-9])", (*_LLAMA31, *_THINKING[:1], "vision", "1m-context"),
              "llama-4: natively multimodal, 1m+ context"),
    IdPattern(r"llama-?3-?[1-3](?![0-9])", _LLAMA31, "llama-3.1, 3.2, 3.3"),
    IdPattern(r"(?<![a-z])phi-?4", _THINKER, "phi-4, phi-4-mini, phi-4-reasoning"),
    IdPattern(r"gpt-?oss", (_S, *_TOOLS, _SO, *_THINKING, "128k-context"),
              "gpt-oss-20b, gpt-oss-120b"),
    IdPattern(r"mi[sx]tral", (_S, *_TOOLS, _SO), "mistral, mixtral"),
)
_COMPILED = tuple((re.compile(row.pattern), row) for row in ID_PATTERNS)
_HASH = re.compile(r"[0-9a-f]{16,}")


def _segments(model_id: str) -> list[str]:
    """Meaningful path segments of an id, last first (org names and cache hashes dropped)."""
    text = model_id.strip().lower().replace("\\", "/")
    is_path = text.startswith(("/", "~", ".")) or bool(re.match(r"[a-z]:/", text))
    parts = [p for p in text.split("/") if p and p not in ("snapshots", "blobs")]
    parts = [p for p in parts if not _HASH.fullmatch(p)]
    out = []
    for part in reversed(parts):
        if part.startswith("models--"):
            part = part.rsplit("--", 1)[-1]  # Hugging Face cache folder models--org--name
        out.append(part.removesuffix(".gguf").removesuffix(".safetensors"))
        if not is_path or len(out) == 3:
            break  # a repo id: the org names nothing about the model
    return out


def normalize_id(model_id: str) -> str:
    """The id in the form the patterns see: ``"Meta-Llama-3.1-8B.gguf"`` → ``"meta-llama-3-1-8b"``.

    Lowercase, last path segment only, ``.gguf`` dropped, every run of characters other
    than a-z0-9 (``.``, ``_``, ``:``, spaces) turned into one ``-``.
    """
    segments = _segments(model_id)
    return _canonical(segments[0]) if segments else ""


def _canonical(segment: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", segment).strip("-")


def match_id(model_id: str) -> IdPattern | None:
    """The first `ID_PATTERNS` row matching the id, or None.

    For a file path whose file name says nothing (``/models/llama-3.1-8b/model.gguf``),
    the parent folders are tried next, nearest first.
    """
    for segment in _segments(model_id):
        name = _canonical(segment)
        for regex, row in _COMPILED:
            if regex.search(name):
                return row
    return None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        return None
    return int(value)


def runtime_facts(runtime: str, metadata: dict[str, Any] | None) -> tuple[set[str], set[str]]:
    """Return ``(present, absent)``: capabilities the metadata asserts, and denies.

    ``absent`` only holds capabilities the metadata is authoritative about (see module doc).
    Context-size capabilities are not included here; `project()` derives them.
    """
    meta = _dict(metadata)
    present: set[str] = set()
    absent: set[str] = set()

    show = _dict(meta.get("show"))
    ollama_caps = show.get("capabilities")
    if isinstance(ollama_caps, list):
        for name, caps in _OLLAMA_CAPS.items():
            if name in ollama_caps:
                present.update(caps)
            elif name in _OLLAMA_AUTHORITATIVE:
                absent.update(caps)

    v0 = _dict(meta.get("v0"))
    v1 = _dict(meta.get("v1"))
    for entry in (v0, v1):
        kind = entry.get("type")
        if kind in ("llm", "vlm"):
            present.add("streaming")
            absent.add("embeddings")
        if kind == "vlm":
            present.add("vision")
        elif kind == "llm" and entry is v0:
            absent.add("vision")
        elif kind in ("embeddings", "embedding"):
            present.add("embeddings")
        if "tool_use" in (entry.get("capabilities") or ()):  # v0 list form, some 0.3 builds
            present.update(_TOOLS)
    v1_caps = _dict(v1.get("capabilities"))
    if v1_caps.get("vision") is True:
        present.add("vision")
    elif v1_caps.get("vision") is False:
        absent.add("vision")
    if v1_caps.get("trained_for_tool_use") is True:
        present.update(_TOOLS)  # False only means "not trained for it": not a denial

    listed = _dict(meta.get("list"))
    if listed.get("owned_by") == "localrate-mlx":  # our MLX bridge lists its own capabilities
        bridge_caps = listed.get("capabilities")
        if isinstance(bridge_caps, list):
            present.update(c for c in bridge_caps if c in CAPABILITIES)

    modalities = _dict(_dict(meta.get("props")).get("modalities"))
    if modalities.get("vision") is True:
        present.add("vision")
    elif modalities.get("vision") is False:
        absent.add("vision")

    return present, absent - present


def context_length(runtime: str, metadata: dict[str, Any] | None) -> int | None:
    """The model's usable context length from runtime metadata, or None when unknown.

    When both are known, the *loaded* context (what the runtime will accept right now)
    wins over the trained maximum: LM Studio ``loaded_instances[].config.context_length``,
    llama.cpp ``/props`` ``default_generation_settings.n_ctx``, Ollama ``num_ctx`` in the
    Modelfile parameters. Trained maxima: Ollama ``model_info.<arch>.context_length``,
    LM Studio ``max_context_length``, vLLM ``max_model_len``, llama.cpp ``meta.n_ctx_train``.
    """
    meta = _dict(metadata)
    show, v0, v1 = _dict(meta.get("show")), _dict(meta.get("v0")), _dict(meta.get("v1"))
    listed, props = _dict(meta.get("list")), _dict(meta.get("props"))

    loaded: list[int | None] = []
    for inst in v1.get("loaded_instances") or ():
        loaded.append(_int(_dict(_dict(inst).get("config")).get("context_length")))
    loaded.append(_int(v0.get("loaded_context_length")))
    loaded.append(_int(_dict(props.get("default_generation_settings")).get("n_ctx")))
    loaded.append(_int(props.get("n_ctx")))
    params = show.get("parameters")
    if isinstance(params, str):
        found = re.search(r"^\s*num_ctx\s+(\d+)", params, re.MULTILINE)
        loaded.append(int(found.group(1)) if found else None)

    info = _dict(show.get("model_info"))
    arch = info.get("general.architecture")
    trained: list[int | None] = [
        _int(info.get(f"{arch}.context_length")) if isinstance(arch, str) else None,
        _int(v1.get("max_context_length")),
        _int(v0.get("max_context_length")),
        _int(listed.get("max_model_len")),
        _int(_dict(listed.get("meta")).get("n_ctx_train")),
    ]
    for value in (*loaded, *trained):
        if value is not None:
            return value
    return None


def project(
    model_id: str, runtime: str, metadata: dict[str, Any] | None = None
) -> list[dict[str, str]]:
    """Capabilities of one model as ``[{"name", "source"}]`` in `CAPABILITIES` order."""
    row = match_id(model_id)
    found: dict[str, str] = {name: "id" for name in (row.capabilities if row else ())}
    present, absent = runtime_facts(runtime, metadata)
    for name in present:
        found[name] = "runtime"
    for name in absent:
        found.pop(name, None)

    ctx = context_length(runtime, metadata)
    if ctx is not None:
        for name in _CONTEXT_CAPS:
            found.pop(name, None)
        if ctx >= CONTEXT_128K:
            found["128k-context"] = "runtime"
        if ctx >= CONTEXT_1M:
            found["1m-context"] = "runtime"

    if "embeddings" in found:
        found = {k: v for k, v in found.items() if k == "embeddings" or k in _CONTEXT_CAPS}
    elif "streaming" not in found:
        found["streaming"] = "default"
    return [{"name": name, "source": found[name]} for name in CAPABILITIES if name in found]


def _names(caps: Any) -> list[str]:
    """Accept ``["vision", ...]`` or ``[{"name": "vision", ...}, ...]``."""
    out: list[str] = []
    for cap in caps or ():
        name = cap.get("name") if isinstance(cap, dict) else cap
        if isinstance(name, str):
            out.append(name)
    return out


def model_kind(caps: Any) -> str:
    """``"embeddings"`` when the model is an embeddings model, else ``"chat"``."""
    return "embeddings" if "embeddings" in _names(caps) else "chat"


def skip_reason(case: Any, caps: Any) -> str | None:
    """Why `case` must be skipped on a model with `caps`, or None to run it.

    `case` is a Case (with ``.requires``) or a dict with ``"requires"``; `caps` is a list
    of names or of ``{"name", "source"}`` dicts. An embeddings model skips every case:
    the suite's cases are chat completions.
    """
    requires = case.get("requires") if isinstance(case, dict) else getattr(case, "requires", None)
    have = _names(caps)
    has_text = ", ".join(have) or "none"
    if model_kind(have) == "embeddings":
        return f"embeddings model: cannot answer chat cases; model has: {has_text}"
    missing = [name for name in (requires or ()) if name not in have]
    if not missing:
        return None
    return f"requires {', '.join(missing)}; model has: {has_text}"
