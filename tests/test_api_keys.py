"""API keys per endpoint: the evaluator's rules (evaluator.endpoints, interpret_probe) and
the CLI end to end against fakes that require a key: each key goes as a Bearer token to its
own endpoint only, a refused key reads "key rejected", and no key ever appears in a
record, on stdout or stderr, or in an error."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from evaluator.discovery import interpret_probe
from evaluator.endpoints import (
    EndpointError,
    auth_headers,
    check_api_key,
    env_keys,
    key_for,
    redact,
)
from server.rating.discovery import fetch
from server.rating.stream import send_case
from tests.test_cli import env_for, invoke, script

VLLM_KEY = "sk-vllm-SECRET-4f1c9a"
OLLAMA_KEY = "ollama-SECRET-77b2e0"
KEYS = [{"base_url": "http://127.0.0.1:8000", "api_key": VLLM_KEY}]


@pytest.mark.parametrize(("url", "sent"), [
    ("http://127.0.0.1:8000/v1/chat/completions", True),
    ("http://127.0.0.1:8000/v1/models", True),
    ("http://127.0.0.1:8001/v1/models", False),      # another port
    ("https://127.0.0.1:8000/v1/models", False),     # another scheme
    ("http://127.0.0.2:8000/v1/models", False),      # another host
    ("http://127.0.0.1/v1/models", False),           # port 80
    ("javascript:alert(1)", False),
])
def test_a_key_goes_to_its_own_origin_only(url: str, sent: bool) -> None:
    expected = {"Authorization": f"Bearer {VLLM_KEY}"} if sent else {}
    assert auth_headers(url, KEYS) == expected


def test_default_ports_are_the_same_origin() -> None:
    keys = [{"base_url": "https://gpu.lan", "api_key": "k"}]
    assert key_for("https://gpu.lan:443/v1/models", keys) == "k"
    assert key_for("http://gpu.lan:443/v1/models", keys) is None


@pytest.mark.parametrize("bad", ["", "   ", "two words", "abc\r\nX-Injected: 1", "tab\tkey",
                                 "ключ", "x" * 4097, None, 12])
def test_a_key_that_cannot_be_a_header_is_refused_without_quoting_it(bad: Any) -> None:
    with pytest.raises(EndpointError) as err:
        check_api_key(bad, "VLLM_API_KEY")
    message = str(err.value)
    assert message.startswith("VLLM_API_KEY: the API key") and "\n" not in message
    if isinstance(bad, str) and bad.strip():
        assert bad.strip() not in message


def test_env_keys_bind_each_variable_to_its_runtime_endpoint() -> None:
    plan = [{"runtime": "ollama", "base_url": "http://127.0.0.1:11434"},
            {"runtime": "vllm", "base_url": "http://10.0.0.5:8000"},
            {"runtime": "lmstudio", "base_url": "http://127.0.0.1:1234"}]
    env = {"VLLM_API_KEY": f" {VLLM_KEY} ", "OLLAMA_API_KEY": OLLAMA_KEY}
    assert env_keys(env, plan) == [
        {"base_url": "http://127.0.0.1:11434", "api_key": OLLAMA_KEY},
        {"base_url": "http://10.0.0.5:8000", "api_key": VLLM_KEY}]


def test_redact() -> None:
    assert redact(f"HTTP 401: bad key {VLLM_KEY}!", KEYS) == "HTTP 401: bad key [api key]!"


@pytest.mark.parametrize(("status", "with_key", "state", "badge"), [
    (401, True, "key_rejected", "key rejected"),
    (403, True, "key_rejected", "key rejected"),
    (401, False, "unauthorized", "unauthorized"),
    (403, False, "unauthorized", "unauthorized"),
])
def test_a_refusal_of_a_sent_key_is_key_rejected_not_cors(status: int, with_key: bool,
                                                          state: str, badge: str) -> None:
    for runtime in ("vllm", "ollama", "lmstudio"):
        row = interpret_probe({"runtime": runtime, "base_url": "http://127.0.0.1:8000"},
                              {"status": status, "body": "", "with_key": with_key})
        assert (row["state"], row["badge"]) == (state, badge)
        assert ("key rejected" in row["detail"]) == with_key
        assert row["fixable"] is not with_key  # no CORS recipe for a wrong key
        assert "CORS" not in row["detail"] or not with_key


# -- the CLI against fakes that require a key ----------------------------------------------

def _fake(fake_runtime: Any, dialect: str, model: str, key: str | None) -> Any:
    config: dict[str, Any] = {"dialect": dialect,
                              "models": [{"id": model, "script": script("smoke")}]}
    if key is not None:
        config["api_key"] = key
    return fake_runtime(config)


def _no_key_anywhere(*texts: str) -> None:
    for text in texts:
        assert VLLM_KEY not in text and OLLAMA_KEY not in text


def test_bench_sends_each_key_to_its_endpoint_only(fake_runtime: Any, tmp_path: Path) -> None:
    vllm = _fake(fake_runtime, "vllm", "m-vllm", VLLM_KEY)
    ollama = _fake(fake_runtime, "ollama", "m-ollama", OLLAMA_KEY)
    lmstudio = _fake(fake_runtime, "lmstudio", "m-lms", None)
    env = {**env_for({"vllm": vllm, "ollama": ollama, "lmstudio": lmstudio}),
           "VLLM_API_KEY": VLLM_KEY, "OLLAMA_API_KEY": OLLAMA_KEY}
    saved = tmp_path / "run.json"
    result = invoke(["bench", "--suite", "smoke", "--model", "m-vllm", "--model", "m-ollama",
                     "--model", "m-lms", "--out", str(saved)], env)
    assert result.exit_code == 0, result.output
    assert [r["summary"]["passed"] for r in json.loads(saved.read_text())["runs"]] == [3, 3, 3]
    for fake, key in ((vllm, VLLM_KEY), (ollama, OLLAMA_KEY), (lmstudio, None)):
        seen = {entry["headers"].get("authorization") for entry in fake.log}
        assert seen == {f"Bearer {key}" if key else None}, fake.base_url
        assert any(e["method"] == "POST" and e["path"].endswith("/chat/completions")
                   for e in fake.log)
    _no_key_anywhere(saved.read_text(), result.stdout, result.stderr)
    found = invoke(["discover", "--json"], env)
    assert {r["state"] for r in json.loads(found.stdout)["runtimes"]} == {"up"}
    _no_key_anywhere(found.stdout, found.stderr)


def test_a_wrong_key_reads_key_rejected(fake_runtime: Any) -> None:
    vllm = _fake(fake_runtime, "vllm", "m-vllm", VLLM_KEY)
    env = {**env_for({"vllm": vllm}), "VLLM_API_KEY": "wrong-" + OLLAMA_KEY}
    found = invoke(["discover", "--json"], env)
    row = json.loads(found.stdout)["runtimes"][0]
    assert (row["state"], row["badge"]) == ("key_rejected", "key rejected")
    assert row["detail"] == ("HTTP 401: key rejected: this endpoint refused the API key "
                             "sent to it")
    result = invoke(["bench", "--suite", "smoke", "--model", "m-vllm"], env)
    assert result.exit_code == 3 and "key rejected" in result.stderr
    assert "CORS" not in result.stderr
    _no_key_anywhere(found.stdout, found.stderr, result.stdout, result.stderr)
    missing = invoke(["discover", "--json"], env_for({"vllm": vllm}))
    assert json.loads(missing.stdout)["runtimes"][0]["detail"] == \
        "HTTP 401: the server wants an API key"


def test_api_key_with_base_url(fake_runtime: Any, tmp_path: Path) -> None:
    vllm = _fake(fake_runtime, "vllm", "m-vllm", VLLM_KEY)
    saved = tmp_path / "run.json"
    args = ["bench", "--suite", "smoke", "--model", "m-vllm", "--base-url", vllm.base_url,
            "--out", str(saved)]
    result = invoke([*args, "--api-key", VLLM_KEY], {})
    assert result.exit_code == 0, result.output
    assert {e["headers"].get("authorization") for e in vllm.log} == {f"Bearer {VLLM_KEY}"}
    _no_key_anywhere(saved.read_text(), result.stdout, result.stderr)
    wrong = invoke([*args, "--api-key", "nope-" + OLLAMA_KEY], {})
    assert wrong.exit_code == 3
    assert wrong.stderr == (f"Error: {vllm.base_url}: HTTP 401: key rejected: this endpoint "
                            "refused the API key sent to it\n")
    none = invoke(args, {})
    assert none.exit_code == 3 and "pass --api-key" in none.stderr
    by_env = invoke([*args, "--runtime", "vllm"], {"VLLM_API_KEY": VLLM_KEY})
    assert by_env.exit_code == 0, by_env.output
    _no_key_anywhere(wrong.stdout, wrong.stderr, by_env.stdout, by_env.stderr)


def test_bad_key_input_is_one_line_exit_2(fake_runtime: Any) -> None:
    vllm = _fake(fake_runtime, "vllm", "m-vllm", VLLM_KEY)
    alone = invoke(["bench", "--suite", "smoke", "--model", "m-vllm", "--api-key", VLLM_KEY],
                   env_for({"vllm": vllm}))
    assert alone.exit_code == 2 and alone.stderr.startswith("Error: --api-key: goes with "
                                                           "--base-url")
    broken = invoke(["bench", "--suite", "smoke", "--model", "m-vllm"],
                    {**env_for({"vllm": vllm}), "VLLM_API_KEY": VLLM_KEY + "\nX: 1"})
    assert broken.exit_code == 2
    assert broken.stderr == ("Error: VLLM_API_KEY: the API key may hold only visible ASCII "
                             "characters (no spaces or line ends)\n")
    _no_key_anywhere(alone.stdout, alone.stderr, broken.stdout, broken.stderr)


class _Echo(BaseHTTPRequestHandler):
    """Answers every request with the Authorization header it got (a hostile server)."""

    def _answer(self) -> None:
        said = str(self.headers.get("Authorization"))
        body = (f"data: {json.dumps({'echo': said})}\n\n" if self.command == "POST"
                else json.dumps({"data": [{"id": said}]})).encode()
        self.send_response(401 if "fail" in self.path else 200)
        self.send_header("Content-Type", "text/event-stream" if self.command == "POST"
                         else "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def echo() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_key_echoed_back_is_redacted(echo: str) -> None:
    headers = auth_headers(echo + "/v1/models", [{"base_url": echo, "api_key": VLLM_KEY}])
    obs = fetch("GET", echo + "/v1/models", None, 5.0, headers)
    assert obs["with_key"] is True and obs["status"] == 200
    assert VLLM_KEY not in obs["body"] and "Bearer [api key]" in obs["body"]
    got = asyncio.run(send_case(echo + "/v1/chat/completions", {"x": 1}, 5.0,
                                headers=headers))
    assert json.loads(got["events"][0][1]) == {"echo": "Bearer [api key]"}
    failed = asyncio.run(send_case(echo + "/fail", {"x": 1}, 5.0, headers=headers))
    assert failed["error"].startswith("HTTP 401: ") and VLLM_KEY not in failed["error"]
    _no_key_anywhere(json.dumps(got), json.dumps(failed), json.dumps(obs))


def test_a_401_in_the_middle_of_a_run_reads_key_rejected() -> None:
    """A chat request that carried the endpoint's key and got 401/403 is 'key rejected'
    (the transcript says a key was sent, never which); without a key it stays HTTP 401."""
    from evaluator.transcript import assemble

    base = {"url": "http://127.0.0.1:1/v1/chat/completions", "request": {}, "events": [],
            "ended_ms": 5.0, "error": "HTTP 401: unauthorized"}
    assert assemble({**base, "status": 401, "with_key": True}).error == \
        "key rejected: HTTP 401: unauthorized"
    assert assemble({**base, "status": 401}).error == "HTTP 401: unauthorized"
    assert assemble({**base, "status": 500, "with_key": True,
                     "error": "HTTP 500: boom"}).error == "HTTP 500: boom"
