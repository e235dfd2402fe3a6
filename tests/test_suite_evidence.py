"""local-model-rating 1.0 tells a strong model from a weak one, end to end (issue 13).

Two scripted models on a fake Ollama (tools, vision, a 262,144-token context, so nothing
is skipped) answer the suite drawn with one seed: "strong" with each case's first right
answer, "weak" with each case's first trap (tests/answer_scripts.py). ``localrate bench``
rates both over real HTTP; the strong model must pass every case and the weak one fewer
than 10%. docs/suite.md reports these figures.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from server.cli.main import main
from tests.answer_scripts import script_for
from tests.check_answers import load
from tests.test_cli import env_for

SUITE = Path(__file__).resolve().parent.parent / "suites" / "local-model-rating"
SEED = 20261130
META = {"capabilities": ["completion", "tools", "vision"], "context_length": 262144}


def rate(fake_runtime: Any, label: str) -> dict[str, Any]:
    suite, answers = load(SUITE)
    model = f"{label}-model"
    fake = fake_runtime({"dialect": "ollama", "models": [
        {"id": model, "script": script_for(suite, answers, SEED, label, model),
         "meta": META}]})
    result = CliRunner().invoke(main, [
        "bench", "--suite", str(SUITE), "--model", model, "--seed", str(SEED), "--json",
        "--timeout", "30"], env=env_for({"ollama": fake}), catch_exceptions=False)
    assert result.exit_code in (0, 1), result.output[-2000:]
    record: dict[str, Any] = json.loads(result.stdout)
    return record


@pytest.mark.parametrize(("label", "most", "least"), [("pass", 1.0, 1.0), ("fail", 0.0999, 0)])
def test_strong_passes_everything_and_weak_under_ten_percent(
        fake_runtime: Any, label: str, most: float, least: float) -> None:
    record = rate(fake_runtime, label)
    statuses = [c["status"] for c in record["cases"]]
    assert "skip" not in statuses and "error" not in statuses, [
        (c["id"], c["detail"]) for c in record["cases"] if c["status"] in ("skip", "error")]
    share = statuses.count("pass") / len(statuses)
    assert least <= share <= most, [(c["id"], c["detail"]) for c in record["cases"]
                                    if (c["status"] == "pass") != (label == "pass")][:10]
    assert len(statuses) >= 300
