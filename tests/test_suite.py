"""The suite model: loading, resolving files, the resolved JSON form, every SuiteError."""

from __future__ import annotations

import base64
import copy
import datetime
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
from evaluator.suite_files import (
    MAX_DATA_URL_CHARS,
    MAX_IMAGE_BYTES,
    MAX_PROMPT_BYTES,
    file_refs,
    path_problem,
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
     "json_schema, tool_call, no_tool_call, not_contains)")),
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


# -- files: paths, sizes, image bytes (evaluator.suite_files) -------------------------------

@pytest.mark.parametrize("path, what", [
    ("../../etc/passwd", "'../../etc/passwd' is outside the suite's folder"),
    ("prompts/../../x.txt", "is outside the suite's folder"),
    ("/etc/passwd", "'/etc/passwd' is an absolute path"),
    ("C:/Windows/win.ini", "is an absolute path"),
    ("c:x.txt", "is an absolute path"),
    ("prompts\\x.txt", "contains a backslash"),
    ("prompts/x.txt\x00.png", "contains a NUL character"),
    ("prompts//x.txt", "has an empty part"),
    ("prompts/", "has an empty part"),
    ("", "must be a relative path inside the suite's folder, got ''"),
    (7, "must be a relative path inside the suite's folder, got 7"),
])
def test_file_paths_outside_the_folder_are_refused(path: Any, what: str) -> None:
    assert path_problem(path) is not None and what in str(path_problem(path))
    data = base()
    data["cases"][1]["input"] = {"file": path}
    assert referenced_files(data) == ["images/x.png"]  # the shell never reads it
    with pytest.raises(SuiteError) as info:
        load_suite(data, SRC, {**FILES, str(path): b"secret"})
    assert str(info.value).startswith(f"{E}'from-file': input.file: ")
    assert what in str(info.value) and "secret" not in str(info.value)


@pytest.mark.parametrize("path", ["prompts/p.txt", "./prompts/p.txt", "a b/ç.txt", "x"])
def test_relative_paths_inside_the_folder_are_fine(path: str) -> None:
    assert path_problem(path) is None


def test_file_refs_name_the_case_field_and_limit() -> None:
    refs = file_refs(base())
    assert [(r.path, r.case, r.field, r.max_bytes) for r in refs] == [
        ("prompts/p.txt", "case 'from-file'", "input.file", MAX_PROMPT_BYTES),
        ("images/x.png", "case 'ocr'", "image.file", MAX_IMAGE_BYTES)]
    assert str(refs[0].error(SRC, "gone")) == f"{E}'from-file': input.file: gone"


def test_size_limits() -> None:
    big_prompt = {**FILES, "prompts/p.txt": b"x" * (MAX_PROMPT_BYTES + 1)}
    with pytest.raises(SuiteError, match=r"'prompts/p.txt' is larger than the 2 MB limit"):
        load_suite(base(), SRC, big_prompt)
    big_image = {**FILES, "images/x.png": PNG + b"\0" * MAX_IMAGE_BYTES}
    with pytest.raises(SuiteError, match=r"'images/x.png' is larger than the 8 MB limit"):
        load_suite(base(), SRC, big_image)
    assert load_suite(base(), SRC, {**FILES, "prompts/p.txt": b"x" * MAX_PROMPT_BYTES})


@pytest.mark.parametrize("body, seen", [
    (b"#!/bin/sh\necho hi", "its first bytes are not an image's"),
    (b"\xff\xd8\xff\xe0JFIF", "its bytes are JPEG"),
    (b"GIF87a", "its bytes are GIF"),
    (b"", "its first bytes are not an image's"),
])
def test_images_are_checked_by_their_magic_bytes(body: bytes, seen: str) -> None:
    with pytest.raises(SuiteError) as info:
        load_suite(base(), SRC, {**FILES, "images/x.png": body})
    assert str(info.value) == (f"{E}'ocr': image.file: 'images/x.png' is not a PNG image "
                               f"({seen})")


@pytest.mark.parametrize("url, what", [
    ("data:text/html;base64,PGI+", "must be a data:image/(png|jpeg|webp|gif);base64"),
    ("data:image/png;base64,aGVsbG8gd29ybGQh", "is not a PNG image"),
    ("data:image/png;base64,@@@@", "image is not valid base64"),
    ("data:image/png," + "A" * 8, "must be a data:image/"),
    ("data:image/png;base64," + "A" * (MAX_DATA_URL_CHARS + 4), "larger than the 8 MB"),
])
def test_resolved_images_are_checked_too(url: str, what: str) -> None:
    obj = load_suite(base(), SRC, FILES).to_json()
    obj["cases"][2]["image"] = url
    del obj["sha256"]
    with pytest.raises(SuiteError) as info:
        suite_from_json(obj)
    assert str(info.value).startswith("resolved suite: case 'ocr': image: ")
    assert what in str(info.value)


@pytest.mark.parametrize("field, value, what", [
    ("tools", [{"type": "function", "at": datetime.date(2024, 1, 1)}],
     "tools: $[0].at: datetime.date(2024, 1, 1) is not JSON (date)"),
    ("tools", [{"type": "function", "x": float("nan")}], "tools: $[0].x: nan is not a finite"),
    ("expect", {"kind": "contains", "value": "x", 1: "y"}, "expect: $: key 1 is not a string"),
    ("expect", {"kind": "contains", "value": b"x"}, "expect: $.value: b'x' is not JSON"),
    ("id", "a\nb", "id: contains a control character"),
    ("id", "x" * 201, "id: longer than 200 characters"),
    ("weight", float("inf"), "weight: must be a positive number up to 1000000, got inf"),
    ("weight", True, "weight: must be a positive number up to 1000000, got True"),
    ("weight", 1e7, "weight: must be a positive number up to 1000000, got 10000000.0"),
    ("max_tokens", 10**9, "max_tokens: must be a positive integer up to 1000000"),
    ("system", ["x"], "system: must be a string, got ['x']"),
])
def test_values_that_are_not_plain_json_or_absurd(field: str, value: Any, what: str) -> None:
    data = base()
    data["cases"][3][field] = value
    with pytest.raises(SuiteError) as info:
        load_suite(data, SRC, FILES)
    assert what in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("key, value, what", [
    ("version", {"a": 1}, "version: must be a string of up to 100 characters, got {'a': 1}"),
    ("version", "v" * 101, ("version: must be a string of up to 100 characters, got "
     f"'{'v' * 59}…")),
    ("description", ["x"], "description: must be a string, got ['x']"),
    ("name", ["x"], "name: must be a string, got ['x']"),
    ("passThreshold", float("nan"), "passThreshold: must be a number from 0 to 1, got nan"),
])
def test_top_level_types(key: str, value: Any, what: str) -> None:
    with pytest.raises(SuiteError) as info:
        load_suite({**base(), key: value}, SRC, FILES)
    assert str(info.value) == f"{SRC}: {what}"


def test_empty_file_and_non_mapping_cases() -> None:
    with pytest.raises(SuiteError, match=r": suite: the file is empty$"):
        load_suite(None, SRC, {})
    with pytest.raises(SuiteError, match=r": case #2: must be a mapping, got 'x'$"):
        load_suite({**base(), "cases": [base()["cases"][0], "x"]}, SRC, FILES)
    assert load_suite({**base(), "version": 2}, SRC, FILES).version == "2"


def test_long_values_are_cut_in_errors() -> None:
    data = base()
    data["cases"][0]["input"] = {"text": "y" * 100_000}
    with pytest.raises(SuiteError) as info:
        load_suite(data, SRC, FILES)
    assert len(str(info.value)) < 200
