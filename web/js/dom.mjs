// Text-only DOM helpers. Untrusted text (model ids, outputs, reasoning, tool arguments,
// runtime errors) must reach the page through these: they only ever create elements and
// text nodes, never parse HTML.

const SVG_NS = "http://www.w3.org/2000/svg";

/**
 * Create an element. `attrs` values: strings/numbers become attributes, `true` a bare
 * attribute, false/null/undefined are left out; `on` holds event listeners; `dataset`
 * data-* values. Children are nodes or strings (strings become text nodes).
 * @param {string} tag
 * @param {Record<string, any>} [attrs]
 * @param {...(Node|string|number|null|undefined|false)} children
 * @returns {HTMLElement}
 */
export function el(tag, attrs = {}, ...children) {
  return build(document.createElement(tag), attrs, children);
}

/**
 * Create an SVG element (same rules as `el`).
 * @param {string} tag
 * @param {Record<string, any>} [attrs]
 * @param {...(Node|string|number|null|undefined|false)} children
 * @returns {SVGElement}
 */
export function svg(tag, attrs = {}, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

function build(node, attrs, children) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "on") {
      for (const [type, fn] of Object.entries(value)) node.addEventListener(type, fn);
    } else if (key === "dataset") {
      for (const [k, v] of Object.entries(value)) if (v != null) node.dataset[k] = String(v);
    } else if (key === "text") {
      node.textContent = String(value);
    } else if (value === true) {
      node.setAttribute(key, "");
    } else if (value !== false && value != null) {
      node.setAttribute(key, String(value));
    }
  }
  append(node, ...children);
  return node;
}

/**
 * Append children (strings become text nodes; null/false are skipped).
 * @param {Node} node
 * @param {...any} children
 */
export function append(node, ...children) {
  for (const child of children.flat()) {
    if (child == null || child === false) continue;
    node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Remove every child of `node`. @param {Node} node */
export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

/** Replace the children of `node`. @param {Node} node @param {...any} children */
export function replace(node, ...children) {
  clear(node);
  return append(node, ...children);
}

/** The element with `data-testid` or id `key` (throws with the name when missing). */
export function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`page element #${id} is missing`);
  return node;
}

/**
 * Text split into code points, so the evaluator's Python offsets (code points) map onto
 * JavaScript strings (UTF-16) correctly.
 * @param {string} text
 * @param {Array<[number, number]>} spans  [start, end) code-point offsets
 * @returns {Node[]} text nodes and <mark> elements
 */
export function highlighted(text, spans) {
  const points = Array.from(text || "");
  const sorted = (spans || [])
    .filter((s) => Array.isArray(s) && s[1] > s[0])
    .map(([a, b]) => [Math.max(0, a), Math.min(points.length, b)])
    .sort((x, y) => x[0] - y[0]);
  const out = [];
  let at = 0;
  for (const [a, b] of sorted) {
    if (a < at) continue;
    if (a > at) out.push(document.createTextNode(points.slice(at, a).join("")));
    out.push(el("mark", {}, points.slice(a, b).join("")));
    at = b;
  }
  if (at < points.length) out.push(document.createTextNode(points.slice(at).join("")));
  return out;
}

/** Format a number for a table cell ("–" when missing). */
export function num(value, digits = 0) {
  if (value == null || Number.isNaN(value)) return "–";
  return Number(value).toLocaleString("en-US", {
    minimumFractionDigits: digits, maximumFractionDigits: digits,
  });
}

/** A percentage from a 0..1 ratio ("–" when missing). */
export function pct(ratio) {
  return ratio == null ? "–" : `${Math.round(ratio * 100)}%`;
}

/** Show a visible status message in the page's status area and log it. */
export function report(message, level = "error") {
  const log = level === "error" ? console.error : console.info;
  log(`localrate: ${message}`);
  const box = document.getElementById("notices");
  if (!box) return;
  const item = el("li", { class: `notice notice-${level}`, role: level === "error" ? "alert" : "status" },
    el("span", {}, message),
    el("button", { type: "button", class: "link", "aria-label": "Dismiss",
      on: { click: () => item.remove() } }, "×"));
  box.appendChild(item);
}

/**
 * Show `text` in the status line with id `id`, marked `bad` on an error; returns the box.
 * @param {string} id
 * @param {string} text
 * @param {boolean} [bad]
 */
export function showStatus(id, text, bad = false) {
  const box = byId(id);
  replace(box, text);
  box.classList.toggle("bad", bad);
  return box;
}

/**
 * Run `fn`; an error it throws is shown with `say(message, true)` and logged, never thrown.
 * @param {() => unknown} fn
 * @param {(text: string, bad: boolean) => void} say
 */
export async function guarded(fn, say) {
  try {
    await fn();
  } catch (err) {
    say(err.message, true);
    console.error(err);
  }
}
