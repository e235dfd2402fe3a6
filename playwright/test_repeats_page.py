"""Repeats, intervals and the side-by-side comparison in the page (issue 14).

Two scripted Ollama fakes answer playwright/data/repeats-suite (eight cases, four tags)
differently per attempt; the page runs both with repeat 2 and must show what the
evaluator computes of the same records: Wilson intervals, k of N and flaky marks, the
paired verdict, the matrix and its filters, and a chart whose labels never overlap, at
390 px and on a desktop. Every figure the test expects is computed here from the
exported records by the evaluator itself (CPython), never typed in.
"""

from __future__ import annotations

import itertools
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.request import Request, urlopen

import pytest
from conftest import (
    ARTIFACTS,
    Page,
    engine_env,
    free_port,
    page_in_fresh_context,
    screenshot,
    start_fakes,
    start_site,
)
from playwright.sync_api import expect

from evaluator.compare_view import comparison
from evaluator.engine_defaults import engine_defaults_plan, parse_engine_defaults
from evaluator.engine_info import engine_plan, read_engine
from evaluator.eta import progress
from evaluator.run_report import run_report
from evaluator.thinking import thinking_fields
from tests.procs import stop_process

pytestmark = pytest.mark.browser

DATA = Path(__file__).resolve().parent / "data"
SUITE = "repeats-check"
STEADY, SHAKY, SLOW = "steady-7b", "shaky-3b", "slow-7b"
REPEAT = 2


def fake_config(port: int) -> dict[str, Any]:
    scripts = json.loads((DATA / "repeats-fakes.json").read_text("utf-8"))
    meta = {"capabilities": ["completion"], "context_length": 8192}
    return {"dialect": "ollama", "port": port, "models": [
        {"id": STEADY, "script": scripts[STEADY],
         "meta": meta | {"parameters": {"temperature": 0.6, "top_p": 0.95}}},
        {"id": SHAKY, "script": scripts[SHAKY],
         "meta": meta | {"size": 4_000_000_000, "size_vram": 3_000_000_000}},
        {"id": SLOW, "script": scripts[SLOW], "meta": meta}]}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The repeats fake and a `localrate serve` whose build holds only repeats-check."""
    folder = tmp_path_factory.mktemp("repeats")
    port = free_port()
    fake = start_fakes(folder, "fake", [fake_config(port)])
    server = None
    try:
        suites = folder / "suites"
        shutil.copytree(DATA / "repeats-suite", suites / SUITE)
        fake_url = f"http://127.0.0.1:{port}"
        env = engine_env(fake_url, suites)
        server, site = start_site(folder, env)
        yield {"fake": fake_url, "server": site}
    finally:
        if server is not None:
            stop_process(server)
        stop_process(fake)


@pytest.fixture
def lr(chromium_browser: Any, site: dict[str, Any]) -> Iterator[Page]:
    with page_in_fresh_context(chromium_browser, site["server"]) as page:
        yield page


def js(value: Any) -> str:
    """A number as the page writes it into an attribute (JavaScript's String(n))."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def overlapping(boxes: list[dict[str, float]]) -> list[tuple[int, int]]:
    return [(i, j) for (i, a), (j, b) in itertools.combinations(enumerate(boxes), 2)
            if a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"]]


def label_boxes(page: Any) -> list[dict[str, float]]:
    labels = page.locator("[data-testid=chart-label]")
    return [labels.nth(i).bounding_box() for i in range(labels.count())]


WIDE = """() => [...document.querySelectorAll('body *')].filter((e) => {
  const r = e.getBoundingClientRect(); return r.right > 391; }).slice(0, 8)
  .map((e) => `${e.tagName}.${e.className?.baseVal ?? e.className}#${e.id} ${Math.round(e.getBoundingClientRect().right)}`)"""


def engine_figures(fake: str, model: str) -> dict[str, str]:
    """What the evaluator reads of the fake's engine answers for `model`, as the page lists
    them: {"memory.gpu_fraction": "0.75", ...}."""
    responses = []
    for row in engine_plan("ollama", fake, model):
        with urlopen(row["url"], timeout=10) as response:
            responses.append({"key": row["key"], "status": response.status,
                              "body": response.read().decode("utf-8"), "error": None})
    report = read_engine("ollama", model, responses)
    out = {"engine.version": js(report["version"]["value"])}
    for group, name in (("memory", "memory"), ("context", "context"), ("details", "model")):
        for key, figure in report[group].items():
            out[f"{name}.{key}"] = js(figure["value"])
    return out


def run_both(lr: Page) -> Any:
    page = lr.open()
    expect(lr.card(SHAKY)).to_be_visible(timeout=10_000)
    page.select_option("[data-testid=repeat-select]", str(REPEAT))
    expect(page.locator("[data-testid=warmup-input]")).to_be_checked()
    lr.run(SUITE, STEADY, SHAKY, seed=3)
    lr.wait_done()
    return page


def exported(page: Any) -> list[dict[str, Any]]:
    with page.expect_download() as download:
        page.click("[data-testid=export-comparison]")
    return list(json.loads(Path(download.value.path()).read_text("utf-8"))["runs"])


def element_shot(locator: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    locator.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def test_two_models_with_repeats(lr: Page, site: dict[str, Any], tmp_path: Path) -> None:
    page = run_both(lr)
    runs = exported(page)
    steady = runs[0]
    # Every case ran twice per model, after one warm-up per model.
    with urlopen(f'{site["fake"]}/__fake__/requests', timeout=10) as response:
        seen = json.loads(response.read())
    assert (len(seen["warmups"]), len(seen["requests"])) == (2, 2 * 8 * REPEAT)
    for record in runs:
        assert record["settings"]["repeat"] == REPEAT
        assert sorted((c["id"], c["attempt"]) for c in record["cases"]) == sorted(
            (c, a) for c in {c["id"] for c in record["cases"]} for a in range(REPEAT))
        assert record["warmup"]["status"] == "ok" and record["warmup"]["ttft_ms"] > 0
        # the engine's facts and the browser's machine travel in the export too
        assert record["engine"]["runtime"] == record["model"]["runtime"]
        assert record["machine"]["label"].startswith("the browser's machine")
    # The batch line: every attempt done.
    line = page.locator("[data-testid=batch-progress]")
    expect(line).to_have_attribute("data-done", str(2 * 8 * REPEAT))
    expect(line).to_have_text(progress(2 * 8 * REPEAT, 2 * 8 * REPEAT, 0)["text"])

    # Each run's figures are the evaluator's run_report of its exported record.
    for record in runs:
        want = run_report(record)
        box = page.locator("section.run").filter(has=page.locator(
            f'[data-testid=summary][data-model-id="{record["model"]["id"]}"]'))
        rate = box.locator("[data-testid=pass-interval]")
        overall = want["pass_rates"]["overall"]
        expect(rate).to_have_attribute("data-low", js(overall["low"]))
        expect(rate).to_have_attribute("data-high", js(overall["high"]))
        expect(box.locator("[data-testid=stability]")).to_have_attribute(
            "data-flaky", js(want["stability"]["flaky"]))
        flaky_ids = want["stability"]["flaky_ids"]
        shown = box.locator('[data-testid=stability-cases] li[data-flaky="true"]')
        expect(shown).to_have_count(len(flaky_ids))
        expect(box.locator("[data-testid=cold-start]")).to_have_attribute(
            "data-ttft", js(record["warmup"]["ttft_ms"]))
        # the count line counts attempts and says so, in the evaluator's words
        counts = box.locator("[data-testid=counts]")
        expect(counts).to_have_attribute("data-unit", "attempts")
        expect(counts.locator("dt")).to_have_text("attempts")
        expect(counts.locator("dd")).to_have_text(want["counts"]["statuses"])
        assert want["counts"]["statuses"].endswith(f" (8 cases × {REPEAT})")
    assert run_report(steady)["stability"]["flaky_ids"] == ["coin"]

    # The engine's facts, read at the end of each run, each with its source; the shaky
    # model is partly off the GPU (3 of its 4 GB in VRAM), which the evaluator notes.
    facts = page.locator("section.run").filter(has=page.locator(
        f'[data-testid=summary][data-model-id="{SHAKY}"]')).locator("[data-testid=engine-facts]")
    shown_figures = facts.locator("li").evaluate_all(
        "items => Object.fromEntries(items.map(i => [i.dataset.figure, i.dataset.value]))")
    assert shown_figures == engine_figures(site["fake"], SHAKY)
    assert shown_figures["memory.gpu_fraction"] == "0.75"
    expect(facts.locator("[data-testid=engine-note]")).to_contain_text("partly off the GPU")
    expect(facts.locator('li[data-figure="memory.gpu_bytes"]')).to_contain_text(
        "GET /api/ps → models[shaky-3b].size_vram")
    expect(page.locator("[data-testid=machine-facts]").first).to_contain_text("browser")

    # The comparison: per-run intervals, the paired verdict, the matrix and its filters.
    want = comparison(runs)
    for run in want["runs"]:
        row = page.locator(f'[data-testid=run-rate][data-label="{run["label"]}"]')
        expect(row).to_have_attribute("data-low", js(run["pass"]["low"]))
        expect(row).to_have_attribute("data-frontier", js(run["frontier"]))
    verdict = page.locator("[data-testid=paired-verdict]")
    assert want["paired"]["verdict"] == "A better"
    expect(verdict).to_have_attribute("data-verdict", "A better")
    expect(verdict).to_have_attribute("data-difference", js(want["paired"]["difference"]))
    expect(verdict).to_have_attribute("data-low", js(want["paired"]["interval"][0]))
    expect(verdict).to_contain_text("McNemar")
    for name, rows in want["matrix"]["filters"].items():
        page.click(f'[data-testid=matrix-filter][data-filter="{name}"]')
        shown_ids = page.locator("[data-testid=matrix-row]").evaluate_all(
            "rows => rows.map(r => r.dataset.caseId)")
        assert shown_ids == [want["matrix"]["rows"][i]["id"] for i in rows], name
    page.click('[data-testid=matrix-filter][data-filter="flaky"]')
    cell = page.locator('[data-testid=matrix-row][data-case-id="coin"] [data-testid=matrix-cell]')
    expect(cell.first).to_have_attribute("data-status", "flaky")
    expect(cell.first.locator("[data-testid=flaky-mark]")).to_be_visible()
    cell.first.locator("button").click()
    columns = page.locator("[data-testid=answer-col]")
    expect(columns).to_have_count(2)
    expect(columns.nth(0).locator("li")).to_have_count(REPEAT)
    expect(columns.nth(0)).to_contain_text("HEADS")
    expect(columns.nth(0)).to_contain_text("TAILS")
    bars = page.locator("[data-testid=category-bar]")
    expect(bars).to_have_count(len(want["tags"]) * 2)

    # The chart: one label per run, none on another; at 390 px too.
    page.locator("#compare-section").scroll_into_view_if_needed()
    expect(page.locator("[data-testid=chart-label]")).to_have_count(2)
    assert overlapping(label_boxes(page)) == []
    element_shot(page.locator("section.run").first, "repeats-run-figures")
    element_shot(page.locator("#compare-section"), "repeats-compare-desktop")

    # The same two runs imported again: four points, two pairs on the same spot (the
    # labels of two runs of one model used to print on top of each other).
    path = tmp_path / "both.json"
    path.write_text(json.dumps({"format": "localrate.comparison/1", "runs": runs}), "utf-8")
    page.set_input_files("[data-testid=import-input]", str(path))
    expect(page.locator("[data-testid=chart-label]")).to_have_count(4)
    assert overlapping(label_boxes(page)) == []
    element_shot(page.locator("[data-testid=compare-chart]"), "repeats-chart-four-desktop")
    # With more than two runs, the paired verdict's runs are picked: a run against its own
    # copy is within noise, with no difference.
    page.select_option("[data-testid=pair-b]", label=f"{STEADY} (2)")
    expect(verdict).to_have_attribute("data-verdict", "within noise")
    expect(verdict).to_have_attribute("data-difference", "0")
    expect(verdict).to_contain_text(f"{STEADY} (A) vs {STEADY} (2) (B)")
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_function("""() => { const s = document.querySelector('[data-testid=compare-chart]');
        return s && Number(s.getAttribute('width')) < 390; }""")
    assert overlapping(label_boxes(page)) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, page.evaluate(WIDE)
    page.locator("[data-testid=compare-chart]").scroll_into_view_if_needed()
    screenshot(page, "repeats-chart-390", full_page=False)
    page.locator("[data-testid=category-bars]").scroll_into_view_if_needed()
    screenshot(page, "repeats-bars-390", full_page=False)
    page.locator("[data-testid=matrix]").scroll_into_view_if_needed()
    screenshot(page, "repeats-matrix-390", full_page=False)
    page.locator("section.run").first.scroll_into_view_if_needed()
    screenshot(page, "repeats-run-390", full_page=False)


def fake_seen(site: dict[str, Any], model: str) -> tuple[list[Any], list[Any]]:
    """(warm-ups, case requests) the fake received for `model`."""
    with urlopen(f'{site["fake"]}/__fake__/requests', timeout=10) as response:
        seen = json.loads(response.read())
    return ([b for b in seen["warmups"] if b.get("model") == model],
            [b for b in seen["requests"] if b.get("model") == model])


def test_settings_reach_the_requests_and_the_record(lr: Page, site: dict[str, Any]) -> None:
    page = lr.open()
    expect(lr.card(SHAKY)).to_be_visible(timeout=10_000)
    warmups_before, bodies_before = (len(x) for x in fake_seen(site, SHAKY))  # earlier tests
    # A bad value is the evaluator's one line, and nothing runs.
    page.fill("[data-testid=temperature-input]", "5")
    lr.select(SHAKY)
    page.click("[data-testid=run-button]")
    expect(page.locator(".notice-error")).to_contain_text("temperature: expected a number from 0 to 2")
    assert tuple(len(x) for x in fake_seen(site, SHAKY)) == (warmups_before, bodies_before)
    page.fill("[data-testid=temperature-input]", "0.7")
    page.fill("[data-testid=top-p-input]", "0.9")
    page.fill("[data-testid=max-tokens-input]", "64")
    page.select_option("[data-testid=thinking-select]", "off")
    page.fill("[data-testid=system-input]", "Be brief.")
    page.uncheck("[data-testid=warmup-input]")
    page.select_option("[data-testid=repeat-select]", "1")
    rate_panel = page.locator("section.panel").filter(has=page.locator("#rate-title"))
    element_shot(rate_panel, "repeats-settings-desktop")
    page.set_viewport_size({"width": 390, "height": 844})
    element_shot(rate_panel, "repeats-settings-390")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.click("[data-testid=run-button]")
    line = page.locator("[data-testid=batch-progress]")
    expect(line).to_have_attribute("data-total", "8")
    expect(line).to_have_attribute("data-done", "8", timeout=30_000)
    lr.wait_done()
    warmups, bodies = fake_seen(site, SHAKY)
    bodies = bodies[bodies_before:]
    assert len(warmups) == warmups_before and len(bodies) == 8
    for body in bodies:
        assert (body["temperature"], body["top_p"], body["max_tokens"]) == (0.7, 0.9, 64)
        assert body["messages"][0] == {"role": "system", "content": "Be brief."}
        for key, value in thinking_fields("ollama", "off").items():
            assert body[key] == value
    section = page.locator("section.run").filter(
        has=page.locator(f'[data-testid=summary][data-model-id="{SHAKY}"]'))
    with page.expect_download() as download:
        section.locator("[data-testid=export-button]").click()
    record = json.loads(Path(download.value.path()).read_text("utf-8"))
    settings = record["settings"]
    assert (settings["temperature"], settings["top_p"], settings["thinking"],
            settings["system"], settings["warmup"]) == (0.7, 0.9, "off", "Be brief.", False)
    assert "warmup" not in record and all("attempt" not in c for c in record["cases"])
    expect(section.locator("[data-testid=cold-start]")).to_contain_text("no warm-up")
    expect(section.locator("[data-testid=settings-line]")).to_contain_text("thinking off")


def test_reload_mid_run_resumes_the_attempts_left(lr: Page, site: dict[str, Any]) -> None:
    page = lr.open()
    expect(lr.card(SLOW)).to_be_visible(timeout=10_000)
    page.select_option("[data-testid=repeat-select]", str(REPEAT))
    lr.run(SUITE, SLOW, seed=5)
    rows = page.locator("[data-testid=result-row]")
    expect(rows.nth(1)).to_be_visible(timeout=30_000)
    # Attempts done of the total, and the time left from the speed measured so far.
    line = page.locator("[data-testid=batch-progress]")
    expect(line).to_have_attribute("data-total", str(8 * REPEAT))
    expect(line).to_contain_text(" left")
    element_shot(page.locator("section.panel").filter(has=page.locator("#rate-title")),
                 "repeats-rate-running")
    page.reload()
    expect(page.locator("[data-testid=resume-button]")).to_be_visible(timeout=10_000)
    lr.wait_ready()
    page.click("[data-testid=resume-button]")
    lr.wait_done()
    with page.expect_download() as download:
        page.locator("[data-testid=export-button]").first.click()
    record = json.loads(Path(download.value.path()).read_text("utf-8"))
    pairs = [(c["id"], c["attempt"]) for c in record["cases"]]
    assert sorted(pairs) == sorted({(c, a) for c, _ in pairs for a in range(REPEAT)})
    assert len(pairs) == 8 * REPEAT
    # One warm-up, before the first case: the resumed run did not warm up again.
    warmups, _ = fake_seen(site, SLOW)
    assert len(warmups) == 1 and record["warmup"]["status"] == "ok"


def test_the_engines_sampling_defaults(lr: Page, site: dict[str, Any]) -> None:
    """"Use the engine's sampling defaults": what the runtime says (Ollama /api/show
    parameters) fills what was left empty; what was typed wins; the record names them."""
    plan = engine_defaults_plan("ollama", site["fake"], STEADY)
    assert plan is not None
    request = Request(plan["url"], data=json.dumps(plan["body"]).encode(), method="POST")
    with urlopen(request, timeout=10) as response:
        engine = parse_engine_defaults("ollama", response.status, response.read().decode())
    assert engine["values"] == {"temperature": 0.6, "top_p": 0.95}
    page = lr.open()
    expect(lr.card(STEADY)).to_be_visible(timeout=10_000)
    _, before = fake_seen(site, STEADY)
    page.check("[data-testid=from-engine-input]")
    page.fill("[data-testid=top-p-input]", "0.5")  # typed: wins over the engine's 0.95
    page.uncheck("[data-testid=warmup-input]")
    lr.select(STEADY)
    page.click("[data-testid=run-button]")
    expect(page.locator("[data-testid=batch-progress]")).to_have_attribute("data-done", "8",
                                                                            timeout=30_000)
    lr.wait_done()
    _, bodies = fake_seen(site, STEADY)
    bodies = bodies[len(before):]
    assert len(bodies) == 8
    assert {(b["temperature"], b["top_p"]) for b in bodies} == {
        (engine["values"]["temperature"], 0.5)}
    section = page.locator("section.run").filter(
        has=page.locator(f'[data-testid=summary][data-model-id="{STEADY}"]'))
    with page.expect_download() as download:
        section.locator("[data-testid=export-button]").click()
    settings = json.loads(Path(download.value.path()).read_text("utf-8"))["settings"]
    assert (settings["temperature"], settings["top_p"], settings["from_engine"]) == \
        (0.6, 0.5, ["temperature"])
    expect(page.locator(".notice-info").first).to_contain_text(engine["detail"])
