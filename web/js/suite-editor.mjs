// "Your suites": bring a suite (YAML or JSON file, folder, .zip; picker or drag and drop),
// write and edit cases, try an answer against a case's checks, export, and run it from the
// Rate section. Every decision is the evaluator's (evaluator/suite_edit.py, suite_form.py):
// this module reads files, renders what the evaluator answers (as text only) and stores
// drafts (custom-suites.mjs).

import { byId, el, guarded, replace, showStatus } from "./dom.mjs";
import { call, ready } from "./evaluator.mjs";
import { PREFIX, deleteSuite, getSuite, listSuites, newKey, onSuitesChange, putSuite } from "./custom-suites.mjs";

let limits = null;
let current = null; // {key, draft, check, open: index|null, tried: {index: result}}

/** Wire the section. */
export function initSuiteEditor() {
  byId("suite-new").addEventListener("click", () => guard(newSuite));
  byId("suite-file").addEventListener("change", (e) => guard(() => importFiles([...e.target.files], "")).finally(() => { e.target.value = ""; }));
  byId("suite-folder").addEventListener("change", (e) => guard(() => importFiles([...e.target.files], "")).finally(() => { e.target.value = ""; }));
  const drop = byId("suite-drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    guard(async () => importFiles(await droppedFiles(e.dataTransfer), ""));
  });
  onSuitesChange(() => { refreshList(); refreshPicker(); });
  ready.then(async () => {
    limits = await call("suite_limits");
    replace(byId("suite-limits"), `Limits: ${limits.text}. A suite is checked as the CLI checks it; nothing leaves this browser.`);
  }, () => {});
  refreshList();
  refreshPicker();
}

const guard = (fn) => guarded(fn, status);

function status(text, bad = false) {
  showStatus("suite-import-status", text, bad).dataset.state = bad ? "error" : "ok";
}

/** Files dropped: plain files, or every file under a dropped folder (relative paths). */
async function droppedFiles(transfer) {
  const entries = [...(transfer.items || [])].map((i) => i.webkitGetAsEntry?.()).filter(Boolean);
  if (!entries.length) return [...transfer.files];
  const out = [];
  const walk = async (entry, prefix) => {
    if (entry.isFile) {
      const file = await new Promise((res, rej) => entry.file(res, rej));
      out.push({ file, path: prefix + entry.name });
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      for (;;) {
        const batch = await new Promise((res, rej) => reader.readEntries(res, rej));
        if (!batch.length) break;
        for (const child of batch) await walk(child, `${prefix}${entry.name}/`);
      }
    }
  };
  for (const entry of entries) await walk(entry, "");
  return out;
}

function base64(buffer) {
  const bytes = new Uint8Array(buffer);
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

async function importFiles(list, name) {
  if (!list.length) return;
  await ready;
  limits = limits || await call("suite_limits");
  const items = list.map((x) => (x instanceof File ? { file: x, path: x.webkitRelativePath || x.name } : x));
  const total = items.reduce((n, x) => n + x.file.size, 0);
  if (total > limits.upload) throw new Error(`${items[0].path}: the files are larger than ${limits.upload / 1e6} MB together`);
  status(`Reading ${items.length} file${items.length === 1 ? "" : "s"}…`);
  const entries = await Promise.all(items.map(async (x) => ({ path: x.path, data: base64(await x.file.arrayBuffer()) })));
  const got = await call("suite_import", { entries, name });
  const entry = await putSuite({ key: newKey(), draft: got.draft });
  const n = got.check.ok ? got.check.suite.cases.length : 0;
  status(`Imported ${got.draft.name}: ${got.check.ok ? `${n} case${n === 1 ? "" : "s"}, valid` : got.check.error}`);
  await openSuite(entry.key);
}

async function newSuite() {
  await ready;
  const draft = await call("suite_new", { name: "my-suite" });
  const entry = await putSuite({ key: newKey(), draft });
  status("A new suite with one case: edit it below.");
  await openSuite(entry.key);
}

async function refreshList() {
  const rows = await listSuites();
  const list = byId("custom-suites");
  replace(list, ...rows.map((row) => {
    const data = row.draft?.data || {};
    const count = Array.isArray(data.cases) ? data.cases.length : 0;
    return el("li", { "data-testid": "custom-suite" },
      el("span", { class: "run-label" }, `${String(data.name ?? data.id ?? "(no name)")} @ ${String(data.version ?? "?")} · ${count} case${count === 1 ? "" : "s"}`),
      el("button", { type: "button", class: "secondary small", on: { click: () => guard(() => openSuite(row.key)) } }, "Edit"),
      el("button", { type: "button", class: "secondary small", on: { click: () => guard(() => deleteSuite(row.key).then(() => { if (current?.key === row.key) closeEditor(); })) } }, "Delete"));
  }));
  byId("custom-suites-empty").hidden = rows.length > 0;
}

/** The Rate section's suite picker: built-in suites, then this browser's. The list is read
 * first and swapped in with no await between removing and adding, so refreshes that
 * overlap (one per save; edits save in quick succession) never list a suite twice; the
 * choice is kept when its suite is still there. */
async function refreshPicker() {
  const rows = await listSuites();
  const select = byId("suite-select");
  const chosen = select.value;
  for (const option of [...select.querySelectorAll("option[data-custom]")]) option.remove();
  for (const row of rows) {
    const data = row.draft?.data || {};
    const count = (row.draft?.disabled || []).filter((d) => !d).length;
    select.append(el("option", { value: PREFIX + row.key, "data-custom": "true" },
      `${String(data.name ?? data.id ?? "?")} @ ${String(data.version ?? "?")} · ${count} cases · yours`));
  }
  if ([...select.options].some((o) => o.value === chosen)) select.value = chosen;
}

function closeEditor() {
  current = null;
  replace(byId("suite-editor")).hidden = true;
}

async function openSuite(key) {
  const entry = await getSuite(key);
  if (!entry) return;
  current = { key, draft: entry.draft, check: await call("suite_check", { draft: entry.draft }), open: null, tried: {} };
  await render();
}

/** Apply one editor action (the evaluator's suite_edit), save, redraw: everything, or with
 * `redraw: false` (a field typed in the form, which the visitor may still be editing next
 * to) only the suite's verdict line. */
async function act(action, args = {}, { redraw = true } = {}) {
  try {
    const got = await call("suite_edit", { draft: current.draft, action, args });
    current.draft = got.draft;
    current.check = got.check;
  } catch (err) {
    current.problem = err.message;
    await render();
    return;
  }
  current.problem = null;
  await putSuite({ key: current.key, draft: current.draft });
  if (redraw) await render();
  else byId("suite-editor").querySelector("[data-testid=suite-check]")?.replaceWith(verdictView(current.check));
}

function verdictView(check) {
  return el("p", { class: `suite-check ${check.ok ? "ok" : "bad"}`, "data-testid": "suite-check", role: "status" },
    check.ok ? `Valid: ${check.suite.cases.length} case${check.suite.cases.length === 1 ? "" : "s"} to run · sha256 ${check.suite.sha256.slice(0, 12)}…` : check.error);
}

function download(name, blob) {
  const url = URL.createObjectURL(blob);
  const a = el("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function fileSlug(text) {
  return String(text).replace(/[^a-z0-9._-]+/gi, "-").replace(/^-+|-+$/g, "").slice(0, 60) || "suite";
}

async function exportAs(kind) {
  const name = fileSlug(current.draft.data?.name ?? "suite");
  if (kind === "yaml") {
    const text = await call("suite_export_yaml", { draft: current.draft });
    download(`${name}.yaml`, new Blob([text], { type: "application/yaml" }));
  } else {
    const b64 = await call("suite_export_zip", { draft: current.draft });
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    download(`${name}.zip`, new Blob([bytes], { type: "application/zip" }));
  }
}

async function render() {
  const box = byId("suite-editor");
  box.hidden = false;
  const { draft, check } = current;
  const data = draft.data || {};
  const meta = ["name", "version", "description", "passThreshold"].map((field) => {
    const input = el("input", { type: "text", value: String(data[field] ?? ""), "data-testid": `suite-meta-${field}`, autocomplete: "off", spellcheck: "false" });
    input.addEventListener("change", () => act("set_meta", { field, value: input.value }, { redraw: false }));
    return el("label", {}, field, input);
  });
  const verdict = verdictView(check);
  const use = el("button", { type: "button", disabled: !check.ok, "data-testid": "suite-use", on: { click: () => {
    byId("suite-select").value = PREFIX + current.key;
    byId("suite-select").dispatchEvent(new Event("change"));
    byId("rate-title").scrollIntoView({ block: "start" });
  } } }, "Use in Rate");
  const actions = el("div", { class: "actions" }, use,
    el("button", { type: "button", class: "secondary", "data-testid": "suite-add-case", on: { click: () => act("add").then(() => { current.open = draft.data.cases.length; return render(); }) } }, "Add case"),
    el("button", { type: "button", class: "secondary", disabled: !check.ok, "data-testid": "suite-export-yaml", on: { click: () => guard(() => exportAs("yaml")) } }, "Export YAML"),
    el("button", { type: "button", class: "secondary", disabled: !check.ok, "data-testid": "suite-export-zip", on: { click: () => guard(() => exportAs("zip")) } }, "Export .zip"),
    el("button", { type: "button", class: "secondary", on: { click: closeEditor } }, "Close"));
  const cases = Array.isArray(data.cases) ? data.cases : [];
  const rows = await Promise.all(cases.map((_, i) => caseRow(i, cases.length)));
  replace(box, el("h3", {}, "Editing ", el("code", {}, String(data.name ?? data.id ?? draft.name)), el("small", { class: "hint" }, ` (from ${String(draft.name)})`)),
    el("div", { class: "suite-meta" }, ...meta), verdict,
    current.problem ? el("p", { class: "field-problem bad", "data-testid": "suite-edit-problem" }, current.problem) : null,
    el("p", { class: "hint" }, "Each case has a form for its common fields and a YAML field with all of it (generate, followUps, toolResponders, sweep, acceptWithRemark, several checks…). Unticked cases stay here but are not run or exported."),
    el("ol", { class: "case-list", "data-testid": "case-list" }, ...rows), actions);
}

async function caseRow(i, count) {
  const form = await call("suite_form", { draft: current.draft, index: i });
  const id = form.fields.find((f) => f.field === "id")?.value || `#${i + 1}`;
  const kind = form.fields.find((f) => f.field === "expect.kind")?.value || "checks";
  const enabled = el("input", { type: "checkbox", checked: form.enabled, "aria-label": `Run ${id}`, "data-testid": "case-enabled", on: { change: () => act("toggle", { index: i }) } });
  const button = (text, testid, fn, disabled = false) => el("button", { type: "button", class: "secondary small", "data-testid": testid, disabled, on: { click: fn } }, text);
  const head = el("div", { class: "case-head" }, enabled, el("code", {}, id), el("span", { class: "hint" }, ` ${kind}`),
    button(current.open === i ? "Close" : "Edit", "case-edit", () => { current.open = current.open === i ? null : i; render(); }),
    button("↑", "case-up", () => act("move", { index: i, to: i - 1 }), i === 0),
    button("↓", "case-down", () => act("move", { index: i, to: i + 1 }), i === count - 1),
    button("Duplicate", "case-duplicate", () => act("duplicate", { index: i })),
    button("Remove", "case-remove", () => act("remove", { index: i })));
  const item = el("li", { class: `case-item${form.enabled ? "" : " disabled"}`, "data-testid": "case-item" }, head);
  if (current.open === i) item.append(caseForm(i, form));
  return item;
}

function caseForm(i, form) {
  const fields = form.fields.map((f) => {
    if (f.kind === "note") return el("p", { class: "hint" }, `${f.label}: ${f.note}`);
    let input;
    if (f.kind === "select") {
      input = el("select", { "data-testid": `case-field-${f.field}` }, ...f.options.map((o) => el("option", { value: o, selected: o === f.value }, o)));
    } else if (f.kind === "textarea") {
      input = el("textarea", { rows: 3, "data-testid": `case-field-${f.field}`, spellcheck: "false" });
      input.value = f.value;
    } else {
      input = el("input", { type: "text", value: f.value, "data-testid": `case-field-${f.field}`, autocomplete: "off", spellcheck: "false" });
    }
    // a new check kind changes the form's fields, and an id the case's heading: redrawn
    const redraw = f.field === "expect.kind" || f.field === "id";
    input.addEventListener("change", () => act("set_field", { index: i, field: f.field, value: input.value }, { redraw }));
    return el("label", { class: f.kind === "textarea" ? "wide" : "" }, f.label, input, f.note ? el("small", { class: "hint" }, f.note) : null);
  });
  const raw = el("textarea", { rows: Math.min(20, form.text.split("\n").length + 1), class: "case-yaml", "data-testid": "case-yaml", spellcheck: "false" });
  raw.value = form.text;
  const applyRaw = el("button", { type: "button", class: "secondary small", "data-testid": "case-yaml-apply", on: { click: () => act("set_case_text", { index: i, text: raw.value }) } }, "Apply YAML");
  const answer = el("textarea", { rows: 2, placeholder: "Paste an answer to check", "data-testid": "try-answer", spellcheck: "false" });
  const outcome = el("p", { class: "try-outcome", "data-testid": "try-outcome", role: "status" });
  const shown = current.tried[i];
  if (shown) fillOutcome(outcome, shown);
  const tryIt = el("button", { type: "button", class: "secondary small", "data-testid": "try-button", on: { click: async () => {
    try {
      const got = await call("suite_try", { draft: current.draft, index: i, answer: answer.value, seed: 1 });
      current.tried[i] = got;
      fillOutcome(outcome, got);
    } catch (err) {
      fillOutcome(outcome, { status: "error", detail: err.message });
    }
  } } }, "Try it");
  return el("div", { class: "case-form", "data-testid": "case-form" },
    el("div", { class: "case-fields" }, ...fields),
    el("details", { class: "case-raw" }, el("summary", {}, "The whole case as YAML"), raw, applyRaw),
    el("div", { class: "try" }, el("strong", {}, "Try it"), answer, tryIt, outcome));
}

function fillOutcome(box, got) {
  box.dataset.status = got.status;
  replace(box, el("span", { class: `status status-${got.status}` }, got.status), " ", String(got.detail ?? ""),
    got.remark ? ` (${got.remark})` : "",
    got.drawn ? el("small", { class: "hint" }, ` drawn: ${JSON.stringify(got.drawn)}`) : null);
}
