"""Issue 15's page ops inside the vendored Pyodide (under Node), as the page calls them:
suite import (YAML by the page's own reader, a folder, a .zip with images), the editor,
Try it, export, history, quantisation A/B and address spaces; every reply byte for byte
CPython's."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from evaluator import page_api
from evaluator.suite_edit import new_draft
from tests.pyodide_harness import call_ops
from tests.test_history import _record

CLASSIC = Path(__file__).resolve().parent / "data" / "suites" / "classic-rating"


def _entries(prefix: str = "") -> list[dict[str, str]]:
    return [{"path": prefix + p.relative_to(CLASSIC).as_posix(),
             "data": base64.b64encode(p.read_bytes()).decode("ascii")}
            for p in sorted(CLASSIC.rglob("*")) if p.is_file() and p.suffix != ".py"]


def _zip() -> str:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for p in sorted(CLASSIC.rglob("*")):
            if p.is_file():
                archive.writestr(f"c/{p.relative_to(CLASSIC).as_posix()}", p.read_bytes())
    return base64.b64encode(out.getvalue()).decode("ascii")


DRAFT = new_draft()
RECORDS = [_record("qwen3:4b-q8_0", "2026-11-01", ["pass", "fail"], memory=5e9),
           _record("qwen3:4b-q8_0", "2026-11-02", ["pass", "pass"]),
           _record("qwen3:4b-q4_K_M", "2026-11-02", ["fail", "pass"], 40.0, memory=3e9)]
REQUESTS: list[dict[str, Any]] = [
    {"op": "suite_limits", "args": {}},
    {"op": "suite_import", "args": {"entries": _entries("classic/"), "name": ""}},
    {"op": "suite_import", "args": {"entries": [{"path": "s.zip", "data": _zip()}], "name": ""}},
    {"op": "suite_import", "args": {"entries": [{"path": "suite.yaml", "data": base64.b64encode(
        b"name: x\ncases:\n  - id: a\n    input: |\n      two\n      lines\n"
        b"    expect: [{kind: regex, value: '^t'}, {kind: no_tool_call}]\n").decode()}]}},
    {"op": "suite_import", "args": {"entries": [{"path": "suite.yaml", "data": base64.b64encode(
        b"name: x\ncases: &a [1]\n").decode()}]}},
    {"op": "suite_edit", "args": {"draft": DRAFT, "action": "add", "args": {}}},
    {"op": "suite_edit", "args": {"draft": DRAFT, "action": "set_case_text", "args": {
        "index": 0, "text": "id: t\ngenerate: {vars: {a: {int: {min: 2, max: 9}}}}\n"
                            "input: 'What is {{a}}?'\nexpect: {kind: exact, value: '{{a}}'}\n"}}},
    {"op": "suite_form", "args": {"draft": DRAFT, "index": 0}},
    {"op": "suite_try", "args": {"draft": DRAFT, "index": 0, "answer": "OK!"}},
    {"op": "suite_export_yaml", "args": {"draft": DRAFT}},
    {"op": "history", "args": {"records": RECORDS}},
    {"op": "quant_ab", "args": {"records": RECORDS}},
    {"op": "trend_chart", "args": {"points": [
        {"rate": 0.5, "low": 0.1, "high": 0.9, "tok_s": 10.0},
        {"rate": 0.75, "low": 0.4, "high": 0.95, "tok_s": 1234.5, "tok_s_q1": 1000.25,
         "tok_s_q3": 2000.0}], "width": 300, "height": 100}},  # speed bars and their text
    {"op": "address_space", "args": {"url": "http://192.168.1.2:11434"}},
]


@pytest.fixture(scope="module")
def replies(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    return call_ops(REQUESTS, tmp_path_factory.mktemp("pyodide-custom"))


def test_pyodide_and_cpython_agree_byte_for_byte(replies: list[str]) -> None:
    assert replies == [page_api.call(json.dumps(r)) for r in REQUESTS]


def test_the_replies_say_what_they_should(replies: list[str]) -> None:
    values = [json.loads(r) for r in replies]
    assert values[1]["value"]["check"]["ok"] and values[2]["value"]["check"]["ok"]
    assert len(values[2]["value"]["check"]["suite"]["cases"]) == 22
    assert values[3]["value"]["check"]["suite"]["cases"][0]["input"] == "two\nlines\n"
    assert values[4] == {"ok": False, "error": "suite.yaml:2: YAML anchor ('&') is not "
                         "supported in the page (write the value out, or load the suite "
                         "with the CLI)"}
    assert values[8]["value"]["status"] == "pass"
    assert values[13]["value"] == "local"
    ranged = values[12]["value"]["points"][1]  # the speed bar is placed inside Pyodide too
    assert ranged["s_low"] > ranged["s"] > ranged["s_high"]
    assert ranged["speed_text"] == "1,234.5 (q1–q3 1,000.2–2,000.0)"
