"""evaluator/capabilities.py: the id-pattern table, id shapes, metadata merges, skips."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from evaluator.capabilities import (
    CAPABILITIES,
    ID_PATTERNS,
    context_length,
    match_id,
    model_kind,
    normalize_id,
    project,
    skip_reason,
)

TOOLS = {"tool-use", "function-calling"}
THINK = {"reasoning", "extended-thinking"}
QWEN3 = {"streaming", "structured-output", "128k-context"} | TOOLS | THINK
QWEN25 = {"streaming", "structured-output", "128k-context"} | TOOLS
LLAMA31 = QWEN25
THINKER = {"streaming", "structured-output", "128k-context"} | THINK
GEMMA = {"streaming", "structured-output"}
SEEING = {"streaming", "vision"}


def names(caps: list[dict[str, str]]) -> set[str]:
    return {c["name"] for c in caps}


def sources(caps: list[dict[str, str]]) -> dict[str, str]:
    return {c["name"]: c["source"] for c in caps}


# One row per family of the seed table, plus the vision families.
TABLE = [
    ("qwen3:4b", QWEN3),
    ("qwen/qwen3.6-35b-a3b", QWEN3),
    ("qwen3-coder:30b", QWEN3 | {"code-fim"}),
    ("Qwen3-Coder-30B-A3B-Instruct", QWEN3 | {"code-fim"}),
    ("qwen2.5:7b", QWEN25),
    ("qwen2.5-coder:32b", QWEN25 | {"code-fim"}),
    ("llama3.1:8b", LLAMA31),
    ("llama3.2:3b", LLAMA31),
    ("llama3.3:70b", LLAMA31),
    ("llama4:scout", LLAMA31 | {"reasoning", "1m-context", "vision"}),
    ("meta-llama/Llama-4-Scout-17B-16E-Instruct", LLAMA31 | {"reasoning", "1m-context", "vision"}),
    ("deepseek-r1:32b", THINKER),
    ("DeepSeek-R1-Distill-Qwen-7B", THINKER),
    ("deepseek-r1-distill-llama-8b", THINKER),
    ("phi4:14b", THINKER),
    ("phi4-reasoning:14b", THINKER),
    ("gpt-oss:20b", QWEN3),
    ("openai/gpt-oss-120b", QWEN3),
    ("mistral:7b", {"streaming", "structured-output"} | TOOLS),
    ("mixtral:8x7b", {"streaming", "structured-output"} | TOOLS),
    ("codellama:7b", {"streaming", "code-fim"}),
    ("deepseek-coder-v2:16b", {"streaming", "tool-use", "structured-output", "code-fim"}),
    ("gemma3:1b", GEMMA),
    ("gemma3:270m", GEMMA),
    ("gemma3:4b", GEMMA | {"vision", "128k-context"}),
    ("google/gemma-3-27b-it", GEMMA | {"vision", "128k-context"}),
    ("gemma3n:e4b", GEMMA),
    ("gemma4:12b", GEMMA | {"128k-context"}),
    ("nomic-embed-text", {"embeddings"}),
    ("mxbai-embed-large:latest", {"embeddings"}),
    ("text-embedding-nomic-embed-text-v1.5", {"embeddings"}),
    ("qwen3-embedding:0.6b", {"embeddings"}),
    ("llava:7b", SEEING),
    ("bakllava", SEEING),
    ("llava-llama3:8b", SEEING),
    ("qwen2.5vl:7b", GEMMA | {"vision"}),
    ("Qwen2.5-VL-7B-Instruct", GEMMA | {"vision"}),
    ("qwen3-vl:8b", QWEN3 | {"vision"}),
    ("some-org/InternVL3-8B-vl", SEEING),
    ("minicpm-v:8b", SEEING),
    ("moondream:1.8b", SEEING),
    ("llama3.2-vision:11b", {"streaming", "structured-output", "vision", "128k-context"}),
    ("mistralai/Pixtral-12B-2409", GEMMA | {"vision"}),
]


@pytest.mark.parametrize(("model_id", "expected"), TABLE)
def test_id_table(model_id: str, expected: set[str]) -> None:
    caps = project(model_id, "ollama", None)
    assert names(caps) == expected
    assert set(sources(caps).values()) == {"id"}


def test_every_table_row_is_exercised() -> None:
    used = {match_id(model_id) for model_id, _ in TABLE}
    assert set(ID_PATTERNS) <= used


@pytest.mark.parametrize("model_id", ["llama-3.1", "llama3.1", "Llama-3.1", "llama3_1",
                                      "LLAMA 3.1 8B", "llama-3-1-70b"])
def test_separator_spellings(model_id: str) -> None:
    assert names(project(model_id, "lmstudio", None)) == LLAMA31


@pytest.mark.parametrize(("model_id", "normal", "expected"), [
    ("qwen/qwen3.6-35b-a3b", "qwen3-6-35b-a3b", QWEN3),
    ("qwen3:4b", "qwen3-4b", QWEN3),
    ("hf.co/bartowski/Llama-3.2-3B-Instruct-GGUF:Q4_K_M",
     "llama-3-2-3b-instruct-gguf-q4-k-m", LLAMA31),
    ("hf.co/org/Model-GGUF:Q4_K_M", "model-gguf-q4-k-m", {"streaming"}),
    ("mlx-community/Qwen3-4B-4bit", "qwen3-4b-4bit", QWEN3),
    ("/abs/path/qwen2.5-7b-instruct-q4_k_m.gguf", "qwen2-5-7b-instruct-q4-k-m", QWEN25),
    ("/models/Llama-3.1-8B/model.gguf", "model", LLAMA31),  # parent folder names it
    ("C:\\models\\gemma-3-4b-it.gguf", "gemma-3-4b-it", GEMMA | {"vision", "128k-context"}),
    ("lmstudio-community/Meta-Llama-3.1-8B-Instruct-GGUF",
     "meta-llama-3-1-8b-instruct-gguf", LLAMA31),
    ("/root/.cache/huggingface/hub/models--mlx-community--Qwen3-4B-4bit/snapshots/" + "0" * 40,
     "qwen3-4b-4bit", QWEN3),
    ("qwen/some-unknown-model", "some-unknown-model", {"streaming"}),  # org names nothing
])
def test_id_shapes(model_id: str, normal: str, expected: set[str]) -> None:
    assert normalize_id(model_id) == normal
    assert names(project(model_id, "mlx", None)) == expected


@pytest.mark.parametrize("model_id", ["", "SmolLM2-135M-Instruct", "llama3:8b", "foo/bar"])
def test_unknown_falls_back_to_streaming(model_id: str) -> None:
    assert project(model_id, "vllm", None) == [{"name": "streaming", "source": "default"}]


def test_order_follows_capabilities() -> None:
    order = [c["name"] for c in project("qwen3-coder:30b", "ollama", None)]
    assert order == [c for c in CAPABILITIES if c in order]
    assert CAPABILITIES[0] == "streaming" and CAPABILITIES[-1] == "1m-context"


def show(caps: list[str], ctx: int | None = None, params: str = "") -> dict[str, Any]:
    body: dict[str, Any] = {"capabilities": caps, "parameters": params,
                            "model_info": {"general.architecture": "qwen3"}}
    if ctx is not None:
        body["model_info"]["qwen3.context_length"] = ctx
    return {"show": body}


def test_ollama_show_is_authoritative() -> None:
    caps = project("qwen3:4b", "ollama", show(["completion", "tools"], 40960))
    got = sources(caps)
    # thinking absent -> reasoning removed; 40960 < 128k -> 128k-context removed
    assert got == {"streaming": "runtime", "tool-use": "runtime", "function-calling": "runtime",
                   "structured-output": "id"}


def test_ollama_show_adds_runtime_capabilities() -> None:
    meta = show(["completion", "tools", "thinking", "vision", "insert"], 262144)
    got = sources(project("mystery-model", "ollama", meta))
    assert got == {"streaming": "runtime", "tool-use": "runtime", "function-calling": "runtime",
                   "reasoning": "runtime", "extended-thinking": "runtime",
                   "vision": "runtime", "code-fim": "runtime", "128k-context": "runtime"}


def test_ollama_deepseek_r1_keeps_no_tools() -> None:
    got = sources(project("deepseek-r1:8b", "ollama", show(["completion", "thinking"], 131072)))
    assert "tool-use" not in got and got["reasoning"] == "runtime"
    assert got["128k-context"] == "runtime"


def test_ollama_embedding_model_is_embeddings_only() -> None:
    meta = show(["embedding"], 8192)
    caps = project("nomic-embed-text:latest", "ollama", meta)
    assert sources(caps) == {"embeddings": "runtime"}
    assert model_kind(caps) == "embeddings"


def test_ollama_num_ctx_is_loaded_context() -> None:
    meta = show(["completion"], 262144, params="stop <|im_end|>\nnum_ctx 8192")
    assert context_length("ollama", meta) == 8192


def test_lmstudio_v0_and_v1() -> None:
    v0 = {"id": "google/gemma-3-4b", "type": "vlm", "max_context_length": 131072}
    v1 = {"key": "google/gemma-3-4b", "type": "llm",
          "capabilities": {"vision": True, "trained_for_tool_use": True},
          "loaded_instances": [{"id": "x", "config": {"context_length": 4096}}],
          "max_context_length": 131072}
    got = sources(project("google/gemma-3-4b", "lmstudio", {"v0": v0, "v1": v1}))
    assert got["vision"] == "runtime" and got["tool-use"] == "runtime"
    assert "128k-context" not in got  # loaded at 4096: loaded context wins
    assert context_length("lmstudio", {"v0": v0, "v1": v1}) == 4096
    assert context_length("lmstudio", {"v0": v0}) == 131072


def test_lmstudio_llm_type_removes_vision_and_embeddings_type() -> None:
    got = sources(project("gemma-3-12b-it", "lmstudio", {"v0": {"type": "llm"}}))
    assert "vision" not in got and got["streaming"] == "runtime"
    emb = project("text-embedding-foo", "lmstudio", {"v0": {"type": "embeddings",
                                                            "max_context_length": 2048}})
    assert emb == [{"name": "embeddings", "source": "runtime"}]


def test_lmstudio_untrained_for_tools_is_not_a_denial() -> None:
    v1 = {"capabilities": {"vision": False, "trained_for_tool_use": False}}
    got = sources(project("qwen2.5-7b-instruct", "lmstudio", {"v1": v1}))
    assert got["tool-use"] == "id"


def test_vllm_max_model_len() -> None:
    meta = {"list": {"id": "Qwen/Qwen3-4B", "owned_by": "vllm", "max_model_len": 1048576}}
    got = sources(project("Qwen/Qwen3-4B", "vllm", meta))
    assert got["128k-context"] == "runtime" and got["1m-context"] == "runtime"
    assert got["reasoning"] == "id"
    assert context_length("vllm", meta) == 1048576


def test_localrate_mlx_bridge_lists_its_capabilities() -> None:
    entry = {"id": "Qwen3-4B", "owned_by": "localrate-mlx", "max_model_len": 40960,
             "capabilities": ["streaming", "tool-use", "not-a-capability"]}
    got = sources(project("Qwen3-4B", "mlx", {"list": entry}))
    assert got["streaming"] == "runtime" and got["tool-use"] == "runtime"
    assert "not-a-capability" not in got
    # the same list from another server is not trusted
    other = sources(project("SmolLM2", "mlx", {"list": {**entry, "owned_by": "system"}}))
    assert other == {"streaming": "default"}


def test_llamacpp_props_and_meta() -> None:
    meta = {"list": {"id": "SmolLM2.gguf", "owned_by": "llamacpp",
                     "meta": {"n_ctx_train": 8192}},
            "props": {"default_generation_settings": {"n_ctx": 2048},
                      "modalities": {"vision": True, "audio": False}}}
    got = sources(project("SmolLM2.gguf", "llamacpp", meta))
    assert got == {"streaming": "default", "vision": "runtime"}
    assert context_length("llamacpp", meta) == 2048
    assert context_length("llamacpp", {"list": meta["list"]}) == 8192
    no_vision = {"props": {"modalities": {"vision": False}}}
    assert "vision" not in names(project("llava:7b", "llamacpp", no_vision))


def test_context_thresholds() -> None:
    def ctx(n: int) -> set[str]:
        return names(project("x", "vllm", {"list": {"max_model_len": n}})) - {"streaming"}
    assert ctx(127_999) == set()
    assert ctx(128_000) == {"128k-context"}
    assert ctx(131_072) == {"128k-context"}
    assert ctx(1_000_000) == {"128k-context", "1m-context"}
    assert context_length("vllm", {}) is None and context_length("vllm", None) is None


@pytest.mark.parametrize(("requires", "caps", "reason"), [
    ([], ["streaming"], None),
    (["vision"], ["streaming", "tool-use"], "requires vision; model has: streaming, tool-use"),
    (["tool-use", "vision"], ["streaming"], "requires tool-use, vision; model has: streaming"),
    (["tool-use"], ["streaming", "tool-use"], None),
    (["vision"], [], "requires vision; model has: none"),
    ([], ["embeddings"], "embeddings model: cannot answer chat cases; model has: embeddings"),
])
def test_skip_reason(requires: list[str], caps: list[str], reason: str | None) -> None:
    assert skip_reason({"requires": requires}, caps) == reason
    assert skip_reason(SimpleNamespace(requires=requires), caps) == reason
    as_dicts = [{"name": c, "source": "id"} for c in caps]
    assert skip_reason(SimpleNamespace(requires=requires), as_dicts) == reason


def test_model_kind() -> None:
    assert model_kind(["streaming", "vision"]) == "chat"
    assert model_kind([{"name": "embeddings", "source": "id"}]) == "embeddings"
