"""evaluator.yaml_lite (the page's YAML reader) and evaluator.yaml_write (the editor's
export): answers equal to PyYAML's safe loader, refusals as one line naming file and line."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest
import yaml

from evaluator.errors import SuiteError
from evaluator.yaml_lite import parse
from evaluator.yaml_write import dump

ROOT = Path(__file__).resolve().parents[1]

TABLE = [
    "a: 1\nb: yes\nc: ~\nd: 0x1f\ne: 1_000\nf: 1.5\ng: .inf\nh: 017\ni: 1:30\nj: 0b101\n",
    "x: '1'\ny: \"2\"\nz: 'it''s'\nw: \"tab\\there \\u00e9 \\x41\"\n",
    "k: |\n  line 1\n  line 2\n\n  para\nnext: 1\n",
    "k: >-\n  folded\n  text\n\n  new para\n    indented\n  back\n",
    "k: |+\n  kept\n\n\nm: |2-\n    two more\n   one more\n",
    "list:\n- a\n- b: 1\n  c: 2\n- - nested\n  - seq\n",
    "flow: {kind: contains, value: 'a, b', n: [1, 2, {x: y}]}\nempty: {}\nnone: []\n",
    "multi: [a,\n  b, c]\nmap: {a: 1,\n  b: 2}\n",
    "plain: this is\n  continued\n\n  and more\nafter: x\n",
    "quoted: \"first\n  second\n\n  third\"\nsq: 'one\n  two'\n",
    "# comment\n---\na: b # trailing comment\nc: 'd # not a comment'\n...\n",
    "a: \"escaped \\\n  join\"\n",
    "\ufeffbom: true\n",
    "key with spaces: v\n'quoted key': w\n\"dq\": z\n",
    "cases:\n  - id: x\n    input: {file: prompts/x.txt}\n    expect: {kind: regex, value: '^[0-9]+\\.[0-9]+$'}\n",
    "- 1\n- -1\n- +1\n- .5\n- -.inf\n- .NaN\n- Null\n- NULL\n- 'null'\n- off\n- On\n",
    "",
    "# only comments\n",
]


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("text", TABLE)
def test_reads_as_pyyaml_does(text: str) -> None:
    assert _same(parse(text, "s.yaml"), yaml.safe_load(text))


def test_every_shipped_and_fixture_suite_reads_the_same() -> None:
    paths = sorted(ROOT.glob("suites/*/suite.yaml")) + sorted(ROOT.glob("tests/data/**/*.yaml"))
    assert len(paths) >= 4
    for path in paths:
        text = path.read_text("utf-8")
        assert _same(parse(text, path.name), yaml.safe_load(text)), path


@pytest.mark.parametrize(("text", "line", "words"), [
    ("a: &x 1\nb: *x\n", 1, "anchor ('&') is not supported"),
    ("a: !!str 1\n", 1, "tag ('!') is not supported"),
    ("a: 1\n---\nb: 2\n", 2, "second document"),
    ("? complex\n: v\n", 1, "complex key"),
    ("<<: {a: 1}\n", 1, "merge key"),
    ("d: 2024-01-01\n", 1, "reads as a date"),
    ("a: [1, 2\n", 1, "never closed"),
    ("a: 'open\n", 1, "never closed"),
    ("a: b: c\n", 1, "mapping values are not allowed"),
    ("a:\n\tb: 1\n", 2, "tab"),
    ("a: 1\n  b: 2\n", 2, "unexpected indentation"),
    ("a: \"\\q\"\n", 1, "unknown escape"),
    ("a:" + " [" * 70 + "\n", 1, "nested deeper than 64"),
])
def test_refusals_are_one_line_with_file_and_line(text: str, line: int, words: str) -> None:
    with pytest.raises(SuiteError) as info:
        parse(text, "my/suite.yaml")
    message = str(info.value)
    assert message.startswith(f"my/suite.yaml:{line}: ") and words in message
    assert "\n" not in message


def test_size_limit_is_the_clis() -> None:
    with pytest.raises(SuiteError, match="larger than the 1 MB limit for suite files"):
        parse("a: " + "x" * 1_000_001, "big.yaml")


WORDS = ["a", "b c", "x: y", "- z", "#h", "'q'", '"d"', "yes", "No", "1", "0x1f", "1.5", "~",
         "null", "", "  lead", "trail  ", "multi\nline", "multi\n\npara\n", "end\n\n\n",
         "tab\there", "ü ✓", "\\back", "a #b", "[x]", "{y}", "%p", "@a", "`t", "2024-01-01",
         "1_000", ".inf", "-.5", "0o7", "017", "1:30", "\n", "\x85nl", "\u2028", "😀",
         "\x00\x07", "a\r\nb", "-", "?", ":x", "x:", "&a", "*a", "!t", "|", "> x",
         "a\n b\n  c", "<<", "="]


KEYS = [w for w in WORDS if w.isprintable()]  # a key with a line break is a complex key


def _value(rng: random.Random, depth: int = 0) -> object:
    roll = rng.random()
    if depth < 4 and roll < 0.3:
        return {rng.choice(KEYS): _value(rng, depth + 1) for _ in range(rng.randint(0, 4))}
    if depth < 4 and roll < 0.55:
        return [_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    roll = rng.random()
    if roll < 0.1:
        return rng.randint(-10**6, 10**6)
    if roll < 0.15:
        return rng.choice([True, False, None, 1.5, -0.25, 1e300])
    return rng.choice(WORDS) + rng.choice(["", "x", " y", "\n"])


STYLES = [{"default_flow_style": False}, {"default_flow_style": None},
          {"default_flow_style": True}, {"default_flow_style": False, "width": 12},
          {"default_flow_style": False, "width": 20}, {"default_flow_style": False, "indent": 4}]


@pytest.mark.parametrize("seed", range(4))
def test_documents_pyyaml_writes_read_the_same(seed: int) -> None:
    rng = random.Random(seed)
    refused = 0
    for _ in range(400):
        value = _value(rng)
        text = yaml.safe_dump(value, allow_unicode=rng.random() < 0.5, **rng.choice(STYLES))
        try:
            mine = parse(text, "f")
        except SuiteError as err:  # a complex key, tag or odd line break: refused
            assert "not supported" in str(err)
            assert "? " in text or "?\n" in text or "!!" in text or any(c in text for c in "\r\x85\u2028\u2029")
            refused += 1
            continue
        assert _same(mine, yaml.safe_load(text)), text
    assert refused < 80  # most are read; none is misread


@pytest.mark.parametrize("seed", range(4))
def test_written_yaml_reads_back_in_both_readers(seed: int) -> None:
    rng = random.Random(100 + seed)
    for _ in range(400):
        value = _value(rng)
        text = dump(value)
        assert _same(yaml.safe_load(text), value), text
        assert _same(parse(text, "f"), value), text


def test_writer_output_is_readable() -> None:
    text = dump({"name": "s", "passThreshold": 0.6, "cases": [
        {"id": "a", "input": "line 1\nline 2\n", "expect": {"kind": "exact", "value": "42"}}]})
    assert text == ("name: s\npassThreshold: 0.6\ncases:\n  - id: a\n    input: |\n"
                    "      line 1\n      line 2\n    expect:\n      kind: exact\n"
                    "      value: \"42\"\n")
