"""A full classic-rating run in the browser, checked against the scripts and the CLI."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from conftest import REPO, Page, runtime_env, screenshot, script
from playwright.sync_api import expect

from evaluator.checks import describe_expect

pytestmark = pytest.mark.browser

STRONG, WEAK = "qwen3-vl:8b", "smollm2:1.7b"
SEED = 7  # the page's and the CLI's run seed (recorded in settings: they must agree)
# The fields that must be equal in the browser's and the CLI's records (timings differ).
CASE_FIELDS = ("id", "status", "score", "weight", "detail", "match", "output", "reasoning",
               "tool_calls", "tok_in", "tok_out", "tokens_source", "finish_reason")
SUMMARY_FIELDS = ("passed", "failed", "skipped", "errors", "total", "pass_ratio",
                  "pass_threshold", "verdict", "reasoning_ratio")


def expected_statuses(name: str) -> dict[str, str]:
    return {a["case"]: a["expected_status"] for a in script(name)["answers"]}


def cli_bench(fakes: dict[str, Any], out: Path, *models: str) -> dict[str, Any]:
    """`localrate bench --json` on the same fakes."""
    args = [str(REPO / ".venv" / "bin" / "localrate"), "bench", "--suite",
            "classic-rating", "--json", "--out", str(out), "--seed", str(SEED)]
    for model in models:
        args += ["--model", model]
    env = runtime_env(fakes) | {"LOCALRATE_DISCOVERY": "ollama"}
    done = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode in (0, 1), done.stderr
    return json.loads(out.read_text("utf-8"))


def scoring(record: dict[str, Any]) -> dict[str, Any]:
    """The scoring fields of a run record."""
    return {"model": record["model"], "suite": record["suite"],
            "settings": record["settings"],
            "cases": [{k: c.get(k) for k in CASE_FIELDS} for c in record["cases"]],
            "summary": {k: record["summary"].get(k) for k in SUMMARY_FIELDS}}


CHAT_REQUESTS_IN_PAGE = """() => performance.getEntriesByType("resource")
  .filter((e) => e.name.endsWith("/v1/chat/completions")).length"""
PAGE_REQUESTS = """() => performance.getEntriesByType("resource").length"""


def test_full_run_matches_the_scripts_and_the_cli(lr: Page, fakes: dict[str, Any],
                                                  tmp_path: Path) -> None:
    page = lr.open()
    expect(lr.card(WEAK)).to_be_visible(timeout=10_000)
    lr.run("classic-rating", STRONG, WEAK, seed=SEED)
    # Live output streams while a case runs; the progress bars are there.
    expect(page.locator("[data-testid=progress]")).to_have_count(2)
    expect(page.locator("[data-testid=result-row]").first).to_be_visible(timeout=30_000)
    screenshot(page, "running")
    lr.wait_done()
    # The chat requests were streamed by the recording worker, off the main thread (what
    # the page draws does not delay reading them): none is in the page's own timeline.
    assert any(w.url.rsplit("/", 1)[-1].startswith("record-worker.") for w in page.workers)
    assert page.evaluate(CHAT_REQUESTS_IN_PAGE) == 0
    assert page.evaluate(PAGE_REQUESTS) > 0  # (the timeline does list the page's own)

    for model, name in ((STRONG, "strong"), (WEAK, "weak")):
        assert lr.statuses(model) == expected_statuses(name), model
    # Vision and tool cases are skipped on the weak model, with the reason.
    weak = page.locator("section.run").filter(
        has=page.locator(f'[data-testid=summary][data-model-id="{WEAK}"]'))
    skipped = weak.locator("[data-testid=result-row][data-status=skip]")
    ids = [skipped.nth(i).get_attribute("data-case-id") for i in range(skipped.count())]
    assert ids and all(i.startswith(("vision-", "tool-")) for i in ids), ids
    skipped.first.locator(".row-toggle").click()
    expect(weak.locator(".detail-row:not([hidden])")).to_contain_text("requires")

    # Expand a passing row: the matched text is highlighted with <mark>.
    strong = page.locator("section.run").filter(
        has=page.locator(f'[data-testid=summary][data-model-id="{STRONG}"]'))
    strong.locator('[data-testid=result-row][data-case-id="echo-exact-token"] .row-toggle').click()
    expect(strong.locator(".detail-row:not([hidden]) mark")).to_have_text("LR-ECHO-7731")
    screenshot(page, "results")

    with page.expect_download() as download:
        page.click("[data-testid=export-comparison]")
    exported = json.loads(Path(download.value.path()).read_text("utf-8"))
    assert exported["format"] == "localrate.comparison/1"
    cli = cli_bench(fakes, tmp_path / "cli.json", STRONG, WEAK)
    assert [scoring(r) for r in exported["runs"]] == [scoring(r) for r in cli["runs"]]

    # One run's export is one record in the same format.
    with page.expect_download() as download:
        strong.locator("[data-testid=export-button]").click()
    one = json.loads(Path(download.value.path()).read_text("utf-8"))
    assert one["format"] == "localrate.run/1" and one["model"]["id"] == STRONG
    # The "Expected" block is the evaluator's description of the check (the result's
    # `expected`: describe_expect, which the CLI's table prints too), not a JS wording.
    echo = next(c for c in one["cases"] if c["id"] == "echo-exact-token")
    assert echo["expected"].splitlines()[0] == \
        describe_expect(echo["case"]["expect"]).splitlines()[0]
    shown = strong.locator(".detail-row:not([hidden]) .detail-block").filter(
        has=page.locator("h4", has_text="Expected"))
    expect(shown.locator("pre")).to_have_text(echo["expected"])

    # The CLI's file imports: both of its runs appear beside the browser's.
    page.set_input_files("[data-testid=import-input]", str(tmp_path / "cli.json"))
    expect(page.locator(f'[data-testid=summary][data-model-id="{WEAK}"]')).to_have_count(2)
    expect(page.locator("[data-testid=compare-table] tbody tr")).to_have_count(4)
    page.locator("#compare-section").scroll_into_view_if_needed()
    screenshot(page, "comparison")
    page.set_viewport_size({"width": 390, "height": 844})
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "narrow-390", full_page=False)
    page.locator("#results-title").scroll_into_view_if_needed()
    screenshot(page, "narrow-390-results", full_page=False)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_reload_mid_run_keeps_finished_cases_and_resumes(lr: Page) -> None:
    page = lr.open()
    lr.run("classic-rating", "slow-model")
    # The live panel names the case and shows the model's text as it streams.
    expect(page.locator("#live-title")).to_contain_text("slow-model · ")
    page.wait_for_function("() => document.getElementById('live-output').textContent.length > 0",
                           timeout=30_000)
    rows = page.locator("[data-testid=result-row]")
    expect(rows.nth(2)).to_be_visible(timeout=60_000)
    before = lr.statuses("slow-model")
    assert len(before) >= 3
    page.reload()
    # What was done is shown at once (before Python is ready) and Resume is offered.
    expect(page.locator("[data-testid=resume-button]")).to_be_visible(timeout=10_000)
    after = lr.statuses("slow-model")
    assert {k: after[k] for k in before} == before
    lr.wait_ready()
    page.click("[data-testid=resume-button]")
    lr.wait_done()
    final = page.locator("[data-testid=result-row]")
    ids = [final.nth(i).get_attribute("data-case-id") for i in range(final.count())]
    assert len(ids) == 22 and len(set(ids)) == 22
    expect(page.locator("[data-testid=resume-button]")).to_be_hidden()
    expect(page.locator('[data-testid=past-run][data-state="done"]')).to_have_count(1)


def test_stop_keeps_what_is_done(lr: Page) -> None:
    page = lr.open()
    lr.run("classic-rating", "slow-model")
    # Skip ends the case in flight: an error row that says so, and the run goes on.
    page.click("[data-testid=skip-button]")
    skipped = page.locator("[data-testid=result-row][data-status=error]")
    expect(skipped).to_have_count(1, timeout=30_000)
    skipped.locator(".row-toggle").click()
    expect(page.locator(".detail-row:not([hidden])")).to_contain_text("skipped by the user")
    expect(page.locator("[data-testid=result-row]").nth(2)).to_be_visible(timeout=60_000)
    page.click("[data-testid=stop-button]")
    lr.wait_done()
    kept = page.locator("[data-testid=result-row]").count()
    assert 3 <= kept < 22
    expect(page.locator("[data-testid=resume-button]")).to_be_visible()
    page.wait_for_timeout(500)
    assert page.locator("[data-testid=result-row]").count() == kept



SNAPSHOT_KEYS = """async () => (await (await caches.open("localrate-python-snapshot")).keys())
  .map((request) => request.url)"""
PYODIDE_FOLDER = """() => JSON.parse(document.getElementById("localrate-data").textContent)
  .pyodide.index_url"""


def test_a_returning_visit_restores_python_and_rates_the_same(lr: Page) -> None:
    """The first start saves a memory snapshot of the started Python (Cache Storage); a
    reload restores it instead of starting Python again, and that evaluator rates a suite
    exactly as the fresh one did."""
    page = lr.open()
    status = page.locator("[data-testid=evaluator-status]")
    expect(status).to_have_attribute("data-restored", "false")
    # The page says the snapshot is saved once the worker's write has finished.
    expect(status).to_have_attribute("data-saved", "true", timeout=60_000)
    # Keyed by this build's evaluator zip and Pyodide folder (its version): a build with a
    # new Pyodide and the same evaluator does not try to restore the old snapshot.
    [key] = page.evaluate(SNAPSHOT_KEYS)
    folder = page.evaluate(PYODIDE_FOLDER)
    assert folder.startswith("/pyodide/") and folder.strip("/") != "pyodide"
    assert "/assets/evaluator." in key and key.endswith(f".snapshot?pyodide={quote(folder, safe='')}")
    lr.run("classic-rating", STRONG)
    lr.wait_done()
    fresh = lr.statuses(STRONG)
    assert fresh == expected_statuses("strong")

    page.reload()
    lr.wait_ready()
    expect(status).to_have_attribute("data-restored", "true")
    expect(status).to_have_attribute("data-saved", "true")
    expect(status).to_contain_text("restored")
    page.evaluate("window.scrollTo(0, 0)")
    lr.shot("evaluator-restored", full_page=False)
    page.click("#clear-view")
    lr.run("classic-rating", STRONG)
    lr.wait_done()
    assert lr.statuses(STRONG) == fresh
    assert lr.errors == [] and lr.dialogs == []
