// One model's part of a batch: the warm-up, then every attempt of every case, in the
// evaluator's order (attempt_order: case-major), each streamed from the browser straight
// to the model. What each step sends, whether a case is skipped, how an attempt is
// numbered and what the warm-up records are evaluator calls (warmup_request,
// warmup_outcome, plan_case, next_request, score_case / score_turns, with_attempt);
// this module only sends, times, stores and shows.

import { report } from "./dom.mjs";
import { call } from "./evaluator.mjs";
import { exportRecord } from "./files.mjs";
import { liveTurn, pushLive, startLive } from "./live.mjs";
import { liveSummary } from "./progress.mjs";
import { recordCase } from "./recorder.mjs";
import { appendResult, showRun } from "./results.mjs";
import * as runState from "./run-state.mjs";
import { appendCase, finishRun, putRun } from "./store.mjs";
import { browserMachine, readEngine } from "./engine.mjs";

/** The key of one attempt of one case (what is already stored is not run again). */
export const attemptKey = (r) => `${r.id}#${r.attempt ?? 0}`;

/**
 * Rate one model: warm it up, stream its attempts, then build and save its record.
 * @param {object} entry  the stored run entry
 * @param {object} batch  what the batch shares: {suite, cases, plan (effective settings),
 *   bar, fresh, tracker, hooks: {updateControls, onStored, runRecord, recordOf, modelOf,
 *   partialView}}
 */
export async function runEntry(entry, batch) {
  const run = await startEntry(entry, batch);
  if (batch.plan.warmup && !entry.warmup && run.todo.length && !runState.stopRequested()) {
    await warmUp(run);
  }
  const requests = requestPipeline(run);
  await streamCases(run, requests);
  await finishEntry(run);
}

/** Mark the entry running, save and show it; returns what the next steps share. */
async function startEntry(entry, batch) {
  const { suite, cases, plan, bar, hooks } = batch;
  const model = await hooks.modelOf(entry);
  const results = batch.fresh ? [] : batch.stored.get(entry.id) || [];
  const done = new Set(results.map(attemptKey));
  const order = await call("attempt_order", { count: cases.length, repeat: plan.repeat });
  const todo = [];
  for (const [i, attempt] of order) {
    const { c, exchange } = cases[i];
    if (!done.has(attemptKey({ id: c.id, attempt }))) {
      todo.push({ c, exchange, attempt });
    }
  }
  // How each attempt is numbered in its result (with_attempt), asked once per attempt index.
  const numbering = await Promise.all(Array.from({ length: plan.repeat },
    (_, attempt) => call("with_attempt", { result: {}, attempt, repeat: plan.repeat })));
  const run = { entry, suite, bar, model, results, todo, total: order.length, repeat: plan.repeat,
    numbering, writes: [], summary: null, hooks, tracker: batch.tracker };
  entry.started_at = entry.started_at || entry.record?.started_at || new Date().toISOString().replace(/\.\d+Z$/, "Z");
  entry.state = "running";
  await putRun(entry);
  const exportNow = () => hooks.recordOf(entry).then(exportRecord, (err) => report(`Export failed: ${err.message}`));
  showRun(entry.id, hooks.partialView(entry, results),
    { state: "running", source: "live", onExport: exportNow, finalRecord: () => hooks.recordOf(entry) });
  run.summary = liveSummary(entry.id, results, suite.json.pass_threshold);
  run.summary.update();
  bar.set(results.length, run.total, "running");
  return run;
}

/** The warm-up: one short request before the model's first case; its times are the
 * record's cold start (`warmup`), in no result. Stop ends it; Skip case does not apply. */
async function warmUp(run) {
  const { entry, model } = run;
  const plan = await call("warmup_request", { model_id: model.id, settings: entry.settings });
  startLive(`${model.id} · warm-up (cold start)`);
  const ctl = new AbortController();
  const transcript = recordCase(model.base_url + plan.path, plan.body,
    { timeoutS: plan.timeout_s, maxBytes: plan.max_bytes, signal: ctl.signal, onEvent: pushLive });
  runState.track(ctl, transcript); // Stop aborts it; Skip is for cases, not the warm-up
  const done = await transcript;
  if (runState.stopRequested()) return;
  entry.warmup = await call("warmup_outcome", { transcript: done });
  await putRun(entry);
}

/**
 * Plans and requests for the attempts still to run. Between two requests the page waits
 * only for what is already there: the evaluator's plan of a case is asked once (every
 * attempt sends the same first request), and the next attempt's first request is posted
 * to the recording worker while this one streams. An exchange (several requests) posts
 * its later ones itself, and the next attempt is not posted ahead of them.
 */
function requestPipeline(run) {
  const { entry, model, todo } = run;
  const plans = new Map(); // case id -> Promise<plan>
  const sent = new Map(); // todo index -> {ctl, transcript} of its first request
  const early = new Map(); // todo index -> payloads read before the panel showed it
  let shown = -1;
  const planned = (i) => {
    for (let j = i; j < Math.min(todo.length, i + 3); j++) {
      const { c } = todo[j];
      if (!plans.has(c.id)) plans.set(c.id, planCase(c, model, entry));
    }
    return plans.get(todo[i].c.id);
  };
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
  const send = (i, plan) => sent.set(i, post(i, plan));
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
  sendNext(-1);
  return { planned, send, post, sendNext, show, sent };
}

/** Run the attempts in order: each one streams while the one before is scored, saved and
 * shown. Stops early on Stop, or when a score or a save failed. */
async function streamCases(run, requests) {
  const { model, todo } = run;
  let kept = Promise.resolve();
  let failed = false;
  for (const [i, { c, exchange, attempt }] of todo.entries()) {
    if (runState.stopRequested() || failed) break;
    const plan = await requests.planned(i);
    if (!plan.skipped && !requests.sent.has(i)) requests.send(i, plan);
    if (!plan.skipped && !exchange) requests.sendNext(i);
    const title = `${model.id} · ${c.id}${run.repeat > 1 ? ` · attempt ${attempt + 1} of ${run.repeat}` : ""}`;
    const show = () => requests.show(i, title);
    let outcome = plan;
    if (!plan.skipped) {
      outcome = exchange ? await runExchange(run, c, requests.sent.get(i), show, (step) => requests.post(i, step))
        : await runCase(run, c, requests.sent.get(i), show);
    }
    if (!outcome) break; // stopped mid-case: that attempt is not kept
    const scored = outcome.skipped ? Promise.resolve(outcome.skipped)
      : outcome.transcripts ? call("score_turns", { case: c, transcripts: outcome.transcripts })
        : call("score_case", { case: c, transcript: outcome.transcript });
    const result = scored.then((r) => ({ ...r, ...run.numbering[attempt] }));
    result.catch(() => {}); // a failure is reported once, through `kept`
    kept = kept.then(() => result).then((r) => keepResult(run, r));
    kept.catch(() => { failed = true; });
  }
  for (const { ctl } of requests.sent.values()) ctl.abort("stopped by the user"); // one posted ahead
  await kept;
}

/** A scored attempt: saved at once, added to the table, the progress and the summary. */
function keepResult(run, result) {
  const { entry, results } = run;
  results.push(result);
  run.writes.push(appendCase(entry.id, results.length - 1, result));
  appendResult(entry.id, result);
  run.bar.set(results.length, run.total, "running");
  run.tracker.add();
  run.summary.update();
  if (results.length === 1) run.hooks.onStored();
}

/** The evaluator's record of the run, shown at once, then folded into the stored entry. */
async function finishEntry(run) {
  const { entry, suite, model, results, bar, hooks } = run;
  run.summary.stop();
  const state = runState.stopRequested() ? "stopped" : "done";
  await readFacts(entry, model); // while the model is still loaded
  entry.record = await hooks.runRecord(suite, model, entry.settings, entry.started_at, results, entry.warmup,
    entry.engine, entry.machine);
  entry.state = state;
  const saved = Promise.all(run.writes).then(() => finishRun(entry));
  showRun(entry.id, entry.record, { state, source: "live", onExport: () => exportRecord(entry.record),
    finalRecord: null, rowsShown: true, engine: entry.engine, machine: entry.machine });
  bar.set(results.length, run.total, state);
  await saved;
  hooks.onStored();
}

/** The engine's facts (version, memory, context) and the browser's machine, kept on the
 * entry; what cannot be read is a note in them, and a failure costs the run nothing. */
async function readFacts(entry, model) {
  try {
    entry.engine = await readEngine(model);
  } catch (err) {
    console.info(`localrate: engine facts of ${model.id}: ${err.message}`);
  }
  try {
    entry.machine = await browserMachine();
  } catch (err) {
    console.info(`localrate: browser machine: ${err.message}`);
  }
}

/** The evaluator's plan of a case: its skipped result, or its first request. */
function planCase(c, model, entry) {
  const plan = call("plan_case", { case: c, model_id: model.id, caps: model.capabilities,
    settings: entry.settings, context_length: entry.card.context_length ?? null, runtime: model.runtime });
  plan.catch(() => {}); // a plan not reached (Stop) must not be an unhandled rejection
  return plan;
}

/** Wait for one posted request's transcript; Skip aborts it meanwhile. */
async function streamed(run, request) {
  runState.setInFlight(request.ctl);
  run.hooks.updateControls();
  try {
    return await request.transcript;
  } finally {
    runState.setInFlight(null);
    run.hooks.updateControls();
  }
}

/** One attempt's posted request → {transcript}, or null when Stop interrupted it. */
async function runCase(run, c, request, show) {
  show();
  const transcript = await streamed(run, request);
  if (runState.stopRequested()) return null;
  if (transcript.error) console.info(`localrate: ${run.model.id} · ${c.id}: ${transcript.error}`);
  return { transcript };
}

/** An attempt of several requests: after each transcript the evaluator's next_request
 * says what to send next, or that the exchange is over → {transcripts}, or null (Stop). */
async function runExchange(run, c, first, show, post) {
  const { model, entry } = run;
  const transcripts = [];
  show();
  for (let request = first; ;) {
    const transcript = await streamed(run, request);
    if (runState.stopRequested()) return null;
    if (transcript.error) console.info(`localrate: ${model.id} · ${c.id}: ${transcript.error}`);
    transcripts.push(transcript);
    const step = await call("next_request",
      { case: c, model_id: model.id, settings: entry.settings, transcripts, runtime: model.runtime });
    if (step.done) return { transcripts };
    if (runState.stopRequested()) return null;
    liveTurn(transcripts.length + 1);
    request = post(step);
  }
}

