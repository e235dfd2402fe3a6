// Saved runs: the list of past runs, the "resume" offer for an unfinished batch, and
// import/export of run records.

import { byId, el, pct, replace, report } from "./dom.mjs";
import { ready } from "./evaluator.mjs";
import { exportComparison, exportRecord, recordsFromText } from "./files.mjs";
import { isRunning, partialView, recordOf, runEntries } from "./rating.mjs";
import { hideRun, setSummary, shownRuns, showRun } from "./results.mjs";
import { deleteRun, entryResults, listRuns, newId, putRun } from "./store.mjs";

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
    showRun(entry.id, entry.record, { state: entry.state, source: entry.source || "stored", onExport: exportIt, finalRecord: null });
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

/** The latest batch with unfinished runs, as its entries in order (or []). */
function unfinishedBatch(entries) {
  const open = entries.filter((e) => UNFINISHED.includes(e.state) && e.card);
  if (!open.length) return [];
  const batch = open[0].batch;
  return entries.filter((e) => e.batch === batch).sort((a, b) => a.order - b.order);
}

/** Re-read the stored runs and redraw the list and the resume banner. */
export async function refreshRuns() {
  let entries;
  try {
    entries = await listRuns();
  } catch (err) {
    report(`Could not read saved runs: ${err.message}`);
    return;
  }
  const batch = isRunning() ? [] : unfinishedBatch(entries);
  const results = await Promise.all(batch.map((entry) => entryResults(entry)));
  if (firstLoad) {
    firstLoad = false;
    // A reload mid-run: show everything that was done before offering to resume.
    batch.forEach((entry, i) => {
      if (entry.record || results[i].length) show(entry, results[i]);
    });
  }
  drawBanner(batch, results);
  drawList(entries);
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

function drawList(entries) {
  const list = byId("past-runs");
  byId("past-runs-empty").hidden = entries.length > 0;
  replace(list, ...entries.map((entry) => {
    const rec = entry.record;
    const s = rec?.summary;
    const viewable = Boolean(rec) || (entry.card && entry.state !== "queued");
    const label = rec
      ? `${rec.suite?.id}@${rec.suite?.version} · ${rec.started_at} · ${rec.cases.length} cases · ${pct(s?.pass_ratio)} pass`
      : `${entry.suite_id} · ${entry.state === "queued" ? "not started" : "unfinished"}`;
    return el("li", { class: "past-run", "data-testid": "past-run", "data-state": entry.state },
      el("span", { class: "model-id" }, entry.card?.id || rec?.model?.id || "?"),
      el("span", { class: "past-meta" }, label),
      el("span", { class: `run-state run-state-${entry.state}` }, entry.state),
      el("span", { class: "past-actions" },
        el("button", { type: "button", class: "secondary small", disabled: !viewable, on: { click: () => show(entry) } }, "View"),
        el("button", { type: "button", class: "secondary small", disabled: !viewable, on: { click: () => exportStored(entry) } }, "Export"),
        el("button", {
          type: "button", class: "link", "aria-label": `Delete the run of ${entry.card?.id || rec?.model?.id}`,
          on: { click: async () => { await deleteRun(entry.id); hideRun(entry.id); refreshRuns(); } },
        }, "delete")));
  }));
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
  const batch = unfinishedBatch(await listRuns());
  for (const entry of batch) {
    if (UNFINISHED.includes(entry.state)) {
      entry.state = "abandoned";
      await putRun(entry);
    }
  }
  refreshRuns();
}

async function importFiles(input) {
  for (const file of [...input.files]) {
    try {
      const records = recordsFromText(file.name, await file.text());
      const created = new Date().toISOString();
      const batch = newId("import");
      for (const [order, record] of records.entries()) {
        const entry = { id: newId("run"), batch, order, created_at: created, state: "imported",
          source: "imported", suite_id: record.suite?.id, settings: record.settings, card: null, record };
        await putRun(entry);
        show(entry);
      }
      report(`Imported ${records.length} run${records.length === 1 ? "" : "s"} from ${file.name}.`, "info");
    } catch (err) {
      report(`Import failed: ${err.message}`);
    }
  }
  input.value = "";
  refreshRuns();
}
