"""The suite model: loading, resolving files, the resolved JSON form, every SuiteError."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from typing import Any

import pytest

from evaluator.capabilities import CAPABILITIES
from evaluator.errors import SuiteError
from evaluator.suite import (
    Case,
    Suite,
    canonical_json,
    case_from_json,
    load_suite,
    referenced_files,
    suite_from_json,
)

SRC = "suites/t/suite.yaml"
PNG = b"\x89PNG\r\n\x1a\nfake"


def base() -> dict[str, Any]:
    return {
        "name": "t", "version": "0.3.0", "description": "d", "passThreshold": 0.5,
        "agent": {"ignored": True},
        "cases": [
            {"id": "echo", "input": "Say BENCH.", "expect": {"kind": "contains",
                                                            "value": "BENCH"},
             "tags": ["instruction-following"]},
            {"id": "from-file", "input": {"file": "prompts/p.txt"}, "system": "Be brief.",
             "expect": {"kind": "regex", "pattern": "^ok$", "flags": "i"}, "weight": 2,
             "max_tokens": 64},
            {"id": "ocr", "requires": ["vision"], "image": {"file": "images/x.png"},
             "input": "Read it.", "expect": {"kind": "exact", "value": "V"}},
            {"id": "tool", "requires": ["tool-use"], "tools": [{"type": "function",
             "function": {"name": "get_weather", "parameters": {"type": "object"}}}],
             "input": "Weather?", "expect": {"kind": "tool_call", "name": "get_weather",
                                             "arguments": {"type": "object"}}},
        ],
    }


FILES = {"prompts/p.txt": "Réponds « ok ».".encode(), "images/x.png": PNG}


def test_load_resolves_files_and_defaults() -> None:
    suite = load_suite(base(), SRC, FILES)
    assert isinstance(suite, Suite)
    assert (suite.id, suite.version, suite.pass_threshold) == ("t", "0.3.0", 0.5)
    echo, from_file, ocr, tool = suite.cases
    assert echo == Case(id="echo", input="Say BENCH.",
                        expect={"kind": "contains", "value": "BENCH"},
                        tags=("instruction-following",))
    assert from_file.input == "Réponds « ok »."
    assert (from_file.system, from_file.weight, from_file.max_tokens) == ("Be brief.", 2, 64)
    assert ocr.image == "data:image/png;base64,iVBORw0KGgpmYWtl"
    assert tool.requires == ("tool-use",)


def test_referenced_files_in_order_without_repeats() -> None:
    data = base()
    data["cases"].append({"id": "again", "input": {"file": "prompts/p.txt"}})
    data["cases"].append("not a mapping")
    assert referenced_files(data) == ["prompts/p.txt", "images/x.png"]
    assert referenced_files(None) == []
    assert referenced_files({"cases": "x"}) == []


MAGIC = {"png": PNG, "jpg": b"\xff\xd8\xff\xe0", "JPEG": b"\xff\xd8\xff\xdb",
         "webp": b"RIFF\x00\x00\x00\x00WEBPVP8 ", "gif": b"GIF89a\x01\x00"}


@pytest.mark.parametrize("ext, mime", [("png", "image/png"), ("jpg", "image/jpeg"),
                                       ("JPEG", "image/jpeg"), ("webp", "image/webp"),
                                       ("gif", "image/gif")])
def test_image_mime_from_extension(ext: str, mime: str) -> None:
    data = base()
    data["cases"][2]["image"] = {"file": f"images/x.{ext}"}
    suite = load_suite(data, SRC, {**FILES, f"images/x.{ext}": MAGIC[ext]})
    encoded = base64.b64encode(MAGIC[ext]).decode()
    assert suite.cases[2].image == f"data:{mime};base64,{encoded}"
    assert suite_from_json(suite.to_json()) == suite


def test_id_key_and_defaults() -> None:
    data = {"id": "s", "cases": [{"id": "a", "input": "x",
                                  "expect": {"kind": "exact", "value": "x"}}]}
    suite = load_suite(data, SRC, {})
    assert (suite.id, suite.version, suite.description, suite.pass_threshold) == \
        ("s", "", "", 0.6)
    assert suite.cases[0].weight == 1


def test_json_round_trip_and_hash() -> None:
    suite = load_suite(base(), SRC, FILES)
    obj = suite.to_json()
    body = {k: v for k, v in obj.items() if k != "sha256"}
    assert obj["sha256"] == hashlib.sha256(canonical_json(body).encode()).hexdigest()
    again = suite_from_json(json.loads(json.dumps(obj)))
    assert again == suite
    assert again.sha256 == suite.sha256
    assert case_from_json(suite.cases[3].to_json()) == suite.cases[3]
    assert list(obj["cases"][0]) == ["id", "input", "system", "image", "tools", "expect",
                                     "weight", "tags", "requires", "max_tokens"]


def test_hash_changes_with_content() -> None:
    data = base()
    data["cases"][0]["input"] = "Say BENCH!"
    assert load_suite(data, SRC, FILES).sha256 != load_suite(base(), SRC, FILES).sha256


def set_in(data: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    if value is DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value


DELETE = object()
E = f"{SRC}: case "

ERRORS: list[tuple[str, tuple[Any, ...], Any, dict[str, bytes], str]] = [
    ("missing-id", ("cases", 0, "id"), DELETE, FILES, f"{E}#1: id: missing"),
    ("duplicate-id", ("cases", 1, "id"), "echo", FILES, f"{E}'echo': id: duplicate id"),
    ("missing-input", ("cases", 0, "input"), DELETE, FILES, f"{E}'echo': input: missing"),
    ("input-not-text", ("cases", 0, "input"), 5, FILES,
     f"{E}'echo': input: must be a string or {{file: path}}, got 5"),
    ("input-file-absent", ("cases", 1, "input", "file"), "prompts/q.txt", FILES,
     f"{E}'from-file': input.file: file not found: prompts/q.txt"),
    ("input-file-not-utf8", ("cases", 1, "id"), "from-file", {**FILES, "prompts/p.txt":
     b"ok \xff"}, (f"{E}'from-file': input.file: prompts/p.txt is not UTF-8 text "
     "(invalid start byte at byte 3)")),
    ("image-file-absent", ("cases", 2, "image", "file"), "images/y.png", FILES,
     f"{E}'ocr': image.file: file not found: images/y.png"),
    ("image-type", ("cases", 2, "image", "file"), "images/x.bmp", FILES,
     f"{E}'ocr': image.file: unsupported image type 'images/x.bmp' (png, jpeg, webp, gif)"),
    ("expect-missing", ("cases", 0, "expect"), DELETE, FILES, f"{E}'echo': expect: missing"),
    ("unknown-kind", ("cases", 0, "expect", "kind"), "fuzzy", FILES,
     (f"{E}'echo': expect.kind: unknown kind 'fuzzy' (known: contains, regex, exact, "
     "json_schema, tool_call, not_contains)")),
    ("bad-regex", ("cases", 1, "expect", "pattern"), "a(b", FILES,
     (f"{E}'from-file': expect.pattern: invalid regex 'a(b': missing ), unterminated "
     "subpattern at position 1")),
    ("bad-schema", ("cases", 0, "expect"), {"kind": "json_schema", "schema": {"type": 3}},
     FILES, (f"{E}'echo': expect.schema: $.type: 3 is not valid under any of the given "
     "schemas")),
    ("remote-ref", ("cases", 0, "expect"), {"kind": "json_schema", "schema": {
        "properties": {"a": {"$ref": "https://x.example/a.json"}}}}, FILES,
     (f"{E}'echo': expect.schema: $ref 'https://x.example/a.json': only local references "
     "(#...) are supported")),
    ("tool-call-no-name", ("cases", 3, "expect", "name"), DELETE, FILES,
     f"{E}'tool': expect.name: missing"),
    ("tool-call-bad-arguments", ("cases", 3, "expect", "arguments"), {"required": "city"},
     FILES, f"{E}'tool': expect.arguments: $.required: 'city' is not of type 'array'"),
    ("weight-zero", ("cases", 0, "weight"), 0, FILES,
     f"{E}'echo': weight: must be a positive number up to 1000000, got 0"),
    ("weight-text", ("cases", 0, "weight"), "heavy", FILES,
     f"{E}'echo': weight: must be a positive number up to 1000000, got 'heavy'"),
    ("unknown-capability", ("cases", 2, "requires"), ["telepathy"], FILES,
     (f"{E}'ocr': requires: unknown capability 'telepathy' (known: "
     f"{', '.join(CAPABILITIES)})")),
    ("threshold-high", ("passThreshold",), 1.5, FILES,
     f"{SRC}: passThreshold: must be a number from 0 to 1, got 1.5"),
    ("threshold-negative", ("passThreshold",), -0.1, FILES,
     f"{SRC}: passThreshold: must be a number from 0 to 1, got -0.1"),
    ("no-name", ("name",), DELETE, FILES, f"{SRC}: name: missing (give the suite a name or id)"),
    ("no-cases", ("cases",), [], FILES, f"{SRC}: cases: must be a non-empty list"),
    ("max-tokens", ("cases", 0, "max_tokens"), 0, FILES,
     f"{E}'echo': max_tokens: must be a positive integer up to 1000000, got 0"),
    ("tags", ("cases", 0, "tags"), "x", FILES, (f"{E}'echo': tags: must be a list of strings, "
     "got 'x'")),
]


@pytest.mark.parametrize("path, value, files, message", [row[1:] for row in ERRORS],
                         ids=[row[0] for row in ERRORS])
def test_suite_errors(path: tuple[Any, ...], value: Any, files: dict[str, bytes],
                      message: str) -> None:
    data = copy.deepcopy(base())
    set_in(data, path, value)
    with pytest.raises(SuiteError) as info:
        load_suite(data, SRC, files)
    assert str(info.value) == message


def test_resolved_form_errors() -> None:
    obj = load_suite(base(), SRC, FILES).to_json()
    tampered = {**obj, "description": "changed"}
    with pytest.raises(SuiteError, match=r"^resolved suite: sha256: does not match"):
        suite_from_json(tampered)
    obj["cases"][0]["input"] = {"file": "prompts/p.txt"}
    with pytest.raises(SuiteError) as info:
        suite_from_json({k: v for k, v in obj.items() if k != "sha256"})
    assert str(info.value) == ("resolved suite: case 'echo': input: must be a string, "
                               "got {'file': 'prompts/p.txt'}")
