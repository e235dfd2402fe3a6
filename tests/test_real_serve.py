"""`localrate serve` for real: the page and, beside it, the MLX bridge with the demo model.

This is what the README's run command starts on a fresh machine. Fails when mlx, mlx-lm or
the demo model is missing; skips only on platforms where mlx cannot be installed at all.
Issue 11 (finding 3): importing mlx-lm no longer caps the open files at 2,048, and idle
connections to either server are closed.
"""

from __future__ import annotations

import re
import resource
import socket
import time
from pathlib import Path

import httpx
import pytest

from tests.real.servers import CLI, MODEL_ID, demo_model, free_port, mlx_platform_reason, running

_NO_MLX = mlx_platform_reason()
pytestmark = [
    pytest.mark.real_runtime,
    pytest.mark.skipif(_NO_MLX is not None, reason=_NO_MLX or ""),
]


def test_serve_starts_the_page_and_the_bridge_with_the_demo_model(tmp_path: Path) -> None:
    model = demo_model()
    assert model.mlx_dir is not None, model.mlx_reason
    page_port, bridge_port = free_port(), free_port()
    bridge = f"http://127.0.0.1:{bridge_port}"
    cmd = [*CLI, "serve", "--port", str(page_port), "--bridge-port", str(bridge_port)]
    with running(cmd, bridge, tmp_path / "serve.log") as url:
        page = httpx.get(f"http://127.0.0.1:{page_port}/local-models", timeout=10)
        assert page.status_code == 200
        assert 'id="localrate-data"' in page.text

        origin = f"http://127.0.0.1:{page_port}"
        models = httpx.get(f"{url}/v1/models", headers={"Origin": origin}, timeout=10)
        assert [m["id"] for m in models.json()["data"]] == [MODEL_ID]
        assert models.headers["access-control-allow-origin"] == origin
        foreign = httpx.get(f"{url}/v1/models", headers={"Origin": "https://evil.example"})
        assert foreign.status_code == 403
        assert "access-control-allow-origin" not in foreign.headers

        body = {"model": MODEL_ID, "max_tokens": 16, "temperature": 0,
                "messages": [{"role": "system", "content": "You are a helpful assistant."},
                             {"role": "user", "content": "What is the capital of France?"}]}
        answer = httpx.post(f"{url}/v1/chat/completions", json=body, timeout=180)
        assert answer.status_code == 200
        assert "Paris" in answer.json()["choices"][0]["message"]["content"]
        idle = [socket.create_connection(("127.0.0.1", p)) for p in (page_port, bridge_port)]
        started = time.monotonic()
        for sock in idle:  # no request within 10 s: closed by the server
            sock.settimeout(30)
            assert sock.recv(1) == b""
            sock.close()
        assert time.monotonic() - started < 20
    log = (tmp_path / "serve.log").read_text()
    assert f"MLX bridge: {MODEL_ID} on http://127.0.0.1:{bridge_port}/v1" in log
    assert f"serving http://127.0.0.1:{page_port}/local-models" in log
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]  # serve inherits it
    found = re.search(r"open-file limit (\d+) ", log)
    assert found, log
    # was: 2048, set by importing mlx-lm; now raised to the hard limit and kept
    if hard == resource.RLIM_INFINITY:
        assert int(found.group(1)) >= 10_240
    else:
        assert int(found.group(1)) == hard
