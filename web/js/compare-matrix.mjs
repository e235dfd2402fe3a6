// The case x model matrix of the comparison: one row per case, one cell per run (status,
// k of N, distinct answers, median time). The evaluator's `comparison` decides every cell,
// and which rows each filter (all / failures / different / flaky) keeps; clicking a cell
// opens that case's answers from every run side by side. Untrusted text is text only.

import { el, num, replace } from "./dom.mjs";

const FILTER_NAMES = { all: "all", failures: "failures", different: "different", flaky: "flaky" };

/**
 * Draw the matrix into `box`.
 * @param {HTMLElement} box
 * @param {object} view  the evaluator's comparison
 * @param {{record: object}[]} runs  the runs compared (their records hold the answers)
 * @param {{filter: string, open: string|null}} state  kept across redraws
 */
export function drawMatrix(box, view, runs, state) {
  const { rows, filters } = view.matrix;
  if (!(state.filter in filters)) state.filter = "all";
  const answers = el("div", { class: "answers", "data-testid": "answers", "aria-live": "polite" });
  const body = el("tbody");
  const bar = el("div", { class: "matrix-filters", role: "group", "aria-label": "Show cases" },
    ...view.filters.map((name) => el("button", {
      type: "button", class: "secondary small", "data-testid": "matrix-filter", "data-filter": name,
      "aria-pressed": String(name === state.filter),
      on: { click: () => { state.filter = name; fill(); } },
    }, `${FILTER_NAMES[name] || name} (${filters[name].length})`)));
  const fill = () => {
    for (const b of bar.querySelectorAll("button")) b.setAttribute("aria-pressed", String(b.dataset.filter === state.filter));
    const shown = filters[state.filter].map((i) => rows[i]);
    replace(body, ...(shown.length ? shown.map((row) => rowView(row, view, runs, state, answers))
      : [el("tr", {}, el("td", { colspan: view.runs.length + 1, class: "empty" }, "No case in this view."))]));
  };
  fill();
  const table = el("table", { class: "matrix", "data-testid": "matrix" },
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "case"),
      ...view.runs.map((r) => el("th", { scope: "col", class: "matrix-run" }, r.label)))),
    body);
  replace(box, bar, el("div", { class: "table-wrap" }, table), answers);
  const open = state.open && rows.find((r) => r.id === state.open);
  if (open) showAnswers(answers, open, view, runs);
}

/** A median time: "850 ms" under a second, else "2.4 s". */
function msText(ms) {
  if (ms == null) return "";
  return ms < 1000 ? `${num(ms)} ms` : `${num(ms / 1000, 1)} s`;
}

function cellText(cell) {
  if (cell.status === "skip") return "skip";
  return `${cell.passed}/${cell.attempts}`;
}

function rowView(row, view, runs, state, answers) {
  return el("tr", { "data-testid": "matrix-row", "data-case-id": row.id },
    el("th", { scope: "row", class: "matrix-case" }, row.id),
    ...row.cells.map((cell, i) => {
      if (!cell) return el("td", { class: "cell cell-missing", "data-status": "missing" }, "–");
      const title = `${view.runs[i].label} · ${row.id}: ${cell.status}, ${cell.passed} of ${cell.attempts} passed`
        + `, ${cell.distinct} distinct answer${cell.distinct === 1 ? "" : "s"}`
        + (cell.ms == null ? "" : `, median ${num(cell.ms)} ms`);
      return el("td", { class: `cell cell-${cell.status}`, "data-testid": "matrix-cell", "data-status": cell.status,
        "data-run": view.runs[i].label, "data-flaky": String(cell.flaky) },
      el("button", { type: "button", class: "cell-button", title, "aria-label": title,
        on: { click: () => { state.open = row.id; showAnswers(answers, row, view, runs); } } },
      el("span", { class: `status status-${cell.status === "flaky" ? "flaky" : cell.status}` }, cellText(cell)),
      cell.flaky ? el("span", { class: "flaky-mark", "data-testid": "flaky-mark" }, "flaky") : null,
      cell.distinct > 1 ? el("span", { class: "distinct" }, `${cell.distinct} answers`) : null,
      el("span", { class: "cell-ms" }, msText(cell.ms))));
    }));
}

/** The case's answers from every run, side by side (attempt by attempt). */
function showAnswers(box, row, view, runs) {
  const columns = row.cells.map((cell, i) => {
    const record = runs[i].record;
    const attempts = cell ? cell.index.map((k) => record.cases[k]).filter(Boolean) : [];
    return el("div", { class: "answer-col", "data-testid": "answer-col", "data-run": view.runs[i].label },
      el("h4", {}, view.runs[i].label),
      attempts.length ? el("ol", { class: "attempts" }, ...attempts.map((r, n) => el("li", { "data-status": r.status },
        el("span", { class: `status status-${r.status}` }, r.status),
        attempts.length > 1 ? el("span", { class: "hint" }, ` attempt ${n + 1}`) : null,
        el("pre", { class: "output" }, answerText(r)))))
        : el("p", { class: "empty" }, "Not run."));
  });
  replace(box, el("div", { class: "answers-head" }, el("h4", {}, `Answers to ${row.id}`),
    el("button", { type: "button", class: "link", on: { click: () => replace(box) } }, "close")),
  el("div", { class: "answer-cols" }, ...columns));
}

function answerText(result) {
  if (result.status === "skip" || result.status === "error") return result.detail || "–";
  const calls = (result.tool_calls || []).map((t) => `${t.name}(${t.arguments ?? ""})`);
  const text = [result.output || "", ...calls].filter(Boolean).join("\n");
  return text.length > 4000 ? `${text.slice(0, 4000)}…` : text || "(empty answer)";
}
