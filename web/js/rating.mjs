// Rating: pick a suite and models, press Run. Models run one after another, cases in
// order; each case streams from the browser straight to the model. Every decision
// (skip, request body, score, summary, record) is an evaluator call. Every finished case
// is saved at once, so a reload loses nothing and the batch can be resumed.

import { append, byId, el, replace, report } from "./dom.mjs";
import { call, ready } from "./evaluator.mjs";
import { exportRecord } from "./files.mjs";
import { liveNote, pushLive, startLive } from "./live.mjs";
import { onSelectionChange, selectedCards } from "./models.mjs";
import { appendResult, setSummary, showRun } from "./results.mjs";
import { record as recordCase } from "./stream.mjs";
import { appendCase, entryResults, finishRun, newId, putRun } from "./store.mjs";

const CHAT_PATH = "/v1/chat/completions";
const DEFAULT_SUITE = "local-model-rating";
const ENDED = ["done", "stopped", "imported"]; // states whose stored record holds every case

let pageData = null;
let onStored = () => {};
let running = false;
let stopRequested = false;
let inFlight = null; // AbortController of the request being streamed
let evaluatorReady = false;
const suites = new Map(); // suite id -> Promise<resolved suite JSON>

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
  replace(select, ...list.map((s) => el("option", { value: s.id, selected: s.id === (pageData.default_suite || DEFAULT_SUITE) },
    `${s.id} @ ${s.version} · ${s.cases} cases`)));
  byId("run-button").addEventListener("click", () => runSelected());
  byId("stop-button").addEventListener("click", () => {
    stopRequested = true;
    inFlight?.abort("stopped by the user");
  });
  byId("skip-button").addEventListener("click", () => inFlight?.abort("skipped by the user"));
  onSelectionChange(updateControls);
  ready.then(() => { evaluatorReady = true; updateControls(); }, () => updateControls());
  updateControls();
}

function updateControls() {
  const picked = selectedCards().length;
  const run = byId("run-button");
  run.disabled = running || !evaluatorReady || picked === 0 || !(pageData.suites || []).length;
  byId("stop-button").disabled = !running;
  byId("skip-button").disabled = !running || !inFlight;
  let hint = "";
  if (running) hint = "Running…";
  else if (!(pageData.suites || []).length) hint = "This build has no suites.";
  else if (!evaluatorReady) hint = "Waiting for the evaluator (Python) to load…";
  else if (!picked) hint = "Select one or more chat models above.";
  else hint = `${picked} model${picked === 1 ? "" : "s"} selected; they run one after another.`;
  replace(byId("run-hint"), hint);
}

/** The resolved suite JSON (fetched once, checked by the evaluator). @param {string} id */
export function loadSuite(id) {
  if (!suites.has(id)) {
    const entry = (pageData.suites || []).find((s) => s.id === id);
    if (!entry) return Promise.reject(new Error(`suite '${id}' is not part of this build`));
    suites.set(id, (async () => {
      const response = await fetch(entry.url);
      if (!response.ok) throw new Error(`suite ${entry.url}: HTTP ${response.status}`);
      const suite = await response.json();
      await call("load_suite_json", { suite });
      return suite;
    })());
    suites.get(id).catch(() => suites.delete(id));
  }
  return suites.get(id);
}

function settingsFromForm() {
  const timeout = Number(byId("timeout-s").value);
  const maxTokens = Number(byId("max-tokens").value);
  return {
    temperature: 0,
    max_tokens: Number.isInteger(maxTokens) && maxTokens > 0 ? maxTokens : 1024,
    timeout_s: timeout > 0 ? timeout : 120,
  };
}

function nowIso() {
  return new Date().toISOString().replace(/\.\d+Z$/, "Z");
}

async function runSelected() {
  const cards = selectedCards();
  if (!cards.length || running) return;
  const suiteId = byId("suite-select").value;
  const settings = settingsFromForm();
  const batch = newId("batch");
  const created = new Date().toISOString();
  const entries = cards.map((card, order) => ({
    id: newId("run"), batch, order, created_at: created, state: "queued",
    suite_id: suiteId, settings, card, record: null,
  }));
  for (const entry of entries) await putRun(entry);
  onStored();
  await runEntries(entries);
}

/**
 * Run (or resume) the entries of one batch, in order. Cases already finished (in an entry's
 * record or stored one by one) are kept and not run again.
 * @param {object[]} entries  stored run entries
 */
export async function runEntries(entries) {
  if (running) return;
  running = true;
  stopRequested = false;
  updateControls();
  const progress = replace(byId("progress"));
  const bars = entries.map((entry) => progressView(progress, entry));
  let current = null;
  try {
    const suite = await loadSuite(entries[0].suite_id);
    for (let i = 0; i < entries.length && !stopRequested; i++) {
      current = bars[i];
      await runEntry(entries[i], suite, bars[i]);
    }
    current = null;
    liveNote(stopRequested ? "Stopped. Finished cases are kept; Resume continues." : "Done.");
  } catch (err) {
    current?.fail();
    report(`Run failed: ${err.message}`);
    liveNote(`Run failed: ${err.message}`);
  } finally {
    running = false;
    inFlight = null;
    updateControls();
    onStored();
  }
}

function modelOf(card) {
  return { id: card.id, runtime: card.runtime, base_url: card.base_url,
    capabilities: (card.capabilities || []).map((c) => (typeof c === "string" ? c : c.name)) };
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
    suite: { id: entry.suite_id, version: info.version }, model: modelOf(entry.card),
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
  return call("run_record", {
    suite, model: modelOf(entry.card), settings: entry.settings,
    started_at: entry.started_at || entry.record?.started_at || nowIso(), results,
  });
}

async function runEntry(entry, suite, bar) {
  const model = modelOf(entry.card);
  const results = await entryResults(entry);
  const done = new Set(results.map((r) => r.id));
  const total = suite.cases.length;
  entry.started_at = entry.started_at || entry.record?.started_at || nowIso();
  entry.state = "running";
  await putRun(entry);
  onStored();
  const exportNow = () => recordOf(entry).then(exportRecord, (err) => report(`Export failed: ${err.message}`));
  showRun(entry.id, partialView(entry, results),
    { state: "running", source: "live", onExport: exportNow, finalRecord: () => recordOf(entry) });
  const summary = liveSummary(entry.id, results, suite.pass_threshold);
  summary.update();
  bar.set(results.length, total, "running");

  // Every decision a case needs before its request is asked for up front: the worker
  // answers while the first case streams, so a case costs one round trip (score_case).
  const todo = suite.cases.filter((c) => !done.has(c.id));
  const plans = todo.map((c) => planCase(c, model, entry.settings));
  for (const [i, c] of todo.entries()) {
    if (stopRequested) break;
    const result = await runCase(c, await plans[i], model, entry.settings);
    if (!result) break; // stopped mid-case: that case is not kept
    results.push(result);
    await appendCase(entry.id, results.length - 1, result);
    appendResult(entry.id, result);
    bar.set(results.length, total, "running");
    summary.update();
  }
  await summary.settled();
  const state = stopRequested ? "stopped" : "done";
  entry.record = await call("run_record", {
    suite, model, settings: entry.settings, started_at: entry.started_at, results,
  });
  entry.state = state;
  await finishRun(entry);
  showRun(entry.id, entry.record,
    { state, source: "live", onExport: () => exportRecord(entry.record), finalRecord: null });
  bar.set(results.length, total, state);
  onStored();
}

/**
 * The running summary of one run: `summarize` after a case, at most one call in flight
 * (cases that end meanwhile are counted by the next call).
 */
function liveSummary(runId, results, passThreshold) {
  let busy = null;
  let again = false;
  const ask = () => {
    again = false;
    busy = call("summarize", { results, pass_threshold: passThreshold })
      .then((s) => setSummary(runId, s), (err) => console.info(`localrate: summarize: ${err.message}`))
      .then(() => {
        busy = null;
        if (again) ask();
      });
  };
  return {
    update() {
      if (busy) again = true;
      else ask();
    },
    async settled() {
      while (busy) await busy;
    },
  };
}

/**
 * Ask the evaluator what a case needs: its skipped result, or its request body.
 * @returns {Promise<{skipped?: object, body?: object}>}
 */
function planCase(c, model, settings) {
  const plan = call("skip_reason", { case: c, caps: model.capabilities }).then((reason) => (reason
    ? call("skipped_result", { case: c, reason }).then((skipped) => ({ skipped }))
    : call("build_request", { case: c, model_id: model.id, settings }).then((body) => ({ body }))));
  plan.catch(() => {}); // a plan not reached (Stop) must not be an unhandled rejection
  return plan;
}

/** One case → its result, or null when Stop interrupted it. */
async function runCase(c, plan, model, settings) {
  if (plan.skipped) return plan.skipped;
  startLive(`${model.id} · ${c.id}`);
  inFlight = new AbortController();
  updateControls();
  let transcript;
  try {
    transcript = await recordCase(model.base_url + CHAT_PATH, plan.body, {
      timeoutS: settings.timeout_s, signal: inFlight.signal, onEvent: pushLive,
    });
  } finally {
    inFlight = null;
    updateControls();
  }
  if (stopRequested) return null;
  if (transcript.error) console.info(`localrate: ${model.id} · ${c.id}: ${transcript.error}`);
  return call("score_case", { case: c, transcript });
}

function progressView(box, entry) {
  const bar = el("progress", { max: "1", value: "0" });
  const text = el("span", { class: "progress-text" }, "queued");
  const row = append(box, el("li", { class: "progress-row", "data-testid": "progress", "data-model-id": entry.card.id, "data-state": "queued" },
    el("span", { class: "model-id" }, entry.card.id), bar, text)).lastChild;
  return {
    set(doneCount, total, state) {
      bar.max = total;
      bar.value = doneCount;
      row.dataset.state = state;
      replace(text, `${doneCount} / ${total}${state === "running" ? "" : ` · ${state}`}`);
    },
    fail() {
      row.dataset.state = "error";
      text.append(" · failed");
    },
  };
}

/** Whether a batch is running now (a stored "running" entry from another load is not). */
export function isRunning() {
  return running;
}
