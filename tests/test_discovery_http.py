"""server/rating/discovery.py against fake runtimes: parallel probes, states, metadata, timing."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

from server.rating.discovery import discover

ENV_NAMES = {"ollama": "OLLAMA_BASE_URL", "lmstudio": "LM_STUDIO_BASE_URL",
             "vllm": "VLLM_BASE_URL", "llamacpp": "LLAMACPP_BASE_URL", "mlx": "MLX_BASE_URL"}


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def env_for(urls: dict[str, str]) -> dict[str, str]:
    """Point all five runtimes somewhere: the given URLs, else closed ports."""
    env = {name: f"http://127.0.0.1:{closed_port()}" for name in ENV_NAMES.values()}
    env.update({ENV_NAMES[rt]: url for rt, url in urls.items()})
    return env


def by_runtime(found: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {(rt["runtime"], rt["base_url"]): rt for rt in found["runtimes"]}


def test_some_up_one_closed_one_hanging(fake_runtime: Any) -> None:
    ollama = fake_runtime({"dialect": "ollama", "models": [
        {"id": "qwen3:4b", "meta": {"capabilities": ["completion", "tools", "thinking"]}}]})
    lmstudio = fake_runtime({"dialect": "lmstudio", "models": [{"id": "gemma-3-4b-it"}]})
    vllm = fake_runtime({"dialect": "vllm", "models": [{"id": "Qwen/Qwen2.5-7B-Instruct"}]})
    hanging = fake_runtime({"dialect": "mlx", "list_fault": "hang", "models": [{"id": "x"}]})
    closed = f"http://127.0.0.1:{closed_port()}"
    env = env_for({"ollama": ollama.base_url, "lmstudio": lmstudio.base_url,
                   "vllm": vllm.base_url, "llamacpp": closed, "mlx": hanging.base_url})
    timeout = 1.0
    start = time.perf_counter()
    found = asyncio.run(discover(env, timeout))
    elapsed = time.perf_counter() - start
    assert elapsed < timeout + 0.5, f"discovery took {elapsed:.2f} s"

    states = {rt["runtime"]: rt["state"] for rt in found["runtimes"]}
    assert states == {"ollama": "up", "lmstudio": "up", "vllm": "up", "llamacpp": "refused",
                      "mlx": "timeout"}
    for rt in found["runtimes"]:
        assert rt["base_url"].startswith("http://127.0.0.1:")
        assert rt["latency_ms"] >= 0
    llamacpp = next(rt for rt in found["runtimes"] if rt["runtime"] == "llamacpp")
    assert llamacpp["detail"].startswith("the port is closed"), llamacpp["detail"]
    mlx = next(rt for rt in found["runtimes"] if rt["runtime"] == "mlx")
    assert mlx["latency_ms"] >= timeout * 1000 * 0.9
    up_latency = [rt["latency_ms"] for rt in found["runtimes"] if rt["state"] == "up"]
    assert max(up_latency) < timeout * 1000, "a hanging port must not slow the others"

    cards = {c["id"]: c for c in found["models"]}
    assert set(cards) == {"qwen3:4b", "gemma-3-4b-it", "Qwen/Qwen2.5-7B-Instruct"}
    assert cards["qwen3:4b"]["runtime"] == "ollama"
    assert cards["qwen3:4b"]["base_url"] == ollama.base_url
    sources = {c["name"]: c["source"] for c in cards["qwen3:4b"]["capabilities"]}
    assert sources.get("tool-use") == "runtime", sources
    assert any(r["path"] == "/api/show" for r in ollama.log)


def test_metadata_request_shared_by_models_goes_out_once(fake_runtime: Any) -> None:
    lmstudio = fake_runtime({"dialect": "lmstudio",
                             "models": [{"id": "a-model"}, {"id": "b-model"}]})
    env = {**env_for({"lmstudio": lmstudio.base_url}), "LOCALRATE_DISCOVERY": "lmstudio"}
    found = asyncio.run(discover(env, 1.0))
    assert [c["id"] for c in found["models"]] == ["a-model", "b-model"]
    v0 = [r for r in lmstudio.log if r["path"] == "/api/v0/models"]
    assert len(v0) == 1


def test_discovery_filter_and_ollama_host(fake_runtime: Any) -> None:
    ollama = fake_runtime({"dialect": "ollama", "models": [{"id": "llama3.2:1b"}]})
    port = ollama.base_url.rsplit(":", 1)[1]
    env = {"OLLAMA_HOST": f"0.0.0.0:{port}", "LOCALRATE_DISCOVERY": "ollama"}
    found = asyncio.run(discover(env, 1.0))
    assert [(rt["runtime"], rt["state"], rt["base_url"]) for rt in found["runtimes"]] == [
        ("ollama", "up", f"http://127.0.0.1:{port}")]
    assert [c["id"] for c in found["models"]] == ["llama3.2:1b"]


def test_other_states(fake_runtime: Any) -> None:
    forbidden = fake_runtime({"dialect": "ollama", "list_fault": "empty403", "models": []})
    loading = fake_runtime({"dialect": "llamacpp", "list_fault": "loading", "models": []})
    broken = fake_runtime({"dialect": "vllm", "list_fault": "http500", "models": []})
    garbage = fake_runtime({"dialect": "lmstudio", "list_fault": "garbage", "models": []})
    env = env_for({"ollama": forbidden.base_url, "llamacpp": loading.base_url,
                   "vllm": broken.base_url, "lmstudio": garbage.base_url})
    env["LOCALRATE_DISCOVERY"] = "ollama,lmstudio,vllm,llamacpp"
    found = asyncio.run(discover(env, 1.0))
    states = {rt["runtime"]: rt["state"] for rt in found["runtimes"]}
    assert states == {"ollama": "unauthorized", "llamacpp": "loading", "vllm": "error",
                      "lmstudio": "error"}
    assert found["models"] == []


def test_proxy_variables_are_ignored(fake_runtime: Any, monkeypatch: Any) -> None:
    dead_proxy = f"http://127.0.0.1:{closed_port()}"
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, dead_proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    vllm = fake_runtime({"dialect": "vllm", "models": [{"id": "m"}]})
    env = {"VLLM_BASE_URL": vllm.base_url, "LOCALRATE_DISCOVERY": "vllm"}
    found = asyncio.run(discover(env, 1.0))
    assert found["runtimes"][0]["state"] == "up"
