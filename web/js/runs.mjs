// Saved runs: the list of past runs, the "resume" offer for an unfinished batch, and
// import/export of run records.

import { byId, el, pct, replace, report } from "./dom.mjs";
import { call, ready, state } from "./evaluator.mjs";
import { exportComparison, exportRecord } from "./files.mjs";
import { isRunning, partialView, recordOf, runEntries } from "./rating.mjs";
import { hideRun, setSummary, shownRuns, showRun } from "./results.mjs";
import { verifyImported } from "./share.mjs";
import { deleteRun, entryResults, isUnsaved, listRuns, newId, putRun, saveRuns } from "./store.mjs";

const UNFINISHED = ["queued", "running", "stopped"];
let firstLoad = true;
let bannerBatch = []; // the unfinished batch the banner offers to resume

/** Wire the saved-runs section and show what a previous visit left unfinished. */
export function initRuns() {
  byId("import-input").addEventListener("change", (event) => importFiles(event.target));
  byId("export-comparison").addEventListener("click", async () => {
    try {
      const runs = await Promise.all(shownRuns().map((r) => (r.finalRecord ? r.finalRecord() : r.record)));
      if (runs.length) exportComparison(runs);
    } catch (err) {
      report(`Export failed: ${err.message}`);
    }
  });
  byId("resume-button").addEventListener("click", () => resume());
  byId("discard-button").addEventListener("click", () => discard());
  refreshRuns();
}

const ENDED = ["done", "stopped", "imported"]; // their stored record holds every case

/**
 * Show a stored run: its record, or for a run that has not ended its cases so far (shown
 * at once, without Python) and then, once the evaluator is ready, their summary.
 * @param {object} entry
 * @param {object[]} [results]  its case results, when already read
 */
async function show(entry, results) {
  const exportIt = () => recordOf(entry).then(exportRecord, (err) => report(`Export failed: ${err.message}`));
  if (entry.record && ENDED.includes(entry.state)) {
    showRun(entry.id, entry.record, { state: entry.state, source: entry.source || "stored", onExport: exportIt, finalRecord: null,
      engine: entry.engine, machine: entry.machine });
    return;
  }
  const view = partialView(entry, results || await entryResults(entry));
  showRun(entry.id, view, { state: entry.state, source: "stored", onExport: exportIt, finalRecord: () => recordOf(entry) });
  try {
    const record = await recordOf(entry);
    // Only if this view is still the one shown (a resumed run replaces it).
    if (shownRuns().find((r) => r.id === entry.id)?.record === view) setSummary(entry.id, record.summary);
  } catch (err) {
    console.info(`localrate: summary of run ${entry.id}: ${err.message}`);
  }
}

/** Show a stored run; a run that cannot be shown is reported, the others are not touched. */
function safeShow(entry, results) {
  show(entry, results).catch((err) => {
    report(`Saved run ${entry.id} cannot be shown: ${err.message}`);
  });
}

/** An entry of a run this page started, in the shape the banner reads (anything else is
 * left to the list, which shows it as unreadable if it cannot be drawn). */
function batchEntry(e) {
  return e !== null && typeof e === "object" && typeof e.state === "string"
    && typeof e.card?.id === "string" && typeof e.suite_id === "string"
    && (e.record == null || Array.isArray(e.record.cases));
}

/** The latest batch with unfinished runs, as its entries in order (or []). */
function unfinishedBatch(entries) {
  const usable = entries.filter(batchEntry);
  const open = usable.filter((e) => UNFINISHED.includes(e.state));
  if (!open.length) return [];
  const batch = open[0].batch;
  return usable.filter((e) => e.batch === batch).sort((a, b) => (a.order ?? 0) - (b.order ?? 0));
}

/** Re-read the stored runs and redraw the list and the resume banner. */
export async function refreshRuns() {
  let rows;
  try {
    rows = await listRuns();
  } catch (err) {
    report(`Could not read saved runs: ${err.message}`);
    return;
  }
  drawList(rows);
  let batch = isRunning() ? [] : unfinishedBatch(rows.map((row) => row.entry));
  const results = await Promise.all(batch.map((entry) => entryResults(entry).catch(() => null)));
  batch = batch.filter((_, i) => results[i]);
  const kept = results.filter(Boolean);
  if (firstLoad) {
    firstLoad = false;
    // A reload mid-run: show everything that was done before offering to resume.
    batch.forEach((entry, i) => {
      if (entry.record || kept[i].length) safeShow(entry, kept[i]);
    });
  }
  drawBanner(batch, kept);
}

function drawBanner(batch, results) {
  bannerBatch = batch;
  const banner = byId("resume-banner");
  banner.hidden = batch.length === 0;
  if (!batch.length) return;
  const done = results.reduce((n, r) => n + r.length, 0);
  const models = batch.map((e) => e.card.id).join(", ");
  replace(byId("resume-text"),
    `An unfinished run (${batch[0].suite_id}, started ${new Date(batch[0].created_at).toLocaleString()}) `
    + `has ${done} finished case${done === 1 ? "" : "s"} for: ${models}.`);
}

function drawList(rows) {
  byId("past-runs-empty").hidden = rows.length > 0;
  // Each stored run is drawn on its own: one that cannot be drawn is listed as unreadable
  // (with Delete) and never hides the others.
  replace(byId("past-runs"), ...rows.map(({ key, entry }) => {
    try {
      return runItem(key, entry);
    } catch (err) {
      console.error(`localrate: saved run ${keyText(key)} is unreadable`, err);
      return unreadableItem(key, err);
    }
  }));
}

/** A stored value shown as text; anything that is not text, a number or missing throws. */
function text(value, field) {
  if (typeof value === "string") return value;
  if (typeof value === "number") return String(value);
  if (value == null) return "?";
  throw new Error(`${field} is not text`);
}

function keyText(key) {
  try {
    return typeof key === "string" ? key : JSON.stringify(key);
  } catch {
    return "?";
  }
}

function runItem(key, entry) {
  if (entry === null || typeof entry !== "object") throw new Error("the entry is not an object");
  const rec = entry.record;
  const runState = text(entry.state, "state");
  let label;
  if (rec) {
    if (!Array.isArray(rec.cases)) throw new Error("record.cases is not a list");
    const ratio = rec.summary?.pass_ratio;
    if (ratio != null && typeof ratio !== "number") throw new Error("record.summary.pass_ratio is not a number");
    label = `${text(rec.suite?.id, "record.suite.id")}@${text(rec.suite?.version, "record.suite.version")}`
      + ` · ${text(rec.started_at, "record.started_at")} · ${rec.cases.length} case${rec.cases.length === 1 ? "" : "s"} · ${pct(ratio)} pass`;
  } else {
    label = `${text(entry.suite_id, "suite_id")} · ${runState === "queued" ? "not started" : "unfinished"}`;
  }
  const model = entry.card ? text(entry.card.id, "card.id") : text(rec?.model?.id, "record.model.id");
  const unsaved = isUnsaved(key);
  if (unsaved) label += " · not saved: export it to keep it";
  const viewable = Boolean(rec) || (entry.card && runState !== "queued");
  return el("li", { class: `past-run${unsaved ? " unsaved" : ""}`, "data-testid": "past-run", "data-state": runState,
    "data-unsaved": unsaved ? "true" : null },
  el("span", { class: "model-id" }, model),
  el("span", { class: "past-meta" }, label),
  el("span", { class: `run-state run-state-${runState.replace(/[^a-z]/g, "")}` }, unsaved ? "not saved" : runState),
  el("span", { class: "past-actions" },
    el("button", { type: "button", class: "secondary small", disabled: !viewable, on: { click: () => safeShow(entry) } }, "View"),
    el("button", { type: "button", class: "secondary small", disabled: !viewable, on: { click: () => exportStored(entry) } }, "Export"),
    el("button", {
      type: "button", class: "link", "aria-label": `Delete the run of ${model}`,
      on: { click: () => remove(key) },
    }, "delete")));
}

function unreadableItem(key, err) {
  const name = keyText(key);
  return el("li", { class: "past-run unreadable", "data-testid": "past-run", "data-state": "unreadable" },
    el("span", { class: "model-id" }, name),
    el("span", { class: "past-meta" }, `unreadable: ${err.message}`),
    el("span", { class: "run-state run-state-unreadable" }, "unreadable"),
    el("span", { class: "past-actions" },
      el("button", {
        type: "button", class: "secondary small", "data-testid": "delete-unreadable",
        "aria-label": `Delete the unreadable saved run ${name}`, on: { click: () => remove(key) },
      }, "Delete")));
}

async function remove(key) {
  try {
    await deleteRun(key);
  } catch (err) {
    report(`Could not delete saved run ${keyText(key)}: ${err.message}`);
  }
  if (typeof key === "string") hideRun(key);
  refreshRuns();
}

function exportStored(entry) {
  recordOf(entry).then(exportRecord, (err) => report(`Export failed: ${err.message}`));
}

async function resume() {
  // The batch the banner shows, without reading the store again: the run starts (and Stop
  // is enabled) within this click's task once the evaluator is ready.
  const batch = bannerBatch;
  if (!batch.length || isRunning()) return;
  byId("resume-banner").hidden = true;
  try {
    await ready;
  } catch (err) {
    report(`Cannot resume: the evaluator did not load (${err.message})`);
    return;
  }
  await runEntries(batch.filter((e) => UNFINISHED.includes(e.state)));
}

async function discard() {
  const batch = unfinishedBatch((await listRuns()).map((row) => row.entry));
  for (const entry of batch) {
    if (UNFINISHED.includes(entry.state)) {
      entry.state = "abandoned";
      await putRun(entry);
    }
  }
  refreshRuns();
}

/** The line beside the Import control for one file (the evaluator's, when it refused). */
function importLine(message, kind) {
  const box = byId("import-status");
  box.hidden = false;
  box.append(el("p", { class: `import-line import-${kind}`, "data-testid": "import-line", "data-kind": kind,
    role: kind === "error" ? "alert" : "status" }, message));
  console[kind === "error" ? "error" : "info"](`localrate: ${message}`);
}

async function importFiles(input) {
  const files = [...input.files];
  input.value = "";
  replace(byId("import-status"));
  for (const file of files) await importFile(file);
  refreshRuns();
}

/**
 * Import one file: its size checked by the evaluator (check_record_size, the CLI's line),
 * its text read by the evaluator (read_records: every record checked, or one line naming
 * the file and field), stored in one transaction, and only then shown as imported.
 */
async function importFile(file) {
  let runs;
  try {
    if (state.stage !== "ready") importLine(`${file.name}: checking when Python is ready…`, "info");
    await ready;
    await call("check_record_size", { source: file.name, size: file.size }); // the CLI's line
    ({ runs } = await call("read_records", { text: await file.text(), source: file.name }));
  } catch (err) {
    importLine(err.message, "error");
    return;
  }
  const created = new Date().toISOString();
  const batch = newId("import");
  const entries = runs.map((record, order) => ({ id: newId("run"), batch, order, created_at: created,
    state: "imported", source: "imported", suite_id: record.suite?.id, settings: record.settings, card: null, record }));
  const many = `${entries.length} run${entries.length === 1 ? "" : "s"}`;
  try {
    await saveRuns(entries);
  } catch (err) {
    const them = entries.length === 1 ? ["It is", "it"] : ["They are", "them"];
    importLine(`${file.name}: ${many} read but NOT saved: ${err.message}. ${them[0]} shown on this `
      + `page until you close or reload it: use Export to keep ${them[1]}.`, "error");
    entries.forEach((entry) => safeShow(entry));
    return;
  }
  entries.forEach((entry) => safeShow(entry));
  importLine(`Imported ${many} from ${file.name}.`, "ok");
  await verifyImported(file.name, runs); // re-scored: matches or not (issue 15, share.mjs)
}
