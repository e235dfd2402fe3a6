"""The words for a run's counts (evaluator.run_report.counts_text): "cases" with one attempt
per case, as before; "attempts" and the run's shape when it repeats its cases. The CLI's
``# overall`` line and the page's count line (run_report's ``counts``) both use them."""

from __future__ import annotations

from typing import Any

import pytest

from evaluator.run_report import counts_text, run_report
from evaluator.stats import StatsError
from evaluator.summary import SuiteRef, run_record
from server.rating.report import summary_lines

SUITE = SuiteRef("s", "1", "0" * 64, 0.6)
MODEL = {"id": "m", "runtime": "ollama", "base_url": "http://h:1", "capabilities": []}


def result(case_id: str, status: str, attempt: int | None = None,
           remark: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": case_id, "status": status, "weight": 1,
                           "score": 1.0 if status == "pass" else 0.0}
    if attempt is not None:
        out["attempt"] = attempt
    if remark is not None:
        out["remark"] = remark
    return out


def repeated(statuses: dict[str, list[str]]) -> list[dict[str, Any]]:
    return [result(case_id, status, i) for case_id, row in statuses.items()
            for i, status in enumerate(row)]


def test_one_attempt_per_case_says_cases_as_before() -> None:
    cases = [result("a", "pass"), result("b", "fail"), result("c", "pass"),
             result("d", "skip"), result("e", "error")]
    record = run_record(SUITE, MODEL, {"repeat": 1}, "t", cases)
    assert counts_text(record) == {
        "unit": "cases", "overall": "2/4 cases pass (50%)",
        "statuses": "2 pass · 1 fail · 1 skip · 1 error", "size": "5 cases"}
    assert summary_lines(record)[0] == "# overall: 2/4 cases pass (50%)"


def test_three_attempts_per_case_say_attempts_and_the_shape() -> None:
    cases = repeated({"a": ["pass", "fail", "pass"], "b": ["fail", "fail", "fail"],
                      "c": ["pass", "pass", "pass"]})
    record = run_record(SUITE, MODEL, {"repeat": 3}, "t", cases)
    assert counts_text(record) == {
        "unit": "attempts", "overall": "5/9 attempts pass (56%, 3 cases × 3)",
        "statuses": "5 pass · 4 fail · 0 skip · 0 error (3 cases × 3)",
        "size": "3 cases × 3 attempts"}
    assert summary_lines(record)[0] == "# overall: 5/9 attempts pass (56%, 3 cases × 3)"
    assert run_report(record)["counts"] == counts_text(record)


def test_remarked_passes_are_counted_apart_in_both_wordings() -> None:
    single = [result("a", "pass", remark="showed the working"), result("b", "pass")]
    assert counts_text({"cases": single}) == {
        "unit": "cases", "overall": "2/2 cases pass (100%) · 1 with a remark",
        "statuses": "1 pass · 1 pass with a remark · 0 fail · 0 skip · 0 error",
        "size": "2 cases"}
    twice = [result("a", "pass", 0, remark="r"), result("a", "fail", 1)]
    assert counts_text({"cases": twice, "settings": {"repeat": 2}}) == {
        "unit": "attempts", "overall": "1/2 attempts pass (50%, 1 case × 2) · 1 with a remark",
        "statuses": "0 pass · 1 pass with a remark · 1 fail · 0 skip · 0 error (1 case × 2)",
        "size": "1 case × 2 attempts"}


def test_skipped_cases_are_left_out_of_the_overall_shape_but_not_the_statuses() -> None:
    cases = repeated({"a": ["pass", "pass"], "b": ["fail", "pass"], "v": ["skip", "skip"]})
    assert counts_text({"cases": cases, "settings": {"repeat": 2}}) == {
        "unit": "attempts", "overall": "3/4 attempts pass (75%, 2 cases × 2)",
        "statuses": "3 pass · 1 fail · 2 skip · 0 error (3 cases × 2)",
        "size": "3 cases × 2 attempts"}


def test_a_running_repeated_run_names_its_planned_repeat() -> None:
    # case-major: the first case's 3 attempts and the second's first are done
    cases = repeated({"a": ["pass", "pass", "fail"], "b": ["pass"]})
    text = counts_text({"cases": cases, "settings": {"repeat": 3}})
    assert text["overall"] == "3/4 attempts pass (75%, 2 cases × 3)"


def test_repeated_ids_without_the_setting_still_count_attempts() -> None:
    cases = repeated({"a": ["pass", "fail"], "b": ["pass", "pass"]})
    for settings in (None, {}, {"repeat": "2"}, {"repeat": True}, {"repeat": 0}):
        assert counts_text({"cases": cases, "settings": settings})["overall"] == \
            "3/4 attempts pass (75%, 2 cases × 2)", settings


def test_nothing_scored_has_no_percentage() -> None:
    assert counts_text({"cases": [result("a", "skip")]})["overall"] == "0/0 cases pass (-)"
    assert counts_text({"cases": []})["statuses"] == "0 pass · 0 fail · 0 skip · 0 error"


@pytest.mark.parametrize("record", [None, {}, {"cases": "x"}, [1]])
def test_a_record_without_cases_is_a_stats_error(record: Any) -> None:
    with pytest.raises(StatsError, match=r"^record\.cases: expected a run record"):
        counts_text(record)
