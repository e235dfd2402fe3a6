"""llama.cpp for real: the xllamacpp wheel serving the demo GGUF, found and rated by the CLI.

Fails (never skips) when xllamacpp or the demo model is missing. Set LLAMACPP_BASE_URL to
choose the port; LOCALRATE_RECORD=1 rewrites tests/data/transcripts/llamacpp_smoke.json.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.real.servers import (
    MODEL_ID,
    REPO,
    base_url_from_env,
    bench_smoke,
    cli_json,
    demo_model,
    maybe_record,
    running,
)

pytestmark = pytest.mark.real_runtime


@pytest.fixture(scope="module")
def llamacpp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import xllamacpp  # noqa: F401 - a missing wheel is a failure, not a skip

    gguf = demo_model().gguf
    base = base_url_from_env("LLAMACPP_BASE_URL")
    port = base.rsplit(":", 1)[1].rstrip("/")
    cmd = [
        sys.executable,
        str(REPO / "tests" / "real" / "llamacpp_server.py"),
        str(gguf),
        "--port",
        port,
        "--alias",
        MODEL_ID,
    ]
    log = Path(tmp_path_factory.mktemp("llamacpp")) / "server.log"
    with running(cmd, base, log) as url:
        yield url


def test_discover_finds_llamacpp_with_metadata(llamacpp: str) -> None:
    env = {"LLAMACPP_BASE_URL": llamacpp, "LOCALRATE_DISCOVERY": "llamacpp"}
    code, found, err = cli_json(["discover", "--json", "--timeout", "10"], env)
    assert code == 0, err
    runtimes = [r for r in found["runtimes"] if r["runtime"] == "llamacpp"]
    assert runtimes and runtimes[0]["state"] == "up", found["runtimes"]
    models = [m for m in found["models"] if m["id"] == MODEL_ID]
    assert len(models) == 1, found["models"]
    assert models[0]["runtime"] == "llamacpp"
    assert models[0]["context_length"] == 4096  # /props n_ctx, as the launcher set it
    assert "streaming" in [c["name"] for c in models[0]["capabilities"]]


def test_bench_smoke_gets_real_text_usage_and_timings(llamacpp: str) -> None:
    record = bench_smoke("llamacpp", llamacpp)
    for case in record["cases"]:
        assert case["status"] in ("pass", "fail"), case["detail"]
        assert case["output"].strip(), case["id"]
        assert case["tok_out"] > 0 and case["tokens_source"] in ("usage", "timings")
        events = [json.loads(data) for _, data in case["transcript"]["events"] if data != "[DONE]"]
        assert any(e.get("usage", {}).get("completion_tokens") for e in events)
        assert any("predicted_per_second" in e.get("timings", {}) for e in events)
    maybe_record("llamacpp_smoke.json", record)
