"""evaluator/ is pure: it imports with network, server and YAML modules blocked.

The check runs in a fresh interpreter so nothing this test process already imported can
hide a forbidden import. A meta path finder refuses the blocked modules; then every
evaluator module is imported and a case is scored and summarised. Finally every module the
evaluator pulled in must come from the standard library or jsonschema's own dependencies.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

BLOCKED = ["httpx", "httpcore", "starlette", "uvicorn", "click", "yaml", "rich", "jinja2",
           "mlx", "mlx_lm", "requests", "socket", "ssl", "asyncio", "http", "urllib.request",
           "subprocess", "selectors"]
ALLOWED_THIRD_PARTY = ["evaluator", "jsonschema", "jsonschema_specifications", "referencing",
                       "rpds", "attr", "attrs", "pyrsistent", "pyrsistent_as_rpds",
                       "typing_extensions",
                       # jsonschema's optional format helpers, imported when installed; the
                       # checks use no format checker, so results do not depend on them
                       "fqdn", "idna", "isoduration", "jsonpointer", "rfc3339_validator",
                       "rfc3986_validator", "rfc3987", "rfc3987_syntax", "uri_template",
                       "webcolors", "arrow", "dateutil", "six", "lark"]

SCRIPT = r"""
import importlib, importlib.abc, json, pkgutil, sys

blocked, allowed = json.loads(sys.argv[1]), set(json.loads(sys.argv[2]))

class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if any(name == b or name.startswith(b + ".") for b in blocked):
            raise ImportError(f"evaluator must not import {name}")
        return None

already = sorted(m for m in sys.modules if m in blocked)
for name in already:
    del sys.modules[name]
before = set(sys.modules)
sys.meta_path.insert(0, Blocker())

import evaluator
names = sorted(m.name for m in pkgutil.iter_modules(evaluator.__path__))
for name in names:
    importlib.import_module("evaluator." + name)

from evaluator import page_api
from evaluator.result import score_case
from evaluator.suite import load_suite
from evaluator.summary import summarize

suite = load_suite({"name": "p", "cases": [{"id": "j", "input": "JSON please",
    "expect": {"kind": "json_schema", "schema": {"type": "object", "required": ["a"]}}}]},
    "p.yaml", {})
events = [[5.0, json.dumps({"choices": [{"delta": {"content": '{"a": 1}'},
                                         "finish_reason": "stop"}]})], [6.0, "[DONE]"]]
result = score_case(suite.cases[0], {"status": 200, "events": events, "ended_ms": 7.0,
                                     "error": None})
summary = summarize([result], suite.pass_threshold)
reply = json.loads(page_api.call(json.dumps({"op": "run_check", "args": {
    "expect": {"kind": "contains", "value": "a"}, "answer": "abc", "tool_calls": []}})))

stdlib = set(sys.stdlib_module_names)
foreign = sorted({m.split(".")[0] for m in set(sys.modules) - before}
                 - stdlib - allowed - {"_distutils_hack"})
print(json.dumps({"modules": names, "status": result["status"],
                  "verdict": summary["verdict"], "page_api": reply["ok"], "foreign": foreign}))
"""


def test_evaluator_imports_with_io_modules_blocked() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(BLOCKED), json.dumps(ALLOWED_THIRD_PARTY)],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert {"page_api", "checks", "result", "suite", "summary", "transcript"} <= \
        set(report["modules"])
    assert (report["status"], report["verdict"], report["page_api"]) == ("pass", "pass", True)
    assert report["foreign"] == []


def test_blocker_really_blocks() -> None:
    """The harness can fail: a module that imports socket is refused."""
    script = SCRIPT.replace("import evaluator\n", "import evaluator\nimport socket\n", 1)
    proc = subprocess.run(
        [sys.executable, "-c", script, json.dumps(BLOCKED), json.dumps(ALLOWED_THIRD_PARTY)],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode != 0
    assert "evaluator must not import socket" in proc.stderr
