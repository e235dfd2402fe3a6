// Client of the Pyodide worker: `call(op, args)` sends one JSON string to
// evaluator.page_api.call and resolves with its value (or rejects with its one-line error).

import { report } from "./dom.mjs";

let worker = null;
let nextId = 1;
const pending = new Map();
const listeners = new Set();
let readyResolve;
let readyReject;

/** Resolves when Python and the evaluator are loaded; rejects when loading failed. */
export const ready = new Promise((resolve, reject) => {
  readyResolve = resolve;
  readyReject = reject;
});
ready.catch(() => {});

/** The last status message from the worker: {stage, message, ms, restored}, and `saved`:
 * this browser holds a snapshot of this evaluator for the next visit (restored from one,
 * or a new one written after "ready"); `note`: why Python was not restored or no snapshot
 * is kept (a failed restore, no Cache Storage, a failed write), else null. */
export let state = { stage: "starting", message: "starting Python", ms: null, restored: false, saved: false,
  note: null };

/**
 * Listen to loading-status changes.
 * @param {(s: {stage: string, message: string, ms: number|null, restored: boolean,
 *   saved: boolean}) => void} fn
 */
export function onStatus(fn) {
  listeners.add(fn);
  fn(state);
}

function setState(next) {
  state = next;
  for (const fn of listeners) fn(state);
}

/**
 * Start the worker.
 * @param {string} workerUrl  URL of worker.mjs (a module worker)
 * @param {{pyodide: object, evaluator_zip: string}} pageData
 */
export function start(workerUrl, pageData) {
  try {
    worker = new Worker(workerUrl, { type: "module", name: "localrate-evaluator" });
  } catch (err) {
    fail(`could not start the Python worker: ${err.message}`);
    return;
  }
  worker.onmessage = (event) => onMessage(event.data);
  worker.onerror = (event) => {
    event.preventDefault?.();
    fail(`the Python worker failed: ${event.message || "unknown error (see the console)"}`);
  };
  worker.postMessage({ type: "init", pyodide: pageData.pyodide, evaluator_zip: pageData.evaluator_zip });
}

function fail(message) {
  setState({ stage: "error", message, ms: null, restored: false, saved: false, note: null });
  report(`Evaluator: ${message}`);
  readyReject(new Error(message));
  for (const [, p] of pending) p.reject(new Error(message));
  pending.clear();
}

function onMessage(data) {
  if (data.type === "snapshot") {
    setState({ ...state, saved: !!data.saved, note: data.note ?? state.note });
    return;
  }
  if (data.type === "status") {
    if (data.stage === "error") return fail(data.message);
    const restored = !!data.restored;
    setState({ stage: data.stage, message: data.message, ms: data.ms ?? null, restored, saved: restored,
      note: data.note ?? null });
    if (data.stage === "ready") {
      performance.mark("localrate:evaluator-ready");
      readyResolve();
    }
    return;
  }
  const p = pending.get(data.id);
  if (!p) return;
  pending.delete(data.id);
  let reply;
  try {
    reply = JSON.parse(data.reply);
  } catch (err) {
    p.reject(new Error(`evaluator sent a reply that is not JSON: ${String(data.reply).slice(0, 60)}`));
    return;
  }
  if (reply.ok) p.resolve(reply.value);
  else p.reject(new Error(reply.error || "evaluator error"));
}

/**
 * Call one evaluator operation through its JSON entry point (evaluator.page_api).
 * @param {string} op     the operation (interpret_probe, score_case, ...)
 * @param {object} args   JSON-able arguments
 * @returns {Promise<any>} the operation's value
 */
export async function call(op, args = {}) {
  if (!worker) throw new Error("the Python worker is not running");
  if (state.stage === "error") throw new Error(state.message);
  const id = nextId++;
  const request = JSON.stringify({ op, args });
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject, op });
    worker.postMessage({ id, request });
  });
}

/**
 * A case result without the fields that only scoring, re-scoring and the expanded row
 * read (its transcript, an exchange's transcripts and turns, its case copy): what
 * `summarize` and `run_record` are sent, so the worker is not handed every transcript
 * again after each case. The evaluator's summary never reads them
 * (tests/test_result_summary.py checks).
 * @param {object} result
 */
export function scoringFields(result) {
  const { transcript: _t, transcripts: _ts, turns: _tu, case: _c, ...rest } = result;
  return rest;
}
