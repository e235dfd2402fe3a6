"""Issue 15's page half, end to end: a case written in the page, run on two models (one on
a second loopback port standing in for another host, behind an API key), shared as a link
opened in a fresh browser context, exported as an HTML report, and the full record
verified with the CLI; the key is watched in every request and every exported file.
Also: history and quantisation A/B, Try it, export of the suite loaded by the CLI."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ARTIFACTS, Page, page_in_fresh_context, screenshot
from own_site import FAR, KEY, LOCALRATE, NEAR, QUESTION
from playwright.sync_api import expect

pytestmark = pytest.mark.browser
pytest_plugins = ["own_site"]  # the `site` fixture

@contextlib.contextmanager
def watched(browser: Any, server: str) -> Iterator[tuple[Page, list[dict[str, Any]]]]:
    """A fresh page whose every request (URL, headers, body) is recorded."""
    with page_in_fresh_context(browser, server) as lr:
        seen: list[dict[str, Any]] = []

        def on_request(request: Any) -> None:
            seen.append({"url": request.url, "headers": request.all_headers(),
                         "body": request.post_data or ""})
        lr.context.on("request", on_request)
        yield lr, seen


def add_keyed_endpoint(page: Any, port: int) -> None:
    page.click("text=Add a custom endpoint")
    page.fill("[data-testid=custom-host]", f"127.0.0.1:{port}")
    page.select_option("[data-testid=custom-dialect]", "vllm")
    page.fill("[data-testid=custom-key]", KEY)
    expect(page.locator("[data-testid=custom-problem]")).to_contain_text("will probe")
    page.click("[data-testid=custom-form] button[type=submit]")
    expect(page.locator("[data-testid=custom-key-stored]")).to_have_count(1)
    expect(page.locator("[data-testid=custom-key]")).to_have_value("")


def write_case(page: Any) -> None:
    """A new suite whose first case asks QUESTION and expects Rome; Try it both ways."""
    page.click("[data-testid=suite-new]")
    editor = page.locator("[data-testid=suite-editor]")
    expect(editor.locator("[data-testid=suite-check]")).to_contain_text("Valid: 1 case")
    page.fill("[data-testid=suite-meta-name] >> nth=0", "italy-check")
    page.locator("[data-testid=suite-meta-name]").dispatch_event("change")
    editor.locator("[data-testid=case-edit]").first.click()
    field = editor.locator("[data-testid=case-field-input]")
    field.fill(QUESTION)
    field.dispatch_event("change")
    expect(editor.locator("[data-testid=case-field-input]")).to_have_value(QUESTION)
    value = editor.locator("[data-testid=case-field-expect\\.value]")
    value.fill("Rome")
    value.dispatch_event("change")
    expect(editor.locator("[data-testid=case-field-expect\\.value]")).to_have_value("Rome")
    editor.locator("[data-testid=try-answer]").fill("Rome, of course.")
    editor.locator("[data-testid=try-button]").click()
    outcome = editor.locator("[data-testid=try-outcome]")
    expect(outcome).to_have_attribute("data-status", "pass")
    expect(outcome).to_contain_text('output contains "Rome"')
    editor.locator("[data-testid=try-answer]").fill("Milan")
    editor.locator("[data-testid=try-button]").click()
    expect(outcome).to_have_attribute("data-status", "fail")
    expect(outcome).to_contain_text('expected output to contain "Rome", got "Milan"')
    expect(editor.locator("[data-testid=suite-check]")).to_contain_text("Valid: 1 case")


def test_write_run_share_report_verify(chromium_browser: Any, site: dict[str, Any],
                                       tmp_path: Path) -> None:
    with watched(chromium_browser, site["server"]) as (lr, seen):
        page = lr.open()
        add_keyed_endpoint(page, site["far_port"])
        expect(lr.card(FAR)).to_have_count(1, timeout=20_000)
        expect(lr.card(NEAR)).to_have_count(1)
        write_case(page)
        lr.shot("own-suite-editor")
        page.click("[data-testid=suite-use]")
        custom = page.locator("[data-testid=suite-select] option[data-custom]")
        expect(custom).to_have_count(1)
        suite_value = custom.get_attribute("value")
        lr.run(suite_value, NEAR, FAR)
        lr.wait_done()
        assert lr.statuses(NEAR) == {"case-1": "pass"}
        assert lr.statuses(FAR) == {"case-1": "fail"}
        lr.shot("own-suite-results")

        # the key went, as a Bearer token, to the far endpoint only
        keyed = [r for r in seen if "authorization" in r["headers"]]
        assert keyed and all(r["url"].startswith(site["far"] + "/") for r in keyed)
        assert all(r["headers"]["authorization"] == f"Bearer {KEY}" for r in keyed)
        far_urls = {r["url"] for r in seen if r["url"].startswith(site["far"])}
        assert f"{site['far']}/v1/chat/completions" in far_urls
        unkeyed_far = [r for r in seen if r["url"].startswith(site["far"] + "/")
                       and "authorization" not in r["headers"]
                       and r["url"] not in {k["url"] for k in keyed}]
        assert unkeyed_far == [] or all(r["url"].endswith("/v1/models") for r in unkeyed_far)
        assert not any(KEY in r["url"] or KEY in r["body"] for r in seen)

        # share link
        page.click("[data-testid=share-button]")
        expect(page.locator("[data-testid=share-link]")).to_have_value(re.compile("#share="))
        link = page.locator("[data-testid=share-link]").input_value()
        assert "#share=" in link and KEY not in link and len(link) <= 4000

        # HTML and Markdown reports
        with page.expect_download() as html_dl:
            page.click("[data-testid=report-html]")
        html = Path(html_dl.value.path()).read_text("utf-8")
        with page.expect_download() as md_dl:
            page.click("[data-testid=report-md]")
        markdown = Path(md_dl.value.path()).read_text("utf-8")
        assert KEY not in html and KEY not in markdown
        assert NEAR in html and FAR in html
        assert "alpha\\:1b\\-q8\\_0" in markdown  # Markdown escapes the ids' punctuation
        report_file = ARTIFACTS / "own-suite-report.html"
        report_file.write_text(html, "utf-8")

        # the suite's export: the CLI runs it against the near model
        with page.expect_download() as suite_dl:
            page.click("[data-testid=suite-export-yaml]")
        published = tmp_path / "suites" / "italy-check"
        published.mkdir(parents=True)
        suite_file = published / "suite.yaml"
        suite_file.write_text(Path(suite_dl.value.path()).read_text("utf-8"), "utf-8")
        bench = subprocess.run([LOCALRATE, "bench", "--suite", str(suite_file), "--model", NEAR,
                                "--json"], capture_output=True, text=True,
                               env=site["env"] | {"LOCALRATE_DISCOVERY": "ollama"}, check=False)
        assert bench.returncode == 0, bench.stdout + bench.stderr
        cli_record = json.loads(bench.stdout)
        assert cli_record["cases"][0]["status"] == "pass"
        sha = cli_record["suite"]["sha256"]

        # the full records, exported, verified by the CLI
        exports = []
        for button in page.locator("[data-testid=export-button]").all():
            with page.expect_download() as dl:
                button.click()
            exports.append(Path(dl.value.path()).read_text("utf-8"))
        assert len(exports) == 2 and not any(KEY in e for e in exports)
        assert all(json.loads(e)["suite"]["sha256"] == sha for e in exports)
        # a transcript says whether a key was sent (a 401 then reads "key rejected")
        sent_key = [[c["transcript"].get("with_key") for c in json.loads(e)["cases"]]
                    for e in exports]
        assert sorted(sent_key, key=str) == [[None], [True]], sent_key
        # the exported suite, published where the CLI looks for suites: verify finds it
        env = site["env"] | {"LOCALRATE_SUITES_DIR": str(tmp_path / "suites")}
        for i, text in enumerate(exports):
            path = tmp_path / f"run-{i}.json"
            path.write_text(text, "utf-8")
            done = subprocess.run([LOCALRATE, "verify", str(path)], capture_output=True,
                                  text=True, env=env, check=False)
            assert done.returncode == 0, done.stdout + done.stderr
            assert "re-scored: matches" in done.stdout and "NOT published" not in done.stdout
            rescored = subprocess.run([LOCALRATE, "rescore", str(path), "--json"],
                                      capture_output=True, text=True, env=env, check=False)
            assert rescored.returncode in (0, 1), rescored.stderr
            again = json.loads(rescored.stdout)
            assert [(c["id"], c["status"], c["detail"]) for c in again["cases"]] == \
                [(c["id"], c["status"], c["detail"]) for c in json.loads(text)["cases"]]

        # the page's own check of an imported record, and of a tampered one
        record = json.loads(exports[0])
        good = tmp_path / "good.json"
        good.write_text(exports[0], "utf-8")
        record["cases"][0]["status"] = "fail" if record["cases"][0]["status"] == "pass" else "pass"
        bad = tmp_path / "tampered.json"
        bad.write_text(json.dumps(record), "utf-8")
        page.set_input_files("[data-testid=verify-input]", [str(good), str(bad)])
        verdicts = page.locator("#verify-results [data-testid=verify-verdict]")
        expect(verdicts).to_have_count(2)
        expect(verdicts.nth(0)).to_contain_text("re-scored: matches")
        expect(verdicts.nth(1)).to_contain_text("does not match")

        # quantisation A/B from the saved runs
        page.click("[data-testid=history-button]")
        expect(page.locator("[data-testid=quant-ab]")).to_have_count(1)
        expect(page.locator("[data-testid=quant-row]")).to_contain_text("q4_k_m")
        lr.shot("own-suite-share-history")

    # the link in a fresh browser context: the read-only card, nothing stored
    with page_in_fresh_context(chromium_browser, site["server"]) as other:
        page = other.page
        page.goto(link)
        other.wait_ready()
        card = page.locator("[data-testid=shared-card]")
        expect(card.locator("[data-testid=shared-run]")).to_have_count(2)
        expect(card).to_contain_text(NEAR)
        expect(card).to_contain_text(FAR)
        expect(card.locator("[data-testid=shared-paired]")).to_have_count(1)
        card.locator("[data-testid=shared-cases] summary").click()
        expect(card.locator("[data-testid=shared-cases] tbody tr")).to_have_count(1)
        expect(card.locator("[data-testid=shared-cases] tbody")).to_contain_text("case-1")
        expect(page.locator("#past-runs li")).to_have_count(0)
        screenshot(page, "own-suite-shared-card", full_page=False)
        page.goto(report_file.as_uri())
        screenshot(page, "own-suite-report")
