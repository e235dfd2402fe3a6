"""`localrate verify` and `localrate report` end to end: records made by `bench` against
scripted fakes on the classic-rating suite (a published suite: it is in the suites folder
the tests run), then checked, tampered with, and reported."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from evaluator.version import LOCALRATE_VERSION
from tests.test_cli import env_for, invoke, serve


@pytest.fixture
def runs(fake_runtime: Any, tmp_path: Path) -> tuple[Path, Path]:
    """Two saved runs of classic-rating: the strong and the weak scripted model."""
    out = []
    for name in ("strong", "weak"):
        fake = serve(fake_runtime, name, "ollama",
                     {"capabilities": ["completion", "tools", "vision", "thinking"]})
        saved = tmp_path / f"{name}.json"
        run = invoke(["bench", "--suite", "classic-rating", "--model",
                      json.loads(Path(f"tests/fakes/scripts/{name}.json").read_text())["model"],
                      "--out", str(saved), "--json", "--seed", "7"], env_for({"ollama": fake}))
        assert run.exit_code in (0, 1), run.output
        out.append(saved)
    return out[0], out[1]


def test_records_carry_version_seed_and_hash(runs: tuple[Path, Path]) -> None:
    record = json.loads(runs[0].read_text())
    assert record["localrate_version"] == LOCALRATE_VERSION
    assert record["settings"]["seed"] == 7 and len(record["suite"]["sha256"]) == 64


def test_verify_matches_and_published_exits_0(runs: tuple[Path, Path]) -> None:
    result = invoke(["verify", str(runs[0])])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{runs[0]}: re-scored: matches (")
    assert "scored with the published suite" in result.stdout
    assert ": published\n" in result.stdout and f"localrate {LOCALRATE_VERSION}" in result.stdout
    data = json.loads(invoke(["verify", str(runs[1]), "--json"]).stdout)
    assert data["runs"][0]["matches"] is True and data["runs"][0]["published"] is True


def test_a_tampered_score_exits_1_and_is_listed(runs: tuple[Path, Path], tmp_path: Path
                                               ) -> None:
    record = json.loads(runs[1].read_text())
    index = next(i for i, c in enumerate(record["cases"]) if c["status"] == "fail")
    record["cases"][index].update(status="pass", score=1.0)
    record["summary"]["passed"] += 1
    record["summary"]["failed"] -= 1
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(record))
    result = invoke(["verify", str(forged)])
    assert result.exit_code == 1
    assert "re-scored: does not match" in result.stdout
    case_id = record["cases"][index]["id"]
    assert f"cases[{index}].status ({case_id}): stored pass, re-scored fail" in result.stdout
    assert "summary.passed:" in result.stdout


def test_an_edited_case_copy_does_not_fool_verify(runs: tuple[Path, Path],
                                                  tmp_path: Path) -> None:
    """The forger also loosens the embedded case copy so the answer passes by it: verify
    re-scores against the published suite's definition, so the forgery still shows."""
    record = json.loads(runs[1].read_text())
    index = next(i for i, c in enumerate(record["cases"]) if c["status"] == "fail")
    case = record["cases"][index]
    case["case"]["expect"] = {"kind": "not_contains", "value": "no answer holds this"}
    case.update(status="pass", score=1.0)
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(record))
    rescore = invoke(["rescore", str(forged), "--json"])  # the copy alone would agree
    assert json.loads(rescore.stdout)["cases"][index]["status"] == "pass"
    result = invoke(["verify", str(forged), "--json"])
    assert result.exit_code == 1
    got = json.loads(result.stdout)["runs"][0]
    assert got["scored_with"] == "published suite"
    assert {"where": f"cases[{index}].status", "id": case["id"], "field": "status",
            "stored": "pass", "rescored": "fail"} in got["mismatches"]


def test_an_unpublished_hash_exits_1(runs: tuple[Path, Path], tmp_path: Path) -> None:
    record = json.loads(runs[0].read_text())
    record["suite"]["sha256"] = "0" * 64
    other = tmp_path / "other.json"
    other.write_text(json.dumps(record))
    result = invoke(["verify", str(other)])
    assert result.exit_code == 1
    assert "re-scored: matches" in result.stdout and ": NOT published" in result.stdout
    assert "its hash is not the published one (the suite was changed)" in result.stdout
    assert "scored with the record's case copies" in result.stdout


@pytest.mark.parametrize(("text", "message"), [
    ("{not json", "not JSON (stopped at line 1)"),
    ('{"format": "localrate.run/9"}', "format: 'localrate.run/9' is an unsupported version"),
])
def test_verify_and_report_bad_input_exit_2_in_one_line(tmp_path: Path, text: str,
                                                        message: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(text)
    for args in (["verify", str(bad)], ["report", str(bad), "--md", str(tmp_path / "r.md")]):
        result = invoke(args)
        assert result.exit_code == 2
        assert result.stderr.startswith(f"Error: {bad}: {message}")
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.output


def test_verify_without_transcripts_exits_2(runs: tuple[Path, Path], tmp_path: Path) -> None:
    record = json.loads(runs[0].read_text())
    scored = next(i for i, c in enumerate(record["cases"]) if c["status"] != "skip")
    record["suite"]["sha256"] = "1" * 64  # not published: the record's copies are used
    del record["cases"][scored]["case"]
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps(record))
    result = invoke(["verify", str(bare)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {bare}: cases[{scored}].case: missing")


def test_report_writes_html_and_markdown(runs: tuple[Path, Path], tmp_path: Path) -> None:
    html_file, md_file = tmp_path / "r.html", tmp_path / "r.md"
    result = invoke(["report", str(runs[0]), str(runs[1]), "--html", str(html_file),
                     "--md", str(md_file)])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"wrote {html_file}\nwrote {md_file}\n"
    page, text = html_file.read_text(), md_file.read_text()
    record = json.loads(runs[0].read_text())
    for body in (page, text):
        assert record["suite"]["sha256"] in body and "Seed: 7, 7" in body.replace(
            "<th></th>", "").replace("</td><td>", ": ").replace("<td>", "")
        assert "Paired comparison" in body
    assert "<svg" in page and "://" not in page and "<script" not in page
    # no table cell holds just the case count (a speed such as "22,000.0 tok/s" may start so)
    assert not re.search(rf"\|\s*{len(record['cases'])}\s*\|", text) and "## Cases (" in text
    alone = invoke(["report", str(runs[0])])
    assert alone.exit_code == 0 and alone.stdout.startswith("# localrate report: classic")


def test_report_cannot_write_exit_2(runs: tuple[Path, Path], tmp_path: Path) -> None:
    result = invoke(["report", str(runs[0]), "--html", str(tmp_path / "no" / "r.html")])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: --html {tmp_path / 'no' / 'r.html'}: cannot write")
