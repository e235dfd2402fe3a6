"""Issue 15's page ops inside the vendored Pyodide (under Node), byte for byte CPython's:
share links (made, read, hostile), reports (with XSS payloads), verify_record, API key
headers, allowed hosts and "key rejected"."""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

import pytest

from evaluator import page_api
from tests.pyodide_harness import call_ops
from tests.test_report import hostile
from tests.test_report import record as report_record
from tests.test_share import synthetic
from tests.test_verify import mini_record, mini_suite

BOMB = zlib.compressobj(9, zlib.DEFLATED, -15)
BOMB_FRAGMENT = "1." + base64.urlsafe_b64encode(
    BOMB.compress(b"\0" * 8_000_000) + BOMB.flush()).decode().rstrip("=")


def requests() -> list[dict[str, Any]]:
    runs = synthetic(models=3, cases=300)
    fragment = json.loads(page_api.call(json.dumps(
        {"op": "share_fragment", "args": {"records": runs}})))["value"]
    suite = mini_suite()
    tampered = mini_record()
    tampered["cases"][1].update(status="pass", score=1.0)
    xss = [hostile(report_record("a", ["pass", "fail", "error"]))[0],
           report_record("b", ["pass", "pass", "fail"])]
    # the harness reads the runner's last line (str.splitlines): no U+2028 in the replies
    xss = json.loads(json.dumps(xss).replace("\\u2028", ""))
    published = [{"id": suite.id, "version": suite.version, "sha256": suite.sha256}]
    keys = [{"base_url": "http://127.0.0.1:8000", "api_key": "sk-abc"}]
    return [
        {"op": "share_fragment", "args": {"records": runs}},
        {"op": "read_share", "args": {"fragment": fragment}},
        {"op": "read_share", "args": {"fragment": BOMB_FRAGMENT}},
        {"op": "read_share", "args": {"fragment": "1.%%%"}},
        {"op": "read_share", "args": {"fragment": 12}},
        {"op": "report_html", "args": {"records": xss}},
        {"op": "report_md", "args": {"records": xss}},
        {"op": "report_md", "args": {"records": []}},
        {"op": "verify_record", "args": {"record": mini_record(), "published": published,
                                         "suite": suite.to_json()}},
        {"op": "verify_record", "args": {"record": tampered, "published": []}},
        {"op": "auth_headers", "args": {"url": "http://127.0.0.1:8000/v1/models",
                                        "keys": keys}},
        {"op": "auth_headers", "args": {"url": "http://127.0.0.1:8001/v1/models",
                                        "keys": keys}},
        {"op": "check_api_key", "args": {"key": "a\nb"}},
        {"op": "allowed_hosts", "args": {"hosts": ["192.168.1.20:11434", "https://gpu.lan"]}},
        {"op": "allowed_hosts", "args": {"hosts": ["*.lan"]}},
        {"op": "csp_sources", "args": {"hosts": ["192.168.1.20:11434"]}},
        {"op": "check_endpoint", "args": {"text": "192.168.1.20:11434", "dialect": "ollama",
                                          "allowed_hosts": ["192.168.1.20"]}},
        {"op": "interpret_probe", "args": {
            "plan_row": {"runtime": "vllm", "base_url": "http://127.0.0.1:8000"},
            "observation": {"status": 401, "body": "", "with_key": True}}},
    ]


@pytest.fixture(scope="module")
def replies(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, Any]], list[str]]:
    made = requests()
    return made, call_ops(made, tmp_path_factory.mktemp("pyodide-share"))


def test_pyodide_and_cpython_agree_byte_for_byte(
        replies: tuple[list[dict[str, Any]], list[str]]) -> None:
    made, got = replies
    assert got == [page_api.call(json.dumps(r)) for r in made]


def test_the_replies_say_what_they_should(
        replies: tuple[list[dict[str, Any]], list[str]]) -> None:
    got = [json.loads(r) for r in replies[1]]
    assert len(got[0]["value"]) <= 4000 and got[1]["value"]["case_count"] == 300
    assert "inflates to more than" in got[2]["error"]
    assert got[3]["error"].startswith("share link: not base64url")
    assert got[4]["error"] == "share link: expected text"
    assert "<script" not in got[5]["value"] and "&lt;script&gt;" in got[5]["value"]
    assert got[8]["value"]["label"] == "re-scored: matches"
    assert got[9]["value"]["label"] == "re-scored: does not match"
    assert got[10]["value"] == {"Authorization": "Bearer sk-abc"} and got[11]["value"] == {}
    assert got[14] == {"ok": False,
                       "error": "--allow-host '*.lan': wildcards are not allowed; name each host"}
    assert got[16]["value"]["base_url"] == "http://192.168.1.20:11434"
    assert got[17]["value"]["badge"] == "key rejected"
