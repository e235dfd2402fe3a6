"""Every hostile suite in tests/hostile/suites fails cleanly: exit 2, one line, no traceback.

Each folder goes through `localrate bench --suite <folder>` and `localrate suites` (with
$LOCALRATE_SUITES_DIR holding just that suite), in click's CliRunner. The error line must
name the file and contain the fragments expected.json lists (the case and field where there
is one), both commands must print the same line, and each must finish within a generous
bound. Symlinks, the FIFO and the oversized files are made here, in a copy of the folder.
Then the build: a suites folder that reaches outside fails with the one line, and no byte
of the secret is anywhere in the output folder.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from server.cli.main import main
from server.rating.suites_io import SUITES_ENV

CORPUS = Path(__file__).parent / "hostile" / "suites"
EXPECTED: dict[str, dict[str, Any]] = json.loads(
    (CORPUS / "expected.json").read_text(encoding="utf-8"))
SECRET = "TOP-SECRET-7f3c1e: the text that must never leave its folder"
BOUND_S = 10.0


def secret_file(tmp: Path, name: str = "secret.txt", body: bytes | None = None) -> Path:
    outside = tmp / "outside"
    outside.mkdir(exist_ok=True)
    path = outside / name
    path.write_bytes(body if body is not None else SECRET.encode())
    return path


def setup(kind: str, folder: Path, tmp: Path) -> None:
    """Make what cannot be committed: symlinks, a FIFO, oversized (sparse) files."""
    if kind == "symlink-file":
        (folder / "prompts").mkdir()
        (folder / "prompts" / "link.txt").symlink_to(secret_file(tmp))
    elif kind == "symlink-dir":
        (folder / "prompts").symlink_to(secret_file(tmp).parent, target_is_directory=True)
    elif kind == "symlink-image":
        (folder / "images").mkdir()
        png = b"\x89PNG\r\n\x1a\n" + SECRET.encode()
        (folder / "images" / "x.png").symlink_to(secret_file(tmp, "secret.png", png))
    elif kind == "fifo":
        (folder / "prompts").mkdir()
        os.mkfifo(folder / "prompts" / "fifo.txt")
    elif kind == "huge-prompt":
        (folder / "prompts").mkdir()
        with (folder / "prompts" / "huge.txt").open("wb") as handle:
            handle.truncate(2_000_001)
    elif kind == "huge-image":
        (folder / "images").mkdir()
        with (folder / "images" / "huge.png").open("wb") as handle:
            handle.write(b"\x89PNG\r\n\x1a\n")
            handle.truncate(200_000_000)
    elif kind == "huge-yaml":
        with (folder / "suite.yaml").open("a", encoding="utf-8") as handle:
            handle.write("# padding\n" * 100_001)
    else:
        raise AssertionError(f"unknown setup {kind!r}")


def prepared(name: str, tmp: Path) -> Path:
    """A copy of the corpus folder under tmp/suites/<name>, with its setup done."""
    folder = tmp / "suites" / name
    shutil.copytree(CORPUS / name, folder, symlinks=True)
    if "setup" in EXPECTED[name]:
        setup(EXPECTED[name]["setup"], folder, tmp)
    return folder


def run(args: list[str], env: dict[str, str] | None = None) -> tuple[Result, float]:
    started = time.perf_counter()
    result = CliRunner().invoke(main, args, env=env or {}, catch_exceptions=True)
    return result, time.perf_counter() - started


def one_error_line(result: Result) -> str:
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    return lines[0][len("Error: "):]


def test_the_corpus_is_large_and_documented() -> None:
    folders = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())
    assert len(folders) >= 40
    assert folders == sorted(EXPECTED)
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    assert all(f"`{name}`" in readme for name in folders)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_hostile_suite_fails_cleanly(name: str, tmp_path: Path) -> None:
    folder = prepared(name, tmp_path)
    bench, bench_s = run(["bench", "--suite", str(folder), "--model", "m"])
    line = one_error_line(bench)
    assert bench.stdout == ""
    assert bench_s < BOUND_S
    assert "suite.yaml" in line
    for fragment in EXPECTED[name]["error"]:
        assert fragment in line, f"{fragment!r} not in {line!r}"
    assert SECRET not in line and "\x1b" not in line

    listed, listed_s = run(["suites", "--json"], {SUITES_ENV: str(tmp_path / "suites")})
    assert one_error_line(listed) == line
    assert listed_s < BOUND_S
    (row,) = json.loads(listed.stdout)
    assert row["error"] == line and row["cases"] is None


@pytest.mark.parametrize("text, where", [
    ("name: deep\ncases: " + "[" * 50_000 + "]" * 50_000 + "\n", "suite.yaml:2: "),
    ("name: deep\ncases: " + "{a: " * 50_000 + "1" + "}" * 50_000 + "\n", "suite.yaml:2: "),
    ("name: deep\ncases:\n" + "- " * 50_000 + "x\n", "suite.yaml:3: "),
], ids=["flow-lists", "flow-mappings", "block-lists"])
def test_fifty_thousand_deep_yaml_is_one_line(text: str, where: str, tmp_path: Path) -> None:
    (tmp_path / "suite.yaml").write_text(text, encoding="utf-8")
    result, seconds = run(["bench", "--suite", str(tmp_path), "--model", "m"])
    line = one_error_line(result)
    assert where in line and "nest" in line
    assert seconds < BOUND_S


def test_suites_lists_good_and_bad_side_by_side(tmp_path: Path) -> None:
    prepared("catastrophic-regex", tmp_path)
    good = tmp_path / "suites" / "fine"
    good.mkdir()
    (good / "suite.yaml").write_text(
        "name: fine\ncases:\n  - {id: a, input: x, expect: {kind: contains, value: x}}\n")
    result, _ = run(["suites", "--json"], {SUITES_ENV: str(tmp_path / "suites")})
    assert "can backtrack exponentially" in one_error_line(result)
    rows = {row["id"]: row for row in json.loads(result.stdout)}
    assert rows["fine"]["cases"] == 1 and rows["fine"]["error"] is None


def test_a_symlinked_suite_file_outside_the_suites_folder_is_not_listed(tmp_path: Path
                                                                        ) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "suite.yaml").write_text(
        "name: far\ncases:\n  - {id: a, input: x, expect: {kind: contains, value: x}}\n")
    (tmp_path / "suites" / "far").mkdir(parents=True)
    (tmp_path / "suites" / "far" / "suite.yaml").symlink_to(elsewhere / "suite.yaml")
    result, _ = run(["suites", "--json"], {SUITES_ENV: str(tmp_path / "suites")})
    assert "suite.yaml: leads outside" in one_error_line(result)


@pytest.mark.parametrize("kind, fragment", [
    ("dotdot", "'../outside/secret.txt' is outside the suite's folder"),
    ("absolute", "is an absolute path"),
    ("symlink", "'prompts/link.txt' leads outside the suite's folder"),
])
def test_build_never_publishes_a_file_from_outside(kind: str, fragment: str,
                                                   tmp_path: Path) -> None:
    secret = secret_file(tmp_path)
    suite = tmp_path / "suites" / "leaky"
    (suite / "prompts").mkdir(parents=True)
    ref = {"dotdot": "../../outside/secret.txt", "absolute": str(secret),
           "symlink": "prompts/link.txt"}[kind]
    if kind == "symlink":
        (suite / "prompts" / "link.txt").symlink_to(secret)
    if kind == "dotdot":
        fragment = f"'{ref}' is outside the suite's folder"
    (suite / "suite.yaml").write_text(
        f"name: leaky\ncases:\n  - {{id: leak, input: {{file: '{ref}'}}, "
        "expect: {kind: contains, value: x}}\n", encoding="utf-8")
    out = tmp_path / "site"
    result, seconds = run(["build", "--out", str(out), "--pyodide", "cdn", "--force"],
                          {SUITES_ENV: str(tmp_path / "suites")})
    assert result.exit_code == 2, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and "Traceback" not in result.stderr
    assert "suites/leaky/suite.yaml: case 'leak': input.file: " in errors[0]
    assert fragment in errors[0]
    assert SECRET not in result.stdout + result.stderr
    for path in [p for p in tmp_path.rglob("*") if p.is_file() and not p.is_symlink()]:
        if path != secret:
            assert SECRET.encode() not in path.read_bytes(), path
    assert not out.exists() or not any(out.iterdir())
    assert seconds < 60


@pytest.mark.parametrize("name", ["alias-bomb-version", "catastrophic-regex", "huge-image",
                                  "deep-yaml-flow", "image-not-an-image", "yaml-python-tag"])
def test_build_fails_with_the_same_line(name: str, tmp_path: Path) -> None:
    prepared(name, tmp_path)
    bench, _ = run(["bench", "--suite", str(tmp_path / "suites" / name), "--model", "m"])
    out = tmp_path / "site"
    result, seconds = run(["build", "--out", str(out), "--pyodide", "cdn", "--force"],
                          {SUITES_ENV: str(tmp_path / "suites")})
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert errors == [f"Error: {one_error_line(bench)}"]
    assert not out.exists() and seconds < 60
