// Custom endpoints the visitor adds (host:port + dialect), remembered in localStorage.
// The evaluator's probe_plan validates and normalizes them when they are probed.

import { append, el, replace, report } from "./dom.mjs";

const KEY = "localrate.custom-endpoints";
export const DIALECTS = [
  ["ollama", "Ollama"], ["lmstudio", "LM Studio"], ["vllm", "vLLM"],
  ["llamacpp", "llama.cpp"], ["mlx", "MLX"],
];

/** The stored endpoints: [{runtime, base_url}]. */
export function loadCustom() {
  try {
    const rows = JSON.parse(localStorage.getItem(KEY) || "[]");
    return Array.isArray(rows) ? rows.filter((r) => r && r.runtime && r.base_url) : [];
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

/**
 * Render the "add endpoint" form and the list into `box`.
 * @param {HTMLElement} box
 * @param {() => void} changed  called after an endpoint was added or removed
 */
export function renderCustom(box, changed) {
  const hostInput = el("input", {
    id: "custom-host", type: "text", placeholder: "127.0.0.1:11500", required: true,
    autocomplete: "off", spellcheck: "false", "data-testid": "custom-host",
  });
  const dialect = el("select", { id: "custom-dialect", "data-testid": "custom-dialect" },
    ...DIALECTS.map(([value, text]) => el("option", { value }, text)));
  const list = el("ul", { class: "custom-list" });
  const form = el("form", { class: "custom-form", "data-testid": "custom-form" },
    el("label", { for: "custom-host" }, "Host:port"), hostInput,
    el("label", { for: "custom-dialect" }, "Speaks"), dialect,
    el("button", { type: "submit", class: "secondary" }, "Add endpoint"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const raw = hostInput.value.trim();
    if (!raw) return;
    const base = /^https?:\/\//i.test(raw) ? raw : `http://${raw}`;
    const rows = loadCustom();
    if (!rows.some((r) => r.base_url === base && r.runtime === dialect.value)) {
      rows.push({ runtime: dialect.value, base_url: base });
      saveCustom(rows);
    }
    hostInput.value = "";
    draw();
    changed();
  });
  const draw = () => {
    replace(list, ...loadCustom().map((row, i) => el("li", {},
      el("code", {}, row.base_url), ` · ${DIALECTS.find(([v]) => v === row.runtime)?.[1] || row.runtime} `,
      el("button", {
        type: "button", class: "link", "aria-label": `Remove ${row.base_url}`,
        on: { click: () => { const rows = loadCustom(); rows.splice(i, 1); saveCustom(rows); draw(); changed(); } },
      }, "remove"))));
  };
  append(replace(box), form, list,
    el("p", { class: "hint" }, "Only 127.0.0.1 addresses can be reached (localhost is read as 127.0.0.1): the page's security policy allows no other hosts."));
  draw();
}
