"""Repeats and warm-up end to end: `localrate bench --repeat N` against fakes whose answers
differ per attempt (the script's ``nth`` condition), the warm-up kept out of the results,
the run report it prints, and re-scoring a repeated record."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from evaluator.records import read_records
from evaluator.repeats import WARMUP_MAX_TOKENS, WARMUP_PROMPT, warmup_outcome, warmup_request
from evaluator.run_report import run_report
from evaluator.stats import pass_rates, speed_profile, stability
from server.cli.main import main
from tests.test_cli import env_for

MODEL = "flaky:1b"
SMOKE = "smoke"
CASES = ["capital-of-france", "echo-hello", "two-plus-two"]
# Attempt 1 of the France question says Lyon; echo-hello always fails; the sum always passes.
FLAKY = {"answers": [
    {"match": "capital of France", "nth": 1, "content": "It is Lyon."},
    {"match": "capital of France", "content": "The capital of France is Paris."},
    {"match": "Repeat this word once", "content": "bye"},
    {"match": "2 + 2", "content": "4"},
]}


def serve(fake_runtime: Any, answers: dict[str, Any], dialect: str = "ollama",
          model: str = MODEL) -> Any:
    return fake_runtime({"dialect": dialect, "models": [{"id": model, "script": answers}]})


def bench(env: dict[str, str], *args: str, model: str = MODEL) -> Result:
    return CliRunner().invoke(main, ["bench", "--suite", SMOKE, "--model", model, *args],
                              env=env, catch_exceptions=False)


def record_of(result: Result) -> dict[str, Any]:
    assert result.exit_code in (0, 1), result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_each_case_runs_repeat_times_case_major(fake_runtime: Any) -> None:
    fake = serve(fake_runtime, FLAKY)
    record = record_of(bench(env_for({"ollama": fake}), "--json", "--repeat", "3",
                             "--seed", "5"))
    cases = record["cases"]
    assert [c["id"] for c in cases] == [i for i in CASES for _ in range(3)]
    assert [c["attempt"] for c in cases] == [0, 1, 2] * 3
    assert [c["status"] for c in cases] == ["pass", "fail", "pass", "fail", "fail", "fail",
                                            "pass", "pass", "pass"]
    assert "Lyon" in cases[1]["output"]
    assert record["settings"] == {"temperature": 0, "max_tokens": 1024, "timeout_s": 120,
                                  "seed": 5, "repeat": 3}
    summary = record["summary"]  # attempts are the unit
    assert (summary["total"], summary["passed"], summary["failed"]) == (9, 5, 4)
    assert summary["pass_ratio"] == round(5 / 9, 4)
    assert len(fake.requests) == 9 and len(fake.warmups) == 1


def test_the_warmup_is_recorded_apart_and_sent_first(fake_runtime: Any) -> None:
    fake = serve(fake_runtime, FLAKY)
    record = record_of(bench(env_for({"ollama": fake}), "--json", "--seed", "5",
                             "--temperature", "0.5"))
    assert fake.warmups == [warmup_request(MODEL, record["settings"])["body"]]
    assert fake.warmups[0]["messages"] == [{"role": "user", "content": WARMUP_PROMPT}]
    assert fake.warmups[0]["max_tokens"] == WARMUP_MAX_TOKENS
    assert fake.warmups[0]["temperature"] == 0.5
    first_chat = next(e["body"] for e in fake.log if e["path"] == "/v1/chat/completions")
    assert first_chat == fake.warmups[0]  # before every case
    warmup = record["warmup"]
    assert set(warmup) == {"ttft_ms", "total_ms", "status", "detail"}
    assert warmup["status"] == "ok" and warmup["detail"] == ""
    assert warmup["ttft_ms"] is not None and warmup["ttft_ms"] <= warmup["total_ms"]
    assert len(record["cases"]) == 3  # the warm-up is no case
    assert "attempt" not in record["cases"][0]  # one attempt: results as before


def test_no_warmup_sends_none_and_records_it(fake_runtime: Any) -> None:
    fake = serve(fake_runtime, FLAKY)
    record = record_of(bench(env_for({"ollama": fake}), "--json", "--no-warmup"))
    assert fake.warmups == [] and "warmup" not in record
    assert record["settings"]["warmup"] is False
    assert len(fake.requests) == 3


def test_a_failed_warmup_is_an_error_outcome_not_a_case() -> None:
    transcript = {"url": "u", "request": {}, "status": None, "events": [], "ended_ms": 30.0,
                  "error": "could not connect to u: refused"}
    assert warmup_outcome(transcript) == {"ttft_ms": None, "total_ms": 30.0,
                                          "status": "error",
                                          "detail": "could not connect to u: refused"}


def test_the_run_report_has_stability_and_intervals(fake_runtime: Any) -> None:
    fake = serve(fake_runtime, FLAKY)
    record = record_of(bench(env_for({"ollama": fake}), "--json", "--repeat", "3"))
    report = run_report(record)
    overall = report["pass_rates"]["overall"]
    assert (overall["passed"], overall["attempts"], overall["cases"]) == (5, 9, 3)
    assert overall["rate"] == round(5 / 9, 4)
    assert report["pass_rates"] == pass_rates(record["cases"])
    assert report["pass_rates"]["tags"]["knowledge"]["passed"] == 2
    rows = {r["id"]: r for r in report["stability"]["cases"]}
    assert rows == {r["id"]: r for r in stability(record["cases"])}
    assert (rows["capital-of-france"]["passed"], rows["capital-of-france"]["attempts"],
            rows["capital-of-france"]["distinct_answers"]) == (2, 3, 2)
    assert rows["capital-of-france"]["answer_of"] == [0, 1, 0]
    assert rows["echo-hello"]["flaky"] is False and rows["echo-hello"]["distinct_answers"] == 1
    assert (report["stability"]["repeat"], report["stability"]["flaky"],
            report["stability"]["flaky_ids"]) == (3, 1, ["capital-of-france"])
    speed = report["speed"]
    assert {k: v for k, v in speed.items() if k != "cold_start"} == \
        speed_profile(record["cases"])
    assert speed["latency_ms"]["n"] == 9
    assert speed["cold_start"] == record["warmup"]
    assert report["settings"]["repeat"] == 3 and report["settings"]["thinking_applied"]


def test_the_table_prints_the_report_and_attempt_progress(fake_runtime: Any) -> None:
    fake = serve(fake_runtime, FLAKY)
    result = bench(env_for({"ollama": fake}), "--repeat", "3")
    assert result.exit_code == 1, result.output  # 56% is below the smoke suite's 60%
    out = result.stdout
    assert f"model={MODEL} · 3 cases × 3 attempts · seed " in out
    assert "  capital-of-france #2 (fail): expected output to contain \"Paris\"" in out
    assert "# pass rate 56% (95% CI " in out and "5/9 attempts, 3 cases" in out
    assert "#   arithmetic: 100% (95% CI " in out and "3/3 attempts, 1 case\n" in out
    assert "# stability: up to 3 attempts per case · 1 flaky (capital-of-france)" in out
    assert "# prefill " in out and "# decode " in out and "p95 " in out
    assert "# cold start (warm-up): TTFT " in out
    assert "# overall: 5/9 attempts pass (56%, 3 cases × 3)\n" in out  # attempts, not cases
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"[1/9] {MODEL} · capital-of-france #1 pass")
    assert lines[-1].startswith(f"[9/9] {MODEL} · two-plus-two #3 pass")
    assert "left" in lines[0] and "left" not in lines[-1]


def test_a_repeated_record_reads_and_rescores_identically(fake_runtime: Any,
                                                          tmp_path: Path) -> None:
    fake = serve(fake_runtime, FLAKY)
    out = tmp_path / "run.json"
    record = record_of(bench(env_for({"ollama": fake}), "--json", "--repeat", "2",
                             "--out", str(out)))
    read = read_records(out.read_text("utf-8"), "run.json")["runs"][0]
    assert [c["attempt"] for c in read["cases"]] == [0, 1] * 3
    result = CliRunner().invoke(main, ["rescore", str(out), "--json"],
                                catch_exceptions=False)
    again = json.loads(result.stdout)
    assert again["summary"] == record["summary"]
    for old, new in zip(record["cases"], again["cases"], strict=True):
        assert {k: new[k] for k in ("id", "attempt", "status", "score", "detail", "output")} \
            == {k: old[k] for k in ("id", "attempt", "status", "score", "detail", "output")}
    assert again["warmup"] == record["warmup"]


@pytest.mark.parametrize("attempt", [-1, 1.5, "0", True])
def test_a_bad_attempt_is_a_one_line_record_error(fake_runtime: Any, attempt: Any) -> None:
    fake = serve(fake_runtime, FLAKY)
    record = record_of(bench(env_for({"ollama": fake}), "--json", "--repeat", "2"))
    record["cases"][3]["attempt"] = attempt
    with pytest.raises(ValueError, match=r"^run\.json: cases\[3\]\.attempt: expected an "
                                         r"integer"):
        read_records(json.dumps(record), "run.json")


def test_a_bad_repeat_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["bench", "--suite", SMOKE, "--model", MODEL,
                                       "--repeat", "4"])
    assert result.exit_code == 2
    assert "'4' is not one of '1', '2', '3', '5'" in result.output


def test_llamacpp_prefill_speed_comes_from_its_timings(fake_runtime: Any) -> None:
    fake = serve(fake_runtime, FLAKY, "llamacpp")
    record = record_of(bench(env_for({"llamacpp": fake}), "--json", "--no-warmup"))
    assert [c["prompt_per_second"] for c in record["cases"]] == [1000.0] * 3
    prefill = run_report(record)["speed"]["prefill_tok_s"]
    assert (prefill["source"], prefill["sources"], prefill["median"]) == \
        ("timings", {"timings": 3}, 1000.0)


def test_other_runtimes_prefill_is_prompt_tokens_over_ttft(fake_runtime: Any) -> None:
    fake = serve(fake_runtime, FLAKY, "vllm")
    record = record_of(bench(env_for({"vllm": fake}), "--json", "--no-warmup"))
    assert not any("prompt_per_second" in c for c in record["cases"])
    prefill = run_report(record)["speed"]["prefill_tok_s"]
    expected = sorted(round(c["tok_in"] / (c["ttft_ms"] / 1000), 1) for c in record["cases"])
    assert prefill["source"] == "prompt/ttft" and prefill["median"] == expected[1]


def test_a_tag_with_nothing_scored_says_so() -> None:
    """A tag whose cases were all skipped has no rate and no interval to print."""
    from server.rating.run_print import rate_text

    assert rate_text({"rate": None, "low": 0.0, "high": 1.0, "passed": 0, "attempts": 0,
                      "cases": 0}) == "- · nothing scored (all skipped)"
    assert rate_text({"rate": 0.5, "low": 0.1, "high": 0.9, "passed": 1, "attempts": 2,
                      "cases": 1}) == "50% (95% CI 10%–90%) · 1/2 attempts, 1 case"
