"""local-model-rating 1.0 (issue 13): its size, its categories, and every answer proven.

Counts: at least 300 cases (a sweep counts once per size), at least 16 categories (a case's
category is its one tag) of at least 12 cases each, at least 60% of cases drawn anew per
seed (`generate`), tool and vision cases requiring their capability. Answers: every pass
answer of answers.yaml passes and every trap fails, through the real request and scoring
path (evaluator/references.py), for seeds 0..4 in CPython and two of them in Pyodide (the
rows must be identical). The quick profile is the full suite's cases, copied unchanged.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from evaluator.expand import instance_ids, run_cases
from evaluator.references import check_answers
from evaluator.request import DEFAULT_SETTINGS
from evaluator.suite import Suite
from tests.check_answers import load
from tests.pyodide_harness import call_ops

ROOT = Path(__file__).resolve().parent.parent
FULL = ROOT / "suites" / "local-model-rating"
QUICK = ROOT / "suites" / "local-model-rating-quick"
SEEDS = range(5)
PYODIDE_SEEDS = (0, 3)
CAPABILITY = {"tool-use": "tool-use", "vision": "vision"}


@functools.cache
def full() -> tuple[Suite, dict[str, Any]]:
    return load(FULL)


def category(case: Any) -> str:
    (tag,) = case.tags  # one tag per case: its category
    return str(tag)


def counted(suite: Suite) -> Counter[str]:
    """Cases per category, a sweep counted once per size."""
    return Counter(category(c) for c in suite.cases for _ in instance_ids(c))


def test_size_categories_and_share_drawn() -> None:
    suite, _ = full()
    per_category = counted(suite)
    total = sum(per_category.values())
    assert suite.version == "1.0.0"
    assert total >= 300, total
    assert len(per_category) >= 16, sorted(per_category)
    assert min(per_category.values()) >= 12, per_category
    drawn = sum(len(instance_ids(c)) for c in suite.cases if c.generate)
    assert drawn / total >= 0.6, (drawn, total)


def test_capability_cases_require_their_capability() -> None:
    suite, _ = full()
    for case in suite.cases:
        need = CAPABILITY.get(category(case))
        assert (need in case.requires) if need else not case.requires, case.id


def test_weights_above_one_are_explained() -> None:
    text = (FULL / "suite.yaml").read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    heavy = [c["id"] for c in raw["cases"] if c.get("weight", 1) != 1]
    for case_id in heavy:  # the line before `weight:` in that case is a comment saying why
        block = text[text.index(f"id: {case_id}\n"):]
        before = block[:block.index("weight:")].rstrip().splitlines()[-1].strip()
        assert before.startswith("#"), case_id


@pytest.mark.parametrize("seed", SEEDS)
def test_every_answer_behaves_as_labelled(seed: int) -> None:
    suite, answers = full()
    rows = check_answers(suite, answers, seed)
    bad = [f"{r['case']} {r['label']}[{r['index']}] -> {r['status']}: {r['detail']}"
           for r in rows if not r["ok"]]
    assert not bad, bad[:10]
    concrete = {c.id for c in run_cases(suite, seed)}
    assert {r["case"] for r in rows} == concrete
    for case_id in concrete:
        labels = Counter(r["label"] for r in rows if r["case"] == case_id)
        assert labels["pass"] >= 1 and labels["fail"] >= 2, case_id


def test_pyodide_scores_every_answer_the_same(tmp_path: Path) -> None:
    suite, answers = full()
    requests = [{"op": "check_answers", "args": {"suite": suite.to_json(),
                                                  "answers": answers, "seed": seed}}
                for seed in PYODIDE_SEEDS]
    got = [json.loads(line) for line in call_ops(requests, tmp_path, timeout=900)]
    for seed, reply in zip(PYODIDE_SEEDS, got, strict=True):
        assert reply.get("ok") is True, reply
        assert reply["value"] == check_answers(suite, answers, seed), seed


def test_quick_profile_is_drawn_from_the_full_suite() -> None:
    quick, quick_answers = load(QUICK)
    suite, answers = full()
    by_id = {c.id: c for c in suite.cases}
    assert 35 <= sum(len(instance_ids(c)) for c in quick.cases) <= 45
    for case in quick.cases:
        assert case == by_id[case.id], case.id
        assert quick_answers[case.id] == answers[case.id]
    assert set(counted(quick)) == set(counted(suite))
    assert min(counted(quick).values()) >= 2


def test_every_regex_sees_the_whole_of_any_answer_the_case_allows() -> None:
    """The regex guard cuts the text a costly pattern sees (evaluator/regex_guard.py); in
    the shipped suite no pattern may be cut short of 8 characters per token of the case's
    max_tokens (the default when it has none): more than any answer within it holds in
    practice (English averages about 4 characters a token)."""
    from evaluator.expectations import checks_of, regex_flags
    from evaluator.regex_guard import plan

    suite, _ = full()
    for case in run_cases(suite, 0):
        rules = [*checks_of(case.expect), *(case.accept_with_remark or [])]
        for rule in rules:
            if rule.get("kind") != "regex":
                continue
            pattern = rule.get("pattern", rule.get("value"))
            cap = plan(pattern, regex_flags(rule.get("flags", ""))).cap
            limit = 8 * (case.max_tokens or DEFAULT_SETTINGS["max_tokens"])
            assert cap >= limit, (case.id, pattern, cap, limit)
