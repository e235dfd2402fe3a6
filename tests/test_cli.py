"""The `localrate` CLI end to end with click's CliRunner against fake runtimes."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from evaluator.checks import describe_expect
from server.cli.main import main

SCRIPTS = Path(__file__).parent / "fakes" / "scripts"
ENV_NAMES = {"ollama": "OLLAMA_BASE_URL", "lmstudio": "LM_STUDIO_BASE_URL",
             "vllm": "VLLM_BASE_URL", "llamacpp": "LLAMACPP_BASE_URL", "mlx": "MLX_BASE_URL"}
FULL_CAPS = {"capabilities": ["completion", "tools", "vision", "thinking"]}
SCORING_FIELDS = ("status", "score", "detail", "match")


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def script(name: str) -> dict[str, Any]:
    return json.loads((SCRIPTS / f"{name}.json").read_text(encoding="utf-8"))


def env_for(fakes: dict[str, Any]) -> dict[str, str]:
    """Discovery limited to the given runtimes, each pointed at its fake."""
    env = {name: f"http://127.0.0.1:{closed_port()}" for name in ENV_NAMES.values()}
    env.update({ENV_NAMES[rt]: fake.base_url for rt, fake in fakes.items()})
    env["LOCALRATE_DISCOVERY"] = ",".join(fakes) or "mlx"
    return env


def invoke(args: list[str], env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, args, env=env or {}, catch_exceptions=False)


def serve(fake_runtime: Any, name: str, dialect: str = "ollama",
          meta: dict[str, Any] | None = None, **extra: Any) -> Any:
    data = script(name)
    return fake_runtime({"dialect": dialect, **extra, "models": [
        {"id": data["model"], "script": data, "meta": meta or {}}]})


def expected(name: str) -> dict[str, str]:
    return {a["case"]: a["expected_status"] for a in script(name)["answers"]}


# -- suites and discover -------------------------------------------------------------------

def test_suites_json_lists_the_shipped_suites() -> None:
    result = invoke(["suites", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["id"]: r for r in json.loads(result.stdout)}
    assert rows["classic-rating"]["cases"] == 22  # the fixture (tests/suites_fixture.py)
    assert rows["classic-rating"]["version"] == "0.3.0"
    assert rows["local-model-rating"]["cases"] >= 300
    assert rows["smoke"]["cases"] == 3
    assert all(r["error"] is None for r in rows.values())


def test_suites_table() -> None:
    result = invoke(["suites"])
    assert result.exit_code == 0
    assert "classic-rating" in result.stdout and "0.3.0" in result.stdout


def test_discover_json_and_table(fake_runtime: Any) -> None:
    fake = serve(fake_runtime, "strong", "ollama", FULL_CAPS)
    env = env_for({"ollama": fake, "vllm": fake_runtime({"dialect": "vllm",
                                                         "list_fault": "http500"})})
    result = invoke(["discover", "--json", "--timeout", "1"], env)
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert [(r["runtime"], r["state"]) for r in found["runtimes"]] == [
        ("ollama", "up"), ("vllm", "error")]
    assert [m["id"] for m in found["models"]] == ["qwen3-vl:8b"]

    table = invoke(["discover"], env)
    assert table.exit_code == 0
    assert "qwen3-vl:8b" in table.stdout
    assert "tool-use*" in table.stdout
    assert "* reported by the runtime" in table.stdout


# -- bench: statuses and exit codes --------------------------------------------------------

@pytest.mark.parametrize("dialect", ["ollama", "lmstudio", "vllm", "llamacpp", "mlx"])
def test_strong_model_passes_every_case(fake_runtime: Any, dialect: str) -> None:
    fake = serve(fake_runtime, "strong", dialect, FULL_CAPS)
    result = invoke(["bench", "--suite", "classic-rating", "--model", "qwen3-vl:8b",
                     "--json", "--timeout", "10"], env_for({dialect: fake}))
    record = json.loads(result.stdout)
    got = {c["id"]: c["status"] for c in record["cases"]}
    assert got == expected("strong"), [c["detail"] for c in record["cases"]
                                       if c["status"] != "pass"]
    assert result.exit_code == 0
    assert record["format"] == "localrate.run/1"
    assert record["model"]["runtime"] == dialect
    assert record["model"]["base_url"] == fake.base_url
    seed = record["settings"]["seed"]  # a new one per run (tests/test_engine_cli.py)
    assert isinstance(seed, int) and 0 <= seed < 2**31
    assert record["settings"] == {"temperature": 0, "max_tokens": 1024, "timeout_s": 10,
                                  "seed": seed}
    assert record["started_at"].endswith("Z")
    assert len(fake.requests) == 22


def test_weak_model_fails_and_skips(fake_runtime: Any) -> None:
    fake = serve(fake_runtime, "weak", "ollama", {"capabilities": ["completion"]})
    result = invoke(["bench", "--suite", "classic-rating", "--model", "smollm2:1.7b",
                     "--json"], env_for({"ollama": fake}))
    record = json.loads(result.stdout)
    assert {c["id"]: c["status"] for c in record["cases"]} == expected("weak")
    assert record["summary"]["skipped"] == 5
    assert result.exit_code == (0 if record["summary"]["verdict"] == "pass" else 1)
    assert len(fake.requests) == 17  # skipped cases send nothing


def test_a_failed_case_prints_what_the_evaluator_says_it_expected(fake_runtime: Any,
                                                                  tmp_path: Path) -> None:
    """The table's line under a failed case is the check's own description
    (evaluator.checks.describe_expect, carried by the result as ``expected``)."""
    fake = serve(fake_runtime, "weak", "ollama", {"capabilities": ["completion"]})
    out = tmp_path / "run.json"
    result = invoke(["bench", "--suite", "classic-rating", "--model", "smollm2:1.7b",
                     "--out", str(out)], env_for({"ollama": fake}))
    failed = [c for c in json.loads(out.read_text("utf-8"))["cases"] if c["status"] == "fail"]
    assert failed
    shown = " ".join(result.stdout.split())
    for case in failed:
        wanted = describe_expect(case["case"]["expect"]).splitlines()[0]
        assert case["expected"].splitlines()[0] == wanted
        assert " ".join(f"expected: {wanted[:200]}".split()) in shown, case["id"]


def test_below_threshold_exits_1(fake_runtime: Any) -> None:
    bad = {"model": "m", "answers": []}  # every answer is "I don't know."
    fake = fake_runtime({"dialect": "vllm", "models": [{"id": "m", "script": bad}]})
    result = invoke(["bench", "--suite", "smoke", "--model", "m"], env_for({"vllm": fake}))
    assert result.exit_code == 1, result.output
    assert "# overall: 0/3 cases pass (0%)" in result.stdout


def test_table_output(fake_runtime: Any) -> None:
    fake = serve(fake_runtime, "smoke", "llamacpp")
    result = invoke(["bench", "--suite", "smoke", "--model", "SmolLM2-135M-Instruct"],
                    env_for({"llamacpp": fake}))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "suite: smoke@0.1.0 · model=SmolLM2-135M-Instruct · 3 cases" in out
    for column in ("case", "pass", "total_ms", "ttft_ms", "tok_in", "tok_out", "tools",
                   "tok/s"):
        assert column in out
    assert "# overall: 3/3 cases pass (100%)" in out
    assert "# avg tok/s " in out and "p95 latency" in out
    assert "[3/3]" in result.stderr  # one progress line per case when not a terminal


def test_case_filter_and_out_file(fake_runtime: Any, tmp_path: Path) -> None:
    fake = serve(fake_runtime, "smoke", "vllm")
    out = tmp_path / "run.json"
    result = invoke(["bench", "--suite", "smoke", "--model", "SmolLM2-135M-Instruct",
                     "--case", "two-plus-two", "--json", "--out", str(out)],
                    env_for({"vllm": fake}))
    assert result.exit_code == 0
    assert json.loads(out.read_text()) == json.loads(result.stdout)
    assert [c["id"] for c in json.loads(result.stdout)["cases"]] == ["two-plus-two"]


def test_two_models_side_by_side(fake_runtime: Any, tmp_path: Path) -> None:
    strong, weak = script("strong"), script("weak")
    fake = fake_runtime({"dialect": "ollama", "models": [
        {"id": strong["model"], "script": strong, "meta": FULL_CAPS},
        {"id": weak["model"], "script": weak, "meta": {"capabilities": ["completion"]}}]})
    env = env_for({"ollama": fake})
    saved = tmp_path / "both.json"
    args = ["bench", "--suite", "classic-rating", "--model", strong["model"],
            "--model", weak["model"], "--case", "json-person", "--case", "vision-read-token",
            "--case", "echo-exact-token"]
    data = json.loads(invoke(args + ["--json", "--out", str(saved)], env).stdout)
    assert data["format"] == "localrate.comparison/1"
    assert [r["model"]["id"] for r in data["runs"]] == [strong["model"], weak["model"]]
    assert [[c["status"] for c in r["cases"]] for r in data["runs"]] == [
        ["pass", "pass", "pass"], ["pass", "fail", "skip"]]

    table = invoke(args, env)
    assert table.stdout.count("# overall:") == 2
    lines = table.stdout.splitlines()
    assert "verdict" in lines[-4]  # the side-by-side table: header, rule, two rows
    assert lines[-2].split()[:2] == [strong["model"], "ollama"]
    assert lines[-1].split()[:2] == [weak["model"], "ollama"]

    again = json.loads(invoke(["rescore", str(saved), "--json"]).stdout)
    assert again["format"] == "localrate.comparison/1"
    assert [r["summary"] for r in again["runs"]] == [r["summary"] for r in data["runs"]]


def test_out_file_not_writable(fake_runtime: Any, tmp_path: Path) -> None:
    fake = serve(fake_runtime, "smoke", "vllm")
    result = invoke(["bench", "--suite", "smoke", "--model", "SmolLM2-135M-Instruct",
                     "--case", "echo-hello", "--out", str(tmp_path / "no" / "dir.json")],
                    env_for({"vllm": fake}))
    assert result.exit_code == 2
    assert "cannot write" in result.stderr


def test_base_url_skips_discovery(fake_runtime: Any) -> None:
    fake = serve(fake_runtime, "smoke", "llamacpp")
    env = {"LOCALRATE_DISCOVERY": "mlx", "MLX_BASE_URL": f"http://127.0.0.1:{closed_port()}"}
    result = invoke(["bench", "--suite", "smoke", "--model", "SmolLM2-135M-Instruct",
                     "--base-url", fake.base_url + "/v1/", "--json"], env)
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["model"]["runtime"] == "openai"
    assert record["model"]["base_url"] == fake.base_url
    assert record["model"]["capabilities"] == ["streaming"]
    assert not any(r["path"] == "/api/tags" for r in fake.log)


@pytest.mark.parametrize("args, message", [
    (["--model", "nope"], "model 'nope' not found; discovered models: SmolLM2-135M-Instruct"),
    (["--model", "SmolLM2-135M-Instruct", "--runtime", "vllm"], "not found on vllm"),
])
def test_unknown_model_exits_3(fake_runtime: Any, args: list[str], message: str) -> None:
    fake = serve(fake_runtime, "smoke", "ollama")
    result = invoke(["bench", "--suite", "smoke", *args], env_for({"ollama": fake}))
    assert result.exit_code == 3
    assert message in result.stderr


def test_no_runtime_up_exits_3() -> None:
    result = invoke(["bench", "--suite", "smoke", "--model", "m"], env_for({}))
    assert result.exit_code == 3
    assert "no runtime is up" in result.stderr


def test_closed_base_url_exits_3() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    result = invoke(["bench", "--suite", "smoke", "--model", "m", "--base-url", url])
    assert result.exit_code == 3
    assert url in result.stderr


def test_every_case_errored_exits_3(fake_runtime: Any) -> None:
    fake = serve(fake_runtime, "smoke", "vllm", fault="http500")
    result = invoke(["bench", "--suite", "smoke", "--model", "SmolLM2-135M-Instruct",
                     "--json"], env_for({"vllm": fake}))
    assert result.exit_code == 3
    record = json.loads(result.stdout)  # the record is still printed
    assert {c["status"] for c in record["cases"]} == {"error"}
    assert "every case errored" in result.stderr


def test_ambiguous_model_needs_runtime(fake_runtime: Any) -> None:
    a = serve(fake_runtime, "smoke", "ollama")
    b = serve(fake_runtime, "smoke", "vllm")
    env = env_for({"ollama": a, "vllm": b})
    base = ["bench", "--suite", "smoke", "--model", "SmolLM2-135M-Instruct", "--json"]
    result = invoke(base, env)
    assert result.exit_code == 2
    assert "served by several runtimes" in result.stderr and "--runtime" in result.stderr
    chosen = invoke(base + ["--runtime", "vllm"], env)
    assert chosen.exit_code == 0
    assert json.loads(chosen.stdout)["model"]["base_url"] == b.base_url


# -- usage and suite errors (exit 2) -------------------------------------------------------

BAD_EXPECT = """\
name: broken
version: 0.0.1
cases:
  - id: only-case
    input: hi
    expect: {kind: nonsense, value: x}
"""
BAD_YAML = "name: broken\ncases:\n  - id: a\n    input: [unclosed\n"


@pytest.mark.parametrize("text, message", [
    (BAD_EXPECT, "case 'only-case': expect"),
    (BAD_YAML, "suite.yaml:"),
])
def test_malformed_suite_exits_2(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "suite.yaml").write_text(text)
    result = invoke(["bench", "--suite", str(tmp_path), "--model", "m"])
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_yaml_error_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "suite.yaml").write_text(BAD_YAML)
    result = invoke(["bench", "--suite", str(tmp_path / "suite.yaml"), "--model", "m"])
    assert "suite.yaml:5: YAML syntax error" in result.stderr


def test_missing_prompt_file_is_a_suite_error(tmp_path: Path) -> None:
    (tmp_path / "suite.yaml").write_text(
        "name: s\nversion: '1'\ncases:\n  - id: c\n    input: {file: prompts/gone.txt}\n"
        "    expect: {kind: contains, value: x}\n")
    result = invoke(["bench", "--suite", str(tmp_path), "--model", "m"])
    assert result.exit_code == 2
    assert "prompts/gone.txt" in result.stderr


@pytest.mark.parametrize("args, message", [
    (["--suite", "no-such-suite", "--model", "m"], "no-such-suite: no such suite"),
    (["--suite", "smoke", "--model", "m", "--case", "nope"], "--case nope: no such case"),
    (["--suite", "smoke", "--model", "m", "--base-url", "ftp://x"], "--base-url"),
    (["--suite", "smoke", "--model", "m", "--runtime", "foo"], "'foo' is not one of"),
    (["--suite", "smoke"], "Missing option '--model'"),
])
def test_usage_errors_exit_2(args: list[str], message: str) -> None:
    result = invoke(["bench", *args])
    assert result.exit_code == 2
    assert message in result.stderr


def test_suites_dir_override(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "suite.yaml").write_text(
        "name: mine\nversion: '2'\ncases:\n  - id: c\n    input: hi\n"
        "    expect: {kind: contains, value: x}\n")
    result = invoke(["suites", "--json"], {"LOCALRATE_SUITES_DIR": str(tmp_path)})
    assert [(r["id"], r["cases"]) for r in json.loads(result.stdout)] == [("mine", 1)]


# -- rescore -------------------------------------------------------------------------------

def test_rescore_is_byte_identical(fake_runtime: Any, tmp_path: Path) -> None:
    fake = serve(fake_runtime, "weak", "lmstudio", {"capabilities": ["completion"]})
    saved = tmp_path / "run.json"
    run = invoke(["bench", "--suite", "classic-rating", "--model", "smollm2:1.7b",
                  "--out", str(saved)], env_for({"lmstudio": fake}))
    assert run.exit_code in (0, 1)
    original = json.loads(saved.read_text())
    for extra in ([], ["--suite", "classic-rating"]):
        result = invoke(["rescore", str(saved), "--json", *extra])
        assert result.exit_code == run.exit_code
        again = json.loads(result.stdout)
        for before, after in zip(original["cases"], again["cases"], strict=True):
            for name in SCORING_FIELDS:
                assert json.dumps(after[name]) == json.dumps(before[name]), (before["id"], name)
        assert json.dumps(again["summary"]) == json.dumps(original["summary"])
        assert result.stderr == ""


def test_rescore_prints_table_on_stderr(fake_runtime: Any, tmp_path: Path) -> None:
    fake = serve(fake_runtime, "smoke", "mlx")
    saved = tmp_path / "run.json"
    invoke(["bench", "--suite", "smoke", "--model", "SmolLM2-135M-Instruct", "--json",
            "--out", str(saved)], env_for({"mlx": fake}))
    result = invoke(["rescore", str(saved)])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["summary"]["passed"] == 3
    assert "# overall: 3/3 cases pass (100%)" in result.stderr


def test_rescore_rejects_a_non_record(tmp_path: Path) -> None:
    bad = tmp_path / "x.json"
    bad.write_text("{not json")
    result = invoke(["rescore", str(bad)])
    assert result.exit_code == 2
    assert result.stderr == f"Error: {bad}: not JSON (stopped at line 1)\n"


def test_bench_json_reads_back_as_a_record(fake_runtime: Any, tmp_path: Path) -> None:
    """What `bench --json` writes (one run, and a comparison) passes the evaluator's record
    checks unchanged, and `rescore` reads it again."""
    from evaluator.records import read_records

    strong, weak = script("strong"), script("weak")
    fake = fake_runtime({"dialect": "ollama", "models": [
        {"id": strong["model"], "script": strong, "meta": FULL_CAPS},
        {"id": weak["model"], "script": weak, "meta": {"capabilities": ["completion"]}}]})
    env = env_for({"ollama": fake})
    for models in ([strong["model"]], [strong["model"], weak["model"]]):
        saved = tmp_path / f"{len(models)}.json"
        args = ["bench", "--suite", "classic-rating", "--json", "--out", str(saved)]
        run = invoke(args + [arg for m in models for arg in ("--model", m)], env)
        data = json.loads(run.stdout)
        read = read_records(saved.read_text("utf-8"), str(saved))
        assert read["runs"] == (data["runs"] if len(models) > 1 else [data])
        again = invoke(["rescore", str(saved), "--json"])
        assert (again.exit_code, again.stderr) == (run.exit_code, "")


@pytest.mark.parametrize("text, message", [
    ('{"format": "localrate.run/2"}', "format: 'localrate.run/2' is an unsupported version"),
    ('{"format": "localrate.run/1", "cases": [null]}', "suite: missing (expected an object)"),
    ("[" * 100_000, "JSON nested deeper than 100 levels"),
    ("", "not JSON (stopped at line 1)"),
])
def test_rescore_malformed_exits_2_with_one_line(tmp_path: Path, text: str,
                                                 message: str) -> None:
    bad = tmp_path / "run.json"
    bad.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["rescore", str(bad)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {bad}: {message}")
    assert len(result.stderr.splitlines()) == 1 and result.stdout == ""


def test_rescore_names_a_case_it_cannot_rescore(fake_runtime: Any, tmp_path: Path) -> None:
    fake = serve(fake_runtime, "smoke", "mlx")
    saved = tmp_path / "run.json"
    invoke(["bench", "--suite", "smoke", "--model", "SmolLM2-135M-Instruct", "--json",
            "--out", str(saved)], env_for({"mlx": fake}))
    data = json.loads(saved.read_text())
    del data["cases"][1]["case"]
    saved.write_text(json.dumps({"format": "localrate.comparison/1", "runs": [data]}))
    result = CliRunner().invoke(main, ["rescore", str(saved)])
    assert result.exit_code == 2
    assert result.stderr == (f"Error: {saved}: runs[0].cases[1].case: missing: the record holds "
                             "no copy of case 'echo-hello'; re-score with --suite to use the "
                             "suite's definition\n")
    assert invoke(["rescore", str(saved), "--json", "--suite", "smoke"]).exit_code == 0


def test_rescore_reads_a_byte_order_mark(fake_runtime: Any, tmp_path: Path) -> None:
    fake = serve(fake_runtime, "smoke", "mlx")
    saved = tmp_path / "run.json"
    invoke(["bench", "--suite", "smoke", "--model", "SmolLM2-135M-Instruct", "--json",
            "--out", str(saved)], env_for({"mlx": fake}))
    saved.write_bytes(b"\xef\xbb\xbf" + saved.read_bytes())
    assert invoke(["rescore", str(saved), "--json"]).exit_code == 0
    saved.write_bytes(b"\xff\xfe{}")
    result = CliRunner().invoke(main, ["rescore", str(saved)])
    assert (result.exit_code, result.stderr) == (2, f"Error: {saved}: not UTF-8 text (byte 0)\n")
