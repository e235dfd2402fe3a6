"""server.rating.engine.engine_report over the wire, against the fake runtimes' faithful
engine answers (tests/fakes/engine.py), and against ports that hang, fail or are closed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from server.rating.engine import engine_report
from tests.fakes import FakeRuntime
from tests.real.servers import free_port


def report(config: dict[str, Any], model: str, timeout: float = 5.0) -> dict[str, Any]:
    with FakeRuntime(config) as fake:
        return asyncio.run(engine_report(config["dialect"], fake.base_url, model, timeout))


def value(section: dict[str, Any] | None, key: str) -> Any:
    assert section is not None and key in section, section
    return section[key]["value"]


def test_ollama_memory_and_version() -> None:
    got = report({"dialect": "ollama", "models": [
        {"id": "qwen3:4b", "meta": {"size": 4_000_000_000, "size_vram": 3_000_000_000,
                                    "num_ctx": 8192, "quantization_level": "Q4_K_M"}},
        {"id": "gemma3:1b", "meta": {"state": "not-loaded"}}]}, "qwen3:4b")
    assert got["version"] == {"value": "0.12.6", "source": "GET /api/version → version"}
    assert value(got["memory"], "total_bytes") == 4_000_000_000
    assert value(got["memory"], "gpu_bytes") == 3_000_000_000
    assert value(got["memory"], "gpu_fraction") == 0.75
    assert value(got["context"], "loaded_tokens") == 8192
    assert value(got["details"], "quantization") == "Q4_K_M"
    assert got["notes"] == [("qwen3:4b is partly off the GPU: 75% of its 4.0 GB in GPU memory, "
                            "the rest in system RAM")]
    idle = report({"dialect": "ollama", "models": [
        {"id": "gemma3:1b", "meta": {"state": "not-loaded"}}]}, "gemma3:1b")
    assert idle["memory"] == {}
    assert "gemma3:1b is not loaded in Ollama now (GET /api/ps lists: nothing)" in idle["notes"]


@pytest.mark.parametrize(("metrics", "kv", "note"), [
    ("off", None, "GET /metrics: HTTP 501 — /metrics is off; start llama-server with --metrics"),
    ("current", None, ("this llama.cpp build exports no KV-cache gauge on /metrics (newer builds "
                      "dropped llamacpp:kv_cache_usage_ratio)")),
    ("old", 0.125, None),
])
def test_llamacpp_props_and_metrics(metrics: str, kv: float | None, note: str | None) -> None:
    got = report({"dialect": "llamacpp", "models": [
        {"id": "SmolLM2", "meta": {"context_length": 4096, "metrics": metrics,
                                   "model_ftype": "Q4_1", "build_info": "b6710-abc"}}]},
        "SmolLM2")
    assert got["version"] == {"value": "b6710-abc", "source": "GET /props → build_info"}
    assert value(got["context"], "loaded_tokens") == 4096
    assert value(got["details"], "quantization") == "Q4_1"
    if kv is None:
        assert got["kv_cache"] is None
    else:
        assert value(got["kv_cache"], "usage") == kv
        assert value(got["kv_cache"], "tokens") == 512
    if note is not None:
        assert note in got["notes"]


@pytest.mark.parametrize(("metrics", "name"), [("current", "vllm:kv_cache_usage_perc"),
                                               ("old", "vllm:gpu_cache_usage_perc")])
def test_vllm_version_and_kv_cache(metrics: str, name: str) -> None:
    got = report({"dialect": "vllm", "models": [
        {"id": "Qwen/Qwen3-0.6B", "meta": {"metrics": metrics, "kv_usage": 0.25,
                                           "version": "0.10.1"}}]}, "Qwen/Qwen3-0.6B")
    assert got["version"] == {"value": "0.10.1", "source": "GET /version → version"}
    assert got["kv_cache"]["usage"] == {"value": 0.25, "source": f"GET /metrics → {name}"}
    assert value(got["kv_cache"], "capacity_tokens") == 27153 * 16
    assert value(got["memory"], "gpu_memory_utilization") == 0.9


def test_lmstudio_model_info_with_a_slash_in_the_id() -> None:
    got = report({"dialect": "lmstudio", "models": [
        {"id": "lmstudio-community/qwen3-4b", "meta": {"quantization_level": "Q8_0",
                                                       "context_length": 32768,
                                                       "loaded_context_length": 8192}}]},
        "lmstudio-community/qwen3-4b")
    assert value(got["details"], "quantization") == "Q8_0"
    assert value(got["details"], "state") == "loaded"
    assert got["context"]["loaded_tokens"] == {
        "value": 8192, "source": "GET /api/v0/models/lmstudio-community%2Fqwen3-4b → "
                                 "loaded_context_length"}
    assert value(got["context"], "max_tokens") == 32768


def test_mlx_lm_server_has_no_engine_endpoint() -> None:
    got = report({"dialect": "mlx", "models": [{"id": "m"}]}, "m")
    assert got["version"] is None and got["memory"] == {}
    assert got["notes"] == [("GET /v1/engine: HTTP 404 — not localrate's MLX bridge "
                            "(mlx_lm.server tells no version or memory)")]


@pytest.mark.parametrize(("fault", "notes"), [
    ("hang", ["GET /api/version: timed out", "GET /api/ps: timed out"]),
    ("http500", ["GET /api/version: HTTP 500", "GET /api/ps: HTTP 500"]),
    ("garbage", ["GET /api/version: answered, but not JSON", "GET /api/ps: answered, but not"]),
])
def test_faults_are_notes(fault: str, notes: list[str]) -> None:
    got = report({"dialect": "ollama", "list_fault": fault, "models": [{"id": "m"}]}, "m",
                 timeout=0.5)
    assert (got["version"], got["memory"]) == (None, {})
    for start in notes:
        assert any(line.startswith(start) for line in got["notes"]), got["notes"]


def test_a_closed_port_is_a_note() -> None:
    got = asyncio.run(engine_report("vllm", f"http://127.0.0.1:{free_port()}", "m", 1.0))
    assert got["notes"][:2] == ["GET /version: connection refused",
                                "GET /metrics: connection refused"]
