"""The fake runtimes speak each dialect of docs/runtimes.md, faults included."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes import ConfigError, load_config

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = {"model": "m", "answers": [
    {"case": "tools", "match": "weather", "content": "", "reasoning": "need tools",
     "tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}},
                    {"name": "get_time", "arguments": {"tz": "UTC"}}]},
    {"case": "hello", "match": "hello", "content": "Hello there, friend!",
     "reasoning": "greet back"},
    {"case": "boom", "match": "explode", "content": "x", "fault": "http500"}]}
REASONING_FIELD = {"ollama": "reasoning", "lmstudio": "reasoning_content",
                   "vllm": "reasoning", "llamacpp": "reasoning_content", "mlx": "reasoning"}


def cfg(dialect: str, **extra: Any) -> dict[str, Any]:
    """A one-model config with the test script."""
    meta = {"capabilities": ["completion", "tools", "vision"], "context_length": 40960}
    return {"dialect": dialect, "models": [{"id": "m", "script": SCRIPT, "meta": meta}],
            **extra}


def chat(text: str | list[dict[str, Any]], usage: bool = True, **extra: Any) -> dict[str, Any]:
    """A streaming chat request body."""
    body: dict[str, Any] = {"model": "m", "stream": True,
                            "messages": [{"role": "user", "content": "first hello"},
                                         {"role": "user", "content": text}], **extra}
    if usage:
        body["stream_options"] = {"include_usage": True}
    return body


def stream(url: str, body: dict[str, Any], timeout: float = 5) -> tuple[list[str], list[str]]:
    """POST and read an SSE stream: (data payloads, comment lines)."""
    data, comments = [], []
    with httpx.stream("POST", url + "/v1/chat/completions", json=body, timeout=timeout) as r:
        assert r.status_code == 200
        for line in r.iter_lines():
            if line.startswith(":"):
                comments.append(line)
            elif line.startswith("data: "):
                data.append(line[6:])
    return data, comments


def chunks(data: list[str]) -> list[dict[str, Any]]:
    """The JSON payloads of a stream, [DONE] left out."""
    return [json.loads(d) for d in data if d != "[DONE]"]


def deltas(data: list[str]) -> list[dict[str, Any]]:
    """Every delta of a stream."""
    return [c["choices"][0]["delta"] for c in chunks(data) if c["choices"]]


# --- model lists and metadata ----------------------------------------------------------

def test_ollama_lists(fake_runtime: Any) -> None:
    fake = fake_runtime(cfg("ollama"))
    tags = httpx.get(fake.base_url + "/api/tags").json()["models"][0]
    assert tags["name"] == tags["model"] == "m"
    assert set(tags["details"]) >= {"family", "families", "parameter_size",
                                    "quantization_level"}
    show = httpx.post(fake.base_url + "/api/show", json={"model": "m"}).json()
    assert show["capabilities"] == ["completion", "tools", "vision"]
    assert httpx.post(fake.base_url + "/api/show", json={"model": "nope"}).status_code == 404
    assert httpx.get(fake.base_url + "/v1/models").json()["data"][0]["id"] == "m"


def test_default_capabilities_are_completion(fake_runtime: Any) -> None:
    fake = fake_runtime({"dialect": "ollama", "models": [{"id": "plain:1b"}]})
    show = httpx.post(fake.base_url + "/api/show", json={"model": "plain:1b"}).json()
    assert show["capabilities"] == ["completion"]


def test_lmstudio_lists(fake_runtime: Any) -> None:
    fake = fake_runtime(cfg("lmstudio"))
    assert httpx.get(fake.base_url + "/v1/models").json()["data"] == [
        {"id": "m", "object": "model", "owned_by": "organization_owner"}]
    v0 = httpx.get(fake.base_url + "/api/v0/models").json()["data"][0]
    assert (v0["type"], v0["state"], v0["max_context_length"]) == ("vlm", "loaded", 40960)


def test_vllm_and_mlx_lists(fake_runtime: Any) -> None:
    vllm = httpx.get(fake_runtime(cfg("vllm")).base_url + "/v1/models").json()["data"][0]
    assert (vllm["owned_by"], vllm["max_model_len"]) == ("vllm", 40960)
    mlx = httpx.get(fake_runtime(cfg("mlx")).base_url + "/v1/models").json()["data"]
    assert [m["id"] for m in mlx] == ["m"] and "owned_by" not in mlx[0]


def test_llamacpp_lists(fake_runtime: Any) -> None:
    fake = fake_runtime(cfg("llamacpp"))
    body = httpx.get(fake.base_url + "/v1/models").json()
    assert body["data"][0]["owned_by"] == "llamacpp"
    assert body["data"][0]["meta"]["n_ctx_train"] == 40960 and body["data"][0]["meta"]["n_params"]
    assert body["models"][0]["name"] == "m"
    props = httpx.get(fake.base_url + "/props").json()
    assert props["modalities"]["vision"] is True
    assert props["default_generation_settings"]["n_ctx"] == 40960
    assert httpx.get(fake.base_url + "/health").json() == {"status": "ok"}


# --- streaming shape -------------------------------------------------------------------

@pytest.mark.parametrize("dialect", list(REASONING_FIELD))
def test_stream_shape(fake_runtime: Any, dialect: str) -> None:
    fake = fake_runtime(cfg(dialect, comments=True))
    data, comments = stream(fake.base_url, chat("say hello"))
    assert data[-1] == "[DONE]" and comments and all(c == ": ping" for c in comments)
    ds = deltas(data)
    field = REASONING_FIELD[dialect]
    assert "".join(d.get(field) or "" for d in ds) == "greet back"
    assert "".join(d.get("content") or "" for d in ds) == "Hello there, friend!"
    assert all("role" in d for d in ds) == (dialect in ("mlx", "ollama"))
    last = chunks(data)[-1]
    if dialect == "lmstudio":
        assert "usage" not in last
    else:
        assert last["choices"] == [] and last["usage"]["prompt_tokens"] == 4
        assert last["object"] == ("chat.completion" if dialect == "mlx"
                                  else "chat.completion.chunk")
    assert ("timings" in last) == (dialect == "llamacpp")
    assert fake.requests[-1]["messages"][-1]["content"] == "say hello"


def test_usage_only_on_request(fake_runtime: Any) -> None:
    fake = fake_runtime(cfg("vllm"))
    data, _ = stream(fake.base_url, chat("hello", usage=False))
    assert not any("usage" in c for c in chunks(data))
    forced = fake_runtime(cfg("lmstudio", usage=True))
    assert "usage" in chunks(stream(forced.base_url, chat("hello"))[0])[-1]
    llama = fake_runtime(cfg("llamacpp"))
    last = chunks(stream(llama.base_url, chat("hello", usage=False))[0])[-1]
    assert last["choices"][0]["finish_reason"] == "stop" and "timings" in last


def test_inline_reasoning_and_override_field(fake_runtime: Any) -> None:
    inline = fake_runtime(cfg("lmstudio", reasoning="inline"))
    text = "".join(d.get("content") or "" for d in deltas(stream(inline.base_url,
                                                                  chat("hello"))[0]))
    assert text == "<think>greet back</think>\n\nHello there, friend!"
    old = fake_runtime(cfg("vllm", reasoning="reasoning_content"))
    ds = deltas(stream(old.base_url, chat("hello"))[0])
    assert "".join(d.get("reasoning_content") or "" for d in ds) == "greet back"


@pytest.mark.parametrize("dialect,style", [("ollama", "whole"), ("mlx", "whole"),
                                           ("vllm", "fragments"), ("lmstudio", "fragments"),
                                           ("llamacpp", "fragments")])
def test_tool_calls(fake_runtime: Any, dialect: str, style: str) -> None:
    fake = fake_runtime(cfg(dialect))
    data, _ = stream(fake.base_url, chat("what's the weather?"))
    calls = [tc for d in deltas(data) for tc in d.get("tool_calls", [])]
    heads = [c for c in calls if "id" in c]
    assert [h["function"]["name"] for h in heads] == ["get_weather", "get_time"]
    assert len({h["id"] for h in heads}) == 2
    if style == "whole":
        assert len(calls) == 2
        assert json.loads(calls[0]["function"]["arguments"]) == {"city": "Paris"}
        assert [c["index"] for c in calls] == ([0, 0] if dialect == "ollama" else [0, 1])
    else:
        assert len(calls) > 2 and heads[0]["function"]["arguments"] == ""
        args = "".join(c["function"]["arguments"] for c in calls if c["index"] == 1)
        assert json.loads(args) == {"tz": "UTC"}
    finish = [c["choices"][0]["finish_reason"] for c in chunks(data) if c["choices"]]
    assert finish[-1] == "tool_calls"


def test_tool_style_override(fake_runtime: Any) -> None:
    fake = fake_runtime(cfg("ollama", tool_style="fragments"))
    calls = [tc for d in deltas(stream(fake.base_url, chat("weather"))[0])
             for tc in d.get("tool_calls", [])]
    assert len(calls) > 2


def test_content_list_default_answer_and_non_stream(fake_runtime: Any) -> None:
    fake = fake_runtime(cfg("vllm"))
    parts = [{"type": "text", "text": "well hello"}, {"type": "image_url", "image_url": {}}]
    assert "Hello" in "".join(d.get("content") or "" for d in deltas(
        stream(fake.base_url, chat(parts))[0]))
    whole = httpx.post(fake.base_url + "/v1/chat/completions",
                       json={**chat("unknown"), "stream": False}).json()
    assert whole["object"] == "chat.completion"
    assert whole["choices"][0]["message"]["content"] == "I don't know."
    assert whole["usage"]["prompt_tokens"] == 3
    thinking = httpx.post(fake.base_url + "/v1/chat/completions",
                          json={**chat("hello"), "stream": False}).json()
    assert thinking["choices"][0]["message"]["reasoning"] == "greet back"


def test_unknown_model_is_404_on_multi_model_runtimes(fake_runtime: Any) -> None:
    body = {**chat("hello"), "model": "other"}
    vllm = fake_runtime(cfg("vllm"))
    assert httpx.post(vllm.base_url + "/v1/chat/completions", json=body).status_code == 404
    llama = fake_runtime(cfg("llamacpp"))
    assert httpx.post(llama.base_url + "/v1/chat/completions", json=body).status_code == 200


# --- HTTP framing ----------------------------------------------------------------------

def raw_exchange(port: int, request: bytes, timeout: float = 3) -> tuple[bytes, bool]:
    """Send raw bytes; read until EOF or timeout. Returns (bytes, closed_by_server)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        out = b""
        try:
            while chunk := sock.recv(65536):
                out += chunk
            return out, True
        except TimeoutError:
            return out, False


def test_mlx_speaks_http10_and_closes(fake_runtime: Any) -> None:
    fake = fake_runtime(cfg("mlx"))
    body = json.dumps(chat("hello")).encode()
    req = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n"
           b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    out, closed = raw_exchange(fake.port, req)
    head = out.split(b"\r\n\r\n")[0].lower()
    assert out.startswith(b"HTTP/1.0 200") and closed
    assert b"transfer-encoding" not in head and out.rstrip().endswith(b"data: [DONE]")


@pytest.mark.parametrize("request_bytes", [
    b"GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n",
    b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"])
def test_mlx_closes_after_a_whole_reply_too(fake_runtime: Any, request_bytes: bytes) -> None:
    """A reply with Content-Length on HTTP/1.0 closes the connection on the fake's own
    thread. Left open, it was closed later by the garbage collector on another thread,
    which unregistered a reused fd from the fake's selector (tests/fakes/server.py)."""
    fake = fake_runtime(cfg("mlx"))
    out, closed = raw_exchange(fake.port, request_bytes, timeout=2)
    assert out.startswith(b"HTTP/1.0 ") and closed
    deadline = time.monotonic() + 2
    while fake.app.tasks and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not fake.app.tasks


def test_http11_runtimes_chunk_and_keep_alive(fake_runtime: Any) -> None:
    fake = fake_runtime(cfg("ollama"))
    req = b"GET /api/tags HTTP/1.1\r\nHost: x\r\n\r\n"
    out, closed = raw_exchange(fake.port, req * 2, timeout=0.5)
    assert out.count(b"HTTP/1.1 200 OK") == 2 and not closed
    with httpx.stream("POST", fake.base_url + "/v1/chat/completions", json=chat("hi")) as r:
        assert r.headers["transfer-encoding"] == "chunked"


# --- CORS ------------------------------------------------------------------------------

@pytest.mark.parametrize("dialect,cors,origin,status,allow,creds", [
    ("ollama", "dialect", "http://127.0.0.1:5173", 200, "http://127.0.0.1:5173", None),
    ("ollama", "dialect", "http://localhost:8000", 200, "http://localhost:8000", None),
    ("ollama", "dialect", "https://rate.example", 403, None, None),
    ("ollama", ["https://rate.example"], "https://rate.example", 200, "https://rate.example",
     None),
    ("lmstudio", "dialect", "https://rate.example", 200, None, None),
    ("lmstudio", "*", "https://rate.example", 200, "*", None),
    ("vllm", "dialect", "https://rate.example", 200, "*", None),
    ("vllm", ["https://a.example"], "https://rate.example", 200, None, None),
    ("llamacpp", "dialect", "https://rate.example", 200, "https://rate.example", "true"),
    ("mlx", "dialect", "https://rate.example", 200, "*", None),
    ("mlx", "none", "https://rate.example", 200, None, None)])
def test_cors(fake_runtime: Any, dialect: str, cors: Any, origin: str, status: int,
              allow: str | None, creds: str | None) -> None:
    fake = fake_runtime(cfg(dialect, cors=cors))
    r = httpx.get(fake.base_url + "/v1/models", headers={"Origin": origin})
    assert r.status_code == status
    assert r.headers.get("access-control-allow-origin") == allow
    assert r.headers.get("access-control-allow-credentials") == creds
    pre = httpx.options(fake.base_url + "/v1/chat/completions", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert pre.headers.get("access-control-allow-origin") == allow
    if status == 403:
        assert r.content == b"" and pre.status_code == 403 and pre.content == b""
    else:
        assert pre.status_code in (200, 204)


# --- faults ----------------------------------------------------------------------------

def post_fault(fake_runtime: Any, fault: str, dialect: str = "vllm") -> Any:
    """A started fake whose every chat request fails as `fault`."""
    return fake_runtime(cfg(dialect, fault=fault))


@pytest.mark.parametrize("dialect", ["vllm", "mlx"])
def test_fault_cut_ends_cleanly_without_done(fake_runtime: Any, dialect: str) -> None:
    data, _ = stream(post_fault(fake_runtime, "cut", dialect).base_url, chat("hello"))
    assert data and "[DONE]" not in data and all(json.loads(d) for d in data)


@pytest.mark.parametrize("fault,status,ctype", [("http500", 500, "application/json"),
                                                ("wrong_type", 200, "text/html"),
                                                ("empty403", 403, None)])
def test_fault_plain_responses(fake_runtime: Any, fault: str, status: int,
                               ctype: str | None) -> None:
    fake = post_fault(fake_runtime, fault)
    r = httpx.post(fake.base_url + "/v1/chat/completions", json=chat("hello"))
    assert r.status_code == status
    assert (r.headers.get("content-type") or "").split(";")[0] == (ctype or "")
    if fault == "http500":
        assert "error" in r.text
    if fault == "empty403":
        assert r.content == b""


def test_fault_from_script_answer(fake_runtime: Any) -> None:
    fake = fake_runtime(cfg("ollama"))
    r = httpx.post(fake.base_url + "/v1/chat/completions", json=chat("please explode"))
    assert r.status_code == 500
    assert httpx.post(fake.base_url + "/v1/chat/completions",
                      json=chat("hello")).status_code == 200


def test_fault_non_json(fake_runtime: Any) -> None:
    data, _ = stream(post_fault(fake_runtime, "non_json").base_url, chat("hello"))
    assert data and all(d == "<html>oops</html>" for d in data)


def test_fault_hang_triggers_read_timeout(fake_runtime: Any) -> None:
    fake = post_fault(fake_runtime, "hang")
    got: list[str] = []
    url, timeout = fake.base_url + "/v1/chat/completions", httpx.Timeout(5, read=0.5)
    with pytest.raises(httpx.ReadTimeout), httpx.stream("POST", url, json=chat("hello"),
                                                        timeout=timeout) as r:
        got.extend(line for line in r.iter_lines() if line)
    assert len(got) == 2


def test_fault_reset_is_a_connection_error(fake_runtime: Any) -> None:
    fake = post_fault(fake_runtime, "reset")
    with pytest.raises(httpx.TransportError):
        stream(fake.base_url, chat("hello"))
    body = json.dumps(chat("hello")).encode()
    req = b"POST /v1/chat/completions HTTP/1.1\r\nContent-Length: %d\r\n\r\n%s" % (
        len(body), body)
    with pytest.raises(ConnectionResetError):
        raw_exchange(fake.port, req)


def test_fault_huge_streams_megabytes(fake_runtime: Any) -> None:
    fake = post_fault(fake_runtime, "huge")
    size = 0
    with httpx.stream("POST", fake.base_url + "/v1/chat/completions", json=chat("hi")) as r:
        for block in r.iter_bytes():
            size += len(block)
            if size > 4_000_000:
                break
    assert size > 4_000_000


def test_fault_bad_utf8(fake_runtime: Any) -> None:
    fake = post_fault(fake_runtime, "bad_utf8", "llamacpp")
    with httpx.stream("POST", fake.base_url + "/v1/chat/completions", json=chat("hi")) as r:
        raw = r.read()
    assert b"\xff\xfe" in raw and raw.rstrip().endswith(b"data: [DONE]")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")


def test_fault_drip(fake_runtime: Any) -> None:
    fake = post_fault(fake_runtime, "drip", "ollama")
    stamps = []
    with httpx.stream("POST", fake.base_url + "/v1/chat/completions", json=chat("hi")) as r:
        for line in r.iter_lines():
            if line.startswith("data: {") and '"content": "' in line:
                stamps.append(time.monotonic())
            if len(stamps) == 3:
                break
    assert stamps[2] - stamps[0] >= 0.5


@pytest.mark.parametrize("fault,check", [
    ("http500", lambda r: r.status_code == 500),
    ("garbage", lambda r: r.status_code == 200 and not r.text.startswith("{\"")),
    ("empty403", lambda r: r.status_code == 403 and r.content == b""),
    ("loading", lambda r: r.status_code == 503),
    ("wrong_type", lambda r: r.headers["content-type"].startswith("text/html"))])
def test_list_faults_answer(fake_runtime: Any, fault: str, check: Any) -> None:
    fake = fake_runtime(cfg("llamacpp", list_fault=fault))
    assert check(httpx.get(fake.base_url + "/v1/models"))


@pytest.mark.parametrize("fault,error", [("hang", httpx.ReadTimeout),
                                         ("closed", httpx.RemoteProtocolError),
                                         ("reset", httpx.TransportError)])
def test_list_faults_fail(fake_runtime: Any, fault: str, error: type[Exception]) -> None:
    fake = fake_runtime(cfg("ollama", list_fault=fault))
    with pytest.raises(error):
        httpx.get(fake.base_url + "/api/tags", timeout=httpx.Timeout(5, read=0.5))


# --- config and command line -----------------------------------------------------------

@pytest.mark.parametrize("bad,needle", [({"dialect": "tgi"}, "'tgi'"),
                                        ({"dialect": "vllm", "fault": "boom"}, "'boom'"),
                                        ({"dialect": "vllm", "models": [{"id": "m",
                                          "script": "nope.json"}]}, "'nope.json'")])
def test_bad_config_names_the_value(bad: dict[str, Any], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        load_config(bad)


def test_command_line_serves_several_ports(tmp_path: Path, free_port: int) -> None:
    path = tmp_path / "fakes.json"
    path.write_text(json.dumps([{**cfg("ollama"), "port": free_port}, cfg("mlx")]))
    proc = subprocess.Popen([sys.executable, "-m", "tests.fakes.fake_runtime", "--config",
                             str(path)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        urls = [proc.stdout.readline().split()[1] for _ in range(2)]
        assert urls[0] == f"http://127.0.0.1:{free_port}"
        assert httpx.get(urls[0] + "/api/tags").json()["models"][0]["name"] == "m"
        assert httpx.get(urls[1] + "/v1/models").http_version == "HTTP/1.0"
    finally:
        proc.terminate()
        assert proc.wait(5) == 0
