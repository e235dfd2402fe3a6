"""Suite engine v2 gives byte-identical replies in CPython and in the page's Pyodide (Python
3.14 under Node): the concrete cases of the engine suite for several seeds, every request of
the hand-checked conversations and of the exchange table, their scores, context skips, and
re-scoring a whole run record with templates and conversations (with and without its suite).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evaluator import page_api
from evaluator.expand import run_cases
from tests.pyodide_harness import call_ops
from tests.test_conversation import (
    FIXTURE,
    SCENARIOS,
    SETTINGS,
    case,
    engine_suite,
    exchange,
    scripted_record,
)

HERE = Path(__file__).parent
SEEDS = [0, 7, 123_456_789, 2**53 - 1]


def _exchanges() -> list[tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]]:
    """(case JSON, settings, transcripts) of every conversation the tests script."""
    concrete = {c.id: c for c in run_cases(engine_suite(), FIXTURE["seed"])}
    out = []
    for case_id, scripted in FIXTURE["cases"].items():
        _, transcripts, _ = exchange(concrete[case_id], scripted["answers"],
                                     FIXTURE["model_id"], FIXTURE["settings"])
        out.append((concrete[case_id].to_json(), FIXTURE["settings"], transcripts))
    for _, keys, answers, _, _ in SCENARIOS:
        _, transcripts, _ = exchange(case(**keys), answers)
        out.append((case(**keys).to_json(), SETTINGS, transcripts))
    return out


def requests() -> list[dict[str, Any]]:
    suite = engine_suite().to_json()
    out: list[dict[str, Any]] = [{"op": "load_suite_json", "args": {"suite": suite}}]
    out += [{"op": "run_cases", "args": {"suite": suite, "seed": seed}} for seed in SEEDS]
    for case_json, settings, transcripts in _exchanges():
        out += [{"op": "next_request", "args": {"case": case_json, "model_id": "m",
                                                "settings": settings,
                                                "transcripts": transcripts[:n]}}
                for n in range(len(transcripts) + 1)]
        out.append({"op": "score_turns", "args": {"case": case_json,
                                                  "transcripts": transcripts}})
    for concrete in run_cases(engine_suite(), 7):
        out += [{"op": "plan_case", "args": {"case": concrete.to_json(), "model_id": "m",
                                             "caps": ["streaming"], "settings": SETTINGS,
                                             "context_length": context}}
                for context in (None, 1024, 4096)]
    record = scripted_record()
    out.append({"op": "rescore_record", "args": {"record": record}})
    out.append({"op": "rescore_record", "args": {"record": record, "suite": suite}})
    out.append({"op": "run_settings", "args": {"seed": 2**53 - 1}})
    out.append({"op": "run_cases", "args": {"suite": suite, "seed": -1}})
    return out


@pytest.fixture(scope="module")
def pyodide(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return {"replies": call_ops(requests(), tmp_path_factory.mktemp("pyodide-conversation"))}


def test_pyodide_and_cpython_reply_byte_for_byte(pyodide: dict[str, Any]) -> None:
    sent = requests()
    ours = [page_api.call(json.dumps(r)) for r in sent]
    assert len(pyodide["replies"]) == len(ours)
    mismatched = [(r["op"], a[:300], b[:300]) for r, a, b
                  in zip(sent, pyodide["replies"], ours, strict=True) if a != b]
    assert not mismatched, mismatched[:2]


def test_the_table_holds_what_it_says(pyodide: dict[str, Any]) -> None:
    replies = [json.loads(r) for r in pyodide["replies"]]
    sent = requests()
    ops = [r["op"] for r in sent]
    assert replies[-1] == {"ok": False, "error": "seed: expected a whole number from 0 to "
                                                 "9007199254740991, got -1"}
    assert all(r["ok"] for r in replies[:-1])
    runs = [r["value"] for r, op in zip(replies, ops, strict=True)
            if op == "run_cases" and r["ok"]]
    assert len({json.dumps(run) for run in runs}) == len(SEEDS)  # the seeds draw differently
    bodies = [r["value"] for r, op in zip(replies, ops, strict=True) if op == "next_request"]
    assert sum("done" in b for b in bodies) == 2 + len(SCENARIOS)  # each exchange ended
    assert any(len(b["body"]["messages"]) == 6 for b in bodies if "body" in b)
    skips = [r["value"] for r, op in zip(replies, ops, strict=True)
             if op == "plan_case" and "skipped" in r["value"]]
    assert any("the model's context is 1,024" in s["skipped"]["detail"] for s in skips)
