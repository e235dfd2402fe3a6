"""Case results, the summary, the run record, and re-scoring a saved record."""

from __future__ import annotations

import json
from typing import Any

import pytest

from evaluator.records import RECORD_FORMAT, RecordError, read_records
from evaluator.result import score_case, skipped_result
from evaluator.suite import Case, Suite, load_suite
from evaluator.summary import rescore_record, run_record, summarize
from evaluator.transcript import MAX_TOOL_CALLS

CONTAINS = Case(id="echo", input="Say BENCH.", expect={"kind": "contains", "value": "BENCH"},
                tags=("instruction-following",))
TOOL = Case(id="tool", input="Weather?", weight=2, requires=("tool-use",),
            expect={"kind": "tool_call", "name": "get_weather"})


def stream(*contents: str, reasoning: str = "", ended: float = 100.0) -> dict[str, Any]:
    events: list[list[Any]] = []
    if reasoning:
        events.append([5.0, json.dumps({"choices": [{"delta": {"reasoning": reasoning}}]})])
    for i, text in enumerate(contents):
        events.append([10.0 + 10 * i, json.dumps({"choices": [{"delta": {"content": text}}]})])
    events.append([90.0, json.dumps({"choices": [{"delta": {}, "finish_reason": "stop"}]})])
    events.append([91.0, "[DONE]"])
    return {"url": "u", "request": {}, "status": 200, "events": events, "ended_ms": ended,
            "error": None}


def test_score_case_pass_with_match_and_rounding() -> None:
    result = score_case(CONTAINS, stream("ok ", "BENCH", ".", ended=123.456))
    assert result["status"] == "pass" and result["score"] == 1.0
    assert result["output"] == "ok BENCH."
    assert result["match"] == [[3, 8]]
    assert (result["ttft_ms"], result["total_ms"], result["tok_out"]) == (10.0, 123.5, 3)
    assert result["tok_s"] == 100.0
    assert result["tokens_source"] == "estimate"
    assert result["detail"] == 'output contains "BENCH"'
    assert result["case"] == CONTAINS.to_json()
    assert result["tags"] == ["instruction-following"]
    for key in ("id", "status", "score", "weight", "ttft_ms", "total_ms", "tok_in", "tok_out",
                "tok_s", "tokens_source", "tool_calls", "output", "reasoning", "detail",
                "match", "finish_reason", "tags", "transcript"):
        assert key in result


def test_score_case_fail_and_error() -> None:
    failed = score_case(CONTAINS, stream("nope"))
    assert (failed["status"], failed["score"]) == ("fail", 0.0)
    assert failed["detail"] == 'expected output to contain "BENCH", got "nope"'
    broken = stream("BENCH")
    broken["error"] = "timed out after 120 s"
    errored = score_case(CONTAINS, broken)
    assert (errored["status"], errored["score"], errored["detail"]) == \
        ("error", 0.0, "timed out after 120 s")


def test_skipped_result() -> None:
    result = skipped_result(TOOL, "requires tool-use; model has: streaming")
    assert (result["status"], result["detail"], result["transcript"]) == \
        ("skip", "requires tool-use; model has: streaming", None)
    assert result["weight"] == 2


def row(status: str, score: float | None, weight: float = 1, tok_s: float | None = None,
        total_ms: float | None = None, **extra: Any) -> dict[str, Any]:
    return {"status": status, "score": score, "weight": weight, "tok_s": tok_s,
            "total_ms": total_ms, **extra}


@pytest.mark.parametrize("results, threshold, expected", [
    ([], 0.6, {"pass_ratio": None, "verdict": "n/a", "total": 0}),
    ([row("skip", None)], 0.6, {"pass_ratio": None, "verdict": "n/a", "skipped": 1}),
    ([row("pass", 1.0, 3), row("fail", 0.0, 1), row("skip", None, 5)], 0.75,
     {"pass_ratio": 0.75, "verdict": "pass", "passed": 1, "failed": 1, "skipped": 1}),
    ([row("pass", 1.0), row("error", 0.0)], 0.6,
     {"pass_ratio": 0.5, "verdict": "fail", "errors": 1, "total": 2}),
    ([row("pass", 1.0, tok_s=10.0), row("pass", 1.0, tok_s=None), row("pass", 1.0, tok_s=20.0)],
     0.6, {"avg_tok_s": 15.0}),
])
def test_summarize(results: list[dict[str, Any]], threshold: float,
                   expected: dict[str, Any]) -> None:
    summary = summarize(results, threshold)
    assert {key: summary[key] for key in expected} == expected
    assert summary["pass_threshold"] == threshold


def test_p95_is_nearest_rank_over_cases_that_ran() -> None:
    results = [row("pass", 1.0, total_ms=float(ms)) for ms in range(1, 21)]
    results.append(row("skip", None, total_ms=9999.0))
    assert summarize(results, 0.5)["p95_ms"] == 19.0
    assert summarize([row("fail", 0.0, total_ms=7.0)], 0.5)["p95_ms"] == 7.0


def test_reasoning_ratio() -> None:
    results = [row("pass", 1.0, reasoning="x", reasoning_tokens=30, tok_out=60),
               row("pass", 1.0, reasoning="y", reasoning_tokens=10, tok_out=40),
               row("pass", 1.0, reasoning="", reasoning_tokens=None, tok_out=40)]
    assert summarize(results, 0.5)["reasoning_ratio"] == 0.375
    assert summarize(results[2:], 0.5)["reasoning_ratio"] is None


def make_suite() -> Suite:
    data = {"name": "s", "version": "1", "passThreshold": 0.5, "cases": [
        CONTAINS.to_json() | {"system": None, "tools": None},
        {"id": "tool", "input": "Weather?", "weight": 2, "requires": ["tool-use"],
         "expect": {"kind": "tool_call", "name": "get_weather"}},
        {"id": "think", "input": "2+2?", "expect": {"kind": "exact", "value": "4"}}]}
    return load_suite(data, "s.yaml", {})


def make_record() -> dict[str, Any]:
    suite = make_suite()
    results = [score_case(suite.cases[0], stream("BENCH")),
               skipped_result(suite.cases[1], "requires tool-use; model has: streaming"),
               score_case(suite.cases[2], stream("<think>add</think>", "4", reasoning="r"))]
    model = {"id": "m", "runtime": "ollama", "base_url": "http://127.0.0.1:11434",
             "capabilities": ["streaming"]}
    return run_record(suite, model, {"temperature": 0, "max_tokens": 1024, "timeout_s": 120},
                      "2026-11-24T21:00:00Z", results)


def test_run_record_shape() -> None:
    record = make_record()
    suite = make_suite()
    assert record["format"] == RECORD_FORMAT
    assert record["suite"] == {"id": "s", "version": "1", "sha256": suite.sha256}
    assert [c["status"] for c in record["cases"]] == ["pass", "skip", "pass"]
    assert record["cases"][2]["reasoning"] == "r\n\nadd"
    summary = record["summary"]
    assert (summary["passed"], summary["skipped"], summary["pass_ratio"],
            summary["verdict"]) == (2, 1, 1.0, "pass")
    assert summary["reasoning_ratio"] is not None


def test_the_summary_never_reads_transcripts_or_case_copies() -> None:
    """The page sends summarize and run_record its results without ``transcript`` and
    ``case`` (web/js/evaluator.mjs scoringFields) and puts the full ones back into the
    record's ``cases``; both must give what the full results give."""
    record = make_record()
    full = record["cases"]
    assert all("transcript" in r and "case" in r for r in full if r["status"] != "skip")
    slim = [{k: v for k, v in r.items() if k not in ("transcript", "case")} for r in full]
    assert summarize(slim, 0.6) == summarize(full, 0.6)
    suite = make_suite()
    head = run_record(suite, record["model"], record["settings"], record["started_at"], slim)
    assert {**head, "cases": full} == record
    assert list({**head, "cases": full}) == list(record)  # same key order in the export
    assert run_record(suite, record["model"], record["settings"], record["started_at"],
                      full)["cases"] is full  # copied as they are


def canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@pytest.mark.parametrize("use_suite", [False, True])
def test_rescore_is_byte_identical_when_nothing_changed(use_suite: bool) -> None:
    record = json.loads(json.dumps(make_record()))
    again = rescore_record(record, make_suite() if use_suite else None)
    assert canonical(again) == canonical(record)


def test_rescore_uses_a_changed_suite() -> None:
    record = make_record()
    data = make_suite().to_json()
    data["cases"][0]["expect"] = {"kind": "contains", "value": "OTHER"}
    changed = load_suite({**data, "passThreshold": 0.9}, "s.yaml", {})
    again = rescore_record(record, changed)
    assert again["cases"][0]["status"] == "fail"
    assert again["summary"]["pass_ratio"] == 0.5
    assert again["summary"]["verdict"] == "fail"
    assert again["suite"]["sha256"] == changed.sha256


def test_rescore_rejects_other_formats() -> None:
    with pytest.raises(RecordError, match="^runs\\[2\\].format: expected 'localrate.run/1'"):
        rescore_record({"format": "aldo/1", "cases": []}, where="runs[2]")


def test_a_case_without_its_definition_is_a_record_error() -> None:
    record = make_record()
    del record["cases"][2]["case"]
    with pytest.raises(RecordError, match=r"^cases\[2\]\.case: missing: the record holds no "
                                          r"copy of case 'think'; re-score with --suite"):
        rescore_record(record)
    assert rescore_record(record, make_suite())["cases"][2]["status"] == "pass"


def tool_flood(count: int) -> dict[str, Any]:
    events: list[list[Any]] = [[float(i), json.dumps({"choices": [{"delta": {"tool_calls": [
        {"index": i, "id": f"c{i}", "function": {"name": "get_weather", "arguments": "{}"}}]}}]})]
        for i in range(count)]
    events.append([float(count), "[DONE]"])
    return {"url": "u", "request": {}, "status": 200, "events": events,
            "ended_ms": float(count), "error": None}


def test_dropped_tool_calls_are_noted_in_the_case_result() -> None:
    result = score_case(TOOL, tool_flood(1000))
    assert (result["status"], len(result["tool_calls"]), result["tool_calls_dropped"]) == \
        ("pass", MAX_TOOL_CALLS, 1000 - MAX_TOOL_CALLS)
    assert result["detail"].endswith(
        f" (936 more tool calls were dropped: only the first {MAX_TOOL_CALLS} are kept)")
    broken = {**tool_flood(1000), "error": "timed out after 1 s"}
    assert score_case(TOOL, broken)["detail"] == \
        "timed out after 1 s (936 more tool calls were dropped: only the first 64 are kept)"
    few = score_case(TOOL, tool_flood(3))
    assert few["tool_calls_dropped"] == 0 and "dropped" not in few["detail"]


# -- judging rules: the remark in results, the summary and records ---------------------------

JUDGED = Case(id="answer", input="6*7?", expect=[{"kind": "exact", "value": "42"},
                                                 {"kind": "no_tool_call"}],
              accept_with_remark=({"kind": "contains", "value": "forty-two",
                                   "remark": "spelled out"},),
              forgive_formatting=True)


@pytest.mark.parametrize("answer, status, remark", [
    ("42", "pass", None),
    ("**42**", "pass", "formatting forgiven: markdown emphasis"),
    ("forty-two", "pass", "spelled out"),
    ("43", "fail", None),
])
def test_score_case_carries_the_remark(answer: str, status: str, remark: str | None) -> None:
    result = score_case(JUDGED, stream(answer))
    assert (result["status"], result["score"], result["remark"]) == \
        (status, 1.0 if status == "pass" else 0.0, remark)
    assert result["expected"].splitlines() == [
        'is exactly "42" and calls no tool',
        'also accepted, with the remark "spelled out": contains "forty-two"',
        ("exact checks forgive cosmetic formatting (\\boxed{}, $…$, emphasis, code spans, "
        "brackets, quotes, Unicode forms, letter case), with a remark")]
    assert result["case"]["accept_with_remark"] == [dict(JUDGED.accept_with_remark[0])]


def test_errors_and_skips_have_no_remark() -> None:
    broken = {**stream("forty-two"), "error": "timed out after 1 s"}
    assert score_case(JUDGED, broken)["remark"] is None
    assert skipped_result(JUDGED, "requires x")["remark"] is None


def test_summary_counts_passes_with_a_remark_apart() -> None:
    results = [row("pass", 1.0), row("pass", 1.0, remark="spelled out"),
               row("pass", 1.0, remark=None), row("fail", 0.0, remark="ignored on a fail"),
               row("pass", 1.0, 2, remark="formatting forgiven: letter case")]
    summary = summarize(results, 0.6)
    assert (summary["passed"], summary["passed_with_remark"], summary["failed"]) == (4, 2, 1)
    assert summary["pass_ratio"] == round(5 / 6, 4)  # remarks never change the ratio
    assert summarize([row("pass", 1.0)], 0.6)["passed_with_remark"] == 0


def judged_record() -> dict[str, Any]:
    suite = load_suite({"name": "j", "cases": [JUDGED.to_json()]}, "j.yaml", {})
    model = {"id": "m", "runtime": "ollama", "base_url": "http://127.0.0.1:11434",
             "capabilities": ["streaming"]}
    results = [score_case(suite.cases[0], stream("forty-two"))]
    return run_record(suite, model, {"temperature": 0}, "2026-01-01T00:00:00Z", results)


def test_records_with_remarks_read_and_rescore_identically() -> None:
    record = judged_record()
    assert record["summary"]["passed_with_remark"] == 1
    text = json.dumps(record)
    (read,) = read_records(text, "run.json")["runs"]
    assert canonical(rescore_record(read)) == canonical(record)


@pytest.mark.parametrize("where, value, message", [
    (("cases", 0, "remark"), 5, "run.json: cases[0].remark: expected a string or null, got 5"),
    (("summary", "passed_with_remark"), "1",
     "run.json: summary.passed_with_remark: expected an integer or null, got '1'"),
    (("cases", 0, "case", "forgive_formatting"), "yes",
     "run.json: cases[0].case.forgive_formatting: must be true or false, got 'yes'"),
])
def test_records_refuse_bad_remark_fields(where: tuple[Any, ...], value: Any,
                                          message: str) -> None:
    record = judged_record()
    target: Any = record
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value
    with pytest.raises(RecordError) as info:
        read_records(json.dumps(record), "run.json")
    assert str(info.value) == message


# --- suite engine v2: re-scoring expanded cases and conversations ------------------------

def test_a_v2_run_rescores_identically_with_or_without_its_suite() -> None:
    from tests.test_conversation import engine_suite, scripted_record

    record = json.loads(json.dumps(scripted_record()))
    assert rescore_record(record) == record
    assert rescore_record(record, engine_suite()) == record
    unseeded = {**record, "settings": {k: v for k, v in record["settings"].items()
                                       if k != "seed"}}
    assert rescore_record(unseeded)["cases"] == record["cases"]  # the copies suffice
    with pytest.raises(RecordError, match=r"^cases\[1\]\.id: case 'multiply' of the suite is "
                                          r"drawn from a seed, and the record has none"):
        rescore_record(unseeded, engine_suite())


def test_rescore_with_an_edited_suite_expands_its_templates_again() -> None:
    from tests.test_conversation import engine_suite, scripted_record

    record = json.loads(json.dumps(scripted_record()))
    data = engine_suite().to_json()
    for case in data["cases"]:
        if case["id"] in ("multiply", "needle-sweep"):
            case["expect"] = {"kind": "regex", "value": "^ok$"}
    data.pop("sha256")
    edited = load_suite({**data, "name": data["id"]}, "edited", {})
    again = rescore_record(record, edited)
    status = {c["id"]: c["status"] for c in again["cases"]}
    assert status["multiply"] == "pass" and status["needle-sweep@256"] == "pass"
    assert status["needle-sweep@8192"] == "skip"
    assert next(c for c in again["cases"] if c["id"] == "multiply")["case"]["drawn"] == \
        next(c for c in record["cases"] if c["id"] == "multiply")["case"]["drawn"]


def test_an_edited_final_turn_changes_the_verdict() -> None:
    from tests.test_conversation import scripted_record

    record = json.loads(json.dumps(scripted_record()))
    recall = next(c for c in record["cases"] if c["id"] == "recall-two-turns")
    recall["transcripts"][2]["events"] = [[t, d.replace('"Fal"', '"Ea"').replace('"con"', '"gle"')]
                                          for t, d in recall["transcripts"][2]["events"]]
    again = next(c for c in rescore_record(record)["cases"] if c["id"] == "recall-two-turns")
    assert again["status"] == "fail" and again["turns"][2]["output"] == "Eagle"
    missing = json.loads(json.dumps(scripted_record()))
    del next(c for c in missing["cases"] if c["id"] == "recall-two-turns")["transcripts"]
    with pytest.raises(RecordError, match=r"^cases\[3\]\.transcripts: missing: case "
                                          r"'recall-two-turns' takes one transcript per "
                                          r"request$"):
        rescore_record(missing)
