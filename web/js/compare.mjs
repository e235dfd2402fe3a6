// Side by side: every run shown, compared. A table of the runs (at once, from their
// summaries), then what the evaluator's `comparison` decides: the paired verdict of two
// runs (difference, interval, method), the chart of pass rate against decode speed, the
// per-category bars and the case x model matrix. Built with createElement/createElementNS
// only; model ids and answers are text nodes.

import { byId, el, num, pct, replace } from "./dom.mjs";
import { call, ready, scoringFields } from "./evaluator.mjs";
import { drawBars, drawScatter } from "./compare-chart.mjs";
import { drawMatrix } from "./compare-matrix.mjs";

let latest = []; // the runs last asked to be shown
let busy = false;
let again = false;
let lastView = null; // {view, runs}: the comparison drawn (redrawn on resize)
const matrixState = { filter: "all", open: null };
const pair = { a: null, b: null }; // run ids of the paired verdict (null: the first two)

/**
 * Render the comparison of these runs (the table at once, the rest when the evaluator
 * answers; changes meanwhile are drawn by the next call, one call in flight at a time).
 * @param {{id: string, record: object, state?: string}[]} runs
 */
export function renderComparison(runs) {
  const box = byId("compare");
  byId("compare-section").hidden = runs.length === 0;
  latest = runs;
  if (!runs.length) {
    lastView = null;
    replace(box);
    return;
  }
  if (!box.querySelector("[data-testid=compare-table]")) {
    replace(box, el("div", { id: "compare-table-box" }), el("div", { id: "compare-views" }));
  }
  replace(byId("compare-table-box"), tableView(runs));
  if (busy) again = true;
  else {
    busy = true; // until the next analysis starts: later calls only ask for another
    setTimeout(analyse, Math.max(0, lastEnd + GAP_MS - performance.now()));
  }
}

const GAP_MS = 1000; // at least this long between two analyses (a run redraws after each case)
let lastEnd = -Infinity;

async function analyse() {
  busy = true;
  again = false;
  const runs = latest;
  try {
    if (!runs.length) return; // cleared meanwhile
    await ready;
    const ids = runs.map((r) => r.id);
    const a = Math.max(0, ids.indexOf(pair.a));
    let b = ids.indexOf(pair.b);
    if (b < 0 || b === a) b = a === 0 ? 1 : 0;
    const records = runs.map(({ record }) => ({ model: record.model, suite: record.suite, settings: record.settings,
      cases: (record.cases || []).map(scoringFields) }));
    const view = await call("comparison", { records, a, b: runs.length > 1 ? b : 1 });
    if (!again) await draw(view, runs);
  } catch (err) {
    console.error("localrate: comparison", err);
    const views = document.getElementById("compare-views");
    if (views) replace(views, el("p", { class: "eval-detail" }, `The comparison cannot be shown: ${err.message}`));
  } finally {
    lastEnd = performance.now();
    busy = false;
    if (again) renderComparison(latest);
  }
}

async function draw(view, runs) {
  const views = document.getElementById("compare-views");
  if (!views) return; // the comparison was cleared meanwhile
  const scatter = el("figure", { class: "chart-wrap" });
  const bars = el("div", { class: "bars-wrap" });
  const matrix = el("div", { class: "matrix-wrap" });
  replace(views,
    runsView(view),
    view.paired ? verdictView(view, runs) : null,
    el("h3", { class: "compare-h" }, "Pass rate against speed"), scatter,
    el("h3", { class: "compare-h" }, "Per category"), bars,
    el("h3", { class: "compare-h" }, "Case by case"), matrix);
  lastView = { view, runs };
  drawnWidth = document.getElementById("compare")?.clientWidth || 0;
  await drawScatter(scatter, view);
  drawBars(bars, view);
  drawMatrix(matrix, view, runs, matrixState);
}

let resizeTimer = 0;
let drawnWidth = 0;
window.addEventListener("resize", () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => {
    const width = document.getElementById("compare")?.clientWidth || 0;
    if (!lastView || Math.abs(width - drawnWidth) < 16) return;
    if (busy) { again = true; return; } // drawn again, at this width, once the analysis ends
    draw(lastView.view, lastView.runs).catch((err) => console.error("localrate: comparison", err));
  }, 150);
});

/** Each run's pass rate over its attempts, with its 95% Wilson interval, and its speed. */
function runsView(view) {
  return el("ul", { class: "run-rates", "data-testid": "run-rates" }, ...view.runs.map((r, i) => el("li", {
    class: `series-${i % 6}`, "data-testid": "run-rate", "data-label": r.label, "data-rate": r.pass.rate ?? "",
    "data-low": r.pass.low, "data-high": r.pass.high, "data-frontier": String(r.frontier) },
  el("span", { class: "swatch", "aria-hidden": "true" }), el("span", { class: "model-id" }, r.label),
  ` ${pct(r.pass.rate)} (95% ${pct(r.pass.low)}–${pct(r.pass.high)}) · ${r.pass.passed} of ${r.pass.attempts} attempts`
  + ` over ${r.pass.cases} cases · ${num(r.decode_tok_s, 1)} tok/s`,
  r.frontier ? el("span", { class: "frontier-mark", title: "No other run is both faster and better" }, "Pareto") : null)));
}

function signed(points) {
  const v = Math.round(points * 100);
  return `${v > 0 ? "+" : v < 0 ? "−" : "±"}${Math.abs(v)}`;
}

/** The paired verdict of runs A and B: who is better, the difference with its interval,
 * how it was decided, and the settings that differ. */
function verdictView(view, runs) {
  const p = view.paired;
  const picker = (which, index) => el("select", { "data-testid": `pair-${which}`, "aria-label": `Run ${which.toUpperCase()}`,
    on: { change: (event) => { pair[which] = runs[Number(event.target.value)].id; renderComparison(latest); } } },
  ...view.runs.map((r, i) => el("option", { value: i, selected: i === index }, r.label)));
  const choose = runs.length > 2 ? el("p", { class: "pair-pick" }, "Compare ", picker("a", p.a_index), " with ", picker("b", p.b_index)) : null;
  const verdict = p.verdict === "A better" ? `${p.a_label} is better` : p.verdict === "B better" ? `${p.b_label} is better` : "Within noise";
  const [low, high] = p.interval;
  const diff = p.difference == null ? "no case in common"
    : `${signed(p.difference)} points for ${p.a_label} (95% interval ${signed(low)} to ${signed(high)})`;
  const differ = p.settings_differ.map((d) => `${d.field.replace(/^settings\./, "")}: ${JSON.stringify(d.a)} vs ${JSON.stringify(d.b)}`);
  return el("div", { class: `verdict-box verdict-${p.verdict.replace(/ /g, "-")}`, "data-testid": "paired-verdict",
    "data-verdict": p.verdict, "data-difference": p.difference ?? "", "data-low": low, "data-high": high },
  el("h3", { class: "compare-h" }, `Paired comparison: ${p.a_label} (A) vs ${p.b_label} (B)`), choose,
  el("p", { class: "verdict-line" }, el("strong", {}, verdict), ` · ${diff}`),
  el("p", { class: "hint" }, `${p.cases} cases answered by both: A ahead on ${p.a_wins}, B ahead on ${p.b_wins}, `
    + `${p.ties} even; p = ${num(p.p_value, 4)} (verdict at p < ${p.alpha}).`),
  el("p", { class: "hint method" }, `Method: ${p.method}.`),
  p.same_suite ? null : el("p", { class: "eval-detail warn" }, "The two runs used different suites: the cases may not be the same."),
  differ.length ? el("p", { class: "eval-detail warn", "data-testid": "settings-differ" }, `Settings differ: ${differ.join("; ")}`) : null);
}

function tableView(runs) {
  const head = ["model", "runtime", "suite", "pass", "verdict", "pass/fail/skip/error", "avg tok/s", "p95", "reasoning"];
  return el("div", { class: "table-wrap" }, el("table", { class: "compare", "data-testid": "compare-table" },
    el("thead", {}, el("tr", {}, ...head.map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, ...runs.map(({ record, state }) => {
      const s = record.summary || {};
      return el("tr", { "data-model-id": record.model?.id || "" },
        el("th", { scope: "row" }, el("span", { class: "model-id" }, record.model?.id || "?"),
          state && state !== "done" ? el("span", { class: `run-state run-state-${state}` }, state) : null),
        el("td", {}, record.model?.runtime || "?"),
        el("td", {}, `${record.suite?.id || "?"}@${record.suite?.version || "?"}`),
        el("td", { class: "n" }, pct(s.pass_ratio)),
        el("td", {}, el("span", { class: `status verdict-${s.verdict}` }, s.verdict || "n/a")),
        el("td", { class: "n" }, `${s.passed ?? 0}/${s.failed ?? 0}/${s.skipped ?? 0}/${s.errors ?? 0}`),
        el("td", { class: "n" }, num(s.avg_tok_s, 1)),
        el("td", { class: "n" }, s.p95_ms == null ? "–" : `${num(s.p95_ms / 1000, 1)} s`),
        el("td", { class: "n" }, pct(s.reasoning_ratio)));
    }))));
}
