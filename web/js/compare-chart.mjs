// The comparison's two charts, drawn as inline SVG (createElementNS, text as text nodes):
// pass rate against decode tok/s with interval bars, the Pareto frontier and labels, and
// the per-category bars with their intervals. Where the labels go (so they never overlap)
// is the evaluator's scatter_layout; this module measures the label texts, asks, and draws.

import { el, num, pct, svg } from "./dom.mjs";
import { call } from "./evaluator.mjs";

const FALLBACK_WIDTH = 560; // when the section is not laid out yet (hidden)
const SCATTER_MAX = 760; // wider, a chart of a few points is mostly empty

/** The width (CSS px) a chart may take in `box`. */
function widthOf(box) {
  const w = box.clientWidth;
  return w > 0 ? w : FALLBACK_WIDTH;
}

/**
 * [width, height, ascent] of each text drawn with `cls` in an SVG inside `box`.
 * @param {HTMLElement} box
 * @param {string[]} texts
 * @param {string} cls
 */
function measure(box, texts, cls) {
  const probe = svg("svg", { class: "chart measure", width: 10, height: 10, "aria-hidden": "true" });
  const nodes = texts.map((t) => probe.appendChild(svg("text", { x: 0, y: 0, class: cls }, t)));
  box.append(probe);
  const sizes = nodes.map((n) => {
    const b = n.getBBox();
    return [Math.ceil(b.width), Math.ceil(b.height), Math.ceil(-b.y)];
  });
  probe.remove();
  return sizes;
}

/**
 * Draw the scatter chart into `box` (replacing what it held).
 * @param {HTMLElement} box  the figure the chart goes in
 * @param {object} view  the evaluator's comparison
 */
export async function drawScatter(box, view) {
  const labels = view.runs.map((r) => r.label);
  const sizes = measure(box, labels, "point-label");
  const [tick] = measure(box, ["100%"], "tick");
  const frontier = view.runs.map((r, i) => [r, i]).filter(([r]) => r.frontier)
    .sort(([a], [b]) => (a.decode_tok_s ?? 0) - (b.decode_tok_s ?? 0)).map(([, i]) => i);
  const points = view.runs.map((r) => ({ x: r.decode_tok_s, y: r.pass.rate, low: r.pass.low, high: r.pass.high }));
  const lay = await call("scatter_layout", { points, sizes, width: Math.min(SCATTER_MAX, widthOf(box)), frontier, tick_size: tick });
  const [left, top, right, bottom] = lay.plot;
  const chart = svg("svg", {
    class: "chart", width: lay.width, height: lay.height, viewBox: `0 0 ${lay.width} ${lay.height}`,
    role: "img", "data-testid": "compare-chart",
    "aria-label": "Pass rate against decode speed, one point per run, with 95% intervals",
  });
  for (const t of lay.y_ticks) {
    chart.append(svg("line", { x1: left, x2: right, y1: t.at, y2: t.at, class: "grid" }),
      svg("text", { x: left - 6, y: t.at + 4, class: "tick", "text-anchor": "end" }, t.text));
  }
  for (const t of lay.x_ticks) {
    chart.append(svg("text", { x: t.at, y: bottom + 16, class: "tick", "text-anchor": t.anchor }, t.text));
  }
  chart.append(
    svg("line", { x1: left, x2: right, y1: bottom, y2: bottom, class: "axis" }),
    svg("line", { x1: left, x2: left, y1: top, y2: bottom, class: "axis" }),
    svg("text", { x: (left + right) / 2, y: bottom + 34, class: "label", "text-anchor": "middle" }, lay.x_title),
    svg("text", { x: 12, y: (top + bottom) / 2, class: "label", "text-anchor": "middle",
      transform: `rotate(-90 12 ${(top + bottom) / 2})` }, lay.y_title));
  if (lay.frontier.length > 1) {
    chart.append(svg("polyline", { class: "frontier", points: lay.frontier.map((p) => p.join(",")).join(" "),
      "data-testid": "frontier" }));
  }
  lay.points.forEach((p, i) => {
    if (!p) return;
    const run = view.runs[i];
    const g = svg("g", { class: `point series-${i % 6}${run.frontier ? " on-frontier" : ""}`,
      "data-testid": "chart-point", "data-label": run.label, "data-frontier": String(run.frontier) },
    svg("title", {}, `${run.label}: ${pct(run.pass.rate)} pass (95% interval ${pct(run.pass.low)}–${pct(run.pass.high)}),`
      + ` ${num(run.decode_tok_s, 1)} tok/s${run.frontier ? ", on the Pareto frontier" : ""}`));
    if (p.bar) {
      g.append(svg("line", { class: "ci", x1: p.cx, x2: p.cx, y1: p.bar[0], y2: p.bar[1] }),
        svg("line", { class: "ci", x1: p.cx - 4, x2: p.cx + 4, y1: p.bar[0], y2: p.bar[0] }),
        svg("line", { class: "ci", x1: p.cx - 4, x2: p.cx + 4, y1: p.bar[1], y2: p.bar[1] }));
    }
    g.append(svg("circle", { cx: p.cx, cy: p.cy, r: 5 }));
    const l = p.label;
    if (l.leader) g.append(svg("line", { class: "leader", x1: l.leader[0], y1: l.leader[1], x2: l.leader[2], y2: l.leader[3] }));
    if (l.in_key) g.append(svg("circle", { cx: l.x - 9, cy: (l.box[1] + l.box[3]) / 2, r: 4 }));
    g.append(svg("text", { x: l.x, y: l.y, class: "point-label", "data-testid": "chart-label" }, run.label));
    chart.append(g);
  });
  box.replaceChildren(chart, el("figcaption", { class: "hint" },
    "Each point is a run: the bar is the 95% Wilson interval of its pass rate; the line joins the runs"
    + " no other run beats on both speed and pass rate (the Pareto frontier). Runs without a decode speed sit at 0."));
}

const BAR = { row: 18, stackedRow: 32, gap: 10, head: 20 };

/**
 * The per-category bars: per tag, one bar per run with its 95% interval. Wide: the run's
 * label left of its bar; narrow (under 640 px): above it, so a long model id keeps its room.
 * @param {HTMLElement} box
 * @param {object} view  the evaluator's comparison
 */
export function drawBars(box, view) {
  if (!view.tags.length) {
    box.replaceChildren(el("p", { class: "hint" }, "The cases have no tags: no per-category figures."));
    return;
  }
  const width = widthOf(box);
  const stacked = width < 640;
  const rowH = stacked ? BAR.stackedRow : BAR.row;
  const labelW = stacked ? 0 : Math.min(230, Math.round(width * 0.34));
  const x0 = stacked ? 0 : labelW + 8;
  const x1 = width - 44;
  const sx = (r) => x0 + r * (x1 - x0);
  const groupH = BAR.head + view.runs.length * rowH + BAR.gap;
  const height = view.tags.length * groupH + 18;
  const chart = svg("svg", { class: "chart bars", width, height, viewBox: `0 0 ${width} ${height}`,
    role: "img", "data-testid": "category-bars", "aria-label": "Pass rate per category and run, with 95% intervals" });
  for (const t of [0, 0.5, 1]) {
    chart.append(svg("line", { x1: sx(t), x2: sx(t), y1: 0, y2: height - 18, class: "grid" }),
      svg("text", { x: sx(t), y: height - 4, class: "tick", "text-anchor": t === 0 && stacked ? "start" : "middle" }, `${t * 100}%`));
  }
  view.tags.forEach((tag, g) => {
    const y = g * groupH;
    chart.append(svg("text", { x: 0, y: y + 14, class: "bar-tag" }, tag.tag));
    tag.runs.forEach((r, i) => {
      const top = y + BAR.head + i * rowH + (stacked ? 14 : 0); // the bar's row
      const run = view.runs[i];
      const mid = top + BAR.row / 2;
      const row = svg("g", { class: `bar series-${i % 6}`, "data-testid": "category-bar", "data-tag": tag.tag,
        "data-label": run.label, "data-rate": r?.rate ?? "", "data-low": r?.low ?? "", "data-high": r?.high ?? "" },
      svg("title", {}, r ? `${run.label} · ${tag.tag}: ${pct(r.rate)} (95% ${pct(r.low)}–${pct(r.high)}), ${r.cases} cases`
        : `${run.label} · ${tag.tag}: not run`),
      stacked ? svg("text", { x: 0, y: top - 3, class: "bar-label" }, run.label)
        : svg("text", { x: labelW, y: mid + 4, class: "bar-label", "text-anchor": "end" }, run.label));
      if (r && r.rate != null) {
        row.append(svg("rect", { x: x0, y: top + 3, width: Math.max(1, sx(r.rate) - x0), height: BAR.row - 6 }),
          svg("line", { class: "ci", x1: sx(r.low), x2: sx(r.high), y1: mid, y2: mid }),
          svg("line", { class: "ci", x1: sx(r.low), x2: sx(r.low), y1: top + 3, y2: top + BAR.row - 3 }),
          svg("line", { class: "ci", x1: sx(r.high), x2: sx(r.high), y1: top + 3, y2: top + BAR.row - 3 }),
          svg("text", { x: x1 + 6, y: mid + 4, class: "bar-value" }, pct(r.rate)));
      } else row.append(svg("text", { x: x0 + 4, y: mid + 4, class: "bar-value" }, "not run"));
      chart.append(row);
    });
  });
  box.replaceChildren(chart);
}
