// Side by side: a table of every run shown and an SVG chart of pass % against decode
// speed. Built with createElement/createElementNS only; model ids are text nodes.

import { byId, el, num, pct, replace, svg } from "./dom.mjs";

const W = 560;
const H = 300;
const PAD = { left: 52, right: 24, top: 30, bottom: 44 };

/**
 * Render the comparison of these runs.
 * @param {{id: string, record: object, state?: string}[]} runs
 */
export function renderComparison(runs) {
  const box = byId("compare");
  byId("compare-section").hidden = runs.length === 0;
  if (!runs.length) {
    replace(box);
    return;
  }
  replace(box, tableView(runs), chartView(runs));
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

function niceMax(value) {
  if (!(value > 0)) return 10;
  const step = 10 ** Math.floor(Math.log10(value));
  return Math.ceil((value * 1.1) / step) * step;
}

function chartView(runs) {
  const points = runs.map(({ record }) => ({
    id: record.model?.id || "?",
    x: record.summary?.avg_tok_s,
    y: record.summary?.pass_ratio,
  }));
  const maxX = niceMax(Math.max(0, ...points.map((p) => p.x || 0)));
  const iw = W - PAD.left - PAD.right;
  const ih = H - PAD.top - PAD.bottom;
  const sx = (x) => PAD.left + (x / maxX) * iw;
  const sy = (y) => PAD.top + (1 - y) * ih;
  const chart = svg("svg", {
    class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "data-testid": "compare-chart",
    "aria-label": "Pass rate against decode speed, one point per model",
  });
  for (const y of [0, 0.25, 0.5, 0.75, 1]) {
    chart.append(
      svg("line", { x1: PAD.left, x2: W - PAD.right, y1: sy(y), y2: sy(y), class: "grid" }),
      svg("text", { x: PAD.left - 8, y: sy(y) + 4, class: "tick", "text-anchor": "end" }, `${y * 100}%`));
  }
  for (let i = 0; i <= 4; i++) {
    const x = (maxX / 4) * i;
    chart.append(svg("text", { x: sx(x), y: H - PAD.bottom + 18, class: "tick", "text-anchor": "middle" }, num(x, maxX < 8 ? 1 : 0)));
  }
  chart.append(
    svg("line", { x1: PAD.left, x2: W - PAD.right, y1: sy(0), y2: sy(0), class: "axis" }),
    svg("line", { x1: PAD.left, x2: PAD.left, y1: PAD.top, y2: sy(0), class: "axis" }),
    svg("text", { x: PAD.left + iw / 2, y: H - 6, class: "label", "text-anchor": "middle" }, "decode speed (avg tok/s)"),
    svg("text", { x: 14, y: PAD.top + ih / 2, class: "label", "text-anchor": "middle", transform: `rotate(-90 14 ${PAD.top + ih / 2})` }, "pass rate"));
  points.forEach((p, i) => {
    if (p.y == null) return;
    const x = sx(p.x || 0);
    const y = sy(p.y);
    const right = x > W - PAD.right - 140;
    chart.append(svg("g", { class: `point series-${i % 6}` },
      svg("title", {}, `${p.id}: ${pct(p.y)} pass, ${num(p.x, 1)} tok/s`),
      svg("circle", { cx: x, cy: y, r: 6 }),
      svg("text", { x: right ? x - 10 : x + 10, y: y - 8, class: "point-label", "text-anchor": right ? "end" : "start" },
        p.id.length > 28 ? `${p.id.slice(0, 27)}…` : p.id)));
  });
  return el("figure", { class: "chart-wrap" }, chart,
    el("figcaption", { class: "hint" }, "Runs without a decode speed sit at 0 tok/s; runs with nothing scored are left out."));
}
