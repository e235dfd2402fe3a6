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
        [str(REPO / ".venv" / "bin" / "localrate"), "bench", "--suite", "classic-rating",
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
    lr.run("classic-rating", "fault-model", timeout_s=3)
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
    run = page.locator("section.run").filter(
        has=page.locator('[data-testid=summary][data-model-id="fault-model"]'))
    expect(run.locator("[data-testid=counts]")).to_contain_text(  # the evaluator's words
        f"{len(FAULTS) - len(scored)} error")
    page.locator("section.run").first.screenshot(path=str(ARTIFACTS / "faults.png"))
    cli = cli_statuses(fakes, "fault-model", "vllm", tmp_path)
    assert {c: s for c, (s, _) in cli.items()} == statuses


PAYLOADS = ['<img src=x onerror="window.__pwned=1">', "<script>window.__pwned=2</script>",
            "<svg onload=window.__pwned=3><b>bold</b>", '"><iframe src="javascript:window.__pwned=4">']


def xss_record(n: int) -> dict[str, Any]:
    """A valid run record with an HTML payload in every text field a page shows."""
    p = PAYLOADS[n % len(PAYLOADS)]
    case = {"id": f"case {p}", "status": "fail", "score": 0.0, "weight": 1, "ttft_ms": 10.0,
            "total_ms": 20.0, "tok_in": 1, "tok_out": 1, "tok_s": 1.0, "tokens_source": p,
            "tool_calls": [{"id": p, "name": p, "arguments": p}], "output": f"out {p}",
            "reasoning": f"why {p}", "detail": f"detail {p}", "match": [[0, 3]],
            "finish_reason": p, "tags": [p], "transcript": None,
            "case": {"id": f"case {p}", "input": f"prompt {p}", "system": f"system {p}",
                     "image": None, "tools": None, "expect": {"kind": "contains", "value": p},
                     "weight": 1, "tags": [p], "requires": [], "max_tokens": None}}
    return {"format": "localrate.run/1", "suite": {"id": p, "version": p, "sha256": p},
            "model": {"id": f"model-{n} {p}", "runtime": p, "base_url": p, "capabilities": [p]},
            "started_at": p, "settings": {"temperature": 0, "max_tokens": 8, "timeout_s": 5},
            "cases": [case],
            "summary": {"passed": 0, "failed": 1, "skipped": 0, "errors": 0, "total": 1,
                        "pass_ratio": 0.0, "pass_threshold": 0.6, "verdict": "fail",
                        "avg_tok_s": 1.0, "p95_ms": 20.0, "reasoning_ratio": None}}


def test_imported_payloads_stay_text(lr: Page) -> None:
    """HTML in every field of imported records (and in a refused file's name and error
    line) is shown as text: no script runs, no element is injected."""
    from evaluator.records import read_records

    comparison = {"format": "localrate.comparison/1", "runs": [xss_record(i) for i in range(4)]}
    text = json.dumps(comparison)
    assert len(read_records(text, "x.json")["runs"]) == 4  # valid, so every field is drawn
    page = lr.open()
    page.set_input_files("[data-testid=import-input]", files=[
        {"name": f"{PAYLOADS[0]}.json", "mimeType": "application/json",
         "buffer": text.encode("utf-8")},
        {"name": f"{PAYLOADS[1]}.json", "mimeType": "application/json",
         "buffer": json.dumps({**xss_record(0), "started_at": 5}).encode("utf-8")}])
    lines = page.locator("[data-testid=import-line]")
    expect(lines).to_have_count(2, timeout=30_000)
    expect(lines.nth(0)).to_have_text(f"Imported 4 runs from {PAYLOADS[0]}.json.")
    expect(lines.nth(1)).to_have_text(
        f"{PAYLOADS[1]}.json: started_at: expected a string, got 5")
    expect(page.locator("[data-testid=summary]")).to_have_count(4)
    toggles = page.locator("[data-testid=result-row] .row-toggle")
    expect(toggles).to_have_count(4)
    for i in range(4):
        toggles.nth(i).click()
    details = page.locator(".detail-row:not([hidden])")
    expect(details).to_have_count(4)
    for i, p in enumerate(PAYLOADS):
        expect(details.nth(i)).to_contain_text(f"out {p}")
        expect(details.nth(i)).to_contain_text(f"system {p}")
        expect(details.nth(i).locator("pre.tool-call")).to_have_text(f"{p}({p})")
    expect(page.locator("[data-testid=past-run]")).to_have_count(4)
    expect(page.locator("[data-testid=past-run]").first).to_contain_text(PAYLOADS[0])
    expect(page.locator("[data-testid=compare-table] tbody tr")).to_have_count(4)
    page.wait_for_timeout(300)
    assert page.evaluate("window.__pwned") is None
    assert page.evaluate(INJECTED) == []
    assert page.locator("b").count() == 0
