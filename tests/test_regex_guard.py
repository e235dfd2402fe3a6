"""evaluator.regex_guard: catastrophic patterns are refused, the rest finish on 1 MB.

Every accepted pattern below is nasty on purpose, and is run (through the real check, so
normalisation and the cap are included) on the 1 MB text that was found to be its worst.
Without the cap each of them runs for minutes or hours; with it each takes well under a
second in CPython (the bound asserted is a generous 5 s: "finishes", not a timing goal).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from evaluator import regex_guard
from evaluator.checks import run_check
from evaluator.errors import SuiteError
from evaluator.schemas import MAX_SCHEMA_DEPTH, schema_problem
from evaluator.suite import case_from_json

MB = 1_000_000
BOUND_S = 5.0
SUITES = Path(__file__).resolve().parent.parent / "suites"


def repeat(unit: str) -> Callable[[], str]:
    return lambda: (unit * (MB // len(unit) + 1))[:MB]


# (pattern, flags, the 1 MB text that is worst for it)
ACCEPTED: list[tuple[str, str, Callable[[], str]]] = [
    (r".*.*.*x", "", repeat("a")),
    (r"(?s).*.*.*x", "", repeat("a" * 100 + "\n")),
    (r"\s*\s*\s*x", "", lambda: "a" + " " * (MB - 2) + "a"),
    (r"^(\d+)\.(\d+)$", "", repeat("1")),
    (r"(a|b)*c", "", repeat("ab")),
    (r"(a|b)*(a|c)*x", "", repeat("a")),
    (r"(a|b)*(a|c)*(a|d)*x", "", repeat("a")),
    (r".*x", "", repeat("a,")),
    (r"\d+\d+x", "", repeat("1")),
    (r"[\s\S]*[\s\S]*x", "", repeat("1")),
    (r".*foo.*bar", "", repeat("foo")),
    (r"(.*)\1x", "", repeat("1")),
    (r".*(?=.*x)y", "", repeat("1")),
    (r"(?:a|bc)*d", "", repeat("a")),
    (r"[a-z]*[a-z]*x", "i", repeat("A")),
    (r".*?.*?x", "s", repeat("a")),
    (r"PLUM\s*[-–—]?\s*47", "i", lambda: "PLUM" + " " * (MB - 5) + "."),
    (r"(?:^|[^\d.,])16,?282(?:\.0+)?\D*$", "", repeat("a.")),
]

# (pattern, a fragment of the reason it is refused)
REFUSED: list[tuple[str, str]] = [
    (r"^(a+)+$", "a quantifier inside a repeated group"),
    (r"(a*)*", "a quantifier inside a repeated group"),
    (r"(\w+\s?)+$", "a quantifier inside a repeated group"),
    (r"(?:\d+,)*x", "a quantifier inside a repeated group"),
    (r"(a|aa)+$", "alternatives that can start with the same character"),
    (r"(a|a)*$", "alternatives that can start with the same character"),
    (r"(?:x|xy|z)*w", "alternatives that can start with the same character"),
    (r"(?i)(?:ab|AC)*d", "alternatives that can start with the same character"),
    (r"(?:a|)*b", "alternatives that can start with the same character"),
    (r"(?:(?=.*x)a)*", "a backreference or a lookaround with a quantifier"),
    (r"(a)(?:\1)*", "a backreference or a lookaround with a quantifier"),
    (r".*.*.*.*x", "4 quantifiers in a row can match the same text"),
    (r"\d*\d*\d*\d*\d*", "5 quantifiers in a row"),
    (r"(?:a?){30}a{30}", "combine in more than 2**12 ways"),
    ("(" * 40 + "a" + ")" * 40, "groups nested deeper than 32 levels"),
    ("a" * 1001, "pattern is 1001 characters long (limit 1000)"),
    ("a(b", "invalid regex 'a(b': missing ), unterminated subpattern"),
    ("x{2,1}", "invalid regex"),
]


@pytest.mark.parametrize("pattern, flags, text", ACCEPTED, ids=[p for p, _, _ in ACCEPTED])
def test_accepted_patterns_finish_on_a_megabyte(pattern: str, flags: str,
                                                text: Callable[[], str]) -> None:
    answer = text()
    expect = {"kind": "regex", "pattern": pattern, **({"flags": flags} if flags else {})}
    started = time.perf_counter()
    outcome = run_check(expect, answer, [])
    elapsed = time.perf_counter() - started
    assert elapsed < BOUND_S, f"{pattern!r} took {elapsed:.1f} s"
    assert "invalid expect" not in outcome.reason
    assert outcome.reason.endswith(f" of {MB} characters)"), outcome.reason


@pytest.mark.parametrize("pattern, reason", REFUSED, ids=[p[:30] for p, _ in REFUSED])
def test_refused_patterns(pattern: str, reason: str) -> None:
    problem = regex_guard.problem(pattern)
    assert problem is not None and reason in problem
    assert "\n" not in problem and len(problem) < 400
    outcome = run_check({"kind": "regex", "pattern": pattern}, "a" * 50 + "!", [])
    assert not outcome.passed and outcome.reason.startswith("invalid expect: expect.pattern: ")


def test_caps_follow_the_degree() -> None:
    plans = {p: regex_guard.plan(p) for p in (r"^\d+$", r"\d+x", r"\d+\d+x", r"\d+\d+\d+x")}
    assert [plan.degree for plan in plans.values()] == [1, 2, 3, 4]
    caps = [plan.cap for plan in plans.values()]
    assert caps == sorted(caps, reverse=True)
    assert caps[0] == regex_guard.MAX_TEXT_CHARS
    assert all(cap >= 100 for cap in caps)


def test_short_answers_are_never_cut() -> None:
    outcome = run_check({"kind": "regex", "pattern": r".*.*.*x"}, "a" * 100 + "x", [])
    assert outcome.passed and outcome.reason == "output matches /.*.*.*x/"


def test_every_suite_pattern_is_accepted() -> None:
    """Every regex of every shipped suite (checks and acceptWithRemark rules, templates
    drawn for seed 0) is accepted and sees at least 300 characters."""
    from evaluator.expand import run_cases
    from evaluator.expectations import checks_of
    from server.rating import suites_io

    patterns = []
    for path in sorted(SUITES.glob("*/suite.yaml")):
        for case in run_cases(suites_io.load(str(path)), 0):
            for rule in [*checks_of(case.expect), *case.accept_with_remark]:
                if rule.get("kind") == "regex":
                    patterns.append((rule["pattern"], rule.get("flags", "")))
    assert len(patterns) >= 10
    for pattern, letters in patterns:
        flags = sum({"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL}[c] for c in letters)
        plan = regex_guard.plan(pattern, flags)
        assert plan.cap >= 300, (pattern, plan)


def test_record_case_copy_with_a_catastrophic_regex_is_refused() -> None:
    case = {"id": "evil", "input": "x", "system": None, "image": None, "tools": None,
            "expect": {"kind": "regex", "pattern": "^(a+)+$"}, "weight": 1, "tags": [],
            "requires": [], "max_tokens": None}
    with pytest.raises(SuiteError) as info:
        case_from_json(case)
    assert str(info.value).startswith("resolved suite: case 'evil': expect.pattern: "
                                      "'^(a+)+$' can backtrack exponentially")


def test_schema_patterns_are_guarded_and_capped() -> None:
    assert "can backtrack exponentially" in str(
        schema_problem({"type": "object", "patternProperties": {"(a|a)*$": {}}}))
    schema = {"type": "string", "pattern": ".*.*.*x"}
    started = time.perf_counter()
    outcome = run_check({"kind": "json_schema", "schema": schema}, '"' + "a" * MB + '"', [])
    assert time.perf_counter() - started < BOUND_S
    assert not outcome.passed
    cap = regex_guard.plan(".*.*.*x").cap
    assert outcome.reason.endswith(f"(checked the first {cap} of {MB} characters)")
    assert len(outcome.reason) < 300


def test_deep_schema_is_refused_before_jsonschema_recurses() -> None:
    schema: object = True
    for _ in range(500):
        schema = {"items": schema}
    assert schema_problem(schema) == f"nested deeper than {MAX_SCHEMA_DEPTH} levels"
    outcome = run_check({"kind": "json_schema", "schema": schema}, "[]", [])
    assert outcome.reason == (f"invalid expect: expect.schema: nested deeper than "
                              f"{MAX_SCHEMA_DEPTH} levels")


def test_analysis_is_quick_on_the_longest_pattern() -> None:
    pattern = "|".join(f"word{i:03d}" for i in range(125))[:1000]
    started = time.perf_counter()
    regex_guard.plan.__wrapped__(pattern, re.IGNORECASE)
    assert time.perf_counter() - started < BOUND_S
