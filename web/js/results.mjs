// Results: per run, a summary and a table of case results; each row expands to show the
// prompt, the expected condition, the output with the matched text highlighted, the
// reasoning, the tool calls and the evaluator's detail; a case of several requests shows
// its conversation, request by request. Everything untrusted is text.
// A long text (a 50 MB output) shows its first SHOWN_MAX characters, highlighted, and the
// whole of it only on demand, as one text node, so opening its row never freezes the page.

import { byId, el, highlighted, num, pct, replace } from "./dom.mjs";
import { fillReport } from "./run-report.mjs";

/** Characters (UTF-16 code units) of a long text shown before "Show full text". */
export const SHOWN_MAX = 20_000;

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
 * @param {object} record  a run record, or a running run's view of one
 *   (same fields; `summary` may be null, `cases` grows through appendResult)
 * @param {{state?: string, source?: string, onExport?: () => void,
 *   finalRecord?: () => Promise<object>, rowsShown?: boolean, engine?: object,
 *   machine?: object}} meta  `engine` and `machine`: the engine's facts and the browser's
 *   machine, read when the run ended (shown beside its figures); `finalRecord` builds
 *   the run record of a run that is not finished (for the comparison export); `rowsShown`:
 *   the table already shows every case of `record` (appended as they ended), so only the
 *   header and summary are redrawn
 */
export function showRun(id, record, meta = {}) {
  const { rowsShown = false, ...keep } = meta;
  const old = view.get(id);
  view.set(id, { ...old, ...keep, record });
  try {
    render(id, rowsShown);
  } catch (err) {
    if (old) view.set(id, old);
    else view.delete(id);
    throw err;
  }
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
  const box = document.getElementById(sectionId(id))?.querySelector("[data-testid=run-report]");
  if (box) fillReport(box, shown.record, { engine: shown.engine, machine: shown.machine });
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
  const sid = sectionId(id);
  // Everything is built before the page is touched: a record that cannot be drawn leaves
  // no half-drawn section behind.
  const section = document.getElementById(sid);
  const model = record.model || {};
  const suite = record.suite || {};
  const status = state && !["done", "imported"].includes(state) ? el("span", { class: `run-state run-state-${state}` }, state) : null;
  const seed = record.settings?.seed;
  const hasSeed = Number.isSafeInteger(seed);
  const tools = el("div", { class: "run-tools" },
    hasSeed ? el("button", { type: "button", class: "secondary small", "data-testid": "reuse-seed",
      title: "Put this run's seed into the seed field, so the next run draws the same cases",
      on: { click: () => reuseSeed(seed) } }, "Use seed") : null,
    el("button", { type: "button", class: "secondary small", "data-testid": "export-button", on: { click: () => onExport?.() } }, "Export JSON"),
    el("button", { type: "button", class: "link", "aria-label": `Hide ${model.id}`, on: { click: () => hideRun(id) } }, "hide"));
  const header = el("header", { class: "run-head" },
    el("h3", {}, el("span", { class: "model-id" }, model.id || "?"), status),
    el("p", { class: "run-meta" },
      `${model.runtime || "?"} · ${model.base_url || "?"} · ${suite.id || "?"}@${suite.version || "?"}`
      + ` · started ${record.started_at || "?"}${source === "imported" ? " · imported" : ""}`,
      hasSeed ? el("span", { class: "run-seed", "data-testid": "run-seed", "data-seed": String(seed) }, ` · seed ${seed}`) : null),
    tools);
  const table = rowsShown && section?.querySelector(":scope > .table-wrap");
  const figures = section?.querySelector("[data-testid=run-report]")
    || el("div", { class: "run-report", "data-testid": "run-report" });
  const parts = [header, summaryView(record), figures, table || tableView(id, record)];
  replace(section || byId("results").appendChild(el("section", { id: sid, class: "run" })), ...parts);
  const { engine, machine } = view.get(id);
  fillReport(figures, record, { engine: record.engine ?? engine, machine: record.machine ?? machine });
}

/** Fill the seed field with a run's seed (the next run then draws the same cases). */
function reuseSeed(seed) {
  const field = document.getElementById("seed-input");
  if (!field) return;
  field.value = String(seed);
  field.focus();
}

function summaryView(record) {
  const s = record.summary || {};
  const verdict = s.verdict || "n/a";
  const item = (label, value) => el("div", { class: "stat" }, el("dt", {}, label), el("dd", {}, value));
  return el("dl", { class: `summary verdict-${verdict}`, "data-testid": "summary", "data-model-id": record.model?.id || "", "data-verdict": verdict,
    "data-passed-with-remark": s.passed_with_remark ?? null },
    item("pass", `${pct(s.pass_ratio)}`),
    item("verdict", `${verdict} (threshold ${pct(s.pass_threshold)})`),
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
  const attempt = Number.isInteger(result.attempt) ? result.attempt : null;
  const key = `${runId}|${result.id}|${attempt ?? ""}`;
  const open = openRows.has(key);
  const detailId = `d-${sectionId(runId)}-${String(result.id).replace(/[^a-z0-9-]/gi, "")}${attempt == null ? "" : `-a${attempt}`}`;
  const toggle = el("button", { type: "button", class: "row-toggle", "aria-expanded": String(open), "aria-controls": detailId }, result.id);
  const detail = el("tr", { class: "detail-row", id: detailId, hidden: !open },
    el("td", { colspan: COLUMNS.length }, open ? safeDetail(result) : null));
  toggle.addEventListener("click", () => {
    const now = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(now));
    detail.hidden = !now;
    if (now) {
      openRows.add(key);
      if (!detail.firstChild.firstChild) detail.firstChild.appendChild(safeDetail(result));
    } else openRows.delete(key);
  });
  const turns = Array.isArray(result.turns) ? result.turns.length : 0;
  const remark = typeof result.remark === "string" && result.remark ? result.remark : null;
  return [
    el("tr", { class: `result-row row-${result.status}`, "data-testid": "result-row", "data-case-id": result.id, "data-status": result.status,
      "data-remark": remark, "data-turns": turns || null, "data-attempt": attempt },
      el("th", { scope: "row" }, toggle,
        attempt == null ? null : el("span", { class: "row-tag", title: "attempt of this case" }, `attempt ${attempt + 1}`),
        turns > 1 ? el("span", { class: "row-tag", title: "requests in this case's exchange" }, `${turns} requests`) : null),
      el("td", { class: "status-cell" }, el("span", { class: `status status-${result.status}` }, result.status),
        remark ? el("span", { class: "remark", "data-testid": "remark", title: remark }, remark) : null),
      el("td", { class: "n" }, num(result.total_ms)),
      el("td", { class: "n opt" }, num(result.ttft_ms)),
      el("td", { class: "n opt" }, num(result.tok_in)),
      el("td", { class: "n opt" }, num(result.tok_out)),
      el("td", { class: "n opt" }, String((result.tool_calls || []).length)),
      el("td", { class: "n" }, num(result.tok_s, 1))),
    detail];
}

/** What a case expects: the evaluator's own description (a result's `expected`); a record
 * from before it had one shows the check itself. */
function expectText(result, c) {
  if (typeof result.expected === "string") return result.expected;
  return c?.expect ? JSON.stringify(c.expect, null, 2) : "–";
}

function block(label, ...content) {
  return el("div", { class: "detail-block" }, el("h4", {}, label), ...content);
}

/** The end of the shown part of `text`: SHOWN_MAX, or one less not to split a surrogate pair. */
function shownEnd(text) {
  if (text.length <= SHOWN_MAX) return text.length;
  const last = text.charCodeAt(SHOWN_MAX - 1);
  return last >= 0xd800 && last <= 0xdbff ? SHOWN_MAX - 1 : SHOWN_MAX;
}

/**
 * A <pre> of untrusted text: all of it when short; else its first SHOWN_MAX characters
 * (with `spans` highlighted in them) and a button that shows the whole text as one text node.
 * @param {string} text
 * @param {string|null} cls
 * @param {Array<[number, number]>} [spans]  code-point offsets to highlight
 */
function longText(text, cls, spans) {
  const full = typeof text === "string" ? text : String(text ?? "");
  const end = shownEnd(full);
  const shownPart = full.slice(0, end);
  const points = end === full.length ? Infinity : Array.from(shownPart).length;
  const inside = (spans || []).filter((s) => Array.isArray(s) && s[0] < points)
    .map(([a, b]) => [a, Math.min(b, points)]); // highlighted only within the shown part
  const pre = el("pre", { class: cls }, ...(spans ? highlighted(shownPart, inside) : [shownPart]));
  if (end === full.length) return pre;
  const total = num(full.length);
  const note = el("p", { class: "hint truncated", "data-testid": "truncated-note" },
    `Showing the first ${num(end)} of ${total} characters. `);
  const button = el("button", { type: "button", class: "secondary small", "data-testid": "show-full" },
    `Show full text (${total} characters)`);
  button.addEventListener("click", () => {
    replace(pre, document.createTextNode(full)); // one text node, no highlighting
    replace(note, `Showing all ${total} characters${spans ? " (matches are highlighted only in the shortened view)" : ""}.`);
  });
  note.append(button);
  return el("div", { class: "long-text" }, pre, note);
}

/** The detail of one case, or a line saying why it cannot be drawn. */
function safeDetail(result) {
  try {
    return detailView(result);
  } catch (err) {
    console.error("localrate: case detail", err);
    return el("p", { class: "eval-detail" }, `This case cannot be shown: ${err.message}`);
  }
}

function detailView(result) {
  const c = result.case || {};
  const turns = Array.isArray(result.turns) && result.turns.length ? result.turns : null;
  const parts = [];
  if (!turns) { // an exchange shows what it sent in its conversation
    if (c.system) parts.push(block("System", longText(c.system, null)));
    parts.push(block("Prompt", longText(c.input ?? "–", null), c.image ? el("p", { class: "hint" }, "(with an image)") : null));
    if (Array.isArray(c.follow_ups) && c.follow_ups.length) {
      parts.push(block("Follow-ups", el("ol", { class: "follow-ups" }, ...c.follow_ups.map((f) => el("li", {}, longText(f, null))))));
    }
  }
  const made = drawnView(c);
  if (made) parts.push(made);
  parts.push(block("Expected", el("pre", {}, expectText(result, c))));
  parts.push(block(result.status === "skip" ? "Skipped because" : "Evaluator's detail", el("p", { class: "eval-detail" }, result.detail || "–")));
  if (typeof result.remark === "string" && result.remark) {
    parts.push(block("Passed with a remark", el("p", { class: "eval-detail remark-text" }, result.remark)));
  }
  if (result.status !== "skip") {
    if (turns) parts.push(conversationView(result, turns));
    else {
      parts.push(block("Output", longText(result.output || "", "output", result.match || [])));
      if (result.reasoning) parts.push(block("Reasoning", longText(result.reasoning, "reasoning")));
      if ((result.tool_calls || []).length) {
        parts.push(block("Tool calls", ...result.tool_calls.map(toolCallView)));
      }
    }
    const http = turns ? result.transcripts?.at?.(-1)?.status : result.transcript?.status;
    parts.push(el("p", { class: "hint" },
      `tokens from ${result.tokens_source || "–"} · finish reason ${result.finish_reason || "–"}`
      + ` · HTTP ${http ?? "–"}`));
  }
  return el("div", { class: "detail" }, ...parts);
}

function toolCallView(t) {
  return longText(`${t.name}(${t.arguments ?? ""})`, "tool-call");
}

function msText(value) {
  return value == null ? "–" : `${num(value)} ms`;
}

/** The values a generated case drew and the haystack of a sweep instance, or null. */
function drawnView(c) {
  const lines = [];
  if (c.drawn && typeof c.drawn === "object") {
    for (const [name, value] of Object.entries(c.drawn)) lines.push(`${name} = ${JSON.stringify(value)}`);
  }
  const h = c.haystack;
  if (h && typeof h === "object") {
    lines.push(`haystack of about ${num(h.size)} tokens, the needle at ${num(h.depthPercent)}% depth, filler seed ${h.seed}`);
  }
  if (!lines.length) return null;
  return block("Drawn for this run", el("pre", { class: "drawn", "data-testid": "drawn" }, lines.join("\n")));
}

/** One message a request added: a user turn, the system prompt, or a canned tool reply. */
function messageView(m) {
  const role = m?.role === "tool" ? `tool reply${m.tool_call_id ? ` to ${m.tool_call_id}` : ""}` : String(m?.role ?? "?");
  let content = m?.content;
  let image = false;
  if (Array.isArray(content)) {
    image = content.some((part) => part?.type === "image_url");
    content = content.filter((part) => part?.type === "text").map((part) => part.text).join("\n");
  } else if (typeof content !== "string") content = JSON.stringify(content ?? null);
  return el("div", { class: `msg msg-${m?.role === "tool" ? "tool" : m?.role === "system" ? "system" : "user"}`, "data-role": String(m?.role ?? "") },
    el("span", { class: "msg-role" }, role),
    longText(content, null), image ? el("p", { class: "hint" }, "(with an image)") : null);
}

/** One request of an exchange: what it added to the conversation, the model's answer
 * (its text, reasoning, tool calls or error) and its figures. */
function turnView(t, n, spans) {
  const calls = Array.isArray(t.tool_calls) ? t.tool_calls : [];
  const answer = [];
  if (t.output || !calls.length) answer.push(longText(t.output || "", "output", spans || undefined));
  if (t.reasoning) answer.push(longText(t.reasoning, "reasoning"));
  if (calls.length) answer.push(el("p", { class: "msg-sub" }, calls.length === 1 ? "called a tool:" : `called ${calls.length} tools:`), ...calls.map(toolCallView));
  if (t.error) answer.push(el("p", { class: "eval-detail turn-error" }, `error: ${t.error}`));
  const what = t.kind === "tool" ? "tool replies" : n === 0 ? "first turn" : "follow-up";
  return el("li", { class: `turn turn-${t.kind === "tool" ? "tool" : "user"}`, "data-testid": "turn", "data-kind": String(t.kind ?? "") },
    el("h5", {}, `Request ${n + 1} · ${what}`),
    ...(t.sent || []).map(messageView),
    el("div", { class: "msg msg-assistant" }, el("span", { class: "msg-role" }, "model"), ...answer),
    el("p", { class: "hint turn-figures" },
      `TTFT ${msText(t.ttft_ms)} · ${num(t.tok_s, 1)} tok/s · ${num(t.tok_out)} token${t.tok_out === 1 ? "" : "s"} out · ${msText(t.total_ms)}`));
}

/** The conversation of a case of several requests, and its timings: the first request's
 * and the whole exchange's. */
function conversationView(result, turns) {
  const last = turns.length - 1;
  const items = turns.map((t, n) => turnView(t, n, n === last ? result.match : null));
  const timing = el("p", { class: "exchange-timing", "data-testid": "exchange-timing" },
    `First request: TTFT ${msText(result.ttft_ms)} · ${num(result.tok_s, 1)} tok/s. `
    + `Whole exchange (${turns.length} requests): TTFT ${msText(result.exchange_ttft_ms)} · `
    + `${num(result.exchange_tok_s, 1)} tok/s · ${msText(result.total_ms)} in all · ended: ${result.exchange_end || "–"}.`);
  return block("Conversation", timing, el("ol", { class: "conversation", "data-testid": "conversation" }, ...items));
}
