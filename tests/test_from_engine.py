"""`--from-engine`: the runtime's own sampling defaults, read from Ollama's `/api/show`
`parameters` text and llama.cpp's `/props` `default_generation_settings`, in the shapes
the runtimes send (Ollama server/routes.go GetModelInfo writes `%-30s %#v` per value, one
line per list item; llama.cpp's get_props nests them under `params`, older builds did not);
options given explicitly win, and the record names what came from the engine."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from evaluator.engine_defaults import (
    engine_defaults_plan,
    merge_engine_defaults,
    ollama_parameters,
    parse_engine_defaults,
)
from evaluator.page_api import call
from server.cli.main import main
from tests.test_cli import env_for

MODEL = "qwen3:4b"
ANSWERS = {"answers": [{"match": "", "content": "Paris 4 hello"}]}
# As `ollama show --parameters qwen3:4b` prints them (Go's %-30s %#v).
OLLAMA_TEXT = ('repeat_penalty                 1\n'
               'stop                           "<|im_start|>"\n'
               'stop                           "<|im_end|>"\n'
               'temperature                    0.6\n'
               'top_k                          20\n'
               'top_p                          0.95')
LLAMACPP_PROPS = {"default_generation_settings": {
    "params": {"n_predict": -1, "seed": 4294967295, "temperature": 0.8, "dynatemp_range": 0.0,
               "top_k": 40, "top_p": 0.95, "min_p": 0.05}, "n_ctx": 4096},
    "total_slots": 1, "model_path": "/models/m.gguf", "build_info": "b6000"}


def test_ollama_parameters_text() -> None:
    assert ollama_parameters(OLLAMA_TEXT) == {
        "repeat_penalty": 1, "stop": ["<|im_start|>", "<|im_end|>"], "temperature": 0.6,
        "top_k": 20, "top_p": 0.95}
    read = parse_engine_defaults("ollama", 200, json.dumps({"parameters": OLLAMA_TEXT}))
    assert read == {"values": {"temperature": 0.6, "top_p": 0.95},
                    "detail": "ollama: temperature 0.6, top_p 0.95"}


@pytest.mark.parametrize("props", [
    LLAMACPP_PROPS,  # current builds: under params
    {"default_generation_settings": {"n_ctx": 4096, "temperature": 0.8, "top_p": 0.95,
                                     "n_predict": -1}},  # older builds: flat
])
def test_llamacpp_props(props: dict[str, Any]) -> None:
    assert parse_engine_defaults("llamacpp", 200, json.dumps(props))["values"] == \
        {"temperature": 0.8, "top_p": 0.95}


@pytest.mark.parametrize(("runtime", "status", "body", "values", "detail"), [
    ("ollama", 200, json.dumps({"license": ""}), {}, "ollama: no sampling defaults set"),
    ("ollama", 404, json.dumps({"error": "model 'x' not found"}), {},
     "ollama: no usable answer (HTTP 404)"),
    ("llamacpp", 200, "not json", {}, "llamacpp: no usable answer (HTTP 200)"),
    ("llamacpp", 200, json.dumps({"default_generation_settings": {"params": {
        "temperature": 3.5, "top_p": 0.9, "n_predict": 256}}}),
     {"top_p": 0.9, "max_tokens": 256},
     "llamacpp: top_p 0.9, max_tokens 256 (out of range, not used: temperature 3.5)"),
    ("ollama", 200, json.dumps({"parameters": "num_predict                    -1"}), {},
     "ollama: no sampling defaults set"),
    ("vllm", 200, "{}", {}, "vllm: exposes no sampling defaults"),
])
def test_what_cannot_be_used_is_said(runtime: str, status: int, body: str,
                                     values: dict[str, Any], detail: str) -> None:
    assert parse_engine_defaults(runtime, status, body) == {"values": values,
                                                            "detail": detail}


def test_plans_and_merge() -> None:
    assert engine_defaults_plan("ollama", "http://h:1/", "m") == {
        "method": "POST", "url": "http://h:1/api/show", "body": {"model": "m"}}
    assert engine_defaults_plan("llamacpp", "http://h:2", "m") == {
        "method": "GET", "url": "http://h:2/props", "body": None}
    assert engine_defaults_plan("lmstudio", "http://h:3", "m") is None
    merged, taken = merge_engine_defaults({"temperature": 0.2, "top_p": None, "seed": 1},
                                          {"temperature": 0.6, "top_p": 0.95})
    assert (merged, taken) == ({"temperature": 0.2, "seed": 1, "top_p": 0.95}, ["top_p"])
    reply = json.loads(call(json.dumps({"op": "merge_engine_defaults", "args": {
        "explicit": {"temperature": None}, "engine": {"temperature": 0.6}}})))
    assert reply["value"] == {"settings": {"temperature": 0.6}, "from_engine": ["temperature"]}


def bench(env: dict[str, str], *args: str) -> Any:
    return CliRunner().invoke(main, ["bench", "--suite", "smoke", "--model", MODEL, "--json",
                                     "--no-warmup", "--from-engine", *args],
                              env=env, catch_exceptions=False)


def test_ollama_defaults_are_used_and_named(fake_runtime: Any) -> None:
    fake = fake_runtime({"dialect": "ollama", "models": [{"id": MODEL, "script": ANSWERS, "meta": {
        "parameters": {"temperature": 0.6, "top_p": 0.95, "top_k": 20,
                       "stop": ["<|im_start|>", "<|im_end|>"]}}}]})
    result = bench(env_for({"ollama": fake}))
    assert result.exit_code == 0, result.output
    settings = json.loads(result.stdout)["settings"]
    assert (settings["temperature"], settings["top_p"], settings["from_engine"]) == \
        (0.6, 0.95, ["temperature", "top_p"])
    assert settings["max_tokens"] == 1024
    assert {(b["temperature"], b["top_p"]) for b in fake.requests} == {(0.6, 0.95)}
    assert f"--from-engine: {MODEL}: ollama: temperature 0.6, top_p 0.95" in result.stderr
    shows = [e for e in fake.log if e["path"] == "/api/show"]
    assert shows[-1]["body"] == {"model": MODEL}


def test_explicit_options_win_over_llamacpp_props(fake_runtime: Any) -> None:
    fake = fake_runtime({"dialect": "llamacpp", "models": [{"id": MODEL, "script": ANSWERS,
                                                            "meta": {"params": {
                                                                "temperature": 0.7,
                                                                "top_p": 0.8,
                                                                "n_predict": 64}}}]})
    result = bench(env_for({"llamacpp": fake}), "--temperature", "0.1")
    assert result.exit_code == 0, result.output
    settings = json.loads(result.stdout)["settings"]
    assert (settings["temperature"], settings["top_p"], settings["max_tokens"]) == \
        (0.1, 0.8, 64)
    assert settings["from_engine"] == ["max_tokens", "top_p"]
    explicit = bench(env_for({"llamacpp": fake}), "--max-tokens", "100", "--top-p", "0.5")
    settings = json.loads(explicit.stdout)["settings"]
    assert (settings["temperature"], settings["top_p"], settings["max_tokens"],
            settings["from_engine"]) == (0.7, 0.5, 100, ["temperature"])


def test_a_runtime_without_defaults_says_so(fake_runtime: Any) -> None:
    fake = fake_runtime({"dialect": "vllm", "models": [{"id": MODEL, "script": ANSWERS}]})
    result = bench(env_for({"vllm": fake}))
    assert result.exit_code == 0, result.output
    settings = json.loads(result.stdout)["settings"]
    assert "from_engine" not in settings and settings["temperature"] == 0
    assert "vllm: exposes no sampling defaults; localrate's are used" in result.stderr
