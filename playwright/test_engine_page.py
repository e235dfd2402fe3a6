"""The suite engine in the page: generated cases, follow-up turns, tool loops and context
sweeps (tests/data/engine-suite) run against the engine fake, checked against the CLI, the
fake's recorded request bodies and the hand-checked conversations."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    ENGINE_CONTEXT,
    ENGINE_MODEL,
    ENGINE_SUITE,
    ENGINE_SUITE_ID,
    REMARK_MODEL,
    REPO,
    Page,
    fake_requests,
    page_in_fresh_context,
    screenshot,
)
from playwright.sync_api import expect

from evaluator.expand import run_cases
from server.rating.suites_io import load_file

pytestmark = pytest.mark.browser

CONVERSATIONS = json.loads((ENGINE_SUITE / "conversations.json").read_text("utf-8"))
SEED = CONVERSATIONS["seed"]  # 7
SETTINGS = CONVERSATIONS["settings"]  # max_tokens 256, timeout_s 60, seed 7
# The concrete cases of the suite, in order (a sweep case runs once per size).
IDS = ["version-shape", "multiply", "letter-count", "recall-two-turns", "weather-tool-loop",
       "needle-sweep@256", "needle-sweep@1024", "needle-sweep@8192", "vault-word@128",
       "vault-word@512"]
EXPECTED = {i: "pass" for i in IDS} | {"needle-sweep@8192": "skip"}  # 8,192 > 4,096 tokens
# What must agree between the page's export and `localrate bench --json` (not timings).
CASE_FIELDS = ("id", "status", "score", "weight", "detail", "match", "output", "reasoning",
               "tool_calls", "tool_calls_dropped", "tok_in", "tok_out", "tokens_source",
               "finish_reason", "remark", "expected", "tags", "case", "exchange_end")
TURN_FIELDS = ("kind", "sent", "output", "reasoning", "tool_calls", "finish_reason", "error",
               "tok_in", "tok_out", "tokens_source")
SUMMARY_FIELDS = ("passed", "passed_with_remark", "failed", "skipped", "errors", "total",
                  "pass_ratio", "pass_threshold", "verdict", "reasoning_ratio")
LIVE_AT_SECOND_REQUEST = """() =>
  document.getElementById('live-title').textContent.includes('recall-two-turns')
  && document.getElementById('live-output').textContent.includes('request 2')"""
# What the expanded rows may hold: text in these elements only (model text is never HTML).
ONLY_TEXT_TAGS = """(sel) => [...document.querySelectorAll(sel + ' *')]
  .every((e) => ['TD', 'DIV', 'H4', 'H5', 'OL', 'LI', 'SPAN', 'PRE', 'P', 'MARK'].includes(e.tagName))"""


@pytest.fixture
def ep(chromium_browser: Any, engine: dict[str, Any]) -> Iterator[Page]:
    """A fresh browser context with /local-models of the engine's site."""
    with page_in_fresh_context(chromium_browser, engine["server"]) as page:
        yield page


def sent(transcripts: list[dict[str, Any]] | None, transcript: dict[str, Any] | None) -> Any:
    """The url and body of every request a case result says it sent."""
    made = transcripts if transcripts else [transcript] if transcript else []
    return [(t["url"], t["request"]) for t in made]


def scoring(record: dict[str, Any]) -> dict[str, Any]:
    """The scoring fields of a run record, with every request each case sent."""
    cases = []
    for c in record["cases"]:
        row: dict[str, Any] = {k: c.get(k) for k in CASE_FIELDS}
        row["keys"] = sorted(c)
        row["turns"] = [{k: t.get(k) for k in TURN_FIELDS} for t in c.get("turns") or []]
        row["sent"] = sent(c.get("transcripts"), c.get("transcript"))
        cases.append(row)
    return {"model": record["model"], "suite": record["suite"],
            "settings": record["settings"], "cases": cases,
            "summary": {k: record["summary"].get(k) for k in SUMMARY_FIELDS}}


def cli_bench(env: dict[str, str], out: Path, *models: str) -> dict[str, Any]:
    """`localrate bench --json` on the engine suite and fake, with the page's settings."""
    args = [str(REPO / ".venv" / "bin" / "localrate"), "bench", "--suite", ENGINE_SUITE_ID,
            "--json", "--out", str(out), "--seed", str(SEED),
            "--max-tokens", str(SETTINGS["max_tokens"]), "--timeout", str(SETTINGS["timeout_s"])]
    for model in models:
        args += ["--model", model]
    done = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode in (0, 1), done.stderr
    return json.loads(out.read_text("utf-8"))


def run_section(page: Any, model_id: str) -> Any:
    return page.locator("section.run").filter(
        has=page.locator(f'[data-testid=summary][data-model-id="{model_id}"]'))


def open_row(section: Any, case_id: str) -> Any:
    """Expand one case row; returns its detail row."""
    row = section.locator(f'[data-testid=result-row][data-case-id="{case_id}"]')
    row.locator(".row-toggle").click()
    detail = row.locator("xpath=following-sibling::tr[1]")
    expect(detail).to_be_visible()
    return detail


def shot_of(page: Any, detail: Any, name: str) -> None:
    """A screenshot with the case's row and its opened detail at the top of the view."""
    detail.locator("xpath=preceding-sibling::tr[1]").evaluate(
        "(row) => row.scrollIntoView({block: 'start'})")
    screenshot(page, name, full_page=False)


def set_form(page: Any, seed: str) -> None:
    page.fill("[data-testid=seed-input]", seed)
    page.fill("[data-testid=max-tokens-input]", str(SETTINGS["max_tokens"]))
    page.fill("[data-testid=timeout-input]", str(SETTINGS["timeout_s"]))


def by_model(requests: list[dict[str, Any]], model: str) -> list[dict[str, Any]]:
    return [body for body in requests if body.get("model") == model]


def first_user(body: dict[str, Any]) -> str:
    return next(str(m["content"]) for m in body["messages"] if m["role"] == "user")


def test_engine_suite_in_the_page_agrees_with_the_cli_and_the_conversations(
        ep: Page, engine: dict[str, Any], tmp_path: Path) -> None:
    page = ep.open()
    expect(ep.card(REMARK_MODEL)).to_be_visible(timeout=10_000)
    before = len(fake_requests(engine["fake"]))
    set_form(page, str(SEED))
    ep.run(ENGINE_SUITE_ID, ENGINE_MODEL, REMARK_MODEL)
    ep.wait_done()
    requests = fake_requests(engine["fake"])[before:]
    for model in (ENGINE_MODEL, REMARK_MODEL):
        assert ep.statuses(model) == EXPECTED, model
        # One seed for the batch, shown with each run.
        expect(run_section(page, model).locator("[data-testid=run-seed]")).to_have_attribute(
            "data-seed", str(SEED))

    # The requests the page sent for the multi-turn and the tool-loop case are exactly the
    # hand-checked ones, turn by turn and round by round.
    mine = by_model(requests, ENGINE_MODEL)
    for case_id, start in (("recall-two-turns", "Remember the code word"),
                           ("weather-tool-loop", "What is the weather in Paris")):
        bodies = [b for b in mine if first_user(b).startswith(start)]
        assert bodies == CONVERSATIONS["cases"][case_id]["bodies"], case_id
    # The sweep's 8,192-token size was skipped in the page and never sent (the fake would
    # have refused it): two sizes reached the model.
    needles = [b for b in mine if "What is the secret code mentioned above?" in
               b["messages"][-1]["content"]]
    assert len(needles) == 2
    assert len(mine) == 13  # 3 + 3 (conversations) + 2 + 2 (sweeps) + 3 single cases

    engine_run = run_section(page, ENGINE_MODEL)
    # A multi-turn row: each request's sent messages and the model's answer, as text.
    recall = open_row(engine_run, "recall-two-turns")
    turns = recall.locator("[data-testid=turn]")
    expect(turns).to_have_count(3)
    expect(turns.nth(0)).to_contain_text("Remember the code word falcon.")
    expect(turns.nth(0)).to_contain_text("You are a careful assistant.")
    expect(turns.nth(1).locator(".msg-assistant pre")).to_have_text("5")
    expect(turns.nth(2).locator(".msg-assistant mark")).to_have_text("falcon")
    timing = recall.locator("[data-testid=exchange-timing]")
    expect(timing).to_contain_text("First request: TTFT")
    expect(timing).to_contain_text("Whole exchange (3 requests)")
    expect(recall.locator("[data-testid=drawn]")).to_have_text('word = "falcon"')
    assert page.evaluate(ONLY_TEXT_TAGS, "#" + (recall.get_attribute("id") or ""))
    page.set_viewport_size({"width": 1280, "height": 1100})
    shot_of(page, recall, "engine-multi-turn")
    recall.locator("xpath=preceding-sibling::tr[1]").locator(".row-toggle").click()

    # A tool-loop row: the calls, the canned replies sent back, the final answer.
    weather = open_row(engine_run, "weather-tool-loop")
    turns = weather.locator("[data-testid=turn]")
    expect(turns).to_have_count(3)
    assert [turns.nth(i).get_attribute("data-kind") for i in range(3)] == ["user", "tool", "tool"]
    expect(turns.nth(0)).to_contain_text('get_weather({"city": "Oslo"})')
    expect(turns.nth(1).locator("[data-role=tool]")).to_contain_text(
        '{"temp_c": -3, "sky": "snow"}')
    expect(turns.nth(1).locator("[data-role=tool]")).to_contain_text("tool reply to call_0_0")
    expect(turns.nth(2).locator("[data-role=tool]")).to_contain_text(
        '{"temp_c": 21, "sky": "sunny"}')
    expect(turns.nth(2).locator(".msg-assistant")).to_contain_text(
        "It is 21 °C and sunny in Paris.")
    expect(weather.locator("[data-testid=exchange-timing]")).to_contain_text("ended: answered")
    assert page.evaluate(ONLY_TEXT_TAGS, "#" + (weather.get_attribute("id") or ""))
    shot_of(page, weather, "engine-tool-loop")
    weather.locator("xpath=preceding-sibling::tr[1]").locator(".row-toggle").click()

    # A sweep: one row per size; the size above the model's context is skipped, saying why.
    skipped = open_row(engine_run, "needle-sweep@8192")
    expect(skipped).to_contain_text("Skipped because")
    expect(skipped).to_contain_text(f"the model's context is {ENGINE_CONTEXT:,}")
    expect(skipped.locator("[data-testid=drawn]")).to_contain_text(
        "haystack of about 8,192 tokens, the needle at 50% depth")
    shot_of(page, engine_run.locator('[data-testid=result-row][data-case-id="needle-sweep@256"]')
            .locator("xpath=following-sibling::tr[1]"), "engine-sweep-skip")

    # A pass with a remark: on the row, and counted apart in the summary.
    remark_run = run_section(page, REMARK_MODEL)
    row = remark_run.locator('[data-testid=result-row][data-case-id="multiply"]')
    expect(row).to_have_attribute("data-remark", "showed the working")
    expect(row.locator("[data-testid=remark]")).to_have_text("showed the working")
    summary = remark_run.locator("[data-testid=summary]")
    expect(summary).to_have_attribute("data-passed-with-remark", "1")
    counts = remark_run.locator("[data-testid=counts]")  # the evaluator's words
    expect(counts).to_have_attribute("data-unit", "cases")
    expect(counts).to_contain_text("1 pass with a remark")
    expect(engine_run.locator("[data-testid=summary]")).to_have_attribute(
        "data-passed-with-remark", "0")

    # The page's records agree with the CLI's, field for field, on the same seed and fakes,
    # and both shells sent the model the very same requests.
    with page.expect_download() as download:
        page.click("[data-testid=export-comparison]")
    exported = json.loads(Path(download.value.path()).read_text("utf-8"))
    runs = exported["runs"]
    assert [r["settings"] for r in runs] == [SETTINGS, SETTINGS]
    assert runs[0]["cases"][1]["case"]["drawn"] == runs[1]["cases"][1]["case"]["drawn"]
    cli_start = len(fake_requests(engine["fake"]))
    cli = cli_bench(engine["env"], tmp_path / "cli.json", ENGINE_MODEL, REMARK_MODEL)
    assert [scoring(r) for r in runs] == [scoring(r) for r in cli["runs"]]
    assert fake_requests(engine["fake"])[cli_start:] == requests


def test_skip_stop_and_resume_mid_conversation(ep: Page, engine: dict[str, Any]) -> None:
    """Skip ends the request in flight of a conversation (the case is an error, the run goes
    on); Stop mid-conversation keeps the cases before it; Resume after a reload draws the
    same cases from the batch's (random) seed."""
    page = ep.open()
    expect(ep.card(REMARK_MODEL)).to_be_visible(timeout=10_000)
    # A seed that is not a whole number is named by the evaluator, and nothing runs.
    page.select_option("[data-testid=suite-select]", ENGINE_SUITE_ID)
    ep.select(REMARK_MODEL)
    page.fill("[data-testid=seed-input]", "1.5")
    page.click("[data-testid=run-button]")
    expect(page.locator("#live-title")).to_have_text(
        "Cannot run: seed: expected a whole number from 0 to 9007199254740991, got '1.5'")
    expect(page.locator("[data-testid=progress]")).to_have_count(0)
    before = len(fake_requests(engine["fake"]))
    set_form(page, str(SEED))
    ep.run(ENGINE_SUITE_ID, REMARK_MODEL)
    page.wait_for_function(LIVE_AT_SECOND_REQUEST, timeout=60_000)
    page.click("[data-testid=skip-button]")
    ep.wait_done()
    statuses = ep.statuses(REMARK_MODEL)
    assert statuses == EXPECTED | {"recall-two-turns": "error"}
    detail = open_row(run_section(page, REMARK_MODEL), "recall-two-turns")
    expect(detail.locator("[data-testid=turn]")).to_have_count(2)
    expect(detail.locator("[data-testid=turn]").nth(1)).to_contain_text("skipped by the user")
    recall = [b for b in fake_requests(engine["fake"])[before:]
              if first_user(b).startswith("Remember the code word")]
    assert len(recall) == 2  # the third turn was never sent

    # Stop during the same request, on a run with a seed drawn by the page.
    page.click("#clear-view")
    page.fill("[data-testid=seed-input]", "")
    before = len(fake_requests(engine["fake"]))
    page.click("[data-testid=run-button]")
    page.wait_for_function(LIVE_AT_SECOND_REQUEST, timeout=60_000)
    page.click("[data-testid=stop-button]")
    ep.wait_done()
    assert list(ep.statuses(REMARK_MODEL)) == IDS[:3]  # the conversation was not kept
    expect(page.locator("[data-testid=progress]")).to_have_attribute("data-state", "stopped")
    seed = int(page.locator("[data-testid=run-seed]").get_attribute("data-seed") or "-1")
    assert 0 <= seed < 2**31
    page.wait_for_timeout(1000)  # time enough to send a next request, were it sent
    recall = [b for b in fake_requests(engine["fake"])[before:]
              if first_user(b).startswith("Remember the code word")]
    assert len(recall) == 2

    page.reload()
    expect(page.locator("[data-testid=resume-button]")).to_be_visible(timeout=10_000)
    ep.wait_ready()
    page.click("[data-testid=resume-button]")
    ep.wait_done()
    assert ep.statuses(REMARK_MODEL) == EXPECTED
    run = run_section(page, REMARK_MODEL)
    with page.expect_download() as download:
        run.locator("[data-testid=export-button]").click()
    record = json.loads(Path(download.value.path()).read_text("utf-8"))
    assert record["settings"]["seed"] == seed
    # Before and after the reload, the cases are the evaluator's concrete cases of that seed.
    suite = load_file(ENGINE_SUITE / "suite.yaml")
    assert [c["case"] for c in record["cases"]] == [c.to_json() for c in run_cases(suite, seed)]
    # The seed field repeats a run: "Use seed" puts its seed there.
    run.locator("[data-testid=reuse-seed]").click()
    expect(page.locator("[data-testid=seed-input]")).to_have_value(str(seed))
