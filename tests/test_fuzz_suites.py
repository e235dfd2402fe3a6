"""Property-based fuzz of suite loading: a Suite or a SuiteError, nothing else, quickly.

Three sources of input, each with fixed, derandomized settings (CI is deterministic):
random mappings built from the suite format's own keys and hostile values into
``load_suite``; random YAML-ish text through the shell's parser (``suites_io.parse_yaml``)
and then ``load_suite``; random regex patterns, which the guard either refuses or runs on
adversarial text within the bound. Every example must finish within ``BOUND_S``.
"""

from __future__ import annotations

import datetime
import time
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evaluator import regex_guard
from evaluator.checks import run_check
from evaluator.errors import SuiteError
from evaluator.suite import Suite, case_from_json, load_suite, suite_from_json
from server.rating.suites_io import parse_yaml

BOUND_S = 5.0
FUZZ = settings(derandomize=True, max_examples=150, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-10**30, 10**30),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
    st.sampled_from(["x", "", "hi", "vision", "tool-use", "telepathy", "contains", "regex",
                     "../etc/passwd", "/etc/passwd", "C:/x", "a\\b", "p//q", "p.txt",
                     "img.png", "img.jpg", "a\x00b", "(a+)+$", ".*.*.*x"]),
    st.binary(max_size=8), st.dates(min_value=datetime.date(2000, 1, 1)),
)
JSONISH = st.recursive(SCALARS, lambda kids: st.one_of(
    st.lists(kids, max_size=4), st.dictionaries(st.text(max_size=8), kids, max_size=4)),
    max_leaves=12)
PATTERNS = st.text(alphabet="a()|*+?.{}[]^$\\d1,2x:?=!<", max_size=14)
EXPECTS = st.one_of(
    st.fixed_dictionaries({"kind": st.sampled_from(["contains", "not_contains", "exact"]),
                           "value": SCALARS}),
    st.fixed_dictionaries({"kind": st.just("regex"), "pattern": PATTERNS},
                          optional={"flags": st.sampled_from(["", "i", "ms", "x", 5])}),
    st.fixed_dictionaries({"kind": st.just("json_schema"), "schema": JSONISH}),
    st.fixed_dictionaries({"kind": st.just("tool_call"), "name": SCALARS},
                          optional={"arguments": JSONISH}),
    JSONISH,
)
FILE_REF = st.fixed_dictionaries({"file": st.sampled_from(
    ["p.txt", "img.png", "img.jpg", "../p.txt", "/p.txt", "a\\p.txt", "", "p//x", "img.bmp"])})
CASES = st.fixed_dictionaries({}, optional={
    "id": st.one_of(SCALARS, st.text(min_size=1, max_size=10)),
    "input": st.one_of(SCALARS, FILE_REF), "image": st.one_of(SCALARS, FILE_REF),
    "expect": EXPECTS, "weight": SCALARS, "tags": JSONISH, "requires": JSONISH,
    "tools": JSONISH, "system": SCALARS, "max_tokens": SCALARS,
})
SUITES = st.fixed_dictionaries({}, optional={
    "name": SCALARS, "id": SCALARS, "version": SCALARS, "description": SCALARS,
    "passThreshold": SCALARS, "cases": st.one_of(st.lists(CASES, max_size=4), JSONISH),
})
FILES = st.fixed_dictionaries({}, optional={
    "p.txt": st.one_of(st.binary(max_size=20), st.text(max_size=20).map(str.encode)),
    "img.png": st.sampled_from([b"\x89PNG\r\n\x1a\n", b"not an image", b"\xff\xd8\xff", b""]),
    "img.jpg": st.sampled_from([b"\xff\xd8\xff\xe0", b"GIF89a", b""]),
})


def timed_load(data: Any, files: dict[str, bytes]) -> Suite | None:
    """load_suite's outcome: the Suite, or None for a SuiteError; anything else fails."""
    started = time.perf_counter()
    try:
        suite = load_suite(data, "s.yaml", files)
    except SuiteError as err:
        assert "\n" not in str(err) and str(err).startswith("s.yaml")
        suite = None
    assert time.perf_counter() - started < BOUND_S
    return suite


@FUZZ
@given(data=SUITES, files=FILES)
def test_random_mappings_give_a_suite_or_a_suite_error(data: dict[str, Any],
                                                       files: dict[str, bytes]) -> None:
    suite = timed_load(data, files)
    if suite is not None:
        assert suite_from_json(suite.to_json()) == suite
        for case in suite.cases:
            assert case_from_json(case.to_json()) == case


VALID_CASE = st.fixed_dictionaries({
    "id": st.text(alphabet="abcxyz-_.0123", min_size=1, max_size=8),
    "input": st.one_of(st.text(max_size=10), st.just({"file": "p.txt"})),
    "expect": st.one_of(
        st.fixed_dictionaries({"kind": st.sampled_from(["contains", "not_contains", "exact"]),
                               "value": st.text(min_size=1, max_size=5)}),
        st.fixed_dictionaries({"kind": st.just("regex"), "pattern": PATTERNS.filter(bool)}),
        st.fixed_dictionaries({"kind": st.just("json_schema"), "schema": st.fixed_dictionaries(
            {"type": st.sampled_from(["object", "array", "string", "number"])})}),
        st.fixed_dictionaries({"kind": st.just("tool_call"), "name": st.just("f")})),
}, optional={
    "weight": st.floats(0.5, 10), "tags": st.lists(st.text(max_size=4), max_size=2),
    "requires": st.lists(st.sampled_from(["vision", "tool-use"]), max_size=1, unique=True),
    "image": st.just({"file": "img.png"}), "max_tokens": st.integers(1, 4096),
    "system": st.text(max_size=6), "tools": st.just([{"type": "function",
                                                       "function": {"name": "f"}}]),
})
KEYS = ["id", "input", "image", "expect", "weight", "tags", "requires", "tools", "system",
        "max_tokens"]


def spoiled(case: dict[str, Any], key: str, value: Any, spoil: bool) -> dict[str, Any]:
    return {**case, key: value} if spoil else case


MOSTLY_VALID = st.builds(spoiled, VALID_CASE, st.sampled_from(KEYS),
                         st.one_of(JSONISH, FILE_REF), st.booleans())


@FUZZ
@given(cases=st.lists(MOSTLY_VALID, min_size=1, max_size=3, unique_by=lambda c: str(c["id"])))
def test_valid_suites_with_one_field_spoiled(cases: list[dict[str, Any]]) -> None:
    suite = timed_load({"name": "fuzz", "cases": cases},
                       {"p.txt": "fuzz ☕".encode(), "img.png": b"\x89PNG\r\n\x1a\n"})
    if suite is not None:
        assert [case.id for case in suite.cases] == [case["id"] for case in cases]
        assert suite_from_json(suite.to_json()) == suite


YAML_TEXT = st.lists(st.sampled_from([
    "name: f\n", "cases:\n", "  - ", "{id: a, input: x, expect: {kind: contains, value: x}}",
    "- ", "[", "]", "{", "}", ": ", ", ", "&a ", "*a ", "<<: ", "!!binary ", "!!python/name:x ",
    "'", '"', "\\", "\t", "\n", "  ", "? ", "| ", "> ", "# c", "---\n", "...\n", "%YAML 1.1\n",
    "2024-13-45", "1e9999", ".nan", "9" * 40, "\ufeff", "\x00", "\udcff", "é", "weight: ",
]), max_size=40).map("".join)


@FUZZ
@given(text=YAML_TEXT)
def test_random_yaml_text_gives_a_suite_or_a_suite_error(text: str, tmp_path_factory: Any
                                                         ) -> None:
    path = Path(tmp_path_factory.mktemp("yaml")) / "suite.yaml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    started = time.perf_counter()
    try:
        data = parse_yaml(path, "s.yaml")
    except SuiteError as err:
        assert "\n" not in str(err) and str(err).startswith("s.yaml")
    else:
        timed_load(data, {})
    assert time.perf_counter() - started < BOUND_S


@settings(FUZZ, max_examples=600)
@given(pattern=PATTERNS.filter(bool), unit=st.sampled_from(["a", "ab", "1", "a1.", " "]))
def test_random_patterns_are_refused_or_finish(pattern: str, unit: str) -> None:
    problem = regex_guard.problem(pattern)
    if problem is not None:
        assert "\n" not in problem
        return
    text = "x" + unit * (1_000_000 // len(unit)) + "!"
    started = time.perf_counter()
    outcome = run_check({"kind": "regex", "pattern": pattern}, text, [])
    assert time.perf_counter() - started < BOUND_S, pattern
    assert "invalid expect" not in outcome.reason
