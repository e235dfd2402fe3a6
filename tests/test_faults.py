"""Every fault mode ends its own case as `error` with a clear detail; the rest still runs."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from server.cli.main import main

SMOKE = json.loads((Path(__file__).parent / "fakes" / "scripts" / "smoke.json")
                   .read_text(encoding="utf-8"))
MODEL = SMOKE["model"]
FAULTY_CASE = "echo-hello"

# fault -> the start of the faulty case's detail
DETAILS = {
    "http500": "HTTP 500: ",
    "empty403": "HTTP 403 (empty body)",
    "non_json": "runtime sent non-JSON data: '<html>oops</html>'",
    "wrong_type": "runtime sent non-JSON data: '<!DOCTYPE html>",
    "cut": "stream ended without [DONE]",
    "hang": "timed out after 1 s",
    "drip": "timed out after 1 s",
    "reset": "connection reset by the runtime",
    "huge": "output exceeded 1000000 bytes",
    "redirect": "the runtime answered HTTP 307 (redirect to http://127.0.0.1:9/v1/chat/"
                "completions); localrate does not follow redirects — use the final address "
                "as the base URL",
    "deep_json": "runtime sent JSON nested deeper than 100 levels",
}


def with_fault(fault: str) -> dict[str, Any]:
    """The smoke script with `fault` on one answer."""
    data = copy.deepcopy(SMOKE)
    for answer in data["answers"]:
        if answer["case"] == FAULTY_CASE:
            answer["fault"] = fault
    return data


def bench(env: dict[str, str], *models: str) -> tuple[int, Any]:
    args = ["bench", "--suite", "smoke", "--json", "--timeout", "1"]
    for model in models:
        args += ["--model", model]
    result = CliRunner().invoke(main, args, env=env, catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout)


@pytest.mark.parametrize("fault", sorted(DETAILS))
def test_one_faulty_case(fake_runtime: Any, fault: str) -> None:
    fake = fake_runtime({"dialect": "llamacpp",
                         "models": [{"id": MODEL, "script": with_fault(fault)}]})
    code, record = bench({"LOCALRATE_DISCOVERY": "llamacpp",
                          "LLAMACPP_BASE_URL": fake.base_url}, MODEL)
    cases = {c["id"]: c for c in record["cases"]}
    assert cases[FAULTY_CASE]["status"] == "error"
    assert cases[FAULTY_CASE]["detail"].startswith(DETAILS[fault]), cases[FAULTY_CASE]["detail"]
    assert cases[FAULTY_CASE]["score"] == 0
    others = [c for c in record["cases"] if c["id"] != FAULTY_CASE]
    assert [c["status"] for c in others] == ["pass", "pass"]
    assert record["summary"]["errors"] == 1
    assert record["summary"]["passed"] == 2
    assert code == (0 if record["summary"]["verdict"] == "pass" else 1)
    transcript = cases[FAULTY_CASE]["transcript"]
    assert transcript["url"] == fake.base_url + "/v1/chat/completions"
    assert transcript["ended_ms"] is not None


def test_bad_utf8_is_scored_not_crashed(fake_runtime: Any) -> None:
    fake = fake_runtime({"dialect": "vllm",
                         "models": [{"id": MODEL, "script": with_fault("bad_utf8")}]})
    code, record = bench({"LOCALRATE_DISCOVERY": "vllm", "VLLM_BASE_URL": fake.base_url},
                         MODEL)
    case = next(c for c in record["cases"] if c["id"] == FAULTY_CASE)
    assert case["status"] in ("pass", "fail")
    assert "\ufffd" in case["output"]
    assert code == 0


def test_a_dead_model_does_not_stop_the_other(fake_runtime: Any) -> None:
    good = fake_runtime({"dialect": "ollama", "models": [{"id": MODEL, "script": SMOKE}]})
    broken = fake_runtime({"dialect": "vllm", "fault": "reset",
                           "models": [{"id": "broken-model", "script": SMOKE}]})
    env = {"LOCALRATE_DISCOVERY": "ollama,vllm", "OLLAMA_BASE_URL": good.base_url,
           "VLLM_BASE_URL": broken.base_url}
    code, data = bench(env, "broken-model", MODEL)
    assert code == 3  # every case of broken-model errored
    runs = {r["model"]["id"]: r for r in data["runs"]}
    assert {c["status"] for c in runs["broken-model"]["cases"]} == {"error"}
    assert all(c["detail"] == "connection reset by the runtime"
               for c in runs["broken-model"]["cases"])
    assert [c["status"] for c in runs[MODEL]["cases"]] == ["pass", "pass", "pass"]


def test_a_flood_of_tool_calls_keeps_64_and_says_so(fake_runtime: Any) -> None:
    from evaluator.records import read_records
    from tests.fakes.faults import TOOL_FLOOD

    fake = fake_runtime({"dialect": "vllm",
                         "models": [{"id": MODEL, "script": with_fault("tool_flood")}]})
    code, record = bench({"LOCALRATE_DISCOVERY": "vllm", "VLLM_BASE_URL": fake.base_url},
                         MODEL)
    case = next(c for c in record["cases"] if c["id"] == FAULTY_CASE)
    assert (len(case["tool_calls"]), case["tool_calls_dropped"]) == (64, TOOL_FLOOD - 64)
    assert case["detail"].endswith(f"({TOOL_FLOOD - 64} more tool calls were dropped: only "
                                   "the first 64 are kept)")
    assert code == 0
    assert read_records(json.dumps(record), "run.json")["runs"] == [record]
