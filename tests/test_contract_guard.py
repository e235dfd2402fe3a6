"""The run contract has one home, `evaluator/`: the shells (server/, web/) never write a
record format name, the chat path, a run default or a check's description themselves. A
literal copy of one fails here; a shell asks the evaluator (or reads what the build put into
the page data) instead.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from evaluator.checks import CHECKS, describe_expect
from evaluator.discovery import OPENAI_LIST_PATH, PROBE_TIMEOUT_S
from evaluator.records import COMPARISON_FORMAT, RECORD_FORMAT
from evaluator.request import CHAT_PATH, DEFAULT_SETTINGS, DEFAULT_SUITE_ID, MAX_OUTPUT_BYTES

ROOT = Path(__file__).resolve().parent.parent
SHELL_SUFFIXES = {".py", ".mjs", ".js", ".j2", ".html"}

# The MLX bridge is a server that *implements* the OpenAI routes; it is not a shell of the
# run contract, so the chat path is its own business there.
SERVES_THE_API = ("server/mlx_bridge/", "server/cli/bridge.py")


def _format_stem(name: str) -> str:
    return name.rsplit("/", 1)[0] + "/"  # "localrate.run/" also catches other versions


def rules() -> list[tuple[str, re.Pattern[str], tuple[str, ...]]]:
    """(what, pattern, path prefixes allowed to hold it)."""
    settings = DEFAULT_SETTINGS
    return [
        ("the run record format", re.compile(re.escape(_format_stem(RECORD_FORMAT))), ()),
        ("the comparison format", re.compile(re.escape(_format_stem(COMPARISON_FORMAT))), ()),
        ("the chat path", re.compile(re.escape(CHAT_PATH)), SERVES_THE_API),
        ("the list path", re.compile(re.escape(f'"{OPENAI_LIST_PATH}"')), SERVES_THE_API),
        ("the default suite id", re.compile(re.escape(DEFAULT_SUITE_ID)), ()),
        ("the max_tokens default", re.compile(
            rf"max.?tokens.{{0,30}}\b{settings['max_tokens']}\b"
            rf"|\b{settings['max_tokens']}\b.{{0,30}}max.?tokens", re.IGNORECASE), ()),
        ("the timeout default", re.compile(
            rf"timeout.{{0,30}}\b{settings['timeout_s']}(\.0)?\b"
            rf"|\b{settings['timeout_s']}(\.0)?\b.{{0,30}}timeout", re.IGNORECASE), ()),
        ("the probe timeout", re.compile(
            rf"\b({re.escape(str(PROBE_TIMEOUT_S))}|{int(PROBE_TIMEOUT_S * 1000)})\b"),
         ("web/css/",)),
        ("the output cap", re.compile(
            rf"(max.?bytes|output.?cap).{{0,30}}\b({MAX_OUTPUT_BYTES}|{MAX_OUTPUT_BYTES:_})\b",
            re.IGNORECASE), ()),
        *[(f"the description of a {kind} check", re.compile(re.escape(text)), ())
          for kind, text in _descriptions()],
    ]


# Each kind's distinctive wording in describe_expect (checked below to be the evaluator's).
DESCRIPTION_WORDS = {
    "contains": " (any case)",
    "not_contains": "does not contain ",
    "regex": "matches /",
    "exact": "is exactly ",
    "json_schema": "JSON matching the schema",
    "tool_call": "with arguments matching",
    "no_tool_call": "calls no tool",
}
CHECK_EXAMPLES = {
    "contains": {"kind": "contains", "value": "X", "case_sensitive": False},
    "not_contains": {"kind": "not_contains", "value": "X"},
    "regex": {"kind": "regex", "pattern": "x"},
    "exact": {"kind": "exact", "value": "X"},
    "json_schema": {"kind": "json_schema", "schema": {"type": "object"}},
    "tool_call": {"kind": "tool_call", "name": "f", "arguments": {"type": "object"}},
    "no_tool_call": {"kind": "no_tool_call"},
}


def _descriptions() -> list[tuple[str, str]]:
    return list(DESCRIPTION_WORDS.items())


def violations(rel: str, text: str) -> list[str]:
    """Every rule a shell file's text breaks, as ``file:line: what``."""
    found = []
    for what, pattern, allowed in rules():
        if rel.startswith(allowed) if allowed else False:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            if pattern.search(line):
                found.append(f"{rel}:{number}: {what} written out: {line.strip()[:90]}")
    return found


def shell_files() -> list[Path]:
    return sorted(p for folder in ("server", "web") for p in (ROOT / folder).rglob("*")
                  if p.is_file() and p.suffix in SHELL_SUFFIXES)


def test_every_check_kind_has_its_words() -> None:
    assert set(CHECK_EXAMPLES) == set(DESCRIPTION_WORDS) == set(CHECKS)
    for kind, words in DESCRIPTION_WORDS.items():
        assert words in describe_expect(CHECK_EXAMPLES[kind]), kind


def test_no_shell_writes_the_contract_out() -> None:
    found = [v for path in shell_files()
             for v in violations(str(path.relative_to(ROOT)), path.read_text("utf-8"))]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("line", [
    'const FORMAT = "localrate.run/1";',
    'return {"format": "localrate.comparison/2"}',
    'fetch(base + "/v1/chat/completions")',
    "max_tokens: 1024,",
    'value="1024" id="max-tokens"',
    "timeout_s: 120,",
    '@click.option("--timeout", default=120.0)',
    "const PROBE_TIMEOUT_MS = 1500;",
    "OUTPUT_CAP = 1_000_000",
    "pageData.default_suite || 'local-model-rating'",
    'return `is exactly ${q(expect.value)}`;',
    'case "regex": return `matches /${expect.pattern}/`;',
    'if (!result.tool_calls.length) return "calls no tool";',
])
def test_the_guard_can_fail(line: str) -> None:
    assert violations("web/js/example.mjs", line)


def test_the_guard_lets_the_mlx_bridge_serve_the_api() -> None:
    assert not violations("server/mlx_bridge/app.py", 'Route("/v1/chat/completions", chat)')
    assert violations("server/rating/bench.py", 'Route("/v1/chat/completions", chat)')


# A CLI option of a run setting takes its default from the evaluator (DEFAULT_SETTINGS,
# OPTIONAL_DEFAULTS), never a literal of its own.
SETTING_OPTIONS = {"--timeout", "--max-tokens", "--temperature", "--top-p", "--system",
                   "--thinking", "--repeat", "--warmup/--no-warmup"}
CONVERSIONS = {"float", "int", "str", "bool"}


def literal_setting_defaults(source: str) -> list[str]:
    """Every ``@click.option`` of a run setting in ``source`` whose default is a literal."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "option"):
            continue
        names = [a.value for a in node.args if isinstance(a, ast.Constant)]
        default = next((k.value for k in node.keywords if k.arg == "default"), None)
        named = {n.id for n in ast.walk(default) if isinstance(n, ast.Name)} - CONVERSIONS \
            if default is not None else {"(none)"}
        if any(n in SETTING_OPTIONS for n in names) and not named:
            found.append(f"{names[0]}: default={ast.unparse(default)}")
    return found


def test_cli_setting_defaults_come_from_the_evaluator() -> None:
    found = [f"{path.relative_to(ROOT)}: {item}" for path in sorted((ROOT / "server").rglob("*.py"))
             for item in literal_setting_defaults(path.read_text("utf-8"))]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("line", [
    '@click.option("--repeat", type=click.Choice(["1", "2"]), default="1")\ndef f(): pass',
    '@click.option("--warmup/--no-warmup", default=True)\ndef f(): pass',
    '@click.option("--thinking", default="default", show_default=True)\ndef f(): pass',
    '@click.option("--timeout", default=float(120))\ndef f(): pass',
])
def test_the_setting_default_guard_can_fail(line: str) -> None:
    assert literal_setting_defaults(line)
