"""Every YAML example in docs/suite-format.md loads through the evaluator, expands for a
seed and plans its requests, so the format's documentation cannot go stale."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from evaluator.expand import run_cases
from evaluator.request import plan_case, run_settings
from evaluator.suite import load_suite

DOC = Path(__file__).resolve().parent.parent / "docs" / "suite-format.md"
BLOCKS = re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
CAPS = ["streaming", "tool-use", "vision"]


def test_the_page_has_examples() -> None:
    assert len(BLOCKS) >= 7


@pytest.mark.parametrize("block", BLOCKS, ids=[f"example-{i}" for i in range(len(BLOCKS))])
@pytest.mark.parametrize("seed", [1, 2026])
def test_example_loads_expands_and_plans(block: str, seed: int) -> None:
    cases = yaml.safe_load(block)
    assert isinstance(cases, list) and cases
    suite = load_suite({"name": "doc-example", "cases": cases}, "docs/suite-format.md", {})
    concrete = run_cases(suite, seed)
    assert concrete
    for case in concrete:
        assert "{{" not in case.input, case.id
        plan = plan_case(case, "m", CAPS, run_settings(seed=seed), context_length=1_000_000)
        assert "body" in plan, (case.id, plan)
