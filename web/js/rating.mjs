// Rating: pick a suite and models, press Run. Models run one after another, cases in
// order; each case streams from the browser straight to the model. Every decision
// (the batch's concrete cases, skip, each request body, score, summary, record) is an
// evaluator call. Every finished case is saved at once, so a reload loses nothing and the
// batch can be resumed: its seed is in each entry's settings, so the same cases are drawn.

import { byId, el, replace, report } from "./dom.mjs";
import { call, ready, scoringFields } from "./evaluator.mjs";
import { exportRecord } from "./files.mjs";
import { liveNote, liveTurn, pushLive, startLive } from "./live.mjs";
import { onSelectionChange, selectedCards } from "./models.mjs";
import { liveSummary, progressView } from "./progress.mjs";
import { appendResult, showRun } from "./results.mjs";
import { recordCase, startRecorder } from "./recorder.mjs";
import * as runState from "./run-state.mjs";
import { appendCase, entryResults, finishRun, newId, putRun } from "./store.mjs";

const ENDED = ["done", "stopped", "imported"]; // states whose stored record holds every case
const PLAN_AHEAD = 3; // cases whose evaluator plan is asked for before they run

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

/** The run's settings: the evaluator's defaults with the form's values (empty = default)
 * and the batch's seed (the seed field's, else a new one). */
function settingsFromForm() {
  const number = (id) => (byId(id).value.trim() === "" ? null : Number(byId(id).value));
  return call("run_settings", { max_tokens: number("max-tokens"), timeout_s: number("timeout-s"),
    seed: seedFromForm() });
}

/** The seed field's value (as typed when it is not a number: the evaluator names the
 * problem), or a new seed: a whole number below 2**31 from crypto.getRandomValues. */
function seedFromForm() {
  const typed = byId("seed-input").value.trim();
  if (typed === "") return crypto.getRandomValues(new Uint32Array(1))[0] >>> 1;
  return /^\d+$/.test(typed) && Number.isSafeInteger(Number(typed)) ? Number(typed) : typed;
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
    settings = await settingsFromForm();
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
    suite_id: suiteId, settings, card, model: models[order], record: null,
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
    for (let i = 0; i < entries.length && !runState.stopRequested(); i++) {
      current = bars[i];
      await runEntry(entries[i], suite, cases, bars[i], fresh);
    }
    current = null;
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
    entry.started_at || entry.record?.started_at || nowIso(), results);
}

/**
 * The evaluator's run_record. It copies the results into `cases` as they are, so they
 * travel to the worker without their transcripts and case copies, and the full ones are
 * put back here: the same record, without sending every transcript through the worker
 * twice more.
 */
async function runRecord(suite, model, settings, startedAt, results) {
  const head = await call("run_record", {
    suite_ref: suite.ref, model, settings, started_at: startedAt, results: results.map(scoringFields),
  });
  return { ...head, cases: results };
}

/**
 * Rate one model: start its entry, stream its cases, then build and save its record.
 * @param {object} entry  the stored run entry
 * @param {{json: object, ref: object}} suite
 * @param {Array<{c: object, exchange: boolean}>} cases  the batch's concrete cases
 * @param {ReturnType<typeof progressView>} bar  its progress row
 * @param {boolean} fresh  a new entry (nothing stored to read back)
 */
async function runEntry(entry, suite, cases, bar, fresh) {
  const run = await startEntry(entry, suite, cases, bar, fresh);
  const requests = requestPipeline(run);
  await streamCases(run, requests);
  await finishEntry(run);
}

/**
 * Mark the entry running, save it, and show it: the cases already kept, the running
 * summary and the progress row. Returns what the next steps share.
 */
async function startEntry(entry, suite, cases, bar, fresh) {
  const model = await modelOf(entry);
  const results = fresh ? [] : await entryResults(entry); // a new entry has nothing stored
  const done = new Set(results.map((r) => r.id));
  const run = {
    entry, suite, bar, model, results,
    todo: cases.filter(({ c }) => !done.has(c.id)),
    total: cases.length,
    writes: [], // one IndexedDB write per kept case
    summary: null,
  };
  entry.started_at = entry.started_at || entry.record?.started_at || nowIso();
  entry.state = "running";
  // The saved-runs list is redrawn only once the first case is kept (reading every stored
  // run back is not needed sooner).
  await putRun(entry);
  const exportNow = () => recordOf(entry).then(exportRecord, (err) => report(`Export failed: ${err.message}`));
  showRun(entry.id, partialView(entry, results),
    { state: "running", source: "live", onExport: exportNow, finalRecord: () => recordOf(entry) });
  run.summary = liveSummary(entry.id, results, suite.json.pass_threshold);
  run.summary.update();
  bar.set(results.length, run.total, "running");
  return run;
}

/**
 * Plans and requests for the cases still to run. Between two requests the page waits only
 * for what is already there: the evaluator's plans (skip, or the first request) are asked
 * for a few cases ahead, and the next case's first request is posted to the recording
 * worker (recorder.mjs) while this one streams, so it starts the moment this one ends. Its
 * payloads wait for the live panel to show that case. A case that takes several requests
 * (an exchange) posts its later ones itself (`post`), once the evaluator has them, and the
 * next case is not posted ahead of them.
 */
function requestPipeline(run) {
  const { entry, model, todo } = run;
  const plans = new Map(); // todo index -> Promise<plan>
  const sent = new Map(); // todo index -> {ctl, transcript} of its first request
  const early = new Map(); // todo index -> payloads read before the panel showed that case
  let shown = -1;
  const planned = (i) => {
    for (let j = i; j < Math.min(todo.length, i + PLAN_AHEAD); j++) {
      if (!plans.has(j)) plans.set(j, planCase(todo[j].c, model, entry));
    }
    return plans.get(i);
  };
  const send = (i, plan) => sent.set(i, post(i, plan));
  const post = (i, plan) => {
    const ctl = new AbortController();
    const onEvent = (payload) => {
      if (shown === i) pushLive(payload);
      else if (early.has(i)) early.get(i).push(payload);
      else early.set(i, [payload]);
    };
    const transcript = recordCase(model.base_url + plan.path, plan.body,
      { timeoutS: plan.timeout_s, maxBytes: plan.max_bytes, signal: ctl.signal, onEvent });
    runState.track(ctl, transcript);
    return { ctl, transcript };
  };
  const sendNext = (i) => {
    if (i + 1 >= todo.length) return;
    planned(i + 1).then((plan) => {
      if (!plan.skipped && !sent.has(i + 1) && !runState.stopRequested()) send(i + 1, plan);
    }, () => {});
  };
  const show = (i, title) => {
    startLive(title);
    shown = i;
    for (const payload of early.get(i) || []) pushLive(payload);
    early.delete(i);
  };
  sendNext(-1); // the first request goes out as soon as its plan is known
  return { planned, send, post, sendNext, show, sent };
}

/**
 * Run the cases in order: each one's request streams while the one before is scored,
 * saved and shown (in suite order, one case at a time). Stops early on Stop, or when a
 * score or a save failed.
 */
async function streamCases(run, requests) {
  const { model, todo } = run;
  let kept = Promise.resolve();
  let failed = false;
  for (const [i, { c, exchange }] of todo.entries()) {
    if (runState.stopRequested() || failed) break;
    const plan = await requests.planned(i);
    if (!plan.skipped && !requests.sent.has(i)) requests.send(i, plan);
    // A one-request case has the next case's request posted behind it now; an exchange
    // posts its own next requests first, and the next case is sent when it has ended.
    if (!plan.skipped && !exchange) requests.sendNext(i);
    const show = () => requests.show(i, `${model.id} · ${c.id}`);
    let outcome = plan;
    if (!plan.skipped) {
      outcome = exchange ? await runExchange(run, c, requests.sent.get(i), show, (step) => requests.post(i, step))
        : await runCase(c, requests.sent.get(i), show, model);
    }
    if (!outcome) break; // stopped mid-case: that case is not kept
    const scored = outcome.skipped ? Promise.resolve(outcome.skipped)
      : outcome.transcripts ? call("score_turns", { case: c, transcripts: outcome.transcripts })
        : call("score_case", { case: c, transcript: outcome.transcript });
    scored.catch(() => {}); // a failure is reported once, through `kept`
    kept = kept.then(() => scored).then((result) => keepResult(run, result));
    kept.catch(() => { failed = true; });
  }
  for (const { ctl } of requests.sent.values()) ctl.abort("stopped by the user"); // one posted ahead
  await kept;
}

/** A scored case: saved at once, added to the table, the progress and the summary. */
function keepResult(run, result) {
  const { entry, results } = run;
  results.push(result);
  run.writes.push(appendCase(entry.id, results.length - 1, result));
  appendResult(entry.id, result);
  run.bar.set(results.length, run.total, "running");
  run.summary.update();
  if (results.length === 1) onStored();
}

/** The evaluator's record of the run, shown at once, then folded into the stored entry. */
async function finishEntry(run) {
  const { entry, suite, model, results, bar } = run;
  run.summary.stop(); // the record's own summary replaces it
  const state = runState.stopRequested() ? "stopped" : "done";
  entry.record = await runRecord(suite, model, entry.settings, entry.started_at, results);
  entry.state = state;
  // Every case already has its own write queued, so nothing can be lost from here; the
  // run is shown as ended at once, and its cases are folded into the stored record after
  // those writes (IndexedDB keeps the order; a failed save is reported by the store).
  const saved = Promise.all(run.writes).then(() => finishRun(entry));
  showRun(entry.id, entry.record, { state, source: "live", onExport: () => exportRecord(entry.record),
    finalRecord: null, rowsShown: true });
  bar.set(results.length, run.total, state);
  await saved;
  onStored();
}

/**
 * Ask the evaluator what a case needs: its skipped result (a capability the model lacks,
 * or a prompt too long for the card's known context), or its first request.
 * @returns {Promise<{skipped?: object, body?: object}>}
 */
function planCase(c, model, entry) {
  const plan = call("plan_case", { case: c, model_id: model.id, caps: model.capabilities,
    settings: entry.settings, context_length: entry.card.context_length ?? null });
  plan.catch(() => {}); // a plan not reached (Stop) must not be an unhandled rejection
  return plan;
}

/** Wait for one posted request's transcript; Skip aborts it meanwhile. */
async function streamed(request) {
  runState.setInFlight(request.ctl);
  updateControls();
  try {
    return await request.transcript;
  } finally {
    runState.setInFlight(null);
    updateControls();
  }
}

/** One case's posted request → {transcript}, or null when Stop interrupted it. */
async function runCase(c, request, show, model) {
  show();
  const transcript = await streamed(request);
  if (runState.stopRequested()) return null;
  if (transcript.error) console.info(`localrate: ${model.id} · ${c.id}: ${transcript.error}`);
  return { transcript };
}

/**
 * A case of several requests (follow-ups, tool rounds): after each transcript the
 * evaluator's next_request says what to send next, or that the exchange is over.
 * → {transcripts}, or null when Stop interrupted it (Skip ends the request in flight:
 * its transcript holds the error, and the exchange ends there).
 * @param {object} run
 * @param {object} c  the concrete case
 * @param {{ctl: AbortController, transcript: Promise<object>}} first  its posted first request
 * @param {() => void} show  show the case in the live panel
 * @param {(step: object) => {ctl: AbortController, transcript: Promise<object>}} post
 */
async function runExchange(run, c, first, show, post) {
  const { model, entry } = run;
  const transcripts = [];
  show();
  for (let request = first; ;) {
    const transcript = await streamed(request);
    if (runState.stopRequested()) return null;
    if (transcript.error) console.info(`localrate: ${model.id} · ${c.id}: ${transcript.error}`);
    transcripts.push(transcript);
    const step = await call("next_request",
      { case: c, model_id: model.id, settings: entry.settings, transcripts });
    if (step.done) return { transcripts };
    if (runState.stopRequested()) return null;
    liveTurn(transcripts.length + 1);
    request = post(step);
  }
}

export const isRunning = runState.isRunning;
