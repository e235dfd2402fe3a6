// Runs kept in the browser (IndexedDB): every finished case is written at once, so a
// reload mid-run loses nothing. One object store "runs", one entry per (batch, model):
//   {id, batch, order, created_at, state: "queued"|"running"|"stopped"|"done"|"abandoned",
//    updated_at, record: <run record, format localrate.run/1>}

import { report } from "./dom.mjs";

const DB_NAME = "localrate";
const STORE = "runs";
let dbPromise = null;
const memory = new Map(); // used only when IndexedDB is unavailable

function open() {
  if (dbPromise) return dbPromise;
  dbPromise = new Promise((resolve) => {
    if (!globalThis.indexedDB) return resolve(null);
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: "id" });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => {
      report(`Saved runs are unavailable (IndexedDB: ${req.error?.message || "blocked"}); `
        + "results will be lost on reload.");
      resolve(null);
    };
  });
  return dbPromise;
}

function promised(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function tx(mode, fn) {
  const db = await open();
  const store = db.transaction(STORE, mode).objectStore(STORE);
  return promised(fn(store));
}

/** Save (insert or replace) one run entry. @param {object} entry */
export async function putRun(entry) {
  entry.updated_at = new Date().toISOString();
  try {
    if (await open()) await tx("readwrite", (s) => s.put(entry));
    else memory.set(entry.id, structuredClone(entry));
  } catch (err) {
    report(`Could not save run ${entry.id}: ${err.message}`);
  }
}

/** One run entry by id, or undefined. @param {string} id */
export async function getRun(id) {
  if (!(await open())) return memory.get(id);
  return tx("readonly", (s) => s.get(id));
}

/** Every stored run entry, newest first (runs of one batch in their order). */
export async function listRuns() {
  const all = (await open()) ? await tx("readonly", (s) => s.getAll()) : [...memory.values()];
  return all.sort((a, b) => (b.created_at || "").localeCompare(a.created_at || "")
    || (a.order ?? 0) - (b.order ?? 0));
}

/** Delete one run entry. @param {string} id */
export async function deleteRun(id) {
  if (await open()) await tx("readwrite", (s) => s.delete(id));
  else memory.delete(id);
}

/** A fresh random id (time-ordered prefix). */
export function newId(prefix) {
  const rand = crypto.getRandomValues(new Uint32Array(2));
  return `${prefix}-${Date.now().toString(36)}-${rand[0].toString(36)}${rand[1].toString(36)}`;
}
