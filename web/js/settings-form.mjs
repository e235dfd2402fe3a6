// The run settings of the Rate form: the evaluator's run_settings of what is typed (an
// empty field is "not given": the evaluator's default, or the engine's own for top_p), and
// with "Use the engine's sampling defaults" each model's runtime is asked for its own
// (engine_defaults_plan → parse_engine_defaults → merge_engine_defaults: what the user
// typed wins), as `localrate bench --from-engine` does.

import { byId, report } from "./dom.mjs";
import { observe } from "./discovery.mjs";
import { call } from "./evaluator.mjs";

/** The seed field's value (as typed when it is not a number: the evaluator names the
 * problem), or a new seed: a whole number below 2**31 from crypto.getRandomValues. */
function seedFromForm() {
  const typed = byId("seed-input").value.trim();
  if (typed === "") return crypto.getRandomValues(new Uint32Array(1))[0] >>> 1;
  return /^\d+$/.test(typed) && Number.isSafeInteger(Number(typed)) ? Number(typed) : typed;
}

/** run_settings' arguments as typed (null: not given). */
function explicitSettings() {
  const text = (id) => byId(id).value.trim();
  const number = (id) => (text(id) === "" ? null : Number(text(id)));
  return { max_tokens: number("max-tokens"), timeout_s: number("timeout-s"), seed: seedFromForm(),
    temperature: number("temperature-input"), top_p: number("top-p-input"),
    repeat: Number(byId("repeat-select").value), warmup: byId("warmup-input").checked,
    thinking: byId("thinking-select").value, system: byId("system-input").value };
}

/** One model's settings with its runtime's sampling defaults under what was typed. */
async function fromEngine(card, explicit) {
  const plan = await call("engine_defaults_plan", { runtime: card.runtime, base_url: card.base_url, model_id: card.id });
  let values = {};
  if (plan) {
    const o = await observe(plan.url, { method: plan.method, body: plan.body, tellCors: false });
    const read = await call("parse_engine_defaults", { runtime: card.runtime, status: o.status, body: o.body });
    values = read.values;
    report(`${card.id}: the engine's sampling defaults: ${read.detail}`, "info");
  } else {
    report(`${card.id}: ${card.runtime} does not say its sampling defaults; localrate's are used`, "info");
  }
  const merged = await call("merge_engine_defaults", { explicit, engine: values });
  return call("run_settings", { ...merged.settings, from_engine: merged.from_engine.length ? merged.from_engine : null });
}

/**
 * The run settings for each selected model (one seed for the batch).
 * @param {object[]} cards  the selected model cards
 * @returns {Promise<object[]>}  settings per card, in order
 */
export async function settingsFor(cards) {
  const explicit = explicitSettings();
  let settings;
  if (!byId("from-engine-input").checked) {
    const shared = await call("run_settings", explicit);
    settings = cards.map(() => shared);
  } else settings = await Promise.all(cards.map((card) => fromEngine(card, explicit)));
  await Promise.all(cards.map(async (card) => { // a thinking level the runtime cannot take
    const note = await call("thinking_note", { runtime: card.runtime, thinking: explicit.thinking });
    if (note) report(`${card.id}: ${note}`, "info");
  }));
  return settings;
}
