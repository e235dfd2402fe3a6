"""The evaluator on transcripts recorded from real runtimes (tests/data/transcripts/).

`llamacpp_smoke.json` came from llama.cpp (xllamacpp) and `mlx_smoke.json` from the MLX
bridge, both serving SmolLM2-135M-Instruct on the smoke suite (`localrate bench --json`).
Re-record them with `LOCALRATE_RECORD=1 pytest -m real_runtime`. No server is needed here.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from evaluator.summary import rescore_record
from evaluator.transcript import assemble

DATA = Path(__file__).parent / "data" / "transcripts"
SCORING = (
    "status",
    "score",
    "ttft_ms",
    "total_ms",
    "tok_in",
    "tok_out",
    "tok_s",
    "tokens_source",
    "tool_calls",
    "output",
    "reasoning",
    "detail",
    "match",
)


def load(name: str) -> dict[str, Any]:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def usage_of(transcript: dict[str, Any]) -> dict[str, Any]:
    for _, data in transcript["events"]:
        if data != "[DONE]" and json.loads(data).get("usage"):
            return dict(json.loads(data)["usage"])
    raise AssertionError("no usage event in the transcript")


@pytest.mark.parametrize(
    ("name", "runtime"), [("llamacpp_smoke.json", "llamacpp"), ("mlx_smoke.json", "mlx")]
)
def test_recorded_run_rescores_identically(name: str, runtime: str) -> None:
    record = load(name)
    assert record["model"]["runtime"] == runtime
    again = rescore_record(record)
    for old, new in zip(record["cases"], again["cases"], strict=True):
        assert {k: new[k] for k in SCORING} == {k: old[k] for k in SCORING}, old["id"]
    # Recorded before the summary counted passes with a remark: every other key is equal.
    assert {k: again["summary"][k] for k in record["summary"]} == record["summary"]
    assert again["summary"]["passed_with_remark"] == 0


@pytest.mark.parametrize("name", ["llamacpp_smoke.json", "mlx_smoke.json"])
def test_assembled_counts_match_the_runtime_usage(name: str) -> None:
    for case in load(name)["cases"]:
        got = assemble(case["transcript"])
        usage = usage_of(case["transcript"])
        assert got.error is None, case["id"]
        assert got.finish_reason == "stop"
        assert (got.tok_in, got.tok_out) == (usage["prompt_tokens"], usage["completion_tokens"])
        assert got.tokens_source == "usage"
        assert got.content.strip() and got.ttft_ms is not None and got.ttft_ms <= got.total_ms


def test_llamacpp_transcript_holds_timings() -> None:
    for case in load("llamacpp_smoke.json")["cases"]:
        events = [json.loads(d) for _, d in case["transcript"]["events"] if d != "[DONE]"]
        timings = [e["timings"] for e in events if "timings" in e]
        assert timings and timings[-1]["predicted_per_second"] > 0


def test_mlx_transcript_is_the_bridge_dialect() -> None:
    for case in load("mlx_smoke.json")["cases"]:
        events = [json.loads(d) for _, d in case["transcript"]["events"] if d != "[DONE]"]
        assert events[0]["choices"][0]["delta"]["role"] == "assistant"
        assert {e["object"] for e in events} == {"chat.completion.chunk"}


@pytest.mark.parametrize("name", ["llamacpp_smoke.json", "mlx_smoke.json"])
def test_an_edited_answer_changes_the_verdict(name: str) -> None:
    record = copy.deepcopy(load(name))
    case = next(c for c in record["cases"] if c["id"] == "capital-of-france")
    assert case["status"] == "pass"
    case["transcript"]["events"] = [
        [t, d.replace("Paris", "Lyon")] for t, d in case["transcript"]["events"]
    ]
    again = rescore_record(record)
    edited = next(c for c in again["cases"] if c["id"] == "capital-of-france")
    assert edited["status"] == "fail" and "Paris" in edited["detail"]
