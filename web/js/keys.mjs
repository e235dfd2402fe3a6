// API keys per endpoint, kept only in this browser (localStorage) and sent as
// `Authorization: Bearer <key>` to that endpoint only. Which header a URL gets is the
// evaluator's decision (auth_headers: same origin as the endpoint the key was given for);
// this module stores the keys and asks. A key is never written into a transcript, a
// record, an export, a share link or a report: it travels only in request headers.

import { report } from "./dom.mjs";
import { call, ready } from "./evaluator.mjs";

const KEY = "localrate.endpoint-keys";
const asked = new Map(); // url -> Promise<headers>
const spaces = new Map(); // origin -> Promise<"loopback"|"local"|null>

/** The stored keys: [{base_url, api_key}]. */
export function loadKeys() {
  try {
    const rows = JSON.parse(localStorage.getItem(KEY) || "[]");
    return Array.isArray(rows) ? rows.filter((r) => r && typeof r.base_url === "string" && typeof r.api_key === "string") : [];
  } catch (err) {
    report(`Stored API keys are unreadable and were ignored: ${err.message}`);
    return [];
  }
}

function saveKeys(rows) {
  asked.clear();
  try {
    localStorage.setItem(KEY, JSON.stringify(rows));
  } catch (err) {
    report(`Could not keep the API key: ${err.message}`);
  }
}

/**
 * Keep (or, with an empty key, forget) the key of one endpoint.
 * @param {string} baseUrl  the endpoint's base URL, as the evaluator normalised it
 * @param {string} apiKey
 */
export function setKey(baseUrl, apiKey) {
  const rows = loadKeys().filter((r) => r.base_url !== baseUrl);
  if (apiKey) rows.push({ base_url: baseUrl, api_key: apiKey });
  saveKeys(rows);
}

/** Whether an endpoint has a key stored. @param {string} baseUrl */
export function hasKey(baseUrl) {
  return loadKeys().some((r) => r.base_url === baseUrl);
}

/**
 * The headers a request to `url` carries: the evaluator's auth_headers ({} when no key
 * belongs to that URL's endpoint). With no key stored at all, {} at once.
 * @param {string} url
 * @returns {Promise<Record<string, string>>}
 */
export function headersFor(url) {
  const keys = loadKeys();
  if (!keys.length) return Promise.resolve({});
  if (!asked.has(url)) {
    const p = ready.then(() => call("auth_headers", { url, keys }));
    p.catch(() => asked.delete(url));
    asked.set(url, p);
  }
  return asked.get(url);
}

/**
 * The address space a fetch to `url` names (Chrome's Local Network Access
 * `targetAddressSpace`): the evaluator's address_space, "loopback", "local" or null (name
 * none). Asked once per origin.
 * @param {string} url
 * @returns {Promise<string|null>}
 */
export function spaceFor(url) {
  let origin;
  try {
    origin = new URL(url).origin;
  } catch {
    return Promise.resolve(null);
  }
  if (!spaces.has(origin)) {
    const p = ready.then(() => call("address_space", { url: origin }));
    p.catch(() => spaces.delete(origin));
    spaces.set(origin, p);
  }
  return spaces.get(origin);
}

/** The options a request to `url` carries: its API key headers and its address space. */
export async function requestOptions(url) {
  const [headers, space] = await Promise.all([headersFor(url), spaceFor(url)]);
  return { headers, space };
}
