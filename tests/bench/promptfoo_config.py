"""Express classic-rating (local-model-rating 0.3.0) as a promptfoo config (same prompts,
same checks).

Each case becomes a promptfoo test whose ``vars`` hold the resolved prompt (and system
message and image data URL); ``prompt.js`` turns them into chat messages. The output is
first transformed as localrate's evaluator sees it (inline ``<think>`` removed; for exact,
regex and json_schema also trimmed and a whole-answer code fence unwrapped), then:
contains -> ``contains``/``icontains``, not_contains -> ``not-contains``, json_schema ->
``is-json`` with the schema, regex -> ``regex`` when JavaScript accepts the pattern as is,
else ``javascript`` with flags (Python's ``(?i:...)`` groups spelled out as classes),
exact -> ``javascript``. Tool-call cases are left out: promptfoo's provider takes tools per
provider, not per test; the benchmark runs localrate on the same subset.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

THINK_JS = r"output.replace(/<think>[\s\S]*?<\/think>/g, '')"
CLEAN_JS = (f"(() => {{ const t = {THINK_JS}.trim();"
            r" const m = t.match(/^```[^\n`]*\n([\s\S]*?)\n?```$/); return m ? m[1] : t; })()")
PROMPT_JS = """\
// Chat messages for one localrate case: optional system, user text, optional image.
module.exports = function ({ vars }) {
  const messages = [];
  if (vars.system) messages.push({ role: "system", content: vars.system });
  const content = vars.image
    ? [{ type: "text", text: vars.user }, { type: "image_url", image_url: { url: vars.image } }]
    : vars.user;
  messages.push({ role: "user", content });
  return JSON.stringify(messages);
};
"""
_INLINE_I = re.compile(r"\(\?i:([A-Za-z]+)\)")


def js_pattern(pattern: str) -> str:
    """Python regex → JavaScript: ``(?i:word)`` groups become ``(?:[wW][oO]...)``."""
    return _INLINE_I.sub(
        lambda m: "(?:" + "".join(f"[{c.lower()}{c.upper()}]" for c in m.group(1)) + ")",
        pattern)


def assertion(expect: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """(promptfoo assertion, output transform) for one localrate ``expect``."""
    kind = expect["kind"]
    if kind == "contains":
        sensitive = expect.get("case_sensitive", True)
        return {"type": "contains" if sensitive else "icontains",
                "value": expect["value"]}, THINK_JS
    if kind == "not_contains":
        return {"type": "not-contains", "value": expect["value"]}, THINK_JS
    if kind == "json_schema":
        return {"type": "is-json", "value": expect["schema"]}, CLEAN_JS
    if kind == "exact":
        return {"type": "javascript", "value": f"output === {json.dumps(expect['value'])}"}, \
            CLEAN_JS
    if kind == "regex":
        pattern, flags = js_pattern(expect["pattern"]), expect.get("flags") or ""
        if not flags and pattern == expect["pattern"]:
            return {"type": "regex", "value": pattern}, CLEAN_JS
        test = f"new RegExp({json.dumps(pattern)}, {json.dumps(flags)}).test(output)"
        return {"type": "javascript", "value": test}, CLEAN_JS
    raise ValueError(f"promptfoo config: expect.kind '{kind}' has no promptfoo form")


def cases_for_promptfoo(suite_json: dict[str, Any]) -> list[dict[str, Any]]:
    """The resolved suite's cases that promptfoo can express (no tool calls)."""
    return [c for c in suite_json["cases"]
            if c["expect"]["kind"] != "tool_call" and not c.get("tools")]


def write_config(folder: Path, suite_json: dict[str, Any], base_url: str, model: str
                 ) -> tuple[Path, list[str]]:
    """Write promptfooconfig.json and prompt.js into ``folder``; (config path, case ids)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "prompt.js").write_text(PROMPT_JS, encoding="utf-8")
    tests = []
    cases = cases_for_promptfoo(suite_json)
    for case in cases:
        check, transform = assertion(case["expect"])
        tests.append({"description": case["id"],
                      "vars": {"user": case["input"], "system": case.get("system") or "",
                               "image": case.get("image") or ""},
                      "options": {"transform": transform},
                      "assert": [check]})
    config = {
        "description": f"{suite_json['id']} {suite_json['version']} (localrate benchmark)",
        "prompts": ["file://prompt.js"],
        "providers": [{"id": f"openai:chat:{model}", "config": {
            "apiBaseUrl": base_url + "/v1", "apiKey": "bench", "temperature": 0,
            "max_tokens": 1024, "showThinking": False}}],
        "tests": tests,
        "evaluateOptions": {"maxConcurrency": 1, "cache": False},
        "sharing": False,
    }
    path = folder / "promptfooconfig.json"
    path.write_text(json.dumps(config, indent=2, ensure_ascii=False), encoding="utf-8")
    return path, [c["id"] for c in cases]
