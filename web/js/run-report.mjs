// One run's numbers beside its summary, as the evaluator's run_report gives them: the
// counts by status (in the evaluator's words: attempts for a repeated run), the pass
// rate over attempts with its 95% Wilson interval (overall and per tag), stability (k of N
// per case, flaky cases), the speed profile (TTFT, prefill tok/s with its source, decode
// tok/s, latency median, spread and p95) and the cold start (the warm-up) shown apart;
// then what the engine told (version, memory, context, KV cache) and the browser's
// machine, each figure with its source. Text only.

import { el, num, pct, replace } from "./dom.mjs";
import { call, ready, scoringFields } from "./evaluator.mjs";

const asked = new WeakMap(); // box -> {busy, again, record, facts, last}
const GAP_MS = 1000; // at least this long between two reports of one run (one after each case)

/**
 * Fill `box` with the report of `record` (again when called while one is being made:
 * the latest record is drawn, one evaluator call at a time per box).
 * @param {HTMLElement} box
 * @param {object} record  a run record (or a running run's view of one)
 * @param {{engine?: object, machine?: object}} [facts]  the engine's report and the
 *   browser's machine (evaluator read_engine / browser_machine), when read
 */
export function fillReport(box, record, facts = {}) {
  const state = asked.get(box) || { busy: false, again: false, record: null };
  asked.set(box, state);
  state.record = record;
  state.facts = facts;
  if (state.busy) {
    state.again = true;
    return;
  }
  state.busy = true;
  const go = async () => {
    state.busy = true;
    state.again = false;
    const rec = state.record;
    try {
      await ready;
      const report = await call("run_report", { record: { model: rec.model, settings: rec.settings,
        warmup: rec.warmup ?? null, cases: (rec.cases || []).map(reportFields) } });
      if (!state.again) replace(box, ...reportParts(report), ...factsParts(state.facts));
    } catch (err) {
      console.info(`localrate: run report: ${err.message}`);
      replace(box, el("p", { class: "hint" }, `No figures: ${err.message}`));
    } finally {
      state.last = performance.now();
      if (state.again) setTimeout(go, GAP_MS);
      else state.busy = false;
    }
  };
  setTimeout(go, Math.max(0, (state.last ?? -Infinity) + GAP_MS - performance.now()));
}

/**
 * What run_report reads of a case result: its scoring fields and, for a multi-turn or
 * tool-loop case, the first request of its `turns`, whose prompt tokens over TTFT are the
 * prefill speed (as the CLI computes it; the case's own `tok_in` counts every request).
 * @param {object} result
 */
export function reportFields(result) {
  const fields = scoringFields(result);
  if (Array.isArray(result.turns) && result.turns.length) fields.turns = result.turns.slice(0, 1);
  return fields;
}

function interval(r) {
  return r.rate == null ? "–" : `${pct(r.rate)} (95% ${pct(r.low)}–${pct(r.high)})`;
}

function spreadText(s, unit, digits = 0) {
  if (!s || s.median == null) return "–";
  const range = s.n > 1 ? ` · IQR ${num(s.q1, digits)}–${num(s.q3, digits)}` : "";
  return `${num(s.median, digits)} ${unit}${range} · n ${s.n}`;
}

const SOURCES = { timings: "runtime's own figure", "prompt/ttft": "prompt tokens / TTFT", mixed: "mixed sources" };

function reportParts(report) {
  const o = report.pass_rates.overall;
  const st = report.stability;
  const sp = report.speed;
  const item = (label, value, attrs = {}) => el("div", { class: "stat", ...attrs }, el("dt", {}, label), el("dd", {}, value));
  const prefill = sp.prefill_tok_s;
  const cold = sp.cold_start;
  const figures = el("dl", { class: "figures" },
    item(report.counts.unit, report.counts.statuses, { "data-testid": "counts", "data-unit": report.counts.unit }),
    item("pass rate", `${interval(o)} · ${o.passed} of ${o.attempts} attempts, ${o.cases} cases`,
      { "data-testid": "pass-interval", "data-rate": o.rate ?? "", "data-low": o.low, "data-high": o.high }),
    item("stability", st.repeat > 1 ? `${st.flaky} flaky of ${st.cases.length} cases (${st.repeat} attempts each)`
      : "one attempt per case", { "data-testid": "stability", "data-flaky": st.flaky }),
    item("TTFT", spreadText(sp.ttft_ms, "ms")),
    item("prefill", prefill.median == null ? "– (no prompt token counts)"
      : `${spreadText(prefill, "tok/s", 1)} · from ${SOURCES[prefill.source] || prefill.source}`,
    { "data-testid": "prefill", "data-source": prefill.source ?? "" }),
    item("decode", spreadText(sp.decode_tok_s, "tok/s", 1), { "data-testid": "decode" }),
    item("latency", sp.latency_ms.median == null ? "–"
      : `${spreadText(sp.latency_ms, "ms")} · p95 ${num(sp.latency_ms.p95)} ms`, { "data-testid": "latency" }),
    item("cold start", cold == null ? "no warm-up"
      : cold.status === "ok" ? `TTFT ${num(cold.ttft_ms)} ms · ${num(cold.total_ms)} ms in all`
        : `warm-up failed: ${cold.detail}`, { "data-testid": "cold-start", "data-ttft": cold?.ttft_ms ?? "" }));
  const parts = [figures];
  const tags = Object.entries(report.pass_rates.tags);
  if (tags.length) {
    parts.push(el("details", { class: "tag-rates" }, el("summary", {}, `Pass rate per category (${tags.length})`),
      el("ul", { "data-testid": "tag-rates" }, ...tags.map(([tag, r]) => el("li", { "data-tag": tag, "data-low": r.low, "data-high": r.high },
        el("span", { class: "tag-name" }, tag), ` ${interval(r)} · ${r.passed}/${r.attempts} attempts`)))));
  }
  const flaky = st.cases.filter((c) => c.flaky);
  if (st.repeat > 1) {
    parts.push(el("details", { class: "stability-list", open: flaky.length > 0 },
      el("summary", {}, `Stability per case${flaky.length ? ` · ${flaky.length} flaky` : ""}`),
      el("ul", { "data-testid": "stability-cases" }, ...st.cases.map((c) => el("li", {
        "data-case-id": c.id, "data-flaky": String(c.flaky), class: c.flaky ? "flaky" : null },
      el("span", { class: "tag-name" }, c.id),
      ` ${c.passed} of ${c.attempts} passed · ${c.distinct_answers} distinct answer${c.distinct_answers === 1 ? "" : "s"}`,
      c.flaky ? el("span", { class: "flaky-mark" }, " flaky") : null)))));
  }
  const s = report.settings;
  parts.push(el("p", { class: "hint settings-line", "data-testid": "settings-line" },
    `temperature ${s.temperature} · top_p ${s.top_p ?? "engine's"} · max tokens ${s.max_tokens} · thinking ${s.thinking}`
    + `${s.thinking_applied === false ? " (not sent: this runtime has no switch for it)" : ""}`
    + ` · repeat ${s.repeat} · warm-up ${s.warmup ? "on" : "off"}${s.system ? " · system prompt set" : ""}`));
  return parts;
}

/** A figure's value for reading: bytes in GB, a fraction as a percentage. */
function figureText(key, value) {
  if (typeof value !== "number") return String(value);
  if (key.endsWith("_bytes")) return `${num(value / 1e9, 2)} GB`;
  if (key.endsWith("fraction") || key === "usage") return pct(value);
  return num(value, Number.isInteger(value) ? 0 : 2);
}

function figureList(name, group) {
  const rows = Object.entries(group || {}).filter(([, f]) => f && typeof f === "object" && "value" in f);
  return rows.map(([key, f]) => el("li", { "data-figure": `${name}.${key}`, "data-value": String(f.value), "data-source": f.source },
    el("span", { class: "fig-name" }, `${name} ${key.replace(/_bytes$/, "").replace(/_/g, " ")}`), ` ${figureText(key, f.value)} `,
    el("span", { class: "fig-source" }, `(${f.source})`)));
}

/** The engine's facts and the browser's machine, each figure with its source. */
function factsParts({ engine, machine } = {}) {
  const parts = [];
  if (engine) {
    const items = [
      ...(engine.version ? figureList("engine", { version: engine.version }) : []),
      ...figureList("memory", engine.memory), ...figureList("context", engine.context),
      ...figureList("KV cache", engine.kv_cache), ...figureList("model", engine.details)];
    parts.push(el("details", { class: "engine-facts", "data-testid": "engine-facts", open: true },
      el("summary", {}, `Engine (${engine.runtime}, as it reported at the end of the run)`),
      items.length ? el("ul", {}, ...items) : null,
      ...(engine.notes || []).map((n) => el("p", { class: "hint engine-note", "data-testid": "engine-note" }, n))));
  }
  if (machine) {
    const items = [...figureList("os", { name: machine.os }), ...figureList("cpu", { cores: machine.cores, model: machine.cpu }),
      ...figureList("ram", { ram_bytes: machine.ram_bytes }),
      ...(machine.gpus || []).flatMap((g, i) => figureList(`gpu ${i + 1}`, g))];
    parts.push(el("details", { class: "engine-facts", "data-testid": "machine-facts" },
      el("summary", {}, machine.label || "This browser's machine"),
      items.length ? el("ul", {}, ...items) : el("p", { class: "hint" }, "The browser exposes nothing of it."),
      ...(machine.notes || []).map((n) => el("p", { class: "hint" }, n))));
  }
  return parts;
}
