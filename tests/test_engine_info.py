"""evaluator.engine_info: the plan per runtime, and the readers on recorded and faithful
answers, on garbage, HTTP errors and timeouts (a note each, never an exception).

tests/data/engine/llamacpp_props.json and llamacpp_metrics.txt were recorded from llama.cpp's
own server (the xllamacpp wheel, SmolLM2, `--metrics`). The Ollama answers are api/types.go's
``ProcessModelResponse`` as Ollama's docs/api.md shows it; the vLLM text is what its V1
PrometheusStatLogger exports (model_name and engine labels).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evaluator import page_api
from evaluator.engine_info import ENGINE_PATH, engine_plan, read_engine
from evaluator.prometheus import parse_prometheus

DATA = Path(__file__).parent / "data" / "engine"
PROPS = (DATA / "llamacpp_props.json").read_text("utf-8")
METRICS = (DATA / "llamacpp_metrics.txt").read_text("utf-8")
PS = json.dumps({"models": [
    {"name": "other:1b", "model": "other:1b", "size": 1, "size_vram": 1},
    {"name": "mistral:latest", "model": "mistral:latest", "size": 5137025024,
     "digest": "2ae6f6dd7a3dd734790bbbf58b8909a606e0e7e97e94b7604e0aa7ae4490e6d8",
     "details": {"parent_model": "", "format": "gguf", "family": "llama",
                 "families": ["llama"], "parameter_size": "7.2B",
                 "quantization_level": "Q4_0"},
     "expires_at": "2024-06-04T14:38:31.83753-07:00", "size_vram": 3082215014,
     "context_length": 8192}]})
VLLM_METRICS = """# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{engine="0",model_name="Qwen/Qwen3-0.6B"} 0.0421
vllm:kv_cache_usage_perc{engine="0",model_name="another"} 0.9
vllm:cache_config_info{block_size="16",cache_dtype="auto",engine="0",gpu_memory_utilization="0.9",num_gpu_blocks="27153"} 1.0
"""
LMS_ONE = json.dumps({"id": "qwen2-vl-7b-instruct", "object": "model", "type": "vlm",
                      "publisher": "mlx-community", "arch": "qwen2_vl",
                      "compatibility_type": "mlx", "quantization": "4bit",
                      "state": "not-loaded", "max_context_length": 32768})
ENGINE = json.dumps({"engine": "localrate MLX bridge", "model": "m", "context_length": 8192,
                     "versions": {"mlx": "0.32.4", "mlx-lm": "0.32.2"}, "device": "cpu",
                     "memory": {"active_bytes": 548_000_000, "peak_bytes": 600_000_000,
                                "cache_bytes": 0}, "generations": 3, "notes": []})


def ok(key: str, body: str) -> dict[str, Any]:
    return {"key": key, "status": 200, "body": body, "error": None}


def fig(value: Any, source: str) -> dict[str, Any]:
    return {"value": value, "source": source}


@pytest.mark.parametrize(("runtime", "model", "paths"), [
    ("ollama", "qwen3:4b", ["/api/version", "/api/ps"]),
    ("llamacpp", "x", ["/props", "/metrics"]),
    ("vllm", "Qwen/Qwen3-0.6B", ["/version", "/metrics"]),
    ("LM Studio", "org/qwen 4b", ["/api/v0/models/org%2Fqwen%204b", "/api/v0/models"]),
    ("mlx", "m", [ENGINE_PATH]),
    ("nonesuch", "m", []),
])
def test_plan_per_runtime(runtime: str, model: str, paths: list[str]) -> None:
    plan = engine_plan(runtime, "http://127.0.0.1:9/", model)
    assert [row["path"] for row in plan] == paths
    assert [row["url"] for row in plan] == [f"http://127.0.0.1:9{p}" for p in paths]
    assert {row["method"] for row in plan} <= {"GET"}


READS = [
    ("ollama", "mistral", [ok("version", '{"version":"0.12.6"}'), ok("ps", PS)], {
        "version": fig("0.12.6", "GET /api/version → version"),
        "memory": {"total_bytes": fig(5137025024, "GET /api/ps → models[mistral:latest].size"),
                   "gpu_bytes": fig(3082215014,
                                    "GET /api/ps → models[mistral:latest].size_vram"),
                   "gpu_fraction": fig(0.6, "GET /api/ps → models[mistral:latest].size_vram "
                                            "/ size")},
        "context": {"loaded_tokens": fig(8192,
                                         "GET /api/ps → models[mistral:latest].context_length")},
        "details": {"quantization": fig("Q4_0", "GET /api/ps → models[mistral:latest]"
                                                ".details.quantization_level"),
                    "parameter_size": fig("7.2B", "GET /api/ps → models[mistral:latest]"
                                                  ".details.parameter_size")},
        "kv_cache": None,
        "notes": [("mistral is partly off the GPU: 60% of its 5.1 GB in GPU memory, the rest "
                  "in system RAM")]}),
    ("llamacpp", "SmolLM2-135M-Instruct", [ok("props", PROPS), ok("metrics", METRICS)], {
        "version": fig("b0-unknown", "GET /props → build_info"),
        "memory": {},
        "context": {"loaded_tokens": fig(4096, "GET /props → default_generation_settings.n_ctx"),
                    "largest_seen_tokens": fig(38, "GET /metrics → llamacpp:n_tokens_max")},
        "details": {"slots": fig(1, "GET /props → total_slots"),
                    "quantization": fig("Q4_1", "GET /props → model_ftype")},
        "kv_cache": None,
        "notes": ["llama.cpp's server reports no memory figures over HTTP",
                  ("this llama.cpp build exports no KV-cache gauge on /metrics (newer builds "
                  "dropped llamacpp:kv_cache_usage_ratio)")]}),
    ("llamacpp", "old", [ok("props", '{"n_ctx": 2048, "total_slots": 4, "build_info": "b3000"}'),
                         ok("metrics", "llamacpp:kv_cache_usage_ratio 0.25\n"
                                       "llamacpp:kv_cache_tokens 512\n")], {
        "version": fig("b3000", "GET /props → build_info"), "memory": {},
        "context": {"loaded_tokens": fig(2048, "GET /props → n_ctx")},
        "details": {"slots": fig(4, "GET /props → total_slots")},
        "kv_cache": {"usage": fig(0.25, "GET /metrics → llamacpp:kv_cache_usage_ratio"),
                     "tokens": fig(512, "GET /metrics → llamacpp:kv_cache_tokens")},
        "notes": ["llama.cpp's n_ctx is per slot: 4 slots share the context",
                  "llama.cpp's server reports no memory figures over HTTP"]}),
    ("vllm", "Qwen/Qwen3-0.6B", [ok("version", '{"version": "0.11.0"}'),
                                 ok("metrics", VLLM_METRICS)], {
        "version": fig("0.11.0", "GET /version → version"),
        "memory": {"gpu_memory_utilization": fig(
            0.9, "GET /metrics → vllm:cache_config_info{gpu_memory_utilization}")},
        "context": {}, "details": {},
        "kv_cache": {"usage": fig(0.0421, "GET /metrics → vllm:kv_cache_usage_perc"),
                     "capacity_tokens": fig(434448, "GET /metrics → vllm:cache_config_info"
                                                    "{num_gpu_blocks × block_size}"),
                     "dtype": fig("auto", "GET /metrics → vllm:cache_config_info{cache_dtype}")},
        "notes": [("vLLM reports no memory in use over HTTP; gpu_memory_utilization is the "
                  "share of GPU memory it may take")]}),
    ("lmstudio", "qwen2-vl-7b-instruct", [ok("model", LMS_ONE)], {
        "version": None, "memory": {},
        "context": {"max_tokens": fig(32768, "GET /api/v0/models/qwen2-vl-7b-instruct → "
                                             "max_context_length")},
        "details": {k: fig(v, f"GET /api/v0/models/qwen2-vl-7b-instruct → {f}") for k, v, f in (
            ("quantization", "4bit", "quantization"), ("arch", "qwen2_vl", "arch"),
            ("format", "mlx", "compatibility_type"), ("state", "not-loaded", "state"),
            ("type", "vlm", "type"))},
        "kv_cache": None,
        "notes": ["LM Studio says qwen2-vl-7b-instruct is not-loaded",
                  "LM Studio's model info (/api/v0) tells neither its version nor memory in use"]}),
    ("mlx", "m", [ok("engine", ENGINE)], {
        "version": fig("mlx-lm 0.32.2", "GET /v1/engine → versions.mlx-lm"),
        "memory": {"active_bytes": fig(548_000_000, "GET /v1/engine → memory.active_bytes"),
                   "peak_bytes": fig(600_000_000, "GET /v1/engine → memory.peak_bytes"),
                   "cache_bytes": fig(0, "GET /v1/engine → memory.cache_bytes")},
        "context": {"max_tokens": fig(8192, "GET /v1/engine → context_length")},
        "details": {"mlx_version": fig("0.32.4", "GET /v1/engine → versions.mlx"),
                    "device": fig("cpu", "GET /v1/engine → device")},
        "kv_cache": None, "notes": []}),
]


@pytest.mark.parametrize(("runtime", "model", "answers", "expected"), READS,
                         ids=[f"{r[0]}-{r[1]}" for r in READS])
def test_reads_recorded_answers(runtime: str, model: str, answers: list[dict[str, Any]],
                                expected: dict[str, Any]) -> None:
    report = read_engine(runtime, model, answers)
    assert {k: v for k, v in report.items() if k not in ("runtime", "model")} == expected


def test_ollama_cpu_only_and_a_model_that_is_not_loaded() -> None:
    cpu = json.dumps({"models": [{"name": "qwen3:4b", "size": 2_000_000_000, "size_vram": 0}]})
    report = read_engine("ollama", "qwen3:4b", [ok("version", '{"version":"1"}'), ok("ps", cpu)])
    assert report["memory"]["gpu_fraction"]["value"] == 0
    assert report["notes"] == [("qwen3:4b runs on the CPU: none of its 2.0 GB is in GPU memory "
                               "(size_vram 0)")]
    gone = read_engine("ollama", "qwen3:8b", [ok("version", '{"version":"1"}'), ok("ps", cpu)])
    assert gone["memory"] == {}
    assert gone["notes"] == [("qwen3:8b is not loaded in Ollama now (GET /api/ps lists: "
                             "qwen3:4b)")]


def test_lmstudio_falls_back_to_the_list_for_ids_its_route_refuses() -> None:
    listing = json.dumps({"object": "list", "data": [
        {"id": "org/m", "quantization": "Q8_0", "state": "loaded", "max_context_length": 4096,
         "loaded_context_length": 2048}]})
    report = read_engine("lmstudio", "org/m", [
        {"key": "model", "status": 404, "body": '{"error":"Unexpected endpoint"}',
         "error": None}, ok("models", listing)])
    assert report["context"] == {
        "loaded_tokens": fig(2048, "GET /api/v0/models → data[org/m].loaded_context_length"),
        "max_tokens": fig(4096, "GET /api/v0/models → data[org/m].max_context_length")}
    assert report["details"]["quantization"]["value"] == "Q8_0"


def test_vllm_before_0_9_2_exports_the_old_gauge_name() -> None:
    old = 'vllm:gpu_cache_usage_perc{model_name="m"} 0.5\n'
    report = read_engine("vllm", "m", [ok("version", '{"version": "0.8.5"}'), ok("metrics", old)])
    assert report["kv_cache"] == {"usage": fig(0.5, "GET /metrics → vllm:gpu_cache_usage_perc")}


BAD = [  # (runtime, answers, the notes that must appear)
    ("ollama", [{"key": "version", "status": None, "body": None, "error": "timeout"},
                {"key": "ps", "status": 500, "body": '{"error":"llama runner crashed"}',
                 "error": None}],
     ["GET /api/version: timed out", "GET /api/ps: HTTP 500 (llama runner crashed)"]),
    ("ollama", [ok("version", "<html>not json"), ok("ps", "[1, 2]")],
     ["GET /api/version: answered, but not JSON: '<html>not json'",
      "GET /api/ps: answered list, not a JSON object"]),
    ("ollama", [ok("version", '{"version": 12}'), ok("ps", '{"models": "x"}')],
     ["GET /api/version: no 'version' text in the answer",
      "m is not loaded in Ollama now (GET /api/ps lists: nothing)"]),
    ("llamacpp", [{"key": "props", "status": None, "body": None, "error": "closed"},
                  {"key": "metrics", "status": 501,
                   "body": '{"error":{"code":501,"message":"This server does not support '
                           'metrics endpoint. Start it with `--metrics`"}}', "error": None}],
     ["GET /props: connection refused",
      "GET /metrics: HTTP 501 — /metrics is off; start llama-server with --metrics"]),
    ("llamacpp", [ok("props", "[" * 5000), ok("metrics", "\x00\x01 garbage {{{")],
     ["GET /props: answered, but not JSON: '" + "[" * 40 + "'",
      "GET /metrics: answered, but with no Prometheus samples: '\x00\x01 garbage {{{'"]),
    ("vllm", [ok("version", '{"version": "0.11.0"}'), ok("metrics", "vllm:other 1\n")],
     ["vLLM's /metrics has no vllm:kv_cache_usage_perc gauge"]),
    ("mlx", [{"key": "engine", "status": 404, "body": "{}", "error": None}],
     [("GET /v1/engine: HTTP 404 — not localrate's MLX bridge (mlx_lm.server tells no version "
      "or memory)")]),
    ("lmstudio", [], ["GET /api/v0/models: no answer recorded"]),
    ("ollama", "not a list", ["GET /api/version: no answer recorded"]),
    ("ollama", [None, 3, {"key": 7}], ["GET /api/ps: no answer recorded"]),
]


@pytest.mark.parametrize(("runtime", "answers", "notes"), BAD)
def test_failures_are_notes(runtime: str, answers: Any, notes: list[str]) -> None:
    report = read_engine(runtime, "m", answers)
    for line in notes:
        assert line in report["notes"], report["notes"]
    json.dumps(report, allow_nan=False)  # always a strict-JSON object


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -5, True, "12", None, [1]])
def test_figures_take_only_their_real_type(value: Any) -> None:
    ps = json.dumps({"models": [{"name": "m", "size": value, "size_vram": value,
                                 "context_length": value}]})
    report = read_engine("ollama", "m", [ok("version", '{"version":"1"}'), ok("ps", ps)])
    assert report["memory"] == {} and report["context"] == {}


def test_prometheus_parser() -> None:
    text = ('# HELP x y\n  a_b:c{l="v\\"q",m="2"} 1.5e3 1700000000\n'
            'bad line here\nn NaN\ninf +Inf\nno_value\nlabels{a="1" 3\nplain 7\n')
    samples = parse_prometheus(text)
    assert [(s.name, s.labels, s.value) for s in samples] == [
        ("a_b:c", {"l": 'v"q', "m": "2"}, 1500.0), ("plain", {}, 7.0)]
    assert len(parse_prometheus(METRICS)) == 15


def test_unknown_runtime_is_a_note() -> None:
    assert read_engine("tgi", "m", [])["notes"] == [
        "localrate reads no engine facts from runtime 'tgi'"]


def test_page_ops_agree_with_direct_calls() -> None:
    def call(op: str, **args: Any) -> Any:
        reply = json.loads(page_api.call(json.dumps({"op": op, "args": args})))
        assert reply["ok"] is True, reply
        return reply["value"]

    assert call("engine_plan", runtime="ollama", base_url="http://127.0.0.1:11434",
                model_id="m") == engine_plan("ollama", "http://127.0.0.1:11434", "m")
    answers = [ok("props", PROPS), ok("metrics", METRICS)]
    assert call("read_engine", runtime="llamacpp", model_id="m", responses=answers) == \
        read_engine("llamacpp", "m", answers)
    machine = call("browser_machine", facts={"hardware_concurrency": 8})
    assert machine["cores"] == fig(8, "navigator.hardwareConcurrency")
