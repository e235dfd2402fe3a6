"""evaluator.suite_edit and evaluator.suite_form: a suite imported or written in the page,
checked with the CLI's errors, edited, tried, and exported so the CLI loads the same suite."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from pathlib import Path

import pytest

from evaluator.errors import SuiteError
from evaluator.page_api import call
from evaluator.suite_edit import (
    MAX_ZIP_ENTRIES,
    check_draft,
    export_yaml,
    export_zip,
    import_suite,
    new_draft,
)
from evaluator.suite_form import case_form, edit, try_answer
from server.rating.suites_io import load_file

ROOT = Path(__file__).resolve().parents[1]
CLASSIC = ROOT / "tests" / "data" / "suites" / "classic-rating"


def _entry(path: str, body: bytes) -> dict[str, str]:
    return {"path": path, "data": base64.b64encode(body).decode("ascii")}


def _folder(root: Path, prefix: str = "") -> list[dict[str, str]]:
    return [_entry(prefix + p.relative_to(root).as_posix(), p.read_bytes())
            for p in sorted(root.rglob("*")) if p.is_file() and p.suffix != ".py"]


def _zip(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, body in files.items():
            archive.writestr(name, body)
    return out.getvalue()


def _sha(draft: dict) -> str:
    checked = check_draft(draft)
    assert checked["ok"], checked["error"]
    return str(checked["suite"]["sha256"])


def test_a_folder_with_prompts_and_images_loads_as_the_cli_loads_it() -> None:
    cli = load_file(CLASSIC / "suite.yaml")
    draft = import_suite(_folder(CLASSIC, "classic-rating/"), "")
    assert _sha(draft) == cli.sha256
    assert any(c.image for c in cli.cases)  # images went through
    assert sorted(draft["files"]) and all("/" in p for p in draft["files"])


def test_a_zip_loads_the_same_suite() -> None:
    files = {f"classic/{p.relative_to(CLASSIC).as_posix()}": p.read_bytes()
             for p in CLASSIC.rglob("*") if p.is_file()}
    draft = import_suite([_entry("classic.zip", _zip(files))], "")
    assert _sha(draft) == load_file(CLASSIC / "suite.yaml").sha256
    assert draft["name"] == "classic.zip/classic/suite.yaml"


def test_export_yaml_is_one_file_the_cli_loads_to_the_same_hash(tmp_path: Path) -> None:
    draft = import_suite(_folder(CLASSIC), "")
    (tmp_path / "suite.yaml").write_text(export_yaml(draft), "utf-8")
    assert load_file(tmp_path / "suite.yaml").sha256 == load_file(CLASSIC / "suite.yaml").sha256


def test_export_zip_unpacks_to_a_folder_the_cli_loads(tmp_path: Path) -> None:
    draft = import_suite(_folder(CLASSIC), "")
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(export_zip(draft)))) as archive:
        archive.extractall(tmp_path)
    assert load_file(tmp_path / "suite.yaml").sha256 == load_file(CLASSIC / "suite.yaml").sha256


@pytest.mark.parametrize(("text", "message"), [
    (b"name: x\ncases:\n  - id: a\n    input: hi\n", "suite.yaml: case 'a': expect: missing"),
    ((b"name: x\ncases:\n  - id: a\n    input: {file: prompts/none.txt}\n"
      b"    expect: {kind: contains, value: x}\n"),
     "suite.yaml: case 'a': input.file: file not found: prompts/none.txt"),
    (b"name: x\ncases:\n  - id: a\n    input: hi\n    expect: {kind: regex, value: '(a+)+$'}\n",
     "suite.yaml: case 'a': expect."),
    (b"\xff\xfe", "suite.yaml: not UTF-8 text"),
])
def test_errors_are_the_clis_one_line(tmp_path: Path, text: bytes, message: str) -> None:
    with pytest.raises(SuiteError) as mine:
        import_suite([_entry("suite.yaml", text)], "")
    assert str(mine.value).startswith(message)
    (tmp_path / "suite.yaml").write_bytes(text)
    with pytest.raises(SuiteError) as cli:
        load_file(tmp_path / "suite.yaml")
    # the same message, apart from how the file is named
    assert str(cli.value).split("suite.yaml", 1)[1] == str(mine.value).split("suite.yaml", 1)[1]


def test_limits_are_stated_and_enforced() -> None:
    with pytest.raises(SuiteError, match="larger than the 1 MB limit for suite files"):
        import_suite([_entry("suite.yaml", b"a: " + b"x" * 1_000_001)], "")
    many = {f"f{i}.txt": b"" for i in range(MAX_ZIP_ENTRIES + 1)}
    with pytest.raises(SuiteError, match="more than the 2000 allowed"):
        import_suite([_entry("s.zip", _zip(many))], "")
    with pytest.raises(SuiteError, match="not a readable .zip"):
        import_suite([_entry("s.zip", b"PK\x03\x04 not really")], "")
    big = b"x" * 2_000_001
    text = b"name: x\ncases:\n  - id: a\n    input: {file: p.txt}\n    expect: {kind: contains, value: x}\n"
    with pytest.raises(SuiteError, match="larger than the 2 MB limit for prompt files"):
        import_suite([_entry("s.zip", _zip({"suite.yaml": text, "p.txt": big}))], "")
    assert "a .zip up to 50 MB" in json.loads(call('{"op": "suite_limits"}'))["value"]["text"]


def test_a_zip_bomb_and_an_oversized_zip_are_one_line() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for i in range(7):  # 56 MB unpacked, no file over the 8 MB image limit
            archive.writestr(f"f{i}.png", b"\0" * 8_000_000)
    bomb = out.getvalue()
    assert len(bomb) < 1_000_000
    with pytest.raises(SuiteError) as err:
        import_suite([_entry("bomb.zip", bomb)], "")
    assert str(err.value) == "bomb.zip: unpacks to more than 50 MB"
    with pytest.raises(SuiteError) as err:
        import_suite([_entry("big.zip", b"PK" + b"\0" * 50_000_000)], "")
    assert str(err.value) == "'big.zip': the files are larger than 50 MB together"


def test_editor_actions() -> None:
    draft = new_draft()
    draft = edit(draft, "add", {})
    assert check_draft(draft)["error"].endswith("expect.value: must be a non-empty string, got ''")
    draft = edit(draft, "set_field", {"index": 1, "field": "input", "value": "What is 6*7?"})
    draft = edit(draft, "set_field", {"index": 1, "field": "expect.kind", "value": "exact"})
    draft = edit(draft, "set_field", {"index": 1, "field": "expect.value", "value": "42"})
    draft = edit(draft, "set_field", {"index": 1, "field": "weight", "value": "2"})
    draft = edit(draft, "set_field", {"index": 1, "field": "tags", "value": "math, quick"})
    case = draft["data"]["cases"][1]
    assert case == {"id": "case-2", "input": "What is 6*7?", "weight": 2,
                    "expect": {"kind": "exact", "value": "42"}, "tags": ["math", "quick"]}
    draft = edit(draft, "duplicate", {"index": 1})
    assert [c["id"] for c in draft["data"]["cases"]] == ["case-1", "case-2", "case-2-1"]
    draft = edit(draft, "move", {"index": 2, "to": 0})
    assert [c["id"] for c in draft["data"]["cases"]] == ["case-2-1", "case-1", "case-2"]
    draft = edit(draft, "toggle", {"index": 0})
    suite = check_draft(draft)["suite"]
    assert [c["id"] for c in suite["cases"]] == ["case-1", "case-2"]  # disabled: not run
    assert "case-2-1" not in export_yaml(draft)
    draft = edit(draft, "remove", {"index": 0})
    assert draft["disabled"] == [False, False]
    with pytest.raises(SuiteError, match="out of range"):
        edit(draft, "remove", {"index": 5})


def test_raw_yaml_of_a_case_takes_every_key_of_the_format() -> None:
    draft = new_draft()
    text = ("id: times\ngenerate:\n  vars:\n    a: {int: {min: 2, max: 9}}\n"
            "    p: {expr: 'a * 3'}\ninput: What is {{a}} times 3?\n"
            "expect: [{kind: exact, value: '{{p}}'}, {kind: no_tool_call}]\n"
            "forgiveFormatting: true\nfollowUps: ['Say it again.']\n")
    draft = edit(draft, "set_case_text", {"index": 0, "text": text})
    assert check_draft(draft)["ok"]
    form = case_form(draft, 0)
    assert form["text"].startswith("id: times\ngenerate:")
    note = next(f for f in form["fields"] if f["field"] == "expect")["note"]
    assert note.startswith("2 checks")
    tried = try_answer(draft, 0, "no idea", seed=7)
    a = tried["drawn"]["a"]
    assert tried["status"] == "fail" and tried["input"] == f"What is {a} times 3?"
    assert try_answer(draft, 0, f"\\boxed{{{a * 3}}}", seed=7)["remark"].startswith(
        "formatting forgiven")
    with pytest.raises(SuiteError, match="case #1: must be a mapping"):
        edit(draft, "set_case_text", {"index": 0, "text": "- a list"})


@pytest.mark.parametrize(("checks", "note"), [
    ("[{kind: contains, value: a}]", "1 check: edit it in the YAML below"),
    ("[{kind: contains, value: a}, {kind: no_tool_call}, {kind: regex, pattern: b}]",
     "3 checks: edit them in the YAML below"),
])
def test_the_checks_note_counts_in_the_singular_and_plural(checks: str, note: str) -> None:
    draft = edit(new_draft(), "set_case_text",
                 {"index": 0, "text": f"id: c\ninput: Hi\nexpect: {checks}\n"})
    assert check_draft(draft)["ok"]
    field = next(f for f in case_form(draft, 0)["fields"] if f["field"] == "expect")
    assert field["note"] == note


def test_try_it_through_the_page_api() -> None:
    draft = new_draft()
    reply = json.loads(call(json.dumps({"op": "suite_try", "args": {
        "draft": draft, "index": 0, "answer": "OK then"}})))
    assert reply["value"]["status"] == "pass" and reply["value"]["detail"] == 'output contains "OK"'
    reply = json.loads(call(json.dumps({"op": "suite_try", "args": {
        "draft": draft, "index": 0, "answer": "no"}})))
    assert reply["value"]["status"] == "fail"
    assert reply["value"]["detail"] == 'expected output to contain "OK", got "no"'
