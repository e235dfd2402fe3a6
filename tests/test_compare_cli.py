"""`localrate compare A.json B.json`: the paired verdict of two runs made against scripted
fakes, its exit codes (0 A not significantly worse, 1 worse, 2 bad input) and its JSON.

Reference p-values are the exact McNemar test by hand: with b discordant cases for one run
and none for the other, p = 2 * 0.5**b (6 -> 0.03125, below 0.05; 2 -> 0.5)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from server.cli.main import main
from tests.test_cli import env_for

WORDS = ["amber", "birch", "cedar", "delta", "ember", "fjord"]
SUITE = "name: six\nversion: 1.0.0\npassThreshold: 0.5\ncases:\n" + "".join(
    f"  - id: q{i}\n    input: 'Say the word {w}.'\n    expect: {{kind: contains, value: {w}}}\n"
    for i, w in enumerate(WORDS))
RIGHT = {"answers": [{"match": f"word {w}", "content": w} for w in WORDS]}
WRONG = {"answers": [{"match": "word", "content": "pass"}]}
# Right on the first two words only at its second attempt, else right.
SHAKY = {"answers": [{"match": f"word {w}", "nth": 0, "content": "no"} for w in WORDS[:2]]
         + RIGHT["answers"]}


def run(fake_runtime: Any, tmp_path: Path, name: str, answers: dict[str, Any],
        *args: str) -> Path:
    suite = tmp_path / "six" / "suite.yaml"
    suite.parent.mkdir(exist_ok=True)
    suite.write_text(SUITE, encoding="utf-8")
    fake = fake_runtime({"dialect": "ollama", "models": [{"id": name, "script": answers}]})
    out = tmp_path / f"{name}.json"
    result = CliRunner().invoke(main, ["bench", "--suite", str(suite.parent), "--model", name,
                                       "--out", str(out), "--json", "--seed", "1", *args],
                                env=env_for({"ollama": fake}), catch_exceptions=False)
    assert result.exit_code in (0, 1), result.output
    return out


def compare(*args: str) -> Result:
    return CliRunner().invoke(main, ["compare", *args], catch_exceptions=False)


def test_a_better_exits_0_and_says_so(fake_runtime: Any, tmp_path: Path) -> None:
    a = run(fake_runtime, tmp_path, "good", RIGHT)
    b = run(fake_runtime, tmp_path, "bad", WRONG)
    result = compare(str(a), str(b))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "verdict: A better (p = 0.03125, alpha 0.05)" in out
    assert "difference A - B: +100.0 pts" in out and "over 6 paired cases" in out
    assert "exact McNemar test on the cases that differ" in out
    assert "cases that differ: 6" in out and "  q0: A 1/1 · B 0/1 · A better" in out
    assert "settings: the same" in out


def test_a_significantly_worse_exits_1(fake_runtime: Any, tmp_path: Path) -> None:
    a = run(fake_runtime, tmp_path, "bad", WRONG)
    b = run(fake_runtime, tmp_path, "good", RIGHT)
    result = compare(str(a), str(b), "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert (data["verdict"], data["a_worse"], data["p_value"]) == ("B better", True, 0.03125)
    assert (data["a_wins"], data["b_wins"], data["ties"], data["cases"]) == (0, 6, 0, 6)
    assert data["a"]["model"]["id"] == "bad" and data["b"]["file"] == str(b)
    assert [row["id"] for row in data["differing"]] == [f"q{i}" for i in range(6)]


def test_within_noise_exits_0_with_repeats_and_lists_settings(fake_runtime: Any,
                                                              tmp_path: Path) -> None:
    a = run(fake_runtime, tmp_path, "shaky", SHAKY, "--repeat", "2")
    b = run(fake_runtime, tmp_path, "good", RIGHT, "--temperature", "0.7")
    result = compare(str(a), str(b), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    # q0, q1: A passes 1 of 2 attempts, B 1 of 1: two cases for B, p = 2 * 0.5**2 = 0.5
    assert (data["verdict"], data["p_value"], data["b_wins"]) == ("within noise", 0.5, 2)
    assert data["differing"][0] == {"id": "q0", "a": [1, 2], "b": [1, 1], "better": "B"}
    assert data["a_pass_rates"]["overall"]["attempts"] == 12
    fields = {d["field"]: (d["a"], d["b"]) for d in data["settings_differ"]}
    assert fields == {"settings.repeat": (2, None), "settings.temperature": (0, 0.7)}
    text = compare(str(a), str(b)).stdout
    assert "settings that differ:" in text and "settings.temperature: A 0 · B 0.7" in text


def test_bad_input_exits_2_with_one_line(fake_runtime: Any, tmp_path: Path) -> None:
    good = run(fake_runtime, tmp_path, "good", RIGHT)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    result = compare(str(good), str(broken))
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [(f"Error: {broken}: not JSON (stopped at "
                                                  "line 1)")]
    both = tmp_path / "both.json"
    record = json.loads(good.read_text("utf-8"))
    both.write_text(json.dumps({"format": "localrate.comparison/1", "runs": [record, record]}),
                    encoding="utf-8")
    result = compare(str(both), str(good))
    assert result.exit_code == 2 and "holds 2 runs (a comparison)" in result.stderr
    other = dict(record, cases=[dict(c, id="z" + c["id"]) for c in record["cases"]])
    elsewhere = tmp_path / "other.json"
    elsewhere.write_text(json.dumps(other), encoding="utf-8")
    result = compare(str(good), str(elsewhere))
    assert result.exit_code == 2 and "share no scored case" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("args", [[], ["only.json"]])
def test_missing_files_are_usage_errors(args: list[str]) -> None:
    assert compare(*args).exit_code == 2


def test_bench_of_two_models_prints_their_paired_verdict(fake_runtime: Any,
                                                         tmp_path: Path) -> None:
    suite = tmp_path / "six" / "suite.yaml"
    suite.parent.mkdir()
    suite.write_text(SUITE, encoding="utf-8")
    fake = fake_runtime({"dialect": "ollama", "models": [
        {"id": "good", "script": RIGHT}, {"id": "bad", "script": WRONG}]})
    result = CliRunner().invoke(main, ["bench", "--suite", str(suite.parent), "--model",
                                       "good", "--model", "bad"],
                                env=env_for({"ollama": fake}), catch_exceptions=False)
    assert result.exit_code == 1  # "bad" is below the threshold
    out = result.stdout
    assert "A: good · 100% (95% CI " in out and "B: bad · 0% (95% CI " in out
    assert "verdict: A better (p = 0.03125, alpha 0.05)" in out
    assert len(fake.warmups) == 2  # one per model
