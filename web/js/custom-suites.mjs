// Custom suites kept in this browser (IndexedDB "localrate-suites", one object store
// "suites"): {key, draft, updated_at}. The draft is the evaluator's (evaluator/suite_edit.py:
// the suite as written, its files in base64, which cases are disabled). A run of a custom
// suite names it "custom:<key>" as its suite id in the page; its record carries the
// resolved suite's id, version and sha256, and every case result its case copy, so
// `localrate rescore` and `verify` work on its export without the suite.

import { report } from "./dom.mjs";
import { call } from "./evaluator.mjs";

const DB_NAME = "localrate-suites";
const STORE = "suites";
export const PREFIX = "custom:";
let dbPromise = null;
const memory = new Map(); // key -> entry, when IndexedDB is unavailable
const listeners = new Set();

function open() {
  if (dbPromise) return dbPromise;
  dbPromise = new Promise((resolve) => {
    if (!globalThis.indexedDB) return resolve(null);
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: "key" });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => {
      report(`Your suites cannot be kept (IndexedDB: ${req.error?.message || "blocked"}); they last until the page closes.`);
      resolve(null);
    };
  });
  return dbPromise;
}

function request(mode, fn) {
  return open().then((db) => new Promise((resolve, reject) => {
    if (!db) return resolve(null);
    const t = db.transaction(STORE, mode);
    const r = fn(t.objectStore(STORE));
    t.oncomplete = () => resolve(r?.result);
    t.onerror = () => reject(t.error || new Error("transaction failed"));
    t.onabort = () => reject(t.error || new Error("the transaction was aborted"));
  }));
}

/** Be told when the list of custom suites changes. @param {() => void} fn */
export function onSuitesChange(fn) {
  listeners.add(fn);
}

function changed() {
  for (const fn of listeners) fn();
}

/** Every custom suite entry, newest first. @returns {Promise<object[]>} */
export async function listSuites() {
  let rows = [];
  try {
    rows = (await request("readonly", (s) => s.getAll())) || [];
  } catch (err) {
    report(`Your suites could not be read: ${err.message}`);
  }
  const all = new Map(rows.filter((r) => r && typeof r.key === "string").map((r) => [r.key, r]));
  for (const [key, entry] of memory) all.set(key, entry);
  return [...all.values()].sort((a, b) => String(b.updated_at).localeCompare(String(a.updated_at)));
}

/** One entry by key, or null. @param {string} key */
export async function getSuite(key) {
  if (memory.has(key)) return memory.get(key);
  try {
    return (await request("readonly", (s) => s.get(key))) || null;
  } catch {
    return null;
  }
}

/** Save (insert or replace) an entry. @param {{key: string, draft: object}} entry */
export async function putSuite(entry) {
  const row = { ...entry, updated_at: new Date().toISOString() };
  try {
    if ((await open()) === null) memory.set(row.key, row);
    else await request("readwrite", (s) => s.put(row));
  } catch (err) {
    memory.set(row.key, row);
    report(`Your suite could not be saved (${err.message}); it stays until the page closes: export it to keep it.`);
  }
  changed();
  return row;
}

/** Delete an entry. @param {string} key */
export async function deleteSuite(key) {
  memory.delete(key);
  try {
    await request("readwrite", (s) => s.delete(key));
  } catch (err) {
    report(`Could not delete the suite: ${err.message}`);
  }
  changed();
}

/** A new key. */
export function newKey() {
  const rand = crypto.getRandomValues(new Uint32Array(2));
  return `${Date.now().toString(36)}-${rand[0].toString(36)}${rand[1].toString(36)}`;
}

/**
 * The resolved suite of "custom:<key>" for a run, as rating.mjs's loadSuite gives a
 * built-in one: {json, ref} (json: the evaluator's check_draft suite; ref: its
 * load_suite_json answer). Rejects with the suite's one-line error when it does not load.
 * @param {string} id
 */
export async function customSuite(id) {
  const entry = await getSuite(id.slice(PREFIX.length));
  if (!entry) throw new Error(`your suite ${id} is no longer in this browser`);
  const checked = await call("suite_check", { draft: entry.draft });
  if (!checked.ok) throw new Error(checked.error);
  const ref = await call("load_suite_json", { suite: checked.suite });
  return { json: checked.suite, ref };
}
