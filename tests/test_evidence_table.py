"""tests/real/suite_evidence.py's tables: per-category counts, the overall Wilson interval and
the paired comparison line, from two small hand-made run records."""

from __future__ import annotations

from typing import Any

import pytest

from tests.real.suite_evidence import categories, markdown, overall


def result(case_id: str, tag: str, status: str, tok_s: float = 20.0) -> dict[str, Any]:
    return {"id": case_id, "tags": [tag], "status": status, "tok_s": tok_s,
            "ttft_ms": 100.0, "total_ms": 900.0}


def record(statuses: list[tuple[str, str, str]]) -> dict[str, Any]:
    return {"suite": {"id": "s", "version": "1", "sha256": "x"}, "settings": {"seed": 1},
            "cases": [result(*row) for row in statuses]}


A = record([(f"m{i}", "math", "pass" if i < 7 else "fail") for i in range(10)]
           + [("v1", "vision", "skip"), ("v2", "vision", "skip"), ("l1", "long", "error"),
              ("l2@2048", "long", "pass"), ("l2@32768", "long", "skip")])
B = record([(f"m{i}", "math", "pass" if i < 2 else "fail") for i in range(10)]
           + [("v1", "vision", "skip"), ("v2", "vision", "skip"), ("l1", "long", "pass"),
              ("l2@2048", "long", "pass"), ("l2@32768", "long", "skip")])


def test_categories_count_cases_passes_errors_and_skips() -> None:
    assert categories(A) == {
        "long": {"cases": 3, "scored": 2, "passed": 1, "errors": 1, "skipped": 1},
        "math": {"cases": 10, "scored": 10, "passed": 7, "errors": 0, "skipped": 0},
        "vision": {"cases": 2, "scored": 0, "passed": 0, "errors": 0, "skipped": 2},
    }


def test_overall_leaves_skips_out_and_counts_errors_as_scored() -> None:
    passed, scored, low, high = overall(record([(f"m{i}", "math", "pass" if i < 7 else "fail")
                                                for i in range(10)]))
    assert (passed, scored) == (7, 10)
    # Wilson 95% for 7/10 (Newcombe 1998, table I): 0.3968 to 0.8922
    assert (low, high) == (pytest.approx(0.3968, abs=5e-5), pytest.approx(0.8922, abs=5e-5))
    assert overall(A)[:2] == (8, 12)


def test_markdown_rows_and_the_paired_line() -> None:
    text = markdown({"Q4_1": A, "F32": B}, {"Q4_1": 90.0})
    lines = text.splitlines()
    assert "| math | 10 | 7/10 (70%) | 2/10 (20%) | 0/0 | 0/0 |" in lines
    assert "| vision | 2 | – | – | 0/2 | 0/2 |" in lines
    assert "| long | 3 | 1/2 (50%) | 2/2 (100%) | 1/1 | 0/1 |" in lines
    q4 = next(line for line in lines if line.startswith("| SmolLM2-135M-Instruct-Q4_1 |"))
    assert q4.startswith("| SmolLM2-135M-Instruct-Q4_1 | 8/12 | 66.7% [")
    assert q4.endswith("| 1 | 3 | 20.0 | 100.0 | 1.5 min |")
    f32 = next(line for line in lines if line.startswith("| SmolLM2-135M-Instruct-F32 |"))
    assert f32.endswith("| – |")  # no wall time recorded
    paired = lines[-1]
    # 12 paired cases: A alone passes m2..m6 (5), B alone passes l1 (1), both 3, neither 3
    assert paired.startswith("Paired (12 cases scored in both; A = Q4_1, B = F32): both pass 3,"
                             " only Q4_1 5, only F32 1, neither 3; difference A − B +33.3")
    # exact McNemar, b = 5, c = 1: p = 2 * (1 + 6) / 2**6 = 0.21875
    assert "p = 0.219: **within noise**." in paired
