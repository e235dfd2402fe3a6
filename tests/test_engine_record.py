"""A run record carries the engine's facts and a note of the machine (issue 14, part 4).

`localrate bench` asks the runtime after the model's last case (Ollama's /api/ps lists
only loaded models) and notes the CLI's machine; the record keeps both, `read_records`
checks them on import, and a bad one is a one-line error naming the field.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from evaluator.records import RecordError, read_records
from server.cli.main import main
from tests.test_cli import env_for, serve


def test_bench_records_the_engine_and_the_machine(fake_runtime: Any) -> None:
    fake = serve(fake_runtime, "smoke", "ollama")
    result = CliRunner().invoke(main, ["bench", "--suite", "smoke", "--model",
                                       "SmolLM2-135M-Instruct", "--json"],
                                env=env_for({"ollama": fake}), catch_exceptions=False)
    record = json.loads(result.stdout)
    engine, machine = record["engine"], record["machine"]
    assert engine["runtime"] == "ollama" and engine["model"] == "SmolLM2-135M-Instruct"
    assert engine["version"]["source"].startswith("GET /api/version")
    assert machine["label"] == "the CLI's machine"
    assert machine["cores"]["value"] >= 1
    assert read_records(json.dumps(record), "run.json")["runs"][0]["engine"] == engine


@pytest.mark.parametrize(("key", "value", "message"), [
    ("engine", "fast", "run.json: engine: expected an object"),
    ("machine", {"notes": "x"}, "run.json: machine.notes:"),
])
def test_a_bad_engine_or_machine_is_one_line(fake_runtime: Any, key: str, value: Any,
                                             message: str) -> None:
    fake = serve(fake_runtime, "smoke", "ollama")
    result = CliRunner().invoke(main, ["bench", "--suite", "smoke", "--model",
                                       "SmolLM2-135M-Instruct", "--json"],
                                env=env_for({"ollama": fake}), catch_exceptions=False)
    record = {**json.loads(result.stdout), key: value}
    with pytest.raises(RecordError) as err:
        read_records(json.dumps(record), "run.json")
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_the_bench_table_shows_the_engine_and_the_machine_with_sources(
        fake_runtime: Any) -> None:
    fake = serve(fake_runtime, "smoke", "ollama")
    out = CliRunner().invoke(main, ["bench", "--suite", "smoke", "--model",
                                    "SmolLM2-135M-Instruct"],
                             env=env_for({"ollama": fake}), catch_exceptions=False).stdout
    assert "# engine (ollama):" in out
    assert "#   gpu_fraction: 100% [GET /api/ps → models[SmolLM2-135M-Instruct]" in out
    assert "# the CLI's machine:" in out and "#   cores: " in out
