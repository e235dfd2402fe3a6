"""Every hostile record in tests/hostile/records/ is refused by `localrate rescore` (exit 2,
ONE line naming the file and the field, no traceback, quickly) and by the page's Import
(the page op read_records: the same line). The table of what each file attacks and the
field its error must name is the folder's README.md, read here so the two cannot drift.
Records too large to commit are made at run time.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from evaluator import page_api
from evaluator.records import MAX_RECORD_BYTES
from server.cli.main import main

FOLDER = Path(__file__).parent / "hostile" / "records"
ROW = re.compile(r"^\| (\S+\.json) \| (.+) \| `(.+)` \|$")
BOUND_S = 5.0


def table() -> list[tuple[str, str]]:
    """``(file, what the error names)`` for every row of the README's table."""
    rows = [ROW.match(line) for line in (FOLDER / "README.md").read_text("utf-8").splitlines()]
    return [(m.group(1), m.group(3)) for m in rows if m]


ROWS = table()


def rescore(path: Path) -> tuple[int, str, str, float]:
    start = time.perf_counter()
    result = CliRunner().invoke(main, ["rescore", str(path), "--json"])
    took = time.perf_counter() - start
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{path.name}: {type(result.exception).__name__} escaped") \
            from result.exception
    return result.exit_code, result.stdout, result.stderr, took


def import_error(path: Path, text: str) -> dict[str, Any]:
    request = {"op": "read_records", "args": {"text": text, "source": str(path)}}
    return dict(json.loads(page_api.call(json.dumps(request))))


def test_the_corpus_is_complete() -> None:
    files = sorted(p.name for p in FOLDER.glob("*.json"))
    assert len(files) >= 30
    assert sorted(name for name, _ in ROWS) == files


@pytest.mark.parametrize("name, field", ROWS, ids=[name for name, _ in ROWS])
def test_a_hostile_record_is_refused_with_one_line(name: str, field: str) -> None:
    path = FOLDER / name
    code, out, err, took = rescore(path)
    assert took < BOUND_S
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"Error: {path}: {field}"), lines[0]
    assert "Traceback" not in err
    reply = import_error(path, path.read_text("utf-8"))
    assert reply == {"ok": False, "error": lines[0].removeprefix("Error: ")}


def check_refused(path: Path, text: str, expected: str) -> None:
    code, out, err, took = rescore(path)
    assert (code, out, err) == (2, "", f"Error: {path}: {expected}\n")
    assert took < BOUND_S
    start = time.perf_counter()
    assert import_error(path, text) == {"ok": False, "error": f"{path}: {expected}"}
    assert time.perf_counter() - start < BOUND_S


def test_a_record_over_the_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    text = '{"format": "localrate.run/1", "pad": "' + "x" * MAX_RECORD_BYTES + '"}'
    path.write_text(text, encoding="utf-8")
    check_refused(path, text, f"{len(text)} bytes, more than the {MAX_RECORD_BYTES} bytes a "
                              "record may have")


def test_a_record_a_million_levels_deep(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    text = '{"format": "localrate.run/1", "cases": ' + "[" * 1_000_000 + "]" * 1_000_000 + "}"
    path.write_text(text, encoding="utf-8")
    check_refused(path, text, "JSON nested deeper than 100 levels")


def test_a_lone_surrogate_deep_in_a_big_record(tmp_path: Path) -> None:
    base = json.loads((FOLDER / "case-status-unknown.json").read_text("utf-8"))
    base["cases"][1]["status"] = "pass"
    events = base["cases"][0]["transcript"]["events"]
    events.extend([[1.0, "x" * 100] for _ in range(50_000)])
    output = '"output": "The capital of France is Paris.'
    text = json.dumps(base).replace(output, output + "\\udc80", 1)
    assert "\\udc80" in text
    path = tmp_path / "big.json"
    path.write_text(text, encoding="utf-8")
    check_refused(path, text, "cases[0].output: a lone surrogate (not valid Unicode)")
