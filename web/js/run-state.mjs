// The rating run's state, in one place: whether a batch runs, whether Stop was pressed,
// the request being streamed (what Skip aborts) and every request posted and not finished
// (what Stop aborts). rating.mjs changes it only through these functions.

const state = {
  running: false,
  stopRequested: false,
  evaluatorReady: false,
  /** @type {AbortController | null} */
  inFlight: null,
  /** @type {Set<AbortController>} */
  posted: new Set(),
};

/** Whether a batch is running now (a stored "running" entry from another load is not). */
export const isRunning = () => state.running;
/** Whether Stop was pressed during this batch. */
export const stopRequested = () => state.stopRequested;
/** Whether the evaluator (Python) answered `ready`. */
export const evaluatorReady = () => state.evaluatorReady;
/** Whether a request is being streamed now (Skip has something to abort). */
export const streaming = () => state.inFlight !== null;

export function setEvaluatorReady() {
  state.evaluatorReady = true;
}

/** A batch starts: Stop is cleared. */
export function beginBatch() {
  state.running = true;
  state.stopRequested = false;
}

/** The batch ended (done, stopped or failed). */
export function endBatch() {
  state.running = false;
  state.inFlight = null;
}

/** Stop: abort every posted request, the one waiting behind the running one too. */
export function stop() {
  state.stopRequested = true;
  for (const ctl of state.posted) ctl.abort("stopped by the user");
}

/** Skip: abort the request being streamed. */
export function skip() {
  state.inFlight?.abort("skipped by the user");
}

/**
 * A request was posted: Stop aborts it until it finishes.
 * @param {AbortController} ctl
 * @param {Promise<unknown>} finished
 */
export function track(ctl, finished) {
  state.posted.add(ctl);
  finished.finally(() => state.posted.delete(ctl));
}

/** @param {AbortController | null} ctl  the request being streamed now, or null */
export function setInFlight(ctl) {
  state.inFlight = ctl;
}
