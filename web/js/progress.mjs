// Progress of a running batch: one row per model with a bar and a state, and the running
// summary of the model being rated (the evaluator's summarize, asked after each case).

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
      replace(text, `${doneCount} / ${total}${state === "running" ? "" : ` · ${state}`}`);
    },
    fail() {
      row.dataset.state = "error";
      text.append(" · failed");
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
