// Discovery: probe every runtime from the browser, show a status strip, hand the model
// cards to the models view. The raw observation is shown at once; what it means (state,
// detail, models, capability chips) comes from the evaluator as soon as Python is ready.

import { append, byId, el, replace, report } from "./dom.mjs";
import { call, ready } from "./evaluator.mjs";
import { allowedHosts, loadCustom, renderCustom } from "./custom.mjs";
import { requestOptions } from "./keys.mjs";
import { firstMatch } from "./match.mjs";

let pageData = null;
let generation = 0;
let cardsCallback = () => {};
const cardsByRow = new Map();
let answered = () => {};

/** Resolves once every built-in probe of the first scan has its raw answer (or discovery
 * failed to start): from then on the page may load the rest and start Python, whose
 * start keeps both cores busy. */
export const firstAnswers = new Promise((resolve) => { answered = resolve; });

/**
 * Start discovery: render the strip, probe, and keep probing on Rescan.
 * @param {object} data  page data (pagedata.mjs)
 */
export function initDiscovery(data) {
  try {
    pageData = data;
    byId("rescan").addEventListener("click", () => scan());
    renderCustom(byId("custom-endpoints"), () => scan());
    watchPermission();
    scan().catch((err) => report(`Discovery failed: ${err.message}`));
  } catch (err) {
    answered();
    throw err;
  }
}

/**
 * Be given every model card found, now and after every change.
 * @param {(cards: object[]) => void} fn
 */
export function onCards(fn) {
  cardsCallback = fn;
  emitCards();
}

/** Set a performance mark once per page (the benchmark reads the first). */
function markOnce(name) {
  if (!performance.getEntriesByName(name, "mark").length) performance.mark(name);
}

function label(runtime) {
  const row = (pageData.discovery?.runtimes || []).find((r) => r.name === runtime);
  return row ? row.label : runtime;
}

/** The probe timeout, from the evaluator's discovery table (baked in at build time). */
function probeTimeoutMs() {
  return pageData.discovery.probe_timeout_s * 1000;
}

/** Fill `{name}` fields of an evaluator text with `values`. */
function fill(text, values) {
  return String(text).replace(/\{(\w+)\}/g, (all, name) => (name in values ? String(values[name]) : all));
}

/**
 * The model ids in a list probe's raw answer, found where the evaluator's table says they
 * are (list_keys, id_keys), so cards show before Python is ready. Python's reading
 * (interpret_probe, merge_metadata) replaces these cards, with their chips.
 */
function provisionalCards(row, o) {
  if (!(o.status >= 200 && o.status < 300) || !o.body) return [];
  let doc;
  try {
    doc = JSON.parse(o.body);
  } catch {
    return [];
  }
  const table = pageData.discovery || {};
  const key = (table.list_keys || []).find((k) => Array.isArray(doc?.[k]));
  if (!key) return [];
  const ids = doc[key].map((entry) => (table.id_keys || [])
    .map((k) => entry?.[k]).find((v) => typeof v === "string" && v));
  return [...new Set(ids.filter(Boolean))].map((id) => ({
    id, runtime: row.plan.runtime, base_url: row.plan.base_url, label: label(row.plan.runtime),
    kind: "chat", capabilities: [], provisional: true,
  }));
}

function recipe(runtime) {
  const row = (pageData.discovery?.runtimes || []).find((r) => r.name === runtime);
  return row ? String(row.recipe).replaceAll("{origin}", location.origin) : "";
}

/** Probe everything again (built-in probes now, custom ones once Python can plan them). */
export async function scan() {
  const gen = ++generation;
  cardsByRow.clear();
  emitCards();
  const strip = replace(byId("runtime-strip"));
  const builtIn = (pageData.probes || []).map((plan) => ({ key: plan.runtime, plan }));
  // Each probeRow sends its request before its first await: the requests are out now.
  const raw = [];
  const jobs = builtIn.map((row) => probeRow(row, strip, gen, raw));
  markOnce("localrate:probes-sent");
  Promise.all(raw).then(answered);
  jobs.push(updateNote());
  const custom = loadCustom();
  if (custom.length) {
    const placeholder = append(strip, el("li", { class: "runtime-row state-checking" },
      "Custom endpoints: waiting for the evaluator to plan their probes…")).lastChild;
    jobs.push(customRows(custom).then((rows) => {
      placeholder.remove();
      if (gen !== generation) return;
      return Promise.all(rows.map((row) => probeRow(row, strip, gen)));
    }).catch((err) => {
      placeholder.remove();
      report(`Custom endpoints: ${err.message}`);
    }));
  }
  await Promise.all(jobs);
  await updateNote();
}

/** Show the Local Network Access note on a public origin until the permission is granted. */
async function updateNote() {
  byId("lna-note").hidden = !publicOrigin() || (await permissionState()) === "granted";
}

async function customRows(custom) {
  await ready;
  const plan = await call("probe_plan", { env: {}, custom, allowed_hosts: allowedHosts() });
  const standard = (pageData.discovery?.runtimes || []).length;
  return plan.slice(standard).map((p) => ({
    key: `custom-${new URL(p.base_url).host.replace(/[^a-z0-9]+/gi, "-")}`, plan: p, custom: true,
  }));
}

/** One runtime row: probe, show the raw answer, then the evaluator's reading of it. */
async function probeRow(row, strip, gen, raw = []) {
  const view = rowView(row);
  strip.appendChild(view.root);
  // A custom endpoint may have an API key and another address space (keys.mjs); built-in
  // probes (127.0.0.1) go out at once.
  const extra = row.custom ? await requestOptions(row.plan.url).catch(() => ({ headers: {}, space: null }))
    : { headers: {}, space: "loopback" };
  const withKey = Object.keys(extra.headers).length > 0;
  const observed = observe(row.plan.url, extra).then((o) => (withKey ? { ...o, with_key: true } : o));
  raw.push(observed);
  const observation = await observed;
  if (gen !== generation) return;
  // Asked after the fetch: the fetch is what makes Chrome prompt the visitor.
  const permission = await permissionState();
  if (permission) observation.permission = permission;
  view.setRaw(observation);
  markOnce("localrate:first-probe");
  const early = provisionalCards(row, observation);
  if (early.length && !cardsByRow.has(row.key)) {
    cardsByRow.set(row.key, early);
    emitCards();
  }
  try {
    await ready;
    const found = await call("interpret_probe", { plan_row: row.plan, observation });
    if (gen !== generation) return;
    view.setState(found, observation);
    if (found.state !== "up") console.info(`localrate: ${row.plan.url}: ${found.state}: ${found.detail}`);
    const cards = await Promise.all(found.models.map((m) => describe(m)));
    if (gen !== generation) return;
    cardsByRow.set(row.key, cards);
    emitCards();
  } catch (err) {
    if (cardsByRow.delete(row.key)) emitCards(); // no provisional cards for a row not read
    view.setError(err.message);
    report(`Discovery of ${row.plan.url}: ${err.message}`);
  }
}

/**
 * Send a request with a timeout; return the raw observation the evaluator interprets.
 * A failed fetch is `error: "network"` (closed port or CORS, the browser cannot tell), or,
 * with `tellCors` (probes), `error: "cors"` when an opaque no-cors GET got an answer: the
 * port is open and CORS refused this page. interpret_probe turns either into a state.
 * @param {string} url
 * `headers`: an endpoint's API key header (keys.mjs), sent with the real request only;
 * `space`: the targetAddressSpace the fetches name (null: none).
 * @param {{method?: string, body?: object|null, timeoutMs?: number, tellCors?: boolean, headers?: Record<string, string>, space?: string|null}} [opts]
 * @returns {Promise<{status: number|null, body: string|null, error: string|null, elapsed_ms: number}>}
 */
export async function observe(url, { method = "GET", body = null, timeoutMs = probeTimeoutMs(), tellCors = true, headers = {}, space = "loopback" } = {}) {
  const t0 = performance.now();
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), timeoutMs);
  const done = (o) => ({ ...o, elapsed_ms: Math.round((performance.now() - t0) * 10) / 10 });
  // A CORS refusal and a closed port look the same to fetch. An opaque (no-cors) GET
  // tells them apart: it succeeds when anything answers on the port at all. It is sent
  // alongside the real request, so a refusal is known as soon as the request fails.
  // (Probes only: a metadata request's failure needs no such reading.)
  const opaque = tellCors && method === "GET" ? answersOpaquely(url, ctl.signal, space) : Promise.resolve(false);
  try {
    const init = { method, signal: ctl.signal, cache: "no-store", ...(space ? { targetAddressSpace: space } : {}) };
    if (Object.keys(headers).length) init.headers = { ...headers };
    if (body != null) {
      init.body = JSON.stringify(body);
      init.headers = { ...headers, "Content-Type": "application/json" };
    }
    const response = await fetch(url, init);
    const text = await response.text();
    return done({ status: response.status, body: text, error: null });
  } catch (err) {
    if (ctl.signal.aborted) return done({ status: null, body: null, error: "timeout" });
    console.info(`localrate: ${url}: ${err.message}`);
    return done({ status: null, body: null, error: (await opaque) ? "cors" : "network" });
  } finally {
    clearTimeout(timer);
  }
}

async function answersOpaquely(url, signal, space) {
  try {
    await fetch(url, { mode: "no-cors", cache: "no-store", signal, ...(space ? { targetAddressSpace: space } : {}) });
    return true;
  } catch {
    return false;
  }
}

/** A model card: the metadata requests of the evaluator's plan, merged by the evaluator. */
async function describe(model) {
  const plan = await call("metadata_plan", { model_row: model });
  const responses = await Promise.all(plan.map(async (req) => {
    const extra = await requestOptions(req.url).catch(() => ({ headers: {}, space: "loopback" }));
    const o = await observe(req.url, { method: req.method, body: req.body, timeoutMs: req.timeout_s * 1000, tellCors: false, ...extra });
    return { url: req.url, status: o.status, body: o.body };
  }));
  return call("merge_metadata", { model_row: model, responses });
}

function emitCards() {
  cardsCallback([...cardsByRow.values()].flat());
}

/** The DOM of one status row, with methods to update it. */
function rowView(row) {
  const runtime = row.plan.runtime;
  const name = label(runtime);
  const badge = el("span", { class: "badge" }, "checking…");
  const detail = el("span", { class: "detail" }, "probing ", el("code", {}, row.plan.url));
  const recipeText = el("pre", { class: "recipe-text", tabindex: "0" });
  const copy = el("button", { type: "button", class: "secondary small", on: { click: () => copyRecipe(recipeText, copy) } }, "Copy");
  const panel = el("div", { class: "recipe", hidden: true, id: `recipe-${row.key}`, "data-testid": `cors-recipe-${row.key}` },
    recipeText, copy);
  const toggle = el("button", {
    type: "button", class: "secondary small", hidden: true, "aria-expanded": "false",
    "aria-controls": panel.id, "data-testid": `cors-fix-${row.key}`,
  }, `Fix CORS for ${name}`);
  toggle.addEventListener("click", () => {
    const open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
    panel.hidden = !open;
  });
  const title = el("span", { class: "rt-name" }, name, row.custom ? el("small", {}, " (custom)") : null);
  const root = el("li", { class: "runtime-row state-checking", "data-testid": `runtime-row-${row.key}`, "data-state": "checking" },
    el("div", { class: "rt-head" }, title, el("code", { class: "rt-url" }, row.plan.base_url), badge, toggle),
    detail, panel);
  const setState = (state, badgeText, detailText, fixable, fixFor = runtime) => {
    root.className = `runtime-row state-${state}`;
    root.dataset.state = state;
    replace(badge, badgeText);
    replace(detail, detailText);
    toggle.hidden = !fixable;
    if (fixable) {
      replace(toggle, `Fix CORS for ${label(fixFor)}`);
      replace(recipeText, recipe(fixFor));
    } else {
      panel.hidden = true;
      toggle.setAttribute("aria-expanded", "false");
    }
  };
  return {
    root,
    setRaw(o) {
      // What the raw answer shows before Python reads it: the evaluator's texts.
      const t = firstMatch(pageData.discovery?.provisional || [], o)
        || { badge: "checking", detail: "", fixable: false };
      const values = { ms: Math.round(o.elapsed_ms), status: o.status, timeout_s: probeTimeoutMs() / 1000 };
      setState("checking", fill(t.badge, values), fill(t.detail, values), Boolean(t.fixable));
    },
    setState(found, o) {
      setState(found.state, found.badge || found.state, found.detail, Boolean(found.fixable), found.runtime);
      root.dataset.answered = String(o.status != null || o.error === "cors");
    },
    setError(message) {
      setState("error", "error", message, false);
    },
  };
}

async function copyRecipe(pre, button) {
  try {
    await navigator.clipboard.writeText(pre.textContent);
    replace(button, "Copied");
  } catch (err) {
    // Clipboard access can be denied: select the text so Ctrl+C works.
    const range = document.createRange();
    range.selectNodeContents(pre);
    getSelection().removeAllRanges();
    getSelection().addRange(range);
    replace(button, "Press Ctrl+C");
    console.info(`localrate: clipboard: ${err.message}`);
  }
  setTimeout(() => replace(button, "Copy"), 2000);
}

/** A page on a public https origin: Chrome asks for Local Network Access before 127.0.0.1. */
function publicOrigin() {
  const host = location.hostname;
  const loopback = host === "localhost" || host.endsWith(".localhost") || host === "[::1]"
    || /^127\./.test(host);
  return location.protocol === "https:" && !loopback;
}

// The permission's names, tried in order (feature detection, not the user agent):
// `loopback-network` (Chrome 145+ and Firefox, for 127.0.0.1), then Chrome 142's
// `local-network-access`.
const LNA_NAMES = ["loopback-network", "local-network-access"];

/** The PermissionStatus of Local Network Access for 127.0.0.1, or null where the browser
 * knows no such permission. */
async function lnaStatus() {
  for (const name of LNA_NAMES) {
    try {
      return await navigator.permissions.query({ name });
    } catch {
      // not a permission name this browser knows: try the next
    }
  }
  return null;
}

/** The Local Network Access permission state (prompt, denied, granted) on a public origin. */
async function permissionState() {
  if (!publicOrigin() || !navigator.permissions) return null;
  const status = await lnaStatus();
  if (!status) console.info("localrate: this browser has no Local Network Access permission");
  return status ? status.state : null;
}

/** Rescan when the visitor grants (or revokes) the permission. */
async function watchPermission() {
  if (!publicOrigin() || !navigator.permissions) return;
  const status = await lnaStatus();
  if (status) status.onchange = () => scan();
}
