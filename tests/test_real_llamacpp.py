"""llama.cpp for real: the xllamacpp wheel serving the demo GGUF, found and rated by the CLI,
also on the suite engine's multi-turn case and context sweep (tests/data/engine-suite).

Fails (never skips) when xllamacpp or the demo model is missing. Set LLAMACPP_BASE_URL to
choose the port; LOCALRATE_RECORD=1 rewrites tests/data/transcripts/llamacpp_smoke.json.
"""

from __future__ import annotations

import itertools
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


def test_bench_engine_turns_and_a_sweep_over_the_context(llamacpp: str) -> None:
    """A three-turn case and a sweep of 256, 1,024 and 8,192 tokens on a 4,096-token server:
    every turn's request carries the answers before it, the largest size is skipped with the
    reason and never sent, the others are answered (their quality is the tiny model's)."""
    env = {"LLAMACPP_BASE_URL": llamacpp, "LOCALRATE_DISCOVERY": "llamacpp"}
    args = ["bench", "--suite", str(REPO / "tests" / "data" / "engine-suite"), "--model",
            MODEL_ID, "--runtime", "llamacpp", "--json", "--seed", "7", "--max-tokens", "48",
            "--timeout", "180", "--case", "recall-two-turns", "--case", "needle-sweep"]
    code, record, err = cli_json(args, env)
    assert code in (0, 1), err
    cases = {c["id"]: c for c in record["cases"]}
    assert list(cases) == ["recall-two-turns", "needle-sweep@256", "needle-sweep@1024",
                           "needle-sweep@8192"]
    assert record["settings"]["seed"] == 7

    recall = cases["recall-two-turns"]
    assert recall["status"] in ("pass", "fail"), recall["detail"]
    assert recall["exchange_end"] == "answered"
    assert [t["kind"] for t in recall["turns"]] == ["user", "user", "user"]
    sent = [t["request"]["messages"] for t in recall["transcripts"]]
    assert [t["status"] for t in recall["transcripts"]] == [200, 200, 200]
    assert [len(m) for m in sent] == [2, 4, 6]  # system + user, then answer + next user
    for turn, (before, after) in enumerate(itertools.pairwise(sent)):
        answer = recall["turns"][turn]["output"]
        assert after[:len(before)] == before
        assert after[len(before)] == {"role": "assistant", "content": answer}
        assert after[len(before) + 1] == {"role": "user",
                                          "content": recall["case"]["follow_ups"][turn]}
    assert "falcon" in sent[0][1]["content"]  # the word seed 7 draws

    big = cases["needle-sweep@8192"]
    assert (big["status"], big["transcript"]) == ("skip", None)
    assert big["detail"].endswith("for the answer; the model's context is 4,096"), big["detail"]
    for size in (256, 1024):
        case = cases[f"needle-sweep@{size}"]
        assert case["status"] in ("pass", "fail"), case["detail"]
        assert case["transcript"]["status"] == 200 and case["tokens_source"] != "estimate"
    assert cases["needle-sweep@256"]["tok_in"] < 400
    assert cases["needle-sweep@1024"]["tok_in"] > 900
