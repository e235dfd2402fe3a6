"""The page's main flows in Chromium, Firefox ESR and WebKitGTK (Safari's engine).

The same tests for the three engines, through Selenium (tests/browser_engines.py):
discovery and the CORS help, a rating with live output, results and the comparison,
export and import, a saved run resumed after a reload, and Python's start (restored from
the saved snapshot on a second visit; a snapshot that does not restore is a full start
that the status line names). Each test starts its own browser (an empty profile), one at
a time. The longer flows (faults, XSS, quotas, the engine suite, the public-origin Local
Network Access cases, real runtimes) stay in the Playwright tests, which drive Chromium.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, runtime_env, script

from tests.browser_engines import ENGINES, FOREIGN_HOST, EnginePage, launch, missing

pytestmark = pytest.mark.browser

STRONG, WEAK = "qwen3-vl:8b", "smollm2:1.7b"
SEED = 7
CASE_FIELDS = ("id", "status", "score", "weight", "detail", "match", "output", "reasoning",
               "tool_calls", "tok_in", "tok_out", "tokens_source", "finish_reason")
# Engines that can give the page a non-loopback origin (a host name mapped to 127.0.0.1):
# Chromium's --host-resolver-rules, Firefox's network.dns.localDomains. WebKitGTK has no
# such switch; its discovery test runs from 127.0.0.1.
MAPS_HOSTS = ("chromium", "firefox")


@pytest.fixture(params=ENGINES)
def xb(request: pytest.FixtureRequest, server: str,
       tmp_path: Path) -> Iterator[EnginePage]:
    """A fresh browser of one engine (empty profile) with the page's vocabulary; fails when
    the page threw an uncaught error."""
    engine = request.param
    gone = missing(engine)
    if gone:
        pytest.fail(f"{engine}: {gone} missing (./dev.sh setup installs it)")
    with launch(engine, tmp_path) as driver:
        page = EnginePage(driver, engine, server)
        yield page
        assert page.errors() == [], f"{engine}: uncaught errors in the page: {page.errors()}"


@pytest.fixture(scope="module")
def cli_runs(fakes: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`localrate bench --json --seed 7` of the strong and the weak model (both fakes)."""
    out = tmp_path_factory.mktemp("cli") / "cli.json"
    args = [str(REPO / ".venv" / "bin" / "localrate"), "bench", "--suite", "classic-rating",
            "--json", "--out", str(out), "--seed", str(SEED), "--model", STRONG,
            "--model", WEAK]
    env = runtime_env(fakes) | {"LOCALRATE_DISCOVERY": "ollama"}
    done = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode in (0, 1), done.stderr
    return out


def expected(name: str) -> dict[str, str]:
    return {a["case"]: a["expected_status"] for a in script(name)["answers"]}


def row(key: str) -> str:
    return f"[data-testid=runtime-row-{key}]"


def test_discovery_and_the_cors_help(xb: EnginePage, server: str) -> None:
    """The strip's states (an opaque no-cors probe tells a refused CORS from a closed
    port), the recipes, the model cards; from a foreign origin Ollama's empty 403 too."""
    foreign = xb.engine in MAPS_HOSTS
    origin = server.replace("127.0.0.1", FOREIGN_HOST) if foreign else server
    xb.goto(f"{origin}/local-models")
    xb.wait_visible(row("ollama"), timeout=10)
    xb.wait_ready()
    states = {"lmstudio": "refused", "vllm": "up", "llamacpp": "up", "mlx": "refused",
              "ollama": "unauthorized" if foreign else "up"}
    for key, state in states.items():
        xb.wait_attr(row(key), "data-state", state, timeout=15)
    assert xb.attr(row("lmstudio"), "data-answered") == "true"
    assert xb.attr(row("mlx"), "data-answered") == "false"
    xb.wait_text(row("lmstudio"), "CORS settings refuse this page")
    xb.wait_text(row("mlx"), "cannot tell")
    xb.click("[data-testid=cors-fix-lmstudio]")
    xb.wait_visible("[data-testid=cors-recipe-lmstudio]")
    xb.wait_text("[data-testid=cors-recipe-lmstudio]", "lms server start --cors")
    if foreign:
        assert xb.attr(row("ollama"), "data-answered") == "true"
        xb.wait_text(row("ollama"), "Ollama refuses this page's origin")
        xb.click("[data-testid=cors-fix-ollama]")
        xb.wait_text("[data-testid=cors-recipe-ollama]", f'OLLAMA_ORIGINS="{origin}" ollama serve')
        xb.wait_count("[data-testid=model-card]", 2, timeout=15)
        # Plain http from a host name is no secure context: no Cache Storage, so no Python
        # snapshot, and the status line says so.
        assert xb.attr("[data-testid=evaluator-status]", "data-note") == "true"
        xb.wait_text("[data-testid=evaluator-status]", "keeps no snapshot here (no Cache Storage)")
    else:
        xb.wait_count("[data-testid=model-card]", 6, timeout=15)
        xb.wait_attr(xb.card(STRONG), "data-provisional", "false", timeout=15)
        assert xb.js("return !document.querySelector(arguments[0]).disabled",
                     f"{xb.card(STRONG)} input[type=checkbox]")
        assert xb.js("return document.querySelector(arguments[0]).disabled",
                     f"{xb.card('nomic-embed-text')} input[type=checkbox]")
    # The Local Network Access note (public https origins only: hidden here) has each
    # engine's words: Chrome's site setting, Firefox's prompt and preference, Safari's case.
    assert not xb.visible("[data-testid=lna-note]")
    note = xb.text("[data-testid=lna-engines]")
    for words in ("Local network access", "network.lna.blocking", "Safari", "localrate serve"):
        assert words in note, words
    xb.js("window.scrollTo(0, 0)")
    xb.shot("discovery")
    # Narrow (390 px asked; Firefox and MiniBrowser keep a wider minimum): nothing makes the
    # page scroll sideways (WebKit did, for the suite select's long option text).
    xb.driver.set_window_size(390, 844)
    xb.until(lambda: xb.js("return innerWidth") < 600, 10, "a narrow window")
    xb.until(lambda: xb.js("return document.documentElement.scrollWidth"
                           " <= document.documentElement.clientWidth"), 10,
             f"no sideways scroll: {xb.js('return [document.documentElement.scrollWidth, document.documentElement.clientWidth]')}")
    xb.shot("narrow")


def scoring(record: dict[str, Any]) -> dict[str, Any]:
    return {"model": record["model"], "suite": record["suite"], "settings": record["settings"],
            "cases": [{k: c.get(k) for k in CASE_FIELDS} for c in record["cases"]]}


def test_rating_results_comparison_export_import(xb: EnginePage, cli_runs: Path) -> None:
    """A classic-rating run of the strong model gives the scripted status per case; its
    export equals the CLI's record in every scoring field; the CLI's file imports and the
    comparison (table and chart) shows the three runs; the comparison exports them."""
    xb.open()
    xb.run("classic-rating", STRONG, seed=SEED)
    xb.wait_count("[data-testid=result-row]", 1, timeout=60, at_least=True)
    xb.shot("running")
    xb.wait_done()
    assert xb.statuses(STRONG) == expected("strong")
    toggle = '[data-testid=result-row][data-case-id="echo-exact-token"] .row-toggle'
    xb.click(toggle)
    xb.wait_text(".detail-row:not([hidden]) mark", "LR-ECHO-7731")
    xb.wait_count("[data-testid=run-report] [data-testid=stability]", 1)  # the figures
    xb.scroll_to("#results-title")
    xb.shot("results")

    xb.click("[data-testid=export-button]")
    xb.until(lambda: xb.js("return window.__lrDownloads.length") == 1, 10, "one export")
    [mine] = xb.downloads()
    assert mine["data"]["format"] == "localrate.run/1"
    cli = json.loads(cli_runs.read_text("utf-8"))
    assert scoring(mine["data"]) == scoring(cli["runs"][0])

    xb.upload("[data-testid=import-input]", cli_runs)
    xb.wait_count(f'[data-testid=summary][data-model-id="{STRONG}"]', 2, timeout=30)
    xb.wait_count("[data-testid=compare-table] tbody tr", 3, timeout=30)
    xb.wait_count("[data-testid=compare-chart] [data-testid=chart-point]", 3, timeout=30)
    xb.wait_count("[data-testid=paired-verdict]", 1, timeout=30)
    xb.scroll_to("#compare-section")
    xb.shot("comparison")
    xb.scroll_to("[data-testid=compare-chart]")
    xb.shot("chart")
    xb.click("[data-testid=export-comparison]")
    xb.until(lambda: xb.js("return window.__lrDownloads.length") == 2, 10, "the comparison")
    both = xb.downloads()[1]["data"]
    assert both["format"] == "localrate.comparison/1"
    assert sorted(r["model"]["id"] for r in both["runs"]) == [STRONG, STRONG, WEAK]


def test_live_output_then_reload_and_resume(xb: EnginePage) -> None:
    """Live output streams; a reload mid-run keeps the finished cases, offers Resume, and
    the resumed run ends with every case once."""
    xb.open()
    xb.run("classic-rating", "slow-model")
    xb.wait_text("#live-title", "slow-model · ")
    xb.until(lambda: xb.text("#live-output"), 30, "live output")
    xb.shot("live")
    xb.wait_count("[data-testid=result-row]", 3, timeout=60, at_least=True)
    before = xb.statuses("slow-model")
    xb.reload()
    xb.wait_visible("[data-testid=resume-button]", timeout=15)
    after = xb.statuses("slow-model")
    assert {k: after[k] for k in before} == before
    xb.wait_ready()
    xb.click("[data-testid=resume-button]")
    xb.wait_done()
    ids = xb.js("return [...document.querySelectorAll('[data-testid=result-row]')]"
                ".map((r) => r.dataset.caseId)")
    assert len(ids) == 22 and len(set(ids)) == 22
    xb.wait_count('[data-testid=past-run][data-state="done"]', 1)
    assert not xb.visible("[data-testid=resume-button]")


SPOIL_SNAPSHOT = """const done = arguments[arguments.length - 1];
(async () => { const store = await caches.open("localrate-python-snapshot");
  const [key] = await store.keys();
  await store.put(key, new Response(new Uint8Array(4096).fill(7)));
  done(key.url); })().catch((err) => done("failed: " + err));"""


def test_python_restores_on_a_second_visit_and_falls_back_when_it_cannot(
        xb: EnginePage) -> None:
    """The first start saves a snapshot of the started Python; the next visit restores it.
    A snapshot that does not restore (spoiled here) is a full start that the status line
    names, and that evaluator rates the suite as the first one did."""
    status = "[data-testid=evaluator-status]"
    xb.open()
    assert xb.attr(status, "data-restored") == "false"
    xb.wait_attr(status, "data-saved", "true", timeout=60)
    assert xb.attr(status, "data-note") == "false"
    if xb.engine == "webkit":
        xb.hold_snapshot_cache()
    xb.open()  # a new visit
    assert xb.attr(status, "data-restored") == "true"
    xb.wait_text(status, "restored")
    xb.wait_attr(xb.card(STRONG), "data-provisional", "false")
    xb.js("window.scrollTo(0, 0)")
    xb.shot("evaluator-restored")
    assert "/assets/evaluator." in xb.driver.execute_async_script(SPOIL_SNAPSHOT)
    xb.open()
    assert xb.attr(status, "data-restored") == "false"
    assert xb.attr(status, "data-note") == "true"
    xb.wait_text(status, "the saved snapshot did not restore")
    xb.wait_text(status, "started afresh")
    xb.wait_attr(xb.card(STRONG), "data-provisional", "false")
    xb.js("window.scrollTo(0, 0)")
    xb.shot("evaluator-fallback")
    xb.run("classic-rating", STRONG, seed=SEED)
    xb.wait_done()
    assert xb.statuses(STRONG) == expected("strong")
    xb.wait_attr(status, "data-saved", "true", timeout=60)  # a good snapshot replaces it
