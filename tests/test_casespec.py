"""The suite-engine v2 case keys (evaluator/casespec.py): generate, followUps,
toolResponders, maxToolRounds and sweep load as written, each mistake is one SuiteError
naming the file, the case and the field, and suites without them keep their hash.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evaluator.errors import SuiteError
from evaluator.suite import case_from_json, load_suite, referenced_files, suite_from_json
from tests.test_suite import FILES, SRC, base

V2_TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]
INT_VAR = {"n": {"int": {"min": 1, "max": 9}}}


def v2_case(**keys: Any) -> dict[str, Any]:
    return {"id": "x", "input": "Say {{n}}.", "expect": {"kind": "contains", "value": "{{n}}"},
            "generate": {"vars": INT_VAR}, **keys}


def sweep_case(**sweep: Any) -> dict[str, Any]:
    return {"id": "x", "input": "{{haystack}} What is the code?", "expect": {
        "kind": "contains", "value": "4812"}, "sweep": {"kind": "context", "sizes": [512],
                                                     "needle": "The code is 4812.", **sweep}}


X = f"{SRC}: case 'x': "
# (name, the case, the one-line error); the first eight are issue 12's list
V2_ERRORS: list[tuple[str, dict[str, Any], str]] = [
    ("unknown var kind", v2_case(generate={"vars": {"n": {"rand": [1, 2]}}}),
     "generate.vars.n: unknown var kind 'rand' (expected pick, int or expr)"),
    ("min above max", v2_case(generate={"vars": {"n": {"int": {"min": 9, "max": 1}}}}),
     "generate.vars.n.int: min 9 is greater than max 1"),
    ("undefined var in input", v2_case(input="Say {{foo}}."),
     "input: {{foo}} is not a generate var (vars: n)"),
    ("not a helper", v2_case(generate={"vars": {"n": {"expr": "eval('1')"}}}),
     "generate.vars.n.expr: 'eval' is not a helper at column 1"),
    ("sweep without haystack", sweep_case() | {"input": "What is the code?"},
     "input: a sweep case's input must contain {{haystack}} (where the filler goes)"),
    ("maxToolRounds below 1",
     v2_case(tools=V2_TOOLS, toolResponders={"get_weather": {"response": "ok"}},
             maxToolRounds=0), "maxToolRounds: must be a whole number from 1 to 32, got 0"),
    ("followUps not a list of strings", v2_case(followUps=["ok", 3]),
     "followUps: must be a list of strings (the user's next turns), got ['ok', 3]"),
    ("unknown check kind in a list", v2_case(expect=[{"kind": "contains", "value": "a"},
                                                     {"kind": "contanis", "value": "b"}]),
     ("expect[1].kind: unknown kind 'contanis' (known: contains, regex, exact, json_schema, "
     "tool_call, no_tool_call, not_contains)")),
    ("undefined var in system", v2_case(system="{{who}}"),
     "system: {{who}} is not a generate var (vars: n)"),
    ("undefined var in a follow-up", v2_case(followUps=["ok", "{{m}}?"]),
     "followUps[1]: {{m}} is not a generate var (vars: n)"),
    ("undefined var in a list check", v2_case(expect=[{"kind": "no_tool_call"},
                                                      {"kind": "regex", "value": "{{m}}"}]),
     "expect[1].value: {{m}} is not a generate var (vars: n)"),
    ("undefined var in an accepted answer",
     v2_case(acceptWithRemark=[{"kind": "exact", "value": "{{m}}", "remark": "r"}]),
     "acceptWithRemark[0].value: {{m}} is not a generate var (vars: n)"),
    ("undefined var in a responder",
     v2_case(tools=V2_TOOLS, toolResponders={"get_weather": {"response": "ok", "byArgs": [
         {"argsContains": {"city": "{{town}}"}, "response": "x"}]}}),
     ("toolResponders.get_weather.byArgs[0].argsContains.city: {{town}} is not a generate "
     "var (vars: n)")),
    ("haystack outside the input", sweep_case(needle="{{haystack}}"),
     "sweep.needle: {{haystack}} may appear only in input"),
    ("haystack in a case without a sweep", v2_case(input="{{haystack}} {{n}}"),
     "input: {{haystack}} is not a generate var (vars: n)"),
    ("followUps not a list", v2_case(followUps="again"),
     "followUps: must be a list of strings (the user's next turns), got 'again'"),
    ("empty follow-up", v2_case(followUps=[" "]), "followUps[0]: must not be empty"),
    ("responders without tools", v2_case(toolResponders={"get_weather": {"response": "x"}}),
     "toolResponders: the case has no tools for the model to call (give tools)"),
    ("responder for an unknown tool",
     v2_case(tools=V2_TOOLS, toolResponders={"get_time": {"response": "x"}}),
     "toolResponders.get_time: no tool named 'get_time' in tools (tools: get_weather)"),
    ("responder without a response",
     v2_case(tools=V2_TOOLS, toolResponders={"get_weather": {"byArgs": []}}),
     ("toolResponders.get_weather.response: missing (the canned reply: a string, or JSON "
     "sent as its text)")),
    ("empty argsContains",
     v2_case(tools=V2_TOOLS, toolResponders={"get_weather": {"response": "x", "byArgs": [
         {"argsContains": "", "response": "y"}]}}),
     ("toolResponders.get_weather.byArgs[0].argsContains: must be a non-empty string (found "
     "in the arguments text) or a mapping (a subset of the arguments), got ''")),
    ("maxToolRounds not whole", v2_case(maxToolRounds=2.5),
     "maxToolRounds: must be a whole number from 1 to 32, got 2.5"),
    ("maxToolRounds too many", v2_case(maxToolRounds=33),
     "maxToolRounds: must be a whole number from 1 to 32, got 33"),
    ("generate without vars", v2_case(generate={"n": {"int": {"min": 1, "max": 2}}}),
     ("generate: must be a mapping {vars: {name: spec, ...}}, got {'n': {'int': {'min': 1, "
     "'max': 2}}}")),
    ("sweep kind", sweep_case(kind="depth"),
     "sweep.kind: unknown kind 'depth' (the only kind is context)"),
    ("sweep sizes missing", sweep_case(sizes=None),
     "sweep.sizes: must be a list of 1 to 32 token counts, got None"),
    ("sweep size too large", sweep_case(sizes=[512, 300_000]),
     "sweep.sizes[1]: must be a whole number of tokens from 1 to 262,144, got 300000"),
    ("sweep size twice", sweep_case(sizes=[512, 512]), "sweep.sizes[1]: 512 is listed twice"),
    ("sweep depth", sweep_case(depthPercent=120),
     "sweep.depthPercent: must be a number from 0 to 100, got 120"),
    ("sweep seed", sweep_case(seed=-1),
     "sweep.seed: expected a whole number from 0 to 9007199254740991, got -1"),
    ("sweep without a needle", sweep_case(needle=None),
     ("sweep.needle: missing (give the sentence to hide in the haystack, or a generate var "
     "named needle)")),
    ("a var named haystack",
     sweep_case() | {"generate": {"vars": {"haystack": {"pick": ["a"]}}}},
     ("generate.vars.haystack: the name haystack is the sweep's filler; give the var "
     "another name")),
    ("both spellings", v2_case(followUps=["a"], follow_ups=["a"]),
     "followUps: give followUps or follow_ups, not both"),
]


@pytest.mark.parametrize("raw, message", [row[1:] for row in V2_ERRORS],
                         ids=[row[0] for row in V2_ERRORS])
def test_v2_keys_are_validated(raw: dict[str, Any], message: str) -> None:
    raw = {k: v for k, v in raw.items() if v is not None}
    raw["sweep"] = {k: v for k, v in raw.get("sweep", {}).items() if v is not None} or None
    with pytest.raises(SuiteError) as err:
        load_suite({"name": "t", "cases": [{k: v for k, v in raw.items() if v is not None}]},
                   SRC, {})
    assert str(err.value) == X + message


def test_a_sweep_instance_id_must_be_free() -> None:
    cases = [sweep_case(), {"id": "x@512", "input": "a", "expect": {"kind": "exact",
                                                                    "value": "a"}}]
    with pytest.raises(SuiteError, match=r"^suites/t/suite.yaml: case 'x': sweep.sizes\[0\]: "
                                         r"the instance id 'x@512' is taken by another case$"):
        load_suite({"name": "t", "cases": cases}, SRC, {})


def test_v2_keys_resolve_as_written_and_only_when_present() -> None:
    responders = {"get_weather": {"response": "ok {{n}}", "byArgs": [
        {"argsContains": "Rome", "response": {"t": 1}}]}}
    raw = v2_case(tools=V2_TOOLS, followUps=["And {{n}}?"], toolResponders=responders,
                  maxToolRounds=3)
    case = load_suite({"name": "t", "cases": [raw]}, SRC, {}).cases[0]
    assert (case.follow_ups, case.tool_responders, case.max_tool_rounds, case.tool_rounds) \
        == (("And {{n}}?",), responders, 3, 3)
    assert case.generate == {"vars": INT_VAR} and case.is_template and case.conversational
    data = case.to_json()
    assert {k: data[k] for k in ("generate", "follow_ups", "tool_responders",
                                 "max_tool_rounds")} == {
        "generate": {"vars": INT_VAR}, "follow_ups": ["And {{n}}?"],
        "tool_responders": responders, "max_tool_rounds": 3}
    again = suite_from_json(load_suite({"name": "t", "cases": [raw]}, SRC, {}).to_json())
    assert again.cases[0] == case
    plain = load_suite(base(), SRC, FILES)
    for old in plain.cases:  # a case without v2 keys writes none of them
        assert set(old.to_json()) <= {"id", "input", "system", "image", "tools", "expect",
                                      "weight", "tags", "requires", "max_tokens"}
        assert (old.tool_rounds, old.is_template, old.conversational) == (4, False, False)
    empty = base()
    empty["cases"][0]["followUps"] = []
    assert load_suite(empty, SRC, FILES).sha256 == plain.sha256


def test_expanded_keys_are_read_only_from_a_record_copy() -> None:
    concrete = {"id": "x", "input": "Say 3.", "expect": {"kind": "contains", "value": "3"},
                "template": "x", "drawn": {"n": 3}}
    case = case_from_json(concrete)
    assert (case.template, case.drawn, case.is_template) == ("x", {"n": 3}, False)
    ignored = load_suite({"name": "t", "cases": [concrete]}, SRC, {}).cases[0]
    assert (ignored.template, ignored.drawn) == (None, None)  # a suite's cases are templates
    for extra, what in [({"drawn": {"n": 3}, "template": None},
                         "drawn: only an expanded case (one with template) carries it"),
                        ({"generate": {"vars": INT_VAR}},
                         "template: an expanded case has no generate (it was applied)"),
                        ({"haystack": [1]}, ("haystack: must be a mapping {size, depthPercent, "
                                            "seed}, got [1]"))]:
        with pytest.raises(SuiteError) as err:
            case_from_json({k: v for k, v in {**concrete, **extra}.items() if v is not None})
        assert str(err.value) == f"resolved suite: case 'x': {what}"


def test_the_seed_suite_keeps_its_hash() -> None:
    """A suite without v2 keys hashes as before suite engine v2 (pinned)."""
    import yaml

    folder = Path(__file__).parent / "data" / "seed-suite"
    data = yaml.safe_load((folder / "suite.yaml").read_text(encoding="utf-8"))
    files = {p: (folder / p).read_bytes() for p in referenced_files(data)}
    assert load_suite(data, "suite.yaml", files).sha256 == \
        "d47a17c903bfaf5728bd1382e4a9a7a439e3388cff652b014f5f5752914975d1"
