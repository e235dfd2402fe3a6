// History and quantisation A/B over the runs saved in this browser: runs of one model on
// one suite over time (pass rate with its 95% interval and median decode speed with its
// q1–q3 bar, drawn as inline SVG; "compare with the previous run" as a diff of cases), and
// one base model in several quantisations side by side. The grouping, the statistics and
// the chart's geometry are the evaluator's (evaluator/history.py: history, trend_chart,
// quant_ab).

import { byId, el, num, pct, replace, svg } from "./dom.mjs";
import { call, ready } from "./evaluator.mjs";
import { listRuns } from "./store.mjs";

const ENDED = ["done", "stopped", "imported"];
const WIDTH = 520;
const HEIGHT = 200;

/** Wire the section. */
export function initHistory() {
  byId("history-button").addEventListener("click", () => show().catch((err) => {
    replace(byId("history"), el("p", { class: "bad" }, `History: ${err.message}`));
    console.error(err);
  }));
}

/** The saved runs' records, each with its engine facts (memory) when they were read. */
async function records() {
  const rows = await listRuns();
  return rows.map((r) => r.entry)
    .filter((e) => e && ENDED.includes(e.state) && e.record && Array.isArray(e.record.cases))
    .map((e) => (e.engine ? { ...e.record, engine: e.engine } : e.record));
}

async function show() {
  await ready;
  const all = await records();
  const [groups, tables] = await Promise.all([call("history", { records: all }), call("quant_ab", { records: all })]);
  const box = replace(byId("history"));
  if (!groups.length && !tables.length) {
    box.append(el("p", { class: "empty" }, `No model has two saved runs of one suite yet, and no base model was run in two quantisations (${all.length} saved run${all.length === 1 ? "" : "s"}).`));
    return;
  }
  for (const group of groups) box.append(await groupView(group));
  for (const table of tables) box.append(quantView(table));
}

async function groupView(group) {
  const chart = await call("trend_chart", { points: group.runs, width: WIDTH, height: HEIGHT });
  const rows = group.runs.map((run, i) => el("tr", {},
    el("td", {}, String(run.started_at ?? "")), el("td", {}, `${pct(run.rate)} (${pct(run.low)}–${pct(run.high)})`),
    el("td", {}, `${run.passed} of ${run.attempts}`), el("td", { "data-testid": "history-speed" }, chart.points[i].speed_text),
    el("td", {}, run.previous ? diffView(run.previous) : "–")));
  return el("section", { class: "history-group", "data-testid": "history-group" },
    el("h3", {}, el("code", {}, group.model), ` · ${group.runtime} · suite ${group.suite}`),
    trendSvg(chart, group),
    el("table", {}, el("thead", {}, el("tr", {}, ...["Run", "Pass rate (95%)", "Passed", "Decode tok/s (median, q1–q3)", "Compared with the previous run"].map((h) => el("th", {}, h)))),
      el("tbody", {}, ...rows)));
}

function diffView(diff) {
  const changed = diff.changed.map((c) => el("li", {}, el("code", {}, c.id), `: ${c.before} → ${c.after}`));
  const gone = diff.only_before.length ? el("li", {}, `only in the earlier run: ${diff.only_before.join(", ")}`) : null;
  const added = diff.only_after.length ? el("li", {}, `new: ${diff.only_after.join(", ")}`) : null;
  return el("details", { "data-testid": "history-diff" },
    el("summary", {}, `${diff.changed.length} case${diff.changed.length === 1 ? "" : "s"} changed · ${diff.verdict}`
      + (diff.difference == null ? "" : ` (${diff.difference >= 0 ? "+" : ""}${num(diff.difference * 100, 1)} points)`)
      + (diff.same_suite ? "" : " · the suite changed")),
    el("ul", {}, ...changed, gone, added));
}

function trendSvg(chart, group) {
  const parts = [];
  for (const t of chart.ticks) {
    parts.push(svg("line", { x1: 28, x2: WIDTH - 28, y1: t.y, y2: t.y, class: "grid" }),
      svg("text", { x: 2, y: t.y + 4, class: "tick" }, t.label));
  }
  const pts = chart.points;
  const line = (key, xKey, cls) => {
    const coords = pts.filter((p) => p[key] != null).map((p) => `${p[xKey]},${p[key]}`);
    if (coords.length > 1) parts.push(svg("polyline", { points: coords.join(" "), class: cls }));
  };
  line("y", "x", "rate-line");
  line("s", "sx", "speed-line");
  pts.forEach((p, i) => {
    if (p.y_low != null) parts.push(svg("line", { x1: p.x, x2: p.x, y1: p.y_low, y2: p.y_high, class: "interval" }));
    if (p.y != null) parts.push(svg("circle", { cx: p.x, cy: p.y, r: 4, class: "rate-dot" }, svg("title", {}, `${group.runs[i].started_at}: ${pct(group.runs[i].rate)}`)));
    if (p.s_low != null) parts.push(svg("line", { x1: p.sx, x2: p.sx, y1: p.s_low, y2: p.s_high, class: "speed-interval", "data-testid": "history-speed-bar" }));
    if (p.s != null) parts.push(svg("rect", { x: p.sx - 3, y: p.s - 3, width: 6, height: 6, class: "speed-dot" }, svg("title", {}, `${group.runs[i].started_at}: ${p.speed_text} tok/s`)));
    parts.push(svg("text", { x: p.x, y: HEIGHT - 6, class: "tick", "text-anchor": "middle" }, p.label));
  });
  return el("figure", { class: "trend" },
    svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, width: "100%", role: "img", "aria-label": `Pass rate and speed of ${group.model} over time`, "data-testid": "history-chart" }, ...parts),
    el("figcaption", { class: "hint" }, chart.legend));
}

function quantView(table) {
  const bytes = (b) => (b == null ? "–" : `${num(b / 1e9, 2)} GB`);
  const delta = (d, unit, digits = 1) => (d == null ? "–" : `${d >= 0 ? "+" : ""}${num(d, digits)}${unit}`);
  const ref = table.reference;
  const rows = table.rows.map((r) => el("tr", { "data-testid": "quant-row" },
    el("td", {}, el("code", {}, r.quant)), el("td", {}, pct(r.rate)),
    el("td", {}, `${delta(r.quality_delta * 100, " pts")} (${delta(r.interval?.[0] * 100, "", 0)} to ${delta(r.interval?.[1] * 100, "", 0)})`),
    el("td", {}, `${r.verdict} (p = ${num(r.p_value, 3)})`), el("td", {}, `${num(r.tok_s, 1)} (${delta(r.speed_delta, "")})`),
    el("td", {}, `${bytes(r.memory_bytes)} (${r.memory_delta == null ? "–" : delta(r.memory_delta / 1e9, " GB", 2)})`)));
  return el("section", { class: "quant-ab", "data-testid": "quant-ab" },
    el("h3", {}, `Quantisations of ${table.base}`, table.size ? ` (${table.size})` : ""),
    el("p", { class: "hint" }, "Against ", el("code", {}, ref.quant), ` (${pct(ref.rate)}, ${num(ref.tok_s, 1)} tok/s, ${bytes(ref.memory_bytes)}): each quantisation's latest run on the same suite; the verdict pairs the cases (exact McNemar, Newcombe interval).`),
    el("table", {}, el("thead", {}, el("tr", {}, ...["Quant", "Pass rate", "Quality Δ (95%)", "Paired verdict", "Decode tok/s (Δ)", "Memory (Δ)"].map((h) => el("th", {}, h)))),
      el("tbody", {}, ...rows)));
}
