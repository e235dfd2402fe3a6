// Runs kept in the browser (IndexedDB): every finished case is written at once, so a
// reload mid-run loses nothing. Two object stores:
//   "runs"  one entry per (batch, model): {id, batch, order, created_at, updated_at,
//           state: "queued"|"running"|"stopped"|"done"|"abandoned"|"imported",
//           suite_id, settings, card, started_at, record}
//           `record` (a run record, format localrate.run/1) is written when the model's
//           run ends (done or stopped), or at import; null before.
//   "cases" the case results of a run not yet in its record, one per finished case:
//           {run, seq, result}, key [run, seq]. Appending one is one small write; they are
//           folded into the record (and deleted here) when the run ends.

import { report } from "./dom.mjs";

const DB_NAME = "localrate";
const DB_VERSION = 2; // 1 had only "runs" (partial records rewritten after every case)
const RUNS = "runs";
const CASES = "cases";
let dbPromise = null;
const memory = new Map(); // entries, used only when IndexedDB is unavailable
const memoryCases = new Map(); // run id -> [{seq, result}], same

function open() {
  if (dbPromise) return dbPromise;
  dbPromise = new Promise((resolve) => {
    if (!globalThis.indexedDB) return resolve(null);
    const req = indexedDB.open(DB_NAME, DB_VERSION);
    req.onupgradeneeded = () => {
      const db = req.result;
      if (!db.objectStoreNames.contains(RUNS)) db.createObjectStore(RUNS, { keyPath: "id" });
      if (!db.objectStoreNames.contains(CASES)) db.createObjectStore(CASES, { keyPath: ["run", "seq"] });
    };
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

async function tx(store, mode, fn) {
  const db = await open();
  return promised(fn(db.transaction(store, mode).objectStore(store)));
}

/** Every key [run, seq] of one run's stored cases. */
function caseRange(runId) {
  return IDBKeyRange.bound([runId, -Infinity], [runId, Infinity]);
}

/** Save (insert or replace) one run entry. @param {object} entry */
export async function putRun(entry) {
  entry.updated_at = new Date().toISOString();
  try {
    if (await open()) await tx(RUNS, "readwrite", (s) => s.put(entry));
    else memory.set(entry.id, structuredClone(entry));
  } catch (err) {
    report(`Could not save run ${entry.id}: ${err.message}`);
  }
}

/**
 * Save one finished case of a running entry (only that case is written).
 * @param {string} runId
 * @param {number} seq     the case's place in the run's results
 * @param {object} result  the evaluator's case result
 */
export async function appendCase(runId, seq, result) {
  try {
    if (await open()) await tx(CASES, "readwrite", (s) => s.put({ run: runId, seq, result }));
    else memoryCases.set(runId, [...(memoryCases.get(runId) || []), { seq, result: structuredClone(result) }]);
  } catch (err) {
    report(`Could not save a case of run ${runId}: ${err.message}`);
  }
}

/** The stored case results of one run that are not in its record yet, in order. */
export async function storedCases(runId) {
  const rows = (await open())
    ? await tx(CASES, "readonly", (s) => s.getAll(caseRange(runId)))
    : [...(memoryCases.get(runId) || [])];
  return rows.sort((a, b) => a.seq - b.seq).map((row) => row.result);
}

/**
 * Every case result of an entry: its record's, then the stored ones not in it (a stopped
 * run that was resumed keeps its old record until it ends again).
 * @param {object} entry
 */
export async function entryResults(entry) {
  const kept = entry.record?.cases || [];
  const ids = new Set(kept.map((r) => r.id));
  return [...kept, ...(await storedCases(entry.id)).filter((r) => !ids.has(r.id))];
}

/**
 * Save an entry whose run ended (its `record` now holds every case) and drop its stored
 * cases, in one transaction.
 * @param {object} entry
 */
export async function finishRun(entry) {
  entry.updated_at = new Date().toISOString();
  try {
    const db = await open();
    if (!db) {
      memory.set(entry.id, structuredClone(entry));
      memoryCases.delete(entry.id);
      return;
    }
    const t = db.transaction([RUNS, CASES], "readwrite");
    t.objectStore(RUNS).put(entry);
    t.objectStore(CASES).delete(caseRange(entry.id));
    await new Promise((resolve, reject) => {
      t.oncomplete = resolve;
      t.onerror = () => reject(t.error);
      t.onabort = () => reject(t.error || new Error("transaction aborted"));
    });
  } catch (err) {
    report(`Could not save run ${entry.id}: ${err.message}`);
  }
}

/** One run entry by id, or undefined. @param {string} id */
export async function getRun(id) {
  if (!(await open())) return memory.get(id);
  return tx(RUNS, "readonly", (s) => s.get(id));
}

/** Every stored run entry, newest first (runs of one batch in their order). */
export async function listRuns() {
  const all = (await open()) ? await tx(RUNS, "readonly", (s) => s.getAll()) : [...memory.values()];
  return all.sort((a, b) => (b.created_at || "").localeCompare(a.created_at || "")
    || (a.order ?? 0) - (b.order ?? 0));
}

/** Delete one run entry and its stored cases. @param {string} id */
export async function deleteRun(id) {
  if (await open()) {
    await tx(CASES, "readwrite", (s) => s.delete(caseRange(id)));
    await tx(RUNS, "readwrite", (s) => s.delete(id));
  } else {
    memory.delete(id);
    memoryCases.delete(id);
  }
}

/** A fresh random id (time-ordered prefix). */
export function newId(prefix) {
  const rand = crypto.getRandomValues(new Uint32Array(2));
  return `${prefix}-${Date.now().toString(36)}-${rand[0].toString(36)}${rand[1].toString(36)}`;
}
