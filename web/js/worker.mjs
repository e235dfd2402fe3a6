// The Pyodide worker: starts Python with the evaluator (python.mjs) and answers api calls.
// Messages in:  {type: "init", pyodide: {index_url, module_url}, evaluator_zip}
//               {id, request: "<JSON string>"}
// Messages out: {type: "status", stage: "pyodide"|"evaluator"|"ready"|"error", message, ms,
//                restored: whether Python came from this browser's saved snapshot,
//                note: with "ready", why it was not restored when one was saved, or that
//                this browser cannot keep one (no Cache Storage in workers)}
//               {type: "snapshot", saved, note}: after "ready", once a new snapshot is
//                saved (or could not be: note says why)
//               {id, reply: "<JSON string>"}
// Python is only ever reached through evaluator.page_api.call(json_string): no Python source
// is built from strings here.
//
// The first start in a browser saves a memory snapshot of the started Python in Cache
// Storage, keyed by the evaluator zip's (hashed) URL and Pyodide's folder; later
// starts restore it, which is several times faster. A snapshot that fails to restore is
// deleted and Python starts the long way; a new build (another zip) replaces it.

import { startPython } from "./python.mjs";

const SNAPSHOTS = "localrate-python-snapshot";
let api = null;
let booting = null;

function status(stage, message, ms, restored = false, note = null) {
  self.postMessage({ type: "status", stage, message, ms, restored, note });
}

// Pyodide's folder names its version (the page data has no separate version field), so a
// new Pyodide with an unchanged evaluator zip does not try the old snapshot.
function snapshotKey(config) {
  const zip = new URL(config.evaluator_zip, self.location.href);
  const pyodide = new URL(config.pyodide.index_url, self.location.href).pathname;
  return `${zip.href}.snapshot?pyodide=${encodeURIComponent(pyodide)}`;
}

async function snapshotStore() {
  try {
    return self.caches ? await self.caches.open(SNAPSHOTS) : null;
  } catch {
    return null; // no Cache Storage here (an opaque origin, a disabled store): start long
  }
}

/** The saved snapshot's bytes (a promise, so that Pyodide can start fetching and compiling
 * while they are read), or null when there is none. */
async function findSnapshot(store, key) {
  try {
    const hit = store && (await store.match(key));
    if (!hit) return null;
    const bytes = hit.arrayBuffer().then((buffer) => new Uint8Array(buffer));
    bytes.catch(() => {}); // a failed read fails the restore, which then starts afresh
    return bytes;
  } catch {
    return null;
  }
}

/** Keep only this build's snapshot; resolves with true when saved, else why not. Cache Storage
 * lists the entry before its 30 MB are written, and drops it if the worker ends first
 * (the page closed or reloaded), so only this promise tells that it is saved. */
async function saveSnapshot(store, key, bytes) {
  try {
    for (const old of await store.keys()) if (old.url !== key) await store.delete(old);
    await store.put(key, new Response(bytes, { headers: { "Content-Type": "application/octet-stream" } }));
    return true;
  } catch (err) {
    console.info(`localrate: could not save the Python snapshot: ${err.message}`);
    return String(err && err.message ? err.message : err).split("\n")[0];
  }
}

async function boot(config) {
  const started = performance.now();
  status("pyodide", "starting Python (Pyodide)");
  const zip = fetch(config.evaluator_zip).then((response) => {
    if (!response.ok) throw new Error(`evaluator zip ${config.evaluator_zip}: HTTP ${response.status}`);
    return response.arrayBuffer();
  }).then((buffer) => new Uint8Array(buffer));
  zip.catch(() => {}); // reported when awaited below
  const key = snapshotKey(config);
  const store = await snapshotStore();
  const [{ loadPyodide }, snapshot] = await Promise.all([
    import(config.pyodide.module_url), findSnapshot(store, key)]);
  const messages = {
    restore: ["pyodide", "restoring Python (saved in this browser)"],
    pyodide: ["pyodide", "loading Python (Pyodide)"],
    evaluator: ["evaluator", "loading the evaluator"],
  };
  const py = await startPython(loadPyodide, {
    indexURL: config.pyodide.index_url, zip,
    sitePackages: config.pyodide.site_packages, snapshot, makeSnapshot: store !== null,
    onStage: (stage) => status(...messages[stage]),
  });
  if (py.restoreError) {
    console.info(`localrate: the saved Python snapshot did not restore (${py.restoreError}); started afresh`);
    await store?.delete(key).catch(() => {});
  }
  api = py.api;
  const note = py.restoreError ? `the saved snapshot did not restore (${py.restoreError}): started afresh`
    : store === null ? "this browser keeps no snapshot here (no Cache Storage): every start is a full one" : null;
  status("ready", "evaluator ready", performance.now() - started, py.restored, note);
  if (py.snapshot) { // after "ready", not awaited: calls (which await boot) need not wait
    saveSnapshot(store, key, py.snapshot).then((saved) => self.postMessage(saved === true
      ? { type: "snapshot", saved: true }
      : { type: "snapshot", saved: false, note: `the snapshot could not be saved (${saved}): the next start is a full one` }));
  }
}

self.onmessage = async (event) => {
  const data = event.data || {};
  if (data.type === "init") {
    booting = boot(data).catch((err) => {
      status("error", String(err && err.message ? err.message : err).split("\n")[0]);
      throw err;
    });
    return;
  }
  const { id, request } = data;
  try {
    await booting;
    const reply = api.call(request);
    self.postMessage({ id, reply });
  } catch (err) {
    const message = String(err && err.message ? err.message : err);
    const lines = message.trim().split("\n");
    self.postMessage({ id, reply: JSON.stringify({ ok: false, error: lines[lines.length - 1] }) });
  }
};
