// Rating: pick a suite, models and the run settings, press Run. Models run one after
// another (run-loop.mjs: warm-up, then each case's attempts in order); each request
// streams from the browser straight to the model. Every decision (the settings, the
// batch's concrete cases, skip, each request body, score, attempt order, summary, record,
// progress) is an evaluator call. Every finished attempt is saved at once, so a reload
// loses nothing and the batch can be resumed: its seed is in each entry's settings, so
// the same cases are drawn.

import { PREFIX as CUSTOM, customSuite } from "./custom-suites.mjs";
import { byId, el, replace, report } from "./dom.mjs";
import { call, ready, scoringFields } from "./evaluator.mjs";
import { liveNote } from "./live.mjs";
import { onSelectionChange, selectedCards } from "./models.mjs";
import { batchTracker, progressView } from "./progress.mjs";
import { startRecorder } from "./recorder.mjs";
import { runEntry } from "./run-loop.mjs";
import { settingsFor } from "./settings-form.mjs";
import * as runState from "./run-state.mjs";
import { entryResults, newId, putRun } from "./store.mjs";

const ENDED = ["done", "stopped", "imported"]; // states whose stored record holds every case

let pageData = null;
let onStored = () => {};
const suites = new Map(); // suite id -> Promise<{json, ref}>: the resolved suite, and what
// the evaluator said of it (load_suite_json: id, version, sha256, pass_threshold, ...)

/**
 * Wire the rating controls.
 * @param {object} data  page_data
 * @param {{onStored: () => void}} hooks  called after every save
 */
export function initRating(data, hooks) {
  pageData = data;
  onStored = hooks.onStored;
  const select = byId("suite-select");
  const list = pageData.suites || [];
  replace(select, ...list.map((s) => el("option", { value: s.id, selected: s.id === pageData.default_suite },
    `${s.id} @ ${s.version} · ${s.cases} cases${s.duration ? ` · ${s.duration}` : ""}`)));
  byId("run-button").addEventListener("click", () => runSelected());
  byId("stop-button").addEventListener("click", runState.stop);
  byId("skip-button").addEventListener("click", runState.skip);
  onSelectionChange(updateControls);
  ready.then(() => { runState.setEvaluatorReady(); updateControls(); }, () => updateControls());
  updateControls();
  startRecorder(); // its start takes a while: not at the first request
}

function updateControls() {
  const picked = selectedCards().length;
  const running = runState.isRunning();
  const run = byId("run-button");
  run.disabled = running || !runState.evaluatorReady() || picked === 0 || !(pageData.suites || []).length;
  byId("stop-button").disabled = !running;
  byId("skip-button").disabled = !running || !runState.streaming();
  let hint = "";
  if (running) hint = "Running…";
  else if (!(pageData.suites || []).length) hint = "This build has no suites.";
  else if (!runState.evaluatorReady()) hint = "Waiting for the evaluator (Python) to load…";
  else if (!picked) hint = "Select one or more chat models above.";
  else hint = `${picked} model${picked === 1 ? "" : "s"} selected; they run one after another.`;
  const shown = byId("run-hint");
  if (shown.textContent !== hint) replace(shown, hint);
}

/**
 * The resolved suite (fetched once, checked by the evaluator once).
 * @param {string} id
 * @returns {Promise<{json: object, ref: object}>}  ref: the evaluator's load_suite_json answer
 */
export function loadSuite(id) {
  if (id.startsWith(CUSTOM)) return customSuite(id); // yours, kept in this browser (issue 15)
  if (!suites.has(id)) {
    const entry = (pageData.suites || []).find((s) => s.id === id);
    if (!entry) return Promise.reject(new Error(`suite '${id}' is not part of this build`));
    suites.set(id, (async () => {
      const response = await fetch(entry.url);
      if (!response.ok) throw new Error(`suite ${entry.url}: HTTP ${response.status}`);
      const json = await response.json();
      const ref = await call("load_suite_json", { suite: json });
      return { json, ref };
    })());
    suites.get(id).catch(() => suites.delete(id));
  }
  return suites.get(id);
}

function nowIso() {
  return new Date().toISOString().replace(/\.\d+Z$/, "Z");
}

async function runSelected() {
  const cards = selectedCards();
  if (!cards.length || runState.isRunning()) return;
  const suiteId = byId("suite-select").value;
  let settings, models;
  try {
    settings = await settingsFor(cards);
    models = await Promise.all(cards.map(modelEntry));
  } catch (err) {
    report(`Cannot run: ${err.message}`);
    liveNote(`Cannot run: ${err.message}`);
    return;
  }
  const batch = newId("batch");
  const created = new Date().toISOString();
  const entries = cards.map((card, order) => ({
    id: newId("run"), batch, order, created_at: created, state: "queued",
    suite_id: suiteId, settings: settings[order], card, model: models[order], record: null,
  }));
  await Promise.all(entries.map(putRun));
  await runEntries(entries, { fresh: true }); // the runs list shows them once a case is kept
}

/**
 * Run (or resume) the entries of one batch, in order. Cases already finished (in an entry's
 * record or stored one by one) are kept and not run again.
 * @param {object[]} entries  stored run entries
 * @param {{fresh?: boolean}} [opts]  fresh: entries just made (nothing stored to read back)
 */
export async function runEntries(entries, { fresh = false } = {}) {
  if (runState.isRunning()) return;
  runState.beginBatch();
  updateControls();
  const progress = replace(byId("progress"));
  const bars = entries.map((entry) => progressView(progress, entry));
  let current = null;
  try {
    const suite = await loadSuite(entries[0].suite_id);
    const cases = await runCases(suite, entries[0].settings); // the same for every model
    const plan = await call("effective_settings", { settings: entries[0].settings });
    const stored = new Map(fresh ? [] : await Promise.all(entries.map(async (e) => [e.id, await entryResults(e)])));
    const before = [...stored.values()].reduce((n, r) => n + r.length, 0);
    const tracker = batchTracker(byId("batch-progress"), entries.length * cases.length * plan.repeat - before);
    const hooks = { updateControls, onStored, runRecord, recordOf, modelOf, partialView };
    for (let i = 0; i < entries.length && !runState.stopRequested(); i++) {
      current = bars[i];
      await runEntry(entries[i], { suite, cases, plan, bar: bars[i], fresh, stored, tracker, hooks });
    }
    current = null;
    tracker.end();
    liveNote(runState.stopRequested() ? "Stopped. Finished cases are kept; Resume continues." : "Done.");
  } catch (err) {
    current?.fail();
    report(`Run failed: ${err.message}`);
    liveNote(`Run failed: ${err.message}`);
  } finally {
    runState.endBatch();
    updateControls();
    onStored();
  }
}

/**
 * The batch's concrete cases (the evaluator's run_cases: template cases drawn from the
 * batch's seed), each with `exchange`: whether it takes more than one request (follow-ups
 * or a tool loop, from load_suite_json), so its turns go out one after another.
 * An entry stored before runs had a seed ran fixed cases only: the suite's, as they are.
 * @param {{json: object, ref: object}} suite
 * @param {object} settings  the batch's run settings
 * @returns {Promise<Array<{c: object, exchange: boolean}>>}
 */
async function runCases(suite, settings) {
  const cases = settings.seed == null ? suite.json.cases
    : await call("run_cases", { suite: suite.json, seed: settings.seed });
  const info = new Map(suite.ref.cases.map((x) => [x.id, x]));
  return cases.map((c) => {
    const x = info.get(c.template ?? c.id);
    return { c, exchange: !!x && (x.turns > 1 || x.tool_loop) };
  });
}

/** The run record's model object, from the evaluator (model_entry). */
function modelEntry(card) {
  return call("model_entry", { id: card.id, runtime: card.runtime, base_url: card.base_url,
    capabilities: card.capabilities || [] });
}

/** An entry's model object: stored with it when the run was made (older entries: asked). */
async function modelOf(entry) {
  if (!entry.model) entry.model = await modelEntry(entry.card);
  return entry.model;
}

/**
 * What the results view shows of a run that has not ended: the fields of a run record
 * that need no evaluator (no summary until `summarize` answers). Display only: exports
 * and the stored record always come from the evaluator's run_record.
 * @param {object} entry    a stored run entry
 * @param {object[]} results  its case results so far
 */
export function partialView(entry, results) {
  const info = (pageData?.suites || []).find((s) => s.id === entry.suite_id) || {};
  return {
    suite: { id: entry.suite_id, version: info.version },
    model: entry.model || { id: entry.card.id, runtime: entry.card.runtime, base_url: entry.card.base_url },
    started_at: entry.started_at || null, settings: entry.settings, cases: results, summary: null,
  };
}

/**
 * The run record of an entry that has not ended (built by the evaluator from its stored
 * cases), or its record when it has.
 * @param {object} entry
 */
export async function recordOf(entry) {
  if (entry.record && ENDED.includes(entry.state)) return entry.record;
  await ready;
  const suite = await loadSuite(entry.suite_id);
  const results = await entryResults(entry);
  return runRecord(suite, await modelOf(entry), entry.settings,
    entry.started_at || entry.record?.started_at || nowIso(), results, entry.warmup,
    entry.engine, entry.machine);
}

/**
 * The evaluator's run_record. It copies the results into `cases` as they are, so they
 * travel to the worker without their transcripts and case copies, and the full ones are
 * put back here: the same record, without sending every transcript through the worker
 * twice more.
 */
async function runRecord(suite, model, settings, startedAt, results, warmup, engine, machine) {
  const head = await call("run_record", {
    suite_ref: suite.ref, model, settings, started_at: startedAt, results: results.map(scoringFields),
    warmup: warmup ?? null, engine: engine ?? null, machine: machine ?? null,
  });
  return { ...head, cases: results };
}

export const isRunning = runState.isRunning;
