"""The site issue 15's page tests run against: two fake runtimes (the second, standing in
for another host on a second loopback port, wants an API key) and a `localrate serve`
whose build knows only the first (the second is added in the page as a custom endpoint)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, answers, free_port, private_cache, wait_for

from tests.procs import stop_process

KEY = "sk-test-0123456789-secret"
NEAR, FAR = "alpha:1b-q8_0", "alpha:1b-q4_K_M"  # one base model in two quantisations
QUESTION = "What is the capital of Italy? Reply with one word."
LOCALRATE = str(REPO / ".venv" / "bin" / "localrate")
ALLOWED = "192.0.2.10:11434"  # a documentation address: allowed, never reached


def _fake(folder: Path, name: str, config: dict[str, Any]) -> subprocess.Popen[bytes]:
    cfg = folder / f"{name}.json"
    cfg.write_text(json.dumps([config]), "utf-8")
    log = folder / f"{name}.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "tests.fakes.fake_runtime", "--config",
                                 str(cfg)], cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    wait_for(lambda: "ready " in log.read_text(), proc, log, 20)
    return proc


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Two fakes (the second wants KEY) and a `localrate serve` that knows only the first."""
    folder = tmp_path_factory.mktemp("own-suites")
    near_port, far_port, site_port = free_port(), free_port(), free_port()
    near = {"dialect": "ollama", "port": near_port, "models": [
        {"id": NEAR, "script": {"answers": [{"match": "capital of Italy", "content": "Rome."}]},
         "meta": {"capabilities": ["completion"]}}]}
    far = {"dialect": "vllm", "port": far_port, "api_key": KEY, "models": [
        {"id": FAR, "script": {"answers": [{"match": "capital of Italy", "content": "Milan"}]}}]}
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.append(_fake(folder, "near", near))
        procs.append(_fake(folder, "far", far))
        env = {k: v for k, v in os.environ.items()
               if not k.endswith("_BASE_URL") and k not in ("OLLAMA_HOST", "LOCALRATE_DISCOVERY")}
        closed = {name: f"http://127.0.0.1:{free_port()}" for name in
                  ("LM_STUDIO_BASE_URL", "VLLM_BASE_URL", "LLAMACPP_BASE_URL", "MLX_BASE_URL")}
        env |= closed | {"OLLAMA_BASE_URL": f"http://127.0.0.1:{near_port}", "NO_COLOR": "1",
                         "LOCALRATE_CACHE": str(private_cache(folder))}
        log = folder / "serve.log"
        with log.open("w") as out:
            server = subprocess.Popen([LOCALRATE, "serve", "--port", str(site_port),
                                       "--no-bridge", "--allow-host", ALLOWED], cwd=REPO, env=env, stdout=out,
                                      stderr=subprocess.STDOUT)
        procs.append(server)
        wait_for(lambda: answers(site_port), server, log, 300)
        yield {"server": f"http://127.0.0.1:{site_port}", "near": f"http://127.0.0.1:{near_port}",
               "far": f"http://127.0.0.1:{far_port}", "far_port": far_port, "env": env,
               "folder": folder}
    finally:
        for proc in reversed(procs):
            stop_process(proc)


