"""evaluator.verify: a record re-scored from its transcripts matches, a tampered score or
summary does not, an edited case copy is caught when the published suite is at hand, and
the suite hash is looked up among the published ones. Also: the version every record
carries is the distribution's."""

from __future__ import annotations

import copy
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from evaluator import page_api
from evaluator.records import RecordError
from evaluator.request import model_entry
from evaluator.result import score_case
from evaluator.suite import Suite, load_suite
from evaluator.summary import run_record
from evaluator.verify import verify_record
from evaluator.version import LOCALRATE_VERSION

REPO = Path(__file__).resolve().parent.parent
WORDS = ("BENCH", "TWO", "THREE")


def event(content: str, finish: str | None = None) -> str:
    return json.dumps({"choices": [{"index": 0, "delta": {"content": content},
                                    "finish_reason": finish}]})


def transcript(text: str) -> dict[str, Any]:
    return {"url": "http://127.0.0.1:11434/v1/chat/completions", "request": {},
            "status": 200, "events": [[10.0, event(text)], [20.0, event("", "stop")],
                                      [21.0, "[DONE]"]], "ended_ms": 21.0, "error": None}


def mini_suite() -> Suite:
    return load_suite({"name": "mini", "version": "1.0.0", "passThreshold": 0.5, "cases": [
        {"id": w.lower(), "input": f"Say {w}.", "expect": {"kind": "contains", "value": w},
         "tags": ["echo"]} for w in WORDS]}, "mini/suite.yaml", {})


def mini_record(answers: tuple[str, ...] = ("BENCH", "nope", "THREE")) -> dict[str, Any]:
    suite = mini_suite()
    results = [{**score_case(case, transcript(text)), "case": case.to_json()}
               for case, text in zip(suite.cases, answers, strict=True)]
    return run_record(suite, model_entry("m", "ollama", "http://127.0.0.1:11434", []),
                      {"seed": 5, "temperature": 0}, "2026-11-30T12:00:00Z", results)


def published(suite: Suite) -> list[dict[str, str]]:
    return [{"id": suite.id, "version": suite.version, "sha256": suite.sha256}]


def test_version_is_the_distributions() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert LOCALRATE_VERSION == project["version"]
    assert mini_record()["localrate_version"] == LOCALRATE_VERSION


def test_an_untouched_record_matches() -> None:
    suite = mini_suite()
    got = verify_record(mini_record(), published(suite), suite)
    assert (got["matches"], got["published"], got["label"]) == (True, True,
                                                                "re-scored: matches")
    assert (got["seed"], got["localrate_version"], got["cases"]) == (5, LOCALRATE_VERSION, 3)
    assert got["scored_with"] == "published suite" and got["mismatches"] == []
    assert got["suite"] == {"id": "mini", "version": "1.0.0", "sha256": suite.sha256}


def test_a_tampered_score_and_summary_are_listed() -> None:
    record = mini_record()
    record["cases"][1].update(status="pass", score=1.0)
    record["summary"]["passed"] = 3
    got = verify_record(record, published(mini_suite()), mini_suite())
    assert got["matches"] is False and got["label"] == "re-scored: does not match"
    assert got["mismatches"][:3] == [
        {"where": "cases[1].status", "id": "two", "field": "status", "stored": "pass",
         "rescored": "fail"},
        {"where": "cases[1].score", "id": "two", "field": "score", "stored": 1.0,
         "rescored": 0.0},
        {"where": "summary.passed", "id": None, "field": "passed", "stored": 3,
         "rescored": 2}]


def test_an_edited_case_copy_is_caught_by_the_published_suite() -> None:
    record = mini_record()
    record["cases"][1]["case"]["expect"] = {"kind": "contains", "value": "nope"}
    record["cases"][1].update(status="pass", score=1.0)
    record["summary"].update(passed=3, failed=0, pass_ratio=1.0, verdict="pass")
    alone = verify_record(record, [])
    assert alone["matches"] is True and alone["scored_with"] == "record's case copies"
    assert alone["published"] is False
    caught = verify_record(record, published(mini_suite()), mini_suite())
    assert caught["matches"] is False
    assert [m["where"] for m in caught["mismatches"]] == [  # 2 of 3 pass: still "pass"
        "cases[1].status", "cases[1].score", "summary.passed", "summary.failed",
        "summary.pass_ratio"]


def test_unpublished_and_changed_suites() -> None:
    record = mini_record()
    other = verify_record(record, [{"id": "x", "version": "1", "sha256": "0" * 64}])
    assert other["published"] is False and "is not one this localrate ships" in \
        other["notes"][0]
    changed = verify_record(record, [{"id": "mini", "version": "1.0.0", "sha256": "0" * 64}])
    assert changed["published"] is False and changed["known_sha256"] == ["0" * 64]
    assert "its hash is not the published one" in changed["notes"][0]
    old = copy.deepcopy(record)
    del old["localrate_version"]
    assert "does not say which localrate version" in verify_record(old, [])["notes"][-1]


def test_a_record_without_transcript_or_copy_is_a_record_error() -> None:
    record = mini_record()
    del record["cases"][0]["case"]
    with pytest.raises(RecordError, match=r"cases\[0\]\.case: missing"):
        verify_record(record, [])
    with pytest.raises(RecordError, match="expected a run record"):
        verify_record([], [])


def test_the_page_op() -> None:
    suite = mini_suite()
    record = mini_record()
    args = {"record": record, "published": published(suite), "suite": suite.to_json()}
    reply = json.loads(page_api.call(json.dumps({"op": "verify_record", "args": args})))
    assert reply == {"ok": True, "value": verify_record(record, published(suite), suite)}
