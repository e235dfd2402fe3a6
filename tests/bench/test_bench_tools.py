"""Tests of the benchmark's own tools: the streaming server, the raw client, the promptfoo
config. (The timing goals themselves live in the benchmark, not here.)"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import httpx
import pytest

from evaluator.transcript import assemble
from server.rating.stream import send_case
from tests.bench import raw_client
from tests.bench.common import ROOT, streaming_server
from tests.bench.promptfoo_config import assertion, js_pattern, write_config

SCRIPT = str(ROOT / "tests" / "fakes" / "scripts" / "strong.json")
BODY: dict[str, Any] = {"model": "bench-model", "stream": True,
                        "messages": [{"role": "user", "content": "hello"}]}


@pytest.fixture(scope="module")
def fast_url() -> Any:
    with streaming_server(tokens=300) as url:
        yield url


def test_raw_client_counts_every_token(fast_url: str) -> None:
    got = raw_client.stream(fast_url + "/v1/chat/completions", BODY)
    assert got["tok_out"] == 300
    assert got["usage"] == 300
    assert got["ttft_ms"] < got["total_ms"]


def test_evaluator_reads_the_stream(fast_url: str) -> None:
    transcript = asyncio.run(send_case(fast_url + "/v1/chat/completions", BODY, 10))
    done = assemble(transcript)
    assert done.error is None
    assert done.tok_out == 300 and done.tokens_source == "usage"
    assert done.content == "".join(f" t{i}" for i in range(300))
    assert done.finish_reason == "stop"


def test_models_and_cors(fast_url: str) -> None:
    models = httpx.get(fast_url + "/v1/models", trust_env=False).json()
    assert [m["id"] for m in models["data"]] == ["bench-model"]
    pre = httpx.options(fast_url + "/v1/chat/completions", trust_env=False)
    assert pre.status_code == 204
    assert pre.headers["access-control-allow-origin"] == "*"
    assert httpx.get(fast_url + "/nope", trust_env=False).status_code == 404


def test_fixed_rate_takes_its_time() -> None:
    with streaming_server(tokens=50, rate=500) as url:
        got = raw_client.stream(url + "/v1/chat/completions", BODY)
    assert got["tok_out"] == 50
    assert 49 / 500 * 1000 * 0.9 <= got["total_ms"] - got["ttft_ms"]
    assert got["tok_s"] == pytest.approx(500, rel=0.2)


@pytest.mark.parametrize("stream", [True, False])
def test_scripted_answer(stream: bool) -> None:
    body = {"model": "m", "stream": stream, "messages": [
        {"role": "user", "content": "Reverse the word lanternfish, please."}]}
    with streaming_server(script=SCRIPT) as url:
        if stream:
            transcript = asyncio.run(send_case(url + "/v1/chat/completions", body, 10))
            content = assemble(transcript).content
        else:
            reply = httpx.post(url + "/v1/chat/completions", json=body, trust_env=False)
            content = reply.json()["choices"][0]["message"]["content"]
    assert content == "hsifnretnal"


@pytest.mark.parametrize(("pattern", "text", "matches"), [
    ("^PLANET=(?i:mercury)$", "PLANET=MeRcUrY", True),
    ("^PLANET=(?i:mercury)$", "planet=mercury", False),
    ("^a+$", "aaa", True),
])
def test_js_pattern_keeps_the_meaning(pattern: str, text: str, matches: bool) -> None:
    assert bool(re.search(js_pattern(pattern), text)) is matches


@pytest.mark.parametrize(("expect", "kind"), [
    ({"kind": "contains", "value": "X"}, "contains"),
    ({"kind": "contains", "value": "X", "case_sensitive": False}, "icontains"),
    ({"kind": "not_contains", "value": "X"}, "not-contains"),
    ({"kind": "json_schema", "schema": {"type": "object"}}, "is-json"),
    ({"kind": "exact", "value": "X"}, "javascript"),
    ({"kind": "regex", "pattern": "^x$"}, "regex"),
    ({"kind": "regex", "pattern": "^x$", "flags": "i"}, "javascript"),
])
def test_assertion_kinds(expect: dict[str, Any], kind: str) -> None:
    assert assertion(expect)[0]["type"] == kind


def test_config_leaves_out_tool_calls(tmp_path: Any) -> None:
    from server.rating import suites_io

    suite = suites_io.load("classic-rating").to_json()
    path, ids = write_config(tmp_path, suite, "http://127.0.0.1:9", "m")
    config = json.loads(path.read_text("utf-8"))
    assert len(config["tests"]) == len(ids) == sum(
        1 for c in suite["cases"] if c["expect"]["kind"] != "tool_call")
    assert config["providers"][0]["config"]["apiBaseUrl"] == "http://127.0.0.1:9/v1"
    assert (tmp_path / "prompt.js").exists()


@pytest.mark.parametrize(("event", "is_token"), [
    (b'data: {"choices":[{"delta":{"role":"assistant","content":""}}]}', False),
    (b'data: {"choices": [{"delta": {"role": "assistant", "content": ""}}]}', False),
    (b'data: {"choices":[{"delta":{"content":"Hi"}}]}', True),
    (b'data: {"choices": [{"delta": {"content": "\\n"}}]}', True),
])
def test_raw_client_counts_only_non_empty_content(event: bytes, is_token: bool) -> None:
    from tests.bench.raw_client import TOKEN_CONTENT

    assert bool(TOKEN_CONTENT.search(event)) is is_token
