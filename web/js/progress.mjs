// Progress of a running batch: one line for the whole batch (attempts done of the total,
// and the time left from the speed measured so far: the evaluator's `progress`), one row
// per model with a bar and a state, and the running summary of the model being rated (the
// evaluator's summarize, asked after each attempt).

import { append, el, replace } from "./dom.mjs";
import { call, scoringFields } from "./evaluator.mjs";
import { setSummary } from "./results.mjs";

/**
 * One model's progress row (`data-state`: queued, running, done, stopped, error).
 * @param {HTMLElement} box  the progress list
 * @param {object} entry     the stored run entry
 * @returns {{set: (done: number, total: number, state: string) => void, fail: () => void}}
 */
export function progressView(box, entry) {
  const bar = el("progress", { max: "1", value: "0" });
  const text = el("span", { class: "progress-text" }, "queued");
  const row = append(box, el("li", { class: "progress-row", "data-testid": "progress", "data-model-id": entry.card.id, "data-state": "queued" },
    el("span", { class: "model-id" }, entry.card.id), bar, text)).lastChild;
  return {
    set(doneCount, total, state) {
      bar.max = total;
      bar.value = doneCount;
      row.dataset.state = state;
      replace(text, `${doneCount} / ${total} attempts${state === "running" ? "" : ` · ${state}`}`);
    },
    fail() {
      row.dataset.state = "error";
      text.append(" · failed");
    },
  };
}

/**
 * The batch's progress line: `add()` after each attempt kept, `end()` when the batch ends.
 * The time is measured from the batch's start (warm-ups included).
 * @param {HTMLElement} line  the progress line
 * @param {number} total  attempts this batch runs (those already stored not counted)
 */
export function batchTracker(line, total) {
  const started = performance.now();
  let done = 0;
  let asked = Promise.resolve();
  const show = () => {
    const args = { done: Math.min(done, total), total, elapsed_ms: Math.round(performance.now() - started) };
    asked = asked.then(() => call("progress", args)).then((p) => {
      line.hidden = false;
      line.dataset.done = String(p.done);
      line.dataset.total = String(p.total);
      line.dataset.remainingMs = p.remaining_ms == null ? "" : String(p.remaining_ms);
      replace(line, p.text);
    }, (err) => console.info(`localrate: progress: ${err.message}`));
  };
  show();
  return {
    add() {
      done += 1;
      show();
    },
    end() {
      show();
    },
  };
}

/**
 * The running summary of one run: `summarize` after a case, at most one call in flight
 * (cases that end meanwhile are counted by the next call); none shown after stop().
 * @param {string} runId
 * @param {object[]} results  the run's case results (grows as cases end)
 * @param {number} passThreshold  the suite's
 * @returns {{update: () => void, stop: () => void}}
 */
export function liveSummary(runId, results, passThreshold) {
  let busy = false;
  let again = false;
  let stopped = false;
  const ask = () => {
    busy = true;
    again = false;
    call("summarize", { results: results.map(scoringFields), pass_threshold: passThreshold })
      .then((s) => { if (!stopped) setSummary(runId, s); },
        (err) => console.info(`localrate: summarize: ${err.message}`))
      .then(() => {
        busy = false;
        if (again && !stopped) ask();
      });
  };
  return {
    update() {
      if (busy) again = true;
      else if (!stopped) ask();
    },
    stop() {
      stopped = true;
    },
  };
}
