"""Every command meets bad input with ONE line on stderr naming what is wrong, and exit 2:
never a traceback, never click's usage block, never silence (issue: bad input)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LOCALRATE = ROOT / ".venv" / "bin" / "localrate"


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LOCALRATE), *args], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, check=False, stdin=subprocess.DEVNULL,
                          env={**os.environ, **env})


def one_line(done: subprocess.CompletedProcess[str], *words: str) -> None:
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2, (done.returncode, done.stderr[-1500:])
    assert "Traceback" not in done.stderr + done.stdout
    assert len(lines) == 1 and lines[0].startswith("Error: "), done.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])


def test_discover(tmp_path: Path) -> None:
    one_line(run(["discover"], tmp_path, LOCALRATE_DISCOVERY="ollama,bogus"),
             "LOCALRATE_DISCOVERY", "bogus")
    one_line(run(["discover", "--timeout", "-1"], tmp_path), "--timeout")


def test_bench(tmp_path: Path) -> None:
    one_line(run(["bench", "--suite", "nope", "--model", "m"], tmp_path), "nope")
    one_line(run(["bench", "--suite", "smoke"], tmp_path), "--model")


def test_rescore(tmp_path: Path) -> None:
    record = tmp_path / "run.json"
    record.write_text(json.dumps({"format": "localrate.run/1", "cases": [None]}))
    one_line(run(["rescore", str(record)], tmp_path), "run.json")
    one_line(run(["rescore", str(tmp_path / "missing.json")], tmp_path), "missing.json")


def test_suites(tmp_path: Path) -> None:
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "suite.yaml").write_text("name: bad\ncases: 5\n")
    one_line(run(["suites"], tmp_path, LOCALRATE_SUITES_DIR=str(tmp_path)), "cases")
    one_line(run(["suites"], tmp_path, LOCALRATE_SUITES_DIR=str(tmp_path / "nothing")),
             "LOCALRATE_SUITES_DIR", "no such folder")


def test_build(tmp_path: Path) -> None:
    one_line(run(["build", "--out", str(tmp_path / "site"), "--base-path", "no-slash"],
                 tmp_path), "--base-path")
    one_line(run(["build", "--out", str(tmp_path / "site"), "--origin", "javascript:x"],
                 tmp_path), "--origin")
    (tmp_path / "a-file").write_text("x")
    one_line(run(["build", "--out", str(tmp_path / "a-file" / "site")], tmp_path), "--out",
             "cannot write")


def test_serve(tmp_path: Path, busy_port: int) -> None:
    one_line(run(["serve", "--port", "99999"], tmp_path), "--port", "99999")
    one_line(run(["serve", "--port", str(busy_port)], tmp_path), "--port", "already in use")


def test_bridge(tmp_path: Path, busy_port: int) -> None:
    one_line(run(["bridge", "--port", str(busy_port)], tmp_path), "--port", "already in use")
    one_line(run(["bridge", "--allow-origin", "not an origin"], tmp_path), "--allow-origin")
    one_line(run(["bridge", "--model", str(tmp_path / "nothing")], tmp_path), "--model",
             "no MLX model folder")
    one_line(run(["bridge", "--model", "org/not-in-the-cache"], tmp_path), "--model",
             "Hugging Face cache")


def test_demo_model(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    one_line(run(["demo-model"], tmp_path, LOCALRATE_CACHE=str(not_a_folder / "cache")),
             "LOCALRATE_CACHE")


def test_unknown_command_and_option(tmp_path: Path) -> None:
    one_line(run(["bogus"], tmp_path), "bogus")
    one_line(run(["suites", "--bogus"], tmp_path), "--bogus")
