"""The MLX bridge's `GET /v1/engine`: versions, device and MLX memory (server/mlx_bridge/engine.py),
with the fake generator, with MLX versions that lack the memory counters, and with real MLX."""

from __future__ import annotations

import types
from importlib import metadata
from typing import Any

import pytest
from starlette.testclient import TestClient

from evaluator.engine_info import ENGINE_PATH, read_engine
from server.mlx_bridge.app import make_app
from server.mlx_bridge.engine import ENGINE_NAME, mlx_device, mlx_memory
from tests.bridge_fake import BASE, FakeGenerator, ask
from tests.real.servers import mlx_platform_reason


def installed(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


class MeasuredGenerator(FakeGenerator):
    """The fake generator, telling memory as MlxGenerator.memory() does."""

    def memory(self) -> tuple[dict[str, int] | None, str | None, list[str]]:
        return {"active_bytes": 1000, "peak_bytes": 2000, "cache_bytes": 0}, "gpu", []


def test_engine_endpoint_with_the_fake_generator() -> None:
    with TestClient(make_app(FakeGenerator(["a", "b"])), base_url=BASE) as client:
        client.post("/v1/chat/completions", json=ask())
        body = client.get(ENGINE_PATH).json()
        health = client.get("/health").json()
    assert body == {"engine": ENGINE_NAME, "model": "fake-model", "context_length": 8192,
                    "versions": {"mlx": installed("mlx"), "mlx-lm": installed("mlx-lm")},
                    "device": None, "memory": None, "generations": 1,
                    "notes": ["this generator reports no memory"]}
    assert health == {"status": "ok", "model": "fake-model", "generations": 1}


def test_engine_endpoint_reports_memory_and_the_evaluator_reads_it() -> None:
    with TestClient(make_app(MeasuredGenerator(["a"])), base_url=BASE) as client:
        answer = client.get(ENGINE_PATH)
    assert answer.json()["memory"] == {"active_bytes": 1000, "peak_bytes": 2000,
                                       "cache_bytes": 0}
    report = read_engine("mlx", "fake-model", [{"key": "engine", "status": answer.status_code,
                                                "body": answer.text, "error": None}])
    assert report["memory"]["peak_bytes"] == {"value": 2000,
                                              "source": "GET /v1/engine → memory.peak_bytes"}
    assert report["details"]["device"]["value"] == "gpu"
    if installed("mlx-lm"):
        assert report["version"]["value"] == f"mlx-lm {installed('mlx-lm')}"


def test_engine_endpoint_refuses_a_foreign_page_and_waits_for_the_model() -> None:
    with TestClient(make_app(FakeGenerator(["a"])), base_url=BASE) as client:
        foreign = client.get(ENGINE_PATH, headers={"origin": "https://evil.example"})
    assert foreign.status_code == 403

    def never() -> Any:
        raise RuntimeError("no model here")

    with TestClient(make_app(load=never), base_url=BASE) as client:
        assert client.get(ENGINE_PATH).status_code in (500, 503)


def _module(**functions: Any) -> types.SimpleNamespace:
    return types.SimpleNamespace(**functions)


@pytest.mark.parametrize(("mx", "memory", "notes"), [
    (_module(get_active_memory=lambda: 10, get_peak_memory=lambda: 20,
             get_cache_memory=lambda: 5),
     {"active_bytes": 10, "peak_bytes": 20, "cache_bytes": 5}, []),
    (_module(metal=_module(get_active_memory=lambda: 11, get_peak_memory=lambda: 21)),
     {"active_bytes": 11, "peak_bytes": 21}, ["this MLX has no get_cache_memory()"]),
    (_module(), None, ["this MLX has no get_active_memory()", ("this MLX has no "
                       "get_peak_memory()"), "this MLX has no get_cache_memory()"]),
    (_module(get_active_memory=lambda: 1 / 0, get_peak_memory=lambda: -1,
             get_cache_memory=lambda: "x"),
     None, ["get_active_memory() failed: ZeroDivisionError: division by zero"]),
])
def test_mlx_memory_across_mlx_versions(mx: Any, memory: Any, notes: list[str]) -> None:
    assert mlx_memory(mx) == (memory, notes)


def test_mlx_device_names() -> None:
    assert mlx_device(_module(default_device=lambda: types.SimpleNamespace(
        type="DeviceType.gpu"))) == "gpu"
    assert mlx_device(_module(default_device=lambda: "Device(cpu, 0)")) == "cpu"
    assert mlx_device(_module()) is None


@pytest.mark.real_runtime
@pytest.mark.skipif(mlx_platform_reason() is not None, reason=mlx_platform_reason() or "")
def test_real_mlx_counters_and_device() -> None:
    import mlx.core as mx

    memory, notes = mlx_memory(mx)
    assert notes == []
    assert memory is not None and set(memory) == {"active_bytes", "peak_bytes", "cache_bytes"}
    before = memory["peak_bytes"]
    kept = mx.ones((1024, 1024), dtype=mx.float32)  # 4 MiB that MLX must allocate
    mx.eval(kept)
    after, _ = mlx_memory(mx)
    assert after is not None and after["active_bytes"] >= 4 * 2**20
    assert after["peak_bytes"] >= max(before, after["active_bytes"])
    assert mlx_device(mx) in ("cpu", "gpu")
    del kept


@pytest.mark.real_runtime
@pytest.mark.skipif(mlx_platform_reason() is not None, reason=mlx_platform_reason() or "")
def test_real_bridge_engine_endpoint_after_a_generation() -> None:
    """The demo model served in-process by mlx-lm (no port): after one answer, MLX holds the
    model's weights, so active and peak memory are at least the float32 weights' size."""
    from server.mlx_bridge.gen import MlxGenerator
    from tests.real.servers import MODEL_ID, demo_model

    model = demo_model()
    assert model.mlx_dir is not None, model.mlx_reason
    gen = MlxGenerator(str(model.mlx_dir), MODEL_ID)
    with TestClient(make_app(gen), base_url=BASE) as client:
        chat = client.post("/v1/chat/completions", json={
            "model": MODEL_ID, "max_tokens": 4,
            "messages": [{"role": "user", "content": "Say hi."}]})
        assert chat.status_code == 200, chat.text
        answer = client.get(ENGINE_PATH)
    body = answer.json()
    assert body["versions"] == {"mlx": installed("mlx"), "mlx-lm": installed("mlx-lm")}
    assert body["device"] in ("cpu", "gpu") and body["notes"] == []
    weights = 134_515_008 * 4  # SmolLM2-135M's parameters in float32
    assert body["memory"]["active_bytes"] >= weights * 0.9
    assert body["memory"]["peak_bytes"] >= body["memory"]["active_bytes"]
    report = read_engine("mlx", MODEL_ID, [{"key": "engine", "status": 200,
                                            "body": answer.text, "error": None}])
    assert report["version"]["value"] == f"mlx-lm {installed('mlx-lm')}"
    assert report["memory"]["active_bytes"]["value"] == body["memory"]["active_bytes"]
