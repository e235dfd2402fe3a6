"""The judging rules (evaluator.judge, evaluator.forgive) as one table,
tests/data/judge_table.json: `forgiveFormatting`, `acceptWithRemark`, and how they meet a list
of checks. Each row runs through `judge`, through `score_case` on a case loaded from the row,
and through the bridge inside the vendored Pyodide (under Node), which must agree with CPython.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evaluator import page_api
from evaluator.forgive import MAX_LAYERS, RULES, layers, unwrap
from evaluator.judge import judge
from evaluator.result import score_case
from evaluator.suite import Case, load_suite
from tests.pyodide_harness import call_ops
from tests.test_checks import assert_outcome_like

HERE = Path(__file__).parent
TABLE: list[dict[str, Any]] = json.loads(
    (HERE / "data" / "judge_table.json").read_text(encoding="utf-8"))


def case_of(row: dict[str, Any]) -> Case:
    """The row as a suite's case, loaded the way a suite.yaml is (the peer's key names)."""
    raw = {"id": row["id"], "input": "q", "expect": row["expect"]}
    raw.update({k: row[k] for k in ("acceptWithRemark", "forgiveFormatting") if k in row})
    return load_suite({"name": "t", "cases": [raw]}, "t.yaml", {}).cases[0]


def transcript_of(row: dict[str, Any]) -> dict[str, Any]:
    deltas: list[dict[str, Any]] = [{"content": row["answer"]}] if row["answer"] else []
    deltas += [{"tool_calls": [{"index": i, "id": c["id"], "type": "function", "function": {
        "name": c["name"], "arguments": c["arguments"]}}]} for i, c in enumerate(row["tool_calls"])]
    events = [[float(i), json.dumps({"choices": [{"delta": d}]})] for i, d in enumerate(deltas)]
    finish = "tool_calls" if row["tool_calls"] else "stop"
    events += [[50.0, json.dumps({"choices": [{"delta": {}, "finish_reason": finish}]})],
               [51.0, "[DONE]"]]
    return {"url": "u", "request": {}, "status": 200, "events": events, "ended_ms": 52.0,
            "error": None}


def test_the_table_covers_every_rule() -> None:
    remarks = " ".join(str(row["remark"]) for row in TABLE)
    assert all(rule in remarks for rule in RULES)
    assert {True, False} == {row["passed"] for row in TABLE if "acceptWithRemark" in row}
    assert {True, False} == {row["passed"] for row in TABLE if row.get("forgiveFormatting")}


@pytest.mark.parametrize("row", TABLE, ids=[row["id"] for row in TABLE])
def test_judge_table(row: dict[str, Any]) -> None:
    case = case_of(row)
    outcome = judge(case.expect, row["answer"], row["tool_calls"], case.accept_with_remark,
                    case.forgive_formatting)
    assert (outcome.passed, outcome.remark) == (row["passed"], row["remark"]), outcome.reason
    assert_outcome_like(outcome, row)


@pytest.mark.parametrize("row", TABLE, ids=[row["id"] for row in TABLE])
def test_score_case_records_the_remark(row: dict[str, Any]) -> None:
    result = score_case(case_of(row), transcript_of(row))
    assert result["status"] == ("pass" if row["passed"] else "fail"), result["detail"]
    assert result["remark"] == row["remark"]
    remark = row["remark"]
    if remark is not None and remark.startswith("formatting forgiven: "):
        assert all(rule in result["detail"] for rule in remark[21:].split(", "))
    elif remark is not None:
        assert json.dumps(remark, ensure_ascii=False) in result["detail"]


@pytest.mark.parametrize("text, want, found", [
    ("42", "42", (0, 2, ())),
    ("**42**", "42", (2, 4, ("markdown emphasis",))),
    ("***42***", "42", (3, 5, ("markdown emphasis",))),
    ("``42``", "42", (2, 4, ("code span",))),
    ("$$42$$", "42", (2, 4, ("$…$",))),
    ("\\(42\\)", "42", (2, 4, ("$…$",))),
    ("\\boxed{\\frac{1}{2}}", "\\frac{1}{2}", (7, 18, ("\\boxed{}",))),
    ("[ 42 ]", "42", (2, 4, ("brackets",))),
    ("<42>", "42", (1, 3, ("brackets",))),
    ("'42'", "42", (1, 3, ("quotes",))),
    ("「42」", "42", (1, 3, ("quotes",))),
    ("STRASSE", "straße", (0, 7, ("letter case",))),
    ("ＡＢＣ", "abc", (0, 3, ("Unicode compatibility form (NFKC)", "letter case"))),
    ("(a) (b)", "a) (b", None),
    ("$a$ + $b$", "a$ + $b", None),
    ("\\boxed{a}{b}", "a}{b", None),
    ("**", "", None),
    ("42!", "42", None),
])
def test_unwrap(text: str, want: str, found: tuple[int, int, tuple[str, ...]] | None) -> None:
    assert unwrap(text, want) == found


def test_unwrapping_is_bounded_on_a_huge_answer() -> None:
    text = "(" * 500_000 + "x" + ")" * 500_000
    assert len(layers(text)) == MAX_LAYERS + 1
    assert unwrap(text, "x") is None


# -- the same rows inside Pyodide --------------------------------------------------------------

def requests() -> list[dict[str, Any]]:
    return [{"op": "score_case", "args": {"case": case_of(row).to_json(),
                                          "transcript": transcript_of(row)}} for row in TABLE]


@pytest.fixture(scope="module")
def pyodide_replies(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    replies = call_ops(requests(), tmp_path_factory.mktemp("pyodide-judge"))
    return [json.loads(r) for r in replies]


def test_pyodide_judges_like_cpython(pyodide_replies: list[dict[str, Any]]) -> None:
    cpython = [json.loads(page_api.call(json.dumps(r))) for r in requests()]
    differ = [row["id"] for row, a, b in zip(TABLE, pyodide_replies, cpython, strict=True)
              if a != b]
    assert differ == []


def test_pyodide_gives_the_tables_outcomes(pyodide_replies: list[dict[str, Any]]) -> None:
    wrong = [(row["id"], reply) for row, reply in zip(TABLE, pyodide_replies, strict=True)
             if not reply["ok"] or reply["value"]["remark"] != row["remark"]
             or (reply["value"]["status"] == "pass") is not row["passed"]]
    assert wrong == []


def test_a_case_is_validated_when_made_not_again_when_scored(monkeypatch: Any) -> None:
    """Scoring trusts the Case (validated by load_suite/case_from_json): the metaschema
    check of a JSON Schema costs milliseconds, and a run scores every case and attempt."""
    from evaluator import expectations, result
    from evaluator.suite import case_from_json

    case = case_from_json({"id": "j", "input": "x", "expect": {
        "kind": "json_schema", "schema": {"type": "object", "required": ["a"]}}})
    transcript = transcript_of({"answer": '{"a": 1}', "tool_calls": []})

    def boom(*_: Any) -> None:
        raise AssertionError("expect validated again while scoring")

    monkeypatch.setattr(expectations, "schema_problem", boom)
    assert result.score_case(case, transcript)["status"] == "pass"
    from evaluator.judge import judge  # an expect from outside is still validated
    monkeypatch.setattr("evaluator.judge.expect_problem", lambda *_: "bad")
    assert judge({"kind": "exact", "value": "x"}, "x", []).reason == "invalid expect: bad"


def test_a_schema_is_checked_against_the_metaschema_once_per_text(monkeypatch: Any) -> None:
    """schema_problem remembers its answer by the schema's text: reading a case back (each
    score on the page, each case of an import) does not repeat the metaschema check, and a
    different text, even one differing only in a value, is checked on its own."""
    from evaluator import schemas

    calls: list[Any] = []
    real = schemas._schema_problem
    monkeypatch.setattr(schemas, "_schema_problem", lambda s: calls.append(s) or real(s))
    monkeypatch.setattr(schemas, "_CHECKED", {})
    good = {"type": "object", "required": ["b", "a"], "properties": {"a": {"type": "integer"}}}
    bad = {"type": "object", "minProperties": -1}
    for _ in range(3):
        assert schemas.schema_problem(good) is None
        assert schemas.schema_problem(json.loads(json.dumps(bad))) == \
            "$.minProperties: -1 is less than the minimum of 0"
    assert schemas.schema_problem({"type": "object", "required": ["b", "a"],
                                   "properties": {"a": {"type": "string"}}}) is None
    assert len(calls) == 3
    monkeypatch.setattr(schemas, "_CHECKED_MAX", 2)  # full: forgets, answers stay right
    assert schemas.schema_problem({"minLength": -2}).endswith("less than the minimum of 0")
    assert schemas.schema_problem(good) is None and len(calls) == 5


@pytest.mark.parametrize("value,problem", [
    ({"a": [1, {"b": float("nan")}]}, "$.a[1].b: nan is not a finite number"),
    ([{"x": {1: 2}}], "$[0].x: key 1 is not a string"),
    ({"k": [[], [b"raw"]]}, "$.k[1][0]: b'raw' is not JSON (bytes)"),
    (float("-inf"), "$: -inf is not a finite number"),
    ({"a": 1.5, "b": [True, None, "s", {"c": -0.0}]}, None)])
def test_json_problem_names_the_path_of_the_first_bad_value(value: Any, problem: Any) -> None:
    from evaluator.suite_files import json_problem

    assert json_problem(value) == problem
