"""The engine readers and the machine notes inside the vendored Pyodide (under Node), as the
page calls them: every reply of tests/test_engine_info.py's recorded and broken answers must
be byte for byte CPython's, and the recorded ones must hold the expected figures."""

from __future__ import annotations

import json
from typing import Any

import pytest

from evaluator import page_api
from tests.pyodide_harness import call_ops
from tests.test_engine_info import BAD, READS

READ_REQUESTS = [{"op": "read_engine", "args": {"runtime": r, "model_id": m, "responses": a}}
                 for r, m, a, _ in READS]
REQUESTS: list[dict[str, Any]] = READ_REQUESTS + [
    *({"op": "read_engine", "args": {"runtime": r, "model_id": "m", "responses": a}}
      for r, a, _ in BAD),
    *({"op": "engine_plan", "args": {"runtime": r, "base_url": "http://127.0.0.1:1234",
                                     "model_id": "org/a b"}}
      for r in ("ollama", "llamacpp", "vllm", "lmstudio", "mlx")),
    {"op": "browser_machine", "args": {"facts": {"hardware_concurrency": 8,
                                                 "device_memory_gb": 4, "platform": "Linux",
                                                 "gpu": {"vendor": "intel"}}}},
]


@pytest.fixture(scope="module")
def replies(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    return call_ops(REQUESTS, tmp_path_factory.mktemp("pyodide-engine"))


def test_pyodide_and_cpython_agree_byte_for_byte(replies: list[str]) -> None:
    assert replies == [page_api.call(json.dumps(r)) for r in REQUESTS]


def test_recorded_answers_read_the_same_in_pyodide(replies: list[str]) -> None:
    for reply, (_, _, _, expected) in zip(replies, READS, strict=False):
        value = json.loads(reply)["value"]
        assert {k: v for k, v in value.items() if k not in ("runtime", "model")} == expected
