// Results: per run, a summary and a table of case results; each row expands to show the
// prompt, the expected condition, the output with the matched text highlighted, the
// reasoning, the tool calls and the evaluator's detail. Everything untrusted is text.

import { byId, el, highlighted, num, pct, replace } from "./dom.mjs";

const view = new Map(); // run id -> {record, state, source}
const openRows = new Set(); // `${runId}|${caseId}` of expanded rows
const listeners = new Set();

/** Be told when the set of shown runs changes. @param {(runs: object[]) => void} fn */
export function onViewChange(fn) {
  listeners.add(fn);
}

/** The runs shown, in order: [{id, record, state, source}]. */
export function shownRuns() {
  return [...view.entries()].map(([id, v]) => ({ id, ...v }));
}

/**
 * Show (or update) one run: its header, summary and whole table.
 * @param {string} id
 * @param {object} record  a run record (localrate.run/1), or a running run's view of one
 *   (same fields; `summary` may be null, `cases` grows through appendResult)
 * @param {{state?: string, source?: string, onExport?: () => void,
 *   finalRecord?: () => Promise<object>, rowsShown?: boolean}} meta  `finalRecord` builds
 *   the run record of a run that is not finished (for the comparison export); `rowsShown`:
 *   the table already shows every case of `record` (appended as they ended), so only the
 *   header and summary are redrawn
 */
export function showRun(id, record, meta = {}) {
  const { rowsShown = false, ...keep } = meta;
  const old = view.get(id) || {};
  view.set(id, { ...old, ...keep, record });
  render(id, rowsShown);
  changed();
}

/**
 * Add one case result to a shown run: one table row, nothing else redrawn. The caller has
 * already pushed `result` onto the run's `record.cases`.
 * @param {string} id
 * @param {object} result
 */
export function appendResult(id, result) {
  const body = document.getElementById(sectionId(id))?.querySelector("tbody.result-body");
  if (body) body.append(...rowViews(id, result));
}

/**
 * Replace the summary of a shown run (a running run's summary after each case).
 * @param {string} id
 * @param {object} summary  the evaluator's summary
 */
export function setSummary(id, summary) {
  const shown = view.get(id);
  const old = document.getElementById(sectionId(id))?.querySelector("[data-testid=summary]");
  if (!shown || !old) return;
  shown.record.summary = summary;
  old.replaceWith(summaryView(shown.record));
  changed();
}

/** Stop showing one run. @param {string} id */
export function hideRun(id) {
  view.delete(id);
  document.getElementById(sectionId(id))?.remove();
  changed();
}

/** Stop showing every run. */
export function clearView() {
  for (const id of [...view.keys()]) hideRun(id);
}

function changed() {
  byId("results-empty").hidden = view.size > 0;
  const runs = shownRuns();
  for (const fn of listeners) fn(runs);
}

function sectionId(id) {
  return `run-${id.replace(/[^a-z0-9-]/gi, "")}`;
}

function render(id, rowsShown = false) {
  const { record, state, source, onExport } = view.get(id);
  const box = byId("results");
  const sid = sectionId(id);
  let section = document.getElementById(sid);
  if (!section) {
    section = el("section", { id: sid, class: "run" });
    box.appendChild(section);
  }
  const model = record.model || {};
  const suite = record.suite || {};
  const status = state && !["done", "imported"].includes(state) ? el("span", { class: `run-state run-state-${state}` }, state) : null;
  const tools = el("div", { class: "run-tools" },
    el("button", { type: "button", class: "secondary small", "data-testid": "export-button", on: { click: () => onExport?.() } }, "Export JSON"),
    el("button", { type: "button", class: "link", "aria-label": `Hide ${model.id}`, on: { click: () => hideRun(id) } }, "hide"));
  const header = el("header", { class: "run-head" },
    el("h3", {}, el("span", { class: "model-id" }, model.id || "?"), status),
    el("p", { class: "run-meta" },
      `${model.runtime || "?"} · ${model.base_url || "?"} · ${suite.id || "?"}@${suite.version || "?"}`
      + ` · started ${record.started_at || "?"}${source === "imported" ? " · imported" : ""}`),
    tools);
  const table = rowsShown && section.querySelector(":scope > .table-wrap");
  replace(section, header, summaryView(record), table || tableView(id, record));
}

function summaryView(record) {
  const s = record.summary || {};
  const verdict = s.verdict || "n/a";
  const item = (label, value) => el("div", { class: "stat" }, el("dt", {}, label), el("dd", {}, value));
  return el("dl", { class: `summary verdict-${verdict}`, "data-testid": "summary", "data-model-id": record.model?.id || "", "data-verdict": verdict },
    item("pass", `${pct(s.pass_ratio)}`),
    item("verdict", `${verdict} (threshold ${pct(s.pass_threshold)})`),
    item("cases", `${s.passed ?? 0} pass · ${s.failed ?? 0} fail · ${s.skipped ?? 0} skip · ${s.errors ?? 0} error`),
    item("avg tok/s", num(s.avg_tok_s, 1)),
    item("p95", s.p95_ms == null ? "–" : `${num(s.p95_ms / 1000, 1)} s`),
    item("reasoning", s.reasoning_ratio == null ? "–" : pct(s.reasoning_ratio)));
}

const COLUMNS = ["case", "status", "total ms", "TTFT", "tok in", "tok out", "tools", "tok/s"];
const OPTIONAL = new Set(["TTFT", "tok in", "tok out", "tools"]); // hidden on narrow screens

function tableView(runId, record) {
  const body = el("tbody", { class: "result-body" });
  for (const result of record.cases || []) body.append(...rowViews(runId, result));
  return el("div", { class: "table-wrap" },
    el("table", { class: "results" },
      el("thead", {}, el("tr", {}, ...COLUMNS.map((c, i) => el("th", { scope: "col", class: [i > 1 ? "n" : "", OPTIONAL.has(c) ? "opt" : ""].join(" ").trim() || null }, c)))),
      body));
}

/** The two rows of one case result: the figures and the (lazily filled) detail. */
function rowViews(runId, result) {
  const key = `${runId}|${result.id}`;
  const open = openRows.has(key);
  const detailId = `d-${sectionId(runId)}-${String(result.id).replace(/[^a-z0-9-]/gi, "")}`;
  const toggle = el("button", { type: "button", class: "row-toggle", "aria-expanded": String(open), "aria-controls": detailId }, result.id);
  const detail = el("tr", { class: "detail-row", id: detailId, hidden: !open },
    el("td", { colspan: COLUMNS.length }, open ? detailView(result) : null));
  toggle.addEventListener("click", () => {
    const now = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(now));
    detail.hidden = !now;
    if (now) {
      openRows.add(key);
      if (!detail.firstChild.firstChild) detail.firstChild.appendChild(detailView(result));
    } else openRows.delete(key);
  });
  return [
    el("tr", { class: `result-row row-${result.status}`, "data-testid": "result-row", "data-case-id": result.id, "data-status": result.status },
      el("th", { scope: "row" }, toggle),
      el("td", {}, el("span", { class: `status status-${result.status}` }, result.status)),
      el("td", { class: "n" }, num(result.total_ms)),
      el("td", { class: "n opt" }, num(result.ttft_ms)),
      el("td", { class: "n opt" }, num(result.tok_in)),
      el("td", { class: "n opt" }, num(result.tok_out)),
      el("td", { class: "n opt" }, String((result.tool_calls || []).length)),
      el("td", { class: "n" }, num(result.tok_s, 1))),
    detail];
}

function expectText(expect) {
  if (!expect) return "–";
  const q = (v) => JSON.stringify(v);
  switch (expect.kind) {
    case "contains":
      return `contains ${q(expect.value)}${expect.case_sensitive === false ? " (any case)" : ""}`;
    case "not_contains":
      return `does not contain ${q(expect.value)}`;
    case "exact":
      return `is exactly ${q(expect.value)}`;
    case "regex":
      return `matches /${expect.pattern}/${expect.flags || ""}`;
    case "json_schema":
      return `JSON matching the schema\n${JSON.stringify(expect.schema, null, 2)}`;
    case "tool_call":
      return `calls ${expect.name}${expect.arguments ? ` with arguments matching\n${JSON.stringify(expect.arguments, null, 2)}` : ""}`;
    default:
      return JSON.stringify(expect, null, 2);
  }
}

function block(label, ...content) {
  return el("div", { class: "detail-block" }, el("h4", {}, label), ...content);
}

function detailView(result) {
  const c = result.case || {};
  const parts = [];
  if (c.system) parts.push(block("System", el("pre", {}, c.system)));
  parts.push(block("Prompt", el("pre", {}, c.input ?? "–"), c.image ? el("p", { class: "hint" }, "(with an image)") : null));
  parts.push(block("Expected", el("pre", {}, expectText(c.expect))));
  parts.push(block(result.status === "skip" ? "Skipped because" : "Evaluator's detail", el("p", { class: "eval-detail" }, result.detail || "–")));
  if (result.status !== "skip") {
    parts.push(block("Output", el("pre", { class: "output" }, ...highlighted(result.output || "", result.match))));
    if (result.reasoning) parts.push(block("Reasoning", el("pre", { class: "reasoning" }, result.reasoning)));
    if ((result.tool_calls || []).length) {
      parts.push(block("Tool calls", ...result.tool_calls.map((t) => el("pre", { class: "tool-call" }, `${t.name}(${t.arguments ?? ""})`))));
    }
    parts.push(el("p", { class: "hint" },
      `tokens from ${result.tokens_source || "–"} · finish reason ${result.finish_reason || "–"}`
      + ` · HTTP ${result.transcript?.status ?? "–"}`));
  }
  return el("div", { class: "detail" }, ...parts);
}
