"""Issue 15's page half, what comes from outside: suites imported as a file, a folder, a
.zip or by drag and drop (checked with the CLI's one-line errors, limits stated); XSS
payloads through every string field of imported suites, records and share links (no
script runs, no element is injected); a rejected API key read as "key rejected"; the
build's allowed hosts said plainly; history of one model's runs (each speed drawn with
its q1–q3 bar)."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
from conftest import ARTIFACTS, REPO, Page, page_in_fresh_context, screenshot
from own_site import ALLOWED, LOCALRATE, NEAR
from playwright.sync_api import expect

from evaluator.share import share_fragment

pytestmark = pytest.mark.browser
pytest_plugins = ["own_site"]  # the `site` fixture

CLASSIC = REPO / "tests" / "data" / "suites" / "classic-rating"
XSS = '<img src=x onerror="window.__xss=1">'
XSS2 = '"><svg onload="window.__xss=2"><script>window.__xss=3</script>'
PIXEL = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8"
         "BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")


def no_injection(page: Any) -> None:
    """No payload ran and none became an element."""
    assert page.evaluate("window.__xss") is None
    found = page.evaluate("""() => [...document.querySelectorAll('*')].filter((n) =>
        [...n.attributes].some((a) => a.name.startsWith('on'))
        || (n.tagName === 'IMG' && n.getAttribute('src') === 'x')
        || (n.tagName === 'SCRIPT' && n.textContent.includes('__xss'))).length""")
    assert found == 0


def import_file(page: Any, path: Path | list[Path], selector: str = "[data-testid=suite-file]"
                ) -> Any:
    page.set_input_files(selector, path)
    status = page.locator("[data-testid=suite-import-status]")
    expect(status).not_to_have_text("")
    expect(status).not_to_contain_text("Reading")
    return status


def test_import_file_folder_zip_drop_and_errors(chromium_browser: Any, site: dict[str, Any],
                                                tmp_path: Path) -> None:
    folder = tmp_path / "classic"
    shutil.copytree(CLASSIC, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    archive = tmp_path / "classic.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                z.write(p, p.relative_to(tmp_path).as_posix())
    bad = tmp_path / "bad" / "suite.yaml"
    bad.parent.mkdir()
    bad.write_text("name: bad\ncases:\n  - id: a\n    input: hi\n    expect: {kind: regex, "
                   "value: '(a+)+$'}\n", "utf-8")
    cli = subprocess.run([LOCALRATE, "bench", "--suite", str(bad), "--model", NEAR],
                         capture_output=True, text=True, env=site["env"], check=False)
    assert cli.returncode == 2
    cli_line = cli.stderr.strip().splitlines()[-1].split("suite.yaml", 1)[1]
    big = tmp_path / "big.yaml"
    big.write_text("name: big\ndescription: " + "x" * 1_000_100 + "\n", "utf-8")
    with page_in_fresh_context(chromium_browser, site["server"]) as lr:
        page = lr.open()
        expect(page.locator("#suite-limits")).to_contain_text("a .zip up to 50 MB")
        status = import_file(page, archive)
        expect(status).to_contain_text("22 cases, valid")
        check = page.locator("[data-testid=suite-check]")
        expect(check).to_contain_text("Valid: 22 cases")
        # disable, duplicate, reorder, remove: the evaluator's actions, the list redrawn
        items = page.locator("[data-testid=case-item]")
        first = items.nth(0).locator(".case-head code").inner_text()
        second = items.nth(1).locator(".case-head code").inner_text()
        items.nth(0).locator("[data-testid=case-enabled]").uncheck()
        expect(check).to_contain_text("Valid: 21 cases")
        items.nth(1).locator("[data-testid=case-duplicate]").click()
        expect(items).to_have_count(23)
        expect(items.nth(2).locator(".case-head code")).to_have_text(f"{second}-1")
        items.nth(0).locator("[data-testid=case-down]").click()
        expect(items.nth(1).locator(".case-head code")).to_have_text(first)
        expect(items.nth(1)).to_have_class(re.compile("disabled"))
        items.nth(2).locator("[data-testid=case-remove]").click()
        expect(items).to_have_count(22)
        expect(check).to_contain_text("Valid: 21 cases")
        status = import_file(page, folder, "[data-testid=suite-folder]")
        expect(status).to_contain_text("22 cases, valid")
        status = import_file(page, bad)
        expect(status).to_contain_text(cli_line)
        expect(status).to_have_attribute("data-state", "error")
        status = import_file(page, big)
        expect(status).to_contain_text("larger than the 1 MB limit for suite files")
        # drag and drop one file onto the drop zone
        text = "name: dropped\ncases:\n  - id: d\n    input: hi\n    expect: {kind: exact, value: hi}\n"
        page.evaluate("""(text) => {
            const dt = new DataTransfer();
            dt.items.add(new File([text], 'suite.yaml', {type: 'application/yaml'}));
            const zone = document.querySelector('[data-testid=suite-drop]');
            zone.dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));
        }""", text)
        expect(page.locator("[data-testid=suite-import-status]")).to_contain_text("Imported suite.yaml: 1 case, valid")
        expect(page.locator("[data-testid=custom-suite]")).to_have_count(3)
        lr.shot("own-suite-imports")
        # a phone's width: the editor and its case form still fit
        page.set_viewport_size({"width": 390, "height": 844})
        page.locator("[data-testid=case-edit]").first.click()
        panel = page.locator("[data-testid=suites-panel]")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        panel.screenshot(path=str(ARTIFACTS / "own-suite-editor-390.png"))


def hostile_suite() -> str:
    """A valid suite with a payload in every string field a suite has."""
    case = {"id": f"c-{XSS}", "input": f"Say {XSS2}", "system": XSS,
            "tags": [XSS, XSS2], "weight": 1,
            "expect": {"kind": "exact", "value": XSS},
            "acceptWithRemark": [{"kind": "contains", "value": XSS2, "remark": XSS}],
            "followUps": [XSS2], "image": {"dataUrl": PIXEL, "alt": XSS}}
    gen = {"id": f"g-{XSS2}", "generate": {"vars": {"w": {"pick": [XSS, XSS2]}}},
           "input": "Repeat {{w}}", "expect": {"kind": "contains", "value": "{{w}}"}}
    return json.dumps({"name": XSS, "version": XSS2, "description": XSS, "passThreshold": 0.5,
                       "cases": [case, gen]})


def hostile_record(model: str, when: str, status: str) -> dict[str, Any]:
    case = {"id": XSS, "input": XSS2, "system": None, "image": None, "tools": None,
            "expect": {"kind": "contains", "value": XSS}, "weight": 1, "tags": [XSS2],
            "requires": [], "max_tokens": None}
    body = json.dumps({"choices": [{"message": {"content": XSS if status == "pass" else XSS2},
                                    "finish_reason": "stop"}]})
    transcript = {"url": "http://127.0.0.1:1/v1/chat/completions", "request": {}, "status": 200,
                  "events": [[1.0, body]], "ended_ms": 2.0, "error": None}
    from evaluator.result import score_case
    from evaluator.suite import case_from_json
    from evaluator.summary import run_record, suite_ref
    result = {**score_case(case_from_json(case), transcript)}
    return run_record(suite_ref({"id": XSS, "version": XSS2, "sha256": "a" * 64,
                                 "pass_threshold": 0.5}),
                      {"id": model, "runtime": "ollama", "base_url": "http://127.0.0.1:1",
                       "capabilities": [XSS]}, {"seed": 1, "note": XSS}, when, [result])


def test_xss_through_suites_records_and_share_links(chromium_browser: Any, site: dict[str, Any],
                                                    tmp_path: Path) -> None:
    suite = tmp_path / "suite.json"
    suite.write_text(hostile_suite(), "utf-8")
    broken = tmp_path / "broken.yaml"
    broken.write_text(f"name: x\ncases:\n  - id: '{XSS}'\n    input: hi\n    requires: ['{XSS}']\n"
                      "    expect: {kind: contains, value: x}\n", "utf-8")
    model = f"m{XSS}:1b-q4_0"
    runs = [hostile_record(model, "2026-11-01T00:00:00Z", "fail"),
            hostile_record(model, "2026-11-02T00:00:00Z", "pass"),
            hostile_record(f"m{XSS}:1b-q8_0", "2026-11-02T00:00:00Z", "pass")]
    records = tmp_path / "records.json"
    records.write_text(json.dumps({"format": "localrate.comparison/1", "runs": runs}), "utf-8")
    fragment = share_fragment(runs)
    with page_in_fresh_context(chromium_browser, site["server"]) as lr:
        page = lr.open()
        status = import_file(page, suite)
        expect(status).to_contain_text("2 cases, valid")
        editor = page.locator("[data-testid=suite-editor]")
        expect(editor).to_contain_text(XSS)
        for i in range(2):
            editor.locator("[data-testid=case-edit]").nth(i).click()
            editor.locator("[data-testid=try-answer]").fill(XSS2)
            editor.locator("[data-testid=try-button]").click()
            expect(editor.locator("[data-testid=try-outcome]")).not_to_have_text("")
            no_injection(page)
        expect(editor.locator("[data-testid=try-outcome]")).to_contain_text("window.__xss=3</script>")
        with page.expect_download() as dl:
            page.click("[data-testid=suite-export-yaml]")
        assert XSS in Path(dl.value.path()).read_text("utf-8")
        status = import_file(page, broken)
        expect(status).to_contain_text(XSS)
        page.set_input_files("[data-testid=import-input]", records)
        expect(page.locator("[data-testid=import-verdicts] li")).to_have_count(3)
        expect(page.locator("[data-testid=import-verdicts]")).to_contain_text("re-scored: matches")
        # the imported runs are shown: their HTML report, opened, runs nothing either
        expect(page.locator("[data-testid=summary]")).to_have_count(3)
        with page.expect_download() as report_dl:
            page.click("[data-testid=report-html]")
        report = tmp_path / "report.html"
        report.write_text(Path(report_dl.value.path()).read_text("utf-8"), "utf-8")
        assert XSS not in report.read_text("utf-8")  # escaped
        other = lr.context.new_page()
        other.goto(report.as_uri())
        expect(other.locator("body")).to_contain_text(XSS)
        no_injection(other)
        other.close()
        page.set_input_files("[data-testid=verify-input]", records)
        expect(page.locator("#verify-results [data-testid=verify-verdict]")).to_have_count(3)
        page.click("[data-testid=history-button]")
        expect(page.locator("[data-testid=history-group]")).to_have_count(1)
        expect(page.locator("[data-testid=history-diff]")).to_contain_text("1 case changed")
        expect(page.locator("[data-testid=quant-ab]")).to_have_count(1)
        page.locator("[data-testid=history-panel]").screenshot(
            path=str(screenshot(page, "own-suite-xss-page").with_name("own-suite-xss-history.png")))
        no_injection(page)
        page.goto(f"{site['server']}/local-models#share={fragment}")
        lr.wait_ready()
        expect(page.locator("[data-testid=shared-run]")).to_have_count(3)
        expect(page.locator("[data-testid=shared-card]")).to_contain_text(XSS)
        page.locator("[data-testid=shared-card]").scroll_into_view_if_needed()
        screenshot(page, "own-suite-xss-share", full_page=False)
        no_injection(page)
        page.goto(f"{site['server']}/local-models#share=1.{base64.urlsafe_b64encode(XSS.encode()).decode()}")
        expect(page.locator("[data-testid=shared-error]")).to_contain_text("cannot be read")
        no_injection(page)


def timed_record(when: str, speeds: list[float | None]) -> dict[str, Any]:
    """A run of `speedy:1b` whose case i decodes at speeds[i] tok/s (llama.cpp's own
    figure in the body's `timings`; None: no timings, so no speed)."""
    from evaluator.result import score_case
    from evaluator.suite import case_from_json
    from evaluator.summary import run_record, suite_ref
    results = []
    for i, speed in enumerate(speeds):
        case = {"id": f"c{i}", "input": "hi", "system": None, "image": None, "tools": None,
                "expect": {"kind": "contains", "value": "ok"}, "weight": 1, "tags": [],
                "requires": [], "max_tokens": None}
        body: dict[str, Any] = {"choices": [{"message": {"content": "ok"},
                                             "finish_reason": "stop"}]}
        if speed is not None:
            body["timings"] = {"prompt_n": 5, "predicted_n": 9, "predicted_per_second": speed}
        transcript = {"url": "http://127.0.0.1:1/v1/chat/completions", "request": {},
                      "status": 200, "events": [[1.0, json.dumps(body)]], "ended_ms": 2.0,
                      "error": None}
        results.append(score_case(case_from_json(case), transcript))
    return run_record(suite_ref({"id": "timed", "version": "1", "sha256": "b" * 64,
                                 "pass_threshold": 0.5}),
                      {"id": "speedy:1b", "runtime": "llamacpp", "base_url": "http://127.0.0.1:1",
                       "capabilities": []}, {"seed": 1}, when, results)


def test_history_draws_each_speed_with_its_q1_q3_bar(chromium_browser: Any,
                                                      site: dict[str, Any],
                                                      tmp_path: Path) -> None:
    # quartiles by hand (type 7): 8, 10, 12, 20 -> 9.5, 11, 14; 15, 16, 17 -> 15.5, 16, 16.5
    runs = [timed_record("2026-11-01T00:00:00Z", [8.0, 10.0, 12.0, 20.0]),
            timed_record("2026-11-02T00:00:00Z", [15.0, 16.0, 17.0]),
            timed_record("2026-11-03T00:00:00Z", [None, None])]
    records = tmp_path / "timed.json"
    records.write_text(json.dumps({"format": "localrate.comparison/1", "runs": runs}), "utf-8")
    with page_in_fresh_context(chromium_browser, site["server"]) as lr:
        page = lr.open()
        page.set_input_files("[data-testid=import-input]", records)
        expect(page.locator("[data-testid=import-verdicts] li")).to_have_count(3)
        page.click("[data-testid=history-button]")
        group = page.locator("[data-testid=history-group]")
        expect(group).to_have_count(1)
        bars = group.locator("[data-testid=history-speed-bar]")
        expect(bars).to_have_count(2)  # one per run with a speed; the third has none
        squares = group.locator("rect.speed-dot")
        expect(squares).to_have_count(2)
        for i in range(2):
            low, high = (float(bars.nth(i).get_attribute(a) or "nan") for a in ("y1", "y2"))
            centre = float(squares.nth(i).get_attribute("y") or "nan") + 3
            assert low > centre > high, (low, centre, high)  # q1 under the median, q3 over
            assert bars.nth(i).get_attribute("x1") == bars.nth(i).get_attribute("x2")
            rate_xs = {line.get_attribute("x1") for line in group.locator("line.interval").all()}
            assert bars.nth(i).get_attribute("x1") not in rate_xs  # beside, not over, a rate bar
            assert bars.nth(i).evaluate("(n) => getComputedStyle(n).stroke") != "none"
        speed = group.locator("[data-testid=history-speed]")
        expect(speed).to_have_text(["11.0 (q1–q3 9.5–14.0)", "16.0 (q1–q3 15.5–16.5)", "–"])
        expect(group.locator("figcaption")).to_contain_text("q1–q3 bar")
        expect(group.locator("figcaption")).to_contain_text("up to 16.5 tok/s")  # the top q3
        page.locator("[data-testid=history-panel]").screenshot(
            path=str(ARTIFACTS / "own-suite-history-speed.png"))


def test_key_rejected_and_allowed_hosts(chromium_browser: Any, site: dict[str, Any]) -> None:
    with page_in_fresh_context(chromium_browser, site["server"]) as lr:
        page = lr.open()
        expect(page.locator("p.intro")).to_contain_text(f"the hosts this page allows: {ALLOWED}")
        page.click("text=Add a custom endpoint")
        expect(page.locator("[data-testid=allowed-hosts]")).to_contain_text(ALLOWED)
        expect(page.locator("[data-testid=allowed-hosts]")).to_contain_text("mixed content")
        expect(page.locator("[data-testid=key-note]")).to_contain_text("kept only in this browser")
        page.fill("[data-testid=custom-host]", "198.51.100.7:11434")
        expect(page.locator("[data-testid=custom-problem]")).to_contain_text("can be reached")
        page.fill("[data-testid=custom-host]", ALLOWED)
        expect(page.locator("[data-testid=custom-problem]")).to_contain_text(f"will probe http://{ALLOWED}")
        page.fill("[data-testid=custom-host]", f"127.0.0.1:{site['far_port']}")
        page.select_option("[data-testid=custom-dialect]", "vllm")
        page.fill("[data-testid=custom-key]", "wrong-key")
        expect(page.locator("[data-testid=custom-problem]")).to_contain_text("will probe")
        page.click("[data-testid=custom-form] button[type=submit]")
        row = page.locator("[data-testid^=runtime-row-custom]")
        expect(row).to_have_attribute("data-state", "key_rejected", timeout=20_000)
        expect(row).to_contain_text("key rejected")
        expect(row.locator(".detail")).not_to_contain_text("CORS")
        expect(row.locator("[data-testid^=cors-fix]")).to_be_hidden()  # no CORS recipe offered
        page.locator("[data-testid=runtimes-title], #runtimes-title").first.scroll_into_view_if_needed()
        lr.shot("own-suite-key-rejected", full_page=False)



def test_without_allowed_hosts_the_page_says_so(lr: Page) -> None:
    page = lr.open()
    page.click("text=Add a custom endpoint")
    note = page.locator("[data-testid=allowed-hosts]")
    expect(note).to_contain_text("Only this computer can be reached")
    expect(note).to_contain_text("--allow-host")
    expect(page.locator("p.intro")).not_to_contain_text("hosts this page allows")
    page.fill("[data-testid=custom-host]", "192.168.1.20:11434")
    expect(page.locator("[data-testid=custom-problem]")).to_contain_text("only this computer")
