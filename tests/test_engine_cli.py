"""`localrate bench` runs the suite engine end to end against the fake runtimes, on
tests/data/engine-suite (every feature of the suite format) with tests/fakes/scripts/engine.json
(answers derived from the drawn values): the exact request bodies of every turn and tool
round, tool loops answered from the canned reply, sweep sizes over the model's context
skipped and never sent, seeds, and re-scoring such records."""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from server.cli.main import main
from tests.fakes.config import context_tokens
from tests.test_cli import env_for

ENGINE = Path(__file__).parent / "data" / "engine-suite"
CONVERSATIONS = json.loads((ENGINE / "conversations.json").read_text(encoding="utf-8"))
MODEL = CONVERSATIONS["model_id"]  # fake-model
TOOLS = {"capabilities": ["completion", "tools"]}
SCORING = ("id", "status", "score", "detail", "match", "remark", "exchange_end")
ALL_PASS = {"version-shape": "pass", "multiply": "pass", "letter-count": "pass",
            "recall-two-turns": "pass", "weather-tool-loop": "pass",
            "needle-sweep@256": "pass", "needle-sweep@1024": "pass",
            "needle-sweep@8192": "pass", "vault-word@128": "pass", "vault-word@512": "pass"}


def serve(fake_runtime: Any, dialect: str = "ollama", models: tuple[str, ...] = (MODEL,),
          **meta: Any) -> Any:
    return fake_runtime({"dialect": dialect, "models": [
        {"id": m, "script": "scripts/engine.json", "meta": {**TOOLS, **meta}} for m in models]})


def bench(env: dict[str, str], *args: str, suite: Path = ENGINE) -> Result:
    return CliRunner().invoke(main, ["bench", "--suite", str(suite), "--model", MODEL,
                                     *args], env=env, catch_exceptions=False)


def record_of(result: Result) -> dict[str, Any]:
    assert result.exit_code in (0, 1), result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def statuses(record: dict[str, Any]) -> dict[str, str]:
    return {c["id"]: c["status"] for c in record["cases"]}


def scoring(record: dict[str, Any]) -> list[list[Any]]:
    return [[c.get(name) for name in SCORING] for c in record["cases"]]


# -- (a) the request bodies of each turn and tool round ---------------------------------------

@pytest.mark.parametrize("dialect", ["ollama", "lmstudio"])  # whole and fragmented tool calls
def test_every_request_body_is_the_hand_checked_one(fake_runtime: Any, dialect: str) -> None:
    fake = serve(fake_runtime, dialect)
    settings = CONVERSATIONS["settings"]
    record = record_of(bench(env_for({dialect: fake}), "--json", "--seed", str(settings["seed"]),
                             "--max-tokens", str(settings["max_tokens"]),
                             "--timeout", str(settings["timeout_s"]),
                             "--case", "recall-two-turns", "--case", "weather-tool-loop"))
    cases = CONVERSATIONS["cases"]
    assert fake.requests == cases["recall-two-turns"]["bodies"] + \
        cases["weather-tool-loop"]["bodies"]
    assert record["settings"] == settings
    for result in record["cases"]:
        want = cases[result["id"]]
        assert (result["status"], result["detail"], result["exchange_end"]) == (
            want["status"], want["detail"], want["end"])
        bodies = want["bodies"]  # each request adds the answer, then what it sends
        assert [t["sent"] for t in result["turns"]] == [bodies[0]["messages"]] + [
            after["messages"][len(before["messages"]) + 1:]
            for before, after in itertools.pairwise(bodies)]
        assert [t["request"] for t in result["transcripts"]] == want["bodies"]


# -- (b) a tool loop answered from the canned reply -------------------------------------------

def test_the_answer_uses_the_canned_tool_reply(fake_runtime: Any, tmp_path: Path) -> None:
    """The fake reads the temperature out of the tool reply it was sent: with Paris at 27 in
    the suite's responder, it answers 27 and passes; the suite still expecting 21 fails."""
    text = (ENGINE / "suite.yaml").read_text(encoding="utf-8")
    hot = text.replace('{"temp_c": 21, "sky": "sunny"}', '{"temp_c": 27, "sky": "sunny"}')
    for name, body in (("expects-27", hot.replace("value: '21'", "value: '27'")),
                       ("expects-21", hot)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "suite.yaml").write_text(body, encoding="utf-8")
        shutil.copytree(ENGINE / "prompts", tmp_path / name / "prompts")
    fake = serve(fake_runtime)
    env = env_for({"ollama": fake})
    good = record_of(bench(env, "--json", "--case", "weather-tool-loop",
                           suite=tmp_path / "expects-27"))["cases"][0]
    assert (good["status"], good["output"]) == ("pass", "It is 27 °C and sunny in Paris.")
    assert [t["kind"] for t in good["turns"]] == ["user", "tool", "tool"]
    assert good["turns"][2]["sent"][0]["content"] == '{"temp_c": 27, "sky": "sunny"}'
    assert [c["name"] for c in good["tool_calls"]] == ["get_weather", "get_weather"]
    stale = record_of(bench(env, "--json", "--case", "weather-tool-loop",
                            suite=tmp_path / "expects-21"))["cases"][0]
    assert stale["status"] == "fail" and 'expected output to contain "21"' in stale["detail"]


# -- (c) a sweep size over the model's context -------------------------------------------------

@pytest.mark.parametrize("dialect", ["ollama", "lmstudio", "vllm", "llamacpp"])
def test_a_size_over_the_context_is_skipped_and_never_sent(fake_runtime: Any,
                                                            dialect: str) -> None:
    fake = serve(fake_runtime, dialect, context_length=4096)
    record = record_of(bench(env_for({dialect: fake}), "--json", "--seed", "7",
                             "--max-tokens", "256", "--case", "needle-sweep"))
    assert statuses(record) == {"needle-sweep@256": "pass", "needle-sweep@1024": "pass",
                                "needle-sweep@8192": "skip"}
    skipped = record["cases"][2]
    assert skipped["detail"] == ("prompt needs about 8,197 tokens + 256 for the answer; the "
                                 "model's context is 4,096")
    assert skipped["transcript"] is None and skipped["case"]["haystack"]["size"] == 8192
    assert len(fake.requests) == 2
    assert all(context_tokens(body) < 1100 for body in fake.requests)


def test_without_a_known_context_the_size_is_sent_and_refused(fake_runtime: Any) -> None:
    """The same case at --base-url (no discovery, so no context length): the fake receives
    the 8,192-token prompt and refuses it, as a runtime would."""
    fake = serve(fake_runtime, "ollama", context_length=4096)
    record = record_of(bench({}, "--json", "--seed", "7", "--base-url", fake.base_url,
                             "--case", "needle-sweep@8192", "--case", "needle-sweep@256"))
    assert statuses(record) == {"needle-sweep@256": "pass", "needle-sweep@8192": "error"}
    assert record["cases"][1]["detail"].startswith("HTTP 400: ")
    assert "the context is 4096" in record["cases"][1]["detail"]
    assert [context_tokens(body) > 4096 for body in fake.requests] == [False, True]


# -- (d) seeds ---------------------------------------------------------------------------------

def drawn(record: dict[str, Any]) -> dict[str, Any]:
    return {c["id"]: c["case"].get("drawn") for c in record["cases"]}


def test_one_seed_one_run_another_seed_other_draws(fake_runtime: Any) -> None:
    env = env_for({"ollama": serve(fake_runtime)})
    first, again, other = (record_of(bench(env, "--json", "--seed", seed))
                           for seed in ("7", "7", "8"))
    assert statuses(first) == ALL_PASS and statuses(other) == ALL_PASS
    assert drawn(first)["recall-two-turns"] == {"word": "falcon"}  # as conversations.json
    assert drawn(again) == drawn(first) and scoring(again) == scoring(first)
    assert [c["case"] for c in again["cases"]] == [c["case"] for c in first["cases"]]
    assert drawn(other) != drawn(first)
    assert drawn(other)["multiply"] != drawn(first)["multiply"]
    assert (first["settings"]["seed"], other["settings"]["seed"]) == (7, 8)


def test_a_new_seed_per_run_shared_by_every_model(fake_runtime: Any,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import server.cli.rate

    drawn_seeds: list[int] = []

    def randbelow(limit: int) -> int:
        drawn_seeds.append(limit)
        return 4242

    monkeypatch.setattr(server.cli.rate.secrets, "randbelow", randbelow)
    env = env_for({"ollama": serve(fake_runtime, models=(MODEL, "other-model"))})
    both = json.loads(bench(env, "--model", "other-model", "--json").stdout)
    assert drawn_seeds == [2**31]  # one seed for the whole comparison
    assert [run["settings"]["seed"] for run in both["runs"]] == [4242, 4242]
    assert drawn(both["runs"][0]) == drawn(both["runs"][1])
    table = bench(env, "--seed", "99", "--case", "multiply")
    assert "· model=fake-model · 1 case · seed 99" in table.stdout


# -- --case with suite ids and instance ids ------------------------------------------------------

@pytest.mark.parametrize("names, ids", [
    (["needle-sweep"], ["needle-sweep@256", "needle-sweep@1024", "needle-sweep@8192"]),
    (["vault-word@512", "multiply"], ["multiply", "vault-word@512"]),
])
def test_case_takes_suite_ids_and_instance_ids(fake_runtime: Any, names: list[str],
                                               ids: list[str]) -> None:
    fake = serve(fake_runtime)
    args = [arg for name in names for arg in ("--case", name)]
    record = record_of(bench(env_for({"ollama": fake}), "--json", *args))
    assert [c["id"] for c in record["cases"]] == ids
    assert len(fake.requests) == len(ids)


@pytest.mark.parametrize("args, message", [
    (["--case", "needle-sweep@9"], ("--case needle-sweep@9: no such case in suite "
     "'engine-features' (cases: letter-count, multiply, needle-sweep, recall-two-turns, "
     "vault-word, version-shape, weather-tool-loop; instances: needle-sweep@256, ")),
    (["--seed", "-1"], ("Error: --seed: expected a whole number from 0 to 9007199254740991, "
     "got -1")),
    (["--seed", str(2**53)], "--seed: expected a whole number from 0 to 9007199254740991"),
])
def test_bad_case_or_seed_exits_2(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["bench", "--suite", str(ENGINE), "--model", "m", *args])
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.splitlines()) == 1


# -- (e) rescore -------------------------------------------------------------------------------

def test_rescore_reproduces_every_status(fake_runtime: Any, tmp_path: Path) -> None:
    fake = serve(fake_runtime, context_length=4096)
    saved = tmp_path / "run.json"
    script = {"model": MODEL, "answers": [  # a weaker model: one fail and one error too
        {"match": "semantic version", "content": "v1.2"},
        {"match": "What is the vault word?", "fault": "http500"}]}
    weak = fake_runtime({"dialect": "vllm", "models": [
        {"id": MODEL, "script": script, "meta": {"context_length": 4096}}]})
    for runtime, runner in (("ollama", fake), ("vllm", weak)):
        run = bench(env_for({runtime: runner}), "--json", "--out", str(saved), "--seed", "3")
        original = record_of(run)
        assert set(statuses(original).values()) >= ({"pass", "skip"} if runtime == "ollama"
                                                    else {"fail", "skip", "error"})
        for extra in ([], ["--suite", str(ENGINE)]):
            again = CliRunner().invoke(main, ["rescore", str(saved), "--json", *extra])
            assert (again.exit_code, again.stderr) == (run.exit_code, "")
            rescored = json.loads(again.stdout)
            assert scoring(rescored) == scoring(original)
            assert json.dumps(rescored["summary"]) == json.dumps(original["summary"])
            assert [c.get("turns") for c in rescored["cases"]] == \
                [c.get("turns") for c in original["cases"]]


# -- the table ---------------------------------------------------------------------------------

def test_the_table_shows_instances_turns_and_skips(fake_runtime: Any) -> None:
    fake = serve(fake_runtime, context_length=4096)
    result = bench(env_for({"ollama": fake}), "--seed", "7", "--max-tokens", "256")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "suite: engine-features@2.0.0 · model=fake-model · 10 cases · seed 7"
    head = lines[2].split()
    assert head == ["case", "pass", "total_ms", "ttft_ms", "tok_in", "tok_out", "tools",
                    "tok/s", "turns"]
    rows = {line.split()[0]: line.split() for line in lines[4:14]}
    assert list(rows) == list(ALL_PASS)
    assert [rows[i][-1] for i in ("version-shape", "recall-two-turns", "weather-tool-loop",
                                  "needle-sweep@8192")] == ["1", "3", "3", "-"]
    assert rows["needle-sweep@8192"][1] == "skip" and rows["weather-tool-loop"][6] == "2"
    text = result.stdout
    assert "  recall-two-turns: 3 requests (3 user turns) · ended answered · exchange ttft " \
        in text
    assert "  weather-tool-loop: 3 requests (1 user turn, 2 tool rounds) · ended answered" in text
    assert "  needle-sweep@8192 (skip): prompt needs about 8,197 tokens + 256 for the answer; " \
        "the model's context is 4,096" in text
    assert "# overall: 9/9 cases pass (100%)" in text


def test_a_pass_with_a_remark_is_shown_and_counted(fake_runtime: Any) -> None:
    script = {"model": MODEL, "answers": [
        {"match": "times", "echo_regex": r"What is (\d+) times (\d+)", "compute": "product",
         "content": "17 * 83 = {echo}"}]}
    fake = fake_runtime({"dialect": "vllm", "models": [{"id": MODEL, "script": script}]})
    result = bench(env_for({"vllm": fake}), "--seed", "7", "--case", "multiply")
    assert "  multiply (pass with a remark): showed the working" in result.stdout
    assert "# overall: 1/1 cases pass (100%) · 1 with a remark" in result.stdout
