"""The site issue 15's page tests run against: two fake runtimes (the second, standing in
for another host on a second loopback port, wants an API key) and a `localrate serve`
whose build knows only the first (the second is added in the page as a custom endpoint)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, free_port, one_runtime_env, private_cache, start_fakes, start_site

from tests.procs import stop_process

KEY = "sk-test-0123456789-secret"
NEAR, FAR = "alpha:1b-q8_0", "alpha:1b-q4_K_M"  # one base model in two quantisations
QUESTION = "What is the capital of Italy? Reply with one word."
LOCALRATE = str(REPO / ".venv" / "bin" / "localrate")
ALLOWED = "192.0.2.10:11434"  # a documentation address: allowed, never reached


def _fake(folder: Path, name: str, config: dict[str, Any]) -> subprocess.Popen[bytes]:
    return start_fakes(folder, name, [config])


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Two fakes (the second wants KEY) and a `localrate serve` that knows only the first."""
    folder = tmp_path_factory.mktemp("own-suites")
    near_port, far_port = free_port(), free_port()
    near = {"dialect": "ollama", "port": near_port, "models": [
        {"id": NEAR, "script": {"answers": [{"match": "capital of Italy", "content": "Rome."}]},
         "meta": {"capabilities": ["completion"]}}]}
    far = {"dialect": "vllm", "port": far_port, "api_key": KEY, "models": [
        {"id": FAR, "script": {"answers": [{"match": "capital of Italy", "content": "Milan"}]}}]}
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.append(_fake(folder, "near", near))
        procs.append(_fake(folder, "far", far))
        env = one_runtime_env("OLLAMA_BASE_URL", f"http://127.0.0.1:{near_port}") | {
            "LOCALRATE_CACHE": str(private_cache(folder))}
        server, url = start_site(folder, env, "--allow-host", ALLOWED)
        procs.append(server)
        yield {"server": url, "near": f"http://127.0.0.1:{near_port}",
               "far": f"http://127.0.0.1:{far_port}", "far_port": far_port, "env": env,
               "folder": folder}
    finally:
        for proc in reversed(procs):
            stop_process(proc)


