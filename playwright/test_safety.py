"""Untrusted text stays text (XSS), and every fault of a runtime is one case's error."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import ARTIFACTS, FAULTS, REPO, XSS_ID, Page, runtime_env, script
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

# Elements or attributes that would exist only if a payload had been parsed as HTML.
INJECTED = """() => [
  ...document.querySelectorAll('img, iframe, object, embed, svg:not(.chart), textarea'),
  ...[...document.querySelectorAll('*')].filter((e) =>
       [...e.attributes].some((a) => a.name.startsWith('on'))),
  ...[...document.scripts].filter((s) => !s.src && s.type !== 'application/json'),
].map((e) => e.outerHTML.slice(0, 80))"""


def test_xss_payloads_stay_text(lr: Page) -> None:
    """A model id, outputs and reasoning full of HTML run nothing and add no element."""
    page = lr.open()
    expect(lr.card(XSS_ID)).to_be_visible(timeout=10_000)
    expect(lr.card(XSS_ID).locator(".model-id")).to_have_text(XSS_ID)
    lr.run("smoke", XSS_ID)
    lr.wait_done()
    expected = {a["case"]: a["expected_status"] for a in script("xss")["answers"]}
    assert lr.statuses(XSS_ID) == expected
    toggles = page.locator("[data-testid=result-row] .row-toggle")
    for i in range(toggles.count()):
        toggles.nth(i).click()
    details = page.locator(".detail-row:not([hidden])")
    expect(details).to_have_count(3)
    expect(details.nth(0)).to_contain_text("Paris <img src=x onerror=alert(1)>")
    expect(details.nth(0)).to_contain_text("<script>alert(1)</script> thinking about France")
    expect(details.nth(2)).to_contain_text("<script>alert(1)</script> five")
    page.wait_for_timeout(300)
    assert page.evaluate(INJECTED) == []
    assert lr.dialogs == []
    page.locator("section.run").first.screenshot(path=str(ARTIFACTS / "xss.png"))


def cli_statuses(fakes: dict[str, Any], model: str, runtime: str, tmp: Path) -> dict[str, Any]:
    """{case id: (status, detail)} from `localrate bench --json --timeout 3`."""
    out = tmp / "cli.json"
    done = subprocess.run(
        [str(REPO / ".venv" / "bin" / "localrate"), "bench", "--suite", "local-model-rating",
         "--model", model, "--timeout", "3", "--json", "--out", str(out)],
        cwd=REPO, env=runtime_env(fakes) | {"LOCALRATE_DISCOVERY": runtime},
        capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode in (0, 1, 3), done.stderr
    record = json.loads(out.read_text("utf-8"))
    return {c["id"]: (c["status"], c["detail"]) for c in record["cases"]}


def test_each_fault_is_a_case_error_and_the_run_goes_on(lr: Page, fakes: dict[str, Any],
                                                        tmp_path: Path) -> None:
    """The fault model answers the first ten cases with one fault each (tests/fakes/
    faults.py). With a 3 s timeout every transport fault is an error with its reason;
    `bad_utf8` decodes with replacement characters and `drip` is a slow normal stream, so
    those two are scored. Every case gets a row, and the CLI agrees on every status."""
    page = lr.open()
    expect(lr.card("fault-model")).to_be_visible(timeout=10_000)
    lr.run("local-model-rating", "fault-model", timeout_s=3)
    lr.wait_done()
    statuses = lr.statuses("fault-model")
    assert len(statuses) == 22
    faulted = dict(zip(FAULTS, [a["case"] for a in script("strong")["answers"]], strict=False))
    scored = {"drip": "pass", "bad_utf8": "fail"}
    for fault, case in faulted.items():
        want = scored.get(fault, "error")
        assert statuses[case] == want, (fault, case, statuses[case])
        page.locator(f'[data-testid=result-row][data-case-id="{case}"] .row-toggle').click()
        detail = page.locator(f'[data-testid=result-row][data-case-id="{case}"] + tr .eval-detail')
        assert detail.inner_text().strip() not in ("", "–"), fault
    bad = page.locator(f'[data-testid=result-row][data-case-id="{faulted["bad_utf8"]}"] + tr .output')
    expect(bad).to_contain_text("\ufffd")
    rest = [s for c, s in statuses.items() if c not in faulted.values()]
    assert rest and all(s in ("pass", "fail", "skip") for s in rest), statuses
    summary = page.locator('[data-testid=summary][data-model-id="fault-model"]')
    expect(summary).to_contain_text(f"{len(FAULTS) - len(scored)} error")
    page.locator("section.run").first.screenshot(path=str(ARTIFACTS / "faults.png"))
    cli = cli_statuses(fakes, "fault-model", "vllm", tmp_path)
    assert {c: s for c, (s, _) in cli.items()} == statuses
