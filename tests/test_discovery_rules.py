"""evaluator/discovery.py: probe plan, probe interpretation, metadata merge, CORS recipes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from evaluator.discovery import (
    RUNTIMES,
    check_endpoint,
    cors_recipe,
    discovery_table,
    interpret_probe,
    merge_metadata,
    metadata_plan,
    probe_plan,
)

DEFAULT_URLS = [
    "http://127.0.0.1:11434/api/tags",
    "http://127.0.0.1:1234/v1/models",
    "http://127.0.0.1:8000/v1/models",
    "http://127.0.0.1:8080/v1/models",
    "http://127.0.0.1:8081/v1/models",
]


def test_runtimes_table() -> None:
    assert [(r["name"], r["label"], r["port"], r["env"], r["list_path"], r["metadata"])
            for r in RUNTIMES] == [
        ("ollama", "Ollama", 11434, "OLLAMA_BASE_URL", "/api/tags", "show"),
        ("lmstudio", "LM Studio", 1234, "LM_STUDIO_BASE_URL", "/v1/models", "v0"),
        ("vllm", "vLLM", 8000, "VLLM_BASE_URL", "/v1/models", None),
        ("llamacpp", "llama.cpp", 8080, "LLAMACPP_BASE_URL", "/v1/models", "props"),
        ("mlx", "MLX", 8081, "MLX_BASE_URL", "/v1/models", None),
    ]


def test_default_plan() -> None:
    plan = probe_plan({})
    assert [p["url"] for p in plan] == DEFAULT_URLS
    assert plan[0] == {"runtime": "ollama", "base_url": "http://127.0.0.1:11434",
                       "url": "http://127.0.0.1:11434/api/tags"}


@pytest.mark.parametrize(("env", "base"), [
    ({"OLLAMA_HOST": "0.0.0.0"}, "http://127.0.0.1:11434"),
    ({"OLLAMA_HOST": "127.0.0.1:11500"}, "http://127.0.0.1:11500"),
    ({"OLLAMA_HOST": "http://gpu-box:9000"}, "http://gpu-box:9000"),
    ({"OLLAMA_HOST": "localhost"}, "http://127.0.0.1:11434"),
    ({"OLLAMA_HOST": "[::]:11434"}, "http://127.0.0.1:11434"),
    ({"OLLAMA_HOST": "  "}, "http://127.0.0.1:11434"),
    ({"OLLAMA_HOST": "0.0.0.0", "OLLAMA_BASE_URL": "http://localhost:7000/"},
     "http://127.0.0.1:7000"),
])
def test_ollama_env(env: dict[str, str], base: str) -> None:
    assert probe_plan(env)[0]["base_url"] == base


@pytest.mark.parametrize(("value", "base"), [
    ("http://localhost:1234", "http://127.0.0.1:1234"),
    ("http://localhost:1234/", "http://127.0.0.1:1234"),
    ("http://127.0.0.1:1234/v1", "http://127.0.0.1:1234"),
    ("http://127.0.0.1:1234/v1/", "http://127.0.0.1:1234"),
    ("https://box.lan/lmstudio/v1", "https://box.lan/lmstudio"),
    ("127.0.0.1:4321", "http://127.0.0.1:4321"),
])
def test_base_url_env(value: str, base: str) -> None:
    plan = probe_plan({"LM_STUDIO_BASE_URL": value})
    assert plan[1] == {"runtime": "lmstudio", "base_url": base, "url": base + "/v1/models"}


def test_bad_base_url_names_the_variable() -> None:
    with pytest.raises(ValueError, match="VLLM_BASE_URL: 'ftp://x' is not an http"):
        probe_plan({"VLLM_BASE_URL": "ftp://x"})


def test_discovery_filter() -> None:
    plan = probe_plan({"LOCALRATE_DISCOVERY": "mlx, ollama"})
    assert [p["runtime"] for p in plan] == ["ollama", "mlx"]
    assert [p["runtime"] for p in probe_plan({}, only=["LM-Studio", "llama.cpp"])] == [
        "lmstudio", "llamacpp"]
    assert len(probe_plan({"LOCALRATE_DISCOVERY": " "})) == 5


def test_discovery_filter_unknown_name() -> None:
    with pytest.raises(ValueError) as err:
        probe_plan({"LOCALRATE_DISCOVERY": "ollama,olama"})
    assert str(err.value) == ("LOCALRATE_DISCOVERY: unknown runtime 'olama'; "
                              "valid: ollama, lmstudio, vllm, llamacpp, mlx")


def test_custom_endpoints_and_dedup() -> None:
    plan = probe_plan({"LOCALRATE_DISCOVERY": "ollama"},
                      custom=[{"runtime": "vllm", "base_url": "localhost:9000/v1"},
                              {"runtime": "ollama", "base_url": "http://127.0.0.1:11434"}])
    assert plan == [
        {"runtime": "ollama", "base_url": "http://127.0.0.1:11434",
         "url": "http://127.0.0.1:11434/api/tags"},
        {"runtime": "vllm", "base_url": "http://127.0.0.1:9000",
         "url": "http://127.0.0.1:9000/v1/models"},
    ]
    shared = probe_plan({"MLX_BASE_URL": "http://127.0.0.1:8080"})
    assert [p["runtime"] for p in shared] == ["ollama", "lmstudio", "vllm", "llamacpp"]


# (typed text, dialect, normalised base URL or None, words the problem must contain)
ENDPOINTS: list[tuple[Any, Any, str | None, str]] = [
    ("127.0.0.1:11500", "ollama", "http://127.0.0.1:11500", ""),
    ("  localhost:9000/v1/ ", "vllm", "http://127.0.0.1:9000", ""),
    ("localhost", "ollama", "http://127.0.0.1:11434", ""),
    ("127.0.0.1", "lmstudio", "http://127.0.0.1:1234", ""),
    ("HTTP://LOCALHOST:5", "mlx", "http://127.0.0.1:5", ""),
    ("https://127.0.0.1:8443/", "llamacpp", "https://127.0.0.1:8443", ""),
    ("0.0.0.0:7000", "LM Studio", "http://127.0.0.1:7000", ""),
    ("[::]:9000", "vllm", "http://127.0.0.1:9000", ""),
    ("javascript:alert(1)", "ollama", None, "'javascript:' is not allowed"),
    ("JavaScript://127.0.0.1:1/%0aalert(1)", "ollama", None, "only http:// and https://"),
    ("data:text/html,<script>alert(1)</script>", "ollama", None, "'data:' is not allowed"),
    ("file:///etc/passwd", "ollama", None, "only http:// and https://"),
    ("ftp://127.0.0.1:21", "ollama", None, "only http:// and https://"),
    ("localhost:abc", "ollama", None, "not host:port"),
    ("http://user:pw@127.0.0.1:1234", "ollama", None, "user name or password"),
    ("evil.example@127.0.0.1:1234", "ollama", None, "user name or password"),
    ("127.0.0.1:1234/../../admin", "ollama", None, "a path is not allowed"),
    ("127.0.0.1:1234/api", "ollama", None, "a path is not allowed"),
    ("127.0.0.1:1234?x=1", "ollama", None, "query or fragment"),
    ("127.0.0.1:1234#@evil.example", "ollama", None, "query or fragment"),
    ("http://127.0.0.1:80\\@evil.example", "ollama", None, "backslashes"),
    ("127.0.0.1 :1234", "ollama", None, "spaces"),
    ("127.0.0.1:1234\n", "ollama", "http://127.0.0.1:1234", ""),
    ("127.0.0.1:12\x0034", "ollama", None, "control characters"),
    ("127.0.0.1:0", "ollama", None, "from 1 to 65535"),
    ("127.0.0.1:65536", "ollama", None, "from 1 to 65535"),
    ("127.0.0.1:-1", "ollama", None, "from 1 to 65535"),
    ("http://", "ollama", None, "no host"),
    (":8080", "ollama", None, "no host"),
    ("evil.example:80", "ollama", None, "only this computer"),
    ("10.0.0.5:11434", "ollama", None, "only this computer"),
    ("127.0.0.2:80", "ollama", None, "only this computer"),
    ("http://[::1]:80", "ollama", None, "only this computer"),
    ("127.0.0.1%2f:80", "ollama", None, "only this computer"),
    ("", "ollama", None, "enter host:port"),
    ("   ", "ollama", None, "enter host:port"),
    ("1" * 201, "ollama", None, "longer than 200 characters"),
    (5, "ollama", None, "not text"),
    (None, "ollama", None, "not text"),
    ({"toString": "x"}, "ollama", None, "not text"),
    ("127.0.0.1:1234", "tgi", None, "unknown runtime 'tgi'"),
    ("127.0.0.1:1234", None, None, "the runtime is missing or not text"),
    ("127.0.0.1:1234", ["vllm"], None, "the runtime is missing or not text"),
]


@pytest.mark.parametrize(("text", "dialect", "base", "problem"), ENDPOINTS)
def test_check_endpoint(text: Any, dialect: Any, base: str | None, problem: str) -> None:
    checked = check_endpoint(text, dialect)
    assert checked["base_url"] == base
    if base is None:
        assert problem in (checked["problem"] or ""), checked
        assert "\n" not in (checked["problem"] or "")
    else:
        assert checked["problem"] is None


def test_bad_custom_rows_are_left_out_and_the_others_probed() -> None:
    """One bad stored entry (any of them, anywhere in the list) never stops the others."""
    custom = [{"runtime": "ollama", "base_url": "javascript:alert(1)"},
              {"runtime": "vllm", "base_url": "127.0.0.1:9000"},
              "not a row", {"runtime": "tgi", "base_url": "127.0.0.1:1"},
              {"runtime": "mlx", "base_url": {"toString": "x"}},
              {"runtime": "mlx", "base_url": "http://127.0.0.1:9100/v1"}]
    plan = probe_plan({"LOCALRATE_DISCOVERY": "ollama"}, custom=custom)  # type: ignore[arg-type]
    assert [p["url"] for p in plan] == ["http://127.0.0.1:11434/api/tags",
                                        "http://127.0.0.1:9000/v1/models",
                                        "http://127.0.0.1:9100/v1/models"]


def row(runtime: str) -> dict[str, str]:
    return next(p for p in probe_plan({}) if p["runtime"] == runtime)


def obs(status: int | None = 200, body: Any = None, error: str | None = None,
        ms: float = 14.2) -> dict[str, Any]:
    text = body if body is None or isinstance(body, str) else json.dumps(body)
    return {"status": status, "body": text, "error": error, "elapsed_ms": ms}


OLLAMA_TAGS = {"models": [
    {"name": "qwen3:4b", "model": "qwen3:4b", "size": 2497293918, "digest": "ab12",
     "details": {"family": "qwen3", "families": ["qwen3"], "parameter_size": "4.0B",
                 "quantization_level": "Q4_K_M"}},
    {"name": "nomic-embed-text:latest", "model": "nomic-embed-text:latest", "details": {}},
]}
LMSTUDIO_LIST = {"object": "list", "data": [
    {"id": "qwen/qwen3.6-35b-a3b", "object": "model", "owned_by": "organization_owner"}]}
VLLM_LIST = {"object": "list", "data": [
    {"id": "Qwen/Qwen3-4B", "object": "model", "created": 1, "owned_by": "vllm",
     "root": "Qwen/Qwen3-4B", "parent": None, "max_model_len": 40960}]}
LLAMACPP_LIST = {
    "models": [{"name": "SmolLM2.gguf", "model": "SmolLM2.gguf", "capabilities": ["completion"]}],
    "object": "list",
    "data": [{"id": "SmolLM2.gguf", "object": "model", "created": 1, "owned_by": "llamacpp",
              "meta": {"vocab_type": 2, "n_vocab": 49152, "n_ctx_train": 8192,
                       "n_params": 134515008, "size": 98362432}}]}
MLX_LIST = {"object": "list", "data": [
    {"id": "/root/.cache/huggingface/hub/models--mlx-community--Qwen3-4B-4bit",
     "object": "model", "created": 1}]}


@pytest.mark.parametrize(("runtime", "body", "ids"), [
    ("ollama", OLLAMA_TAGS, ["qwen3:4b", "nomic-embed-text:latest"]),
    ("lmstudio", LMSTUDIO_LIST, ["qwen/qwen3.6-35b-a3b"]),
    ("vllm", VLLM_LIST, ["Qwen/Qwen3-4B"]),
    ("llamacpp", LLAMACPP_LIST, ["SmolLM2.gguf"]),
    ("mlx", MLX_LIST, ["/root/.cache/huggingface/hub/models--mlx-community--Qwen3-4B-4bit"]),
])
def test_up_for_each_list_format(runtime: str, body: dict[str, Any], ids: list[str]) -> None:
    got = interpret_probe(row(runtime), obs(200, body))
    assert got["state"] == "up" and got["runtime"] == runtime
    assert [m["id"] for m in got["models"]] == ids
    assert all(m["runtime"] == runtime and m["base_url"] == row(runtime)["base_url"]
               for m in got["models"])
    plural = "model" if len(ids) == 1 else "models"
    assert got["detail"] == f"{len(ids)} {plural} · 14 ms"
    assert got["latency_ms"] == 14.2
    assert got["models"][0]["raw"]["id" if runtime != "ollama" else "name"] == ids[0]


def test_cross_detect_llamacpp_and_mlx() -> None:
    as_mlx = interpret_probe(row("llamacpp"), obs(200, MLX_LIST))
    assert as_mlx["runtime"] == "mlx" and as_mlx["models"][0]["runtime"] == "mlx"
    assert as_mlx["detail"].endswith("this is MLX, not llama.cpp")
    as_llama = interpret_probe(row("mlx"), obs(200, LLAMACPP_LIST))
    assert as_llama["runtime"] == "llamacpp"
    assert as_llama["models"][0]["runtime"] == "llamacpp"
    assert interpret_probe(row("llamacpp"), obs(200, VLLM_LIST))["runtime"] == "vllm"
    empty = interpret_probe(row("llamacpp"), obs(200, {"object": "list", "data": []}))
    assert empty["runtime"] == "llamacpp" and empty["detail"] == "0 models · 14 ms"


@pytest.mark.parametrize(("runtime", "observation", "state", "detail"), [
    ("lmstudio", obs(None, None, "network"), "refused",
     "no answer — the port is closed or CORS refused this page (a browser cannot tell which)"),
    ("vllm", obs(None, None, "connection refused"), "refused", "no answer: connection refused"),
    ("vllm", obs(None, None, "closed"), "refused",
     "the port is closed (connection refused): is the runtime running?"),
    ("vllm", {**obs(None, None, "network"), "permission": "denied"}, "blocked",
     ("the browser's Local Network Access permission is not granted to this page (denied): "
     "allow it when the browser asks, or in the site settings, then Rescan")),
    ("vllm", {**obs(None, None, "network"), "permission": "prompt"}, "blocked",
     ("the browser's Local Network Access permission is not granted to this page (prompt): "
     "allow it when the browser asks, or in the site settings, then Rescan")),
    # Firefox holds the request while its prompt is open: the probe times out
    ("vllm", {**obs(None, None, "timeout", 1500), "permission": "prompt"}, "blocked",
     ("the browser's Local Network Access permission is not granted to this page (prompt): "
     "allow it when the browser asks, or in the site settings, then Rescan")),
    ("vllm", {**obs(None, None, "timeout", 1500), "permission": "granted"}, "timeout",
     "timed out after 1.5 s"),
    ("vllm", {**obs(None, None, "network"), "permission": "granted"}, "refused",
     "no answer — the port is closed or CORS refused this page (a browser cannot tell which)"),
    ("lmstudio", obs(None, None, "cors"), "refused",
     "the port answers, but its CORS settings refuse this page's origin"),
    ("ollama", obs(None, None, "cors"), "unauthorized",
     ("the port answers, but Ollama refuses this page's origin (it sends an empty 403 without "
     "CORS headers): set OLLAMA_ORIGINS")),
    ("ollama", obs(403, ""), "unauthorized",
     "403 with an empty body: Ollama does not allow this page's origin"),
    ("vllm", obs(401, {"error": "Unauthorized"}), "unauthorized",
     "HTTP 401: the server wants an API key"),
    ("vllm", obs(403, "Forbidden"), "unauthorized", "HTTP 403: refused: 'Forbidden'"),
    ("mlx", obs(None, None, "timeout", 1500), "timeout", "timed out after 1.5 s"),
    ("mlx", obs(None, None, "timeout", 2000), "timeout", "timed out after 2 s"),
    ("vllm", obs(500, "boom"), "error", "HTTP 500"),
    ("ollama", obs(404, "404 page not found"), "error", "HTTP 404"),
    ("ollama", obs(200, "Ollama is running"), "error",
     "answered, but not with a model list: 'Ollama is running'"),
    ("lmstudio", obs(200, "<html>" + "x" * 100), "error",
     "answered, but not with a model list: '<html>" + "x" * 34 + "'"),
    ("vllm", obs(200, {"object": "list"}), "error",
     "answered, but not with a model list: '{\"object\": \"list\"}'"),
    ("llamacpp", obs(503, {"error": {"code": 503, "message": "Loading model",
                                     "type": "unavailable_error"}}), "loading",
     "loading the model"),
    ("vllm", obs(503, "Service Unavailable"), "error", "HTTP 503"),
])
def test_probe_states(runtime: str, observation: dict[str, Any], state: str,
                      detail: str) -> None:
    got = interpret_probe(row(runtime), observation)
    assert (got["state"], got["detail"]) == (state, detail)
    assert got["models"] == [] and got["runtime"] == runtime


def test_metadata_plan() -> None:
    base = "http://127.0.0.1"
    assert metadata_plan({"id": "qwen3:4b", "runtime": "ollama", "base_url": f"{base}:11434"}) == [
        {"method": "POST", "url": f"{base}:11434/api/show", "body": {"model": "qwen3:4b"},
         "timeout_s": 4.0}]
    assert [p["url"] for p in metadata_plan(
        {"id": "a", "runtime": "lmstudio", "base_url": f"{base}:1234"})] == [
        f"{base}:1234/api/v0/models", f"{base}:1234/api/v1/models"]
    assert metadata_plan({"id": "a", "runtime": "llamacpp", "base_url": f"{base}:8080"}) == [
        {"method": "GET", "url": f"{base}:8080/props", "body": None, "timeout_s": 4.0}]
    assert metadata_plan({"id": "a", "runtime": "vllm", "base_url": f"{base}:8000"}) == []
    assert metadata_plan({"id": "a", "runtime": "mlx", "base_url": f"{base}:8081"}) == []


def caps(card: dict[str, Any]) -> dict[str, str]:
    return {c["name"]: c["source"] for c in card["capabilities"]}


def test_merge_ollama() -> None:
    model = interpret_probe(row("ollama"), obs(200, OLLAMA_TAGS))["models"][0]
    show = {"capabilities": ["completion", "tools", "thinking"], "parameters": "",
            "model_info": {"general.architecture": "qwen3", "qwen3.context_length": 262144}}
    card = merge_metadata(model, [{"url": "http://127.0.0.1:11434/api/show", "status": 200,
                                   "body": json.dumps(show)}])
    assert card["id"] == "qwen3:4b" and card["label"] == "Ollama" and card["kind"] == "chat"
    assert card["context_length"] == 262144
    assert caps(card)["tool-use"] == "runtime" and caps(card)["structured-output"] == "id"
    assert card["raw"]["show"] == show and card["raw"]["list"]["name"] == "qwen3:4b"


def test_merge_lmstudio_picks_this_model() -> None:
    model = {"id": "qwen/qwen3-vl-8b", "runtime": "lmstudio",
             "base_url": "http://127.0.0.1:1234", "raw": {"id": "qwen/qwen3-vl-8b"}}
    v0 = {"object": "list", "data": [
        {"id": "text-embedding-nomic-embed-text-v1.5", "type": "embeddings",
         "max_context_length": 2048},
        {"id": "qwen/qwen3-vl-8b", "type": "vlm", "state": "loaded",
         "max_context_length": 262144}]}
    v1 = {"models": [{"key": "qwen/qwen3-vl-8b", "type": "llm",
                      "capabilities": {"vision": True, "trained_for_tool_use": True},
                      "loaded_instances": [{"id": "q", "config": {"context_length": 16384}}]}]}
    card = merge_metadata(model, [
        {"url": "http://127.0.0.1:1234/api/v0/models", "status": 200, "body": json.dumps(v0)},
        {"url": "http://127.0.0.1:1234/api/v1/models", "status": 200, "body": json.dumps(v1)}])
    assert card["raw"]["v0"]["type"] == "vlm" and card["raw"]["v1"]["key"] == model["id"]
    assert card["context_length"] == 16384 and card["kind"] == "chat"
    assert caps(card)["vision"] == "runtime" and "128k-context" not in caps(card)


def test_merge_lmstudio_old_version_404_on_v1() -> None:
    model = {"id": "text-embedding-nomic-embed-text-v1.5", "runtime": "lmstudio",
             "base_url": "http://127.0.0.1:1234", "raw": {}}
    v0 = {"data": [{"id": "text-embedding-nomic-embed-text-v1.5", "type": "embeddings",
                    "max_context_length": 2048}]}
    card = merge_metadata(model, [
        {"url": "http://127.0.0.1:1234/api/v0/models", "status": 200, "body": json.dumps(v0)},
        {"url": "http://127.0.0.1:1234/api/v1/models", "status": 404, "body": "Not Found"}])
    assert card["kind"] == "embeddings" and card["context_length"] == 2048
    assert card["capabilities"] == [{"name": "embeddings", "source": "runtime"}]
    assert "v1" not in card["raw"]


def test_merge_llamacpp_and_vllm_and_mlx() -> None:
    llama = interpret_probe(row("llamacpp"), obs(200, LLAMACPP_LIST))["models"][0]
    props = {"default_generation_settings": {"n_ctx": 4096},
             "modalities": {"vision": False, "audio": False}}
    card = merge_metadata(llama, [{"url": "http://127.0.0.1:8080/props", "status": 200,
                                   "body": json.dumps(props)}])
    assert card["context_length"] == 4096 and card["label"] == "llama.cpp"
    assert card["capabilities"] == [{"name": "streaming", "source": "default"}]

    vllm = interpret_probe(row("vllm"), obs(200, VLLM_LIST))["models"][0]
    card = merge_metadata(vllm, [])
    assert card["context_length"] == 40960 and "128k-context" not in caps(card)
    assert caps(card)["reasoning"] == "id" and card["label"] == "vLLM"

    mlx = interpret_probe(row("mlx"), obs(200, MLX_LIST))["models"][0]
    card = merge_metadata(mlx, [{"url": "x", "status": 200, "body": "not json"}])
    assert card["context_length"] is None and caps(card)["reasoning"] == "id"


@pytest.mark.parametrize(("runtime", "flag"), [
    ("ollama", 'OLLAMA_ORIGINS="https://rate.example.org" ollama serve'),
    ("lmstudio", "lms server start --cors"),
    ("vllm", "--allowed-origins '[\"https://rate.example.org\"]'"),
    ("llamacpp", "--cors-origins https://rate.example.org"),
    ("mlx", "--allowed-origins https://rate.example.org"),
])
def test_cors_recipe(runtime: str, flag: str) -> None:
    text = cors_recipe(runtime, "https://rate.example.org/")
    assert flag in text and "https://rate.example.org" in text and "{origin}" not in text


def test_cors_recipe_ollama_has_all_three_forms() -> None:
    text = cors_recipe("ollama", "http://127.0.0.1:8765")
    assert 'launchctl setenv OLLAMA_ORIGINS "http://127.0.0.1:8765"' in text
    assert 'Environment="OLLAMA_ORIGINS=http://127.0.0.1:8765"' in text
    assert "systemctl restart ollama" in text


@pytest.mark.parametrize("origin", ["https://x.org; rm -rf ~", "not an origin", ""])
def test_cors_recipe_rejects_non_origins(origin: str) -> None:
    with pytest.raises(ValueError, match="is not an origin"):
        cors_recipe("ollama", origin)
    with pytest.raises(ValueError, match="unknown runtime 'tgi'"):
        cors_recipe("tgi", "https://x.org")


def test_discovery_table_is_json_and_has_placeholders() -> None:
    table = json.loads(json.dumps(discovery_table()))
    assert [r["name"] for r in table["runtimes"]] == [r["name"] for r in RUNTIMES]
    first = table["runtimes"][0]
    assert first["default_base_url"] == "http://127.0.0.1:11434"
    assert first["env"] == "OLLAMA_BASE_URL" and first["list_path"] == "/api/tags"
    assert all("{origin}" in r["recipe"] for r in table["runtimes"])
    assert table["discovery_env"] == "LOCALRATE_DISCOVERY"


def test_check_endpoint_through_the_bridge() -> None:
    """The page's op answers exactly what the function does, for good and bad text."""
    from evaluator.page_api import call

    for text, dialect, _base, _problem in ENDPOINTS:
        reply = json.loads(call(json.dumps({"op": "check_endpoint",
                                            "args": {"text": text, "dialect": dialect}})))
        assert reply == {"ok": True, "value": check_endpoint(text, dialect)}


OBSERVATIONS = [  # raw probe answers as the page records them (discovery.mjs observe)
    {"status": None, "error": "timeout", "elapsed_ms": 1500},
    {"status": None, "error": "cors", "elapsed_ms": 3},
    {"status": None, "error": "network", "elapsed_ms": 2},
    {"status": None, "elapsed_ms": 2},                       # no error field at all
    {"status": 401, "error": None, "elapsed_ms": 4},
    {"status": 403, "elapsed_ms": 4},
    {"status": 200, "error": None, "elapsed_ms": 5},
    {"status": 500, "error": None, "elapsed_ms": 5},
    {"status": 200, "error": "timeout", "elapsed_ms": 1500},  # an answer cut by the clock
]
PROVISIONAL_KINDS = ["timeout", "cors", "network", "network", "denied", "denied", "status",
                     "status", "timeout"]


def test_the_pages_provisional_view_is_the_evaluators_table_matched_in_order() -> None:
    """Which text the page shows before Python reads a probe is data (PROVISIONAL's `when`
    rows), matched by web/js/match.mjs exactly as evaluator.discovery.provisional does."""
    from evaluator.discovery import provisional
    from tests.test_stream import node_path

    assert [provisional(o)["kind"] for o in OBSERVATIONS] == PROVISIONAL_KINDS
    rows = discovery_table()["provisional"]
    script = ("import { firstMatch } from './web/js/match.mjs';"
              f"const rows = {json.dumps(rows)}; const seen = {json.dumps(OBSERVATIONS)};"
              "console.log(JSON.stringify(seen.map((o) => firstMatch(rows, o).kind)));")
    import subprocess
    from pathlib import Path

    out = subprocess.run([node_path(), "--input-type=module", "-e", script],
                         cwd=Path(__file__).resolve().parent.parent, capture_output=True,
                         text=True, check=True, timeout=60)
    assert json.loads(out.stdout) == PROVISIONAL_KINDS
    assert all("{" not in row["kind"] and row["badge"] for row in rows)


def test_metadata_requests_carry_their_wait() -> None:
    """The page and the CLI wait for a model's metadata as long as the plan says."""
    from evaluator.discovery import METADATA_TIMEOUT_S

    row = {"id": "m", "runtime": "llamacpp", "base_url": "http://127.0.0.1:8080"}
    assert metadata_plan(row) == [{"method": "GET", "url": "http://127.0.0.1:8080/props",
                                   "body": None, "timeout_s": METADATA_TIMEOUT_S}]
    assert discovery_table()["metadata_timeout_s"] == METADATA_TIMEOUT_S == 4.0
