"""Run settings: each one's range and its one-line error, what a record holds (nothing new
when nothing new is set), and what the request body gets from them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from evaluator.page_api import call
from evaluator.records import read_records
from evaluator.request import DEFAULT_SETTINGS, SettingsError, build_request, plan_case
from evaluator.settings import (
    effective_settings,
    run_settings,
    settings_from,
    system_prompt,
)
from evaluator.suite import case_from_json

CASE = case_from_json({"id": "c", "input": "Hi", "system": "Case rules.",
                       "expect": {"kind": "contains", "value": "x"}})
PLAIN = case_from_json({"id": "p", "input": "Hi", "expect": {"kind": "contains", "value": "x"}})

BAD = [
    ({"temperature": -0.1}, "temperature: expected a number from 0 to 2, got -0.1"),
    ({"temperature": 2.5}, "temperature: expected a number from 0 to 2, got 2.5"),
    ({"temperature": "0"}, "temperature: expected a number from 0 to 2, got '0'"),
    ({"temperature": True}, "temperature: expected a number from 0 to 2, got True"),
    ({"temperature": float("nan")}, "temperature: expected a number from 0 to 2, got nan"),
    ({"top_p": 0}, "top_p: expected a number above 0 and at most 1, got 0"),
    ({"top_p": 1.01}, "top_p: expected a number above 0 and at most 1, got 1.01"),
    ({"max_tokens": 0}, "max_tokens: expected a whole number from 1 to 131072, got 0"),
    ({"max_tokens": 2.0}, "max_tokens: expected a whole number from 1 to 131072, got 2.0"),
    ({"timeout_s": 0.01}, "timeout_s: expected a number of seconds of at least 0.05, got 0.01"),
    ({"seed": -1}, "seed: expected a whole number from 0 to 9007199254740991, got -1"),
    ({"system": 5}, "system: expected text of at most 100,000 characters, got '5'"),
    ({"system": "x" * 100_001}, "system: expected text of at most 100,000 characters"),
    ({"thinking": "max"}, ("thinking: expected one of default, off, low, medium, high, "
                          "got 'max'")),
    ({"repeat": 4}, "repeat: expected one of 1, 2, 3, 5, got 4"),
    ({"repeat": "2"}, "repeat: expected one of 1, 2, 3, 5, got '2'"),
    ({"warmup": "yes"}, "warmup: expected true or false, got 'yes'"),
    ({"from_engine": ["colour"]}, "from_engine: expected a list of setting names"),
]


@pytest.mark.parametrize(("given", "message"), BAD)
def test_a_bad_setting_is_one_line_naming_it(given: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError) as err:
        settings_from(given)
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)
    reply = json.loads(call(json.dumps({"op": "run_settings", "args": given})))
    assert reply == {"ok": False, "error": str(err.value)}


def test_an_unknown_setting_is_named() -> None:
    with pytest.raises(SettingsError, match=r"^colour: not a setting \(known: temperature"):
        settings_from({"colour": 1})


def test_nothing_new_set_writes_the_settings_as_before() -> None:
    assert run_settings() == DEFAULT_SETTINGS
    assert run_settings(1024, 120, 7) == {**DEFAULT_SETTINGS, "seed": 7}
    at_defaults = run_settings(temperature=0, system="", thinking="default", repeat=1,
                               warmup=True, from_engine=[])
    assert at_defaults == DEFAULT_SETTINGS
    assert json.dumps(run_settings(timeout_s=120.0)) == json.dumps(DEFAULT_SETTINGS)


def test_new_settings_are_written_when_set() -> None:
    settings = run_settings(temperature=0.7, top_p=1.0, system="Be brief.", thinking="off",
                            repeat=3, warmup=False, from_engine=["top_p", "temperature"])
    assert settings == {"temperature": 0.7, "max_tokens": 1024, "timeout_s": 120,
                        "top_p": 1, "system": "Be brief.", "thinking": "off", "repeat": 3,
                        "warmup": False, "from_engine": ["temperature", "top_p"]}
    assert effective_settings({"temperature": 0}) == {
        "temperature": 0, "max_tokens": 1024, "timeout_s": 120, "top_p": None, "system": "",
        "thinking": "default", "repeat": 1, "warmup": True, "from_engine": []}


def test_the_run_system_prompt_comes_first_in_one_message() -> None:
    assert system_prompt("Run rules.", "Case rules.") == "Run rules.\n\nCase rules."
    assert system_prompt(None, "Case rules.") == "Case rules."
    assert system_prompt("Run rules.", None) == "Run rules."
    assert system_prompt("", None) is None
    body = build_request(CASE, "m", {"system": "Run rules."})
    assert body["messages"] == [{"role": "system", "content": "Run rules.\n\nCase rules."},
                                {"role": "user", "content": "Hi"}]
    alone = build_request(PLAIN, "m", {"system": "Run rules."})
    assert alone["messages"][0] == {"role": "system", "content": "Run rules."}
    assert build_request(PLAIN, "m", {})["messages"] == [{"role": "user", "content": "Hi"}]


def test_the_body_gets_top_p_and_temperature_but_never_the_seed() -> None:
    body = build_request(PLAIN, "m", run_settings(temperature=1.5, top_p=0.9, seed=42))
    assert (body["temperature"], body["top_p"]) == (1.5, 0.9)
    assert "seed" not in body
    assert "top_p" not in build_request(PLAIN, "m", run_settings())


def test_the_run_system_prompt_counts_toward_the_context() -> None:
    settings = run_settings(max_tokens=10, system="word " * 200)
    plan = plan_case(PLAIN, "m", [], settings, context_length=100)
    assert "skipped" in plan and "prompt needs about" in plan["skipped"]["detail"]
    assert "body" in plan_case(PLAIN, "m", [], run_settings(max_tokens=10), 100)


def test_a_record_with_the_new_settings_reads_and_a_bad_one_is_named() -> None:
    record = {"format": "localrate.run/1",
              "suite": {"id": "s", "version": "1", "sha256": "x"},
              "model": {"id": "m", "runtime": "ollama", "base_url": "u", "capabilities": []},
              "started_at": "t",
              "settings": run_settings(top_p=0.5, thinking="low", repeat=2, warmup=False),
              "warmup": {"ttft_ms": 12.5, "total_ms": 30.0, "status": "ok", "detail": ""},
              "cases": [{"id": "a", "status": "pass", "score": 1.0, "attempt": 0},
                        {"id": "a", "status": "fail", "score": 0.0, "attempt": 1}],
              "summary": {"passed": 1, "failed": 1, "skipped": 0, "errors": 0, "total": 2,
                          "pass_ratio": 0.5, "pass_threshold": 0.5, "verdict": "pass"}}
    assert read_records(json.dumps(record), "r.json")["runs"][0] == record
    for path, value, words in [
            (("settings", "thinking"), "max", "settings.thinking: expected one of default"),
            (("settings", "top_p"), 0, "settings.top_p: expected a number above 0"),
            (("settings", "repeat"), 0, "settings.repeat: expected an integer at least 1"),
            (("settings", "warmup"), 1, "settings.warmup: expected true or false"),
            (("warmup", "ttft_ms"), "fast", "warmup.ttft_ms: expected a number or null")]:
        bad = json.loads(json.dumps(record))
        bad[path[0]][path[1]] = value
        with pytest.raises(ValueError, match=f"^r.json: {words}"):
            read_records(json.dumps(bad), "r.json")
