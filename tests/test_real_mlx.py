"""The MLX bridge for real: mlx-lm serving the converted demo model on CPU (or Metal).

Fails when mlx, mlx-lm or the demo model is missing; skips only on platforms where mlx
cannot be installed at all. Set MLX_BASE_URL to choose the port; LOCALRATE_RECORD=1
rewrites tests/data/transcripts/mlx_smoke.json.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.real.servers import (
    CLI,
    MODEL_ID,
    base_url_from_env,
    bench_smoke,
    cli_json,
    demo_model,
    maybe_record,
    mlx_platform_reason,
    running,
)

_NO_MLX = mlx_platform_reason()
pytestmark = [
    pytest.mark.real_runtime,
    pytest.mark.skipif(_NO_MLX is not None, reason=_NO_MLX or ""),
]
PAGE_PORT = 8765


@pytest.fixture(scope="module")
def bridge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import mlx.core  # noqa: F401 - where mlx installs, missing it is a failure
    import mlx_lm  # noqa: F401

    model = demo_model()
    assert model.mlx_dir is not None, model.mlx_reason
    base = base_url_from_env("MLX_BASE_URL")
    port = base.rsplit(":", 1)[1].rstrip("/")
    cmd = [
        *CLI,
        "bridge",
        "--model",
        str(model.mlx_dir),
        "--model-id",
        MODEL_ID,
        "--port",
        port,
        "--page-port",
        str(PAGE_PORT),
    ]
    log = Path(tmp_path_factory.mktemp("mlx")) / "bridge.log"
    with running(cmd, base, log) as url:
        yield url


def test_discover_finds_the_bridge_as_mlx(bridge: str) -> None:
    env = {"MLX_BASE_URL": bridge, "LOCALRATE_DISCOVERY": "mlx"}
    code, found, err = cli_json(["discover", "--json", "--timeout", "10"], env)
    assert code == 0, err
    models = [m for m in found["models"] if m["id"] == MODEL_ID]
    assert len(models) == 1, found
    assert models[0]["runtime"] == "mlx"
    assert models[0]["raw"]["list"]["owned_by"] == "localrate-mlx"
    assert models[0]["raw"]["list"]["context_length"] == 8192


def test_streamed_answer_carries_usage(bridge: str) -> None:
    body = {
        "model": MODEL_ID,
        "stream": True,
        "stream_options": {"include_usage": True},
        "temperature": 0,
        "max_tokens": 24,
        "messages": [{"role": "user", "content": "What is the capital of France?"}],
    }
    with httpx.stream("POST", f"{bridge}/v1/chat/completions", json=body, timeout=180) as r:
        assert r.status_code == 200
        lines = [line[6:] for line in r.iter_lines() if line.startswith("data: ")]
    assert lines[-1] == "[DONE]"
    chunks = [json.loads(line) for line in lines[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert "Paris" in text
    usage = [c["usage"] for c in chunks if c.get("usage")]
    assert len(usage) == 1 and usage[0]["completion_tokens"] > 0
    assert usage[0]["total_tokens"] == usage[0]["prompt_tokens"] + usage[0]["completion_tokens"]


def test_cors_only_for_the_page_origin(bridge: str) -> None:
    foreign = httpx.get(f"{bridge}/v1/models", headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 200
    assert "access-control-allow-origin" not in foreign.headers
    page = f"http://127.0.0.1:{PAGE_PORT}"
    own = httpx.get(f"{bridge}/v1/models", headers={"Origin": page})
    assert own.headers["access-control-allow-origin"] == page


def test_foreign_host_is_refused(bridge: str) -> None:
    response = httpx.get(f"{bridge}/v1/models", headers={"Host": "evil.example"})
    assert response.status_code == 403
    assert "loopback" in response.json()["error"]["message"]


def test_bench_smoke_against_the_bridge(bridge: str) -> None:
    record = bench_smoke("mlx", bridge)
    for case in record["cases"]:
        assert case["status"] in ("pass", "fail"), case["detail"]
        assert case["output"].strip() and case["tokens_source"] == "usage"
    maybe_record("mlx_smoke.json", record)
