// Rating: pick a suite and models, press Run. Models run one after another, cases in
// order; each case streams from the browser straight to the model. Every decision
// (skip, request body, score, summary, record) is an evaluator call. Every finished case
// is saved at once, so a reload loses nothing and the batch can be resumed.

import { append, byId, el, replace, report } from "./dom.mjs";
import { call, ready } from "./evaluator.mjs";
import { exportRecord } from "./files.mjs";
import { liveNote, pushLive, startLive } from "./live.mjs";
import { onSelectionChange, selectedCards } from "./models.mjs";
import { showRun } from "./results.mjs";
import { record as recordCase } from "./stream.mjs";
import { newId, putRun } from "./store.mjs";

const CHAT_PATH = "/v1/chat/completions";
const DEFAULT_SUITE = "local-model-rating";

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
 * Run (or resume) the entries of one batch, in order. Cases already in an entry's record
 * are kept and not run again.
 * @param {object[]} entries  stored run entries
 */
export async function runEntries(entries) {
  if (running) return;
  running = true;
  stopRequested = false;
  updateControls();
  const progress = replace(byId("progress"));
  const bars = entries.map((entry) => progressView(progress, entry));
  try {
    const suite = await loadSuite(entries[0].suite_id);
    for (let i = 0; i < entries.length && !stopRequested; i++) {
      await runEntry(entries[i], suite, bars[i]);
    }
    liveNote(stopRequested ? "Stopped. Finished cases are kept; Resume continues." : "Done.");
  } catch (err) {
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

async function runEntry(entry, suite, bar) {
  const model = modelOf(entry.card);
  const startedAt = entry.record?.started_at || nowIso();
  const results = [...(entry.record?.cases || [])];
  const done = new Set(results.map((r) => r.id));
  const save = async (state) => {
    entry.state = state;
    entry.record = await call("run_record", { suite, model, settings: entry.settings, started_at: startedAt, results });
    await putRun(entry);
    showRun(entry.id, entry.record, { state, source: "live", onExport: () => exportRecord(entry.record) });
    bar.set(results.length, suite.cases.length, state);
    onStored();
  };
  await save("running");
  for (const c of suite.cases) {
    if (done.has(c.id)) continue;
    if (stopRequested) break;
    const result = await runCase(c, model, entry.settings);
    if (!result) break; // stopped mid-case: that case is not kept
    results.push(result);
    await save("running");
  }
  await save(stopRequested ? "stopped" : "done");
}

/** One case → its result, or null when Stop interrupted it. */
async function runCase(c, model, settings) {
  const reason = await call("skip_reason", { case: c, caps: model.capabilities });
  if (reason) return call("skipped_result", { case: c, reason });
  const body = await call("build_request", { case: c, model_id: model.id, settings });
  startLive(`${model.id} · ${c.id}`);
  inFlight = new AbortController();
  updateControls();
  let transcript;
  try {
    transcript = await recordCase(model.base_url + CHAT_PATH, body, {
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
  append(box, el("li", { class: "progress-row", "data-testid": "progress", "data-model-id": entry.card.id },
    el("span", { class: "model-id" }, entry.card.id), bar, text));
  return {
    set(doneCount, total, state) {
      bar.max = total;
      bar.value = doneCount;
      replace(text, `${doneCount} / ${total}${state === "running" ? "" : ` · ${state}`}`);
    },
  };
}

/** Whether a batch is running now (a stored "running" entry from another load is not). */
export function isRunning() {
  return running;
}
