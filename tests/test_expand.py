"""The concrete cases of a run (evaluator/expand.py): generate cases drawn from the run seed
and rendered in every template field, sweep cases made into one instance per size, fixed
cases unchanged. tests/test_pyodide_conversation.py checks that Pyodide makes the same.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from evaluator import haystack
from evaluator.draw import draw_vars
from evaluator.errors import SuiteError
from evaluator.expand import haystack_seed, instance_ids, run_cases
from evaluator.request import SettingsError
from evaluator.suite import Case, case_from_json, load_suite
from tests.test_conversation import engine_suite

SUITE = engine_suite()


def by_id(cases: list[Case]) -> dict[str, Case]:
    return {case.id: case for case in cases}


def one(raw: dict[str, Any]) -> Case:
    base = {"id": "c", "input": "x", "expect": {"kind": "contains", "value": "x"}}
    return load_suite({"name": "t", "cases": [{**base, **raw}]}, "t.yaml", {}).cases[0]


def test_the_run_is_the_suite_in_order_with_templates_expanded() -> None:
    cases = run_cases(SUITE, 7)
    assert [c.id for c in cases] == [
        "version-shape", "multiply", "letter-count", "recall-two-turns", "weather-tool-loop",
        "needle-sweep@256", "needle-sweep@1024", "needle-sweep@8192", "vault-word@128",
        "vault-word@512"]
    assert [i for c in SUITE.cases for i in instance_ids(c)] == [c.id for c in cases]
    fixed = by_id(cases)
    for case_id in ("version-shape", "weather-tool-loop"):  # no generate, no sweep
        assert fixed[case_id] is SUITE.case(case_id)
        assert "template" not in fixed[case_id].to_json()
    for case in cases:
        data = case.to_json()
        assert "generate" not in data and "sweep" not in data and not case.is_template
        assert case_from_json(json.loads(json.dumps(data))) == case  # a record's copy


def test_a_generate_case_is_drawn_for_its_id_and_rendered() -> None:
    multiply = by_id(run_cases(SUITE, 7))["multiply"]
    drawn = draw_vars(SUITE.case("multiply").generate["vars"], 7, "multiply")  # type: ignore[index]
    assert multiply.drawn == drawn and multiply.template == "multiply"
    assert multiply.input == f"What is {drawn['a']} times {drawn['b']}? Reply with the " \
        "number only."
    assert multiply.expect == {"kind": "exact", "value": str(drawn["a"] * drawn["b"])}
    assert multiply.accept_with_remark == ({"kind": "contains", "value": f"= {drawn['product']}",
                                            "remark": "showed the working"},)
    assert multiply.forgive_formatting is True
    counted = by_id(run_cases(SUITE, 7))["letter-count"]  # the prompt came from a file
    assert counted.drawn is not None
    assert f"letter '{counted.drawn['letter']}' appear in the word '{counted.drawn['word']}'" \
        in counted.input
    assert counted.expect == [{"kind": "regex", "pattern": f"^\\D*{counted.drawn['n']}\\D*$"},
                              {"kind": "no_tool_call"}]


def test_every_template_field_is_rendered() -> None:
    case = one({
        "generate": {"vars": {"w": {"pick": ["Rome"]}, "n": {"expr": "w.length"}}},
        "system": "S {{w}}", "input": "I {{ w }} {{n}}", "followUps": ["F {{n}}"],
        "tools": [{"type": "function", "function": {"name": "t", "parameters": {}}}],
        "expect": [{"kind": "contains", "value": "{{w}}"},
                   {"kind": "regex", "value": "^{{n}}$", "flags": "i"},
                   {"kind": "tool_call", "name": "t",
                    "argsSchema": {"properties": {"city": {"const": "{{w}}"}}}}],
        "acceptWithRemark": [{"kind": "exact", "value": "{{w}}!", "remark": "r {{n}}"}],
        "toolResponders": {"t": {"response": "R {{w}}", "byArgs": [
            {"argsContains": {"city": "{{w}}"}, "response": {"n": "{{n}}"}}]}}})
    [made] = run_cases(load_suite({"name": "t", "cases": [case.to_json()]}, "t", {}), 1)
    assert (made.system, made.input, made.follow_ups) == ("S Rome", "I Rome 4", ("F 4",))
    assert made.expect == [{"kind": "contains", "value": "Rome"},
                           {"kind": "regex", "pattern": "^4$", "flags": "i"},
                           {"kind": "tool_call", "name": "t",
                            "arguments": {"properties": {"city": {"const": "Rome"}}}}]
    assert made.accept_with_remark == ({"kind": "exact", "value": "Rome!", "remark": "r 4"},)
    assert made.tool_responders == {"t": {"response": "R Rome", "byArgs": [
        {"argsContains": {"city": "Rome"}, "response": {"n": "4"}}]}}
    assert made.drawn == {"w": "Rome", "n": 4} and made.tools == case.tools


def test_a_case_without_generate_or_sweep_keeps_its_braces() -> None:
    case = one({"input": "Fill in {{name}} and {{ x }}.",
                "expect": {"kind": "contains", "value": "{{name}}"}})
    assert run_cases(load_suite({"name": "t", "cases": [case.to_json()]}, "t", {}), 5) == [case]


def test_a_sweep_case_runs_once_per_size() -> None:
    template = SUITE.case("needle-sweep")
    assert template is not None and template.sweep is not None
    made = [c for c in run_cases(SUITE, 7) if c.template == "needle-sweep"]
    assert template.generate is not None
    code = draw_vars(template.generate["vars"], 7, "needle-sweep")["code"]
    seed = haystack_seed(7, "needle-sweep")
    assert 0 <= seed < 2**53
    question = "\n\nWhat is the secret code mentioned above? Reply with the number only."
    for size, case in zip((256, 1024, 8192), made, strict=True):
        hay = haystack.haystack(size, seed, f"The secret code is {code}.", 50)
        assert case.input == hay + question
        assert case.haystack == {"size": size, "depthPercent": 50, "seed": seed}
        assert case.drawn == {"code": code} and case.expect["value"] == str(code)  # type: ignore[call-overload]
        assert case.input.count(str(code)) == 1
        assert size - 25 <= haystack.estimate_tokens(hay) <= size
    # every size shares the filler: the smaller one's start is the larger one's
    assert made[1].input[:200] == made[2].input[:200]


def test_the_haystack_seed_follows_the_run_unless_the_suite_fixes_it() -> None:
    a, b = by_id(run_cases(SUITE, 1)), by_id(run_cases(SUITE, 2))
    assert a["needle-sweep@256"].haystack["seed"] != b["needle-sweep@256"].haystack["seed"]  # type: ignore[index]
    assert a["vault-word@128"].haystack["seed"] == b["vault-word@128"].haystack["seed"] == 7  # type: ignore[index]
    vault = a["vault-word@128"]  # depth 0, the needle from the var named needle
    assert vault.drawn is not None
    assert vault.input.startswith(f"The vault word is {vault.drawn['bird']}. ")


def test_one_seed_one_run() -> None:
    first = [c.to_json() for c in run_cases(SUITE, 42)]
    assert [c.to_json() for c in run_cases(SUITE, 42)] == first
    others = [[c.to_json() for c in run_cases(SUITE, seed)] for seed in range(5)]
    assert len({json.dumps(run) for run in others}) == 5


@pytest.mark.parametrize("seed", [-1, 2**53, 1.5, True, "7", None])
def test_the_seed_is_checked(seed: Any) -> None:
    with pytest.raises(SettingsError, match=r"^seed: expected a whole number from 0 to "
                                            r"9007199254740991, got "):
        run_cases(SUITE, seed)


def _regex_case(case_id: str) -> dict[str, Any]:
    return {"id": case_id, "input": "x", "generate": {"vars": {"x": {"pick": ["a", "("]}}},
            "expect": {"kind": "regex", "value": "{{x}}+"}}


def test_a_drawn_value_that_breaks_a_check_is_a_suite_error() -> None:
    spec = _regex_case("")["generate"]["vars"]
    good = next(f"rx{i}" for i in range(50) if draw_vars(spec, 0, f"rx{i}")["x"] == "a")
    bad = next(f"rx{i}" for i in range(50) if draw_vars(spec, 0, f"rx{i}")["x"] == "(")
    with pytest.raises(SuiteError, match=rf"^t.yaml: case '{bad}': expect.pattern: .* \(when "
                                         r"drawn with seed 0\)$"):
        load_suite({"name": "t", "cases": [_regex_case(bad)]}, "t.yaml", {})
    suite = load_suite({"name": "t", "cases": [_regex_case(good)]}, "t.yaml", {})
    seed = next(s for s in range(1, 50) if draw_vars(spec, s, good)["x"] == "(")
    with pytest.raises(SuiteError, match=rf"^case '{good}': expect.pattern: .* \(drawn with "
                                         rf"seed {seed}\)$"):
        run_cases(suite, seed)
