"""Issue 15's case editor, the parts the other own-suite tests do not press: Add case, a
case written as raw YAML with the engine's fields (generate, tools, toolResponders,
followUps, sweep) carrying XSS payloads, and Export .zip, unpacked and loaded by the CLI's
loader to the sha256 the page shows and the YAML export has."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
from conftest import Page
from playwright.sync_api import expect
from test_own_suites_input import XSS, XSS2, no_injection

from server.rating.suites_io import load_file

pytestmark = pytest.mark.browser

TOOL_CASE = f"""id: weather-loop
generate: {{vars: {{city: {{pick: [Paris, '{XSS}']}}}}}}
tools: [{{type: function, function: {{name: get_weather, description: '{XSS}', parameters: {{type: object, properties: {{city: {{type: string}}}}}}}}}}]
toolResponders:
  get_weather:
    response: '{XSS2}'
    byArgs: [{{argsContains: {{city: Paris}}, response: '{{"temp_c": 21}}'}}]
maxToolRounds: 2
followUps: ['And tomorrow? {XSS2}']
input: 'What is the weather in {{{{city}}}}?'
expect: [{{kind: contains, value: '21'}}]
"""
SWEEP_CASE = f"""id: needle
sweep: {{kind: context, sizes: [256, 512], needle: 'The code is 4711. {XSS}'}}
input: "{{{{haystack}}}} What is the code?"
expect: {{kind: contains, value: '4711'}}
"""


def write_raw(page: Any, text: str) -> None:
    """Add a case, open it (Add case opens it), replace its whole YAML and apply."""
    editor = page.locator("[data-testid=suite-editor]")
    count = editor.locator("[data-testid=case-item]").count()
    page.click("[data-testid=suite-add-case]")
    expect(editor.locator("[data-testid=case-item]")).to_have_count(count + 1)
    form = editor.locator("[data-testid=case-form]")
    form.locator("details.case-raw summary").click()
    form.locator("[data-testid=case-yaml]").fill(text)
    form.locator("[data-testid=case-yaml-apply]").click()
    expect(editor.locator("[data-testid=suite-edit-problem]")).to_have_count(0)


def test_add_case_raw_yaml_and_zip_export(lr: Page, tmp_path: Path) -> None:
    page = lr.open()
    page.click("[data-testid=suite-new]")
    editor = page.locator("[data-testid=suite-editor]")
    check = editor.locator("[data-testid=suite-check]")
    expect(check).to_contain_text("Valid: 1 case")
    write_raw(page, TOOL_CASE)
    expect(check).to_contain_text("Valid: 2 cases")
    write_raw(page, SWEEP_CASE)
    expect(check).to_contain_text("Valid: 3 cases")  # a sweep is one case until it runs
    heads = editor.locator("[data-testid=case-item] .case-head code")
    expect(heads).to_have_text(["case-1", "weather-loop", "needle"])
    # the tool case, reopened: its YAML kept every field, shown as text
    editor.locator("[data-testid=case-edit]").nth(1).click()
    raw = editor.locator("[data-testid=case-yaml]")
    for key in ("generate:", "toolResponders:", "followUps:", "maxToolRounds: 2", XSS2):
        expect(raw).to_have_value(re.compile(re.escape(key)))
    editor.locator("[data-testid=try-answer]").fill("It is 21 degrees.")
    editor.locator("[data-testid=try-button]").click()
    expect(editor.locator("[data-testid=try-outcome]")).to_have_attribute("data-status", "pass")
    no_injection(page)
    shown = re.search(r"sha256 ([0-9a-f]{12})", check.inner_text())
    assert shown, check.inner_text()

    with page.expect_download() as zip_dl:
        page.click("[data-testid=suite-export-zip]")
    assert zip_dl.value.suggested_filename.endswith(".zip")
    unpacked = tmp_path / "from-zip"
    with zipfile.ZipFile(zip_dl.value.path()) as archive:
        archive.extractall(unpacked)
    from_zip = load_file(unpacked / "suite.yaml")
    with page.expect_download() as yaml_dl:
        page.click("[data-testid=suite-export-yaml]")
    (tmp_path / "yaml").mkdir()
    (tmp_path / "yaml" / "suite.yaml").write_text(Path(yaml_dl.value.path()).read_text("utf-8"),
                                                  "utf-8")
    from_yaml = load_file(tmp_path / "yaml" / "suite.yaml")
    assert from_zip.sha256 == from_yaml.sha256
    assert from_zip.sha256.startswith(shown.group(1))
    assert [c.id for c in from_zip.cases][:2] == ["case-1", "weather-loop"]
    assert len(from_zip.cases) == 3 and from_zip.cases[2].sweep is not None
    lr.shot("own-suite-raw-yaml")


SAVE_TWICE = """async () => {
  const src = performance.getEntriesByType("resource").map((e) => e.name)
    .find((name) => /\\/custom-suites\\.[0-9a-f]+\\.mjs$|\\/custom-suites\\.mjs$/.test(name));
  if (!src) throw new Error("the page loaded no custom-suites module");
  const m = await import(src);  // the page's own instance: its listeners are the page's
  const [entry] = await m.listSuites();
  await Promise.all([m.putSuite(entry), m.putSuite(entry), m.putSuite(entry)]);
  await new Promise((done) => setTimeout(done, 500));  // every refresh has ended
}"""


def test_saves_in_quick_succession_list_a_suite_once(lr: Page) -> None:
    """Each save refreshes the Rate picker; refreshes that overlap (edits save in quick
    succession) once listed a suite twice. It is listed once, and stays chosen."""
    page = lr.open()
    page.click("[data-testid=suite-new]")
    expect(page.locator("[data-testid=suite-check]")).to_contain_text("Valid: 1 case")
    custom = page.locator("[data-testid=suite-select] option[data-custom]")
    expect(custom).to_have_count(1, timeout=20_000)
    page.click("[data-testid=suite-use]")
    chosen = page.locator("[data-testid=suite-select]").input_value()
    page.evaluate(SAVE_TWICE)
    expect(custom).to_have_count(1)
    assert page.locator("[data-testid=suite-select]").input_value() == chosen
