"""Hostile input on the page (issue 11, findings 12-16): imports refused with the
evaluator's one line, stored runs that cannot be drawn, a full disk, custom endpoints,
and a 50 MB output. Every test also fails on an uncaught page error (conftest)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import ARTIFACTS, Page, page_in_fresh_context, screenshot
from playwright.sync_api import expect

from evaluator.records import MAX_RECORD_BYTES, RecordError, read_records

pytestmark = pytest.mark.browser

GOOD_CASE: dict[str, Any] = {
    "id": "capital", "status": "pass", "score": 1.0, "weight": 1, "ttft_ms": 120.0,
    "total_ms": 480.0, "tok_in": 12, "tok_out": 3, "tok_s": 9.5, "tokens_source": "usage",
    "tool_calls": [], "output": "Paris.", "reasoning": "", "match": [[0, 5]],
    "detail": 'expected output to contain "Paris": found', "finish_reason": "stop",
    "tags": [], "transcript": None,
    "case": {"id": "capital", "input": "Capital of France?", "system": None, "image": None,
             "tools": None, "expect": {"kind": "contains", "value": "Paris"}, "weight": 1,
             "tags": [], "requires": [], "max_tokens": None},
}


def record(model_id: str = "good-model", **case: Any) -> dict[str, Any]:
    """A valid run record of one case (checked against the evaluator below)."""
    return {
        "format": "localrate.run/1",
        "suite": {"id": "smoke", "version": "0.1.0", "sha256": "0" * 64},
        "model": {"id": model_id, "runtime": "ollama", "base_url": "http://127.0.0.1:11434",
                  "capabilities": ["streaming"]},
        "started_at": "2026-11-30T10:00:00Z",
        "settings": {"temperature": 0, "max_tokens": 64, "timeout_s": 30},
        "cases": [{**copy.deepcopy(GOOD_CASE), **case}],
        "summary": {"passed": 1, "failed": 0, "skipped": 0, "errors": 0, "total": 1,
                    "pass_ratio": 1.0, "pass_threshold": 0.6, "verdict": "pass",
                    "avg_tok_s": 9.5, "p95_ms": 480.0, "reasoning_ratio": None},
    }


def with_field(path: list[Any], value: Any) -> str:
    """A good record with one field replaced, as JSON text."""
    data = record()
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return json.dumps(data)


DEEP = '{"format": "localrate.run/1", "model": ' + "[" * 5000 + "]" * 5000 + "}"
# (file name, text): every one was imported, or threw, or said nothing before issue 11.
MALFORMED = [
    ("tostring-id.json", with_field(["model", "id"], {"toString": "x"})),
    ("null-case.json", with_field(["cases"], [None])),
    ("string-case.json", with_field(["cases"], ["capital"])),
    ("tool-calls-not-list.json", with_field(["cases", 0, "tool_calls"], 5)),
    ("match-not-list.json", with_field(["cases", 0, "match"], {"0": 1})),
    ("match-not-pairs.json", with_field(["cases", 0, "match"], [5])),
    ("deep.json", DEEP),
    ("deep-output.json", with_field(["cases", 0, "output"], [[[["x"]]]])),
    ("run-2.json", with_field(["format"], "localrate.run/2")),
    ("no-cases.json", with_field(["cases"], [])),
    ("threshold-string.json", with_field(["summary", "pass_threshold"], "0.6")),
    ("empty-object.json", "{}"),
    ("null.json", "null"),
    ("list.json", "[]"),
    ("not-json.json", '{"format": "localrate.run/1", '),
    ("empty-comparison.json", '{"format": "localrate.comparison/1", "runs": []}'),
    ("comparison-null-run.json", '{"format": "localrate.comparison/1", "runs": [null]}'),
]


def evaluator_line(name: str, text: str) -> str:
    """What the evaluator itself says about a file (the line the page must show)."""
    with pytest.raises(RecordError) as caught:
        read_records(text, name)
    return str(caught.value)


def claims(page: Any) -> str:
    """The notices and the Import status, as text (to look for a false "Imported")."""
    return str(page.evaluate("""() => ['notices', 'import-status']
      .map((id) => document.getElementById(id).textContent).join(' | ')"""))


def import_text(page: Any, name: str, text: str | bytes) -> Any:
    """Import one file through the page's Import control; returns its status line."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    page.evaluate("document.getElementById('import-status').replaceChildren()")
    page.set_input_files("[data-testid=import-input]",
                         files=[{"name": name, "mimeType": "application/json", "buffer": data}])
    line = page.locator("[data-testid=import-line]:not([data-kind=info])")
    expect(line).to_have_count(1, timeout=60_000)
    return line


def test_malformed_imports_show_the_evaluators_line(lr: Page, tmp_path: Path) -> None:
    """Each malformed file shows the evaluator's own one line beside Import; nothing is
    stored, nothing says "Imported", nothing throws (the fixture fails on page errors).
    A file over the evaluator's size limit is refused before it is read."""
    assert read_records(json.dumps(record()), "good.json")["runs"]  # the base is valid
    page = lr.open()
    for name, text in MALFORMED:
        line = import_text(page, name, text)
        want = evaluator_line(name, text)
        assert want.startswith(f"{name}: ") and "\n" not in want
        expect(line).to_have_text(want)
        expect(line).to_have_attribute("data-kind", "error")
        assert "Imported" not in claims(page)
    huge = tmp_path / "huge.json"
    with huge.open("wb") as out:
        out.truncate(MAX_RECORD_BYTES + 1)
    page.evaluate("document.getElementById('import-status').replaceChildren()")
    page.set_input_files("[data-testid=import-input]", str(huge))
    expect(page.locator("[data-testid=import-line][data-kind=error]")).to_have_text(
        f"huge.json: {MAX_RECORD_BYTES + 1} bytes, more than the {MAX_RECORD_BYTES} bytes a "
        "record may have")  # the CLI's line (tests/test_hostile_records.py)
    page.set_input_files("[data-testid=verify-input]", str(huge))  # Verify says the same
    expect(page.locator("#verify-results [data-testid=verify-error]")).to_have_text(
        f"huge.json: {MAX_RECORD_BYTES + 1} bytes, more than the {MAX_RECORD_BYTES} bytes a "
        "record may have")
    expect(page.locator("[data-testid=past-run]")).to_have_count(0)
    expect(page.locator("[data-testid=summary]")).to_have_count(0)
    # A good file still imports after all of them.
    line = import_text(page, "good.json", json.dumps(record()))
    expect(line).to_have_text("Imported 1 run from good.json.")
    expect(page.locator("[data-testid=past-run][data-state=imported]")).to_have_count(1)
    import_text(page, "tostring-id.json", MALFORMED[0][1])
    page.locator("#saved-title").scroll_into_view_if_needed()
    screenshot(page, "import-error", full_page=False)


BAD_ENTRIES = """async (entries) => {
  const db = await new Promise((ok, fail) => {
    const req = indexedDB.open("localrate", 2);
    req.onsuccess = () => ok(req.result);
    req.onerror = () => fail(req.error);
  });
  await new Promise((ok, fail) => {
    const t = db.transaction("runs", "readwrite");
    for (const entry of entries) t.objectStore("runs").put(entry);
    t.oncomplete = ok;
    t.onabort = () => fail(t.error);
  });
  db.close();
}"""


def test_unreadable_stored_run_is_listed_with_delete(lr: Page) -> None:
    """Stored runs that cannot be drawn (the toString id of finding 12, and others) are
    each listed as unreadable with Delete, and the good run stays listed and viewable."""
    page = lr.open()
    import_text(page, "good.json", json.dumps(record("good-model")))
    bad_record = record("x")
    bad_record["model"]["id"] = {"toString": "x"}
    no_cases = record("y")
    no_cases["cases"] = "none"
    page.evaluate(BAD_ENTRIES, [
        {"id": "run-bad-tostring", "state": "imported", "created_at": "2030-01-01T00:00:00Z",
         "card": None, "record": bad_record},
        {"id": "run-bad-cases", "state": "imported", "created_at": {"toString": 1},
         "card": None, "record": no_cases},
        {"id": "run-bad-state", "state": {"toString": "x"}, "card": {"id": ["x"]}},
        {"id": "run-bad-unfinished", "state": "running", "batch": "b", "suite_id": "smoke",
         "card": {"id": {"toString": "x"}}, "created_at": "2031-01-01T00:00:00Z"},
    ])
    page.reload()
    lr.wait_ready()
    runs = page.locator("[data-testid=past-run]")
    expect(runs).to_have_count(5)
    unreadable = page.locator("[data-testid=past-run][data-state=unreadable]")
    expect(unreadable).to_have_count(4)
    expect(unreadable.filter(has_text="run-bad-tostring")).to_contain_text(
        "record.model.id is not text")
    good = page.locator("[data-testid=past-run][data-state=imported]")
    expect(good).to_contain_text("good-model")
    good.get_by_role("button", name="View").click()
    expect(page.locator('[data-testid=summary][data-model-id="good-model"]')).to_be_visible()
    page.locator("#saved-title").scroll_into_view_if_needed()
    screenshot(page, "unreadable-run", full_page=False)
    unreadable.filter(has_text="run-bad-tostring").locator(
        "[data-testid=delete-unreadable]").click()
    expect(unreadable).to_have_count(3)
    for _ in range(3):
        unreadable.first.locator("[data-testid=delete-unreadable]").click()
    expect(unreadable).to_have_count(0)
    expect(runs).to_have_count(1)
    page.reload()
    lr.wait_ready()
    expect(page.locator("[data-testid=past-run]")).to_have_count(1)
    expect(page.locator("[data-testid=past-run][data-state=imported]")).to_contain_text(
        "good-model")


def test_full_storage_is_said_plainly_and_the_run_kept(lr: Page, tmp_path: Path) -> None:
    """With the origin's quota at 1 byte (Chromium's own quota override, through CDP), an
    import's transaction aborts with QuotaExceededError: the page says so, never
    "Imported", shows the run and offers its export; after a reload nothing is stored."""
    page = lr.open()
    origin = page.evaluate("location.origin")
    cdp = lr.context.new_cdp_session(page)
    cdp.send("Storage.overrideQuotaForOrigin", {"origin": origin, "quotaSize": 1})
    line = import_text(page, "full.json", json.dumps(record("quota-model")))
    expect(line).to_have_attribute("data-kind", "error")
    expect(line).to_contain_text("full.json: 1 run read but NOT saved")
    expect(line).to_contain_text("the browser's storage for this site is full "
                                 "(QuotaExceededError)")
    assert "Imported" not in claims(page)
    summary = page.locator('[data-testid=summary][data-model-id="quota-model"]')
    expect(summary).to_be_visible()
    listed = page.locator("[data-testid=past-run][data-unsaved=true]")
    expect(listed).to_contain_text("not saved: export it to keep it")
    page.locator("#saved-title").scroll_into_view_if_needed()
    screenshot(page, "quota-error", full_page=False)
    with page.expect_download() as download:
        listed.get_by_role("button", name="Export").click()
    exported = json.loads(Path(download.value.path()).read_text("utf-8"))
    assert exported["model"]["id"] == "quota-model" and len(exported["cases"]) == 1
    cdp.send("Storage.overrideQuotaForOrigin", {"origin": origin})
    page.reload()
    lr.wait_ready()
    expect(page.locator("#past-runs-empty")).to_be_visible()
    expect(page.locator("[data-testid=past-run]")).to_have_count(0)


def test_full_storage_during_a_run_keeps_every_case(lr: Page) -> None:
    """A run whose saves hit the full disk says so once, and its export still has every
    case (kept in memory)."""
    page = lr.open()
    expect(lr.card("qwen3-vl:8b")).to_be_visible(timeout=10_000)
    origin = page.evaluate("location.origin")
    cdp = lr.context.new_cdp_session(page)
    cdp.send("Storage.overrideQuotaForOrigin", {"origin": origin, "quotaSize": 1})
    lr.run("smoke", "qwen3-vl:8b")
    lr.wait_done()
    notice = page.locator("#notices .notice-error").filter(has_text="was not saved")
    expect(notice).to_have_count(1)
    expect(notice).to_contain_text("was not saved: the browser's storage for this site is full "
                                   "(QuotaExceededError)")
    cases = len(lr.statuses("qwen3-vl:8b"))
    assert cases == 3
    with page.expect_download() as download:
        page.locator("section.run [data-testid=export-button]").first.click()
    exported = json.loads(Path(download.value.path()).read_text("utf-8"))
    assert len(exported["cases"]) == cases
    expect(page.locator("[data-testid=past-run][data-unsaved=true]")).to_have_count(1)
    cdp.send("Storage.overrideQuotaForOrigin", {"origin": origin})


def test_custom_endpoints_checked_as_typed_and_bad_stored_ones_skipped(
        chromium_browser: Any, server: str, fakes: dict[str, Any]) -> None:
    """Stored entries the evaluator refuses are marked, named in one notice and skipped;
    the good one is still probed. Typed text is checked as it is typed (after Python is
    ready; before that the page says it will check then, and Add stays disabled)."""
    good = fakes["custom"].removeprefix("http://")
    stored = [{"runtime": "ollama", "base_url": "javascript:alert(1)"},
              {"runtime": "tgi", "base_url": "127.0.0.1:1"},
              {"runtime": "vllm", "base_url": good},
              "junk",
              {"runtime": "mlx", "base_url": {"toString": "x"}},
              {"runtime": "llamacpp", "base_url": "http://user:pw@127.0.0.1:1/x"}]
    with page_in_fresh_context(chromium_browser, server) as lr:
        lr.context.add_init_script(
            f"localStorage.setItem('localrate.custom-endpoints', {json.dumps(json.dumps(stored))})")
        held: list[Any] = []
        def hold(route: Any) -> None:
            held.append(route)

        lr.page.route("**/assets/evaluator.*.zip", hold)  # Python waits for this
        page = lr.page
        page.goto(f"{server}/local-models")
        page.locator("details.custom summary").click()
        page.fill("[data-testid=custom-host]", "javascript:alert(1)")
        expect(page.locator("[data-testid=custom-problem]")).to_have_text(
            "checking when Python is ready…")
        expect(page.locator("[data-testid=custom-form] button[type=submit]")).to_be_disabled()
        expect(page.locator("[data-testid=evaluator-status]")).not_to_have_attribute(
            "data-stage", "ready")
        page.wait_for_timeout(200)
        assert held, "the evaluator zip was not requested"
        for route in held:
            route.continue_()
        page.unroute("**/assets/evaluator.*.zip", hold)
        lr.wait_ready()
        problem = page.locator("[data-testid=custom-problem]")
        expect(problem).to_contain_text("'javascript:' is not allowed")
        expect(page.locator("[data-testid=custom-host]")).to_have_attribute("aria-invalid",
                                                                             "true")
        # The good stored entry is probed; the five bad ones are marked and named.
        expect(page.locator("[data-testid^=runtime-row-custom-]")).to_have_count(1)
        expect(page.locator("[data-testid^=runtime-row-custom-]")).to_have_attribute(
            "data-state", "up", timeout=10_000)
        expect(lr.card("custom-model")).to_be_visible()
        entries = page.locator("[data-testid=custom-entry]")
        expect(entries).to_have_count(6)
        expect(page.locator("[data-testid=custom-entry].bad")).to_have_count(5)
        notice = page.locator("#notices .notice-error").filter(has_text="custom endpoint")
        expect(notice).to_have_count(1)
        for n in (1, 2, 4, 5, 6):
            expect(notice).to_contain_text(f"entry {n} (")
        expect(notice).not_to_contain_text("entry 3 (")
        page.fill("[data-testid=custom-host]", "127.0.0.1:1234/../admin")
        expect(problem).to_contain_text("a path is not allowed")
        page.locator("[data-testid=custom-form]").scroll_into_view_if_needed()
        screenshot(page, "custom-endpoints", full_page=False)
        for typed, says in [
            ("127.0.0.1:1234/../admin", "a path is not allowed"),
            ("http://u:p@127.0.0.1:1234", "user name or password"),
            ("evil.example:80", "only this computer can be reached"),
            ("127.0.0.1:99999", "from 1 to 65535"),
            ("<img src=x onerror=window.__pwned=1>", "not allowed"),
        ]:
            page.fill("[data-testid=custom-host]", typed)
            expect(problem).to_contain_text(says)
            expect(page.locator("[data-testid=custom-form] button[type=submit]")).to_be_disabled()
        page.fill("[data-testid=custom-host]", "localhost:11999")
        expect(problem).to_have_text("will probe http://127.0.0.1:11999")
        expect(page.locator("[data-testid=custom-form] button[type=submit]")).to_be_enabled()
        page.locator("[data-testid=custom-form] button[type=submit]").click()
        expect(entries).to_have_count(7)
        expect(entries.last.locator("code")).to_have_text("http://127.0.0.1:11999")
        assert page.evaluate("window.__pwned") is None


BIG = 50_000_000


def test_large_output_opens_quickly_and_shows_in_full_on_demand(lr: Page,
                                                                 tmp_path: Path) -> None:
    """A 50 MB output (an imported record) opens its row in well under the 13 s it took
    before: the first 20,000 characters, with the match highlighted; the full text on
    demand is one text node."""
    page = lr.open()
    output = "Paris" + "x" * (BIG - 10) + "Paris"
    path = tmp_path / "big.json"
    path.write_text(json.dumps(record("big-model", output=output,
                                      match=[[0, 5], [BIG - 5, BIG]])), "utf-8")
    page.set_input_files("[data-testid=import-input]", str(path))
    expect(page.locator("[data-testid=import-line][data-kind=ok]")).to_have_text(
        "Imported 1 run from big.json.", timeout=120_000)
    toggle = page.locator('[data-testid=result-row][data-case-id="capital"] .row-toggle')
    expect(toggle).to_be_visible()
    took = page.evaluate("""() => new Promise((done) => {
      const t0 = performance.now();
      document.querySelector('[data-testid=result-row][data-case-id="capital"] .row-toggle').click();
      requestAnimationFrame(() => setTimeout(() => done(performance.now() - t0)));
    })""")
    assert took < 3000, f"opening the row took {took:.0f} ms"
    out = page.locator(".detail-row:not([hidden]) pre.output")
    assert out.evaluate("(e) => e.textContent.length") == 20_000
    expect(out.locator("mark")).to_have_count(1)
    expect(out.locator("mark")).to_have_text("Paris")
    note = page.locator("[data-testid=truncated-note]")
    expect(note).to_contain_text(f"Showing the first 20,000 of {BIG:,} characters.")
    button = page.locator("[data-testid=show-full]")
    expect(button).to_have_text(f"Show full text ({BIG:,} characters)")
    page.locator("section.run").first.screenshot(path=str(ARTIFACTS / "large-output.png"))
    button.click()
    expect(note).to_contain_text(f"Showing all {BIG:,} characters", timeout=30_000)
    nodes = out.evaluate("(e) => [e.childNodes.length, e.firstChild.nodeType, e.firstChild.length]")
    assert nodes == [1, 3, BIG]
    tail = out.evaluate("(e) => e.firstChild.data.slice(-5)")
    assert tail == "Paris"
