"""Issue 11, findings 9, 18 and 19, in a real browser: a whole suite run in the page against
a runtime that answers one case with JSON nested 50,000 deep (`deep_json`), one with a
flood of 3,000 tool calls (`tool_flood`) and one with a 307 to a second, working runtime
(`redirect`), the rest normally (tests/fakes/faults.py).

Before issue 11 the deep event killed Pyodide: 0 cases kept and the run left stored as
"running". Now the run ends, each faulty case carries the evaluator's one line, the flood
keeps 64 calls and says how many were dropped, the other cases pass, the stored run comes
back after a reload, and `localrate bench` on the same fake records the same statuses and
lines (the redirect's line differs in one known way: a browser never sees the Location).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    ARTIFACTS,
    REPO,
    fake_requests,
    free_port,
    one_runtime_env,
    screenshot,
    start_fakes,
    start_site,
)
from conftest import page_in_fresh_context as fresh_page
from playwright.sync_api import expect

from tests.fakes.faults import TOOL_FLOOD
from tests.procs import stop_process

pytestmark = pytest.mark.browser
LOCALRATE = str(REPO / ".venv" / "bin" / "localrate")
SUITE_ID, MODEL = "hostile-runtime", "hostile-model"
SUITE = """\
name: hostile-runtime
version: 1.0.0
description: Five short cases; the fake runtime answers three of them with a fault.
passThreshold: 0.5
cases:
  - id: deep-json
    input: 'Reply with exactly: DEEP_OK.'
    expect: {kind: contains, value: DEEP_OK}
  - id: tool-flood
    input: 'Reply with exactly: FLOOD_OK.'
    expect: {kind: contains, value: FLOOD_OK}
  - id: redirected
    input: 'Reply with exactly: REDIRECT_OK.'
    expect: {kind: contains, value: REDIRECT_OK}
  - id: capital
    input: 'What is the capital of France? Reply with one word.'
    expect: {kind: contains, value: Paris}
  - id: sum
    input: 'What is 2 + 2? Reply with the number only.'
    expect: {kind: regex, value: '^4$'}
"""
# Each faulty answer carries the right text, so only the fault can make its case an error.
SCRIPT = {"model": MODEL, "answers": [
    {"case": "deep-json", "match": "DEEP_OK", "content": "DEEP_OK", "fault": "deep_json"},
    {"case": "tool-flood", "match": "FLOOD_OK", "content": "FLOOD_OK", "fault": "tool_flood"},
    {"case": "redirected", "match": "REDIRECT_OK", "content": "REDIRECT_OK",
     "fault": "redirect"},
    {"case": "capital", "match": "capital of France", "content": "Paris"},
    {"case": "sum", "match": "2 + 2", "content": "4"}]}
DEEP = "runtime sent JSON nested deeper than 100 levels"
DROPPED = TOOL_FLOOD - 64
FLOOD = (f'output contains "FLOOD_OK" ({DROPPED} more tool calls were dropped: only the first '
         '64 are kept)')
NO_FOLLOW = "localrate does not follow redirects — use the final address as the base URL"
PAGE_REDIRECT = ("the runtime answered with a redirect (the browser does not say where to); "
                 + NO_FOLLOW)
STATUSES = {"deep-json": "error", "tool-flood": "pass", "redirected": "error",
            "capital": "pass", "sum": "pass"}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The hostile fake (vLLM's slot), the redirect's working target (known to no one) and
    a `localrate serve` whose build holds only SUITE; yields URLs and the CLI's env."""
    folder = tmp_path_factory.mktemp("hostile-runtime")
    (folder / "suites" / SUITE_ID).mkdir(parents=True)
    (folder / "suites" / SUITE_ID / "suite.yaml").write_text(SUITE, "utf-8")
    port, target_port = free_port(), free_port()
    target = f"http://127.0.0.1:{target_port}"
    configs = [
        {"dialect": "vllm", "port": port, "redirect_to": f"{target}/v1/chat/completions",
         "models": [{"id": MODEL, "script": SCRIPT}]},
        # were the redirect followed, this answer would make `redirected` pass
        {"dialect": "vllm", "port": target_port, "models": [{"id": MODEL, "script": {
            "answers": [{"match": "", "content": "REDIRECT_OK"}]}}]}]
    fake = start_fakes(folder, "fakes", configs)
    server = None
    try:
        env = one_runtime_env("VLLM_BASE_URL", f"http://127.0.0.1:{port}", folder / "suites")
        server, site = start_site(folder, env)
        yield {"server": site, "target": target,
               "env": env | {"LOCALRATE_DISCOVERY": "vllm"}, "folder": folder}
    finally:
        if server is not None:
            stop_process(server)
        stop_process(fake)


def cli_record(hostile: dict[str, Any], out: Path) -> dict[str, Any]:
    """`localrate bench --json` on the same suite and fake."""
    done = subprocess.run([LOCALRATE, "bench", "--suite", SUITE_ID, "--model", MODEL,
                           "--timeout", "10", "--json", "--out", str(out)], cwd=REPO,
                          env=hostile["env"], capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr  # 3 passes of 5: above the 0.5 threshold
    return dict(json.loads(out.read_text("utf-8")))


def shown(page: Any) -> dict[str, tuple[str, str]]:
    """{case id: (status, the opened row's evaluator detail)} of the one run shown."""
    rows = page.locator("[data-testid=result-row]")
    expect(rows).to_have_count(len(STATUSES))
    seen = {}
    for i in range(rows.count()):
        row = rows.nth(i)
        row.locator(".row-toggle").click()
        case = row.get_attribute("data-case-id")
        detail = page.locator(f'[data-testid=result-row][data-case-id="{case}"] + tr .eval-detail')
        seen[case] = (row.get_attribute("data-status"), detail.inner_text().strip())
    return seen


def test_a_hostile_runtime_spoils_only_its_cases(chromium_browser: Any, hostile: dict[str, Any],
                                                 tmp_path: Path) -> None:
    with fresh_page(chromium_browser, hostile["server"]) as lr:
        page = lr.open()
        expect(lr.card(MODEL)).to_be_visible(timeout=20_000)
        lr.run(SUITE_ID, MODEL, timeout_s=10)
        lr.wait_done(timeout_ms=120_000)
        progress = page.locator(f'[data-testid=progress][data-model-id="{MODEL}"]')
        expect(progress).to_have_attribute("data-state", "done")
        expect(progress).to_contain_text("· done")
        live = shown(page)
        assert {case: status for case, (status, _) in live.items()} == STATUSES
        assert live["deep-json"][1] == DEEP
        assert live["tool-flood"][1] == FLOOD
        assert live["redirected"][1] == PAGE_REDIRECT
        assert live["capital"][1] == 'output contains "Paris"'
        assert live["sum"][1] == "output matches /^4$/"
        flood_row = page.locator('[data-testid=result-row][data-case-id="tool-flood"] + tr')
        expect(flood_row.locator("pre.tool-call")).to_have_count(64)
        summary = page.locator(f'[data-testid=summary][data-model-id="{MODEL}"]')
        expect(summary).to_have_attribute("data-verdict", "pass")
        assert fake_requests(hostile["target"]) == []  # the redirect was not followed
        flood_head = page.locator('[data-testid=result-row][data-case-id="tool-flood"]')
        flood_head.scroll_into_view_if_needed()
        screenshot(page, "hostile-runtime-flood", full_page=False)
        flood_head.locator(".row-toggle").click()
        expect(flood_row).to_be_hidden()
        page.locator("section.run").first.screenshot(path=str(ARTIFACTS / "hostile-runtime.png"))

        with page.expect_download() as download:
            page.click("[data-testid=export-button]")
        record = json.loads(Path(download.value.path()).read_text("utf-8"))
        cases = {c["id"]: c for c in record["cases"]}
        flood = cases["tool-flood"]
        assert (len(flood["tool_calls"]), flood["tool_calls_dropped"]) == (64, DROPPED)
        assert [c["name"] for c in flood["tool_calls"]] == ["get_weather"] * 64
        assert cases["deep-json"]["score"] == cases["redirected"]["score"] == 0
        assert record["summary"]["errors"] == 2 and record["summary"]["passed"] == 3

        page.reload()
        lr.wait_ready()
        stored = page.locator("[data-testid=past-run]")
        expect(stored).to_have_count(1)
        expect(stored).to_have_attribute("data-state", "done")
        stored.get_by_role("button", name="View").click()
        assert shown(page) == live
        expect(flood_row.locator("pre.tool-call")).to_have_count(64)
        assert lr.errors == []

    cli = cli_record(hostile, tmp_path / "cli.json")
    by_id = {c["id"]: c for c in cli["cases"]}
    assert {c: by_id[c]["status"] for c in STATUSES} == STATUSES
    for case in STATUSES:
        for field in ("score", "output", "tool_calls", "tool_calls_dropped"):
            assert by_id[case][field] == cases[case][field], (case, field)
        if case != "redirected":
            assert by_id[case]["detail"] == cases[case]["detail"] == live[case][1], case
    # The CLI sees the Location header, the page an opaque redirect: the same rule, said
    # with what each shell can see.
    assert by_id["redirected"]["detail"] == (
        f"the runtime answered HTTP 307 (redirect to {hostile['target']}/v1/chat/completions); "
        f"{NO_FOLLOW}")
    assert fake_requests(hostile["target"]) == []
