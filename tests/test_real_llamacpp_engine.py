"""Engine facts from llama.cpp for real: the xllamacpp wheel serving the demo GGUF with
``--metrics``, read by server.rating.engine.engine_report (GET /props and GET /metrics).

Fails (never skips) when xllamacpp or the demo model is missing. LLAMACPP_BASE_URL chooses
the port, as in tests/test_real_llamacpp.py (whose server is stopped before this module's
starts: one model server at a time).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from server.rating.engine import engine_report
from tests.real.servers import MODEL_ID, REPO, base_url_from_env, demo_model, running

pytestmark = pytest.mark.real_runtime
CTX = 2048


@pytest.fixture(scope="module")
def llamacpp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import xllamacpp  # noqa: F401 - a missing wheel is a failure, not a skip

    gguf = demo_model().gguf
    base = base_url_from_env("LLAMACPP_BASE_URL")
    port = base.rsplit(":", 1)[1].rstrip("/")
    cmd = [sys.executable, str(REPO / "tests" / "real" / "llamacpp_server.py"), str(gguf),
           "--port", port, "--alias", MODEL_ID, "--ctx", str(CTX), "--metrics"]
    log = Path(tmp_path_factory.mktemp("llamacpp-engine")) / "server.log"
    with running(cmd, base, log) as url:
        yield url


def test_props_and_metrics_of_a_real_llama_server(llamacpp: str) -> None:
    answer = httpx.post(f"{llamacpp}/v1/chat/completions", timeout=120, json={
        "model": MODEL_ID, "max_tokens": 8,
        "messages": [{"role": "user", "content": "What is the capital of France?"}]})
    assert answer.status_code == 200, answer.text
    used = answer.json()["usage"]

    report = asyncio.run(engine_report("llamacpp", llamacpp, MODEL_ID, 10.0))
    assert report["version"] is not None
    assert report["version"]["source"] == "GET /props → build_info"
    assert isinstance(report["version"]["value"], str) and report["version"]["value"]
    assert report["context"]["loaded_tokens"] == {
        "value": CTX, "source": "GET /props → default_generation_settings.n_ctx"}
    assert report["details"]["slots"]["value"] == 1
    assert report["details"]["quantization"] == {"value": "Q4_1",
                                                 "source": "GET /props → model_ftype"}
    assert not any(line.startswith("GET /metrics: HTTP") for line in report["notes"])
    seen = report["context"]["largest_seen_tokens"]
    assert seen["source"] == "GET /metrics → llamacpp:n_tokens_max"
    assert seen["value"] >= used["prompt_tokens"] + used["completion_tokens"] - 1
    assert report["memory"] == {}
    assert "llama.cpp's server reports no memory figures over HTTP" in report["notes"]
