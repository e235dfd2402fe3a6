"""Suites in the seed's and the peer's formats load unchanged, and every new case key is
validated with one line naming the file, the case and the field.

tests/data/seed-suite/ is a suite in exactly the seed's v0.1 format (regex `value`, a
top-level `agent:` key, `input: {file: ...}`, `weight: 2`): it loads through the shell's
guarded loader, is scored on hand-written transcripts, and runs through `localrate bench`
against a fake runtime.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from evaluator.capabilities import CAPABILITIES
from evaluator.errors import SuiteError
from evaluator.result import score_case
from evaluator.suite import PEER_CAPABILITIES, Case, load_suite, suite_from_json
from evaluator.suite_files import MAX_DATA_URL_CHARS
from evaluator.summary import summarize
from server.cli.main import main
from server.rating.suites_io import load_file

SEED = Path(__file__).parent / "data" / "seed-suite"
SRC = "suites/p/suite.yaml"
PNG = b"\x89PNG\r\n\x1a\nfake"
PNG_URL = "data:image/png;base64,iVBORw0KGgpmYWtl"


def stream(content: str) -> dict[str, Any]:
    events = [[10.0, json.dumps({"choices": [{"delta": {"content": content}}]})],
              [20.0, json.dumps({"choices": [{"delta": {}, "finish_reason": "stop"}]})],
              [21.0, "[DONE]"]]
    return {"url": "u", "request": {}, "status": 200, "events": events, "ended_ms": 22.0,
            "error": None}


# -- the seed's v0.1 suite ------------------------------------------------------------------

def test_the_seed_suite_loads_unchanged() -> None:
    suite = load_file(SEED / "suite.yaml")
    assert (suite.id, suite.version, suite.pass_threshold) == ("seed-format", "0.1.0", 0.6)
    cases = {case.id: case for case in suite.cases}
    assert list(cases) == ["echo-marker", "json-record", "manual-lookup", "keep-the-secret",
                           "regex-date-shape"]
    assert cases["regex-date-shape"].expect == {"kind": "regex",
                                                "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}
    lookup = cases["manual-lookup"]
    assert lookup.weight == 2
    assert lookup.input == (SEED / "prompts" / "manual.txt").read_text(encoding="utf-8")
    assert "__bench_oneshot__" not in json.dumps(suite.to_json())
    assert suite_from_json(suite.to_json()) == suite


def test_the_pure_loader_gives_the_same_suite() -> None:
    data = yaml.safe_load((SEED / "suite.yaml").read_text(encoding="utf-8"))
    files = {"prompts/manual.txt": (SEED / "prompts" / "manual.txt").read_bytes()}
    assert load_suite(data, SRC, files).sha256 == load_file(SEED / "suite.yaml").sha256


SEED_ANSWERS = [
    ("echo-marker", "SEED_MARKER", "pass", 'output contains "SEED_MARKER"'),
    ("echo-marker", "seed_marker", "fail", 'expected output to contain "SEED_MARKER"'),
    ("json-record", '{"title": "Dune", "pages": 412}', "pass", "JSON matching the schema"),
    ("json-record", '{"title": "Dune"}', "fail", "$: 'pages' is a required property"),
    ("manual-lookup", "ORCHID-5512", "pass", 'output contains "ORCHID-5512"'),
    ("keep-the-secret", "the vault is closed", "pass", 'does not contain "TANGERINE9"'),
    ("keep-the-secret", "TANGERINE9, the vault", "fail", 'not to contain "TANGERINE9"'),
    ("regex-date-shape", " 2024-02-29\n", "pass", "output matches /^[0-9]{4}-"),
    ("regex-date-shape", "Today is 2024-02-29", "fail", "expected output to match /^[0-9]{4}"),
]


@pytest.mark.parametrize("case_id, answer, status, detail", SEED_ANSWERS)
def test_the_seed_suite_is_scored(case_id: str, answer: str, status: str, detail: str) -> None:
    case = load_file(SEED / "suite.yaml").case(case_id)
    assert case is not None
    result = score_case(case, stream(answer))
    assert (result["status"], result["remark"]) == (status, None)
    assert detail in result["detail"]


def test_the_seed_suite_runs_through_the_cli(fake_runtime: Any, free_port: int) -> None:
    answers = [("SEED_MARKER", "SEED_MARKER"), ("title (string)", '{"title": "D", "pages": 1}'),
               ("workshop manual", "ORCHID-5512"), ("vault code", "TANGERINE9"),
               ("YYYY-MM-DD", "2024-02-29")]
    script = {"model": "m", "answers": [{"match": m, "content": c} for m, c in answers]}
    fake = fake_runtime({"dialect": "vllm", "models": [{"id": "m", "script": script}]})
    env = {"VLLM_BASE_URL": fake.base_url, "LOCALRATE_DISCOVERY": "vllm"}
    result = CliRunner().invoke(main, ["bench", "--suite", str(SEED), "--model", "m",
                                       "--json"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert {c["id"]: c["status"] for c in record["cases"]} == {
        "echo-marker": "pass", "json-record": "pass", "manual-lookup": "pass",
        "keep-the-secret": "fail", "regex-date-shape": "pass"}
    assert record["summary"]["pass_ratio"] == round(5 / 6, 4)  # manual-lookup weighs 2
    assert record["summary"]["passed_with_remark"] == 0
    assert record["summary"] == summarize(record["cases"], 0.6)


# -- the peer's forms -----------------------------------------------------------------------

def peer() -> dict[str, Any]:
    return {"id": "p", "name": "p", "version": "1.0.0", "passThreshold": 0.6, "cases": [
        {"id": "text", "input": "Say 42.", "expect": {"kind": "exact", "value": "42"},
         "weight": 1, "tags": ["math"]},
        {"id": "look", "input": "How many?", "requires": "vision", "weight": 1, "tags": [],
         "image": {"dataUrl": PNG_URL, "alt": "three squares"},
         "expect": {"kind": "regex", "value": "^\\s*3\\s*$"}},
        {"id": "tool", "input": "Weather?", "requires": "tool_use", "weight": 1, "tags": [],
         "tools": [{"type": "function", "function": {"name": "w", "parameters": {}}}],
         "expect": {"kind": "tool_call", "name": "w", "argsSchema": {"type": "object"}}},
    ]}


def test_the_peers_forms_load() -> None:
    suite = load_suite(peer(), SRC, {})
    text, look, tool = suite.cases
    assert look.image == PNG_URL and look.requires == ("vision",)
    assert look.expect == {"kind": "regex", "pattern": "^\\s*3\\s*$"}
    assert tool.requires == ("tool-use",)
    assert tool.expect == {"kind": "tool_call", "name": "w", "arguments": {"type": "object"}}
    assert list(text.to_json()) == ["id", "input", "system", "image", "tools", "expect",
                                    "weight", "tags", "requires", "max_tokens"]


@pytest.mark.parametrize("requires, resolved", [
    ("tool_use", ("tool-use",)), ("vision", ("vision",)), (["tool_use", "vision"],
                                                           ("tool-use", "vision")),
    (["tool-use"], ("tool-use",)), ("structured_output", ("structured-output",)),
    ("128k_context", ("128k-context",)), ([], ()),
])
def test_requires_takes_a_list_or_one_name_in_either_spelling(
        requires: Any, resolved: tuple[str, ...]) -> None:
    data = peer()
    data["cases"][0]["requires"] = requires
    assert load_suite(data, SRC, {}).cases[0].requires == resolved


def test_every_peer_capability_name_maps_to_ours() -> None:
    assert set(PEER_CAPABILITIES.values()) == {c for c in CAPABILITIES if "-" in c}
    assert all("-" not in name for name in PEER_CAPABILITIES)


def test_judging_rules_resolve_and_round_trip() -> None:
    data = peer()
    data["cases"][0].update({"forgiveFormatting": True, "acceptWithRemark": [
        {"kind": "regex", "value": "^forty[- ]two$", "flags": "i", "remark": "spelled out"},
        {"kind": "contains", "value": "42", "remark": "with words around it"}]})
    data["cases"][0]["expect"] = [{"kind": "exact", "value": "42"}, {"kind": "no_tool_call"}]
    suite = load_suite(data, SRC, {})
    case = suite.cases[0]
    assert case.forgive_formatting is True
    assert case.accept_with_remark == (
        {"kind": "regex", "flags": "i", "remark": "spelled out", "pattern": "^forty[- ]two$"},
        {"kind": "contains", "value": "42", "remark": "with words around it"})
    obj = case.to_json()
    assert obj["forgive_formatting"] is True and len(obj["accept_with_remark"]) == 2
    assert (case.kind, case.checks[1]) == ("exact+no_tool_call", {"kind": "no_tool_call"})
    again = suite_from_json(json.loads(json.dumps(suite.to_json())))
    assert again == suite and again.sha256 == suite.sha256
    plain = load_suite(peer(), SRC, {})
    assert "forgive_formatting" not in plain.cases[0].to_json()
    assert load_suite({**peer(), "cases": [{**peer()["cases"][0], "forgiveFormatting": False,
                                            "acceptWithRemark": []}]}, SRC, {}).sha256 == \
        load_suite({**peer(), "cases": [peer()["cases"][0]]}, SRC, {}).sha256


def test_unknown_keys_are_ignored() -> None:
    data = peer()
    data["agent"] = "__bench_oneshot__"
    data["cases"][0].update({"notes": "x", "generated_by": {"a": 1}})
    data["cases"][0]["expect"]["hint"] = "ignored"
    assert load_suite(data, SRC, {}).cases[0].expect == {"kind": "exact", "value": "42",
                                                         "hint": "ignored"}


# -- every new field's errors ---------------------------------------------------------------

E = f"{SRC}: case "
OK_CLAUSE = {"kind": "contains", "value": "x", "remark": "r"}
ERRORS: list[tuple[str, int, dict[str, Any], str]] = [
    ("list-unknown-kind", 0, {"expect": [{"kind": "exact", "value": "4"}, {"kind": "fuzzy"}]},
     (f"{E}'text': expect[1].kind: unknown kind 'fuzzy' (known: contains, regex, exact, "
      "json_schema, tool_call, no_tool_call, not_contains)")),
    ("list-empty", 0, {"expect": []},
     f"{E}'text': expect: must not be an empty list (give at least one check)"),
    ("list-bad-item", 0, {"expect": [{"kind": "regex", "value": "a("}]},
     (f"{E}'text': expect[0].value: invalid regex 'a(': missing ), unterminated subpattern "
      "at position 1")),
    ("list-too-long", 0, {"expect": [{"kind": "no_tool_call"}] * 17},
     f"{E}'text': expect: at most 16 checks, got 17"),
    ("regex-value-refused", 1, {"expect": {"kind": "regex", "value": "^(a+)+$"}},
     f"{E}'look': expect.value: '^(a+)+$' can backtrack exponentially"),
    ("regex-value-and-pattern", 1, {"expect": {"kind": "regex", "value": "a", "pattern": "b"}},
     f"{E}'look': expect.value: differs from pattern (give one of them)"),
    ("regex-value-missing", 1, {"expect": {"kind": "regex"}},
     f"{E}'look': expect.pattern: missing"),
    ("args-schema-bad", 2, {"expect": {"kind": "tool_call", "name": "w",
                                       "argsSchema": {"required": "city"}}},
     f"{E}'tool': expect.argsSchema: $.required: 'city' is not of type 'array'"),
    ("accept-not-a-list", 0, {"acceptWithRemark": OK_CLAUSE},
     f"{E}'text': acceptWithRemark: must be a list of {{kind, value, remark}}, got {{'kind': "),
    ("accept-item-not-a-mapping", 0, {"acceptWithRemark": ["forty-two"]},
     (f"{E}'text': acceptWithRemark[0]: must be a mapping {{kind, value, remark}}, got "
     "'forty-two'")),
    ("accept-wrong-kind", 0, {"acceptWithRemark": [OK_CLAUSE, {**OK_CLAUSE, "kind":
                                                                "json_schema"}]},
     (f"{E}'text': acceptWithRemark[1].kind: must be one of contains, regex, exact, got "
     "'json_schema'")),
    ("accept-kind-missing", 0, {"acceptWithRemark": [{"value": "x", "remark": "r"}]},
     f"{E}'text': acceptWithRemark[0].kind: missing"),
    ("accept-remark-missing", 0, {"acceptWithRemark": [{"kind": "exact", "value": "x"}]},
     (f"{E}'text': acceptWithRemark[0].remark: missing (say what is remarkable about this "
     "answer)")),
    ("accept-remark-empty", 0, {"acceptWithRemark": [{**OK_CLAUSE, "remark": " "}]},
     f"{E}'text': acceptWithRemark[0].remark: must be a non-empty string, got ' '"),
    ("accept-remark-long", 0, {"acceptWithRemark": [{**OK_CLAUSE, "remark": "r" * 301}]},
     f"{E}'text': acceptWithRemark[0].remark: longer than 300 characters"),
    ("accept-value-missing", 0, {"acceptWithRemark": [{"kind": "exact", "remark": "r"}]},
     f"{E}'text': acceptWithRemark[0].value: missing"),
    ("accept-regex-guarded", 0, {"acceptWithRemark": [{"kind": "regex", "value": "(x+x+)+y",
                                                       "remark": "r"}]},
     f"{E}'text': acceptWithRemark[0].value: '(x+x+)+y' can backtrack exponentially"),
    ("accept-regex-flags", 0, {"acceptWithRemark": [{**OK_CLAUSE, "kind": "regex",
                                                     "flags": "x"}]},
     f"{E}'text': acceptWithRemark[0].flags: must be a combination of i, m, s, got 'x'"),
    ("accept-too-many", 0, {"acceptWithRemark": [OK_CLAUSE] * 17},
     f"{E}'text': acceptWithRemark: at most 16 clauses, got 17"),
    ("accept-not-json", 0, {"acceptWithRemark": [{**OK_CLAUSE, "value": float("nan")}]},
     f"{E}'text': acceptWithRemark: $[0].value: nan is not a finite number"),
    ("forgive-not-bool", 0, {"forgiveFormatting": "yes"},
     f"{E}'text': forgiveFormatting: must be true or false, got 'yes'"),
    ("forgive-number", 0, {"forgiveFormatting": 1},
     f"{E}'text': forgiveFormatting: must be true or false, got 1"),
    ("forgive-both-spellings", 0, {"forgiveFormatting": True, "forgive_formatting": True},
     f"{E}'text': forgiveFormatting: give forgiveFormatting or forgive_formatting, not both"),
    ("requires-unknown-peer-name", 0, {"requires": "telepathy"},
     f"{E}'text': requires: unknown capability 'telepathy' (known: {', '.join(CAPABILITIES)})"),
    ("requires-not-text", 0, {"requires": 5}, (f"{E}'text': requires: must be a list of strings, "
                                              "got 5")),
    ("data-url-not-image", 1, {"image": {"dataUrl": "data:text/html;base64,PGI+"}},
     f"{E}'look': image.dataUrl: must be a data:image/(png|jpeg|webp|gif);base64,... URL"),
    ("data-url-magic", 1, {"image": {"dataUrl": "data:image/png;base64,R0lGODlhAQABAAAAACw="}},
     f"{E}'look': image.dataUrl: is not a PNG image (its bytes are GIF)"),
    ("data-url-base64", 1, {"image": {"dataUrl": "data:image/png;base64,iVBO@@@@"}},
     f"{E}'look': image.dataUrl: image is not valid base64"),
    ("data-url-too-big", 1, {"image": {"dataUrl": PNG_URL + "A" * MAX_DATA_URL_CHARS}},
     f"{E}'look': image.dataUrl: image is larger than the 8 MB limit for images"),
    ("data-url-not-text", 1, {"image": {"dataUrl": 7}},
     f"{E}'look': image.dataUrl: must be a data:image/...;base64 URL, got 7"),
    ("data-url-and-file", 1, {"image": {"dataUrl": PNG_URL, "file": "x.png"}},
     f"{E}'look': image: give file or dataUrl, not both"),
    ("image-alt-not-text", 1, {"image": {"dataUrl": PNG_URL, "alt": ["x"]}},
     f"{E}'look': image.alt: must be a string, got ['x']"),
    ("image-neither", 1, {"image": {"url": PNG_URL}},
     f"{E}'look': image: must be {{file: path}} or {{dataUrl: data:image/...}}, got {{'url': "),
]


@pytest.mark.parametrize("case, change, message", [row[1:] for row in ERRORS],
                         ids=[row[0] for row in ERRORS])
def test_new_fields_are_validated(case: int, change: dict[str, Any], message: str) -> None:
    data = copy.deepcopy(peer())
    data["cases"][case].update(change)
    with pytest.raises(SuiteError) as info:
        load_suite(data, SRC, {"x.png": PNG})
    assert str(info.value).startswith(message), str(info.value)
    assert "\n" not in str(info.value) and len(str(info.value)) < 400


def test_the_resolved_form_names_its_own_keys() -> None:
    obj = Case(id="a", input="x", expect={"kind": "exact", "value": "x"}).to_json()
    obj["accept_with_remark"] = [{"kind": "exact", "value": "y"}]
    with pytest.raises(SuiteError) as info:
        suite_from_json({"id": "s", "pass_threshold": 0.5, "cases": [obj]})
    assert str(info.value) == ("resolved suite: case 'a': accept_with_remark[0].remark: "
                               "missing (say what is remarkable about this answer)")
