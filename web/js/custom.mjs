// Custom endpoints the visitor adds (host:port + dialect), remembered in localStorage.
// The evaluator's check_endpoint decides whether an address is acceptable (as it is typed,
// and again for every stored entry); probe_plan leaves out the entries it refuses, so one
// bad entry never stops the others from being probed.

import { append, el, replace, report } from "./dom.mjs";
import { call, ready, state } from "./evaluator.mjs";
import { pageData } from "./pagedata.mjs";
import { hasKey, setKey } from "./keys.mjs";

const KEY = "localrate.custom-endpoints";
const WAITING = "checking when Python is ready…";

/** The stored entries as stored (any JSON values; probe_plan skips the bad ones). */
export function loadCustom() {
  try {
    const rows = JSON.parse(localStorage.getItem(KEY) || "[]");
    return Array.isArray(rows) ? rows : [];
  } catch (err) {
    report(`Stored custom endpoints are unreadable and were ignored: ${err.message}`);
    return [];
  }
}

function saveCustom(rows) {
  try {
    localStorage.setItem(KEY, JSON.stringify(rows));
  } catch (err) {
    report(`Could not remember custom endpoints: ${err.message}`);
  }
}

/** Any stored value as text, without calling its own toString. */
function shown(value) {
  if (typeof value === "string") return value;
  try {
    return JSON.stringify(value) ?? String(typeof value);
  } catch {
    return `(${typeof value})`;
  }
}

/** The dialects an endpoint may speak: the evaluator's runtimes table, [name, label]. */
function dialects() {
  return (pageData().discovery?.runtimes || []).map((r) => [r.name, r.label]);
}

function dialectLabel(value) {
  return dialects().find(([v]) => v === value)?.[1] || shown(value);
}

/** A stored value read as an entry: `isRow` for a {runtime, base_url} object; any other
 * value is its own address, with no dialect. */
function entryOf(row) {
  const isRow = row !== null && typeof row === "object" && !Array.isArray(row);
  return { isRow, base: isRow ? row.base_url : row, runtime: isRow ? row.runtime : undefined };
}

/** The evaluator's verdict on one stored entry: {base_url, problem}. */
function checkRow(row) {
  const { base, runtime } = entryOf(row);
  return call("check_endpoint", { text: base ?? null, dialect: runtime ?? null, allowed_hosts: allowedHosts() });
}

/** The hosts beyond this computer the page was built or served to allow (--allow-host). */
export function allowedHosts() {
  const hosts = pageData().allowed_hosts;
  return Array.isArray(hosts) ? hosts : [];
}

/** What the page says about reaching other hosts, and about API keys. */
function hostsNote() {
  const hosts = allowedHosts();
  const policy = hosts.length
    ? el("p", { class: "hint", "data-testid": "allowed-hosts" }, "Besides this computer, this page may reach ",
      ...hosts.flatMap((h, i) => [i ? ", " : "", el("code", {}, h)]),
      " (allowed when it was built or served with --allow-host). Such a host must allow this page: "
      + "its runtime's CORS setting must accept this page's origin (the Fix CORS recipe of its runtime); "
      + "from an https page the endpoint must be https too (browsers block http requests from https pages: mixed content); "
      + "and Chrome asks for Local Network Access permission before a page on the web reaches a private address (192.168.x.x, 10.x.x.x).")
    : el("p", { class: "hint", "data-testid": "allowed-hosts" },
      "Only this computer can be reached (127.0.0.1; localhost is read as 127.0.0.1): the page's security policy allows no other host. "
      + "To rate a model on another machine, forward a port to it (ssh -L 11500:127.0.0.1:11434 gpu-box, then add 127.0.0.1:11500), "
      + "or build or serve this page with --allow-host HOST:PORT.");
  return [policy, el("p", { class: "hint", "data-testid": "key-note" },
    "An API key is kept only in this browser (its local storage), is sent as Authorization: Bearer to that endpoint only, "
    + "and never goes into an export, a share link or a report.")];
}

/** How a stored entry's dialect is shown ("?" for a value that is not an entry). */
function entryDialect(row) {
  const { isRow, runtime } = entryOf(row);
  return isRow ? dialectLabel(runtime) : "?";
}

/**
 * Render the "add endpoint" form and the list into `box`.
 * @param {HTMLElement} box
 * @param {() => void} changed  called after an endpoint was added or removed
 */
export function renderCustom(box, changed) {
  const hostInput = el("input", {
    id: "custom-host", type: "text", placeholder: "127.0.0.1:11500", required: true,
    autocomplete: "off", spellcheck: "false", "data-testid": "custom-host",
    "aria-describedby": "custom-problem",
  });
  const dialect = el("select", { id: "custom-dialect", "data-testid": "custom-dialect" },
    ...dialects().map(([value, text]) => el("option", { value }, text)));
  const keyInput = el("input", {
    id: "custom-key", type: "password", autocomplete: "off", spellcheck: "false",
    placeholder: "optional", "data-testid": "custom-key",
  });
  const add = el("button", { type: "submit", class: "secondary", disabled: true }, "Add endpoint");
  const problem = el("p", { id: "custom-problem", class: "field-problem", "data-testid": "custom-problem", role: "status" });
  const list = el("ul", { class: "custom-list", "data-testid": "custom-list" });
  const form = el("form", { class: "custom-form", "data-testid": "custom-form", novalidate: true },
    el("label", { for: "custom-host" }, "Host:port"), hostInput,
    el("label", { for: "custom-dialect" }, "Speaks"), dialect,
    el("label", { for: "custom-key" }, "API key"), keyInput, add);

  let asked = 0; // the latest check; older answers are dropped
  const say = (text, bad) => {
    replace(problem, text);
    problem.classList.toggle("bad", bad);
    hostInput.setAttribute("aria-invalid", String(bad));
  };
  /** Ask the evaluator about the typed text; resolves with its base_url or null. */
  const check = async () => {
    const mine = ++asked;
    add.disabled = true;
    const text = hostInput.value;
    if (!text.trim()) {
      say("", false);
      return null;
    }
    if (state.stage !== "ready") {
      say(state.stage === "error" ? "cannot check addresses: the evaluator did not load" : WAITING, false);
      try {
        await ready;
      } catch {
        return null;
      }
      if (mine !== asked) return null;
    }
    let verdict;
    try {
      verdict = await call("check_endpoint", { text, dialect: dialect.value, allowed_hosts: allowedHosts() });
    } catch (err) {
      if (mine === asked) say(`cannot check this address: ${err.message}`, true);
      return null;
    }
    if (mine !== asked) return null;
    if (verdict.problem) say(verdict.problem, true);
    else say(`will probe ${verdict.base_url}`, false);
    add.disabled = !verdict.base_url;
    return verdict.base_url;
  };
  hostInput.addEventListener("input", () => { check(); });
  dialect.addEventListener("change", () => { check(); });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const runtime = dialect.value;
    const base = await check();
    if (!base) return;
    const rows = loadCustom();
    if (!rows.some((r) => r && r.base_url === base && r.runtime === runtime)) {
      rows.push({ runtime, base_url: base });
      saveCustom(rows);
    }
    if (keyInput.value) {
      try {
        setKey(base, await call("check_api_key", { key: keyInput.value, where: "API key" }));
      } catch (err) {
        say(err.message, true);
        return;
      }
    }
    keyInput.value = "";
    hostInput.value = "";
    say("", false);
    add.disabled = true;
    draw();
    changed();
  });

  const draw = () => {
    const rows = loadCustom();
    const items = rows.map((row, i) => {
      const address = shown(entryOf(row).base);
      const base = entryOf(row).base;
      const keyed = typeof base === "string" && hasKey(base);
      return el("li", { "data-testid": "custom-entry" },
        el("code", {}, address),
        ` · ${entryDialect(row)} `,
        keyed ? el("span", { class: "chip chip-key", "data-testid": "custom-key-stored" }, "API key kept in this browser") : null,
        el("span", { class: "entry-problem", hidden: true }),
        keyed ? el("button", {
          type: "button", class: "link", "aria-label": `Forget the API key of ${address}`,
          on: { click: () => { setKey(base, ""); draw(); changed(); } },
        }, "forget key") : null,
        el("button", {
          type: "button", class: "link", "aria-label": `Remove ${address}`,
          on: { click: () => {
            const now = loadCustom(); now.splice(i, 1); saveCustom(now);
            if (typeof base === "string" && !now.some((r) => entryOf(r).base === base)) setKey(base, "");
            draw(); changed();
          } },
        }, "remove"));
    });
    replace(list, ...items);
    return { rows, items };
  };
  append(replace(box), form, problem, list, ...hostsNote());
  const { rows, items } = draw();
  if (rows.length) markBad(rows, items, box);
}

/**
 * Once the evaluator is ready, mark every stored entry it refuses (they are not probed)
 * and name all of them in one notice.
 */
async function markBad(rows, items, box) {
  try {
    await ready;
  } catch {
    return;
  }
  const verdicts = await Promise.all(rows.map((row) => checkRow(row).catch((err) => ({ problem: err.message }))));
  const bad = [];
  verdicts.forEach((verdict, i) => {
    if (!verdict.problem) return;
    bad.push(`entry ${i + 1} (${entryDialect(rows[i])}): ${verdict.problem}`);
    const item = items[i];
    if (!item.isConnected) return;
    item.classList.add("bad");
    const note = item.querySelector(".entry-problem");
    replace(note, `not probed: ${verdict.problem}`);
    note.hidden = false;
  });
  if (!bad.length) return;
  box.closest("details")?.setAttribute("open", "");
  report(`${bad.length} stored custom endpoint${bad.length === 1 ? " is" : "s are"} not valid and `
    + `${bad.length === 1 ? "was" : "were"} not probed (remove or re-add them): ${bad.join(" · ")}`);
}
