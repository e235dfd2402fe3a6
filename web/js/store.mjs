// Runs kept in the browser (IndexedDB): every finished case is written at once, so a
// reload mid-run loses nothing. Two object stores:
//   "runs"  one entry per (batch, model): {id, batch, order, created_at, updated_at,
//           state: "queued"|"running"|"stopped"|"done"|"abandoned"|"imported",
//           suite_id, settings, card, started_at, record}
//           `record` (a run record) is written when the model's
//           run ends (done or stopped), or at import; null before.
//   "cases" the case results of a run not yet in its record, one per finished case:
//           {run, seq, result}, key [run, seq]. Appending one is one small write; they are
//           folded into the record (and deleted here) when the run ends.
// A write counts only once its transaction completes: a full disk (QuotaExceededError)
// arrives as the transaction's abort, after every request in it succeeded. What could not
// be written is kept in memory (listed as "not saved", exportable) until the page closes.

import { report } from "./dom.mjs";

const DB_NAME = "localrate";
const DB_VERSION = 2; // 1 had only "runs" (partial records rewritten after every case)
const RUNS = "runs";
const CASES = "cases";
let dbPromise = null;
// Entries and cases not in IndexedDB: all of them when it is unavailable, else those whose
// save failed (their ids are in `unsaved`).
const memory = new Map(); // run id -> entry
const memoryCases = new Map(); // run id -> [{seq, result}]
const unsaved = new Set();
const warned = new Set(); // run ids whose failed save was already reported

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

/**
 * Run `fn(transaction)` and resolve once the transaction completes (with what `fn`
 * returned: a request, whose result is then read); reject on its error or abort.
 */
async function transact(names, mode, fn) {
  const db = await open();
  const t = db.transaction(names, mode);
  const finished = new Promise((resolve, reject) => {
    t.oncomplete = () => resolve();
    t.onerror = (event) => reject(event.target?.error || t.error || new Error("transaction failed"));
    t.onabort = () => reject(t.error || new Error("the transaction was aborted"));
  });
  finished.catch(() => {}); // awaited below; this only keeps an early abort from going unhandled
  let request;
  try {
    request = fn(t);
  } catch (err) {
    t.abort();
    throw err;
  }
  await finished;
  return request?.result;
}

/** What went wrong with a write, plainly (a full disk says so). */
function storageProblem(err) {
  if (err?.name === "QuotaExceededError") {
    return "the browser's storage for this site is full (QuotaExceededError)";
  }
  return `${err?.name || "Error"}: ${err?.message || err}`;
}

function keepUnsaved(entry, err) {
  memory.set(entry.id, entry);
  warnUnsaved(entry.id, err, entry.card?.id || entry.record?.model?.id);
}

function warnUnsaved(id, err, model) {
  unsaved.add(id);
  if (warned.has(id)) return;
  warned.add(id);
  report(`The run ${typeof model === "string" ? `of ${model} ` : ""}(${id}) was not saved: `
    + `${storageProblem(err)}. It stays on this page until you close or reload it: `
    + "use Export to keep it.");
}

/** Every key [run, seq] of one run's stored cases. */
function caseRange(runId) {
  return IDBKeyRange.bound([runId, -Infinity], [runId, Infinity]);
}

/**
 * Save (insert or replace) one run entry. Never throws: a failure is reported and the
 * entry kept in memory.
 * @param {object} entry
 * @returns {Promise<boolean>} whether it is stored in IndexedDB
 */
export async function putRun(entry) {
  entry.updated_at = new Date().toISOString();
  if (!(await open())) {
    memory.set(entry.id, structuredClone(entry));
    return false;
  }
  try {
    await transact(RUNS, "readwrite", (t) => t.objectStore(RUNS).put(entry));
    if (!memoryCases.has(entry.id)) forget(entry.id);
    return true;
  } catch (err) {
    keepUnsaved(entry, err);
    return false;
  }
}

/**
 * Store the entries of one imported file in one transaction: all of them or none.
 * On failure they are kept in memory (listed as not saved) and an Error saying why is
 * thrown.
 * @param {object[]} entries
 */
export async function saveRuns(entries) {
  const now = new Date().toISOString();
  for (const entry of entries) entry.updated_at = now;
  if (!(await open())) {
    for (const entry of entries) memory.set(entry.id, entry);
    throw new Error("IndexedDB is unavailable in this browser");
  }
  try {
    await transact(RUNS, "readwrite", (t) => {
      for (const entry of entries) t.objectStore(RUNS).put(entry);
    });
  } catch (err) {
    for (const entry of entries) {
      memory.set(entry.id, entry);
      unsaved.add(entry.id);
      warned.add(entry.id);
    }
    throw new Error(storageProblem(err));
  }
}

/**
 * Save one finished case of a running entry (only that case is written). Never throws: a
 * failure is reported and the case kept in memory (the run's export still has it).
 * @param {string} runId
 * @param {number} seq     the case's place in the run's results
 * @param {object} result  the evaluator's case result
 */
export async function appendCase(runId, seq, result) {
  const keep = () => memoryCases.set(runId, [...(memoryCases.get(runId) || []), { seq, result }]);
  if (!(await open())) {
    memoryCases.set(runId, [...(memoryCases.get(runId) || []), { seq, result: structuredClone(result) }]);
    return;
  }
  try {
    await transact(CASES, "readwrite", (t) => t.objectStore(CASES).put({ run: runId, seq, result }));
  } catch (err) {
    keep();
    warnUnsaved(runId, err, memory.get(runId)?.card?.id);
  }
}

/** The stored case results of one run that are not in its record yet, in order. */
export async function storedCases(runId) {
  const rows = (await open())
    ? await transact(CASES, "readonly", (t) => t.objectStore(CASES).getAll(caseRange(runId)))
    : [];
  const bySeq = new Map(rows.map((row) => [row.seq, row]));
  for (const row of memoryCases.get(runId) || []) bySeq.set(row.seq, row);
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq).map((row) => row.result);
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
 * cases, in one transaction. Never throws: a failure is reported, the entry kept in memory.
 * @param {object} entry
 */
export async function finishRun(entry) {
  entry.updated_at = new Date().toISOString();
  if (!(await open())) {
    memory.set(entry.id, structuredClone(entry));
    memoryCases.delete(entry.id);
    return;
  }
  try {
    await transact([RUNS, CASES], "readwrite", (t) => {
      t.objectStore(RUNS).put(entry);
      t.objectStore(CASES).delete(caseRange(entry.id));
    });
    forget(entry.id);
  } catch (err) {
    keepUnsaved(entry, err);
  }
}

function forget(id) {
  if (!unsaved.has(id)) return;
  unsaved.delete(id);
  memory.delete(id);
  memoryCases.delete(id);
}

/** Whether a run lives only in this page (its save failed). @param {any} id */
export function isUnsaved(id) {
  return unsaved.has(id);
}

/**
 * Every run entry, newest first (runs of one batch in their order), each as
 * `{key, entry}`: `key` is its IndexedDB key (what `deleteRun` takes), `entry` the stored
 * value as it is, which may be anything (an entry from an older page, or a damaged one).
 */
export async function listRuns() {
  let rows = [];
  if (await open()) {
    rows = await transact(RUNS, "readonly", (t) => {
      const store = t.objectStore(RUNS);
      const keys = store.getAllKeys();
      const values = store.getAll();
      return { get result() { return keys.result.map((key, i) => ({ key, entry: values.result[i] })); } };
    });
  }
  const byKey = new Map(rows.map((row) => [row.key, row]));
  for (const [id, entry] of memory) byKey.set(id, { key: id, entry });
  const text = (v) => (typeof v === "string" ? v : "");
  const order = (v) => (typeof v === "number" && Number.isFinite(v) ? v : 0);
  return [...byKey.values()].sort((a, b) => text(b.entry?.created_at).localeCompare(text(a.entry?.created_at))
    || order(a.entry?.order) - order(b.entry?.order));
}

/** Delete one run entry and its stored cases (by its key). @param {any} key */
export async function deleteRun(key) {
  memory.delete(key);
  memoryCases.delete(key);
  unsaved.delete(key);
  if (!(await open())) return;
  await transact([RUNS, CASES], "readwrite", (t) => {
    t.objectStore(CASES).delete(caseRange(key));
    t.objectStore(RUNS).delete(key);
  });
}

/** A fresh random id (time-ordered prefix). */
export function newId(prefix) {
  const rand = crypto.getRandomValues(new Uint32Array(2));
  return `${prefix}-${Date.now().toString(36)}-${rand[0].toString(36)}${rand[1].toString(36)}`;
}
